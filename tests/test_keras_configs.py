"""Layer, model, initializer and regularizer configs are Keras 3.15's: the same
keys in the same order with the same values (the float32 ``DTypePolicy``
entry, Dense's ``quantization_config``, the fan axes of the variance-scaling
initializers, ...), while configs written by earlier fastnn (without those
keys) and by Keras still load, and a dtype policy other than float32 is still
refused."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import initializers, layers, models

# Keras 3.15's serialized float32 policy, as `layers.Dense(3).get_config()["dtype"]`
FLOAT32_POLICY = {
    "module": "keras",
    "class_name": "DTypePolicy",
    "config": {"name": "float32"},
    "registered_name": None,
}

# Every fastnn layer, with arguments off their defaults where it has any.
LAYERS = {
    "dense": lambda lib: lib.layers.Dense(3, name="l"),
    "dense_options": lambda lib: lib.layers.Dense(
        4,
        activation="relu",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer=lib.regularizers.L2(0.02),
        activity_regularizer=lib.regularizers.L1(0.1),
        kernel_constraint=lib.constraints.MaxNorm(2.0),
        input_shape=(5,),
        trainable=False,
        name="l",
    ),
    "activation": lambda lib: lib.layers.Activation("tanh", name="l"),
    "leaky_relu": lambda lib: lib.layers.LeakyReLU(negative_slope=0.2, name="l"),
    "elu": lambda lib: lib.layers.ELU(alpha=0.5, name="l"),
    "relu": lambda lib: lib.layers.ReLU(max_value=6.0, negative_slope=0.1, name="l"),
    "softmax": lambda lib: lib.layers.Softmax(name="l"),
    "dropout": lambda lib: lib.layers.Dropout(0.25, seed=3, name="l"),
    "gaussian_noise": lambda lib: lib.layers.GaussianNoise(0.1, name="l"),
    "gaussian_dropout": lambda lib: lib.layers.GaussianDropout(0.2, seed=1, name="l"),
    "alpha_dropout": lambda lib: lib.layers.AlphaDropout(0.1, name="l"),
    "batch_normalization": lambda lib: lib.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, center=False, name="l"
    ),
    "layer_normalization": lambda lib: lib.layers.LayerNormalization(epsilon=1e-6, name="l"),
    "prelu": lambda lib: lib.layers.PReLU(alpha_initializer="ones", name="l"),
    "identity": lambda lib: lib.layers.Identity(name="l"),
    "unit_normalization": lambda lib: lib.layers.UnitNormalization(name="l"),
    "activity_regularization": lambda lib: lib.layers.ActivityRegularization(0.1, 0.2, name="l"),
    "flatten": lambda lib: lib.layers.Flatten(input_shape=(2, 3), name="l"),
    "reshape": lambda lib: lib.layers.Reshape((2, -1), name="l"),
    "normalization": lambda lib: lib.layers.Normalization(
        mean=[1.0, 2.0], variance=[1.0, 4.0], name="l"
    ),
    "normalization_invert": lambda lib: lib.layers.Normalization(axis=None, invert=True, name="l"),
    "rescaling": lambda lib: lib.layers.Rescaling(1 / 255, offset=-1.0, name="l"),
    "input_layer": lambda lib: lib.layers.InputLayer(batch_shape=(8, 4), name="l"),
}


@contextlib.contextmanager
def keras_building():
    """Keras's layers warn about `input_shape=` (Keras's advice, not fastnn's concern here)."""
    with keras_quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


# Keys earlier fastnn did not write (and `batch_input_shape`, which it did).
NEW_KEYS = ("dtype", "quantization_config", "optional")


def test_every_layer_class_is_covered():
    covered = {type(make(fastnn)).__name__ for make in LAYERS.values()}
    public = {
        name
        for name, value in vars(layers).items()
        if isinstance(value, type) and issubclass(value, layers.Layer) and name[0] != "_"
    }
    assert public - {"Layer"} <= covered


def test_dense_config_has_keras_s_dtype_and_quantization_entries():
    config = layers.Dense(3, name="d").get_config()
    assert list(config)[:3] == ["name", "trainable", "dtype"]
    assert config["dtype"] == FLOAT32_POLICY
    assert config["quantization_config"] is None and list(config)[-1] == "quantization_config"
    assert "batch_input_shape" not in layers.Dense(3, input_shape=(4,)).get_config()


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_layer_config_is_keras_s(case):
    keras = keras_or_skip()
    with keras_building():
        expected = LAYERS[case](keras).get_config()
    config = LAYERS[case](fastnn).get_config()
    assert config == expected
    assert list(config) == list(expected)  # and in Keras's order
    # Keras's config (a JSON round trip as in a saved file) builds the same layer
    again = type(LAYERS[case](fastnn)).from_config(expected)
    assert again.get_config() == expected


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_configs_of_earlier_fastnn_still_load(case):
    layer = LAYERS[case](fastnn)
    config = layer.get_config()
    older = {k: v for k, v in config.items() if k not in NEW_KEYS}
    if getattr(layer, "_input_shape", None) is not None and case != "input_layer":
        older["batch_input_shape"] = (None, *layer._input_shape)
    again = type(layer).from_config(older)
    assert again.get_config() == config
    if case != "input_layer":
        assert again._input_shape == layer._input_shape


@pytest.mark.parametrize(
    "dtype", ["mixed_float16", "float64", {**FLOAT32_POLICY, "config": {"name": "mixed_float16"}}]
)
def test_a_policy_other_than_float32_is_still_refused(dtype):
    with pytest.raises(ValueError, match="not supported by fastnn"):
        layers.Dense(3, dtype=dtype)
    config = {**layers.Dense(3).get_config(), "dtype": dtype}
    with pytest.raises(ValueError, match="not supported by fastnn"):
        layers.Dense.from_config(config)
    model_config = models.Sequential([layers.Input((2,)), layers.Dense(1)]).get_config()
    with pytest.raises(ValueError, match="not supported"):
        models.Sequential.from_config({**model_config, "dtype": dtype})


def test_model_configs_are_keras_s():
    keras = keras_or_skip()
    configs = []
    for lib in (keras, fastnn):
        with keras_building():
            sequential = lib.Sequential(
                [lib.layers.Dense(3, input_shape=(4,), name="a"), lib.layers.Dense(2, name="b")],
                name="s",
            )
            inputs = lib.layers.Input((4,), name="x")
            functional = lib.Model(inputs, lib.layers.Dense(2, name="c")(inputs), name="f")
            configs.append((sequential.get_config(), functional.get_config()))
    (k_sequential, k_functional), (sequential, functional) = configs
    # the InputLayer Keras makes is numbered per process (input_layer_3); fastnn's is not
    assert k_sequential["layers"][0]["config"]["name"].startswith("input_layer")
    k_sequential["layers"][0]["config"]["name"] = sequential["layers"][0]["config"]["name"]
    assert sequential["dtype"] == FLOAT32_POLICY
    assert sequential == k_sequential
    for config in (functional, k_functional):  # a list in fastnn's, a tuple in Keras's
        config["layers"][1]["inbound_nodes"][0]["args"] = list(
            config["layers"][1]["inbound_nodes"][0]["args"]
        )
    assert functional == k_functional
    # and Keras's come back as the same models
    assert models.Sequential.from_config(k_sequential).get_config() == k_sequential
    assert models.Model.from_config(k_functional).get_config() == functional


# -- initializers and regularizers -----------------------------------------------

INITIALIZERS = {
    "Zeros": (),
    "Ones": (),
    "Constant": (0.5,),
    "RandomNormal": (0.1, 0.2, 4),
    "TruncatedNormal": (0.1, 0.2),
    "RandomUniform": (-0.3, 0.3, 2),
    "GlorotUniform": (5,),
    "GlorotNormal": (),
    "HeUniform": (),
    "HeNormal": (1,),
    "LecunUniform": (),
    "LecunNormal": (7,),
    "VarianceScaling": (2.0, "fan_avg", "uniform", 9),
    "Orthogonal": (1.5, 3),
}


def test_variance_scaling_presets_write_the_fan_axes_as_keras():
    for name in ("GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform"):
        config = getattr(initializers, name)(seed=2).get_config()
        assert config == {"seed": 2, "input_axes": None, "output_axes": None}
    assert initializers.LecunNormal(3, None, None).get_config()["seed"] == 3
    assert initializers.Initializer().get_config() == {}  # Keras's base class
    # configs of earlier fastnn (the seed only) still load
    assert initializers.HeNormal.from_config({"seed": 4}).get_config()["seed"] == 4
    with pytest.raises(ValueError, match="input_axes"):
        initializers.GlorotUniform(input_axes=[0])


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_initializer_config_is_keras_s(name):
    keras = keras_or_skip()
    for args in ((), INITIALIZERS[name]):
        expected = getattr(keras.initializers, name)(*args).get_config()
        config = getattr(initializers, name)(*args).get_config()
        assert config == expected and list(config) == list(expected)
        assert getattr(initializers, name).from_config(expected).get_config() == expected
    assert initializers.Initializer().get_config() == keras.initializers.Initializer().get_config()


def test_regularizer_configs_are_keras_s():
    keras = keras_or_skip()
    for name, args in (("L1", ()), ("L1", (0.1,)), ("L2", (0.3,)), ("L1L2", (0.1, 0.2))):
        expected = getattr(keras.regularizers, name)(*args).get_config()
        config = getattr(fastnn.regularizers, name)(*args).get_config()
        assert config == expected
        # (L1's is the float32 value of its factor, e.g. 0.10000000149011612)
        again = getattr(fastnn.regularizers, name).from_config(expected)
        assert again.get_config() == expected
    assert fastnn.regularizers.L1(0.1).get_config() == {"l1": float(np.float32(0.1))}
