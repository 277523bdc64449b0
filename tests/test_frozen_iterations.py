"""With no weight that trains (every layer frozen, the model frozen, or no
weights at all), Keras 3.15's train step applies no optimizer step: its
``optimizer.iterations`` stays, and so does everything keyed to it (Adam's
bias correction, a schedule's rate) once the model is unfrozen. Compared
with Keras (torch backend) on the same weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn

FREEZES = ["every layer", "the model", "no weights"]


def _build(lib, freeze: str):
    if freeze == "no weights":
        return lib.Sequential([lib.layers.Input((3,)), lib.layers.Activation("tanh")])
    model = lib.Sequential(
        [
            lib.layers.Input((3,)),
            lib.layers.Dense(4, activation="relu"),
            lib.layers.BatchNormalization(),
            lib.layers.Dense(3),
        ]
    )
    if freeze == "the model":
        model.trainable = False
    else:
        for layer in model.layers:
            layer.trainable = False
    return model


def _data():
    rng = np.random.default_rng(2)
    return rng.standard_normal((10, 3)).astype(np.float32), rng.standard_normal((10, 3))


def _run(lib, freeze: str, weights) -> dict:
    x, y = _data()
    model = _build(lib, freeze)
    model.set_weights(weights)
    rate = lib.optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    model.compile(lib.optimizers.Adam(rate), "mse")
    fresh = lib.optimizers.Adam(rate)
    seen = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        model.train_on_batch(x, y)
    seen["warned"] = any("does not have any trainable weights" in str(w.message) for w in caught)
    seen["frozen iterations"] = int(np.asarray(model.optimizer.iterations))
    seen["frozen weights"] = [np.array(w) for w in model.get_weights()]
    # unfrozen: the first real step is step 1 (bias correction, schedule at 0).
    # Keras's optimizer, built on no variable when the model was frozen, refuses
    # the unfrozen ones ("Unknown variable"): Keras goes on with a new one, which
    # fastnn's, after its uncounted steps, must equal.
    model.trainable = True
    for layer in model.layers:
        layer.trainable = True
    model.compile(model.optimizer if lib is fastnn else fresh, "mse")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The model does not have any trainable weights")
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    seen["iterations"] = int(np.asarray(model.optimizer.iterations))
    seen["loss"] = history.history["loss"]
    seen["weights"] = [np.array(w) for w in model.get_weights()]
    return seen


@pytest.mark.parametrize("freeze", FREEZES)
def test_nothing_trains_nothing_counts_as_keras(freeze):
    keras = keras_or_skip()
    fastnn.utils.set_random_seed(5)
    weights = _build(fastnn, freeze).get_weights()
    with keras_quiet():
        theirs = _run(keras, freeze, weights)
    ours = _run(fastnn, freeze, weights)
    assert ours["warned"] and theirs["warned"]
    assert ours["frozen iterations"] == theirs["frozen iterations"] == 0
    for a, b, w in zip(ours["frozen weights"], theirs["frozen weights"], weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # (BatchNorm's moving stats stay)
        np.testing.assert_array_equal(a, w)
    assert ours["iterations"] == theirs["iterations"] == (0 if freeze == "no weights" else 6)
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5)
    for a, b in zip(ours["weights"], theirs["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_frozen_steps_leave_the_optimizer_as_it_was_without_keras():
    # the documented rule, without Keras: no trainable weight, no step counted
    x, y = _data()
    model = _build(fastnn, "every layer")
    model.compile("adam", "mse")
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        model.fit(x, y, batch_size=4, epochs=3, verbose=0)
    assert model.optimizer.iterations == 0
    kernel = model.optimizer._kernel  # the engine's slots (m and v over every weight)
    assert kernel is not None and len(kernel.slot_names) == 2
    for i in range(len(kernel.slot_names)):
        assert not np.any(kernel.slot(i)), kernel.slot_names[i]  # no slot moved
    model.layers[-1].trainable = True  # one layer trains: every step counts again
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert model.optimizer.iterations == 3
