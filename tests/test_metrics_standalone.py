"""Keras 3's stateful metric API on fastnn's metric classes: `update_state`,
`result`, `reset_state` and `__call__` against Keras 3.15's own metric objects
(keras/src/metrics/) fed the same batches: every class, several updates of odd
sizes, with and without sample weights; results before any update, input
types, 1-D predictions, bad inputs leaving the state unchanged, and the
independence of the standalone state from compile, fit and evaluate."""

from __future__ import annotations

import copy
import os
import pickle
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import layers, metrics, models

SIZES = (7, 13, 5)  # rows of the successive update_state calls
OUTPUTS = 3
RTOL, ATOL = 1e-5, 1e-7


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _data(kind: str, rng, rows: int, outputs: int = OUTPUTS):
    """(y_true, y_pred) float32 (integer class ids for the sparse kinds)."""
    z = rng.standard_normal((rows, outputs)).astype(np.float32)
    if kind in ("binary", "binary_logits"):
        y = (rng.random((rows, outputs)) < 0.5).astype(np.float32)
        p = 2.0 * z if kind == "binary_logits" else rng.random((rows, outputs))
    elif kind in ("scored", "scored_logits"):  # predictions that tell the labels apart a little
        y = (rng.random((rows, outputs)) < 0.4).astype(np.float32)
        p = 0.35 * y + 0.65 * rng.random((rows, outputs))
        p = 3.0 * (p - 0.5) if kind == "scored_logits" else p
    elif kind in ("onehot", "onehot_logits", "sparse", "sparse_logits"):
        labels = rng.integers(0, outputs, rows)
        y = labels if kind.startswith("sparse") else np.eye(outputs)[labels]
        p = 2.0 * z if kind.endswith("logits") else _softmax(2.0 * z)
    elif kind == "regression":
        y = rng.standard_normal((rows, outputs))
        p = y + 0.7 * z
    elif kind == "positive":
        y, p = rng.random((rows, outputs)) + 0.05, rng.random((rows, outputs)) + 0.05
    else:
        raise AssertionError(kind)
    return np.asarray(y, np.int64 if kind.startswith("sparse") else np.float32), np.asarray(
        p, np.float32
    )


# (class name, kwargs, data kind): every fastnn metric class, default and
# non-default arguments
CASES = [
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.3}, "binary"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("MeanSquaredError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("TruePositives", {}, "binary"),
    ("FalsePositives", {"thresholds": 0.3}, "binary"),
    ("TrueNegatives", {}, "binary"),
    ("FalseNegatives", {"thresholds": 0.7}, "binary"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": 0.7}, "binary"),
    ("Recall", {"thresholds": 0.3}, "binary"),
    ("AUC", {}, "binary"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"num_thresholds": 37, "summation_method": "minoring"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, "binary"),
    ("AUC", {"from_logits": True}, "binary_logits"),
    # options counted in Python (host metrics)
    ("TruePositives", {"thresholds": [0.2, 0.5, 0.9]}, "scored"),
    ("FalsePositives", {"thresholds": [0.0, 0.5, 1.0]}, "scored"),  # evenly: Keras's buckets
    ("TrueNegatives", {"thresholds": [0.3, 0.6]}, "scored"),
    ("FalseNegatives", {"thresholds": [0.25, 0.75]}, "scored"),
    ("Precision", {"thresholds": [0.3, 0.5, 0.7]}, "scored"),
    ("Precision", {"top_k": 2}, "scored"),
    ("Precision", {"class_id": 1}, "scored"),
    ("Precision", {"top_k": 1, "class_id": 2, "thresholds": [0.4, 0.6]}, "scored"),
    ("Recall", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "scored"),
    ("Recall", {"top_k": 2, "thresholds": 0.5}, "scored"),
    ("Recall", {"class_id": -1}, "scored"),
    ("AUC", {"multi_label": True}, "scored"),
    ("AUC", {"multi_label": True, "num_labels": OUTPUTS, "curve": "PR"}, "scored"),
    (
        "AUC",
        {
            "multi_label": True,
            "label_weights": [1.0, 3.0, 0.5],
            "num_thresholds": 17,
            "summation_method": "majoring",
        },
        "scored",
    ),
    ("AUC", {"multi_label": True, "from_logits": True, "curve": "PR"}, "scored_logits"),
    ("AUC", {"multi_label": True, "thresholds": [0.1, 0.35, 0.6, 0.9]}, "scored"),
    ("AUC", {"multi_label": True, "thresholds": [0.25, 0.5, 0.75], "curve": "PR"}, "scored"),
    ("AUC", {"label_weights": [0.5, 2.0, 1.0], "summation_method": "minoring"}, "scored"),
    ("PrecisionAtRecall", {"recall": 0.6}, "scored"),
    ("PrecisionAtRecall", {"recall": 0.8, "num_thresholds": 1}, "scored"),
    ("RecallAtPrecision", {"precision": 0.7, "class_id": 0}, "scored"),
    ("RecallAtPrecision", {"precision": 0.55, "num_thresholds": 13}, "scored"),
    ("SensitivityAtSpecificity", {"specificity": 0.6}, "scored"),
    ("SensitivityAtSpecificity", {"specificity": 0.4, "num_thresholds": 2}, "scored"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "class_id": 2}, "scored"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "num_thresholds": 50}, "scored"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("CategoricalCrossentropy", {}, "onehot"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "onehot_logits"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("LogCoshError", {}, "regression"),
    ("KLDivergence", {}, "positive"),
    ("Poisson", {}, "positive"),
    ("Hinge", {}, "binary"),
    ("SquaredHinge", {}, "binary"),
    ("CategoricalHinge", {}, "onehot"),
    ("CosineSimilarity", {}, "regression"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"),
    ("R2Score", {"num_regressors": 2}, "regression"),
    ("FBetaScore", {"beta": 2.0}, "onehot"),
    ("FBetaScore", {"average": "macro", "threshold": 0.4}, "binary"),
    ("F1Score", {}, "onehot"),
    ("F1Score", {"average": "micro"}, "onehot"),
    ("F1Score", {"average": "weighted", "threshold": 0.3}, "binary"),
    ("PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
]
PER_OUTPUT = {"R2Score", "FBetaScore", "F1Score"}  # Keras builds their state on the first update


def _unbuilt_in_keras(case):
    """Keras's multi-label AUC of unknown labels has no state before an update."""
    name, kwargs, _ = case
    return name == "AUC" and kwargs.get("multi_label") and not kwargs.get("num_labels")


def _case_id(case):
    name, kwargs, _ = case
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


def _batches(kind, seed=0, weighted=False, sizes=SIZES):
    rng = np.random.default_rng(seed)
    for rows in sizes:
        y, p = _data(kind, rng, rows)
        yield y, p, (rng.uniform(0.1, 2.0, rows).astype(np.float32) if weighted else None)


def _pair(keras, name, kwargs):
    return getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)


def _result_and_warnings(metric):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = metric.result()
    return value, sorted(str(w.message) for w in caught)


def _check(ours, theirs):
    """ours.result() is Keras's: value, shape, float32, and the warnings it gives
    (R2Score's adjusted-R2 fallback)."""
    got, our_warnings = _result_and_warnings(ours)
    assert isinstance(got.numpy(), np.ndarray) and got.dtype == np.float32
    want, their_warnings = _result_and_warnings(theirs)
    want = _numpy(want)
    assert our_warnings == their_warnings
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=RTOL, atol=ATOL)


def test_every_metric_class_has_a_case():
    assert {name for name, _, _ in CASES} == {cls.__name__ for cls in metrics._CLASSES}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_update_state_and_result_match_keras(case, weighted):
    keras = _keras()
    name, kwargs, kind = case
    ours, theirs = _pair(keras, name, kwargs)
    for y, p, sw in _batches(kind, seed=len(name), weighted=weighted):
        ours.update_state(y, p, sample_weight=sw)
        theirs.update_state(y, p, sample_weight=sw)
        _check(ours, theirs)  # after every update: the state accumulates


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_reset_state_then_new_updates_match_keras(case):
    keras = _keras()
    name, kwargs, kind = case
    ours, theirs = _pair(keras, name, kwargs)
    batches = list(_batches(kind, seed=1, weighted=True))
    for y, p, sw in batches[:2]:
        ours.update_state(y, p, sample_weight=sw)
        theirs.update_state(y, p, sample_weight=sw)
    ours.reset_state()
    theirs.reset_state()
    _check(ours, theirs)  # no data (a per-output metric keeps its outputs)
    y, p, sw = batches[2]
    ours.update_state(y, p, sample_weight=sw)
    _, fresh = _pair(keras, name, kwargs)
    fresh.update_state(y, p, sample_weight=sw)
    _check(ours, fresh)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_call_updates_and_returns_the_result(case):
    keras = _keras()
    name, kwargs, kind = case
    ours, theirs = _pair(keras, name, kwargs)
    for y, p, sw in _batches(kind, seed=2, weighted=True):
        got = ours(y, p, sample_weight=sw)
        want = _numpy(theirs(y, p, sample_weight=sw))
        np.testing.assert_allclose(got.numpy(), want, rtol=RTOL, atol=ATOL)
    _check(ours, theirs)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[0] not in PER_OUTPUT and not _unbuilt_in_keras(c)], ids=_case_id
)
def test_result_before_any_update_is_keras_zero(case):
    keras = _keras()
    name, kwargs, _ = case
    ours, theirs = _pair(keras, name, kwargs)
    assert not ours.result().numpy().any()  # zero, or zeros: one per threshold
    _check(ours, theirs)
    ours.reset_state()  # a reset before any update changes nothing
    assert not ours.result().numpy().any()


@pytest.mark.parametrize("name", sorted(PER_OUTPUT))
def test_per_output_result_before_any_update_is_an_error(name):
    # Keras's fails too (AttributeError: its variables are built on the first update)
    with pytest.raises(ValueError, match="call update_state first"):
        getattr(metrics, name)().result()


def test_scalar_and_column_sample_weights_match_keras():
    keras = _keras()
    (y, p, sw), *_ = _batches("binary", seed=3, weighted=True)
    for weight in (2.5, sw[:, None], sw.astype(np.float64)):
        for name in ("BinaryAccuracy", "TruePositives", "AUC", "MeanSquaredError", "R2Score"):
            ours, theirs = _pair(keras, name, {})
            ours.update_state(y, p, sample_weight=weight)
            theirs.update_state(y, p, sample_weight=weight)
            _check(ours, theirs)


def test_zero_weights_give_keras_zero():
    keras = _keras()
    (y, p, _), *_ = _batches("binary", seed=4)
    for name in ("BinaryAccuracy", "MeanSquaredError", "Precision", "AUC"):
        ours, theirs = _pair(keras, name, {})
        ours.update_state(y, p, sample_weight=np.zeros(len(y)))
        theirs.update_state(y, p, sample_weight=np.zeros(len(y)))
        _check(ours, theirs)


def test_inputs_as_lists_dtypes_and_tensors_match_float32_arrays():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    y, p = _data("binary", rng, 9)
    reference = metrics.AUC()(y, p)
    forms = [
        (y.tolist(), p.tolist()),
        (y.astype(bool), p.astype(np.float64)),
        (y.astype(np.int32), p.astype(np.float16).astype(np.float32)),
        (torch.tensor(y), torch.tensor(p, requires_grad=True)),
        (np.asfortranarray(y), np.asfortranarray(p)),
    ]
    for yt, yp in forms:
        np.testing.assert_allclose(metrics.AUC()(yt, yp), reference, rtol=1e-6)
    labels = rng.integers(0, OUTPUTS, 9)
    want = metrics.SparseCategoricalAccuracy()(labels, p)
    for form in (labels.tolist(), labels.astype(np.float32), labels[:, None], torch.tensor(labels)):
        assert float(metrics.SparseCategoricalAccuracy()(form, p)) == float(want)


def test_float16_and_float64_inputs_are_computed_in_float32():
    # Keras computes float16 inputs in float16; fastnn's engine in float32
    keras = _keras()
    (y, p, sw), *_ = _batches("regression", seed=6, weighted=True)
    for dtype in (np.float16, np.float64):
        ours, theirs = _pair(keras, "MeanSquaredError", {})
        yd, pd = y.astype(dtype), p.astype(dtype)
        ours.update_state(yd, pd, sample_weight=sw)
        theirs.update_state(yd.astype(np.float32), pd.astype(np.float32), sample_weight=sw)
        _check(ours, theirs)


@pytest.mark.parametrize(
    "name", ["BinaryAccuracy", "TruePositives", "FalseNegatives", "Precision", "Recall", "AUC"]
)
def test_one_dimensional_binary_predictions_match_keras(name):
    keras = _keras()
    ours, theirs = _pair(keras, name, {})
    rng = np.random.default_rng(7)
    for rows in SIZES:
        y = (rng.random(rows) < 0.5).astype(np.float32)
        p = rng.random(rows).astype(np.float32)
        sw = rng.uniform(0.1, 2.0, rows)
        ours.update_state(y, p, sample_weight=sw)
        theirs.update_state(y, p, sample_weight=sw)
        _check(ours, theirs)


@pytest.mark.parametrize(
    "name", ["MeanSquaredError", "BinaryCrossentropy", "Hinge", "CosineSimilarity"]
)
def test_one_dimensional_predictions_are_one_sample_as_in_keras(name):
    # Keras reduces the last axis: each 1-D batch is one sample
    keras = _keras()
    ours, theirs = _pair(keras, name, {})
    rng = np.random.default_rng(8)
    for rows in SIZES:
        y = (rng.random(rows) < 0.5).astype(np.float32)
        p = rng.random(rows).astype(np.float32)
        ours.update_state(y, p)
        theirs.update_state(y, p)
        _check(ours, theirs)
    with pytest.raises(ValueError, match="sample_weight"):
        ours.update_state(y, p, sample_weight=np.ones(len(y)))  # Keras fails too


def _bad_inputs():
    rng = np.random.default_rng(9)
    y, p = _data("binary", rng, 5)
    labels = rng.integers(0, OUTPUTS, 5)
    return [
        ("MeanSquaredError", y[:, :2], p, None, "shape"),
        ("MeanSquaredError", y[:4], p, None, "shape"),
        ("MeanSquaredError", y, p[:, :, None], None, r"\(n, outputs\)"),
        ("MeanSquaredError", y, np.float32(0.5), None, r"\(n, outputs\)"),
        ("MeanSquaredError", y, np.zeros((5, 0)), None, r"\(n, outputs\)"),
        ("MeanSquaredError", y, np.where(p > 0.5, np.nan, p), None, "NaN or Inf"),
        ("MeanSquaredError", np.where(y > 0, np.inf, y), p, None, "NaN or Inf"),
        ("MeanSquaredError", y, p.astype(np.float64) * 1e300, None, "NaN or Inf"),
        ("MeanSquaredError", y, p, np.full(5, np.nan), "NaN or Inf"),
        ("MeanSquaredError", y, p.astype(str), None, "real numbers"),
        ("MeanSquaredError", y, [[1.0, 2.0], [3.0]], None, "not an array"),
        ("BinaryAccuracy", y, p, np.ones((5, OUTPUTS)), "sample_weight"),
        ("BinaryAccuracy", y, p, np.ones(4), "sample_weight"),
        ("SparseCategoricalAccuracy", y, p, None, "shape"),
        ("SparseCategoricalAccuracy", labels, p[:, 0], None, r"\(n, outputs\)"),
        ("SparseCategoricalAccuracy", labels + OUTPUTS, p, None, "class ids"),
        ("SparseTopKCategoricalAccuracy", labels - 1.0, p, None, "class ids"),
        ("SparseCategoricalCrossentropy", labels + 0.5, p, None, "class ids"),
        ("R2Score", y[:, 0], p[:, 0], None, r"\(n, outputs\)"),
        ("F1Score", y, p[:, :2], None, "2D inputs"),
    ]


@pytest.mark.parametrize("bad", _bad_inputs(), ids=lambda b: f"{b[0]}-{b[4]}")
def test_bad_inputs_raise_and_leave_the_state_unchanged(bad):
    name, y_true, y_pred, sample_weight, match = bad
    kind = {"Sparse": "sparse", "R2Score": "regression", "F1Score": "onehot"}
    kind = next((v for k, v in kind.items() if name.startswith(k)), "binary")
    metric, fresh = getattr(metrics, name)(), getattr(metrics, name)()
    (y, p, sw), (y2, p2, sw2) = list(_batches(kind, seed=10, weighted=True, sizes=(7, 9)))
    metric.update_state(y, p, sample_weight=sw)
    before = np.array(metric.result())
    with pytest.raises(ValueError, match=match):
        metric.update_state(y_true, y_pred, sample_weight=sample_weight)
    np.testing.assert_array_equal(metric.result(), before)
    metric.update_state(y2, p2, sample_weight=sw2)  # goes on as if the bad call never was
    for yb, pb, wb in ((y, p, sw), (y2, p2, sw2)):
        fresh.update_state(yb, pb, sample_weight=wb)
    np.testing.assert_array_equal(metric.result(), fresh.result())


def test_per_output_state_keeps_its_outputs_as_keras():
    rng = np.random.default_rng(11)
    metric = metrics.F1Score()
    y, p = _data("onehot", rng, 7)
    metric.update_state(y, p)
    before = metric.result().numpy()
    y5, p5 = _data("onehot", rng, 7, outputs=5)
    with pytest.raises(ValueError, match="holds that of 3 outputs"):
        metric.update_state(y5, p5)  # Keras fails too (its variables have 3 entries)
    np.testing.assert_array_equal(metric.result(), before)
    mse = metrics.MeanSquaredError()  # a mean takes any number of outputs, as Keras
    mse.update_state(y, p)
    mse.update_state(y5, p5)
    assert float(mse.result()) > 0.0


def test_empty_batch_changes_nothing():
    keras = _keras()
    ours, theirs = _pair(keras, "BinaryAccuracy", {})
    ours.update_state(np.zeros((0, OUTPUTS)), np.zeros((0, OUTPUTS)))
    theirs.update_state(np.zeros((0, OUTPUTS)), np.zeros((0, OUTPUTS)))
    _check(ours, theirs)


def test_result_is_a_float32_array_with_keras_methods():
    metric = metrics.Precision()
    value = metric([[1], [0], [1], [1]], [[0.9], [0.8], [0.1], [0.7]])
    assert value.shape == () and value.dtype == np.float32
    assert float(value) == pytest.approx(2 / 3) and f"{value:.4f}" == "0.6667"
    assert type(value.numpy()) is np.ndarray and value.numpy() == np.float32(2 / 3)
    vector = metrics.F1Score()(np.eye(3)[[0, 1, 2, 1]], np.eye(3)[[0, 1, 1, 1]])
    assert vector.shape == (3,) and vector.numpy().dtype == np.float32
    assert not hasattr(metrics.Metric, "reset_states")  # Keras 3 has reset_state only


def test_the_base_class_has_no_kernels_to_update():
    with pytest.raises(NotImplementedError):
        metrics.Metric(name="custom").update_state([[1.0]], [[1.0]])


def test_copies_and_pickles_keep_the_state():
    rng = np.random.default_rng(12)
    metric = metrics.AUC()
    y, p = _data("binary", rng, 11)
    metric.update_state(y, p)
    for twin in (copy.copy(metric), copy.deepcopy(metric), pickle.loads(pickle.dumps(metric))):
        assert float(twin.result()) == float(metric.result())
        twin.update_state(y, p)  # its own state from now on
    assert float(metric.result()) == float(metrics.AUC()(y, p))


def _model(metric, seed=0):
    fastnn.utils.set_random_seed(seed)
    model = models.Sequential(
        [layers.Input((4,)), layers.Dense(OUTPUTS, activation="sigmoid")], name="net"
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[metric])
    return model


def _fit_logs(metric):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((37, 4)).astype(np.float32)
    y = (rng.random((37, OUTPUTS)) < 0.5).astype(np.float32)
    model = _model(metric)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return history.history, model.evaluate(x, y, verbose=0, return_dict=True), model


@pytest.mark.parametrize(
    "factory",
    [metrics.AUC, metrics.BinaryAccuracy, metrics.Precision, metrics.F1Score, metrics.R2Score],
)
def test_standalone_state_never_reaches_fit_logs(factory):
    rng = np.random.default_rng(14)
    want_history, want_eval, _ = _fit_logs(factory())
    used = factory()
    wide_y, wide_p = _data("binary", rng, 9, outputs=5)  # other outputs than the model's
    used.update_state(wide_y, wide_p)
    history, logs, model = _fit_logs(used)
    assert history.keys() == want_history.keys() and logs.keys() == want_eval.keys()
    for key in want_history:
        np.testing.assert_array_equal(history[key], want_history[key])
    for key in want_eval:
        np.testing.assert_array_equal(logs[key], want_eval[key])
    # fit and evaluate started it anew: it holds the last run, as Keras's object
    np.testing.assert_array_equal(used.result(), logs[used.name])
    # compiled, then standalone: the model's next logs do not change
    used.reset_state()
    used.update_state(*_data("binary", rng, 9))
    rng = np.random.default_rng(13)
    x = rng.standard_normal((37, 4)).astype(np.float32)
    y = (rng.random((37, OUTPUTS)) < 0.5).astype(np.float32)
    again = model.evaluate(x, y, verbose=0, return_dict=True)
    for key in want_eval:
        np.testing.assert_array_equal(again[key], want_eval[key])
    assert used.name == factory().name


def test_standalone_use_draws_no_seed_and_takes_no_name():
    def weights(use_metric):
        fastnn.utils.set_random_seed(3)
        if use_metric:
            names = dict(layers._name_counts)  # the automatic names given so far
            metrics.AUC()([[1.0], [0.0]], [[0.7], [0.2]])
            metrics.SparseCategoricalAccuracy()([1, 0], [[0.3, 0.7], [0.6, 0.4]])
            assert layers._name_counts == names
        model = models.Sequential([layers.Input((4,)), layers.Dense(2)])
        return model.get_weights()[0]

    np.testing.assert_array_equal(weights(False), weights(True))


def test_a_metric_pickled_before_the_stateful_api_still_updates():
    """A metric pickled by a fastnn without update_state has neither its
    state nor its evaluator cache: both start empty."""
    m = metrics.BinaryAccuracy()
    for key in ("_state", "_evaluators"):
        m.__dict__.pop(key, None)
    assert float(m.result()) == 0.0
    m.update_state([[1.0], [0.0]], [[0.9], [0.8]])
    assert float(m.result()) == 0.5
