"""An activation layer given as a Dense layer's `activation`
(``Dense(64, activation=LeakyReLU(0.2))``), as Keras 3 takes it: training
against Keras 3.15, eager calls, configs and `.keras` files both ways."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, layers

from activation_reference import MORE

CASES = [
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("ReLU", {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.05}),
    ("ELU", {"alpha": 0.5}),
    ("Activation", {"activation": "tanh"}),
]


def models(keras, name, kwargs, seed=4):
    fastnn.utils.set_random_seed(seed)
    ours = fastnn.Sequential(
        [
            Input((6,)),
            layers.Dense(8, activation=getattr(layers, name)(**kwargs)),
            layers.Dense(3, activation=layers.Softmax()),
        ]
    )
    with keras_quiet():
        theirs = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(8, activation=getattr(keras.layers, name)(**kwargs)),
                keras.layers.Dense(3, activation=keras.layers.Softmax()),
            ]
        )
        theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c))
def test_training_with_an_activation_layer_matches_keras(rng, name, kwargs):
    keras = keras_or_skip()
    x = rng.standard_normal((40, 6)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    ours, theirs = models(keras, name, kwargs)
    with keras_quiet():
        expected_pred = theirs.predict(x, verbose=0)
        theirs.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        expected = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
        expected_weights = theirs.get_weights()
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected_pred, rtol=1e-5, atol=1e-6)
    ours.compile(fastnn.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    history = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), expected_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c))
def test_eager_call_config_and_files_with_an_activation_layer(rng, tmp_path, name, kwargs):
    keras = keras_or_skip()
    x = rng.standard_normal((5, 6)).astype(np.float32)
    ours, theirs = models(keras, name, kwargs)
    dense = ours.layers[0]
    with keras_quiet():
        kdense = theirs.layers[0]
        expected = keras.ops.convert_to_numpy(kdense(x))
        kconfig = kdense.get_config()["activation"]
    np.testing.assert_allclose(dense(x), expected, rtol=1e-5, atol=1e-6)
    config = dense.get_config()["activation"]
    assert (config["module"], config["class_name"]) == (kconfig["module"], kconfig["class_name"])
    assert config["config"].items() >= {k: v for k, v in kwargs.items()}.items()
    again = layers.Dense.from_config(dense.get_config())
    assert type(again.activation) is type(dense.activation)
    # fastnn's file, and Keras's file, load here with the same outputs
    ours.save(tmp_path / "ours.keras")
    with keras_quiet():
        theirs.save(tmp_path / "theirs.keras")
    for path in ("ours.keras", "theirs.keras"):
        loaded = fastnn.models.load_model(tmp_path / path)
        assert isinstance(loaded.layers[0].activation, getattr(layers, name))
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-6
        )


def test_a_layer_that_is_no_activation_is_refused():
    with pytest.raises(TypeError, match="Dense layer 'd2' is not one"):
        layers.Dense(3, activation=layers.Dense(2, name="d2"))
    with pytest.raises(TypeError, match="PReLU"):
        layers.Dense(3, activation=layers.PReLU())
    dense = layers.Dense(3, activation="relu")
    dense.activation = layers.LeakyReLU(0.3)  # reassigned, as in Keras
    model = fastnn.Sequential([Input((2,)), dense])
    out = model.predict(np.array([[-1.0, -1.0]], np.float32), verbose=0)
    kernel, bias = dense.get_weights()
    z = np.array([[-1.0, -1.0]]) @ kernel + bias
    np.testing.assert_allclose(out, np.where(z > 0, z, 0.3 * z), rtol=1e-6)


@pytest.mark.parametrize("name", ["mish", "hard_silu", "hard_swish", *MORE, "log_softmax"])
def test_activations_by_name_train_as_in_keras(isa, rng, name):
    """Two SGD epochs of 4 steps: Keras's gradients are torch autograd's."""
    keras = keras_or_skip()
    x = rng.standard_normal((32, 5)).astype(np.float32) * 2
    y = rng.standard_normal((32, 2)).astype(np.float32)
    fastnn.utils.set_random_seed(6)
    ours = fastnn.Sequential([Input((5,)), layers.Dense(7, activation=name), layers.Dense(2)])
    assert ours.layers[0].get_config()["activation"] == name.replace("hard_swish", "hard_silu")
    with keras_quiet():
        theirs = keras.Sequential(
            [keras.Input((5,)), keras.layers.Dense(7, activation=name), keras.layers.Dense(2)]
        )
        theirs.set_weights(ours.get_weights())
        theirs.compile(keras.optimizers.SGD(0.05), "mse")
        expected = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        expected_weights = theirs.get_weights()
    ours.compile(fastnn.optimizers.SGD(0.05), "mse")
    history = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=2e-5)
    for a, b in zip(ours.get_weights(), expected_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
