"""Functional-API forms found by a review, compared with Keras 3.15 (torch
backend): inputs given as a dict (data keyed by the dict's key, the config's
``input_layers`` keeping it, ``.keras`` files both ways) and one output given
as a dict (trained as the one-output model it is, with Keras's log names)."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, Model, layers

X = np.random.default_rng(0).random((8, 6), dtype=np.float32)
Y = np.random.default_rng(1).random((8, 2), dtype=np.float32)


KEY_WARNING = "When providing `inputs` as a dict, all keys in the dict must match"


@contextlib.contextmanager
def key_warning_quiet():
    """Keras (and fastnn, as Keras) warns when a key of `inputs` is not the
    Input's name, at the model's creation and at each load of its file."""
    with keras_quiet(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", KEY_WARNING, UserWarning)
        yield


def dict_input_model(lib):
    inputs = lib.Input((6,), name="inp")
    with key_warning_quiet():
        return lib.Model({"feat": inputs}, lib.layers.Dense(2)(inputs))


def dict_output_model(lib):
    inputs = lib.Input((6,))
    return lib.Model(inputs, {"out": lib.layers.Dense(2, name="dense_out")(inputs)})


# -- inputs given as a dict ------------------------------------------------------


def test_dict_inputs_key_not_the_input_name_warns_as_keras():
    inputs = Input((6,), name="inp")
    with pytest.warns(UserWarning, match=KEY_WARNING):
        Model({"feat": inputs}, layers.Dense(2)(inputs))
    named = Input((6,), name="feat")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Model({"feat": named}, layers.Dense(2)(named))


def test_dict_inputs_data_keyed_by_the_dict_key():
    model = dict_input_model(fastnn)
    assert model.predict({"feat": X}, verbose=0).shape == (8, 2)
    np.testing.assert_array_equal(
        model.predict({"feat": X}, verbose=0), model.predict(X, verbose=0)
    )
    with pytest.raises(ValueError, match='Missing data for input "feat"'):
        model.predict({"inp": X}, verbose=0)


def test_dict_inputs_fit_evaluate_train_on_batch_with_the_dict():
    model = dict_input_model(fastnn)
    model.compile("sgd", "mse")
    history = model.fit({"feat": X}, Y, validation_data=({"feat": X}, Y), verbose=0)
    assert sorted(history.history) == ["loss", "val_loss"]
    loss = model.evaluate({"feat": X}, Y, verbose=0)
    assert loss == pytest.approx(model.evaluate(X, Y, verbose=0))
    assert np.isfinite(model.train_on_batch({"feat": X}, Y))
    assert model.input["feat"] is model.inputs[0]


def test_dict_inputs_config_matches_keras():
    keras = keras_or_skip()
    with keras_quiet():
        expected = dict_input_model(keras).get_config()["input_layers"]
    config = dict_input_model(fastnn).get_config()
    assert config["input_layers"] == expected == {"feat": ["inp", 0, 0]}
    with key_warning_quiet():
        rebuilt = Model.from_config(config)
    assert rebuilt.get_config()["input_layers"] == {"feat": ["inp", 0, 0]}
    assert rebuilt.predict({"feat": X}, verbose=0).shape == (8, 2)


def test_list_of_one_input_config_matches_keras():
    keras = keras_or_skip()
    with keras_quiet():
        inputs = keras.Input((6,), name="inp")
        expected = keras.Model([inputs], keras.layers.Dense(2)(inputs)).get_config()
    inputs = Input((6,), name="inp")
    config = Model([inputs], layers.Dense(2)(inputs)).get_config()
    assert config["input_layers"] == expected["input_layers"] == [["inp", 0, 0]]


def test_dict_inputs_keras_file_loads_in_fastnn(tmp_path):
    keras = keras_or_skip()
    with keras_quiet():
        twin = dict_input_model(keras)
        twin.save(tmp_path / "k.keras")
        expected = twin.predict({"feat": X}, verbose=0)
    with key_warning_quiet():
        model = fastnn.models.load_model(tmp_path / "k.keras")
    assert model.get_config()["input_layers"] == {"feat": ["inp", 0, 0]}
    np.testing.assert_allclose(model.predict({"feat": X}, verbose=0), expected, atol=1e-6)


def test_dict_inputs_fastnn_file_loads_in_keras(tmp_path):
    keras = keras_or_skip()
    model = dict_input_model(fastnn)
    model.save(tmp_path / "f.keras")
    with key_warning_quiet():
        twin = keras.models.load_model(tmp_path / "f.keras")
        got = twin.predict({"feat": X}, verbose=0)
    assert twin.get_config()["input_layers"] == {"feat": ["inp", 0, 0]}
    np.testing.assert_allclose(got, model.predict({"feat": X}, verbose=0), atol=1e-6)
    with key_warning_quiet():
        again = fastnn.models.load_model(tmp_path / "f.keras")
    assert again.get_config()["input_layers"] == {"feat": ["inp", 0, 0]}


def test_config_input_layers_naming_another_layer_refused():
    config = dict_input_model(fastnn).get_config()
    config["input_layers"] = {"feat": ["dense_x", 0, 0]}
    with pytest.raises(ValueError, match="is not the chain's start"), key_warning_quiet():
        Model.from_config(config)


# -- one output given as a dict ---------------------------------------------------


@pytest.mark.parametrize(
    "loss, targets, metrics",
    [
        ({"out": "mse"}, "dict", None),
        ("mse", "array", None),
        ("mse", "dict", ["mae"]),
        ({"out": "mse"}, "dict", {"out": ["mae"]}),
        ({"out": "mse"}, "array", {"dense_out": ["mae"]}),
    ],
    ids=["loss_dict", "plain_loss_array_y", "plain_loss_dict_y", "metrics_by_key", "by_name"],
)
def test_dict_of_one_output_trains_with_keras_log_names(loss, targets, metrics):
    keras = keras_or_skip()
    y = {"out": Y} if targets == "dict" else Y
    results = {}
    for lib in (fastnn, keras):
        with keras_quiet():
            model = dict_output_model(lib)
            model.compile("sgd", loss, metrics=metrics)
            history = model.fit(X, y, validation_data=(X, y), verbose=0)
            logs = model.evaluate(X, y, verbose=0, return_dict=True)
            batch = model.train_on_batch(X, y)
            predicted = model.predict(X, verbose=0)
        results[lib.__name__] = (sorted(history.history), sorted(logs), np.ndim(batch), predicted)
    ours, theirs = results["fastnn"], results["keras"]
    assert ours[:3] == theirs[:3]
    assert list(ours[3]) == list(theirs[3]) == ["out"]
    assert ours[3]["out"].shape == (8, 2)


def test_dict_of_one_output_trains_as_the_one_output_model():
    model = dict_output_model(fastnn)
    plain = Model(model.inputs[0], model.outputs[0])  # the same layers, one tensor out
    weights = model.get_weights()
    model.compile("sgd", {"out": "mse"})
    plain.compile("sgd", "mse")
    first = model.evaluate(X, {"out": Y}, verbose=0)
    assert first == pytest.approx(plain.evaluate(X, Y, verbose=0))
    model.fit(X, {"out": Y}, sample_weight={"out": np.ones(8)}, epochs=2, verbose=0)
    assert model.evaluate(X, Y, verbose=0) < first
    assert not all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


def test_dict_of_one_output_wrong_keys_refused():
    model = dict_output_model(fastnn)
    with pytest.raises(ValueError, match=r"Expected keys \['out'\] in loss dict"):
        model.compile("sgd", {"dense_out": "mse"})
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="keyed 'out'"):
        model.fit(X, {"dense_out": Y}, verbose=0)


def test_dict_of_one_output_compiled_file_both_ways(tmp_path):
    keras = keras_or_skip()
    with keras_quiet():
        twin = dict_output_model(keras)
        twin.compile("adam", {"out": "mse"}, metrics=["mae"])
        twin.save(tmp_path / "k.keras")
        expected = twin.evaluate(X, {"out": Y}, verbose=0)
    model = fastnn.models.load_model(tmp_path / "k.keras")
    assert model.compiled
    np.testing.assert_allclose(model.evaluate(X, {"out": Y}, verbose=0), expected, rtol=1e-5)
    model.fit(X, {"out": Y}, verbose=0)
    model.save(tmp_path / "f.keras")
    with keras_quiet():
        back = keras.models.load_model(tmp_path / "f.keras")
        got = back.evaluate(X, {"out": Y}, verbose=0)
    assert back.compiled
    np.testing.assert_allclose(got, model.evaluate(X, {"out": Y}, verbose=0), rtol=1e-5)


def test_two_outputs_in_a_dict_still_refused_by_compile():
    inputs = Input((6,))
    hidden = layers.Dense(4)(inputs)
    model = Model(inputs, {"a": hidden, "b": layers.Dense(2)(hidden)})
    with pytest.raises(ValueError, match="fastnn trains models with one output"):
        model.compile("sgd", "mse")


def test_clone_model_keeps_the_dict_inputs():
    model = dict_input_model(fastnn)
    clone = fastnn.models.clone_model(model)
    assert clone.get_config()["input_layers"] == {"feat": ["inp", 0, 0]}
    assert clone.predict({"feat": X}, verbose=0).shape == (8, 2)
