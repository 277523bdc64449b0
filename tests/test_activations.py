"""Activations forward and backward against float64 references, every ISA."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastnn

from activation_reference import FORWARD, MORE, log_softmax

SQ2PI = math.sqrt(2.0 / math.pi)
SELU_A = 1.6732632423543772
SELU_S = 1.0507009873554805


def _sigmoid(x):
    return np.where(
        x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x)))
    )


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[np.float64])(x)


# name -> float64 reference (elementwise kinds)
REFS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(SQ2PI * (x + 0.044715 * x**3))),
    "gelu_exact": lambda x: 0.5 * x * _erfc(-x / math.sqrt(2)),
    "silu": lambda x: x * _sigmoid(x),
    "softplus": lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
}
REFS.update({name: FORWARD[name] for name in MORE})
ELEMENTWISE = sorted(REFS)
ALL = ELEMENTWISE + ["softmax", "log_softmax"]
# where f' jumps: central differences need x away from these
KINKS = {
    "relu": [0.0],
    "leaky_relu": [0.0],
    "hard_sigmoid": [-3.0, 3.0],
    "hard_silu": [-3.0, 3.0],
    "hard_tanh": [-1.0, 1.0],
    "soft_shrink": [-0.5, 0.5],
    "hard_shrink": [-0.5, 0.5],
    "sparse_sigmoid": [-1.0, 1.0],
}


def _softmax64(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _ref(name, x):
    rowwise = {"softmax": _softmax64, "log_softmax": log_softmax}
    return rowwise[name](x) if name in rowwise else REFS[name](x)


def _numeric_grad(name, x, dy, h=1e-6):
    """Central differences in float64 of sum(dy * f(x)) w.r.t. x."""
    if name in ("softmax", "log_softmax"):
        g = np.zeros_like(x)
        for i in range(x.shape[-1]):
            e = np.zeros_like(x)
            e[..., i] = h
            g[..., i] = np.sum(dy * (_ref(name, x + e) - _ref(name, x - e)), axis=-1) / (2 * h)
        return g
    return dy * (_ref(name, x + h) - _ref(name, x - h)) / (2 * h)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (5, 7), (3, 37), (64, 19), (2, 8200)])
def test_forward_matches_float64(isa, rng, name, shape):
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    y = fastnn.ops.activation(x, name)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, _ref(name, x.astype(np.float64)), rtol=3e-6, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (13, 37)])
def test_backward_matches_central_differences(isa, rng, name, shape):
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    for kink in KINKS.get(name, []):
        x[np.abs(x - kink) < 1e-3] = 0.25  # away from the kinks
    dy = rng.standard_normal(shape).astype(np.float32)
    dx = fastnn.ops.activation_grad(dy, x, name)
    expected = _numeric_grad(name, x.astype(np.float64), dy.astype(np.float64))
    np.testing.assert_allclose(dx, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", ALL)
def test_backward_matches_torch_autograd(isa, rng, name):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((9, 23)) * 2).astype(np.float32)
    dy = rng.standard_normal((9, 23)).astype(np.float32)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    fns = {
        "linear": lambda t: t,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softmax": lambda t: torch.softmax(t, -1),
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2),
        "elu": torch.nn.functional.elu,
        "selu": torch.nn.functional.selu,
        "gelu": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
        "gelu_exact": torch.nn.functional.gelu,
        "silu": torch.nn.functional.silu,
        "softplus": torch.nn.functional.softplus,
        "softsign": torch.nn.functional.softsign,
        "hard_sigmoid": lambda t: torch.clamp(t / 6 + 0.5, 0, 1),
        "exponential": torch.exp,
        "mish": torch.nn.functional.mish,
        "hard_silu": torch.nn.functional.hardswish,
        # Keras 3's torch backend (keras/src/backend/torch/nn.py)
        "celu": torch.nn.functional.celu,
        "hard_tanh": torch.nn.functional.hardtanh,
        "log_sigmoid": torch.nn.functional.logsigmoid,
        "soft_shrink": lambda t: torch.nn.functional.softshrink(t, 0.5),
        "hard_shrink": lambda t: torch.nn.functional.hardshrink(t, 0.5),
        "tanh_shrink": torch.nn.functional.tanhshrink,
        "squareplus": lambda t: (t + torch.sqrt(t**2 + 4)) / 2,
        "sparse_plus": lambda t: torch.where(
            t <= -1, torch.zeros_like(t), torch.where(t < 1, (1 / 4) * (t + 1) ** 2, t)
        ),
        "sparse_sigmoid": lambda t: torch.where(
            t <= -1, torch.zeros_like(t), torch.where(t >= 1, torch.ones_like(t), 0.5 * (t + 1))
        ),
        "log_softmax": lambda t: torch.log_softmax(t, -1),
    }
    y = fns[name](xt)
    y.backward(torch.tensor(dy.astype(np.float64)))
    np.testing.assert_allclose(
        fastnn.ops.activation(x, name), y.detach().numpy(), rtol=3e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        fastnn.ops.activation_grad(dy, x, name), xt.grad.numpy(), rtol=2e-5, atol=2e-6
    )


@pytest.mark.parametrize("name", ALL)
def test_stable_for_large_inputs(isa, name):
    x = np.array([[-1e4, -300.0, -88.5, -50.0, 0.0, 50.0, 88.5, 300.0, 1e4]], np.float32)
    y = fastnn.ops.activation(x, name)
    dx = fastnn.ops.activation_grad(np.ones_like(x), x, name)
    assert not np.isnan(y).any() and not np.isnan(dx).any()
    if name != "exponential":
        assert np.isfinite(y[:, :7]).all()
    with np.errstate(over="ignore"):
        expected = _ref(name, x.astype(np.float64)).astype(np.float32)
    np.testing.assert_allclose(y, expected, rtol=3e-6, atol=1e-6)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_isas_agree_within_ulps(rng, name):
    from fastnn import _core

    x = np.concatenate([rng.standard_normal(1003) * 4, rng.uniform(-90, 90, 1003)]).astype(
        np.float32
    )
    results = {}
    previous = _core.active_isa()
    try:
        for isa_name in _core.available_isas():
            _core.set_isa(isa_name)
            results[isa_name] = fastnn.ops.activation(x, name)
    finally:
        _core.set_isa(previous)
    base = results["generic"]
    for other in results.values():
        np.testing.assert_allclose(other, base, rtol=2e-6, atol=1e-7)


def test_softmax_rows_sum_to_one_and_nan_propagates(isa, rng):
    x = (rng.standard_normal((7, 11)) * 50).astype(np.float32)
    np.testing.assert_allclose(fastnn.ops.activation(x, "softmax").sum(-1), 1.0, rtol=1e-6)
    y = fastnn.ops.activation(np.array([np.nan, 1.0, -1.0], np.float32), "sigmoid")
    assert np.isnan(y[0]) and np.isfinite(y[1:]).all()


def test_any_layout_and_dtype(isa, rng):
    x = np.asfortranarray(rng.standard_normal((6, 9)))
    np.testing.assert_allclose(fastnn.ops.activation(x, "softmax"), _softmax64(x), rtol=3e-6)
    strided = x[::2, ::3]
    np.testing.assert_allclose(
        fastnn.ops.activation(strided, "tanh"), np.tanh(strided), rtol=3e-6, atol=1e-7
    )
    ints = np.arange(-3, 4)
    np.testing.assert_allclose(fastnn.ops.activation(ints, "relu"), np.maximum(ints, 0))


def test_swish_alias_and_bad_names():
    x = np.linspace(-3, 3, 11, dtype=np.float32)
    np.testing.assert_array_equal(
        fastnn.ops.activation(x, "swish"), fastnn.ops.activation(x, "silu")
    )
    with pytest.raises(ValueError, match="Unknown activation 'relux'"):
        fastnn.ops.activation(x, "relux")
    with pytest.raises(ValueError, match="same shape"):
        fastnn.ops.activation_grad(x[:3], x, "relu")
    with pytest.raises(TypeError):
        fastnn.ops.activation(np.array(["a"]), "relu")


@pytest.mark.parametrize("name", ["gelu_exact", "sigmoid", "softplus", "exponential", "silu"])
def test_lower_tail_keeps_relative_accuracy(isa, name):
    # tiny but normal results: no absolute tolerance hides a cancellation
    x = np.linspace(-12.0 if name == "gelu_exact" else -80.0, -3.0, 997).astype(np.float32)
    y = fastnn.ops.activation(x, name)
    np.testing.assert_allclose(y, _ref(name, x.astype(np.float64)), rtol=2e-6, atol=0)
    if name == "gelu_exact":
        dy = np.ones_like(x)
        dx = fastnn.ops.activation_grad(dy, x, name)
        x64 = x.astype(np.float64)
        expected = 0.5 * _erfc(-x64 / math.sqrt(2)) + x64 * np.exp(-0.5 * x64**2) / math.sqrt(
            2 * math.pi
        )
        np.testing.assert_allclose(dx, expected, rtol=5e-5, atol=1e-30)


def _gelu_exact_grid():
    """Every 97th float32 in [-20, 20] (densest near 0) and a linear grid: both
    tails, down to where Phi(x) and then x Phi(x) are subnormal (x < -13.1)."""
    bits = np.arange(0, 0x41A00001, 97, dtype=np.uint32).view(np.float32)
    return np.concatenate([bits, -bits, np.linspace(-20, 20, 200001, dtype=np.float32)])


# x from, to: forward, derivative tolerance in ulps of the float32 result
# (derivative: of max(|f'(x)|, Phi(x)), as its root near -0.75 cancels). Max
# on this grid: the AVX2 kernel with two exponentials 15.1 / 15.8 (x Phi(x) from
# a subnormal Phi below -13), 7.4 / 7.2, 7.0 / 7.6, 2.2 / 1.1; the one with one
# exponential 5.9 / 4.6, 5.4 / 4.7, 4.8 / 5.2, 1.3 / 0.9; generic (double) 0.5.
GELU_EXACT_ULPS = [
    (-np.inf, -10.0, 17.0, 17.0),
    (-10.0, -0.5, 9.0, 10.0),
    (-0.5, 1.0, 8.0, 10.0),
    (1.0, np.inf, 3.0, 2.0),
]


def _ulps(got, want, scale):
    spacing = np.spacing(np.abs(scale).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / spacing


def test_gelu_exact_and_its_derivative_within_ulps_on_a_dense_grid_with_both_tails(isa):
    x = _gelu_exact_grid()
    x64 = x.astype(np.float64)
    cdf = 0.5 * _erfc(-x64 / math.sqrt(2))
    d = cdf + x64 * np.exp(-0.5 * x64**2) / math.sqrt(2 * math.pi)
    fwd = _ulps(fastnn.ops.activation(x, "gelu_exact"), x64 * cdf, x64 * cdf)
    grad = _ulps(
        fastnn.ops.activation_grad(np.ones_like(x), x, "gelu_exact"), d, np.maximum(np.abs(d), cdf)
    )
    for lo, hi, fwd_ulps, grad_ulps in GELU_EXACT_ULPS:
        part = (x >= lo) & (x < hi)
        assert fwd[part].max() <= fwd_ulps, (lo, hi, x[part][fwd[part].argmax()])
        assert grad[part].max() <= grad_ulps, (lo, hi, x[part][grad[part].argmax()])


@pytest.mark.parametrize(
    "name,param,coef", [("elu", None, 1.0), ("elu", 0.5, 0.5), ("selu", None, SELU_S * SELU_A)]
)
def test_elu_selu_gradient_keeps_relative_accuracy_in_the_lower_tail(isa, name, param, coef):
    # f'(x) = coef * exp(x) for x <= 0, as torch's elu backward computes it; read
    # from the output (y + coef) it cancels: 2.6 % off at x = -15, 0 below -17
    x = np.linspace(-80.0, 0.0, 1001).astype(np.float32)  # results stay normal floats
    dy = np.where(np.arange(x.size) % 2 == 0, 1.0, -2.5).astype(np.float32)
    dx = fastnn.ops.activation_grad(dy, x, name, param)
    expected = dy * coef * np.exp(x.astype(np.float64))
    np.testing.assert_allclose(dx, expected, rtol=4e-6, atol=0)


def test_hard_sigmoid_keeps_relative_accuracy_near_minus_three(isa):
    # (x + 3) / 6 as torch's hardsigmoid (Keras's torch backend): x + 3 is exact
    # there, where x / 6 + 0.5 cancels (relative error 1e-3 at x = -2.99999)
    x = np.linspace(-3.0, -2.9, 1001).astype(np.float32)[1:]
    y = fastnn.ops.activation(x, "hard_sigmoid")
    np.testing.assert_allclose(y, (x.astype(np.float64) + 3.0) / 6.0, rtol=2e-7, atol=0)


def test_gelu_tanh_form_keeps_relative_accuracy_in_the_lower_tail(isa):
    # 0.5 x (1 + tanh u) = x sigmoid(2u): 1 + tanh u cancels as u -> -inf
    # (30 % off at x = -5, 0 below -5.5 where the value is still a normal float).
    # The float32 rounding of 2u (|2u| <= 87 here) bounds the error: |2u| eps.
    x = np.linspace(-9.5, -3.0, 997).astype(np.float32)
    x64 = x.astype(np.float64)
    w = 2 * SQ2PI * (x64 + 0.044715 * x64**3)  # 2u
    s = _sigmoid(w)
    y = fastnn.ops.activation(x, "gelu")
    np.testing.assert_allclose(y, x64 * s, rtol=1.5e-5, atol=0)
    dx = fastnn.ops.activation_grad(np.ones_like(x), x, "gelu")
    dw = 2 * SQ2PI * (1 + 3 * 0.044715 * x64**2)
    np.testing.assert_allclose(dx, s + x64 * dw * s * _sigmoid(-w), rtol=2e-5, atol=0)


def test_swish_is_named_silu_in_layers_as_keras():
    # Keras 3: "swish" is silu, and layers report and save it as "silu".
    dense = fastnn.layers.Dense(3, activation="swish")
    assert dense.activation == "silu" and dense.get_config()["activation"] == "silu"
    assert fastnn.layers.Activation("swish").get_config()["activation"] == "silu"
    assert fastnn.activations.serialize(fastnn.activations.swish) == "silu"
