"""Keras's confusion-metric options that fastnn counts in Python (host
metrics): several thresholds, `top_k`, `class_id`, AUC's `multi_label` and
`label_weights`, PrecisionAtRecall and its siblings. Checked against Keras
3.15 (torch backend) in fit/evaluate History, standalone with 1-D inputs and
per-element weights, at the edges (all-negative labels, zero weights), and
through configs, saving, clone_model and the errors for bad arguments. The
standalone comparisons of every option are in test_metrics_standalone.py."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, layers, metrics

# (class name, kwargs) compiled together into one model of 3 sigmoid outputs
OPTIONS = [
    ("Precision", {"thresholds": [0.3, 0.5, 0.7], "name": "p3"}),
    ("Precision", {"top_k": 1, "name": "p_top1"}),
    ("Recall", {"class_id": 1, "name": "r_class1"}),
    ("Recall", {"top_k": 2, "class_id": 0, "thresholds": [0.4, 0.6], "name": "r_mix"}),
    ("TruePositives", {"thresholds": [0.25, 0.5], "name": "tp2"}),
    ("FalseNegatives", {"thresholds": [0.0, 0.5, 1.0], "name": "fn3"}),
    ("TrueNegatives", {"thresholds": [0.45, 0.55], "name": "tn2"}),
    ("FalsePositives", {"thresholds": [0.45, 0.55], "name": "fp2"}),
    ("AUC", {"multi_label": True, "name": "auc_ml"}),
    (
        "AUC",
        {"multi_label": True, "curve": "PR", "label_weights": [1.0, 0.5, 2.0], "name": "pr_ml"},
    ),
    ("AUC", {"label_weights": [2.0, 1.0, 0.0], "name": "auc_lw"}),
    ("PrecisionAtRecall", {"recall": 0.5, "name": "p_at_r"}),
    ("RecallAtPrecision", {"precision": 0.4, "name": "r_at_p"}),
    ("SensitivityAtSpecificity", {"specificity": 0.5, "name": "sens"}),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "num_thresholds": 30, "name": "spec"}),
]
# one sigmoid output with labels (n,): options that make sense there
BINARY_OPTIONS = [
    ("Precision", {"thresholds": [0.3, 0.5, 0.7], "name": "p3"}),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0], "name": "r3"}),
    ("TruePositives", {"thresholds": [0.4, 0.6], "name": "tp2"}),
    ("AUC", {"multi_label": True, "name": "auc_ml"}),
    ("AUC", {"multi_label": True, "curve": "PR", "name": "pr_ml"}),
    ("PrecisionAtRecall", {"recall": 0.5, "name": "p_at_r"}),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "name": "spec"}),
]
# Keras's count metrics of several thresholds return their variable itself, so
# that its fit History shows, for the training, the counts of the validation
# run after it (the variable updated in place); fastnn's shows the training's.
COUNTS = ("TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives")


def knp(value) -> np.ndarray:
    """A Keras (torch) result as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def pairs(module, options):
    return [getattr(module.metrics, name)(**kwargs) for name, kwargs in options]


def twin_models(keras, widths, seed=3):
    fastnn.utils.set_random_seed(seed)
    model = fastnn.Sequential(
        [Input((widths[0],)), layers.Dense(widths[1], activation="tanh")]
        + [layers.Dense(widths[2], activation="sigmoid")]
    )
    with keras_quiet():
        kmodel = keras.Sequential(
            [keras.Input((widths[0],)), keras.layers.Dense(widths[1], activation="tanh")]
            + [keras.layers.Dense(widths[2], activation="sigmoid")]
        )
        kmodel.set_weights(model.get_weights())
    return model, kmodel


def assert_logs_close(ours: dict, theirs: dict, rtol=2e-5, atol=2e-5):
    # (atol: Keras's float32 weighted count of none, total - tp, is a few 1e-6)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        want = (
            [np.asarray(v) for v in theirs[key]] if isinstance(theirs[key], list) else theirs[key]
        )
        got = ours[key]
        np.testing.assert_allclose(
            np.asarray(got), np.asarray(want), rtol=rtol, atol=atol, err_msg=key
        )


def scored_data(rng, rows, outputs):
    x = rng.standard_normal((rows, 6)).astype(np.float32)
    y = (x[:, :outputs] + rng.standard_normal((rows, outputs)) > 0.3).astype(np.float32)
    return x, y


@pytest.mark.parametrize("validation", [False, True], ids=["", "validation"])
@pytest.mark.parametrize("outputs,options", [(3, OPTIONS), (1, BINARY_OPTIONS)], ids=["3", "1"])
@pytest.mark.parametrize("weighted", [False, True], ids=["metrics", "weighted_metrics"])
def test_fit_and_evaluate_logs_match_keras(rng, outputs, options, weighted, validation):
    keras = keras_or_skip()
    if validation:
        options = [o for o in options if o[0] not in COUNTS]
    x, y = scored_data(rng, 53, outputs)
    if outputs == 1:
        y = y[:, 0]  # labels (n,) against predictions (n, 1), as Keras squeezes them
    weights = rng.uniform(0.2, 2.0, 53).astype(np.float32) if weighted else None
    model, kmodel = twin_models(keras, (6, 5, outputs))
    key = "weighted_metrics" if weighted else "metrics"
    fit_args = dict(sample_weight=weights, batch_size=16, epochs=3, shuffle=False, verbose=0)
    if validation:
        fit_args["validation_split"] = 0.25
    eval_args = dict(sample_weight=weights, batch_size=7, verbose=0, return_dict=True)
    model.compile(
        optimizer=fastnn.optimizers.SGD(0.5),
        loss="binary_crossentropy",
        **{key: pairs(fastnn, options)},
    )
    with keras_quiet():
        kmodel.compile(
            optimizer=keras.optimizers.SGD(0.5),
            loss="binary_crossentropy",
            **{key: pairs(keras, options)},
        )
        expected = kmodel.fit(x, y, **fit_args).history
        expected_eval = kmodel.evaluate(x, y, **eval_args)
    history = model.fit(x, y, **fit_args).history
    assert_logs_close(history, expected)
    got_eval = model.evaluate(x, y, **eval_args)
    expected_eval = {k: np.asarray(knp(v)) for k, v in expected_eval.items()}
    assert_logs_close(got_eval, expected_eval)
    assert isinstance(history["p3"][0], np.ndarray) and history["p3"][0].shape == (3,)


def test_host_switch_is_per_instance():
    assert not metrics.is_host_metric(metrics.Precision())
    assert not metrics.is_host_metric(metrics.Precision(thresholds=[0.7]))  # one: the engine's
    assert not metrics.is_host_metric(metrics.AUC(num_thresholds=50))
    for metric in (
        metrics.Precision(thresholds=[0.2, 0.7]),
        metrics.Recall(top_k=1),
        metrics.Precision(class_id=0),
        metrics.TruePositives(thresholds=[0.2, 0.7]),
        metrics.AUC(multi_label=True),
        metrics.AUC(label_weights=[1.0]),
        metrics.PrecisionAtRecall(0.5),
    ):
        assert metrics.is_host_metric(metric) and metric._kernels() == []
        metric.check_shapes((4, 7), (4, 2))  # any shapes: update_state decides
    assert metrics.Precision()._kernels() == [
        {"kind": "true_positives", "threshold": 0.5},
        {"kind": "false_positives", "threshold": 0.5},
    ]

    # an engine metric equals one of the same config; one with a state of its own, itself only
    assert metrics.Precision(thresholds=0.3) == metrics.Precision(thresholds=0.3)
    host = metrics.Precision(top_k=1)
    assert host == host and host != metrics.Precision(top_k=1) and len({host, host}) == 1

    # a subclass's instance goes either way too
    class MyRecall(metrics.Recall):
        pass

    assert not metrics.is_host_metric(MyRecall()) and metrics.is_host_metric(MyRecall(top_k=1))


def test_one_dimensional_inputs_and_per_element_weights_match_keras(rng):
    keras = keras_or_skip()
    cases = [
        ("Precision", {"thresholds": [0.3, 0.6]}),
        ("Recall", {"top_k": 4}),  # 1-D: the batch's 4 largest, as Keras's last axis
        ("TrueNegatives", {"thresholds": [0.0, 0.5, 1.0]}),
        ("SpecificityAtSensitivity", {"sensitivity": 0.4}),
        ("RecallAtPrecision", {"precision": 0.5}),
    ]
    for name, kwargs in cases:
        ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        for rows in (9, 6):
            y = (rng.random(rows) < 0.5).astype(np.float32)
            p = (0.3 * y + 0.7 * rng.random(rows)).astype(np.float32)
            sw = rng.uniform(0.1, 2.0, rows).astype(np.float32)
            ours.update_state(y, p, sample_weight=sw)
            theirs.update_state(y, p, sample_weight=sw)
        np.testing.assert_allclose(ours.result(), knp(theirs.result()), rtol=1e-6, err_msg=name)
    y = (rng.random((8, 3)) < 0.5).astype(np.float32)
    p = rng.random((8, 3)).astype(np.float32)
    element_weights = rng.uniform(0.0, 2.0, (8, 3)).astype(np.float32)
    for name, kwargs in [
        ("Precision", {"thresholds": [0.2, 0.8]}),
        ("AUC", {"multi_label": True}),
        ("SensitivityAtSpecificity", {"specificity": 0.3}),
    ]:
        for weight in (element_weights, 1.5, element_weights[:, :1]):
            ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
            ours.update_state(y, p, sample_weight=weight)
            theirs.update_state(y, p, sample_weight=weight)
            want = knp(theirs.result())
            np.testing.assert_allclose(ours.result(), want, rtol=1e-6, err_msg=name)


ALL_HOST = [
    ("Precision", {"thresholds": [0.3, 0.6]}),
    ("Recall", {"thresholds": [0.3, 0.6]}),
    ("Precision", {"top_k": 1}),
    ("Recall", {"class_id": 1}),
    ("TruePositives", {"thresholds": [0.3, 0.6]}),
    ("FalseNegatives", {"thresholds": [0.3, 0.6]}),
    ("AUC", {"multi_label": True}),
    ("AUC", {"multi_label": True, "curve": "PR"}),
    ("AUC", {"multi_label": True, "label_weights": [0.0, 0.0]}),
    ("PrecisionAtRecall", {"recall": 0.5}),
    ("RecallAtPrecision", {"precision": 0.5}),
    ("SensitivityAtSpecificity", {"specificity": 0.5}),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5}),
]


@pytest.mark.parametrize("case", ALL_HOST, ids=lambda c: c[0] + str(c[1]))
def test_all_negative_labels_and_zero_weights_give_keras_values_without_nan(case):
    keras = keras_or_skip()
    name, kwargs = case
    p = np.random.default_rng(0).random((6, 2)).astype(np.float32)
    for y, sw in ((np.zeros((6, 2), np.float32), None), (np.ones((6, 2), np.float32), np.zeros(6))):
        ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        ours.update_state(y, p, sample_weight=sw)
        theirs.update_state(y, p, sample_weight=sw)
        got = ours.result().numpy()
        assert not np.isnan(got).any()
        np.testing.assert_allclose(got, knp(theirs.result()), rtol=1e-6)


def test_bad_arguments_raise_keras_errors():
    y = np.array([[1, 0, 1], [0, 1, 0]], np.float32)
    p = np.array([[0.9, 0.2, 0.4], [0.3, 0.8, 0.1]], np.float32)
    at_construction = [
        (
            lambda: metrics.Precision(thresholds=[0.2, 1.5]),
            r"must be in \[0, 1\]. Received: \[1.5\]",
        ),
        (lambda: metrics.Recall(thresholds=-0.1), r"must be in \[0, 1\]"),
        (lambda: metrics.TruePositives(thresholds=["a"]), r"must be in \[0, 1\]"),
        (lambda: metrics.Precision(top_k=0), "`top_k` must be a positive integer"),
        (lambda: metrics.Precision(top_k=1.5), "`top_k` must be an integer"),
        (lambda: metrics.Recall(class_id="0"), "`class_id` must be an integer"),
        (lambda: metrics.AUC(num_labels=3), "`num_labels` is needed only when `multi_label`"),
        (lambda: metrics.AUC(multi_label=True, num_labels=2, label_weights=[1, 2, 3]), "3 label"),
        (lambda: metrics.PrecisionAtRecall(1.5), r"`recall` must be in the range \[0, 1\]"),
        (lambda: metrics.RecallAtPrecision(-0.5), r"`precision` must be in the range \[0, 1\]"),
        (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), "integer > 0"),
        (lambda: metrics.SpecificityAtSensitivity(None), "must be a number"),
    ]
    for make, match in at_construction:
        with pytest.raises(ValueError, match=match):
            make()
    at_update = [
        (metrics.Precision(top_k=4), y, p, "top_k=4 is more than the 3 values"),
        (metrics.Precision(class_id=3), y, p, "class_id=3 is out of range"),
        (metrics.Recall(class_id=-4), y, p, "class_id=-4 is out of range"),
        (metrics.Recall(class_id=0), y[:, 0], p[:, 0], "y_pred must be a 2D array"),
        (metrics.AUC(multi_label=True), y[:, 0], p[:, 0], "`y_pred` must have rank 2"),
        (metrics.AUC(multi_label=True, num_labels=2), y, p, "counts 2 labels"),
        (metrics.AUC(multi_label=True, label_weights=[1, 2]), y, p, "2 label_weights"),
        (metrics.Precision(thresholds=[0.2, 0.4]), y[:, :2], p, "the same shape"),
        (metrics.PrecisionAtRecall(0.5), y, p, None),  # fine, then a bad weight below
    ]
    for metric, yt, yp, match in at_update:
        if match is None:
            metric.update_state(yt, yp)
            before = metric.result().numpy()
            with pytest.raises(ValueError, match="do not broadcast"):
                metric.update_state(yt, yp, sample_weight=np.ones(5))
            assert metric.result().numpy() == before  # the state unchanged
            continue
        with pytest.raises(ValueError, match=match):
            metric.update_state(yt, yp)
        assert not metric.result().numpy().any()  # nothing counted


def test_configs_match_keras_and_round_trip():
    keras = keras_or_skip()
    options = OPTIONS + [
        ("AUC", {"multi_label": True, "num_labels": 3, "thresholds": [0.2, 0.6], "name": "a"}),
        ("PrecisionAtRecall", {"recall": 0.3, "num_thresholds": 7, "class_id": 2, "name": "b"}),
    ]
    for (name, _), ours, theirs in zip(options, pairs(fastnn, options), pairs(keras, options)):
        config, want = ours.get_config(), theirs.get_config()
        if want.get("label_weights") is not None:
            want["label_weights"] = knp(want["label_weights"]).tolist()
        if isinstance(want.get("curve"), str):
            want["summation_method"] = want["summation_method"].lower()
        assert config == want, name
        again = type(ours).from_config(config)
        assert again.get_config() == config
        assert metrics.deserialize(metrics.serialize(ours)).get_config() == config
        with keras_quiet():  # Keras rebuilds fastnn's serialized metric
            rebuilt = keras.metrics.deserialize(metrics.serialize(ours))
        assert type(rebuilt).__name__ == name and rebuilt.name == ours.name


def test_saving_and_clone_keep_the_options_and_the_logs(rng, tmp_path):
    x, y = scored_data(rng, 40, 3)
    fastnn.utils.set_random_seed(1)
    model = fastnn.Sequential([Input((6,)), layers.Dense(3, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=pairs(fastnn, OPTIONS))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    want = model.evaluate(x, y, verbose=0, return_dict=True)
    path = tmp_path / "options.keras"
    model.save(path)
    loaded = fastnn.models.load_model(path)
    clone = fastnn.models.clone_model(model)
    clone.set_weights(model.get_weights())
    for other in (loaded, clone):
        got = other.evaluate(x, y, verbose=0, return_dict=True)
        assert sorted(got) == sorted(want)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)
        assert [m.get_config() for m in other._metrics] == [m.get_config() for m in model._metrics]
    assert clone._metrics[0] is not model._metrics[0]  # its own state


def test_progress_bar_shows_array_metrics(rng, capsys):
    x, y = scored_data(rng, 20, 2)
    model = fastnn.Sequential([Input((6,)), layers.Dense(2, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=[metrics.Recall(thresholds=[0.2, 0.8])])
    model.fit(x, y, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert " - recall: " in out and "nan" not in out


def test_cosine_similarity_axis_one_and_get_accuracy_match_keras(rng):
    keras = keras_or_skip()
    y = rng.standard_normal((6, 4)).astype(np.float32)
    p = rng.standard_normal((6, 4)).astype(np.float32)
    for axis in (1, -1):
        got = metrics.CosineSimilarity(axis=axis)(y, p)
        want = keras.metrics.CosineSimilarity(axis=axis)(y, p)
        np.testing.assert_allclose(got, knp(want), rtol=1e-6)
    assert metrics.CosineSimilarity(axis=1).get_config() == {
        "name": "cosine_similarity",
        "dtype": "float32",
    }
    assert metrics.CategoricalCrossentropy(axis=1).get_config()["axis"] == 1
    assert metrics.SparseCategoricalCrossentropy(axis=1).get_config()["axis"] == 1
    for bad in (0, 2, -2, 1.0, True):
        with pytest.raises(ValueError, match="outputs' axis, -1 \\(or 1\\)"):
            metrics.CosineSimilarity(axis=bad)
    model = fastnn.Sequential([Input((4,)), layers.Dense(4)])
    model.compile("sgd", "mse", metrics=[metrics.CosineSimilarity(axis=1)])
    assert "cosine_similarity" in model.evaluate(y, y, verbose=0, return_dict=True)
    for identifier in ("accuracy", "Accuracy"):
        ours = metrics.get(identifier)
        theirs = keras.metrics.get(identifier)
        assert type(ours).__name__ == type(theirs).__name__ == "Accuracy"
        assert ours.get_config() == theirs.get_config()
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 'acc'"):
        metrics.get("acc")  # Keras's get does not know "acc" either
    for name in ("AUC", "auc", "mse", "precision", "true_positives", "f1_score"):
        assert type(metrics.get(name)).__name__ == type(keras.metrics.get(name)).__name__
