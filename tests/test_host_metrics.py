"""Metrics computed in Python (a function in `compile(metrics=...)`,
`MeanMetricWrapper`, `Mean`, `Sum`, a user's `Metric` subclass with
`add_variable`): `fit`, `evaluate`, `train_on_batch` and `test_on_batch`
hand them each batch's labels and predictions as Keras 3 does; logs, History,
saving and errors are checked against Keras 3.15 (torch backend)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, layers, metrics


def abs_error_fn(sub, ops):
    """A per-element metric (n, outputs): Keras averages each sample's row."""

    def abs_error(y_true, y_pred):
        return ops.abs(sub(y_true, y_pred))

    return abs_error


def row_error_fn(sub, ops):
    """A per-sample metric (n,)."""

    def row_error(y_true, y_pred):
        return ops.mean(ops.square(sub(y_true, y_pred)), axis=-1)

    return row_error


def batch_error_fn(sub, ops):
    """A scalar per batch: Keras counts one per batch."""

    def batch_error(y_true, y_pred):
        return ops.sqrt(ops.mean(ops.square(sub(y_true, y_pred))))

    return batch_error


def sparse_hit_fn(ops):
    def sparse_hit(y_true, y_pred):
        return ops.cast(
            ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int64"), y_true), "float32"
        )

    return sparse_hit


def regression_fns(module, per_batch=True):
    """The three functions written with `module`'s ops (fastnn's take NumPy's
    subtract); `per_batch=False` leaves out the scalar one, which Keras
    cannot weigh by sample."""
    sub = module.ops.subtract if hasattr(module.ops, "subtract") else np.subtract
    makers = (abs_error_fn, row_error_fn) + ((batch_error_fn,) if per_batch else ())
    return [f(sub, module.ops) for f in makers]


def twin_models(keras, widths, activation, seed=3):
    fastnn.utils.set_random_seed(seed)
    model = fastnn.Sequential(
        [Input((widths[0],))]
        + [layers.Dense(w, activation="tanh") for w in widths[1:-1]]
        + [layers.Dense(widths[-1], activation=activation)]
    )
    with keras_quiet():
        kmodel = keras.Sequential(
            [keras.Input((widths[0],))]
            + [keras.layers.Dense(w, activation="tanh") for w in widths[1:-1]]
            + [keras.layers.Dense(widths[-1], activation=activation)]
        )
        kmodel.set_weights(model.get_weights())
    return model, kmodel


def assert_histories_close(ours: dict, theirs: dict, rtol=2e-5, atol=2e-6):
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("outputs,y_rank", [(3, 2), (1, 2), (1, 1)])
@pytest.mark.parametrize("weighted", [False, True])
def test_function_metrics_in_fit_match_keras(rng, outputs, y_rank, weighted):
    keras = keras_or_skip()
    x = rng.standard_normal((45, 6)).astype(np.float32)  # 45 = 2 full batches of 16 + 13
    y = rng.standard_normal((45, outputs)).astype(np.float32)
    if y_rank == 1:
        y = y[:, 0]
    weights = rng.uniform(0.2, 2.0, 45).astype(np.float32) if weighted else None
    model, kmodel = twin_models(keras, (6, 5, outputs), None)
    key = "weighted_metrics" if weighted else "metrics"
    fns = regression_fns(fastnn, per_batch=not weighted)
    fit_args = dict(sample_weight=weights, batch_size=16, epochs=3, shuffle=False, verbose=0)
    fit_args["validation_split"] = 0.3
    eval_args = dict(sample_weight=weights, batch_size=7, verbose=0, return_dict=True)
    model.compile(optimizer=fastnn.optimizers.SGD(0.05), loss="mse", **{key: fns})
    with keras_quiet():
        kfns = regression_fns(keras, per_batch=not weighted)
        kmodel.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", **{key: kfns})
        expected = kmodel.fit(x, y, **fit_args).history
        expected_eval = kmodel.evaluate(x, y, **eval_args)
    history = model.fit(x, y, **fit_args).history
    assert_histories_close(history, expected)
    assert_histories_close(model.evaluate(x, y, **eval_args), expected_eval)


def test_sparse_labels_reach_the_function_as_int64_class_ids(rng):
    keras = keras_or_skip()
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = rng.integers(0, 4, 40)
    seen = []

    def record(y_true, y_pred):
        seen.append((np.asarray(y_true).dtype, np.shape(y_true), np.shape(y_pred)))
        return sparse_hit_fn(fastnn.ops)(y_true, y_pred)

    record.__name__ = "sparse_hit"
    model, kmodel = twin_models(keras, (5, 7, 4), "softmax")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", record])
    with keras_quiet():
        kmodel.compile(
            "adam",
            "sparse_categorical_crossentropy",
            metrics=["accuracy", sparse_hit_fn(keras.ops)],
        )
        expected = kmodel.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert_histories_close(history, expected)
    assert history["sparse_hit"] == history["accuracy"]
    assert seen[0] == (np.dtype(np.int64), (8,), (8, 4))
    # labels given as (n, 1) reach it as (n, 1), as in Keras
    seen.clear()
    model.fit(x, y[:, None], batch_size=40, epochs=1, verbose=0)
    assert seen == [(np.dtype(np.int64), (40, 1), (40, 4))]


def test_the_function_sees_the_training_step_predictions(rng):
    """y_pred of the train step (before the update), as Keras's train_step:
    equal to the predictions of the weights before each step."""
    x = rng.standard_normal((30, 4)).astype(np.float32)
    y = rng.standard_normal((30, 2)).astype(np.float32)
    fastnn.utils.set_random_seed(5)
    model = fastnn.Sequential(
        [Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(2, activation="sigmoid")]
    )
    preds, before = [], []

    def grab(y_true, y_pred):
        preds.append(np.array(y_pred))
        return np.zeros(len(y_pred), np.float32)

    class Weights(fastnn.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            before.append(self.model.get_weights())

    model.compile("adam", "mse", metrics=[grab])
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[Weights()])
    assert len(preds) == len(before) == 8
    twin = fastnn.models.clone_model(model)
    for step, (weights, pred) in enumerate(zip(before, preds)):
        twin.set_weights(weights)
        start = (step % 4) * 8
        batch = x[start : start + 8]
        expected = twin.predict_on_batch(batch)
        np.testing.assert_allclose(pred, expected, rtol=1e-5, atol=1e-6)


def test_dropout_training_outputs_reach_the_metric(rng):
    """With dropout, the function sees the noisy training outputs in fit and
    the clean ones in evaluate."""
    x = np.ones((64, 10), np.float32)
    y = np.zeros((64, 10), np.float32)
    model = fastnn.Sequential(
        [Input((10,)), layers.Dense(10, kernel_initializer="ones"), layers.Dropout(0.5)]
    )
    zeros = []

    def zero_fraction(y_true, y_pred):
        zeros.append(float(np.mean(y_pred == 0)))
        return np.mean(y_pred == 0, axis=-1).astype(np.float32)

    model.compile("sgd", "mse", metrics=[zero_fraction])
    logs = model.fit(x, y, batch_size=64, epochs=1, verbose=0).history
    assert 0.35 < logs["zero_fraction"][0] < 0.65 and zeros[-1] == logs["zero_fraction"][0]
    assert model.evaluate(x, y, verbose=0, return_dict=True)["zero_fraction"] == 0.0


def test_on_batch_calls_reset_python_metrics_as_keras(rng):
    keras = keras_or_skip()
    x = rng.standard_normal((12, 3)).astype(np.float32)
    y = rng.standard_normal((12, 1)).astype(np.float32)
    model, kmodel = twin_models(keras, (3, 1), None)
    model.compile("sgd", "mse", metrics=regression_fns(fastnn))
    calls = [("train", 1), ("train", 2), ("test", 1), ("test", 3), ("test", 1)]

    def run(m):
        return [getattr(m, f"{kind}_on_batch")(x * k, y, return_dict=True) for kind, k in calls]

    with keras_quiet():
        kmodel.compile("sgd", "mse", metrics=regression_fns(keras))
        expected = run(kmodel)
    got = run(model)
    for ours, theirs in zip(got, expected):
        assert_histories_close(ours, theirs)
    assert got[2] == got[4]
    assert model.metrics_names == ["loss", "abs_error", "row_error", "batch_error"]
    values = model.test_on_batch(x, y)
    assert values == [got[4][k] for k in model.metrics_names]


class HitRate(metrics.Metric):
    """A Keras-style stateful metric: variables, update_state, result."""

    def __init__(self, name="hit_rate", threshold=0.5, **kwargs):
        super().__init__(name=name, **kwargs)
        self.threshold = threshold
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.count = self.add_weight(name="count", shape=())

    def update_state(self, y_true, y_pred, sample_weight=None):
        hit = (np.asarray(y_pred) > self.threshold) == (np.asarray(y_true) > 0.5)
        self.hits.assign_add(np.sum(hit))
        self.count.assign_add(hit.size)

    def result(self):
        return self.hits / self.count if float(self.count) else 0.0

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


def test_a_metric_subclass_with_variables_runs_in_fit_and_evaluate(rng):
    x = rng.standard_normal((50, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    fastnn.utils.set_random_seed(2)
    model = fastnn.Sequential([Input((4,)), layers.Dense(1, activation="sigmoid")])
    metric = HitRate()
    model.compile("adam", "binary_crossentropy", metrics=["binary_accuracy", metric])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.2).history
    # the same counts as binary accuracy (threshold 0.5), per epoch, reset each epoch
    np.testing.assert_allclose(history["hit_rate"], history["binary_accuracy"], rtol=1e-6)
    np.testing.assert_allclose(history["val_hit_rate"], history["val_binary_accuracy"], rtol=1e-6)
    logs = model.evaluate(x, y, verbose=0, return_dict=True, batch_size=9)
    assert logs["hit_rate"] == pytest.approx(logs["binary_accuracy"], rel=1e-6)
    assert float(metric.count) == 50  # evaluate's run: reset at its start
    assert [v.name for v in metric.variables] == ["hits", "count"]
    metric.reset_state()
    assert float(metric.hits) == 0 and float(metric.result()) == 0.0


def test_generator_fit_and_evaluate_feed_python_metrics(rng):
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = rng.standard_normal((40, 2)).astype(np.float32)

    def batches():
        for start in range(0, 40, 10):
            yield x[start : start + 10], y[start : start + 10]

    fastnn.utils.set_random_seed(4)
    model = fastnn.Sequential([Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse", metrics=["mae", regression_fns(fastnn)[0]])
    history = model.fit(batches(), steps_per_epoch=4, verbose=0, shuffle=False).history
    assert history["abs_error"][0] == pytest.approx(history["mae"][0], rel=1e-6)
    logs = model.evaluate(batches(), steps=4, verbose=0, return_dict=True)
    assert logs["abs_error"] == pytest.approx(logs["mae"], rel=1e-6)


def test_early_stopping_and_progress_bar_read_python_metrics(rng, capsys):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    model = fastnn.Sequential([Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=regression_fns(fastnn)[:1])
    stop = fastnn.callbacks.EarlyStopping(monitor="val_abs_error", patience=0, mode="min")
    model.fit(x, y, epochs=2, verbose=1, validation_split=0.25, callbacks=[stop])
    out = capsys.readouterr().out
    assert " - abs_error: " in out and " - val_abs_error: " in out


def test_standalone_mean_sum_and_wrapper_match_keras(rng):
    keras = keras_or_skip()
    values = rng.standard_normal((6, 3)).astype(np.float32)
    cases = [
        (values, None),
        (values, rng.uniform(0, 2, 6).astype(np.float32)),
        (values, rng.uniform(0, 2, (6, 1)).astype(np.float32)),
        (values, rng.uniform(0, 2, (6, 3)).astype(np.float32)),
        (values[:, 0], rng.uniform(0, 2, 6).astype(np.float32)),
        (np.float32(2.5), None),
        ([1.0, 3.0, 5.0, 7.0], [1.0, 1.0, 0.0, 0.0]),
    ]
    for cls in ("Mean", "Sum"):
        ours, theirs = getattr(metrics, cls)(), getattr(keras.metrics, cls)()
        for v, w in cases:
            ours.update_state(v, sample_weight=w)
            with keras_quiet():
                theirs.update_state(v, sample_weight=w)
                expected = float(keras.ops.convert_to_numpy(theirs.result()))
            assert float(ours.result()) == pytest.approx(expected, rel=1e-5), (cls, v, w)
        ours.reset_state()
        assert float(ours.result()) == 0.0
    y_true = rng.standard_normal((5, 2)).astype(np.float32)
    y_pred = rng.standard_normal((5, 2)).astype(np.float32)
    weights = rng.uniform(0, 1, 5).astype(np.float32)
    ours = metrics.MeanMetricWrapper(regression_fns(fastnn)[0], name="m")
    with keras_quiet():
        theirs = keras.metrics.MeanMetricWrapper(regression_fns(keras)[0], name="m")
        expected = float(keras.ops.convert_to_numpy(theirs(y_true, y_pred, sample_weight=weights)))
    assert float(ours(y_true, y_pred, sample_weight=weights)) == pytest.approx(expected, rel=1e-6)
    assert ours.name == "m" and metrics.MeanMetricWrapper(abs).name == "mean_metric_wrapper"
    assert metrics.get(regression_fns(fastnn)[1]).name == "row_error"


def test_saved_function_metrics_load_with_custom_objects_both_ways(rng, tmp_path):
    keras = keras_or_skip()
    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = rng.standard_normal((20, 2)).astype(np.float32)
    ours_fn, theirs_fn = regression_fns(fastnn)[0], regression_fns(keras)[0]
    model, kmodel = twin_models(keras, (4, 2), None)
    model.compile(
        "sgd", "mse", metrics=[ours_fn, metrics.MeanMetricWrapper(ours_fn, name="wrapped")]
    )
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "ours.keras"
    model.save(path)
    saved = json.loads(zipfile.ZipFile(path).read("config.json"))["compile_config"]["metrics"]
    assert saved[0] == {
        "module": "builtins",
        "class_name": "function",
        "config": "abs_error",
        "registered_name": "function",
    }
    with pytest.raises(TypeError, match="Could not locate function .abs_error."):
        fastnn.models.load_model(path)
    loaded = fastnn.models.load_model(path, custom_objects={"abs_error": ours_fn})
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    with fastnn.saving.custom_object_scope({"abs_error": ours_fn}):
        assert fastnn.models.load_model(path).metrics_names == ["loss", "abs_error", "wrapped"]
    # a Keras file with a function metric loads here
    with keras_quiet():
        kmodel.compile("sgd", "mse", metrics=[theirs_fn])
        kmodel.save(tmp_path / "keras.keras")
    loaded = fastnn.models.load_model(
        tmp_path / "keras.keras", custom_objects={"abs_error": ours_fn}
    )
    assert loaded.metrics_names == ["loss", "abs_error"]


def test_registered_metric_subclass_round_trips(rng, tmp_path):
    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = (rng.random((20, 1)) > 0.5).astype(np.float32)
    model = fastnn.Sequential([Input((4,)), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=[HitRate(threshold=0.4)])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="HitRate"):
        fastnn.models.load_model(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras", custom_objects={"HitRate": HitRate})
    assert loaded._metrics[0].threshold == 0.4
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_bad_python_metrics_raise_clear_errors(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    model = fastnn.Sequential([Input((3,)), layers.Dense(1)])

    def words(y_true, y_pred):
        return ["a"] * len(y_true)

    model.compile("sgd", "mse", metrics=[words])
    with pytest.raises(TypeError, match="the metric function must return numbers"):
        model.evaluate(x, y, verbose=0)

    def broken(y_true, y_pred):
        raise RuntimeError("user bug")

    model.compile("sgd", "mse", metrics=[broken])
    with pytest.raises(RuntimeError, match="user bug"):
        model.fit(x, y, verbose=0)

    class NoNumber(metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            pass

        def result(self):
            return "high"

    model.compile("sgd", "mse", metrics=[NoNumber()])
    with pytest.raises(TypeError, match="'no_number': result\\(\\) must return a number"):
        model.evaluate(x, y, verbose=0)
    with pytest.raises(TypeError, match="needs a function"):
        metrics.MeanMetricWrapper(3)
    with pytest.raises(ValueError, match="does not broadcast"):
        metrics.Mean().update_state(np.ones((4, 3)), sample_weight=np.ones(5))


def test_a_python_loss_function_is_refused_with_the_reason(rng):
    model = fastnn.Sequential([Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    weights = model.get_weights()

    def my_loss(y_true, y_pred):
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    with pytest.raises(NotImplementedError, match="no automatic differentiation of Python code"):
        model.compile("adam", loss=my_loss)
    assert model.loss == "mse" and model.metrics_names == ["loss", "mae"]
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    model.compile("adam", loss="mse", metrics=[my_loss])  # as a metric it runs
    logs = model.evaluate(np.ones((4, 3)), np.zeros((4, 1)), verbose=0, return_dict=True)
    assert logs["my_loss"] == pytest.approx(logs["loss"], rel=1e-6)


def test_accuracy_class_matches_keras(rng):
    keras = keras_or_skip()
    cases = [
        ([[1], [2], [3], [4]], [[0], [2], [3], [4]], None),
        ([1, 2, 3, 4], [[1], [2], [0], [4]], [1.0, 0.5, 1.0, 0.0]),
        (rng.integers(0, 2, (6, 3)), rng.integers(0, 2, (6, 3)).astype(np.float32), None),
    ]
    for y_true, y_pred, weights in cases:
        ours = metrics.Accuracy()
        with keras_quiet():
            theirs = keras.metrics.Accuracy()
            theirs.update_state(y_true, y_pred, sample_weight=weights)
            expected = float(keras.ops.convert_to_numpy(theirs.result()))
        ours.update_state(y_true, y_pred, sample_weight=weights)
        assert float(ours.result()) == pytest.approx(expected, rel=1e-6)
    x = rng.standard_normal((20, 3)).astype(np.float32)
    model = fastnn.Sequential([Input((3,)), layers.Dense(3, activation="relu")])
    model.compile("sgd", "mse", metrics=[metrics.Accuracy()])
    logs = model.evaluate(x, np.zeros((20, 3), np.float32), verbose=0, return_dict=True)
    expected = np.mean(model.predict(x, verbose=0) == 0)  # relu's exact zeros equal the labels
    assert logs["accuracy"] == pytest.approx(expected, rel=1e-6)
    assert metrics.deserialize(metrics.serialize(metrics.Accuracy(name="a"))).name == "a"


# -- from the review of the first version ---------------------------------------------


def test_clone_model_copies_every_kind_of_compiled_metric(rng):
    x = rng.standard_normal((30, 4)).astype(np.float32)
    y = (rng.random((30, 1)) > 0.5).astype(np.float32)
    model = fastnn.Sequential([Input((4,)), layers.Dense(1, activation="sigmoid")])
    model.compile(
        "adam",
        "binary_crossentropy",
        metrics=[
            metrics.AUC(),
            metrics.BinaryAccuracy(name="ba"),
            metrics.Precision(),
            HitRate(),
            metrics.MeanMetricWrapper(metrics.binary_accuracy, name="wrapped"),
            lambda t, p: np.zeros(len(t), np.float32),  # two functions of one name
            lambda t, p: np.full(len(t), 7.0, np.float32),
        ],
    )
    clone = fastnn.models.clone_model(model)
    clone.set_weights(model.get_weights())
    assert clone.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True
    )
    logs = clone.evaluate(x, y, verbose=0, return_dict=True)
    assert (logs["<lambda>"], logs["<lambda>_1"]) == (0.0, 7.0)
    assert clone._metrics[3] is not model._metrics[3]  # its own state


def test_mode_auto_needs_a_direction_for_python_metrics(rng):
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.standard_normal((20, 1)).astype(np.float32)
    model = fastnn.Sequential([Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=[regression_fns(fastnn)[0]])
    stop = fastnn.callbacks.EarlyStopping(monitor="val_abs_error")
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        model.fit(x, y, validation_split=0.2, epochs=2, verbose=0, callbacks=[stop])
    # a wrapped loss is minimized, as Keras's MeanMetricWrapper says
    wrapped = metrics.MeanMetricWrapper(fastnn.losses.mean_squared_error, name="w")
    assert wrapped.direction == "down" and metrics.Accuracy().direction == "up"
    assert HitRate().direction is None and metrics.Mean().direction is None

    class Up(HitRate):
        direction = "up"

    model.compile("sgd", "mse", metrics=[wrapped, Up(name="up")])
    for monitor in ("val_w", "val_up"):
        model.fit(
            x, y, validation_split=0.2, epochs=2, verbose=0,
            callbacks=[fastnn.callbacks.EarlyStopping(monitor=monitor)],
        )  # fmt: skip


def test_subclasses_of_built_in_metrics_and_layers_keep_their_overrides(rng):
    keras = keras_or_skip()
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.standard_normal((20, 1)).astype(np.float32)

    def zeroed(base):
        class Zeroed(base):
            def update_state(self, y_true, y_pred, sample_weight=None):
                return super().update_state(y_true, y_pred * 0, sample_weight)

        return Zeroed

    model, kmodel = twin_models(keras, (3, 1), None)
    model.compile("sgd", "mse", metrics=[zeroed(metrics.MeanSquaredError)(name="z")])
    with keras_quiet():
        kmodel.compile("sgd", "mse", metrics=[zeroed(keras.metrics.MeanSquaredError)(name="z")])
        expected = kmodel.evaluate(x, y, verbose=0, return_dict=True)
    assert_histories_close(model.evaluate(x, y, verbose=0, return_dict=True), expected)

    class Seven(layers.Dense):
        def call(self, inputs):
            return inputs * 0 + 7

    with pytest.raises(NotImplementedError, match="custom layer"):
        fastnn.Sequential([Input((3,)), Seven(2)])

    class MyReLU(layers.ReLU):
        def call(self, inputs):
            return inputs

    with pytest.raises(TypeError, match="MyReLU layer"):
        layers.Dense(2, activation=MyReLU())


def test_a_wrapped_built_in_function_loads_without_custom_objects(rng, tmp_path):
    keras = keras_or_skip()
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = (rng.random((10, 1)) > 0.5).astype(np.float32)
    model, kmodel = twin_models(keras, (3, 1), "sigmoid")
    model.compile("sgd", "binary_crossentropy", metrics=[
        metrics.MeanMetricWrapper(metrics.binary_accuracy, name="ba")
    ])  # fmt: skip
    model.save(tmp_path / "ours.keras")
    loaded = fastnn.models.load_model(tmp_path / "ours.keras")
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    with keras_quiet():
        kmodel.compile("sgd", "binary_crossentropy", metrics=[
            keras.metrics.MeanMetricWrapper(keras.metrics.binary_accuracy, name="ba")
        ])  # fmt: skip
        kmodel.save(tmp_path / "theirs.keras")
    assert fastnn.models.load_model(tmp_path / "theirs.keras").metrics_names == ["loss", "ba"]


def test_evaluate_in_another_thread_while_fit_runs_sees_its_own_outputs(rng):
    """The outputs a Python metric reads come back with the engine call that
    made them: another thread's call between them cannot swap them."""
    import threading

    x = rng.standard_normal((600, 6)).astype(np.float32)
    y = rng.standard_normal((600, 2)).astype(np.float32)
    model = fastnn.Sequential([Input((6,)), layers.Dense(16, activation="relu"), layers.Dense(2)])
    model.compile("sgd", "mse", metrics=["mae", regression_fns(fastnn)[0]])
    failures = []

    def evaluate_often():
        try:
            for _ in range(20):
                logs = model.evaluate(x[:70], y[:70], batch_size=7, verbose=0, return_dict=True)
                if abs(logs["abs_error"] - logs["mae"]) > 1e-5 * max(1.0, logs["mae"]):
                    failures.append(logs)
        except Exception as e:  # noqa: BLE001 (reported below)
            failures.append(e)

    thread = threading.Thread(target=evaluate_often)

    class StartEvaluating(fastnn.callbacks.Callback):
        def on_train_begin(self, logs=None):
            thread.start()  # while fit holds the model

    history = model.fit(
        x, y, batch_size=32, epochs=3, verbose=0, callbacks=[StartEvaluating()]
    ).history
    thread.join()
    assert failures == []
    np.testing.assert_allclose(history["abs_error"], history["mae"], rtol=1e-5)


def test_metrics_holding_uncopyable_objects_stay_the_users(rng):
    """A bound method of an object with a lock, a metric holding a lock: no
    copy of the user's objects is made (evaluate, clone_model), and the
    object keeps seeing every batch, as in Keras."""
    import threading

    x = rng.standard_normal((24, 3)).astype(np.float32)
    y = rng.standard_normal((24, 1)).astype(np.float32)

    class Counter:
        def __init__(self):
            self.lock = threading.Lock()
            self.calls = 0

        def gap(self, y_true, y_pred):
            with self.lock:
                self.calls += 1
            return np.abs(y_true - y_pred).mean(axis=-1)

    class Locked(HitRate):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.lock = threading.Lock()

    counter = Counter()
    model = fastnn.Sequential([Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=[counter.gap, Locked(name="locked")])
    model.evaluate(x, y, batch_size=8, verbose=0)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.test_on_batch(x, y)
    assert counter.calls == 3 + 3 + 1
    clone = fastnn.models.clone_model(model)
    assert (
        clone._metrics[1] is not model._metrics[1]
        and clone._metrics[1].lock is model._metrics[1].lock
    )
    clone.evaluate(x, y, verbose=0)
    assert counter.calls == 8  # the clone's function is the same bound method


def test_metric_dtype_and_integer_variables_as_keras(rng):
    keras = keras_or_skip()

    def counter_class(module):
        class Counter(module.metrics.Metric):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.batches = self.add_variable((), "zeros", dtype="int32", name="batches")
                self.total = self.add_variable((2,), "zeros", name="total")

            def update_state(self, y_true, y_pred, sample_weight=None):
                self.batches.assign_add(1)
                self.total.assign_add(np.asarray(y_pred, np.float32).sum(axis=0)[:2])

            def result(self):
                return self.total / self.batches

        return Counter

    y = rng.standard_normal((4, 3)).astype(np.float32)
    ours, theirs = counter_class(fastnn)(name="c"), counter_class(keras)(name="c")
    with keras_quiet():
        for _ in range(3):
            ours.update_state(y, y)
            theirs.update_state(y, y)
        expected = keras.ops.convert_to_numpy(theirs.result())
        their_batches = theirs.batches
    for mine, other in ((ours.batches, their_batches), (ours.total, theirs.total)):
        assert (mine.dtype.name, mine.path) == (str(other.dtype), other.path)
    assert ours.batches.numpy().dtype == np.int32 and int(ours.batches) == 3
    assert "dtype=int32" in repr(ours.batches)
    np.testing.assert_allclose(ours.result(), expected, rtol=1e-6)
    ours.reset_state()
    assert int(ours.batches) == 0 and ours.batches.dtype == np.int32
    for dtype in (None, "float64", np.dtype("float16")):
        kwargs = {} if dtype is None else {"dtype": dtype}
        assert metrics.Mean(**kwargs).dtype == keras.metrics.Mean(**kwargs).dtype
        assert metrics.Mean(**kwargs).get_config() == keras.metrics.Mean(**kwargs).get_config()
    with pytest.raises(ValueError, match="Invalid dtype"):
        metrics.Mean(dtype="complex64")
    with pytest.raises(ValueError, match="Invalid dtype"):
        metrics.Mean(dtype="nonsense")


def test_focal_crossentropy_metric_functions_match_keras(rng, tmp_path):
    keras = keras_or_skip()
    x = rng.standard_normal((40, 5)).astype(np.float32)
    labels = rng.integers(0, 3, 40)
    y = np.eye(3, dtype=np.float32)[labels]
    initial = [
        rng.standard_normal((5, 3)).astype(np.float32) * 0.5,
        np.zeros(3, np.float32),
    ]

    def history(module):
        model = module.Sequential(
            [module.Input((5,)), module.layers.Dense(3, activation="softmax")]
        )
        model.set_weights(initial)
        model.compile(
            "sgd",
            "categorical_crossentropy",
            metrics=[
                module.metrics.categorical_focal_crossentropy,
                module.metrics.binary_focal_crossentropy,
            ],
        )
        with keras_quiet():
            return model, model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history

    model, ours = history(fastnn)
    _, theirs = history(keras)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-5, err_msg=key)
    model.save(tmp_path / "m.keras")  # found again by name, without custom_objects
    again = fastnn.models.load_model(tmp_path / "m.keras")
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
