"""Metrics the C++ engine computes alongside the loss (train_on_batch, fit,
evaluate), against NumPy float64 references, with and without sample weights
(as Keras 3: `metrics` count every sample once, `weighted_metrics` average
with the sample and class weights); compile()'s resolution of names, aliases,
classes and instances."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import initializers, layers, metrics, models, optimizers

N_IN, N_OUT = 11, 7


def make_model(
    loss="categorical_crossentropy",
    last="softmax",
    width=N_OUT,
    metric_list=None,
    weighted_list=None,
):
    model = models.Sequential(
        [
            layers.Input(shape=(N_IN,)),
            layers.Dense(13, activation="tanh", kernel_initializer=initializers.GlorotUniform(3)),
            layers.Dense(
                width,
                activation=last,
                kernel_initializer=initializers.GlorotUniform(4),
                bias_initializer=initializers.RandomUniform(-0.5, 0.5, seed=5),
            ),
        ]
    )
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.0),
        loss=loss,
        metrics=metric_list,
        weighted_metrics=weighted_list,
    )
    return model


def weighted_mean(values, sw):
    w = np.ones(len(values)) if sw is None else sw.astype(np.float64)
    return float(np.sum(w * values) / np.sum(w))


def in_top_k(pred, cls, k):
    """Keras's in_top_k (torch backend): the class's score >= the k-th largest."""
    kth = np.sort(pred, axis=1)[:, -k]
    return (pred[np.arange(len(pred)), cls] >= kth).astype(np.float64)


def reference(kind, pred, y, params):
    pred = pred.astype(np.float64)
    if kind == "sparse_categorical_accuracy":
        return (pred.argmax(1) == y).astype(np.float64)
    if kind == "categorical_accuracy":
        return (pred.argmax(1) == y.argmax(1)).astype(np.float64)
    if kind == "binary_accuracy":
        t = y.reshape(pred.shape)
        return ((pred > params.get("threshold", 0.5)) == t).mean(1)
    if kind == "top_k_categorical_accuracy":
        return in_top_k(pred, y.argmax(1), params.get("k", 5))
    if kind == "sparse_top_k_categorical_accuracy":
        return in_top_k(pred, y, params.get("k", 5))
    if kind == "mean_squared_error":
        return ((pred - y.reshape(pred.shape)) ** 2).mean(1)
    if kind == "mean_absolute_error":
        return np.abs(pred - y.reshape(pred.shape)).mean(1)
    raise AssertionError(kind)


def data_for(loss, rng, n, width):
    x = rng.standard_normal((n, N_IN)).astype(np.float32)
    if loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, width, n)
    elif loss == "categorical_crossentropy":
        y = np.eye(width, dtype=np.float32)[rng.integers(0, width, n)]
    elif loss == "binary_crossentropy":
        y = rng.integers(0, 2, (n, width)).astype(np.float32)
    else:
        y = rng.standard_normal((n, width)).astype(np.float32)
    return x, y


# (loss, last activation, output width, metric identifier, canonical kind, params)
CASES = [
    ("sparse_categorical_crossentropy", "softmax", 7, "sparse_categorical_accuracy", {}),
    ("categorical_crossentropy", "softmax", 7, "categorical_accuracy", {}),
    ("binary_crossentropy", "sigmoid", 5, "binary_accuracy", {}),
    (
        "binary_crossentropy",
        "sigmoid",
        5,
        metrics.BinaryAccuracy(threshold=0.3),
        {"threshold": 0.3},
    ),
    ("categorical_crossentropy", "softmax", 7, "top_k_categorical_accuracy", {}),
    ("categorical_crossentropy", "softmax", 7, metrics.TopKCategoricalAccuracy(k=2), {"k": 2}),
    ("categorical_crossentropy", "softmax", 7, metrics.TopKCategoricalAccuracy(k=1), {"k": 1}),
    ("sparse_categorical_crossentropy", "softmax", 7, "sparse_top_k_categorical_accuracy", {}),
    (
        "sparse_categorical_crossentropy",
        "softmax",
        7,
        metrics.SparseTopKCategoricalAccuracy(k=3),
        {"k": 3},
    ),
    ("mse", "linear", 6, "mse", {}),
    ("mse", "linear", 6, "mean_squared_error", {}),
    ("huber", "linear", 6, metrics.MeanSquaredError, {}),
    ("mae", "tanh", 6, "mae", {}),
    ("mse", "sigmoid", 6, metrics.MeanAbsoluteError(name="l1_error"), {}),
    ("mse", "linear", 1, "mse", {}),  # one output, targets (n,)
]


def _kind(identifier):
    return metrics.get(identifier).kind


@pytest.mark.parametrize("via", ["metrics", "weighted_metrics"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss,last,width,identifier,params", CASES)
def test_evaluate_and_train_on_batch_match_numpy(
    isa, rng, loss, last, width, identifier, params, weighted, via
):
    if via == "metrics":
        model = make_model(loss, last, width, [identifier])
    else:
        model = make_model(loss, last, width, weighted_list=[identifier])
    name = model.metrics_names[1]
    kind = model._metrics[0].kind
    assert kind == _kind(identifier)
    n = 61
    x, y = data_for(loss, rng, n, width)
    if width == 1:
        y = y[:, 0]
    sw = rng.uniform(0.1, 3.0, n).astype(np.float32) if weighted else None
    sw_metric = sw if via == "weighted_metrics" else None
    # evaluate: several batches, the last one smaller
    pred = model.predict(x, batch_size=8, verbose=0)
    expected = weighted_mean(reference(kind, pred, y, params), sw_metric)
    loss_value, value = model.evaluate(x, y, batch_size=8, sample_weight=sw, verbose=0)
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert model.evaluate(x, y, batch_size=8, sample_weight=sw, verbose=0, return_dict=True)[
        name
    ] == pytest.approx(expected, rel=1e-6, abs=1e-7)
    # train_on_batch (learning rate 0: the forward pass is the same)
    pred = model.predict(x, batch_size=n, verbose=0)
    expected = weighted_mean(reference(kind, pred, y, params), sw_metric)
    logs = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
    assert logs[name] == pytest.approx(expected, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("weights", [None, "sample", "class"])
def test_fit_logs_metrics_over_samples_and_weighted_metrics_with_the_weights(rng, weights):
    metric_list = [
        "acc",
        metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"),
        "sparse_top_k_categorical_accuracy",
    ]
    model = make_model(
        "sparse_categorical_crossentropy",
        "softmax",
        N_OUT,
        metric_list,
        weighted_list=[
            "acc",
            "sparse_top_k_categorical_accuracy",
            metrics.SparseTopKCategoricalAccuracy(k=3, name="top3"),
        ],
    )
    x, y = data_for("sparse_categorical_crossentropy", rng, 50, N_OUT)
    x_val, y_val = data_for("sparse_categorical_crossentropy", rng, 23, N_OUT)
    sw_val = rng.uniform(0.1, 3.0, 23).astype(np.float32)
    class_weight = {c: 0.5 + c for c in range(N_OUT)}
    sw = {
        None: None,
        "sample": rng.uniform(0.1, 3.0, 50).astype(np.float32),
        "class": np.array([class_weight[c] for c in y], np.float32),
    }[weights]
    pred = model.predict(x, verbose=0)
    pred_val = model.predict(x_val, verbose=0)
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=2,
        sample_weight=sw if weights == "sample" else None,
        class_weight=class_weight if weights == "class" else None,
        validation_data=(x_val, y_val, sw_val),
        verbose=0,
    )
    logged = ["acc", "top2", "sparse_top_k_categorical_accuracy"]
    logged += ["weighted_acc", "weighted_sparse_top_k_categorical_accuracy", "top3"]
    assert model.metrics_names == ["loss", *logged]
    assert sorted(history.history) == sorted(
        ["loss", "val_loss", *logged, *(f"val_{k}" for k in logged)]
    )
    top_k = "sparse_top_k_categorical_accuracy"
    for key, kind, params, weighted in [
        ("acc", "sparse_categorical_accuracy", {}, False),
        ("top2", top_k, {"k": 2}, False),
        (top_k, top_k, {}, False),
        ("weighted_acc", "sparse_categorical_accuracy", {}, True),
        (f"weighted_{top_k}", top_k, {}, True),
        ("top3", top_k, {"k": 3}, True),
    ]:
        expected = weighted_mean(reference(kind, pred, y, params), sw if weighted else None)
        assert history.history[key] == pytest.approx([expected, expected], rel=1e-6), key
        expected = weighted_mean(
            reference(kind, pred_val, y_val, params), sw_val if weighted else None
        )
        assert history.history[f"val_{key}"] == pytest.approx([expected, expected], rel=1e-6)


def test_weighted_metrics_round_trip_through_the_compile_config(tmp_path, rng):
    model = make_model(
        "sparse_categorical_crossentropy", "softmax", N_OUT, ["acc"], weighted_list=["acc"]
    )
    config = model.get_compile_config()
    assert config["metrics"] == ["acc"] and config["weighted_metrics"] == ["acc"]
    x, y = data_for("sparse_categorical_crossentropy", rng, 9, N_OUT)
    sw = rng.uniform(0.1, 3.0, 9).astype(np.float32)
    before = model.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    assert loaded.metrics_names == ["loss", "acc", "weighted_acc"]
    assert loaded.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True) == before
    assert before["acc"] != before["weighted_acc"]


def test_top_k_counts_ties_as_keras_in_top_k():
    """Every row scores [1, 2, 2, 0, 2]: class 1 is in the top 1 (tied first),
    class 0 only from k = 4 on, class 3 from k = 5 on."""
    model = models.Sequential(
        [
            layers.Input(shape=(2,)),
            layers.Dense(5),
        ]
    )
    model.set_weights([np.zeros((2, 5)), np.array([1.0, 2.0, 2.0, 0.0, 2.0])])
    x = np.ones((3, 2), np.float32)
    y = np.array([1, 0, 3])
    for k, expected in [(1, 1 / 3), (3, 1 / 3), (4, 2 / 3), (5, 1.0), (9, 1.0)]:
        model.compile(
            "sgd",
            "sparse_categorical_crossentropy",
            metrics=[metrics.SparseTopKCategoricalAccuracy(k=k)],
        )
        assert model.evaluate(x, y, verbose=0)[1] == pytest.approx(expected)
        onehot = np.eye(5, dtype=np.float32)[y]
        model.compile("sgd", "mse", metrics=[metrics.TopKCategoricalAccuracy(k=k)])
        assert model.evaluate(x, onehot, verbose=0)[1] == pytest.approx(expected)


@pytest.mark.parametrize(
    "loss,width,expected",
    [
        ("sparse_categorical_crossentropy", 7, "sparse_categorical_accuracy"),
        ("categorical_crossentropy", 7, "categorical_accuracy"),
        ("binary_crossentropy", 1, "binary_accuracy"),
        ("mse", 1, "binary_accuracy"),
        ("binary_crossentropy", 4, "categorical_accuracy"),  # Keras: last dim > 1
        ("mse", 3, "categorical_accuracy"),
    ],
)
@pytest.mark.parametrize("alias", ["accuracy", "acc", "Accuracy"])
def test_accuracy_resolves_like_keras_and_keeps_the_users_name(loss, width, expected, alias):
    activation = "sigmoid" if "binary" in loss or width == 1 else "softmax"  # (softmax on 1 warns)
    model = make_model(loss, activation, width, [alias])
    assert model.metrics_names == ["loss", alias]
    assert model._metrics[0].kind == expected


def test_names_aliases_classes_instances_and_duplicates(rng):
    model = make_model(
        "mse",
        "linear",
        4,
        ["mse", "mae", metrics.MeanSquaredError, "MeanAbsoluteError", "mse", "accuracy"],
    )
    assert model.metrics_names == [
        "loss",
        "mse",
        "mae",
        "mean_squared_error",
        "MeanAbsoluteError",
        "mse_1",
        "accuracy",
    ]
    x, y = data_for("mse", rng, 20, 4)
    values = model.evaluate(x, y, verbose=0)
    assert values[1] == values[3] == values[5] == pytest.approx(values[0], rel=1e-6)  # mse loss
    assert values[2] == values[4]


def test_compile_before_the_width_is_known():
    # no input shape: the width comes from the last Dense layer
    model = models.Sequential([layers.Dense(8, activation="relu"), layers.Dense(3)])
    model.compile("sgd", "categorical_crossentropy", metrics=["acc", "top_k_categorical_accuracy"])
    assert model.metrics_names == ["loss", "acc", "top_k_categorical_accuracy"]
    assert [m.kind for m in model._metrics] == [
        "categorical_accuracy",
        "top_k_categorical_accuracy",
    ]
    with pytest.raises(ValueError, match="needs integer labels"):
        model.compile("sgd", "mse", metrics=["sparse_categorical_accuracy"])
    # no layers at all: names now, kinds when the model is built
    empty = models.Sequential()
    empty.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy", "accuracy"])
    assert empty.metrics_names == ["loss", "accuracy", "accuracy_1"]
    with pytest.raises(ValueError, match="Could not interpret metric"):
        empty.compile("sgd", "mse", metrics=["bogus"])
    empty.add(layers.Input(shape=(4,)))
    empty.add(layers.Dense(3, activation="softmax"))
    assert [m.kind for m in empty._metrics] == ["sparse_categorical_accuracy"] * 2
    x = np.eye(4, dtype=np.float32)[:3]
    y = np.array([0, 1, 2])
    logs = empty.evaluate(x, y, verbose=0, return_dict=True)
    pred = empty.predict(x, verbose=0)
    assert logs["accuracy"] == logs["accuracy_1"] == pytest.approx(np.mean(pred.argmax(1) == y))


@pytest.mark.parametrize(
    "metric,match",
    [
        ("bogus", "Could not interpret metric identifier: 'bogus'"),
        ("mean_iou", "fastnn does not compute the metric 'mean_iou'"),
        (3, "Could not interpret metric identifier: 3"),
        ({"out": "accuracy"}, r"Expected keys \[.*\] in metrics dict"),
        ("categorical_accuracy", "needs labels shaped like the predictions"),
        ("mse", "needs labels shaped like the predictions"),
        (metrics.TopKCategoricalAccuracy(k=2), "needs labels shaped like the predictions"),
    ],
)
def test_bad_metrics_raise_and_change_nothing(metric, match):
    model = make_model("sparse_categorical_crossentropy", "softmax", N_OUT, ["accuracy"])
    with pytest.raises(ValueError, match=match):
        model.compile(
            "adam",
            "sparse_categorical_crossentropy",
            metrics=metric if isinstance(metric, dict) else [metric],
        )
    assert model.metrics_names == ["loss", "accuracy"]
    assert isinstance(model.optimizer, optimizers.SGD)


def test_engine_set_loss_validates_metric_descriptions():
    net = make_model("categorical_crossentropy", "softmax", N_OUT)._net
    net.set_loss("categorical_crossentropy", metrics=[{"kind": "top_k_categorical_accuracy"}])
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        net.set_loss("cce", metrics=[{"kind": "top_k_categorical_accuracy", "k": 0}])
    with pytest.raises(ValueError, match="unknown metric parameter 'kk'"):
        net.set_loss("cce", metrics=[{"kind": "top_k_categorical_accuracy", "kk": 2}])
    with pytest.raises(ValueError, match="Unknown metric 'acc'; expected one of"):
        net.set_loss("cce", metrics=["acc"])
    with pytest.raises(ValueError, match="threshold must not be NaN"):
        net.set_loss("cce", metrics=[{"kind": "binary_accuracy", "threshold": float("nan")}])
    with pytest.raises(TypeError, match="a metric must be a name or a dict"):
        net.set_loss("cce", metrics=[3])
    with pytest.raises(ValueError, match="sparse_top_k_categorical_accuracy needs integer"):
        net.set_loss("cce", metrics=["sparse_top_k_categorical_accuracy"])
    with pytest.raises(ValueError, match="mean_squared_error needs one-hot or binary targets"):
        net.set_loss("scce", metrics=["mean_squared_error"])


@pytest.mark.parametrize(
    "plain,weighted,names",
    [
        (
            ["accuracy"],
            ["accuracy", "accuracy"],
            ["accuracy", "weighted_accuracy", "weighted_accuracy_1"],
        ),
        ([], ["accuracy", "accuracy"], ["accuracy", "weighted_accuracy"]),
        (
            ["acc"],
            ["sparse_top_k_categorical_accuracy"],
            ["acc", "sparse_top_k_categorical_accuracy"],
        ),
        (None, None, []),
    ],
)
def test_weighted_metric_names_follow_keras(plain, weighted, names):
    """Keras 3's CompileMetrics.result(): a weighted metric keeps its name
    unless an earlier metric has it, then weighted_<name>, then _1, _2 ..."""
    model = make_model("sparse_categorical_crossentropy", "softmax", N_OUT, plain, weighted)
    assert model.metrics_names == ["loss", *names]
    # before the width is known too
    empty = models.Sequential()
    empty.compile(
        "sgd", "sparse_categorical_crossentropy", metrics=plain, weighted_metrics=weighted
    )
    assert empty.metrics_names == ["loss", *names]


def confusion(pred, y, threshold, sw=None):
    """Keras's confusion counts (metrics_utils): label = y != 0, predicted =
    pred > threshold, over every element, each row weighted by sw."""
    w = np.ones(len(pred)) if sw is None else sw.astype(np.float64)
    label, predicted = y.reshape(pred.shape) != 0, pred > threshold
    count = lambda m: float((w[:, None] * m).sum())  # noqa: E731
    return {
        "tp": count(label & predicted),
        "fp": count(~label & predicted),
        "tn": count(~label & ~predicted),
        "fn": count(label & ~predicted),
    }


@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("threshold", [None, 0.3, 0.5])
def test_precision_recall_and_confusion_counts_match_keras_formulas(rng, width, threshold):
    kwargs = {} if threshold is None else {"thresholds": threshold}
    t = 0.5 if threshold is None else threshold
    plain = [
        metrics.Precision(**kwargs),
        metrics.Recall(**kwargs),
        metrics.TruePositives(**kwargs),
        metrics.FalsePositives(**kwargs),
        metrics.TrueNegatives(**kwargs),
        metrics.FalseNegatives(**kwargs),
    ]
    weighted = [metrics.Precision(name="wp", **kwargs), metrics.TrueNegatives(name="wtn", **kwargs)]
    model = make_model("binary_crossentropy", "sigmoid", width, plain, weighted)
    x, y = data_for("binary_crossentropy", rng, 45, width)
    if width == 1:
        y = y[:, 0]
    sw = rng.uniform(0.1, 3.0, 45).astype(np.float32)
    pred = model.predict(x, verbose=0).astype(np.float64)
    c, cw = confusion(pred, y, t), confusion(pred, y, t, sw)
    logs = model.evaluate(x, y, batch_size=8, sample_weight=sw, verbose=0, return_dict=True)
    expected = {
        "precision": c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0,
        "recall": c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0,
        "true_positives": c["tp"],
        "false_positives": c["fp"],
        "true_negatives": c["tn"],
        "false_negatives": c["fn"],
        "wp": cw["tp"] / (cw["tp"] + cw["fp"]) if cw["tp"] + cw["fp"] else 0.0,
        "wtn": cw["tn"],
    }
    for key, value in expected.items():
        assert logs[key] == pytest.approx(value, rel=1e-6, abs=1e-6), key
    assert c["tp"] + c["fp"] + c["tn"] + c["fn"] == 45 * width


@pytest.mark.parametrize("width", [1, 3])
def test_confusion_counts_at_many_thresholds_in_one_pass_equal_each_alone(rng, width):
    """Consecutive counts of one kind at nondecreasing thresholds (an AUC's
    200) are computed in one bucketed pass: each must equal the count at its
    threshold alone, with ties at the thresholds, repeated and unsorted
    thresholds (a new run starts) and sample weights."""
    thresholds = [0.0, 0.25, 0.5, 0.5, 0.75, 1.0, 0.25, 0.75]  # ..., 1.0 | 0.25, 0.75
    kinds = {
        "tp": metrics.TruePositives,
        "fp": metrics.FalsePositives,
        "tn": metrics.TrueNegatives,
        "fn": metrics.FalseNegatives,
    }

    def listed(prefix):
        return [
            cls(thresholds=t, name=f"{prefix}{key}_{i}")
            for key, cls in kinds.items()
            for i, t in enumerate(thresholds)
        ]

    model = models.Sequential([layers.Input(shape=(width,)), layers.Dense(width)])
    model.set_weights([np.eye(width, dtype=np.float32), np.zeros(width, np.float32)])
    model.compile("sgd", "mse", metrics=listed(""), weighted_metrics=listed("w"))
    x = rng.choice(np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.6, -0.5, 1.5], np.float32),
                   size=(61, width))  # fmt: skip
    y = (rng.random((61, width)) < 0.5).astype(np.float32)
    sw = rng.uniform(0.0, 2.0, 61).astype(np.float32)
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    for i, t in enumerate(thresholds):
        plain, weighted = confusion(x, y, t), confusion(x, y, t, sw)
        for key in kinds:
            assert logs[f"{key}_{i}"] == plain[key], (key, t)
            assert logs[f"w{key}_{i}"] == pytest.approx(weighted[key], rel=1e-6), (key, t)


def test_precision_recall_by_name_and_their_limits():
    model = make_model("binary_crossentropy", "sigmoid", 1, ["precision", "recall"])
    assert model.metrics_names == ["loss", "precision", "recall"]
    assert [m.direction for m in model._metrics] == ["up", "up"]
    assert metrics.FalsePositives().direction == "down"
    # no predicted or labelled positives: 0, as Keras's divide_no_nan
    x = np.zeros((3, N_IN), np.float32)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])  # predicts 0.5: not above
    logs = model.evaluate(x, np.zeros(3), verbose=0, return_dict=True)
    assert logs["precision"] == 0.0 and logs["recall"] == 0.0
    # several thresholds: counted in Python (tests/test_metric_options.py)
    assert metrics.is_host_metric(metrics.Precision(thresholds=[0.3, 0.6]))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        metrics.Recall(thresholds=1.5)
    with pytest.raises(ValueError, match="top_k"):
        metrics.Precision(top_k=0)
    with pytest.raises(ValueError, match="needs labels shaped like the predictions"):
        make_model("sparse_categorical_crossentropy", "softmax", N_OUT, ["precision"])
    config = metrics.Precision(thresholds=0.3, name="p").get_config()
    assert metrics.deserialize(metrics.serialize(metrics.Precision(thresholds=0.3, name="p"))) == (
        metrics.Precision(thresholds=0.3, name="p")
    )
    assert config["thresholds"] == 0.3


@pytest.mark.parametrize("weighted", [False, True])
def test_root_mean_squared_error_is_keras_formula(rng, weighted):
    # keras/src/metrics/regression_metrics.py: a Mean of (y_pred - y_true)**2,
    # each sample's mean over its outputs weighted by its sample weight, then
    # the square root of total / count.
    x = rng.standard_normal((37, N_IN)).astype(np.float32)
    y = rng.standard_normal((37, N_OUT)).astype(np.float32)
    sw = rng.uniform(0.0, 2.0, 37) if weighted else None
    listed = {"weighted_list" if weighted else "metric_list": ["root_mean_squared_error"]}
    model = make_model(loss="mse", last="linear", **listed)
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0, return_dict=True)
    per_sample = np.mean((model.predict(x, verbose=0).astype(np.float64) - y) ** 2, axis=1)
    expected = np.sqrt(weighted_mean(per_sample, sw if weighted else None))
    name = "root_mean_squared_error"
    assert logs[name] == pytest.approx(expected, rel=1e-5)
    assert metrics.get("RootMeanSquaredError").direction == "down"
    assert metrics.get(name).get_config() == {"name": name, "dtype": "float32"}


def predictions_model(predictions, metric_list, weighted_list=None):
    """A model whose outputs are its inputs (Dense 1x1 identity), to score
    given predictions with compiled metrics."""
    model = models.Sequential([layers.Input(shape=(1,)), layers.Dense(1)])
    model.set_weights([np.ones((1, 1), np.float32), np.zeros(1, np.float32)])
    model.compile("sgd", "mse", metrics=metric_list, weighted_metrics=weighted_list)
    return model, np.asarray(predictions, np.float32).reshape(-1, 1)


@pytest.mark.parametrize(
    "kwargs, expected",
    [  # Keras 3.15's results for labels [0, 0, 1, 1, 1, 0], predictions below
        ({}, 0.7777777910232544),
        ({"curve": "PR"}, 0.8007864952087402),
        ({"summation_method": "minoring"}, 0.6666666865348816),
        ({"curve": "PR", "summation_method": "majoring"}, 0.888888955116272),
        ({"thresholds": [0.25, 0.6]}, 0.7222222089767456),
    ],
)
def test_auc_matches_keras(kwargs, expected):
    model, x = predictions_model(
        [0.1, 0.5, 0.3, 0.9, 0.7, 0.65], [metrics.AUC(num_thresholds=5, **kwargs)]
    )
    y = np.array([0, 0, 1, 1, 1, 0], np.float32)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["auc"] == pytest.approx(
        expected, abs=1e-6
    )


def test_auc_takes_a_numpy_integer_count_of_thresholds():
    # Keras 3.15 accepts np.int64(50); fastnn refused it
    assert metrics.AUC(num_thresholds=np.int64(50)).num_thresholds == 50
    assert isinstance(metrics.AUC(num_thresholds=np.int32(7)).get_config()["num_thresholds"], int)
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=np.float64(50))


def test_auc_keras_docstring_logits_and_weights():
    # Keras's docstring: thresholds [-1e-7, 0.5, 1 + 1e-7] -> 0.75
    model, x = predictions_model([0, 0.5, 0.3, 0.9], [metrics.AUC(num_thresholds=3)])
    assert model.evaluate(x, np.array([0, 0, 1, 1.0]), verbose=0, return_dict=True)["auc"] == 0.75
    # from_logits thresholds the sigmoid (Keras 3.15: 0.6666666269302368)
    logits = [-2.0, 0.2, -0.5, 2.0, 1.0, 0.6]
    model, x = predictions_model(logits, [metrics.AUC(num_thresholds=5, from_logits=True)])
    labels = np.array([0, 0, 1, 1, 1, 0], np.float32)
    assert model.evaluate(x, labels, verbose=0, return_dict=True)["auc"] == pytest.approx(
        2 / 3, abs=1e-6
    )
    # weighted: a zero weight removes a sample, as if it were absent
    model, x = predictions_model(
        [0.1, 0.5, 0.3, 0.9], ["accuracy"], [metrics.AUC(num_thresholds=3)]
    )
    weighted = model.evaluate(x, labels[:4], sample_weight=np.array([1, 0, 1, 1]), verbose=0,
                              return_dict=True)["auc"]  # fmt: skip
    dropped, x3 = predictions_model([0.1, 0.3, 0.9], ["accuracy"], [metrics.AUC(num_thresholds=3)])
    assert weighted == dropped.evaluate(x3, labels[[0, 2, 3]], verbose=0, return_dict=True)["auc"]
    assert (
        metrics.get("auc").direction == "up"
        and metrics.get("AUC").get_config()["num_thresholds"] == 200
    )
    assert metrics.is_host_metric(metrics.AUC(multi_label=True))  # counted in Python


# -- the cross-entropy metrics (keras/src/metrics/probabilistic_metrics.py) -------------


def crossentropy_per_sample(kind, pred, y, from_logits=False, label_smoothing=0.0):
    """Keras's per-sample cross-entropies in float64 (probabilities clipped to
    [1e-7, 1 - 1e-7] (the upper bound in float32, 0.99999988), categorical ones renormalised)."""
    pred = pred.astype(np.float64)
    if kind == "binary_crossentropy":
        t = y.reshape(pred.shape) * (1 - label_smoothing) + 0.5 * label_smoothing
        if from_logits:
            per = np.maximum(pred, 0) - pred * t + np.log1p(np.exp(-np.abs(pred)))
        else:
            p = np.clip(pred, 1e-7, np.float32(1 - 1e-7))
            per = -(t * np.log(p) + (1 - t) * np.log(1 - p))
        return per.mean(axis=1)
    classes = pred.shape[1]
    t = np.eye(classes)[y] if kind == "sparse_categorical_crossentropy" else y
    t = t * (1 - label_smoothing) + label_smoothing / classes
    if from_logits:
        z = pred - pred.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    else:
        p = pred / pred.sum(axis=1, keepdims=True)
        log_p = np.log(np.clip(p, 1e-7, np.float32(1 - 1e-7)))
    return -(t * log_p).sum(axis=1)


@pytest.mark.parametrize(
    "loss, last, width, metric, from_logits, label_smoothing",
    [
        ("binary_crossentropy", "sigmoid", 1, "BinaryCrossentropy", False, 0.0),
        ("binary_crossentropy", "sigmoid", 3, "BinaryCrossentropy", False, 0.2),
        ("mse", "linear", 3, "BinaryCrossentropy", True, 0.0),
        ("categorical_crossentropy", "softmax", N_OUT, "CategoricalCrossentropy", False, 0.1),
        ("categorical_crossentropy", "softmax", N_OUT, "BinaryCrossentropy", False, 0.0),
        ("mse", "linear", N_OUT, "CategoricalCrossentropy", True, 0.0),
        ("sparse_categorical_crossentropy", "softmax", N_OUT, "SparseCategoricalCrossentropy",
         False, 0.0),
    ],
)  # fmt: skip
def test_crossentropy_metrics_are_keras_means_of_the_loss(
    rng, loss, last, width, metric, from_logits, label_smoothing
):
    kwargs = {"from_logits": from_logits}
    if label_smoothing:
        kwargs["label_smoothing"] = label_smoothing
    cls = getattr(metrics, metric)
    plain, weighted = cls(**kwargs), cls(name="weighted", **kwargs)
    model = make_model(loss, last, width, [plain], [weighted])
    x, y = data_for(loss if loss != "mse" else metric_loss_name(metric), rng, 45, width)
    if width == 1:
        y = y[:, 0]
    sw = rng.uniform(0.1, 3.0, 45).astype(np.float32)
    logs = model.evaluate(x, y, batch_size=8, sample_weight=sw, verbose=0, return_dict=True)
    per = crossentropy_per_sample(
        plain.kind, model.predict(x, verbose=0), y, from_logits, label_smoothing
    )
    assert logs[plain.name] == pytest.approx(per.mean(), rel=2e-6)
    assert logs["weighted"] == pytest.approx(weighted_mean(per, sw), rel=2e-6)


def metric_loss_name(metric):
    return {
        "BinaryCrossentropy": "binary_crossentropy",
        "CategoricalCrossentropy": "categorical_crossentropy",
        "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    }[metric]


def test_crossentropy_metric_of_a_saturated_output_equals_the_loss(rng):
    """On a sigmoid output the loss is computed from the logits; the matching
    metric is too (Keras's TensorFlow backend does both), so an unweighted,
    unregularized model logs metric == loss even where the probabilities
    saturate (the clipped probability form would cap it at -log(1e-7))."""
    model = make_model("binary_crossentropy", "sigmoid", 2, ["binary_crossentropy"])
    model.set_weights([w * 40 for w in model.get_weights()])
    x, y = data_for("binary_crossentropy", rng, 64, 2)
    logs = model.evaluate(x * 10, 1 - y, verbose=0, return_dict=True)
    assert logs["loss"] > -np.log(1e-7)  # saturated: beyond the clipped form's cap
    assert logs["binary_crossentropy"] == pytest.approx(logs["loss"], rel=1e-6)


def test_crossentropy_metrics_by_name_function_and_their_errors():
    for name in ("binary_crossentropy", "BinaryCrossentropy"):
        assert type(metrics.get(name)) is metrics.BinaryCrossentropy
    assert metrics.get(metrics.categorical_crossentropy).name == "categorical_crossentropy"
    assert metrics.get("sparse_categorical_crossentropy").direction == "down"
    config = metrics.CategoricalCrossentropy(label_smoothing=0.1, from_logits=True).get_config()
    assert config == {
        "name": "categorical_crossentropy",
        "dtype": "float32",
        "from_logits": True,
        "label_smoothing": 0.1,
        "axis": -1,
    }
    assert metrics.deserialize(metrics.serialize(metrics.BinaryCrossentropy(name="b"))) == (
        metrics.BinaryCrossentropy(name="b")
    )
    with pytest.raises(ValueError, match=r"label_smoothing must be a float in \[0, 1\]"):
        metrics.BinaryCrossentropy(label_smoothing=2)
    with pytest.raises(ValueError, match=r"outputs. axis, -1 \(or 1\); got axis=0"):
        metrics.CategoricalCrossentropy(axis=0)
    with pytest.raises(ValueError, match="needs integer labels"):
        make_model(
            "categorical_crossentropy", "softmax", N_OUT, ["sparse_categorical_crossentropy"]
        )
