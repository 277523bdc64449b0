"""Initializer arguments Keras scripts pass: an array as Constant's value
(broadcast to the weight, as TensorFlow's imbalanced-data tutorial sets an
output bias from ``np.log([pos / neg])``), and None as a layer's initializer
(Keras's add_weight then draws the weight with glorot_uniform)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

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
