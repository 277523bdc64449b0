"""layers.Reshape: a view of each sample's values in another shape, as
Keras's; the engine runs on flat rows, so it can stand where Flatten can and
between layers as a no-op. Against Keras 3.15 where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, layers


@pytest.mark.parametrize(
    "target,input_shape,expected",
    [
        ((784,), (28, 28), (784,)),
        ((-1,), (28, 28), (784,)),
        ((4, -1), (6, 2), (4, 3)),
        (12, (3, 4), (12,)),
        ((2, 3, 2), (12,), (2, 3, 2)),
    ],
)
def test_output_shapes_as_keras(target, input_shape, expected):
    shape = (input_shape,) if isinstance(input_shape, int) else input_shape
    assert layers.Reshape(target).compute_output_shape((None, *shape)) == (None, *expected)
    if isinstance(target, int):
        return  # fastnn also takes a bare int; Keras wants a tuple
    keras = keras_or_skip()
    with keras_quiet():
        theirs = keras.layers.Reshape(target).compute_output_shape((None, *input_shape))
    assert tuple(theirs[1:]) == expected


def test_models_with_reshape_predict_as_keras(rng, tmp_path):
    keras = keras_or_skip()
    x = rng.random((10, 28, 28)).astype(np.float32)
    ours = fastnn.Sequential(
        [
            Input((28, 28)),
            layers.Reshape((784,)),
            layers.Rescaling(0.5),
            layers.Dense(5, activation="relu"),
            layers.Reshape((5,)),
            layers.Dense(3),
        ]
    )
    with keras_quiet():
        theirs = keras.Sequential(
            [
                keras.Input((28, 28)),
                keras.layers.Reshape((784,)),
                keras.layers.Rescaling(0.5),
                keras.layers.Dense(5, activation="relu"),
                keras.layers.Reshape((5,)),
                keras.layers.Dense(3),
            ]
        )
        theirs.set_weights(ours.get_weights())
        expected = theirs.predict(x, verbose=0)
        theirs.save(tmp_path / "k.keras")
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    loaded = fastnn.models.load_model(tmp_path / "k.keras")
    assert isinstance(loaded.layers[0], layers.Reshape)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_reshape_then_flatten_and_config_round_trip(rng):
    model = fastnn.Sequential(
        [Input((12,)), layers.Reshape((3, 4)), layers.Flatten(), layers.Dense(2)]
    )
    x = rng.standard_normal((5, 12)).astype(np.float32)
    kernel, bias = model.layers[-1].get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ kernel + bias, atol=1e-6)
    config = layers.Reshape((3, -1), name="r").get_config()
    assert config["target_shape"] == (3, -1) and config["name"] == "r"
    assert layers.Reshape.from_config(config).target_shape == (3, -1)
    clone = fastnn.Sequential.from_config(model.get_config())
    assert clone.output_shape == (None, 2)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: layers.Reshape((-1, -1)), "at most one unknown dimension"),
        (lambda: layers.Reshape((0, 5)), "positive ints"),
        (lambda: layers.Reshape(()), "non-empty"),
        (lambda: layers.Reshape("784"), "positive ints"),
        (lambda: layers.Reshape(None), "tuple of ints"),
        (
            lambda: fastnn.Sequential([Input((28, 28)), layers.Reshape((700,)), layers.Dense(3)]),
            r"total size of the tensor must be unchanged.*\(28, 28\).*\(700,\)",
        ),
        (
            lambda: fastnn.Sequential([Input((12,)), layers.Reshape((3, 4)), layers.Dense(3)]),
            "add a Flatten layer",
        ),
    ],
)
def test_bad_reshapes_are_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "data_format,input_shape",
    [
        (None, (3, 4, 5)),
        ("channels_last", (3, 4, 5)),
        ("CHANNELS_LAST", (6, 2)),
        ("channels_first", (1, 4, 5)),  # one channel: the same order either way
        ("channels_first", (7,)),  # one axis: nothing to move
    ],
)
def test_flatten_data_format_where_the_order_is_keras(rng, data_format, input_shape):
    x = rng.standard_normal((5, *input_shape)).astype(np.float32)
    fastnn.utils.set_random_seed(2)
    model = fastnn.Sequential(
        [Input(input_shape), layers.Flatten(data_format=data_format), layers.Dense(3)]
    )
    config = model.layers[0].get_config()
    assert config["data_format"] == (data_format or "channels_last").lower()
    assert layers.Flatten.from_config(config).data_format == config["data_format"]
    keras = keras_or_skip()
    twin = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(data_format=data_format),
            keras.layers.Dense(3),
        ]
    )
    with keras_quiet():
        twin.set_weights(model.get_weights())
        expected = np.asarray(twin.predict(x, verbose=0))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    assert twin.layers[0].get_config()["data_format"] == config["data_format"]


def test_flatten_channels_first_of_several_channels_is_refused():
    # Keras moves the 3 channels last before flattening; fastnn would not
    with pytest.raises(ValueError, match=r"moves the 3 channels last .*np.moveaxis"):
        fastnn.Sequential(
            [Input((3, 4, 4)), layers.Flatten(data_format="channels_first"), layers.Dense(2)]
        )
    with pytest.raises(ValueError, match="channels_first"):  # (a model of it alone builds)
        fastnn.Sequential([Input((3, 4, 4)), layers.Flatten(data_format="channels_first")])
    model = fastnn.Sequential([Input((3, 4, 4))])
    with pytest.raises(ValueError, match="channels_first"):
        model.add(layers.Flatten(data_format="channels_first"))
    assert model.layers == []
    with pytest.raises(ValueError, match="must be one of"):
        layers.Flatten(data_format="channels_middle")


def test_a_model_ending_in_reshape_trains_on_targets_of_its_output_shape():
    # predict returns (n, 2, 3); fit and evaluate take y of that shape too, as Keras
    model = fastnn.Sequential([fastnn.Input((6,)), layers.Dense(6), layers.Reshape((2, 3))])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    y = model.predict(x, verbose=0) + 1.0
    assert y.shape == (5, 2, 3)
    assert model.evaluate(x, y, verbose=0) == model.evaluate(x, y.reshape(5, 6), verbose=0)
    twin = fastnn.models.clone_model(model)
    twin.set_weights(model.get_weights())
    twin.compile("sgd", "mse")
    model.fit(x, y, batch_size=2, shuffle=False, verbose=0)
    twin.fit(x, y.reshape(5, 6), batch_size=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"needs y of shape \(5, 6\)"):
        model.fit(x, np.ones((5, 3, 2)), verbose=0)
