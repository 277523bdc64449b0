"""The learning rate is the float32 value Keras 3 holds in its variable:
``float(Adam().learning_rate)`` is 0.0010000000474974513, in the optimizer's
config, ``learning_rate.numpy()``, the History, what LearningRateScheduler and
ReduceLROnPlateau read and write, and a schedule's value."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import optimizers

RATE = 0.0010000000474974513  # float(np.float32(0.001)), Keras's float(Adam().learning_rate)


def _run(lib) -> dict:
    """What a script sees of the learning rate in `lib` (Keras or fastnn)."""
    seen = {}
    opt = lib.optimizers.Adam()
    seen["float"] = float(opt.learning_rate)
    seen["config"] = opt.get_config()["learning_rate"]
    opt.learning_rate = 0.1
    seen["assigned"] = (float(opt.learning_rate), opt.get_config()["learning_rate"])
    decay = lib.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    seen["schedule"] = float(lib.optimizers.SGD(learning_rate=decay).learning_rate)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = lib.Sequential([lib.layers.Input((3,)), lib.layers.Dense(1)])
    model.compile(lib.optimizers.SGD(0.003), "mse")
    seen["numpy"] = model.optimizer.learning_rate.numpy()
    scheduler_saw = []

    def schedule(epoch, lr):
        scheduler_saw.append(lr)
        return lr

    history = model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        callbacks=[
            lib.callbacks.LearningRateScheduler(schedule),
            # min_delta=10: no epoch improves, so every epoch halves the rate
            lib.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10),
        ],
    )
    seen["scheduler"] = scheduler_saw
    seen["history"] = history.history["learning_rate"]
    seen["after"] = float(model.optimizer.learning_rate)
    return seen


def test_learning_rate_is_the_float32_value_as_keras():
    keras = keras_or_skip()
    with keras_quiet():
        theirs = _run(keras)
    ours = _run(fastnn)
    assert ours["float"] == theirs["float"] == RATE
    for key in ("config", "assigned", "schedule", "scheduler", "history", "after"):
        assert ours[key] == theirs[key], key
    assert ours["numpy"].dtype == theirs["numpy"].dtype == np.float32
    assert ours["numpy"] == theirs["numpy"]


def test_learning_rate_values_are_keras_s_documented_float32():
    # without Keras: its values are float32's (0.001 -> 0.0010000000474974513)
    opt = optimizers.Adam()
    assert float(opt.learning_rate) == opt.get_config()["learning_rate"] == RATE
    opt.learning_rate = 0.1
    assert float(opt.learning_rate) == 0.10000000149011612
    assert optimizers.Adam.from_config(opt.get_config()).learning_rate == 0.10000000149011612
    seen = _run(fastnn)  # Keras 3.15's figures for the same run
    assert seen["history"] == [0.003000000026077032, 0.003000000026077032, 0.001500000013038516]
    assert seen["scheduler"] == seen["history"] and seen["after"] == 0.000750000006519258


def test_a_rate_beyond_float32_is_refused():
    with pytest.raises(ValueError, match="exceeds float32's range"):
        optimizers.SGD(learning_rate=1e39)
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="exceeds float32's range"):
        opt.learning_rate = 1e39
    assert opt.learning_rate == 0.009999999776482582  # unchanged
    with pytest.raises(ValueError, match="exceeds float32's range"):
        optimizers.SGD(learning_rate=lambda: 1e39).learning_rate  # noqa: B018
    with pytest.raises(ValueError, match="exceeds float32's range"):
        fastnn.ops.sgd_update(np.zeros(2, np.float32), np.ones(2, np.float32), learning_rate=1e39)


def test_the_raw_kernels_take_the_rate_as_the_optimizers_do():
    # ops.adam_update(learning_rate=0.01) is Adam(0.01)'s step, bit for bit
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(37).astype(np.float32)
    g = rng.standard_normal(37).astype(np.float32)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    fastnn.ops.adam_update(p, g, m, v, 1, learning_rate=0.01)
    ours = p0.copy()
    optimizers.Adam(0.01).apply_gradients([(g, ours)])
    assert ours.tobytes() == p.tobytes()
