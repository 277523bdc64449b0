"""Small models the saving tests build on both sides (fastnn and Keras, under
the same names), so that their files can be compared."""

from __future__ import annotations

import fastnn
from fastnn import layers, models


def mlp(dropout=True, seed=3):
    """The network both sides build under the same names: 4-6(relu)-[drop]-norm-3(softmax)."""
    fastnn.utils.set_random_seed(seed)
    parts = [layers.Input(shape=(4,)), layers.Dense(6, activation="relu", name="hidden")]
    if dropout:
        parts.append(layers.Dropout(0.25, name="drop"))
    parts += [
        layers.BatchNormalization(name="norm"),
        layers.Dense(3, activation="softmax", name="probs"),
    ]
    return models.Sequential(parts, name="mlp")


def chain(seed=4, noise=False):
    """A functional chain (uncompiled): Input 'features' -> Dense 'h' (tanh)
    -> [GaussianNoise 'noise'] -> Dense 'logits'."""
    fastnn.utils.set_random_seed(seed)
    inputs = layers.Input(shape=(4,), name="features")
    h = layers.Dense(6, activation="tanh", name="h")(inputs)
    if noise:
        h = layers.GaussianNoise(0.1, name="noise")(h)
    outputs = layers.Dense(3, name="logits")(h)
    return models.Model(inputs, outputs, name="chain")
