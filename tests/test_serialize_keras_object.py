"""`saving.serialize_keras_object` / `deserialize_keras_object` with Keras 3's
signatures, across every family of objects, both ways with Keras's own; and
`activations.get` / `deserialize` returning functions as Keras's do."""

from __future__ import annotations

import json

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import activations, layers, saving


def families(module):
    """One object of each family, built alike with fastnn's or Keras's module."""
    return [
        module.layers.Dense(3, activation="tanh", kernel_regularizer=module.regularizers.L2(0.1)),
        module.layers.Dropout(0.25),
        module.optimizers.Adam(learning_rate=0.02, beta_1=0.8),
        module.optimizers.SGD(momentum=0.5, nesterov=True),
        module.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9),
        module.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        module.metrics.AUC(num_thresholds=50),
        module.regularizers.L1L2(l1=0.01, l2=0.02),
        module.initializers.HeNormal(seed=3),
        module.constraints.MaxNorm(2.0),
    ]


def test_each_family_round_trips_through_its_serialized_form():
    for obj in families(fastnn):
        config = json.loads(json.dumps(saving.serialize_keras_object(obj)))
        assert config["module"].startswith("keras."), config
        back = saving.deserialize_keras_object(config)
        assert type(back) is type(obj) and back.get_config() == obj.get_config()
        assert fastnn.utils.deserialize_keras_object(config).get_config() == obj.get_config()
    relu = saving.deserialize_keras_object(saving.serialize_keras_object(activations.relu))
    assert relu is activations.relu
    assert saving.deserialize_keras_object("relu") is activations.relu
    assert saving.deserialize_keras_object(None) is None


def test_keras_reads_ours_and_we_read_keras_s():
    keras = keras_or_skip()
    for ours, theirs in zip(families(fastnn), families(keras)):
        with keras_quiet():
            their_config = keras.saving.serialize_keras_object(theirs)
            from_ours = keras.saving.deserialize_keras_object(saving.serialize_keras_object(ours))
        assert type(from_ours).__name__ == type(theirs).__name__
        from_theirs = saving.deserialize_keras_object(their_config)
        assert type(from_theirs) is type(ours)
        for key, value in ours.get_config().items():
            if key not in ("name", "seed") and not isinstance(value, dict):
                # Keras's optimizer configs hold float32 rates (0.019999999552965164)
                assert from_theirs.get_config()[key] == pytest.approx(value, rel=1e-7), key


def test_a_model_serializes_built_and_compiled_as_keras(rng):
    keras = keras_or_skip()
    model = fastnn.Sequential([fastnn.Input((4,)), layers.Dense(3, "relu"), layers.Dense(2)])
    model.compile(fastnn.optimizers.Adam(0.01), "mse", metrics=["mae"])
    config = saving.serialize_keras_object(model)
    assert {"build_config", "compile_config"} <= set(config)
    back = saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert back.built and back.compiled and back.count_params() == model.count_params()
    assert back.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    with keras_quiet():
        theirs = keras.saving.deserialize_keras_object(config)
        assert theirs.compiled and theirs.count_params() == model.count_params()
        k_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        k_model.compile("sgd", "mae")
        k_config = keras.saving.serialize_keras_object(k_model)
    ours = saving.deserialize_keras_object(k_config)
    assert ours.built and ours.compiled and type(ours.optimizer).__name__ == "SGD"
    x = rng.standard_normal((5, 4)).astype(np.float32)
    assert ours.predict(x, verbose=0).shape == (5, 2)


def test_unknown_classes_and_functions_raise():
    with pytest.raises(ValueError, match="Unknown class_name 'Conv9D'"):
        saving.deserialize_keras_object({"module": "keras.layers", "class_name": "Conv9D"})
    with pytest.raises(TypeError, match="Could not locate function 'nope'"):
        saving.deserialize_keras_object(
            {"module": "builtins", "class_name": "function", "config": "nope"}
        )
    with pytest.raises(ValueError, match="Unknown object 'nope'"):
        saving.deserialize_keras_object("nope")


def test_activations_get_returns_the_function_as_keras():
    keras = keras_or_skip()
    x = np.linspace(-3, 3, 13).astype(np.float32)
    for name in ("relu", "gelu", "swish", "hard_swish", "softmax", "linear", "elu"):
        fn = activations.get(name)
        assert callable(fn)
        with keras_quiet():
            expected = keras.ops.convert_to_numpy(keras.activations.get(name)(x[None]))
        np.testing.assert_allclose(fn(x[None]), expected, rtol=1e-5, atol=1e-6)
        assert fn.__name__ == keras.activations.get(name).__name__
    assert activations.get(None) is activations.linear
    assert activations.get(abs) is abs  # any callable, as Keras
    with keras_quiet():
        config = keras.saving.serialize_keras_object(keras.activations.relu)
    assert activations.get(config) is activations.relu
    assert activations.deserialize("silu") is activations.silu
    assert activations.deserialize("mine", custom_objects={"mine": abs}) is abs
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: 3"):
        activations.get(3)
    with pytest.raises(ValueError, match="Unknown activation 'nope'"):
        activations.get("nope")
