"""float32 overflow and special values through every activation (forward and
backward) and every loss, on every ISA.

Finite inputs up to |x| = 1e30 give finite results or exactly what the
float64 definition rounds to in float32 (exp overflowing to inf, as in Keras);
never NaN. NaN and +-inf inputs follow the table below (the IEEE result of the
Keras formula: NaN in, NaN out, except where a comparison selects a branch).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastnn

from activation_reference import DERIVATIVE, FORWARD, SELU_A, SELU_S

EPS = 1e-7
ONE_MINUS_EPS = float(np.float32(1 - EPS))  # Keras's float32 upper clip (0.99999988)

ELEMENTWISE = sorted(FORWARD)
EXTREMES = [-3.4e38, -1e30, -1e20, -1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4, 1e20, 1e30, 3.4e38]


def _f32(a):
    with np.errstate(over="ignore"):
        return np.asarray(a, np.float64).astype(np.float32)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_at_extreme_finite_inputs(isa, name):
    x = np.array(EXTREMES, np.float32)
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        want_y = _f32(FORWARD[name](x64))
        want_dx = _f32(0.5 * DERIVATIVE[name](x64))
    y = fastnn.ops.activation(x, name)
    dx = fastnn.ops.activation_grad(np.full_like(x, 0.5), x, name)
    assert not np.isnan(y).any() and not np.isnan(dx).any(), (y, dx)
    if name not in ("exponential", "selu"):  # exp(1e4) and 1.05 * 3.4e38 overflow
        assert np.isfinite(y).all() and np.isfinite(dx).all(), (y, dx)
    # equal to the float64 definition rounded to float32 (inf where it overflows)
    np.testing.assert_allclose(y, want_y, rtol=3e-6, atol=1e-6)
    np.testing.assert_allclose(dx, want_dx, rtol=3e-5, atol=1e-6)


@pytest.mark.parametrize("big", [1e4, 1e30, 3.4e38])
def test_softmax_rows_with_extreme_logits(isa, big):
    x = np.array(
        [[big, -big, 0.0], [big, big, big], [-big, -big, -big], [big, big, -big], [1.0, 2.0, big]],
        np.float32,
    )
    dy = np.array([1.0, -2.0, 0.5], np.float32) * np.ones_like(x)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    y = fastnn.ops.activation(x, "softmax")
    dx = fastnn.ops.activation_grad(dy, x, "softmax")
    assert np.isfinite(y).all() and np.isfinite(dx).all()
    np.testing.assert_allclose(y, p, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dx, p * (dy - (dy * p).sum(-1, keepdims=True)), atol=1e-6)


def test_gelu_gradient_beyond_float32_square(isa):
    """|x| > 1.8e19: x * x overflows, but the derivative is 1 (x > 0) or 0."""
    x = np.array([-3.4e38, -1e30, -2e19, 2e19, 1e30, 3.4e38], np.float32)
    dx = fastnn.ops.activation_grad(np.ones_like(x), x, "gelu")
    np.testing.assert_array_equal(dx, [0, 0, 0, 1, 1, 1])


# What NaN and +-inf give (dy = 1). Keras computes the same IEEE results from its
# formulas (e.g. softsign(inf) = inf / inf, silu(-inf) = -inf * 0). relu is
# torch.relu's x < 0 ? 0 : x (NaN stays NaN), and its gradient torch's
# x <= 0 ? 0 : dy (a NaN passes dy).
NAN = float("nan")
INF = float("inf")
#               f(nan) f(+inf) f(-inf)           f'(nan) f'(+inf) f'(-inf)
SPECIAL = {
    "linear": ((NAN, INF, -INF), (1.0, 1.0, 1.0)),
    "relu": ((NAN, INF, 0.0), (1.0, 1.0, 0.0)),
    "sigmoid": ((NAN, 1.0, 0.0), (NAN, 0.0, 0.0)),
    "tanh": ((NAN, 1.0, -1.0), (NAN, 0.0, 0.0)),
    "leaky_relu": ((NAN, INF, -INF), (0.2, 1.0, 0.2)),
    "elu": ((NAN, INF, -1.0), (NAN, 1.0, 0.0)),
    "selu": ((NAN, INF, -SELU_S * SELU_A), (NAN, SELU_S, 0.0)),
    "gelu": ((NAN, INF, NAN), (NAN, 1.0, 0.0)),
    "gelu_exact": ((NAN, INF, NAN), (NAN, NAN, NAN)),
    "silu": ((NAN, INF, NAN), (NAN, NAN, NAN)),
    "softplus": ((NAN, INF, 0.0), (NAN, 1.0, 0.0)),
    "softsign": ((NAN, NAN, NAN), (NAN, 0.0, 0.0)),
    "hard_sigmoid": ((NAN, 1.0, 0.0), (0.0, 0.0, 0.0)),
    "exponential": ((NAN, INF, 0.0), (NAN, INF, 0.0)),
    # Keras's formulas: mish(-inf) = -inf * tanh(0), hard_silu(-inf) = -inf * 0
    # (torch's piecewise hardswish gives 0 there)
    "mish": ((NAN, INF, NAN), (NAN, NAN, NAN)),
    "hard_silu": ((NAN, INF, NAN), (NAN, 1.0, 0.0)),
    # torch's kernels: a comparison that fails for NaN passes dy (celu: x <= 0,
    # hard_tanh: x <= -1 || x >= 1, the shrinks: -t <= x <= t); torch.where's
    # gradient of sparse_sigmoid's middle piece is 1/2
    "celu": ((NAN, INF, -1.0), (1.0, 1.0, 0.0)),
    "hard_tanh": ((NAN, 1.0, -1.0), (1.0, 0.0, 0.0)),
    "log_sigmoid": ((NAN, 0.0, -INF), (NAN, 0.0, 1.0)),
    "soft_shrink": ((NAN, INF, -INF), (1.0, 1.0, 1.0)),
    "hard_shrink": ((NAN, INF, -INF), (1.0, 1.0, 1.0)),
    "tanh_shrink": ((NAN, INF, -INF), (NAN, 1.0, 1.0)),
    "squareplus": ((NAN, INF, 0.0), (NAN, 1.0, 0.0)),
    "sparse_plus": ((NAN, INF, 0.0), (NAN, 1.0, 0.0)),
    "sparse_sigmoid": ((NAN, 1.0, 0.0), (0.5, 0.0, 0.0)),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_nan_and_inf_follow_the_documented_table(isa, name):
    x = np.array([NAN, INF, -INF] * 3, np.float32)  # 9: vector body and tail
    y = fastnn.ops.activation(x, name)
    dx = fastnn.ops.activation_grad(np.ones_like(x), x, name)
    want_y, want_dx = SPECIAL[name]
    np.testing.assert_allclose(y, np.array(want_y * 3, np.float32), rtol=1e-6)
    np.testing.assert_allclose(dx, np.array(want_dx * 3, np.float32), rtol=1e-6)


def test_softmax_nan_and_inf_rows(isa):
    x = np.array([[NAN, 0.0, 1.0], [INF, 0.0, 1.0], [-INF, 0.0, 0.0]], np.float32)
    y = fastnn.ops.activation(x, "softmax")
    assert np.isnan(y[0]).all()  # a NaN spreads over its row
    assert np.isnan(y[1]).all()  # inf - inf: NaN, as exp(x - max) in Keras
    np.testing.assert_allclose(y[2], [0.0, 0.5, 0.5])


# ----------------------------------------------------------------------------
# losses

LOSSES = [
    ("mean_squared_error", False),
    ("mean_absolute_error", False),
    ("huber", False),
    ("binary_crossentropy", False),
    ("binary_crossentropy", True),
    ("categorical_crossentropy", False),
    ("categorical_crossentropy", True),
    ("sparse_categorical_crossentropy", False),
    ("sparse_categorical_crossentropy", True),
]


def _torch_loss(torch, name, from_logits, o, y, c):
    """Keras 3 definitions (with its probability clipping), float64 autograd."""
    F = torch.nn.functional
    if name == "sparse_categorical_crossentropy":
        t = F.one_hot(torch.tensor(np.asarray(y, np.int64)), c).double()
        name = "categorical_crossentropy"
    else:
        t = torch.tensor(np.asarray(y, np.float64))
    if name == "mean_squared_error":
        per = ((o - t) ** 2).mean(-1)
    elif name == "mean_absolute_error":
        per = (o - t).abs().mean(-1)
    elif name == "huber":
        e = (o - t).abs()
        per = torch.where(e <= 1.0, 0.5 * e**2, e - 0.5).mean(-1)
    elif name == "binary_crossentropy":
        if from_logits:
            per = F.binary_cross_entropy_with_logits(o, t, reduction="none").mean(-1)
        else:
            p = o.clamp(EPS, ONE_MINUS_EPS)
            per = -(t * p.log() + (1 - t) * (1 - p).log()).mean(-1)
    elif from_logits:
        per = -(t * o.log_softmax(-1)).sum(-1)
    else:
        p = (o / o.sum(-1, keepdim=True)).clamp(EPS, ONE_MINUS_EPS)
        per = -(t * p.log()).sum(-1)
    return per.sum() / o.shape[0]


@pytest.mark.parametrize("name,from_logits", LOSSES)
@pytest.mark.parametrize("big", [1e4, 1e30])
def test_losses_at_extreme_outputs(name, from_logits, big):
    torch = pytest.importorskip("torch")
    c = 4
    probs = name != "mean_squared_error" and name != "mean_absolute_error" and name != "huber"
    probs = probs and not from_logits
    if probs:  # probabilities are >= 0; Keras renormalises categorical rows
        pred = np.array([[big, 0, 0, 0], [big, big, 1, 0], [0.5, 0.25, big, 1e-30]], np.float32)
    else:
        pred = np.array([[big, -big, 0, 1], [-big, -big, -big, -big], [big, big, 2, -3]])
        pred = pred.astype(np.float32)
    if name == "sparse_categorical_crossentropy":
        y = np.array([1, 0, 3])
    elif name == "categorical_crossentropy":
        y = np.eye(c, dtype=np.float32)[[1, 0, 3]]
    elif name == "binary_crossentropy":
        y = np.array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0]], np.float32)
    else:
        y = np.array([[0, 1, -1, 2], [3, 0, 0, 0], [1, 1, 1, 1]], np.float32)
    value, grad = fastnn.ops.loss(y, pred, name, from_logits=from_logits)
    assert math.isfinite(value) and np.isfinite(grad).all(), (value, grad)
    o = torch.tensor(pred.astype(np.float64), requires_grad=True)
    want = _torch_loss(torch, name, from_logits, o, y, c)
    want.backward()
    assert value == pytest.approx(want.item(), rel=1e-6)
    want_grad = o.grad.numpy()
    scale = max(1.0, float(np.abs(want_grad).max()))
    np.testing.assert_allclose(grad, want_grad.astype(np.float32), rtol=1e-5, atol=1e-6 * scale)


def test_huber_with_infinite_delta_is_half_the_squared_error():
    """Keras's branch form: |e| <= delta is e^2 / 2 for delta = inf (no inf * 0)."""
    t = np.array([[0.0, 1.0], [2.0, -3.0]], np.float32)
    o = np.array([[0.5, -1.0], [1e30, 0.0]], np.float32)
    e = o.astype(np.float64) - t
    for delta in (float("inf"), 1e300):  # 1e300 is inf in float32
        value, grad = fastnn.ops.loss(t, o, "huber", delta=delta)
        assert value == pytest.approx((0.5 * e**2).mean(-1).sum() / 2, rel=1e-12)
        np.testing.assert_allclose(grad, (e / 4).astype(np.float32), rtol=1e-7)


def test_loss_nan_output_gives_nan_loss():
    """A NaN output makes the loss NaN (TerminateOnNaN can see it)."""
    for name, from_logits in LOSSES:
        pred = np.array([[0.2, NAN, 0.3], [0.1, 0.2, 0.7]], np.float32)
        y = np.array([1, 2]) if name.startswith("sparse") else np.eye(3, dtype=np.float32)[[1, 2]]
        value, _ = fastnn.ops.loss(y, pred, name, from_logits=from_logits)
        assert math.isnan(value), name


def test_huber_gradient_of_a_nan_output_is_nan_as_torch():
    """torch.nn.functional.huber_loss (and Keras, whose where() takes the linear
    branch, delta * sign(NaN)) give a NaN output a NaN gradient, not -delta."""
    torch = pytest.importorskip("torch")
    pred = np.array([[0.2, NAN, 0.3], [0.1, INF, -INF]], np.float32)
    y = np.zeros((2, 3), np.float32)
    value, grad = fastnn.ops.loss(y, pred, "huber", delta=0.5)
    o = torch.tensor(pred.astype(np.float64), requires_grad=True)
    torch.nn.functional.huber_loss(o, torch.zeros(2, 3, dtype=torch.float64), delta=0.5).backward()
    assert math.isnan(value)
    np.testing.assert_array_equal(grad, o.grad.numpy().astype(np.float32))


def test_a_mean_loss_beyond_float32_logs_inf_without_a_numpy_warning(capsys):
    """Each sample's squared error (1e38) is finite in float32, but weighted by
    10 the mean is not: logs, History and batch logs hold inf, as Keras's
    float32 loss tracker does, and no RuntimeWarning escapes (pytest turns
    warnings into errors here). The mean absolute error stays finite."""
    from fastnn import callbacks, layers, models, optimizers

    model = models.Sequential([layers.Input((3,)), layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse", metrics=["mae"])
    x = np.ones((5, 3), np.float32)
    y = np.full((5, 1), 1e19, np.float32)
    sw = np.full(5, 10.0, np.float32)
    batch_logs = []
    record = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batch_logs.append(logs))
    history = model.fit(x, y, sample_weight=sw, batch_size=2, verbose=2, callbacks=[record])
    results = [
        model.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True),
        model.train_on_batch(x, y, sample_weight=sw, return_dict=True),
        model.test_on_batch(x, y, sample_weight=sw, return_dict=True),
        {k: v[0] for k, v in history.history.items()},
        *batch_logs,
    ]
    assert len(results) == 7
    for logs in results:
        assert logs["loss"] == math.inf
        assert logs["mae"] == pytest.approx(1e19, rel=1e-6)
    assert "loss: inf" in capsys.readouterr().out


@pytest.mark.parametrize(
    "y_true,y_pred",
    [
        ([[0.0]], [[1.0]]),
        ([[1.0]], [[0.0]]),
        ([[1.0, 0.0]], [[1.0, 0.0]]),
        ([[0.0, 1.0]], [[1.0, 0.0]]),
        ([[1.0, 0.0, 1.0]], [[0.99999994, 1e-9, 0.5]]),
    ],
)
def test_saturated_probabilities_lose_as_in_keras(y_true, y_pred):
    """Keras clips probabilities to [1e-7, 1 - 1e-7] with the upper bound in
    float32 (0.99999988): log(1 - p) of a saturated p is log(1.19e-7)."""
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    names = ["BinaryCrossentropy"] + ["CategoricalCrossentropy"] * (len(y_true[0]) > 1)
    for name in names:
        ours = getattr(fastnn.losses, name)()(y_true, y_pred)
        with keras_quiet():
            theirs = float(getattr(keras.losses, name)()(y_true, y_pred))
        assert ours == pytest.approx(theirs, rel=1e-6), name
