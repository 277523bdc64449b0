"""R2Score, FBetaScore / F1Score and CosineSimilarity (metric and loss), as
Keras 3.15 defines them (keras/src/metrics/regression_metrics.py,
f_score_metrics.py, keras/src/losses/losses.py): the engine's per-batch sums
over several batches (a partial last one included) against float64 NumPy
transcriptions of Keras's formulas and against Keras's own metric objects fed
the same batches; fit, evaluate, sample weights, configs, save/load, threads,
and Keras's errors."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import layers, losses, metrics, models, optimizers

EPS = 1e-7  # keras.config.epsilon()
BATCH = 16
N = 45  # batches of 16, 16 and 13


# -- float64 NumPy transcriptions of Keras's formulas ----------------------------------


def r2_ref(y, p, sw=None, class_aggregation="uniform_average", num_regressors=0):
    y, p = np.asarray(y, np.float64), np.asarray(p, np.float64)
    w = np.ones((y.shape[0], 1)) if sw is None else np.asarray(sw, np.float64)[:, None]
    w = np.broadcast_to(w, y.shape)
    total_sum, squared_sum = (w * y).sum(0), (w * y * y).sum(0)
    residual, count = (w * (y - p) ** 2).sum(0), w.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = squared_sum - total_sum * (total_sum / count)
        raw = 1.0 - residual / total
    raw = np.where(np.isinf(raw), 0.0, raw)
    if class_aggregation == "uniform_average":
        score = raw.mean()
    elif class_aggregation == "variance_weighted_average":
        score = (total * raw).sum() / total.sum()
    else:
        score = raw
    n = y.size
    if num_regressors and num_regressors < n - 1:
        score = 1.0 - (1.0 - score) * (n - 1.0) / (n - num_regressors - 1.0)
    return score


def fbeta_ref(y, p, sw=None, average=None, beta=1.0, threshold=None):
    y, p = np.asarray(y, np.float64), np.asarray(p, np.float32)
    if threshold is None:
        on = (p >= p.max(-1, keepdims=True)) & (np.abs(p) > np.float32(1e-9))
    else:
        on = p > np.float32(threshold)
    on = on.astype(np.float64)
    w = np.ones((y.shape[0], 1)) if sw is None else np.asarray(sw, np.float64)[:, None]
    axis = None if average == "micro" else 0
    tp = (w * on * y).sum(axis)
    fp = (w * on * (1 - y)).sum(axis)
    fn = (w * (1 - on) * y).sum(axis)
    support = (w * y).sum(axis)
    precision = tp / (tp + fp + EPS)
    recall = tp / (tp + fn + EPS)
    score = precision * recall / (beta**2 * precision + recall + EPS) * (1 + beta**2)
    if average == "weighted":
        return float((score * support / (support.sum() + EPS)).sum())
    return score if average is None else float(np.mean(score))


def cosine_ref(y, p):
    """Keras's cosine_similarity per sample (the loss is its negation)."""

    def normalize(x):
        with np.errstate(divide="ignore"):
            inv = 1.0 / np.sqrt((x * x).sum(-1, keepdims=True))
        return x * np.minimum(inv, 1.0 / EPS)

    y, p = np.asarray(y, np.float64), np.asarray(p, np.float64)
    return (normalize(y) * normalize(p)).sum(-1)


# -- models whose predictions are known ------------------------------------------------


def _model(rng, d, c, activation=None, loss="mse", metric_list=None, weighted=None, lr=0.0):
    model = models.Sequential([layers.Input((d,)), layers.Dense(c, activation=activation)])
    model.compile(
        optimizers.SGD(learning_rate=lr), loss, metrics=metric_list, weighted_metrics=weighted
    )
    kernel = rng.normal(0.0, 1.0, (d, c)).astype(np.float32)
    bias = rng.normal(0.0, 0.3, c).astype(np.float32)
    model.set_weights([kernel, bias])
    return model


def _regression(rng, c=3, d=5):
    x = rng.normal(size=(N, d)).astype(np.float32)
    y = (x[:, :c] * 0.7 + rng.normal(0.0, 0.5, (N, c))).astype(np.float32)
    return x, y


def _classification(rng, c=4, d=5, multilabel=False):
    x = rng.normal(size=(N, d)).astype(np.float32)
    if multilabel:
        y = (rng.uniform(size=(N, c)) < 0.4).astype(np.float32)
    else:
        y = np.eye(c, dtype=np.float32)[rng.integers(0, c, N)]
    return x, y


def _weights(rng):
    return rng.uniform(0.2, 2.0, N).astype(np.float32)


def _batches(*arrays):
    for start in range(0, N, BATCH):
        yield tuple(None if a is None else a[start : start + BATCH] for a in arrays)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _keras_result(keras_metric, y, p, sw=None):
    """Keras's metric object fed the same batches (a float, or an array per output)."""
    for yb, pb, wb in _batches(y, p, sw):
        keras_metric.update_state(yb, pb, sample_weight=wb)
    result = keras_metric.result().detach().cpu().numpy().astype(np.float64)
    return float(result) if result.ndim == 0 else result


# -- R2Score ---------------------------------------------------------------------------

R2_CASES = [
    {},
    {"class_aggregation": None},
    {"class_aggregation": None, "num_regressors": 3},
    {"class_aggregation": "variance_weighted_average"},
    {"num_regressors": 4},
    {"class_aggregation": "variance_weighted_average", "num_regressors": 2},
]


@pytest.mark.parametrize("kwargs", R2_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_r2_score_over_batches_is_keras_formula(rng, kwargs, weighted):
    x, y = _regression(rng)
    sw = _weights(rng) if weighted else None
    metric = metrics.R2Score(**kwargs)
    model = _model(rng, 5, 3, metric_list=None if weighted else [metric],
                   weighted=[metric] if weighted else None)  # fmt: skip
    p = model.predict(x, batch_size=BATCH, verbose=0)
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    expected = r2_ref(y, p, sw, **kwargs)
    assert logs["r2_score"] == pytest.approx(expected, rel=1e-6, abs=1e-6)
    # fit with a learning rate of 0: every epoch's History value is the epoch's R2
    history = model.fit(x, y, sample_weight=sw, batch_size=BATCH, epochs=2, shuffle=False,
                        verbose=0).history  # fmt: skip
    np.testing.assert_allclose(history["r2_score"], [expected] * 2, rtol=1e-6, atol=1e-6)


def test_r2_score_is_not_a_mean_of_batch_scores(rng):
    x, y = _regression(rng)
    model = _model(rng, 5, 3, metric_list=["r2_score"])
    p = model.predict(x, verbose=0)
    per_batch = np.mean([r2_ref(yb, pb) for yb, pb in _batches(y, p)])
    got = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)["r2_score"]
    assert got == pytest.approx(r2_ref(y, p), rel=1e-6)
    assert abs(got - per_batch) > 1e-3


@pytest.mark.parametrize("kwargs", R2_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_r2_score_matches_keras(rng, kwargs, weighted):
    keras = _keras()
    x, y = _regression(rng)
    sw = _weights(rng) if weighted else None
    model = _model(rng, 5, 3, weighted=[metrics.R2Score(**kwargs)])
    p = model.predict(x, batch_size=BATCH, verbose=0)
    got = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    theirs = _keras_result(keras.metrics.R2Score(**kwargs), y, p, sw)
    assert got["r2_score"] == pytest.approx(theirs, rel=1e-6, abs=1e-6)
    assert r2_ref(y, p, sw, **kwargs) == pytest.approx(theirs, rel=1e-6, abs=1e-6)


def test_r2_score_constant_target_and_one_output(rng):
    # a constant output's sum of squares is 0: Keras's inf becomes 0 (NaN stays)
    x = rng.normal(size=(N, 2)).astype(np.float32)
    y = np.stack([np.full(N, 2.0), rng.normal(size=N)], 1).astype(np.float32)
    model = _model(rng, 2, 2, metric_list=["r2_score"])
    p = model.predict(x, verbose=0)
    got = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)["r2_score"]
    assert got == pytest.approx(r2_ref(y, p), rel=1e-6)
    one = _model(rng, 2, 1, metric_list=[metrics.R2Score()])  # labels (n,) as Keras expands
    p1 = one.predict(x, verbose=0)
    got1 = one.evaluate(x, y[:, 1], batch_size=BATCH, verbose=0, return_dict=True)["r2_score"]
    assert got1 == pytest.approx(r2_ref(y[:, 1:], p1), rel=1e-6)


def test_r2_adjusted_falls_back_with_keras_warning(rng):
    x, y = _regression(rng, c=1)
    model = _model(rng, 5, 1, metric_list=[metrics.R2Score(num_regressors=N)])
    p = model.predict(x, verbose=0)
    with pytest.warns(UserWarning, match="More independent predictors than datapoints"):
        got = model.evaluate(x, y, verbose=0, return_dict=True)["r2_score"]
    assert got == pytest.approx(r2_ref(y, p), rel=1e-6)
    model = _model(rng, 5, 1, metric_list=[metrics.R2Score(num_regressors=N - 1)])
    with pytest.warns(UserWarning, match="Division by zero in Adjusted R2 score"):
        model.evaluate(x, y, verbose=0)


# -- FBetaScore / F1Score --------------------------------------------------------------

F_CASES = [
    (metrics.F1Score, {}),
    (metrics.FBetaScore, {"beta": 2.0, "threshold": 0.5}),
    (metrics.F1Score, {"average": "macro"}),
    (metrics.F1Score, {"average": "micro"}),
    (metrics.F1Score, {"average": "weighted"}),
    (metrics.F1Score, {"average": "macro", "threshold": 0.3}),
    (metrics.FBetaScore, {"average": "macro", "beta": 2.0}),
    (metrics.FBetaScore, {"average": "weighted", "beta": 0.5, "threshold": 0.5}),
    (metrics.FBetaScore, {"average": "micro", "beta": 3.0, "threshold": 0.25}),
]


@pytest.mark.parametrize("cls, kwargs", F_CASES)
@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_fbeta_over_batches_is_keras_formula_and_keras(rng, cls, kwargs, multilabel, weighted):
    x, y = _classification(rng, multilabel=multilabel)
    sw = _weights(rng) if weighted else None
    activation, loss = ("sigmoid", "binary_crossentropy") if multilabel else ("softmax", "cce")
    metric = cls(**kwargs)
    model = _model(rng, 5, 4, activation, loss, metric_list=None if weighted else [metric],
                   weighted=[metric] if weighted else None)  # fmt: skip
    p = model.predict(x, batch_size=BATCH, verbose=0)
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    ref_kwargs = {"beta": 1.0, **kwargs}
    expected = fbeta_ref(y, p, sw, **ref_kwargs)
    assert logs[metric.name] == pytest.approx(expected, rel=1e-6, abs=1e-7)
    history = model.fit(x, y, sample_weight=sw, batch_size=BATCH, epochs=2, shuffle=False,
                        verbose=0).history  # fmt: skip
    np.testing.assert_allclose(history[metric.name], [expected] * 2, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("cls, kwargs", F_CASES)
@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_fbeta_matches_keras(rng, cls, kwargs, multilabel, weighted):
    keras = _keras()
    x, y = _classification(rng, multilabel=multilabel)
    sw = _weights(rng) if weighted else None
    activation = "sigmoid" if multilabel else "softmax"
    model = _model(rng, 5, 4, activation, "mse", weighted=[cls(**kwargs)])
    p = model.predict(x, batch_size=BATCH, verbose=0)
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    theirs = _keras_result(getattr(keras.metrics, cls.__name__)(**kwargs), y, p, sw)
    assert logs[cls(**kwargs).name] == pytest.approx(theirs, rel=1e-6, abs=1e-6)


def test_f1_without_threshold_takes_every_row_maximum_but_not_zeros():
    # Keras: y_pred >= max(y_pred) and |y_pred| > 1e-9 (ties: every maximum)
    p = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -3.0], [0.1, 0.7, 0.2]])
    y = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 0, 1]], np.float32)
    model = models.Sequential([layers.Input((3,)), layers.Dense(3)])
    model.compile("sgd", "mse", metrics=[metrics.F1Score(average="micro")])
    model.set_weights([np.eye(3, dtype=np.float32), np.zeros(3, np.float32)])
    got = model.evaluate(p.astype(np.float32), y, verbose=0, return_dict=True)["f1_score"]
    # positives: (0,0) tp, (0,1) fp, (2,0) tp, (3,1) fp; row 1 none: tp 2, fp 2, fn 2
    assert got == pytest.approx(fbeta_ref(y, p, average="micro"), rel=1e-6)
    assert got == pytest.approx(0.5, rel=1e-6)


def test_fit_history_matches_keras_training(rng):
    keras = _keras()
    x, y = _classification(rng, c=3)
    ours = _model(rng, 5, 3, "softmax", "categorical_crossentropy", lr=0.5,
                  metric_list=[metrics.F1Score(average="macro"), "r2_score"])  # fmt: skip
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    theirs.compile(keras.optimizers.SGD(0.5), "categorical_crossentropy",
                   metrics=[keras.metrics.F1Score(average="macro"), "r2_score"])  # fmt: skip
    theirs.set_weights(ours.get_weights())
    h_ours = ours.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0).history
    assert sorted(h_ours) == sorted(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5, atol=1e-6)
    e_ours = ours.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
    e_theirs = theirs.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
    for key in e_theirs:
        assert e_ours[key] == pytest.approx(e_theirs[key], rel=1e-5, abs=1e-6)


# -- CosineSimilarity ------------------------------------------------------------------


def _cosine_case(rng, n=N, c=4):
    y = rng.normal(size=(n, c)).astype(np.float32)
    p = rng.normal(size=(n, c)).astype(np.float32)
    y[3] = 0.0  # a zero target: similarity 0
    p[5] = 1e-9  # below the 1e7 cap
    p[6] = y[6] * 2.5  # parallel: 1
    return y, p


@pytest.mark.parametrize("weighted", [False, True])
def test_cosine_similarity_metric_and_loss_are_keras_means(rng, weighted):
    x = rng.normal(size=(N, 5)).astype(np.float32)
    y, _ = _cosine_case(rng)
    sw = _weights(rng) if weighted else None
    model = _model(rng, 5, 4, loss="cosine_similarity",
                   metric_list=None if weighted else ["cosine_similarity"],
                   weighted=["cosine_similarity"] if weighted else None)  # fmt: skip
    p = model.predict(x, batch_size=BATCH, verbose=0)
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    per = cosine_ref(y, p)
    w = np.ones(N) if sw is None else sw.astype(np.float64)
    assert logs["cosine_similarity"] == pytest.approx((w * per).sum() / w.sum(), rel=1e-6)
    # the loss: sum_over_batch_size per batch, batches weighted by their size
    batch_losses = [-(wb * cosine_ref(yb, pb)).sum() for yb, pb, wb in _batches(y, p, w)]
    assert logs["loss"] == pytest.approx(sum(batch_losses) / N, rel=1e-6)


def test_cosine_similarity_matches_keras(rng):
    keras = _keras()
    y, p = _cosine_case(rng)
    sw = _weights(rng)
    np.testing.assert_allclose(
        losses.cosine_similarity(y, p),
        keras.losses.cosine_similarity(y, p).detach().cpu().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    keras_loss = keras.losses.CosineSimilarity()
    ours = losses.CosineSimilarity.from_config(keras_loss.get_config())
    assert ours.get_config() == keras_loss.get_config()
    for weights in (None, sw):
        expected = float(keras_loss(y, p, sample_weight=weights).detach().cpu().numpy())
        assert ours(y, p, sample_weight=weights) == pytest.approx(expected, rel=1e-6, abs=1e-6)
    theirs = _keras_result(keras.metrics.CosineSimilarity(), y, p, sw)
    batch_sums = [-fastnn.ops.loss(yb, pb, "cosine_similarity", sample_weight=wb)[0] * len(yb)
                  for yb, pb, wb in _batches(y, p, sw)]  # fmt: skip
    assert sum(batch_sums) / sw.sum() == pytest.approx(theirs, rel=1e-6, abs=1e-6)


def test_cosine_similarity_gradient_matches_torch_autograd(rng):
    torch = pytest.importorskip("torch")
    y, p = _cosine_case(rng, n=12, c=5)
    y[7] = 0.0
    p[7] = 0.0  # both zero
    p[8] = 0.0  # a zero prediction: Keras's rsqrt(0) makes autograd NaN
    sw = rng.uniform(0.5, 2.0, 12)
    loss, grad = fastnn.ops.loss(y, p, "cosine_similarity", sample_weight=sw)

    t = torch.tensor(y.astype(np.float64))
    o = torch.tensor(p.astype(np.float64), requires_grad=True)

    def normalize(v):
        inv = torch.rsqrt(v.square().sum(-1, keepdim=True))
        return v * torch.minimum(inv, torch.tensor(1.0 / EPS, dtype=torch.float64))

    per = -(normalize(t) * normalize(o)).sum(-1)
    total = (torch.tensor(sw) * per).sum() / per.shape[0]
    total.backward()
    expected = o.grad.numpy()
    assert loss == pytest.approx(total.item(), rel=1e-6)
    finite = np.isfinite(expected).all(1)
    assert list(np.flatnonzero(~finite)) == [7, 8]  # autograd's NaN at zero predictions
    scale = np.abs(expected[finite]).max()
    np.testing.assert_allclose(grad[finite], expected[finite], rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_array_equal(grad[[3, 7]], 0.0)  # zero targets: no gradient
    # the capped branch: d/do of -n(t) . (1e7 o) is -1e7 n(t), weighted, over the rows
    nt = y[8] / np.linalg.norm(y[8].astype(np.float64))
    np.testing.assert_allclose(grad[8], -1e7 * nt * sw[8] / 12, rtol=1e-6)


def test_cosine_loss_trains_like_keras(rng):
    keras = _keras()
    x = rng.normal(size=(N, 5)).astype(np.float32)
    y, _ = _cosine_case(rng)
    ours = _model(rng, 5, 4, loss="cosine_similarity", lr=0.3, metric_list=["cosine_similarity"])
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4)])
    theirs.compile(keras.optimizers.SGD(0.3), "cosine_similarity", metrics=["cosine_similarity"])
    theirs.set_weights(ours.get_weights())
    h_ours = ours.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0).history
    for key in ("loss", "cosine_similarity"):
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5)
    for a, b in zip(ours.get_weights(), [v.value.detach().cpu().numpy() for v in theirs.weights]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- names, configs, save/load ---------------------------------------------------------


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("r2_score", metrics.R2Score),
        ("R2Score", metrics.R2Score),
        ("f1_score", metrics.F1Score),
        ("F1Score", metrics.F1Score),
        ("f_beta_score", metrics.FBetaScore),
        ("FBetaScore", metrics.FBetaScore),
        ("cosine_similarity", metrics.CosineSimilarity),
        ("CosineSimilarity", metrics.CosineSimilarity),
    ],
)
def test_keras_string_ids(identifier, cls):
    assert type(metrics.get(identifier)) is cls


def test_keras_ids_keras_lacks_are_refused():
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 'fbeta_score'"):
        metrics.get("fbeta_score")
    assert losses.get("cosine_similarity") is losses.cosine_similarity
    assert type(losses.get("CosineSimilarity")) is losses.CosineSimilarity
    assert losses._resolve(losses.cosine_similarity).kernel == "cosine_similarity"


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("R2Score", {}),
        ("R2Score", {"class_aggregation": None, "num_regressors": 3}),
        ("F1Score", {}),
        ("F1Score", {"average": "weighted", "threshold": 0.4}),
        ("FBetaScore", {"average": "micro", "beta": 2.0}),
        ("CosineSimilarity", {}),
    ],
)
def test_configs_are_keras_configs(name, kwargs):
    keras = _keras()
    theirs = getattr(keras.metrics, name)(**kwargs).get_config()
    ours = getattr(metrics, name).from_config(theirs)
    config = ours.get_config()
    assert config == theirs
    assert getattr(metrics, name).from_config(config).get_config() == config
    assert metrics.deserialize(metrics.serialize(ours)) == ours


def test_save_and_load_a_compiled_model(rng, tmp_path):
    x, y = _classification(rng, multilabel=True)
    sw = _weights(rng)
    model = _model(rng, 5, 4, "sigmoid", "binary_crossentropy",
                   metric_list=[metrics.FBetaScore(average="weighted", beta=2.0, threshold=0.4),
                                "r2_score", "cosine_similarity"],
                   weighted=[metrics.F1Score(average="micro")])  # fmt: skip
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    kinds = [type(m) for m in loaded._metrics]
    assert kinds == [metrics.FBetaScore, metrics.R2Score, metrics.CosineSimilarity, metrics.F1Score]
    a = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    b = loaded.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    assert a == b
    assert sorted(a) == ["cosine_similarity", "f1_score", "fbeta_score", "loss", "r2_score"]

    cos = models.Sequential([layers.Input((5,)), layers.Dense(4)])
    cos.compile("sgd", losses.CosineSimilarity(name="cos"))
    cos.save(tmp_path / "c.keras")
    again = models.load_model(tmp_path / "c.keras")
    assert type(again.loss) is losses.CosineSimilarity and again.loss.name == "cos"


# -- threads ---------------------------------------------------------------------------


def test_same_bits_on_one_and_two_threads(rng):
    x = rng.normal(size=(300, 5)).astype(np.float32)
    y = rng.normal(size=(300, 200)).astype(np.float32)  # wide: the loss runs on threads
    labels = (y > 0.5).astype(np.float32)
    previous = fastnn.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            fastnn.set_num_threads(threads)
            reg = _model(np.random.default_rng(1), 5, 200, loss="cosine_similarity",
                         metric_list=["r2_score", "cosine_similarity"])  # fmt: skip
            cls = _model(np.random.default_rng(2), 5, 200, "sigmoid", "binary_crossentropy",
                         metric_list=[metrics.F1Score(average="macro", threshold=0.5)])  # fmt: skip
            results.append(
                (reg.evaluate(x, y, batch_size=64, verbose=0),
                 cls.evaluate(x, labels, batch_size=64, verbose=0),
                 fastnn.ops.loss(y, reg.predict(x, verbose=0), "cosine_similarity"))
            )  # fmt: skip
    finally:
        fastnn.set_num_threads(previous)
    assert results[0][0] == results[1][0] and results[0][1] == results[1][1]
    assert results[0][2][0] == results[1][2][0]
    np.testing.assert_array_equal(results[0][2][1], results[1][2][1])


# -- Keras's errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: metrics.FBetaScore(beta=1), "Invalid `beta` argument value. It should be a "
                                             "Python float"),
        (lambda: metrics.FBetaScore(beta=0.0), "It should be > 0"),
        (lambda: metrics.F1Score(threshold=1), "Invalid `threshold` argument value"),
        (lambda: metrics.F1Score(threshold=0.0), "0 < threshold <= 1"),
        (lambda: metrics.F1Score(threshold=1.5), "0 < threshold <= 1"),
        (lambda: metrics.F1Score(average="samples"), "Invalid `average` argument value"),
        (lambda: metrics.R2Score(class_aggregation="raw"),
         "Invalid value for argument `class_aggregation`"),
        (lambda: metrics.R2Score(num_regressors=-1), "Expected a value >= 0"),
        (lambda: metrics.CosineSimilarity(axis=0), r"outputs. axis, -1 \(or 1\); got axis=0"),
        (lambda: losses.CosineSimilarity(axis=0), "axis=0 is not supported"),
        (lambda: losses.CosineSimilarity(reduction="auto"), "Invalid value for argument"),
    ],
)  # fmt: skip
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_fbeta_of_class_ids_raises_keras_error_and_changes_nothing(rng):
    x, y = _classification(rng)
    model = _model(rng, 5, 4, "softmax", "cce", metric_list=[metrics.F1Score(average="macro")])
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    with pytest.raises(ValueError, match="F1Score expects 2D inputs"):
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=["f1_score"])
    after = model.evaluate(x, y, verbose=0, return_dict=True)
    assert after == before and model.loss == "cce"


# -- per-output results (average=None, class_aggregation=None) -------------------------


def test_per_class_results_are_logged_as_keras_logs_them(rng, capsys, tmp_path):
    keras = _keras()
    x, y = _classification(rng, c=3)
    ours = _model(rng, 5, 3, "softmax", "categorical_crossentropy", lr=0.5,
                  metric_list=["f1_score", metrics.R2Score(class_aggregation=None)])  # fmt: skip
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    theirs.compile(keras.optimizers.SGD(0.5), "categorical_crossentropy",
                   metrics=["f1_score", keras.metrics.R2Score(class_aggregation=None)])  # fmt: skip
    theirs.set_weights(ours.get_weights())
    csv = tmp_path / "log.csv"
    h_ours = ours.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=2,
                      callbacks=[fastnn.callbacks.CSVLogger(str(csv))]).history  # fmt: skip
    h_theirs = theirs.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0).history
    assert sorted(h_ours) == sorted(h_theirs)
    for key in ("f1_score", "r2_score"):
        for a, b in zip(h_ours[key], h_theirs[key]):
            assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (3,)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the progress bar shows the mean (Keras's Progbar), the CSV the array
    shown = capsys.readouterr().out.splitlines()[-1]
    assert f"f1_score: {float(np.mean(h_ours['f1_score'][-1])):.4f}" in shown
    assert '"[' in csv.read_text().splitlines()[1]
    loss, f1, r2 = ours.evaluate(x, y, batch_size=BATCH, verbose=0)
    e_theirs = theirs.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
    np.testing.assert_allclose(f1, e_theirs["f1_score"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r2, e_theirs["r2_score"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("numpy_takes_size_one", [True, False])
def test_one_output_per_class_result_is_what_keras_s_float_makes_of_it(
    rng, monkeypatch, numpy_takes_size_one
):
    # Keras's logs hold float(value) where NumPy allows it: a float under
    # NumPy that converts a one-element array (with a DeprecationWarning),
    # else the array (NumPy 2.4.6: TypeError). Both branches, whatever NumPy
    # runs here.
    monkeypatch.setattr(models, "_SIZE_ONE_FLOATS", numpy_takes_size_one)
    x = rng.normal(size=(N, 5)).astype(np.float32)
    y = (rng.uniform(size=(N, 1)) < 0.5).astype(np.float32)
    model = _model(rng, 5, 1, "sigmoid", "binary_crossentropy",
                   metric_list=[metrics.F1Score(threshold=0.5)])  # fmt: skip
    p = model.predict(x, verbose=0)
    got = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)["f1_score"]
    expected = float(fbeta_ref(y, p, threshold=0.5)[0])
    if numpy_takes_size_one:
        assert type(got) is float
    else:
        assert type(got) is np.ndarray and got.shape == (1,) and got.dtype == np.float32
    assert np.asarray(got).reshape(()) == pytest.approx(expected, rel=1e-6)


def test_the_size_one_probe_is_the_running_numpy_s_answer(monkeypatch):
    monkeypatch.setattr(models, "_SIZE_ONE_FLOATS", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 1.25 to its removal
        try:
            float(np.ones(1, np.float32))
            takes = True
        except TypeError:
            takes = False
    assert models._float_takes_size_one_arrays() is takes


def test_adjacent_vector_metrics_keep_their_own_sums(rng):
    # two F-scores (same threshold) and two R2Scores back to back: one engine pass each
    x, y = _classification(rng, multilabel=True)
    sw = _weights(rng)
    listed = [metrics.F1Score(average="macro", threshold=0.5),
              metrics.FBetaScore(average="macro", beta=2.0, threshold=0.5),
              "r2_score", metrics.R2Score(class_aggregation=None), "auc"]  # fmt: skip
    model = _model(rng, 5, 4, "sigmoid", "binary_crossentropy", metric_list=listed,
                   weighted=[metrics.F1Score(average="weighted", threshold=0.5)])  # fmt: skip
    p = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    assert logs["f1_score"] == pytest.approx(fbeta_ref(y, p, average="macro", threshold=0.5))
    assert logs["fbeta_score"] == pytest.approx(
        fbeta_ref(y, p, average="macro", beta=2.0, threshold=0.5)
    )
    assert logs["weighted_f1_score"] == pytest.approx(
        fbeta_ref(y, p, sw, average="weighted", threshold=0.5)
    )
    assert logs["r2_score"] == pytest.approx(r2_ref(y, p), rel=1e-6)
    np.testing.assert_allclose(logs["r2_score_1"], r2_ref(y, p, class_aggregation=None), 1e-5)
