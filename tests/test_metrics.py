"""fastnn.metrics: names, aliases and Keras 3's resolution of "accuracy"."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fastnn
from fastnn import metrics
from fastnn.metrics import (
    BinaryAccuracy,
    CategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)


@pytest.mark.parametrize("name", ["accuracy", "acc", "Accuracy", "ACC"])
@pytest.mark.parametrize(
    "y_true, y_pred, kind",
    [
        ((32,), (32, 10), "sparse_categorical_accuracy"),
        ((32, 1), (32, 10), "sparse_categorical_accuracy"),
        ((32, 10), (32, 10), "categorical_accuracy"),
        ((32, 1), (32, 1), "binary_accuracy"),
        ((32,), (32, 1), "binary_accuracy"),  # binary wins over the lower rank
        ((32, 3), (32, 3), "categorical_accuracy"),
        ((32, 2), (32, 2), "categorical_accuracy"),
    ],
)
def test_accuracy_resolves_from_shapes_and_keeps_the_users_name(name, y_true, y_pred, kind):
    m = metrics.resolve(name, y_true, y_pred)
    assert m.kind == kind
    assert m.name == name
    assert m.direction == "up"


def test_binary_accuracy_default_threshold():
    m = metrics.resolve("accuracy", (8, 1), (8, 1))
    assert isinstance(m, BinaryAccuracy) and m.params == {"threshold": 0.5}


@pytest.mark.parametrize(
    "identifier, cls, name",
    [
        ("mse", MeanSquaredError, "mse"),
        ("MSE", MeanSquaredError, "MSE"),
        ("mean_squared_error", MeanSquaredError, "mean_squared_error"),
        ("MeanSquaredError", MeanSquaredError, "MeanSquaredError"),
        ("mae", MeanAbsoluteError, "mae"),
        ("mean_absolute_error", MeanAbsoluteError, "mean_absolute_error"),
        ("binary_accuracy", BinaryAccuracy, "binary_accuracy"),
        ("categorical_accuracy", CategoricalAccuracy, "categorical_accuracy"),
        ("top_k_categorical_accuracy", TopKCategoricalAccuracy, "top_k_categorical_accuracy"),
        (MeanSquaredError, MeanSquaredError, "mean_squared_error"),
        (MeanSquaredError(name="my_mse"), MeanSquaredError, "my_mse"),
        ({"class_name": "MeanAbsoluteError", "config": {"name": "l1"}}, MeanAbsoluteError, "l1"),
    ],
)
def test_names_aliases_and_objects(identifier, cls, name):
    m = metrics.resolve(identifier, (4, 3), (4, 3))
    assert type(m) is cls and m.name == name


def test_string_names_for_sparse_metrics():
    m = metrics.resolve("sparse_categorical_accuracy", (4,), (4, 10))
    assert m.kind == "sparse_categorical_accuracy"
    m = metrics.resolve("SparseTopKCategoricalAccuracy", (4, 1), (4, 10))
    assert m.kind == "sparse_top_k_categorical_accuracy" and m.params == {"k": 5}


def test_directions():
    assert MeanSquaredError().direction == "down"
    assert MeanAbsoluteError().direction == "down"
    for cls in (BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy):
        assert cls().direction == "up"


def test_default_names_and_params():
    assert TopKCategoricalAccuracy().name == "top_k_categorical_accuracy"
    assert TopKCategoricalAccuracy(k=3).params == {"k": 3}
    assert SparseTopKCategoricalAccuracy().name == "sparse_top_k_categorical_accuracy"
    assert BinaryAccuracy(threshold=0.7).params == {"threshold": 0.7}
    assert CategoricalAccuracy().params == {}


@pytest.mark.parametrize(
    "metric",
    [
        BinaryAccuracy(name="b", threshold=0.25),
        CategoricalAccuracy(),
        SparseCategoricalAccuracy(name="acc"),
        TopKCategoricalAccuracy(k=2),
        SparseTopKCategoricalAccuracy(k=3, name="top3"),
        MeanSquaredError(),
        MeanAbsoluteError(name="mae"),
    ],
)
def test_serialize_round_trip(metric):
    config = metrics.serialize(metric)
    assert config["module"] == "keras.metrics"
    assert config["class_name"] == type(metric).__name__
    again = metrics.deserialize(json.loads(json.dumps(config)))
    assert again == metric and again is not metric
    assert type(metric).from_config(metric.get_config()) == metric


def test_resolve_metrics_keeps_order_and_deduplicates_names():
    got = metrics.resolve_metrics(["accuracy", "mse", "accuracy", "accuracy"], (6, 4), (6, 4))
    assert [m.name for m in got] == ["accuracy", "mse", "accuracy_1", "accuracy_2"]
    assert [m.kind for m in got] == ["categorical_accuracy", "mean_squared_error"] + [
        "categorical_accuracy"
    ] * 2
    assert metrics.resolve_metrics(None, (6,), (6, 4)) == []
    assert [m.name for m in metrics.resolve_metrics("acc", (6,), (6, 4))] == ["acc"]
    assert metrics.resolve_metrics([None, "mae"], (6, 4), (6, 4))[0].name == "mae"


def test_resolve_metrics_rejects_the_same_object_twice_and_dicts():
    m = MeanSquaredError()
    with pytest.raises(ValueError, match="listed twice"):
        metrics.resolve_metrics([m, m], (3, 1), (3, 1))
    # two objects of the same name are two metrics: the second is renamed
    a, b = MeanSquaredError(), MeanSquaredError()
    got = metrics.resolve_metrics([a, b], (3, 1), (3, 1))
    assert got == [a, b] and (a.name, b.name) == ("mean_squared_error", "mean_squared_error_1")
    with pytest.raises(ValueError, match="dict"):
        metrics.resolve_metrics({"out": "accuracy"}, (3,), (3, 2))


@pytest.mark.parametrize(
    "identifier, match",
    [
        ("iou", "does not compute the metric 'iou'"),
        ("mean_iou", "does not compute"),
        ("binary_iou", "does not compute"),
        ("fbeta_score", "Could not interpret metric identifier: 'fbeta_score'"),
        ("accuracyy", "Could not interpret metric identifier: 'accuracyy'"),
        (3, "Could not interpret"),
        ({"class_name": "Eval", "config": {}}, "Unknown class_name 'Eval'"),
    ],
)
def test_unknown_or_unsupported_metrics(identifier, match):
    with pytest.raises(ValueError, match=match):
        metrics.resolve(identifier, (3,), (3, 2))


def test_get_accuracy_is_keras_accuracy_and_acc_needs_shapes():
    with pytest.raises(ValueError, match="shapes"):
        metrics.get("acc")
    assert metrics.get(None) is None
    for name in ("accuracy", "Accuracy"):  # as Keras's metrics.get
        assert type(metrics.get(name)) is metrics.Accuracy and metrics.get(name).name == "accuracy"


@pytest.mark.parametrize(
    "identifier, y_true, y_pred",
    [
        ("categorical_accuracy", (4,), (4, 3)),
        ("categorical_accuracy", (4, 2), (4, 3)),
        ("sparse_categorical_accuracy", (4, 3), (4, 3)),
        ("sparse_categorical_accuracy", (5,), (4, 3)),
        ("sparse_top_k_categorical_accuracy", (4, 2), (4, 3)),
        ("mse", (4, 2), (4, 3)),
        ("binary_accuracy", (4, 2), (4, 1)),
    ],
)
def test_shape_mismatch_is_a_clear_error(identifier, y_true, y_pred):
    with pytest.raises(ValueError, match=r"labels.*\(4|shape"):
        metrics.resolve(identifier, y_true, y_pred)


@pytest.mark.parametrize("bad_shape", [(), None, ("a",)])
def test_bad_shapes(bad_shape):
    with pytest.raises((ValueError, TypeError), match="shape"):
        metrics.resolve("accuracy", bad_shape, (3, 2))


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: TopKCategoricalAccuracy(k=0), "positive integer"),
        (lambda: TopKCategoricalAccuracy(k=2.5), "positive integer"),
        (lambda: SparseTopKCategoricalAccuracy(k=True), "positive integer"),
        (lambda: BinaryAccuracy(threshold="high"), "threshold"),
        (lambda: BinaryAccuracy(threshold=float("nan")), "NaN"),
        (lambda: MeanSquaredError(name=""), "name"),
        (lambda: MeanSquaredError(name=3), "name"),
    ],
)
def test_bad_metric_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_is_binary_or_sparse_categorical():
    f = metrics.is_binary_or_sparse_categorical
    assert f((4,), (4, 10)) == (False, True)
    assert f((4, 1), (4, 10)) == (False, True)
    assert f((4, 10), (4, 10)) == (False, False)
    assert f((4, 1), (4, 1)) == (True, False)
    assert f((4,), (4, 1)) == (True, True)


# -- Keras's metric functions (keras/src/metrics/accuracy_metrics.py) --------------------


def test_metric_functions_give_keras_values():
    # Keras 3.15 (torch backend): float32 per sample (binary_accuracy per
    # output), ties counted in top-k, labels of shape (n,) or (n, 1).
    y_pred = np.array([[0.25, 0.25, 0.25, 0.25], [0.1, 0.7, 0.15, 0.05], [0.6, 0.1, 0.2, 0.1]])
    one_hot = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float64)
    ids = np.array([2, 1, 3])
    binary = metrics.binary_accuracy(one_hot, y_pred, threshold=0.2)
    assert binary.dtype == np.float32 and binary.shape == (3, 4)
    np.testing.assert_array_equal(binary, [[0, 0, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0]])
    np.testing.assert_array_equal(metrics.categorical_accuracy(one_hot, y_pred), [0, 1, 0])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(ids, y_pred), [0, 1, 0])
    np.testing.assert_array_equal(
        metrics.sparse_categorical_accuracy(ids[:, None], y_pred), [0, 1, 0]
    )
    np.testing.assert_array_equal(
        metrics.top_k_categorical_accuracy(one_hot, y_pred, k=2), [1, 1, 0]
    )
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(ids, y_pred, k=3), [1, 1, 1]
    )
    np.testing.assert_allclose(
        metrics.mean_squared_error(one_hot, y_pred), [0.1875, 0.03125, 0.305]
    )


@pytest.mark.parametrize(
    "function, cls",
    [
        (metrics.binary_accuracy, metrics.BinaryAccuracy),
        (metrics.categorical_accuracy, metrics.CategoricalAccuracy),
        (metrics.sparse_categorical_accuracy, metrics.SparseCategoricalAccuracy),
        (metrics.top_k_categorical_accuracy, metrics.TopKCategoricalAccuracy),
        (metrics.sparse_top_k_categorical_accuracy, metrics.SparseTopKCategoricalAccuracy),
        (metrics.mean_squared_error, metrics.MeanSquaredError),
        (metrics.mean_absolute_error, metrics.MeanAbsoluteError),
    ],
)
def test_metric_functions_name_their_metric_in_compile(function, cls):
    metric = metrics.get(function)
    assert type(metric) is cls and metric.name == function.__name__


def test_compile_with_metric_functions_logs_and_saves_them(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    model = fastnn.Sequential([fastnn.Input((4,)), fastnn.layers.Dense(3, activation="softmax")])
    model.compile(
        "sgd",
        fastnn.losses.sparse_categorical_crossentropy,
        metrics=[metrics.sparse_categorical_accuracy, "accuracy"],
        weighted_metrics=[metrics.sparse_categorical_accuracy],
    )
    logs = model.fit(x, y, verbose=0).history
    assert sorted(logs) == [
        "accuracy",
        "loss",
        "sparse_categorical_accuracy",
        "weighted_sparse_categorical_accuracy",
    ]
    assert logs["accuracy"] == logs["sparse_categorical_accuracy"]
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    assert loaded.metrics_names == model.metrics_names


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: metrics.BinaryAccuracy(threshold=10**400), "threshold must be a number"),
        (lambda: metrics.Precision(thresholds=10**400), r"must be in \[0, 1\]"),
        (lambda: metrics.Recall(thresholds=[-(10**400)]), r"must be in \[0, 1\]"),
    ],
)
def test_an_int_too_large_for_a_float_is_a_value_error(make, match):
    """Was float()'s OverflowError 'int too large to convert to float'."""
    with pytest.raises(ValueError, match=match):
        make()


def test_top_k_beyond_int64_counts_every_class():
    """k=2**70 was pybind11's bare 'Unable to cast' RuntimeError at compile;
    any k >= the number of classes scores 1.0, as Keras does."""
    import numpy as np

    from fastnn import layers, models

    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
    model.compile(
        "sgd",
        "sparse_categorical_crossentropy",
        metrics=[metrics.SparseTopKCategoricalAccuracy(k=2**70)],
    )
    x, y = np.ones((5, 4), np.float32), np.array([0, 1, 2, 0, 1])
    assert model.evaluate(x, y, verbose=0)[1] == 1.0


def test_the_engine_refuses_a_metric_k_beyond_int64():
    """Was pybind11's bare 'Unable to cast' RuntimeError (fastnn._core directly)."""
    from fastnn import _core

    net = _core.nn.Network(4, [{"type": "dense", "units": 3}])
    with pytest.raises(ValueError, match="metric k must be an integer that fits in 64 bits"):
        net.set_loss("mse", metrics=[{"kind": "top_k_categorical_accuracy", "k": 2**70}])
