"""Keras 3's remaining regression and classification losses and their metrics
(MAPE, MSLE, log-cosh, KL divergence, Poisson, hinge, squared hinge,
categorical hinge): value and gradient against a float64 NumPy transcription
of keras/src/losses/losses.py and against PyTorch autograd on the same clipped
expressions, training steps, fit/evaluate metrics, names, configs, saving, and
Keras itself where it is installed.

The loss kernel has no ISA-specific code (test_losses.py runs it once);
the training step runs on every ISA through the `isa` fixture.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import fastnn
from fastnn import losses, metrics

E = float(np.float32(1e-7))  # keras.config.epsilon() as the float32 Keras compares with
NAN = float("nan")

NAMES = [
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "log_cosh",
    "kl_divergence",
    "poisson",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
]
LOSS_CLASSES = {
    "mean_absolute_percentage_error": losses.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": losses.MeanSquaredLogarithmicError,
    "log_cosh": losses.LogCosh,
    "kl_divergence": losses.KLDivergence,
    "poisson": losses.Poisson,
    "hinge": losses.Hinge,
    "squared_hinge": losses.SquaredHinge,
    "categorical_hinge": losses.CategoricalHinge,
}
METRIC_CLASSES = {
    "mean_absolute_percentage_error": metrics.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": metrics.MeanSquaredLogarithmicError,
    "log_cosh": metrics.LogCoshError,
    "kl_divergence": metrics.KLDivergence,
    "poisson": metrics.Poisson,
    "hinge": metrics.Hinge,
    "squared_hinge": metrics.SquaredHinge,
    "categorical_hinge": metrics.CategoricalHinge,
}
# Keras 3.15's default names (the keys in logs and History)
METRIC_NAMES = {
    "mean_absolute_percentage_error": "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error": "mean_squared_logarithmic_error",
    "log_cosh": "logcosh",
    "kl_divergence": "kl_divergence",
    "poisson": "poisson",
    "hinge": "hinge",
    "squared_hinge": "squared_hinge",
    "categorical_hinge": "categorical_hinge",
}
SHAPES = [(n, c) for n in (1, 5, 64) for c in (1, 3, 7, 10)]


# -- the float64 references -------------------------------------------------------------


def _hinge_labels(t):
    """convert_binary_labels_to_hinge: labels all 0 or 1 (in the whole call) -> -1 / 1."""
    return 2.0 * t - 1.0 if np.all((t == 0) | (t == 1)) else t


def ref_per_sample(name, y_true, y_pred):
    """Keras's loss function per sample and d(per-sample loss)/d y_pred, float64."""
    t = np.asarray(y_true, np.float64)
    o = np.asarray(y_pred, np.float64)
    c = o.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "mean_absolute_percentage_error":
            den = np.maximum(np.abs(t), E)
            value = 100.0 * np.abs((t - o) / den)
            grad = 100.0 * np.sign(o - t) / den
        elif name == "mean_squared_logarithmic_error":
            po = np.maximum(o, E)
            e = np.log(po + 1.0) - np.log(np.maximum(t, E) + 1.0)
            value = e**2
            grad = np.where(o >= E, 2.0 * e / (po + 1.0), 0.0)
        elif name == "log_cosh":
            x = o - t
            value = x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0)  # x + softplus(-2x) - log 2
            grad = np.tanh(x)
        elif name == "kl_divergence":
            tc, pc = np.clip(t, E, 1.0), np.clip(o, E, 1.0)
            value = tc * np.log(tc / pc)
            grad = np.where((o >= E) & (o <= 1.0), -tc / pc, 0.0)
        elif name == "poisson":
            value = o - t * np.log(o + E)
            grad = 1.0 - t / (o + E)
        elif name in ("hinge", "squared_hinge"):
            tt = _hinge_labels(t)
            m = 1.0 - tt * o
            h = np.maximum(m, 0.0)
            if name == "hinge":
                value, grad = h, np.where(m >= 0.0, -tt, 0.0)
            else:
                value, grad = h**2, -2.0 * tt * h
        elif name == "categorical_hinge":
            pos = np.sum(t * o, -1)
            q = (1.0 - t) * o
            neg = np.max(q, -1)
            v = neg - pos + 1.0
            ties = q == neg[:, None]  # the max's derivative is shared between ties
            g = -t + ties * (1.0 - t) / ties.sum(-1, keepdims=True)
            return np.maximum(v, 0.0), np.where((v >= 0.0)[:, None], g, 0.0)
        else:
            raise AssertionError(name)
    if name == "kl_divergence":  # a sum over the last axis; the others a mean
        return value.sum(-1), grad
    return value.mean(-1), grad / c


def ref_loss(name, y_true, y_pred, sw=None):
    """(loss, gradient) with sum_over_batch_size: sum_r w_r l_r / rows."""
    per, grad = ref_per_sample(name, y_true, y_pred)
    n = per.shape[0]
    w = np.ones(n) if sw is None else np.asarray(sw, np.float64)
    return float((w * per).sum() / n), grad * w[:, None] / n


def torch_loss(name, y_true, y_pred, sw):
    """(loss, gradient) by PyTorch autograd in float64 on Keras's clipped expression."""
    torch = pytest.importorskip("torch")
    t = torch.tensor(np.asarray(y_true, np.float64))
    o = torch.tensor(np.asarray(y_pred, np.float64), requires_grad=True)
    if name == "mean_absolute_percentage_error":
        per = 100.0 * ((t - o) / t.abs().clamp(min=E)).abs().mean(-1)
    elif name == "mean_squared_logarithmic_error":
        per = ((o.clamp(min=E) + 1.0).log() - (t.clamp(min=E) + 1.0).log()).square().mean(-1)
    elif name == "log_cosh":
        x = o - t
        per = (x + torch.nn.functional.softplus(-2.0 * x) - math.log(2.0)).mean(-1)
    elif name == "kl_divergence":
        tc, pc = t.clamp(E, 1.0), o.clamp(E, 1.0)
        per = (tc * (tc / pc).log()).sum(-1)
    elif name == "poisson":
        per = (o - t * (o + E).log()).mean(-1)
    elif name in ("hinge", "squared_hinge"):
        if bool(((t == 0) | (t == 1)).all()):
            t = 2.0 * t - 1.0
        h = (1.0 - t * o).clamp(min=0.0)
        per = (h if name == "hinge" else h.square()).mean(-1)
    else:
        pos = (t * o).sum(-1)
        neg = torch.amax((1.0 - t) * o, -1)
        per = (neg - pos + 1.0).clamp(min=0.0)
    w = torch.ones(per.shape[0], dtype=torch.float64) if sw is None else torch.tensor(sw * 1.0)
    total = (w * per).sum() / per.shape[0]
    total.backward()
    return total.item(), o.grad.numpy()


# -- data, with values at and around the clips ----------------------------------------


def _put(a, values):
    """Writes `values` over the first elements of `a` (row-major), as many as fit."""
    flat = a.reshape(-1)
    k = min(len(values), flat.size)
    flat[:k] = values[:k]


def make_case(rng, name, n, c):
    """(y_true, y_pred) as float32 for `name`, with the edge values it has."""
    if name == "mean_absolute_percentage_error":
        y = rng.standard_normal((n, c)) * 2
        p = rng.standard_normal((n, c)) * 2
        _put(y, [0.0, E, -E, 1e-8, -3e-7, 2e-7, -0.0])
        if y.size > 3:
            p.reshape(-1)[-1] = y.reshape(-1)[-1]  # no error: derivative 0
    elif name == "mean_squared_logarithmic_error":
        y = rng.uniform(-1, 3, (n, c))
        p = rng.uniform(-1, 3, (n, c))
        _put(p, [E, 0.0, 5e-8, -0.5, 2e-7, 0.999])
        _put(y, [0.0, -1.0, E, 1e-8])
    elif name == "log_cosh":
        y = rng.standard_normal((n, c))
        p = rng.standard_normal((n, c)) * 3
        _put(y, [-1e4, 1e4, 0.0, 0.0, 2.0])
        _put(p, [1e4, -1e4, 30.0, -30.0, 2.0])  # errors 2e4, -2e4, +-30, 0
    elif name == "kl_divergence":
        y = rng.uniform(-0.1, 1.1, (n, c))
        p = rng.uniform(-0.1, 1.2, (n, c))
        _put(p, [E, 0.0, 1.0, 1e-8, 2e-7, -0.3, 1.5])
        _put(y, [0.0, E, 1.0, -0.2, 1.3])
    elif name == "poisson":
        y = rng.poisson(2.0, (n, c)).astype(np.float64)
        p = rng.uniform(0.0, 4.0, (n, c))
        _put(y, [3.0, 0.0, 1.0, -1.0])  # zero and negative counts compute too
        _put(p, [0.0, 1e-8, E, 2.5])
    elif name == "hinge":  # {0, 1}: converted to -1 / 1
        y = rng.integers(0, 2, (n, c)).astype(np.float64)
        p = rng.standard_normal((n, c))
        _put(y, [1.0, 0.0, 1.0])
        _put(p, [1.0, -1.0, 0.5])  # margins exactly 0
    elif name == "squared_hinge":  # -1 / 1, and one 0.5: nothing converted
        y = rng.choice([-1.0, 1.0], (n, c))
        p = rng.standard_normal((n, c))
        _put(y, [1.0, -1.0, 0.5])
        _put(p, [1.0, -1.0, 0.3])
    else:  # categorical_hinge: one-hot, with tied maxima among the wrong classes
        labels = rng.integers(0, c, n)
        y = np.eye(c)[labels]
        p = rng.standard_normal((n, c))
        if c >= 3:
            wrong = [j for j in range(c) if j != labels[0]]
            p[0, wrong[0]] = p[0, wrong[1]] = 3.0
    return y.astype(np.float32), p.astype(np.float32)


def weights_for(rng, n):
    sw = rng.uniform(0.0, 2.0, n)
    sw[0] = 0.0
    return sw.astype(np.float32)


def _close(grad, expected):
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6 * scale)


# -- the kernel ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n,c", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_value_and_gradient_match_the_float64_transcription(rng, name, n, c, weighted):
    y, p = make_case(rng, name, n, c)
    sw = weights_for(rng, n) if weighted else None
    loss, grad = fastnn.ops.loss(y, p, name, sample_weight=sw)
    expected, expected_grad = ref_loss(name, y, p, sw)
    assert loss == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert grad.dtype == np.float32 and grad.shape == (n, c)
    _close(grad, expected_grad)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n,c", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_value_and_gradient_match_torch_autograd(rng, name, n, c, weighted):
    pytest.importorskip("torch")
    y, p = make_case(rng, name, n, c)
    sw = weights_for(rng, n) if weighted else None
    loss, grad = fastnn.ops.loss(y, p, name, sample_weight=sw)
    expected, expected_grad = torch_loss(name, y, p, sw)
    assert loss == pytest.approx(expected, rel=1e-6, abs=1e-9)
    _close(grad, expected_grad)


def test_the_clips_give_keras_values_and_zero_gradients():
    # KLD: y_pred clipped to [1e-7, 1]; below and above the derivative is 0, at the
    # limits it passes (as clamp); y_true = 0 counts as 1e-7.
    p = np.array([[0.0, 1e-8, E, 1.0, 1.5, 0.5]], np.float32)
    y = np.array([[0.5, 0.5, 0.5, 0.5, 0.5, 0.0]], np.float32)
    loss, grad = fastnn.ops.loss(y, p, "kld")
    tc = np.array([0.5] * 5 + [E])
    pc = np.clip(p[0].astype(np.float64), E, 1.0)
    assert loss == pytest.approx((tc * np.log(tc / pc)).sum(), rel=1e-12)
    np.testing.assert_array_equal(grad[0, [0, 1, 4]], 0.0)
    np.testing.assert_allclose(grad[0, [2, 3, 5]], -tc[[2, 3, 5]] / pc[[2, 3, 5]], rtol=1e-6)
    # MSLE: y_pred below 1e-7 is 1e-7 (derivative 0), negative targets are 1e-7
    loss, grad = fastnn.ops.loss([[-3.0, 0.0]], np.array([[-1.0, 1e-8]], np.float32), "msle")
    assert loss == 0.0 and not grad.any()
    # MAPE divides by max(|y_true|, 1e-7): a zero target weighs 1e7 per unit of error
    loss, grad = fastnn.ops.loss([[0.0]], np.array([[0.5]], np.float32), "mape")
    assert loss == pytest.approx(100 * 0.5 / E, rel=1e-12)
    assert grad[0, 0] == np.float32(100 / E)


def test_log_cosh_does_not_overflow():
    for x in (1e4, -1e4, 88.0, 710.0, 3e38):
        loss, grad = fastnn.ops.loss([[0.0]], np.array([[x]], np.float32), "log_cosh")
        assert loss == pytest.approx(abs(float(np.float32(x))) - math.log(2.0), rel=1e-12)
        assert grad[0, 0] == math.copysign(1.0, x)
    loss, grad = fastnn.ops.loss([[0.0]], np.array([[1e-4]], np.float32), "logcosh")
    assert loss == pytest.approx(0.5 * float(np.float32(1e-4)) ** 2, rel=1e-6)


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_hinge_converts_labels_only_when_all_are_zero_or_one(name):
    p = np.array([[0.3, -0.8], [1.2, 0.1]], np.float32)
    binary = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    signs = 2 * binary - 1
    assert fastnn.ops.loss(binary, p, name)[0] == fastnn.ops.loss(signs, p, name)[0]
    _close(fastnn.ops.loss(binary, p, name)[1], ref_loss(name, signs, p)[1])
    # one label that is neither 0 nor 1: nothing is converted (a 0 stays 0)
    mixed = binary.copy()
    mixed[0, 0] = 0.5
    loss, grad = fastnn.ops.loss(mixed, p, name)
    h = np.maximum(1.0 - mixed.astype(np.float64) * p, 0.0)
    assert loss == pytest.approx((h if name == "hinge" else h**2).mean(), rel=1e-7)
    _close(grad, ref_loss(name, mixed, p)[1])
    # all zeros are binary: every label becomes -1
    zeros = np.zeros_like(p)
    assert fastnn.ops.loss(zeros, p, name)[0] == fastnn.ops.loss(-np.ones_like(p), p, name)[0]


def test_categorical_hinge_below_the_margin_is_zero():
    y = np.array([[0.0, 1.0, 0.0]], np.float32)
    loss, grad = fastnn.ops.loss(y, np.array([[0.2, 2.0, -1.0]], np.float32), "categorical_hinge")
    assert loss == 0.0 and not grad.any()
    # exactly on the margin (neg - pos + 1 = 0) the derivative passes, as clamp's
    loss, grad = fastnn.ops.loss(y, np.array([[0.5, 1.5, -1.0]], np.float32), "categorical_hinge")
    assert loss == 0.0
    np.testing.assert_array_equal(grad, [[1.0, -1.0, 0.0]])


@pytest.mark.parametrize("name", NAMES)
def test_nan_prediction_gives_nan_loss_as_keras(name):
    y, p = make_case(np.random.default_rng(0), name, 2, 3)
    p[1, 1] = NAN
    assert math.isnan(fastnn.ops.loss(y, p, name)[0])


def test_poisson_of_a_negative_prediction_is_nan_as_keras():
    loss, _ = fastnn.ops.loss([[1.0]], np.array([[-0.5]], np.float32), "poisson")
    assert math.isnan(loss)


@pytest.mark.parametrize("name", NAMES)
def test_wide_outputs_give_the_same_bits_on_any_thread_count(rng, name):
    y, p = make_case(rng, name, 64, 1000)  # past the kernel's parallel threshold
    sw = weights_for(rng, 64)
    previous = fastnn.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            fastnn.set_num_threads(threads)
            results.append(fastnn.ops.loss(y, p, name, sample_weight=sw))
    finally:
        fastnn.set_num_threads(previous)
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][0] == pytest.approx(ref_loss(name, y, p, sw)[0], rel=1e-6)


def test_bad_shapes_are_clear_errors(rng):
    y, p = make_case(rng, "hinge", 4, 3)
    for name in NAMES:
        with pytest.raises(ValueError, match=r"y_true must have the shape of y_pred \(4, 3\)"):
            fastnn.ops.loss(y[:, :2], p, name)
        with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
            fastnn.ops.loss(y, p, name, sample_weight=np.ones(3))
        with pytest.raises(ValueError, match="label_smoothing applies to"):
            fastnn.ops.loss(y, p, name, label_smoothing=0.1)


# -- models ----------------------------------------------------------------------------


def _linear_model(optimizer, loss, d, c, rng, **compile_args):
    model = fastnn.Sequential([fastnn.Input((d,)), fastnn.layers.Dense(c)])
    model.compile(optimizer, loss=loss, **compile_args)
    kernel = rng.uniform(-0.05, 0.05, (d, c)).astype(np.float32)
    bias = np.full(c, 0.5, np.float32)  # outputs near 0.5: inside every loss's domain
    model.set_weights([kernel, bias])
    return model, kernel, bias


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("weighted", [False, True])
def test_train_on_batch_moves_the_weights_by_the_numpy_gradient(isa, rng, name, weighted):
    n, d, c = 6, 4, 3
    x = rng.uniform(0.0, 1.0, (n, d)).astype(np.float32)
    y, _ = make_case(rng, name, n, c)
    sw = weights_for(rng, n) if weighted else None
    sgd = fastnn.optimizers.SGD(learning_rate=1.0)
    model, kernel, bias = _linear_model(sgd, LOSS_CLASSES[name](), d, c, rng)
    out = x.astype(np.float64) @ kernel + bias
    expected, dout = ref_loss(name, y, out, sw)
    loss = model.train_on_batch(x, y, sample_weight=sw)
    assert loss == pytest.approx(expected, rel=1e-5)
    new_kernel, new_bias = model.get_weights()
    _close(new_kernel, kernel - x.astype(np.float64).T @ dout)
    _close(new_bias, bias - dout.sum(0))


def _metric_data(rng, n=40, d=4, c=3):
    x = rng.uniform(0.0, 1.0, (n, d)).astype(np.float32)
    y = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]  # legal for every metric
    sw = rng.uniform(0.2, 2.0, n).astype(np.float32)
    return x, y, sw


def test_fit_history_metrics_equal_evaluate_and_numpy(rng):
    # learning rate 0: the weights fit measures are the ones evaluate and predict use
    x, y, sw = _metric_data(rng)
    objects = [METRIC_CLASSES[name]() for name in NAMES]
    model, _, _ = _linear_model(
        fastnn.optimizers.SGD(learning_rate=0.0),
        "mse",
        4,
        3,
        rng,
        metrics=objects,
        weighted_metrics=[METRIC_CLASSES[name]() for name in NAMES],
    )
    history = model.fit(
        x, y, sample_weight=sw, batch_size=16, epochs=1, shuffle=False, verbose=0
    ).history
    expected_keys = {METRIC_NAMES[n] for n in NAMES} | {
        f"weighted_{METRIC_NAMES[n]}" for n in NAMES
    }
    assert set(history) == expected_keys | {"loss"}
    evaluated = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    out = model.predict(x, verbose=0)
    for name in NAMES:
        key = METRIC_NAMES[name]
        per = np.concatenate(
            [ref_per_sample(name, y[i : i + 16], out[i : i + 16])[0] for i in range(0, 40, 16)]
        )
        assert history[key][0] == pytest.approx(evaluated[key], rel=1e-12)
        assert evaluated[key] == pytest.approx(per.mean(), rel=1e-6)
        weighted = history[f"weighted_{key}"][0]
        assert weighted == pytest.approx(evaluated[f"weighted_{key}"], rel=1e-12)
        assert weighted == pytest.approx((sw * per).sum() / sw.sum(), rel=1e-6)


def test_validation_metrics_by_string_id_equal_evaluate_after_training(rng):
    x, y, sw = _metric_data(rng)
    ids = ["mape", "msle", "logcosh", "kl_divergence", "poisson", "hinge", "squared_hinge"]
    ids.append("categorical_hinge")
    model, _, _ = _linear_model(
        fastnn.optimizers.SGD(learning_rate=0.05), "logcosh", 4, 3, rng, metrics=ids
    )
    history = model.fit(
        x[:30], y[:30], validation_data=(x[30:], y[30:]), epochs=3, batch_size=8, verbose=0
    ).history
    assert sorted(history) == sorted(["loss", *ids, "val_loss", *[f"val_{i}" for i in ids]])
    evaluated = model.evaluate(x[30:], y[30:], verbose=0, return_dict=True)
    out = model.predict(x[30:], verbose=0)
    for key, name in zip(ids, NAMES):
        assert history[f"val_{key}"][-1] == pytest.approx(evaluated[key], rel=1e-12)
        assert evaluated[key] == pytest.approx(
            ref_per_sample(name, y[30:], out)[0].mean(), rel=1e-6
        )
    assert evaluated["loss"] == pytest.approx(evaluated["logcosh"], rel=1e-12)


@pytest.mark.parametrize("activation, loss", [("softmax", "cce"), ("sigmoid", "bce")])
def test_metrics_on_a_fused_output_read_the_probabilities(rng, activation, loss):
    # softmax/sigmoid + cross-entropy train from the logits; these metrics (unlike the
    # cross-entropy metrics) are computed on the probabilities the model outputs
    x, y, sw = _metric_data(rng, n=20)
    model = fastnn.Sequential([fastnn.Input((4,)), fastnn.layers.Dense(3, activation=activation)])
    objects = [METRIC_CLASSES[name]() for name in NAMES]
    model.compile("sgd", loss=loss, metrics=objects, weighted_metrics=["kl_divergence"])
    got = model.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    out = model.predict(x, verbose=0)
    for name in NAMES:
        per = ref_per_sample(name, y, out)[0]
        assert got[METRIC_NAMES[name]] == pytest.approx(per.mean(), rel=1e-6), name
    per = ref_per_sample("kl_divergence", y, out)[0]
    assert got["weighted_kl_divergence"] == pytest.approx((sw * per).sum() / sw.sum(), rel=1e-6)


def test_hinge_converts_per_batch_as_keras(rng):
    # Keras converts y_true per call: a batch of only 0/1 labels becomes -1/1, a
    # batch holding a 0.5 stays as it is.
    x = rng.uniform(0.0, 1.0, (8, 4)).astype(np.float32)
    y = rng.integers(0, 2, (8, 3)).astype(np.float32)
    y[5, 1] = 0.5  # second batch of 4
    model, _, _ = _linear_model(fastnn.optimizers.SGD(0.0), "hinge", 4, 3, rng, metrics=["hinge"])
    got = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    out = model.predict(x, verbose=0)
    per = np.concatenate(
        [ref_per_sample("hinge", y[:4], out[:4])[0], ref_per_sample("hinge", y[4:], out[4:])[0]]
    )
    assert got["hinge"] == pytest.approx(per.mean(), rel=1e-6)
    assert got["loss"] == pytest.approx(per.mean(), rel=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_bad_targets_raise_and_leave_the_weights(rng, name):
    x = rng.uniform(0.0, 1.0, (5, 4)).astype(np.float32)
    y, _ = make_case(rng, name, 5, 3)
    model, kernel, bias = _linear_model(fastnn.optimizers.SGD(1.0), name, 4, 3, rng)
    with pytest.raises(ValueError, match=r"needs y of shape \(5, 3\)"):
        model.train_on_batch(x, y[:, :2])
    with pytest.raises(ValueError, match=r"needs y of shape \(5, 3\)"):
        model.fit(x, y[:, 0], verbose=0)
    bad = y.copy()
    bad[2, 1] = NAN
    with pytest.raises(ValueError, match="y contains NaN"):
        model.train_on_batch(x, bad)
    with pytest.raises(ValueError, match="y contains NaN"):
        model.fit(x, bad, verbose=0)
    new_kernel, new_bias = model.get_weights()
    np.testing.assert_array_equal(new_kernel, kernel)
    np.testing.assert_array_equal(new_bias, bias)


def test_metrics_need_targets_shaped_like_the_predictions(rng):
    model = fastnn.Sequential([fastnn.Input((4,)), fastnn.layers.Dense(3)])
    with pytest.raises(ValueError, match=r"Metric 'hinge' \(Hinge\) needs labels shaped like"):
        model.compile("sgd", loss="sparse_categorical_crossentropy", metrics=["hinge"])


# -- names, configs, saving ------------------------------------------------------------

LOSS_IDS = {
    "mean_absolute_percentage_error": ["mape", "MAPE", "MeanAbsolutePercentageError"],
    "mean_squared_logarithmic_error": ["msle", "MSLE", "MeanSquaredLogarithmicError"],
    "log_cosh": ["logcosh", "LogCosh"],
    "kl_divergence": ["kld", "KLD", "kullback_leibler_divergence", "KLDivergence"],
    "poisson": ["Poisson"],
    "hinge": ["Hinge"],
    "squared_hinge": ["SquaredHinge"],
    "categorical_hinge": ["CategoricalHinge"],
}
METRIC_IDS = {
    "mean_absolute_percentage_error": ["mape", "MAPE", "MeanAbsolutePercentageError"],
    "mean_squared_logarithmic_error": ["msle", "MSLE", "MeanSquaredLogarithmicError"],
    "log_cosh": ["logcosh", "log_cosh_error", "LogCoshError"],
    "kl_divergence": ["kl_divergence", "KLDivergence"],
    "poisson": ["poisson", "Poisson"],
    "hinge": ["hinge", "Hinge"],
    "squared_hinge": ["squared_hinge", "SquaredHinge"],
    "categorical_hinge": ["categorical_hinge", "CategoricalHinge"],
}


@pytest.mark.parametrize("name", NAMES)
def test_loss_ids_configs_and_functions(rng, name):
    cls = LOSS_CLASSES[name]
    for identifier in [name, *LOSS_IDS[name], cls, getattr(losses, name)]:
        assert type(losses._resolve(identifier)) is cls
    loss = cls()
    assert loss.name == name and loss.kernel == name
    config = loss.get_config()
    assert config == {"name": name, "reduction": "sum_over_batch_size"}
    again = cls.from_config({**config, "name": "mine"})
    assert again.get_config() == {**config, "name": "mine"}
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        cls(reduction="auto")
    # Keras's loss function: per-sample values, whose mean is the class's loss
    y, p = make_case(rng, name, 5, 3)
    per = getattr(losses, name)(y, p)
    np.testing.assert_allclose(per, ref_per_sample(name, y, p)[0], rtol=1e-7, atol=1e-12)
    assert loss(y, p) == pytest.approx(per.mean(), rel=1e-6)
    with pytest.raises(ValueError, match="Unknown loss"):
        losses._resolve(name + "_loss")


@pytest.mark.parametrize("name", NAMES)
def test_metric_ids_configs_and_functions(name):
    cls = METRIC_CLASSES[name]
    for identifier in METRIC_IDS[name]:
        metric = metrics.resolve(identifier, (4, 3), (4, 3))
        assert type(metric) is cls and metric.name == identifier and metric.direction == "down"
    function = getattr(metrics, name)
    assert type(metrics.get(function)) is cls and metrics.get(function).name == name
    metric = cls()
    assert metric.name == METRIC_NAMES[name]
    assert metric.get_config() == {"name": METRIC_NAMES[name], "dtype": "float32"}
    again = metrics.deserialize(metrics.serialize(cls(name="m", dtype="float32")))
    assert type(again) is cls and again.get_config() == {"name": "m", "dtype": "float32"}


@pytest.mark.parametrize("name", NAMES)
def test_compile_with_a_keras_loss_function_trains_as_its_string(rng, name):
    x = rng.uniform(0.0, 1.0, (24, 4)).astype(np.float32)
    y, _ = make_case(rng, name, 24, 3)
    histories = []
    for loss in (getattr(losses, name), name, LOSS_CLASSES[name]()):
        model, _, _ = _linear_model(
            fastnn.optimizers.SGD(0.01), loss, 4, 3, np.random.default_rng(1)
        )
        histories.append(model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history)
    assert histories[0] == histories[1] == histories[2]


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_keep_the_loss_and_metrics(tmp_path, rng, name):
    x, y, sw = _metric_data(rng, n=12)
    model, _, _ = _linear_model(
        fastnn.optimizers.SGD(0.01),
        LOSS_CLASSES[name](),
        4,
        3,
        rng,
        metrics=[METRIC_CLASSES[name](), "mape"],
        weighted_metrics=[name if name != "log_cosh" else "logcosh"],
    )
    model.fit(x, y, sample_weight=sw, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = fastnn.models.load_model(path)
    assert type(loaded.loss) is LOSS_CLASSES[name]
    before = model.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    after = loaded.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert after == before
    assert METRIC_NAMES[name] in after and "mape" in after


def test_save_and_load_keep_a_string_loss(tmp_path, rng):
    model, _, _ = _linear_model("sgd", "logcosh", 4, 3, rng, metrics=["logcosh"])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = fastnn.models.load_model(path)
    assert loaded.loss == "logcosh"  # the string, as Keras's compile config keeps it
    assert type(loaded._loss) is losses.LogCosh
    x, y, _ = _metric_data(rng, n=6)
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


# -- Keras 3 itself --------------------------------------------------------------------


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _to_numpy(tensor):
    """A torch-backend tensor as NumPy (np.asarray on it warns under NumPy 2)."""
    return tensor.detach().cpu().numpy()


KERAS_LOSS = {
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "log_cosh": "LogCosh",
    "kl_divergence": "KLDivergence",
    "poisson": "Poisson",
    "hinge": "Hinge",
    "squared_hinge": "SquaredHinge",
    "categorical_hinge": "CategoricalHinge",
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n,c", [(64, 7), (5, 3)])
def test_losses_and_metrics_agree_with_keras(rng, name, n, c):
    keras = _keras()
    y, p = make_case(rng, name, n, c)
    sw = weights_for(rng, n)
    keras_loss = getattr(keras.losses, KERAS_LOSS[name])()
    ours = LOSS_CLASSES[name].from_config(keras_loss.get_config())
    assert ours.name == keras_loss.name
    assert ours(y, p) == pytest.approx(float(keras_loss(y, p)), rel=1e-6)
    assert ours(y, p, sample_weight=sw) == pytest.approx(
        float(keras_loss(y, p, sample_weight=sw)), rel=1e-6
    )
    # Keras's functions per sample, in float32: a value near 0 keeps float32's absolute error
    theirs = _to_numpy(getattr(keras.losses, name)(y, p)).astype(np.float64)
    atol = 1e-6 * float(np.abs(theirs).max())
    np.testing.assert_allclose(getattr(losses, name)(y, p), theirs, rtol=1e-5, atol=atol)
    metric_cls = METRIC_CLASSES[name]
    keras_metric = getattr(keras.metrics, metric_cls.__name__)()
    metric = metric_cls.from_config(keras_metric.get_config())
    assert metric.name == keras_metric.name == METRIC_NAMES[name]
    keras_metric.update_state(y, p, sample_weight=sw)
    # the metric as fit computes it: one weighted batch through the engine's kernel
    batch_sum = fastnn.ops.loss(y, p, name, sample_weight=sw)[0] * n
    assert batch_sum / sw.sum() == pytest.approx(float(keras_metric.result()), rel=1e-6)


def test_a_model_trains_like_keras_with_a_new_loss(rng):
    keras = _keras()
    x = rng.uniform(0.0, 1.0, (32, 4)).astype(np.float32)
    y, _ = make_case(rng, "squared_hinge", 32, 3)
    ours, kernel, bias = _linear_model(
        fastnn.optimizers.SGD(0.1), "squared_hinge", 4, 3, rng, metrics=["hinge"]
    )
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    theirs.compile(keras.optimizers.SGD(0.1), loss="squared_hinge", metrics=["hinge"])
    theirs.set_weights([kernel, bias])
    h_ours = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    for key in ("loss", "hinge"):
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5)
    theirs_weights = [_to_numpy(v.value) for v in theirs.weights]
    for a, b in zip(ours.get_weights(), theirs_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
