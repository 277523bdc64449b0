"""Compiled metric objects hold the model's run, as Keras 3's do; AUC's
thresholds outside [0, 1]; the BinaryCrossentropy metric's label check.

Keras 3 (torch backend) updates the very metric objects given to `compile`:
after evaluate (and after fit: the last evaluation when there is validation
data, else the last epoch's training) `metric.result()` is the logged value,
`metric.reset_state()` shows in `model.get_metrics_result()`, and a later
`update_state` adds to the run's state. fastnn computes the built-in metrics
in C++; the engine's sums are written into the objects when logs are made.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import callbacks, layers, metrics, models


def _value(v):
    """A metric's result (ours, or Keras's torch tensor) as a NumPy float64 array."""
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v, np.float64)


# (label kind, outputs, activation, loss, metric factory, weighted metric factory)
CASES = {
    "binary": (
        "bin",
        1,
        "sigmoid",
        "binary_crossentropy",
        lambda M: [
            M.metrics.AUC(),
            M.metrics.AUC(curve="PR", name="pr_auc"),
            M.metrics.F1Score(),
            M.metrics.BinaryAccuracy(),
            M.metrics.Precision(),
            M.metrics.Recall(),
            M.metrics.BinaryCrossentropy(),
        ],
        lambda M: [M.metrics.MeanSquaredError(), M.metrics.AUC(name="w_auc")],
    ),
    "categorical": (
        "onehot",
        3,
        "softmax",
        "categorical_crossentropy",
        lambda M: [
            M.metrics.CategoricalAccuracy(),
            M.metrics.CategoricalCrossentropy(),
            M.metrics.TopKCategoricalAccuracy(k=2),
            M.metrics.F1Score(average="macro"),
            M.metrics.FBetaScore(beta=2.0),
        ],
        lambda M: [M.metrics.CategoricalAccuracy(name="w_acc")],
    ),
    "sparse": (
        "sparse",
        3,
        "softmax",
        "sparse_categorical_crossentropy",
        lambda M: [
            M.metrics.SparseCategoricalAccuracy(),
            M.metrics.SparseCategoricalCrossentropy(),
            M.metrics.SparseTopKCategoricalAccuracy(k=2),
        ],
        lambda M: [M.metrics.SparseCategoricalCrossentropy(name="w_sce")],
    ),
    "regression": (
        "reg",
        2,
        None,
        "mse",
        lambda M: [
            M.metrics.MeanSquaredError(),
            M.metrics.MeanAbsoluteError(),
            M.metrics.RootMeanSquaredError(),
            M.metrics.R2Score(),
            M.metrics.LogCoshError(),
        ],
        lambda M: [M.metrics.R2Score(name="w_r2"), M.metrics.MeanAbsoluteError(name="w_mae")],
    ),
}


def _data(kind, outputs, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    if kind == "bin":
        y = (rng.random((n, outputs)) < 0.5).astype(np.float32)
    elif kind == "onehot":
        y = np.eye(outputs, dtype=np.float32)[rng.integers(0, outputs, n)]
    elif kind == "sparse":
        y = rng.integers(0, outputs, n)
    else:
        y = rng.normal(size=(n, outputs)).astype(np.float32)
    w = rng.uniform(0.2, 2.0, n).astype(np.float32)
    return x, y, w


def _twins(keras, case):
    """(fastnn model, its metric objects), (Keras model, its metric objects):
    same weights, compiled alike."""
    kind, outputs, act, loss, make, make_weighted = CASES[case]
    pairs = []
    weights = None
    for M in (fastnn, keras):
        with keras_quiet():
            model = M.Sequential(
                [
                    M.layers.Input((5,)),
                    M.layers.Dense(4, activation="tanh"),
                    M.layers.Dense(outputs, activation=act),
                ]
            )
            if weights is None:
                rng = np.random.default_rng(7)
                weights = [rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()]
            model.set_weights(weights)
            plain, heavy = make(M), make_weighted(M)
            model.compile(
                optimizer=M.optimizers.SGD(0.05),
                loss=loss,
                metrics=plain,
                weighted_metrics=heavy,
            )
        pairs.append((model, plain + heavy))
    return pairs


def _check_objects_hold_logs(model, objects, logs):
    """Each object's result() is its logged value bit for bit, and so is
    get_metrics_result()."""
    held = model.get_metrics_result()
    for metric in objects:
        result = np.asarray(metric.result())
        np.testing.assert_array_equal(result.astype(np.float32), np.float32(logs[metric.name]))
        np.testing.assert_array_equal(np.float32(held[metric.name]), np.float32(logs[metric.name]))


@pytest.mark.parametrize("case", sorted(CASES))
def test_evaluate_fills_the_compiled_objects_as_keras(case):
    keras = keras_or_skip()
    (model, ours), (kmodel, theirs) = _twins(keras, case)
    kind, outputs = CASES[case][:2]
    x, y, w = _data(kind, outputs, 45, seed=1)
    logs = model.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0, return_dict=True)
    with keras_quiet():
        klogs = kmodel.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0, return_dict=True)
    _check_objects_hold_logs(model, ours, logs)
    for mine, keras_metric in zip(ours, theirs):  # (Keras numbers repeated default names)
        np.testing.assert_allclose(
            _value(mine.result()), _value(keras_metric.result()), rtol=2e-5, atol=2e-6
        )
        np.testing.assert_allclose(
            _value(logs[mine.name]), _value(klogs[keras_metric.name]), rtol=2e-5, atol=2e-6
        )
    tracked = model.metrics[1]
    assert all(a is b for a, b in zip(tracked.metrics, ours))
    assert set(tracked.result()) == {m.name for m in ours}


@pytest.mark.parametrize("case", sorted(CASES))
def test_reset_state_and_later_updates_continue_as_keras(case):
    keras = keras_or_skip()
    (model, ours), (kmodel, theirs) = _twins(keras, case)
    kind, outputs = CASES[case][:2]
    x, y, w = _data(kind, outputs, 30, seed=2)
    x2, y2, _ = _data(kind, outputs, 12, seed=3)
    model.evaluate(x, y, batch_size=8, verbose=0)
    with keras_quiet():
        kmodel.evaluate(x, y, batch_size=8, verbose=0)
        p2 = kmodel.predict(x2, verbose=0)
    if kind == "sparse":
        y2 = y2[:, None]  # (Keras's sparse top-k wants labels of the predictions' rank)
    # a user's update after the run adds to the run's state (unweighted only:
    # weighted objects hold the sum of the weights as their count)
    for mine, keras_metric in zip(ours, theirs):
        mine.update_state(y2, p2)
        keras_metric.update_state(y2, p2)
        np.testing.assert_allclose(
            _value(mine.result()), _value(keras_metric.result()), rtol=2e-5, atol=2e-6
        )
    # reset_state on one object: get_metrics_result sees it, the others stay
    first, second = ours[0], ours[1]
    before = model.get_metrics_result()
    first.reset_state()
    theirs[0].reset_state()
    after = model.get_metrics_result()
    kafter = kmodel.get_metrics_result()
    np.testing.assert_array_equal(np.asarray(after[first.name]), 0.0)
    np.testing.assert_allclose(_value(after[first.name]), _value(kafter[theirs[0].name]))
    np.testing.assert_array_equal(np.asarray(after[second.name]), np.asarray(before[second.name]))
    # reset_metrics resets every object (and the loss), as Keras's
    model.reset_metrics()
    kmodel.reset_metrics()
    for mine, keras_metric in zip(ours, theirs):  # zeros (R2Score of nothing: NaN, as Keras's)
        np.testing.assert_allclose(_value(mine.result()), _value(keras_metric.result()))
    held, kheld = model.get_metrics_result(), kmodel.get_metrics_result()
    np.testing.assert_array_equal(held["loss"], 0.0)
    for mine, keras_metric in zip(ours, theirs):
        np.testing.assert_allclose(_value(held[mine.name]), _value(kheld[keras_metric.name]))


@pytest.mark.parametrize("validation", [False, True])
def test_after_fit_the_objects_hold_the_last_run_as_keras(validation):
    """Keras's objects hold the last evaluation after fit with validation
    data (fit's evaluate resets and updates the same objects), else the last
    epoch's training: fastnn's logs match the same entries bit for bit."""
    keras = keras_or_skip()
    x, y, w = _data("bin", 1, 40, seed=4)
    xv, yv, _ = _data("bin", 1, 20, seed=5)
    extra = {"validation_data": (xv, yv)} if validation else {}
    prefix = "val_" if validation else ""
    for (model, objects), lib in zip(_twins(keras, "binary"), ("fastnn", "keras")):
        with keras_quiet():
            history = model.fit(
                x, y, sample_weight=w, epochs=2, batch_size=8, shuffle=False, verbose=0, **extra
            )
        for metric in objects:
            logged = np.asarray(history.history[prefix + metric.name][-1], np.float32)
            result = _value(metric.result()).astype(np.float32)
            if lib == "fastnn":
                np.testing.assert_array_equal(result, logged)
            else:  # Keras's own behaviour, which fastnn's matches
                np.testing.assert_allclose(result, logged, rtol=1e-6)


def test_f1_score_result_after_evaluate_no_longer_raises():
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    f1 = metrics.F1Score(average=None)
    model.compile(loss="categorical_crossentropy", metrics=[f1])
    x, y, _ = _data("onehot", 2, 10, seed=6)
    model.fit(x[:, :3], y, epochs=1, verbose=0)
    logs = model.evaluate(x[:, :3], y, verbose=0, return_dict=True)
    np.testing.assert_array_equal(np.asarray(f1.result()), logs["f1_score"])
    assert f1.result().shape == (2,)


def test_evaluate_from_another_thread_during_fit_keeps_the_training_objects():
    """An evaluation from another thread while fit runs works on private
    copies: it gives its own values, and the training's objects keep the
    training's state (the epoch's logs)."""
    x, y, _ = _data("bin", 1, 64, seed=8)
    xv, yv, _ = _data("bin", 1, 24, seed=9)
    model = models.Sequential(
        [layers.Input((5,)), layers.Dense(4, activation="tanh"), layers.Dense(1, "sigmoid")]
    )
    auc, acc = metrics.AUC(), metrics.BinaryAccuracy()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[auc, acc])
    seen = {}

    class Probe(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch:
                return
            box = {}
            thread = threading.Thread(
                target=lambda: box.update(model.evaluate(xv, yv, verbose=0, return_dict=True))
            )
            thread.start()
            thread.join()
            seen["eval"] = box
            seen["train"] = dict(logs)
            seen["objects"] = (float(auc.result()), float(acc.result()))
            expected = metrics.AUC()
            expected.update_state(yv, model.predict(xv, verbose=0))
            seen["expected_auc"] = float(expected.result())

    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0, callbacks=[Probe()])
    assert seen["objects"] == (seen["train"]["auc"], seen["train"]["binary_accuracy"])
    assert seen["eval"]["auc"] == pytest.approx(seen["expected_auc"], rel=1e-6)


def test_evaluate_from_another_thread_fills_the_objects():
    x, y, _ = _data("reg", 2, 30, seed=10)
    model = models.Sequential([layers.Input((5,)), layers.Dense(2)])
    mse, r2 = metrics.MeanSquaredError(), metrics.R2Score()
    model.compile(loss="mse", metrics=[mse, r2])
    box = {}
    thread = threading.Thread(
        target=lambda: box.update(model.evaluate(x, y, verbose=0, return_dict=True))
    )
    thread.start()
    thread.join()
    assert float(mse.result()) == box["mean_squared_error"]
    assert float(r2.result()) == box["r2_score"]


# -- AUC thresholds outside [0, 1] ----------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"thresholds": [-2.0, 0.0, 2.0]},
        {"thresholds": [-2.0, 0.0, 2.0], "from_logits": True},
        {"thresholds": [1.5, -0.5, 0.25], "curve": "PR"},
        {"thresholds": [-1.0, 0.5, 3.0], "summation_method": "majoring"},
        {"thresholds": [-2.0, 0.0, 2.0], "multi_label": True},
    ],
)
def test_auc_takes_thresholds_outside_unit_interval_as_keras(kwargs):
    keras = keras_or_skip()
    rng = np.random.default_rng(11)
    y_true = (rng.random((16, 2)) < 0.5).astype(np.float32)
    y_pred = rng.normal(scale=2.0, size=(16, 2)).astype(np.float32)
    ours, theirs = metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs)
    for half in (slice(0, 8), slice(8, 16)):
        ours.update_state(y_true[half], y_pred[half])
        theirs.update_state(y_true[half], y_pred[half])
    np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-6)
    assert ours.get_config()["thresholds"] == sorted(kwargs["thresholds"])


def test_compiled_auc_with_logit_thresholds_matches_keras():
    keras = keras_or_skip()
    x, y, _ = _data("bin", 1, 40, seed=12)
    rng = np.random.default_rng(13)
    kernel = rng.normal(size=(5, 1)).astype(np.float32) * 2
    results = []
    for M in (fastnn, keras):
        with keras_quiet():
            model = M.Sequential([M.layers.Input((5,)), M.layers.Dense(1)])
            model.set_weights([kernel, np.zeros(1, np.float32)])
            auc = M.metrics.AUC(thresholds=[-2.0, -0.5, 0.0, 1.0, 2.5])
            model.compile(loss=M.losses.BinaryCrossentropy(from_logits=True), metrics=[auc])
            logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
        results.append((logs[auc.name], _value(auc.result())))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_auc_refuses_nan_thresholds():
    with pytest.raises(ValueError, match="NaN"):
        metrics.AUC(thresholds=[0.2, float("nan")])


# -- BinaryCrossentropy metric: labels in [0, 1] ----------------------------------------


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2}])
def test_binary_crossentropy_metric_refuses_labels_outside_unit_interval(kwargs):
    m = metrics.BinaryCrossentropy(**kwargs)
    m.update_state([[0.0], [1.0]], [[0.2], [0.7]])
    before = float(m.result())
    with pytest.raises(ValueError, match=r"takes labels in \[0, 1\]"):
        m.update_state([[0.0], [-2.0]], [[0.2], [0.7]])
    assert float(m.result()) == before  # the state is unchanged


def test_binary_crossentropy_metric_refuses_them_unless_from_logits_as_keras():
    keras = keras_or_skip()
    y_true = np.array([[0.0], [1.0], [-2.0], [3.0]], np.float32)
    y_pred = np.array([[0.2], [-0.7], [0.4], [1.9]], np.float32)
    with pytest.raises(ValueError, match=r"takes labels in \[0, 1\]"):
        metrics.BinaryCrossentropy()(y_true, 1.0 / (1.0 + np.exp(-y_pred)))
    ours = metrics.BinaryCrossentropy(from_logits=True)
    theirs = keras.metrics.BinaryCrossentropy(from_logits=True)
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_binary_crossentropy_metric_refuses_labels_outside_unit_interval(weighted):
    x = np.random.default_rng(14).normal(size=(6, 3)).astype(np.float32)
    y = np.array([[0.0], [1.0], [-2.0], [1.0], [0.0], [1.0]], np.float32)
    model = models.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    key = "weighted_metrics" if weighted else "metrics"
    model.compile(loss="mse", **{key: [metrics.BinaryCrossentropy()]})
    for run in (model.evaluate, model.fit, model.train_on_batch, model.test_on_batch):
        with pytest.raises(ValueError, match=r"binary_crossentropy' takes labels in \[0, 1\]"):
            run(x, y, **({"verbose": 0} if run in (model.evaluate, model.fit) else {}))
    model.compile(loss="mse", **{key: [metrics.BinaryCrossentropy(from_logits=True)]})
    model.evaluate(x, y, verbose=0)  # from logits: any label, as Keras's torch backend


# -- Keras's state variables (read-only snapshots) -----------------------------------


def _variable_metrics(M):
    K = M.metrics
    return [
        K.Precision(),
        K.Recall(),
        K.Precision(thresholds=[0.2, 0.6]),
        K.Recall(top_k=1),
        K.TruePositives(),
        K.FalseNegatives(thresholds=[0.1, 0.5]),
        K.AUC(num_thresholds=5),
        K.AUC(num_thresholds=4, multi_label=True),
        K.AUC(thresholds=[0.3, 0.7]),
        K.SensitivityAtSpecificity(0.5, num_thresholds=3),
        K.MeanSquaredError(),
        K.BinaryAccuracy(),
        K.RootMeanSquaredError(),
        K.CosineSimilarity(),
        K.BinaryCrossentropy(),
        K.MeanMetricWrapper(K.mean_absolute_error),
    ]


def _variables(metric):
    with keras_quiet():
        return [(v.name, _value(v.numpy())) for v in metric.variables]


def _same_variables(ours, theirs):
    mine, keras_ones = _variables(ours), _variables(theirs)
    assert [n for n, _ in mine] == [n for n, _ in keras_ones], type(ours).__name__
    for (name, a), (_, b) in zip(mine, keras_ones):
        assert a.shape == b.shape, (type(ours).__name__, name)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)


def test_metric_variables_have_keras_names_shapes_and_values():
    keras = keras_or_skip()
    rng = np.random.default_rng(15)
    y_true = (rng.random((12, 2)) < 0.5).astype(np.float32)
    y_pred = rng.random((12, 2)).astype(np.float32)
    weights = rng.random(12).astype(np.float32)
    for ours, theirs in zip(_variable_metrics(fastnn), _variable_metrics(keras)):
        _same_variables(ours, theirs)  # before any update: zeros
        ours.update_state(y_true, y_pred, sample_weight=weights)
        theirs.update_state(y_true, y_pred, sample_weight=weights)
        _same_variables(ours, theirs)
        for name, value in _variables(ours):  # also attributes, as Keras's
            np.testing.assert_array_equal(_value(getattr(ours, name)), value)
        ours.reset_state()
        assert all(not np.any(v) for _, v in _variables(ours))
    mean, total = metrics.Mean(), metrics.Sum()
    mean.update_state([1.0, 3.0], sample_weight=[1.0, 3.0])
    total.update_state([1.0, 3.0])
    assert (float(mean.total), float(mean.count)) == (10.0, 4.0)
    assert [v.name for v in total.variables] == ["total"] and float(total.total) == 4.0


def test_compiled_metric_variables_hold_the_run_as_keras():
    keras = keras_or_skip()
    (model, ours), (kmodel, theirs) = _twins(keras, "binary")
    x, y, w = _data("bin", 1, 40, seed=16)
    model.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0)
    with keras_quiet():
        kmodel.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0)
    for mine, keras_metric in zip(ours, theirs):
        if type(mine).__name__ == "F1Score":  # (kept in another form: none)
            assert mine.variables == []
            continue
        _same_variables(mine, keras_metric)


def test_metric_variables_are_read_only_snapshots():
    p = metrics.Precision()
    p.update_state([0, 1, 1], [0.2, 0.6, 0.9])
    assert p.true_positives.path == "precision/true_positives"
    with pytest.raises(ValueError, match="read-only"):
        p.true_positives.assign([5.0])
    assert float(p.result()) == 1.0
    with pytest.raises(AttributeError):
        p.total  # noqa: B018 (Precision has no mean's state)
