"""float64 definitions of every activation (keras.activations) and of its
derivative: the references the activation tests compare fastnn against."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DERIVATIVE", "FORWARD", "SELU_A", "SELU_S", "SQ2PI"]

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
}
