"""`model.losses` lists what Keras 3.15's does: before any forward pass the
weight penalties only; after one (``model(x)``, predict, evaluate, fit,
train_on_batch, ...) first each activity regularizer's penalty of that
pass's last batch divided by its rows (a Dense `activity_regularizer`, an
`ActivityRegularization` layer, frozen or not), in layer order, then the
weight penalties of the trainable weights. Compared with Keras on the same
weights."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn


def _build(lib):
    R = lib.regularizers
    return lib.Sequential(
        [
            lib.layers.Input((3,)),
            lib.layers.Dense(
                4,
                activation="tanh",
                kernel_regularizer=R.L2(0.1),
                bias_regularizer=R.L1(0.2),
                activity_regularizer=R.L2(0.3),
                name="a",
            ),
            lib.layers.ActivityRegularization(l1=0.01, l2=0.02, name="ar"),
            lib.layers.Dense(2, kernel_regularizer=R.L1(0.05), name="b"),
            lib.layers.ActivityRegularization(name="zero"),  # l1 = l2 = 0: a loss of 0
        ]
    )


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3)).astype(np.float32)
    return x, rng.standard_normal((7, 2)).astype(np.float32)


def _losses(lib, model) -> list:
    if lib is fastnn:
        return list(model.losses)
    return [float(lib.ops.convert_to_numpy(v)) for v in model.losses]


def _layer_losses(lib, model) -> list:
    """Each layer's `losses`, as one list: per layer its count, then its values."""
    out = []
    for layer in model.layers:
        values = [float(lib.ops.convert_to_numpy(v)) for v in layer.losses]
        out += [float(len(values))] + values
    return out


def _sequence(lib, weights, read=_losses) -> dict:
    """model.losses (or what `read` reads) after each step of a script, from `weights`."""
    x, y = _data()
    seen = {}
    model = _build(lib)
    model.set_weights(weights)
    seen["before"] = read(lib, model)
    model(x)
    seen["call"] = read(lib, model)
    model(x[:2])
    seen["call on 2 rows"] = read(lib, model)
    model.predict(x, batch_size=3, verbose=0)  # last batch: 1 row
    seen["predict"] = read(lib, model)
    model.compile(lib.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=4, shuffle=False, verbose=0)  # last step's weights before it
    seen["fit"] = read(lib, model)
    model.evaluate(x[:5], y[:5], batch_size=2, verbose=0)
    seen["evaluate"] = read(lib, model)
    model.fit(x, y, batch_size=7, verbose=0, validation_data=(x[:3], y[:3]))
    seen["fit with validation"] = read(lib, model)
    model.train_on_batch(x[:6], y[:6])
    seen["train_on_batch"] = read(lib, model)
    model.predict_on_batch(x[2:])
    seen["predict_on_batch"] = read(lib, model)
    model.layers[0].trainable = False  # its kernel and bias penalties leave; its activity stays
    model.test_on_batch(x, y)
    seen["frozen, test_on_batch"] = read(lib, model)
    return seen


def test_model_losses_are_keras_s_through_a_script():
    keras = keras_or_skip()
    fastnn.utils.set_random_seed(4)
    weights = _build(fastnn).get_weights()
    with keras_quiet():
        theirs = _sequence(keras, weights)
    ours = _sequence(fastnn, weights)
    assert list(ours) == list(theirs)
    for step in theirs:
        assert len(ours[step]) == len(theirs[step]), step
        np.testing.assert_allclose(ours[step], theirs[step], rtol=2e-5, atol=1e-7, err_msg=step)
    assert len(theirs["before"]) == 3 and len(theirs["call"]) == 6
    assert len(theirs["frozen, test_on_batch"]) == 4


def test_layer_losses_are_keras_s_through_a_script():
    """`layer.losses` of each layer (its activity penalty of the model's last
    pass, then its weights' penalties while it trains), step by step as Keras's."""
    keras = keras_or_skip()
    fastnn.utils.set_random_seed(4)
    weights = _build(fastnn).get_weights()
    with keras_quiet():
        theirs = _sequence(keras, weights, _layer_losses)
    ours = _sequence(fastnn, weights, _layer_losses)
    assert list(ours) == list(theirs)
    for step in theirs:
        assert len(ours[step]) == len(theirs[step]), step
        np.testing.assert_allclose(ours[step], theirs[step], rtol=2e-5, atol=1e-7, err_msg=step)
    # layer a: its activity penalty, kernel and bias penalties after a call; frozen: activity only
    assert theirs["call"][:4] == [3.0, *theirs["call"][1:4]]
    assert theirs["frozen, test_on_batch"][0] == 1.0


def test_activity_losses_follow_keras_s_documented_formula():
    # without Keras: penalty(y) / rows of the last call, before the weight penalties
    fastnn.utils.set_random_seed(4)
    model = _build(fastnn)
    x, _ = _data()
    assert len(model.losses) == 3  # the weight penalties only
    model(x[:3])
    kernel, bias = model.layers[0].get_weights()
    hidden = np.tanh(x[:3].astype(np.float64) @ kernel + bias)
    expected = [
        0.3 * np.sum(hidden**2) / 3,
        (0.01 * np.sum(np.abs(hidden)) + 0.02 * np.sum(hidden**2)) / 3,
        0.0,
    ]
    assert model.losses[:3] == pytest.approx(expected, rel=1e-5)
    second = model.layers[2].get_weights()[0].astype(np.float64)
    penalties = [0.1 * np.sum(kernel.astype(np.float64) ** 2), 0.2 * np.sum(np.abs(bias))]
    assert model.losses[3:] == pytest.approx(penalties + [0.05 * np.sum(np.abs(second))], rel=1e-5)
