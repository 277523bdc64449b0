"""layers.Identity: anywhere in a model (before a Flatten too) it changes
nothing, in training, inference, saving and the functional API; Keras 3.15's
files with it load."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from keras_subprocess import keras_run_on_random_data

import fastnn
from fastnn import layers, models


def _pair(with_identity: bool):
    fastnn.utils.set_random_seed(3)
    extra = (lambda name: [layers.Identity(name=name)]) if with_identity else (lambda name: [])
    model = models.Sequential(
        [
            layers.Input(shape=(4, 3)),
            *extra("a"),
            layers.Flatten(),
            *extra("b"),
            layers.Dense(6, activation="relu"),
            *extra("c"),
            layers.Dense(3, activation="softmax"),
            *extra("d"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_identity_layers_change_no_step_and_no_output(rng):
    x = rng.standard_normal((40, 4, 3)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    plain, with_identity = _pair(False), _pair(True)
    assert [type(a).__name__ for a in with_identity.layers].count("Identity") == 4
    assert with_identity.count_params() == plain.count_params()
    h1 = plain.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    h2 = with_identity.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    assert h1.history == h2.history
    for a, b in zip(plain.get_weights(), with_identity.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.predict(x, verbose=0), with_identity.predict(x, verbose=0))
    assert with_identity.get_layer("c").compute_output_shape((None, 6)) == (None, 6)


def test_eager_call_returns_its_input_and_functional_models_run_it(rng):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    assert layers.Identity()(x) is x
    inputs = layers.Input(shape=(3,))
    outputs = layers.Dense(2)(layers.Identity()(inputs))
    model = fastnn.Model(inputs, outputs)
    direct = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    direct.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0), direct.predict(x, verbose=0))


def test_save_load_and_config(tmp_path, rng):
    model = _pair(True)
    x = rng.standard_normal((10, 4, 3)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    assert [type(a).__name__ for a in loaded.layers] == [type(a).__name__ for a in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    same = layers.deserialize(layers.serialize(layers.Identity(name="skip", trainable=False)))
    assert isinstance(same, layers.Identity) and same.name == "skip" and not same.trainable


def test_a_model_of_identity_layers_alone_is_the_identity():
    # as Keras predicts and evaluates it (it was refused: no Dense layer)
    model = models.Sequential([layers.Input(shape=(3,)), layers.Identity()])
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float32 and not np.shares_memory(out, x)
    np.testing.assert_array_equal(out, x)
    model.compile("sgd", "mse")
    assert model.evaluate(x, x + 2, verbose=0) == pytest.approx(4.0)


KERAS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import keras
    d = sys.argv[1]
    x = np.load(os.path.join(d, "x.npy"))
    keras.utils.set_random_seed(1)
    k = keras.Sequential([keras.Input((9,)), keras.layers.Identity(), keras.layers.Dense(4),
                          keras.layers.Identity(name="skip")])
    k.save(os.path.join(d, "k.keras"))
    out = {"predict": k.predict(x, verbose=0)}
    meta = {"config": k.layers[-1].get_config()}
    """
)


def test_loads_keras_files_with_identity(tmp_path_factory):
    x, _, ref, meta, d = keras_run_on_random_data(tmp_path_factory, "keras_identity", KERAS_SCRIPT)
    loaded = models.load_model(d / "k.keras")
    assert [type(a).__name__ for a in loaded.layers] == ["Identity", "Dense", "Identity"]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ref["predict"], rtol=1e-6, atol=1e-7)
    assert layers.Identity.from_config(meta["config"]).name == "skip"
