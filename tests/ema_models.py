"""The small network the use_ema tests train in fastnn and in Keras 3
(tests/test_optimizer_ema.py, tests/test_swap_ema_weights.py), and its data."""

from __future__ import annotations

import numpy as np

import fastnn
from fastnn import layers


def fastnn_mlp(seed=3):
    fastnn.utils.set_random_seed(seed)
    return fastnn.Sequential(
        [
            fastnn.Input((6,)),
            layers.Dense(8, activation="tanh", name="hidden"),
            layers.Dense(3, name="out"),
        ],
        name="net",
    )


def keras_mlp(keras, weights):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="tanh", name="hidden"),
            keras.layers.Dense(3, name="out"),
        ],
        name="net",
    )
    model.set_weights(weights)
    return model


def regression_data(seed=0, rows=40):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 6)).astype(np.float32)
    y = rng.standard_normal((rows, 3)).astype(np.float32)
    return x, y
