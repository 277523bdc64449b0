"""Initializer arguments Keras scripts pass: an array as Constant's value
(broadcast to the weight, as TensorFlow's imbalanced-data tutorial sets an
output bias from ``np.log([pos / neg])``), and None as a layer's initializer
(Keras's add_weight then draws the weight with glorot_uniform)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import fastnn
from fastnn import initializers, layers, models, utils
from fastnn.utils import seeding


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def _forget_the_seed():
    yield
    seeding._reset_for_tests()


@pytest.mark.parametrize(
    "value, shape",
    [
        (np.log([0.1]), (3,)),
        ([1.5], (2, 4)),
        (np.array([1.0, 2.0, 3.0]), (2, 3)),
        (np.array([[1.0], [2.0]]), (2, 5)),
        (np.float32(0.25), (7,)),
        (np.array(2.5), (3, 1)),
        (np.array([], np.float64).reshape(0, 3), (0, 3)),
    ],
)
def test_constant_broadcasts_an_array_value_as_keras(value, shape):
    got = initializers.Constant(value)(shape)
    want = np.broadcast_to(np.asarray(value, np.float64).astype(np.float32), shape)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_array_equal(got, want)


def test_constant_array_against_keras():
    keras = _keras()
    for value, shape in ((np.log([0.1]), (3,)), (np.array([1.0, 2.0, 3.0]), (2, 3))):
        np.testing.assert_array_equal(
            initializers.Constant(value)(shape),
            keras.initializers.Constant(value)(shape).detach().cpu().numpy(),  # torch backend
        )


def test_constant_value_that_cannot_fill_the_weight_is_named():
    with pytest.raises(ValueError, match=r"value of shape \(2,\) cannot fill a weight of shape"):
        initializers.Constant(np.array([1.0, 2.0]))((2, 3))


@pytest.mark.parametrize("value", ["a", None, ["x"], {"a": 1}, object()])
def test_constant_value_that_is_no_number_is_refused(value):
    with pytest.raises(ValueError, match=r"Constant: `value` must be a number or an array"):
        initializers.Constant(value)


def test_constant_array_round_trips_config_and_save(tmp_path):
    init = initializers.Constant(np.log([0.2]))
    assert init.get_config() == {"value": [math.log(0.2)]}
    keras_form = {"class_name": "__numpy__", "config": {"value": [0.5, 1.5], "dtype": "float64"}}
    np.testing.assert_array_equal(initializers.Constant(keras_form).value, [0.5, 1.5])
    model = models.Sequential(
        [layers.Input((4,)), layers.Dense(2, bias_initializer=initializers.Constant([0.5, -1.0]))]
    )
    np.testing.assert_array_equal(model.layers[0].bias, [0.5, -1.0])
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    config = loaded.layers[0].get_config()["bias_initializer"]["config"]
    assert config == {"value": [0.5, -1.0]}
    np.testing.assert_array_equal(loaded.layers[0].bias, [0.5, -1.0])


def test_constant_array_with_nan_is_refused_by_the_layer():
    with pytest.raises(ValueError, match="bias initializer Constant.*gives NaN values"):
        models.Sequential(
            [layers.Input((4,)), layers.Dense(1, bias_initializer=initializers.Constant([np.nan]))]
        )


def test_none_initializers_draw_glorot_uniform_as_keras_add_weight():
    """Dense(kernel_initializer=None, bias_initializer=None) and a
    BatchNormalization gamma_initializer=None draw glorot_uniform (so the
    bias is not zero), and their configs keep None, as Keras's do."""
    utils.set_random_seed(4)
    model = models.Sequential(
        [
            layers.Input((6,)),
            layers.Dense(5, kernel_initializer=None, bias_initializer=None),
            layers.BatchNormalization(gamma_initializer=None),
        ]
    )
    utils.set_random_seed(4)
    glorot = models.Sequential(
        [
            layers.Input((6,)),
            layers.Dense(5, kernel_initializer="glorot_uniform", bias_initializer="glorot_uniform"),
            layers.BatchNormalization(gamma_initializer="glorot_uniform"),
        ]
    )
    for a, b in zip(model.get_weights(), glorot.get_weights()):
        np.testing.assert_array_equal(a, b)
    limit = math.sqrt(6 / (5 + 5))  # a (5,) bias: fan_in = fan_out = 5
    bias = model.layers[0].bias
    assert np.all(np.abs(bias) <= limit) and np.any(bias != 0)
    config = model.layers[0].get_config()
    assert config["kernel_initializer"] is None and config["bias_initializer"] is None
    assert model.layers[1].get_config()["gamma_initializer"] is None
    assert initializers.get(None) is None


def test_none_initializer_config_against_keras():
    keras = _keras()
    dense = keras.layers.Dense(3, kernel_initializer=None, bias_initializer=None)
    ours = layers.Dense(3, kernel_initializer=None, bias_initializer=None)
    for key in ("kernel_initializer", "bias_initializer"):
        assert ours.get_config()[key] == dense.get_config()[key] is None


@pytest.mark.parametrize(
    "scale, mode, distribution, shape",
    [
        (1.0, "fan_avg", "uniform", (37, 11)),
        (2.0, "fan_in", "truncated_normal", (64, 5)),
        (2.0, "fan_in", "normal", (64, 5)),
        (0.5, "fan_out", "untruncated_normal", (7, 300)),
        (3.0, "fan_in", "uniform", (1000,)),
    ],
)
def test_variance_scaling_has_keras_distribution(scale, mode, distribution, shape):
    """The bounds and the standard deviation of the draws, against the
    formulas Keras's VarianceScaling uses (its values come from another
    generator), and the same bits for the same seed."""
    init = initializers.VarianceScaling(scale, mode, distribution, seed=3)
    values = init(shape)
    fan_in, fan_out = (shape[0], shape[0]) if len(shape) == 1 else shape
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    std = math.sqrt(scale / n)
    if distribution == "uniform":
        assert np.abs(values).max() <= math.sqrt(3) * std
        assert values.std() == pytest.approx(std, rel=0.1)
    elif distribution == "untruncated_normal":
        assert values.std() == pytest.approx(std, rel=0.1)
    else:  # truncated at 2 stddev of N(0, (std / 0.8796)^2): the std is std again
        assert np.abs(values).max() <= 2 * std / 0.87962566103423978 * (1 + 1e-6)
        assert values.std() == pytest.approx(std, rel=0.1)
    np.testing.assert_array_equal(values, initializers.VarianceScaling(**init.get_config())(shape))
    assert initializers.get("variance_scaling").get_config()["mode"] == "fan_in"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scale": 0.0}, "Argument `scale` must be positive float"),
        ({"scale": float("nan")}, "`scale` must be a finite number"),
        ({"mode": "fan"}, "Invalid `mode` argument: fan"),
        ({"distribution": "gamma"}, "Invalid `distribution` argument: gamma"),
    ],
)
def test_variance_scaling_bad_arguments_as_keras(kwargs, match):
    with pytest.raises(ValueError, match=match):
        initializers.VarianceScaling(**kwargs)


def test_variance_scaling_config_matches_keras():
    keras = _keras()
    normal = initializers.VarianceScaling(distribution="normal").get_config()
    assert normal == keras.initializers.VarianceScaling(distribution="normal").get_config()
    assert normal["distribution"] == "truncated_normal"
    ours = initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=1).get_config()
    theirs = keras.initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=1).get_config()
    assert ours == theirs


@pytest.mark.parametrize("shape", [(7, 3), (3, 7), (5, 5), (2, 3, 4)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    values = initializers.Orthogonal(gain=1.5, seed=2)(shape).astype(np.float64)
    flat = values.reshape(-1, shape[-1])
    small = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(small, 1.5**2 * np.eye(len(small)), atol=1e-5)
    model = models.Sequential(
        [layers.Input((shape[0],)), layers.Dense(shape[1], kernel_initializer="orthogonal")]
    )
    kernel = model.layers[0].kernel.astype(np.float64)
    gram = kernel.T @ kernel if shape[0] >= shape[1] else kernel @ kernel.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)


def test_orthogonal_refuses_a_vector_as_keras():
    with pytest.raises(ValueError, match="must be at least two-dimensional"):
        initializers.Orthogonal()((5,))


def ramp(shape, dtype=None):
    """A deterministic initializer function, Keras's documented signature."""
    return np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)


def sevens(shape, dtype=None):
    return [7.0] * shape[0]


def test_a_function_initializer_works_and_saves_as_keras(tmp_path):
    from keras_inprocess import keras_or_skip, keras_quiet

    def make(module):
        return module.Sequential(
            [
                module.Input((4,)),
                module.layers.Dense(3, kernel_initializer=ramp, bias_initializer=sevens),
            ]
        )

    ours = make(fastnn)
    np.testing.assert_array_equal(ours.get_weights()[0], ramp((4, 3)).astype(np.float32))
    np.testing.assert_array_equal(ours.get_weights()[1], [7.0, 7.0, 7.0])
    ours.save(tmp_path / "ours.keras")
    with pytest.raises(TypeError, match="Could not locate function 'ramp'"):
        fastnn.models.load_model(tmp_path / "ours.keras")
    functions = {"ramp": ramp, "sevens": sevens}
    back = fastnn.models.load_model(tmp_path / "ours.keras", custom_objects=functions)
    for a, b in zip(back.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"returned shape \(2,\) for a weight of shape \(4, 3\)"):
        fastnn.layers.Dense(3, kernel_initializer=lambda shape, dtype=None: [1.0, 2.0]).build(
            (None, 4)
        )
    with pytest.raises(ValueError, match="NaN"):
        fastnn.layers.Dense(2, kernel_initializer=lambda s, dtype=None: np.full(s, np.nan)).build(
            (None, 2)
        )
    keras = keras_or_skip()
    with keras_quiet():
        theirs = make(keras)
        np.testing.assert_array_equal(theirs.get_weights()[0], ours.get_weights()[0])
        theirs.save(tmp_path / "theirs.keras")
        config = json.loads(ours.to_json())["config"]["layers"][1]["config"]
        their_config = json.loads(theirs.to_json())["config"]["layers"][1]["config"]
        assert config["kernel_initializer"] == their_config["kernel_initializer"]
    loaded = fastnn.models.load_model(tmp_path / "theirs.keras", custom_objects=functions)
    np.testing.assert_array_equal(loaded.get_weights()[0], ours.get_weights()[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda i: i.GlorotUniform(seed=3),
        lambda i: i.HeNormal(seed=5),
        lambda i: i.LecunUniform(seed=7),
        lambda i: i.VarianceScaling(2.0, "fan_avg", "uniform", seed=11),
        lambda i: i.RandomNormal(0.5, 0.1, seed=13),
        lambda i: i.TruncatedNormal(stddev=0.3, seed=17),
        lambda i: i.RandomUniform(-0.2, 0.4, seed=19),
        lambda i: i.Orthogonal(gain=1.5, seed=23),
        lambda i: i.Constant(0.25),
        lambda i: i.Zeros(),
        lambda i: i.Ones(),
    ],
)
def test_from_config_and_clone_as_keras(make):
    original = make(initializers)
    for again in (type(original).from_config(original.get_config()), original.clone()):
        assert type(again) is type(original) and again is not original
        assert again.get_config() == original.get_config()
        np.testing.assert_array_equal(again((7, 5)), original((7, 5)))
    from keras_inprocess import keras_or_skip

    theirs = make(keras_or_skip().initializers)  # Keras's config read by fastnn's class
    assert type(original).from_config(theirs.get_config()).get_config() == {
        key: value for key, value in theirs.get_config().items() if key in original.get_config()
    }


def test_a_function_initializer_clones_its_function():
    init = initializers.FunctionInitializer(lambda shape, dtype=None: np.full(shape, 2.0))
    copy = init.clone()
    assert copy is not init and copy.function is init.function
    np.testing.assert_array_equal(copy((2, 3)), np.full((2, 3), 2.0, np.float32))
