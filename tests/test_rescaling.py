"""fastnn.layers.Rescaling: Keras 3's ``x * scale + offset`` on the model's inputs."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import layers, models


def images(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 4, 4), dtype=np.uint8), rng.integers(0, 3, n)


def make_model(preprocessing, shape=(4, 4)):
    fastnn.utils.set_random_seed(3)
    model = models.Sequential(
        [
            layers.Input(shape=shape),
            *preprocessing,
            layers.Dense(8, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize(
    "scale, offset",
    [(1 / 255, 0.0), (1 / 127.5, -1), (2, 3), (np.arange(1, 5, dtype=np.float64), 0.25)],
)
def test_the_layer_on_arrays_is_x_times_scale_plus_offset_in_float32(scale, offset):
    x, _ = images()
    out = layers.Rescaling(scale, offset=offset)(x)
    expected = x.astype(np.float32) * np.asarray(scale, np.float32) + np.float32(offset)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_a_model_with_rescaling_on_uint8_trains_as_on_the_rescaled_floats():
    x, y = images()
    rescaled = make_model([layers.Rescaling(1 / 255), layers.Flatten()])
    history = rescaled.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    floats = make_model([layers.Flatten()])
    expected = floats.fit(
        x.astype(np.float32) * np.float32(1 / 255),
        y,
        epochs=2,
        batch_size=8,
        shuffle=False,
        verbose=0,
    )
    assert same_weights(rescaled, floats)
    assert history.history == expected.history
    divided = make_model([layers.Flatten()])
    divided.fit(x / 255, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for u, v in zip(rescaled.get_weights(), divided.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(
        rescaled.predict(x, verbose=0), floats.predict(x * np.float32(1 / 255), verbose=0)
    )


def test_before_or_after_flatten_and_with_normalization_in_the_order_given():
    x, y = images()
    scale = np.arange(1, 5, dtype=np.float32) / 255  # per last-axis feature
    before = make_model([layers.Rescaling(scale, offset=-0.5), layers.Flatten()])
    after = make_model([layers.Flatten(), layers.Rescaling(np.tile(scale, 4), offset=-0.5)])
    np.testing.assert_array_equal(before.predict(x, verbose=0), after.predict(x, verbose=0))

    norm = layers.Normalization()
    flat = x.reshape(len(x), -1).astype(np.float32)
    norm.adapt(flat * np.float32(2.0))
    model = make_model([layers.Flatten(), layers.Rescaling(2.0), norm, layers.Rescaling(0.5, 1)])
    reference = make_model([], shape=(16,))
    manual = (flat * np.float32(2.0) - norm.mean) / np.maximum(np.sqrt(norm.variance), 1e-7)
    manual = (manual.astype(np.float32) * np.float32(0.5) + np.float32(1)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), reference.predict(manual, verbose=0))


def test_save_load_predict_and_config_round_trip(tmp_path):
    x, y = images()
    for scale in (1 / 255, np.linspace(0.5, 2.0, 4)):
        model = make_model([layers.Rescaling(scale, offset=0.1), layers.Flatten()])
        model.fit(x, y, verbose=0)
        path = tmp_path / "model.keras"
        model.save(path)
        loaded = models.load_model(path)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        layer = loaded.layers[0]
        assert type(layer) is layers.Rescaling
        np.testing.assert_array_equal(np.asarray(layer.scale), np.asarray(scale))
        config = model.layers[0].get_config()
        clone = layers.Rescaling.from_config(config)
        assert clone.get_config() == config
        assert layers.deserialize(layers.serialize(model.layers[0])).get_config() == config


def test_config_is_keras_s_layout():
    config = layers.Rescaling(np.array([1.0, 2.0]), offset=0.5, name="r").get_config()
    assert config == {
        "name": "r",
        "trainable": True,
        "dtype": {
            "module": "keras",
            "class_name": "DTypePolicy",
            "config": {"name": "float32"},
            "registered_name": None,
        },
        "scale": {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float64"}},
        "offset": 0.5,
    }
    assert layers.Rescaling(1 / 255, name="s").get_config()["scale"] == 1 / 255


def test_summary_and_functional_api():
    x, _ = images()
    inputs = layers.Input(shape=(4, 4))
    hidden = layers.Flatten()(layers.Rescaling(1 / 255)(inputs))
    model = models.Model(inputs, layers.Dense(3)(hidden))
    sequential = models.Sequential([layers.Input(shape=(4, 4)), layers.Rescaling(1 / 255)])
    sequential.add(layers.Flatten())
    sequential.add(layers.Dense(3))
    sequential.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0), sequential.predict(x, verbose=0))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(Rescaling)" in text and "51" in text


def test_misplaced_or_bad_arguments_are_errors_that_change_nothing():
    model = make_model([layers.Flatten()])
    weights = model.get_weights()
    with pytest.raises(ValueError, match="must come before the layers the engine runs"):
        model.add(layers.Rescaling(2.0))
    assert len(model.layers) == 3
    assert all(np.array_equal(u, v) for u, v in zip(weights, model.get_weights()))
    with pytest.raises(ValueError, match=r"`scale` of shape \(3,\) does not broadcast"):
        make_model([layers.Rescaling(np.ones(3)), layers.Flatten()])
    with pytest.raises(ValueError, match=r"`offset` of shape \(2, 3\) does not broadcast"):
        make_model([layers.Flatten(), layers.Rescaling(1.0, offset=np.ones((2, 3)))])
    for bad in ("a", None, True, [], {"x": 1}):
        with pytest.raises(TypeError, match="`scale` must be a float"):
            layers.Rescaling(bad)
    with pytest.raises(TypeError, match="`offset` must be a float"):
        layers.Rescaling(1.0, offset="0")
    with pytest.raises(TypeError):
        layers.Rescaling()  # scale is required, as in Keras


@pytest.mark.parametrize("call", ["fit", "train_on_batch", "evaluate", "predict"])
def test_finite_data_the_layer_overflows_is_blamed_on_the_layer(call):
    """Rescaling(1e38) of 100 is Inf in float32: the error names the layer and
    the sample, not "x contains Inf" about finite data; nothing trains."""
    x, y = images(6)
    x = x.astype(np.float32)
    x[4, 1, 2] = 100.0
    x[x > 3] = 1.0  # only that one overflows: 1e38 * 100
    x[4, 1, 2] = 100.0
    model = make_model([layers.Rescaling(1e38), layers.Flatten()])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"layer 'rescaling.*' \(Rescaling\) turns sample 4, "):
        if call == "predict":
            model.predict(x, verbose=0)
        elif call == "fit":
            model.fit(x, y, epochs=1, verbose=0)
        else:
            getattr(model, call)(x, y)
    assert all(np.array_equal(u, v) for u, v in zip(before, model.get_weights()))
    with pytest.raises(ValueError, match="x contains NaN"):  # data that is not finite
        x[0, 0, 0] = np.nan
        model.predict(x, verbose=0)


def test_batches_of_a_generator_are_rescaled():
    x, y = images()
    model = make_model([layers.Rescaling(1 / 255), layers.Flatten()])
    reference = make_model([layers.Rescaling(1 / 255), layers.Flatten()])
    reference.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    model.fit(
        iter([(x[i : i + 8], y[i : i + 8]) for i in range(0, 24, 8)] * 2),
        steps_per_epoch=3,
        shuffle=False,
        verbose=0,
    )
    assert same_weights(model, reference)


def test_outputs_and_config_match_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    x, _ = images()
    for scale, offset in ((1 / 255, 0.0), (1 / 127.5, -1.0), (np.arange(1.0, 5.0), 0.5)):
        theirs = keras.layers.Rescaling(scale, offset=offset)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            expected = theirs(x).detach().cpu().numpy()
        ours = layers.Rescaling.from_config(theirs.get_config())
        np.testing.assert_array_equal(ours(x), expected)
        inputs = keras.Input((4, 4))
        keras_model = keras.Model(
            inputs, keras.layers.Dense(3)(keras.layers.Flatten()(theirs(inputs)))
        )
        model = models.Model.from_config(keras_model.get_config())
        model.set_weights([w.value.detach().numpy() for w in keras_model.weights])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            keras_out = keras_model(x).detach().cpu().numpy()
        np.testing.assert_allclose(model.predict(x, verbose=0), keras_out, rtol=1e-5, atol=1e-6)
