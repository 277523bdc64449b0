"""float64 definitions of every activation (keras.activations) and of its
derivative: the references the activation tests compare fastnn against."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DERIVATIVE", "FORWARD", "MORE", "SELU_A", "SELU_S", "SQ2PI"]

SQ2PI = math.sqrt(2.0 / math.pi)
SELU_A = 1.6732632423543772
SELU_S = 1.0507009873554805


def _sigmoid(x):  # stable for |x| up to float64's range
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _phi(x):
    return 0.5 * np.vectorize(math.erfc, otypes=[np.float64])(-x / math.sqrt(2))


def _gelu_t(x):
    return np.tanh(SQ2PI * (x + 0.044715 * x**3))


def celu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha))


def celu_derivative(x, alpha=1.0):  # torch's: x <= 0 ? exp(x / alpha) : 1 (NaN: 1)
    return np.where(x <= 0, np.exp(np.minimum(x, 0) / alpha), 1.0)


def soft_shrink(x, threshold=0.5):
    return np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0 * x))


def hard_shrink(x, threshold=0.5):
    return np.where((x >= -threshold) & (x <= threshold), 0.0, x)


def shrink_derivative(x, threshold=0.5):  # torch's: 0 on [-t, t] (NaN: 1)
    return np.where((x >= -threshold) & (x <= threshold), 0.0, 1.0)


def tanh_shrink(x):  # x - tanh(x), by its Taylor series near 0 (no cancellation)
    z = x * x
    series = x * z * sum(c * z**k for k, c in enumerate(_TANH_SHRINK_TAYLOR))
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(x) < 0.05, series, x - np.tanh(x))


# x - tanh(x) = sum_k c_k x^(2k + 3): 2^(2n) (2^(2n) - 1) |B_2n| / (2n)!, n = k + 2
_TANH_SHRINK_TAYLOR = [1 / 3, -2 / 15, 17 / 315, -62 / 2835, 1382 / 155925, -21844 / 6081075]


def squareplus(x, b=4.0):
    s = np.hypot(x, math.sqrt(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x >= 0, (x + s) / 2, (b / 2) / (s - x))


def squareplus_derivative(x, b=4.0):
    s = np.hypot(x, math.sqrt(b))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.where(x >= 0, (1 + x / s) / 2, (b / 2) / (s * (s - x)))


def log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# float64 definitions (keras.activations) and their derivatives
FORWARD = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1 + _gelu_t(x)),
    "gelu_exact": lambda x: x * _phi(x),
    "silu": lambda x: x * _sigmoid(x),
    "softplus": lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "celu": celu,
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "log_sigmoid": lambda x: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
    "soft_shrink": soft_shrink,
    "hard_shrink": hard_shrink,
    "tanh_shrink": tanh_shrink,
    "squareplus": squareplus,
    "sparse_plus": lambda x: np.where(x <= -1, 0.0, np.where(x < 1, (x + 1) ** 2 / 4, x)),
    "sparse_sigmoid": lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, (x + 1) / 2)),
}
DERIVATIVE = {
    "linear": lambda x: np.ones_like(x),
    "relu": lambda x: np.where(x <= 0, 0.0, 1.0),  # NaN passes dy, as torch
    "sigmoid": lambda x: _sigmoid(x) * _sigmoid(-x),
    "tanh": lambda x: 1.0 / np.cosh(np.minimum(np.abs(x), 700)) ** 2,
    "leaky_relu": lambda x: np.where(x > 0, 1.0, 0.2),
    "elu": lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))),
    "selu": lambda x: SELU_S * np.where(x > 0, 1.0, SELU_A * np.exp(np.minimum(x, 0))),
    "gelu": lambda x: (
        0.5 * (1 + _gelu_t(x)) + 0.5 * x * (1 - _gelu_t(x) ** 2) * SQ2PI * (1 + 3 * 0.044715 * x**2)
    ),
    "gelu_exact": lambda x: _phi(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi),
    "silu": lambda x: _sigmoid(x) * (1 + x * _sigmoid(-x)),
    "softplus": _sigmoid,
    "softsign": lambda x: 1.0 / (1 + np.abs(x)) ** 2,
    "hard_sigmoid": lambda x: np.where((x > -3) & (x < 3), 1 / 6, 0.0),
    "exponential": np.exp,
    "mish": lambda x: (
        np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))
        + x * (1 - np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))) ** 2) * _sigmoid(x)
    ),
    "hard_silu": lambda x: np.clip(x / 6 + 0.5, 0, 1) + np.where((x > -3) & (x < 3), x / 6, 0.0),
    "celu": celu_derivative,
    "hard_tanh": lambda x: np.where((x <= -1) | (x >= 1), 0.0, 1.0),  # NaN: 1, as torch
    "log_sigmoid": lambda x: _sigmoid(-x),
    "soft_shrink": shrink_derivative,
    "hard_shrink": shrink_derivative,
    "tanh_shrink": lambda x: np.tanh(x) ** 2,
    "squareplus": squareplus_derivative,
    "sparse_plus": lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, (x + 1) / 2)),
    "sparse_sigmoid": lambda x: np.where((x <= -1) | (x >= 1), 0.0, 0.5),
}

# The kinds Keras 3's other activations added (tests/test_activations_more.py)
MORE = ["celu", "hard_tanh", "log_sigmoid", "soft_shrink", "hard_shrink", "tanh_shrink"]
MORE += ["squareplus", "sparse_plus", "sparse_sigmoid"]
