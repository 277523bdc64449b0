"""Keras's functional API for a single chain of layers (fastnn.functional):
layers called on `Input(...)` give symbolic tensors with Keras's shapes,
`Model(inputs, outputs)` trains and predicts exactly as the Sequential of the
same layers, and graphs fastnn cannot run raise clear errors."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import Input, Model, layers, models


def functional_mlp(name=None, features=12):
    inputs = Input(shape=(features,))
    x = layers.Dense(16, activation="relu")(inputs)
    x = layers.Dropout(0.2, seed=3)(x)
    x = layers.Dense(8, activation="tanh")(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    return Model(inputs=inputs, outputs=outputs, name=name), inputs, outputs


def data(n=50, features=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, 3, n)


def test_symbolic_shapes_follow_the_layers():
    inputs = Input(shape=(28, 28))
    assert inputs.shape == (None, 28, 28) and inputs.dtype == "float32" and inputs.ndim == 3
    flat = layers.Flatten()(inputs)
    assert flat.shape == (None, 784)
    hidden = layers.Dense(64, activation="relu")(flat)
    assert hidden.shape == (None, 64) and hidden.ndim == 2
    assert "from=" in repr(hidden)
    assert layers.Activation("relu")(hidden).shape == (None, 64)
    # a call with the keyword arguments Keras scripts pass
    assert layers.Dropout(0.5)(hidden, training=True).shape == (None, 64)


def test_model_is_the_chain_and_trains_as_the_sequential():
    model, inputs, outputs = functional_mlp(name="mnist_model")
    assert isinstance(model, Model) and isinstance(model, models.Sequential)
    assert fastnn.Model is models.Model
    assert model.name == "mnist_model"
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer",
        "Dense",
        "Dropout",
        "Dense",
        "Dense",
    ]
    assert model.get_layer(index=0) is inputs and model.get_layer(index=1) is model.layers[1]
    assert model.inputs == [inputs] and model.outputs == [outputs]
    twin = models.Sequential(
        [
            Input(shape=(12,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.2, seed=3),
            layers.Dense(8, activation="tanh"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    twin.set_weights(model.get_weights())
    for m in (model, twin):
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = data()
    h1 = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    h2 = twin.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    assert h1.history == h2.history
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(x, verbose=0), twin.predict(x, verbose=0))


def test_default_names_are_numbered_functional():
    fastnn.backend.clear_session()
    first, _, _ = functional_mlp()
    second, _, _ = functional_mlp()
    assert (first.name, second.name) == ("functional", "functional_1")


def test_one_element_lists_are_accepted():
    inputs = Input(shape=(4,))
    outputs = layers.Dense(2)([inputs])
    model = Model(inputs=[inputs], outputs=[outputs])
    assert model.predict(np.ones((3, 4), np.float32), verbose=0).shape == (3, 2)


def test_save_and_load_give_the_same_model(tmp_path, capsys):
    """A functional model loads back as one: the same layers (the InputLayer
    first, so indices keep their meaning), outputs and summary."""
    model, _, _ = functional_mlp(name="chain")
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "f.keras")
    loaded = models.load_model(tmp_path / "f.keras")
    assert isinstance(loaded, Model) and loaded.name == "chain"
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.summary()
    loaded.summary()
    first, second = capsys.readouterr().out.split('Model: "chain"')[1:]
    assert first == second and f"{model.layers[0].name} (InputLayer)" in first


def test_from_config_refuses_configs_that_are_not_a_chain():
    model, _, _ = functional_mlp()
    config = model.get_config()
    entries = config["layers"]
    names = [e["config"]["name"] for e in entries]
    # Keras's form: each layer names the layer it reads; make the last skip one
    for prev, entry in zip(names, entries[1:]):
        entry["inbound_nodes"] = [{"args": [{"config": {"keras_history": [prev, 0, 0]}}]}]
    assert isinstance(Model.from_config(config).layers[-1], layers.Dense)
    entries[-1]["inbound_nodes"] = [{"args": [{"config": {"keras_history": [names[1], 0, 0]}}]}]
    with pytest.raises(ValueError, match="one chain of layers"):
        Model.from_config(config)
    with pytest.raises(ValueError, match="start with an InputLayer"):
        Model.from_config({"layers": entries[1:]})
    with pytest.raises(ValueError, match="one input"):
        Model.from_config({"layers": [entries[0], entries[0]]})


def test_graphs_fastnn_cannot_run_raise_clear_errors():
    inputs = Input(shape=(6,))
    shared = layers.Dense(6)
    twice = shared(shared(inputs))
    with pytest.raises(ValueError, match="used twice"):
        Model(inputs, twice)
    other = Input(shape=(6,))
    with pytest.raises(ValueError, match="not computed from `inputs`"):
        Model(inputs, layers.Dense(2)(other))
    with pytest.raises(ValueError, match="one input; `inputs` holds 2"):
        Model([inputs, other], layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="not on the chain"):  # two branches
        Model(inputs, [layers.Dense(2)(inputs), layers.Dense(3)(inputs)])
    with pytest.raises(ValueError, match="result of fastnn.Input"):
        Model(layers.Dense(2)(inputs), layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="called on 2 inputs"):
        layers.Dense(2)([inputs, other])


def test_bad_calls_raise_clear_errors():
    with pytest.raises(TypeError, match="unsupported call arguments"):
        layers.Dropout(0.5)(np.ones((2, 4), np.float32), 0.5)
    with pytest.raises(ValueError, match="add a Flatten layer"):
        layers.Dense(3)(Input(shape=(28, 28)))
    with pytest.raises(ValueError, match=r"input_shape=\(5,\)"):
        layers.Dense(3, input_shape=(5,))(Input(shape=(4,)))
    with pytest.raises(TypeError, match="unsupported argument"):
        layers.Dense(3)(Input(shape=(4,)), foo=1)
    with pytest.raises(ValueError, match="masks"):
        layers.Dense(3)(Input(shape=(4,)), mask=np.ones(4))
    with pytest.raises(TypeError, match="not called on data"):
        Input(shape=(4,))(np.ones((1, 4)))


def test_subclassed_models_are_refused():
    with pytest.raises(NotImplementedError, match="subclassed models"):
        Model()

    class MyModel(Model):
        def call(self, x):
            return x

    with pytest.raises(NotImplementedError, match="subclassed models"):
        MyModel()
    inputs = Input(shape=(3,))
    with pytest.raises(TypeError, match="unexpected argument"):
        Model(inputs, layers.Dense(1)(inputs), bogus=1)


def test_a_second_model_of_the_same_calls_shares_the_weights():
    """As in Keras, a second Model(inputs, outputs) over the same calls runs
    the same layers: their weights are the first model's."""
    model, inputs, outputs = functional_mlp()
    model.build()
    second = Model(inputs, outputs)
    x, _ = data()
    np.testing.assert_array_equal(second.predict(x, verbose=0), model.predict(x, verbose=0))
    model.layers[1].kernel.assign(np.zeros((12, 16), np.float32))
    np.testing.assert_array_equal(second.predict(x, verbose=0), model.predict(x, verbose=0))


def test_functional_models_have_no_add_or_pop_and_rebuild_from_config():
    model, _, _ = functional_mlp()
    with pytest.raises(AttributeError, match="no attribute 'add'"):
        model.add(layers.Dense(2))
    with pytest.raises(AttributeError, match="no attribute 'pop'"):
        model.pop()
    clone = Model.from_config(model.get_config())
    assert isinstance(clone, Model)
    assert [type(layer).__name__ for layer in clone.layers] == [
        "InputLayer",
        "Dense",
        "Dropout",
        "Dense",
        "Dense",
    ]
    clone.set_weights(model.get_weights())
    x, _ = data()
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_the_input_name_counts_among_the_layer_names():
    """Keras 3: an Input and a layer of the same name are refused."""
    with pytest.raises(ValueError, match="unique names"):
        models.Sequential([Input(shape=(3,), name="x"), layers.Dense(2, name="x")])
    inputs = Input(shape=(3,), name="y")
    with pytest.raises(ValueError, match='The name "y" is used 2 times in the model'):
        Model(inputs, layers.Dense(2, name="y")(inputs))


def test_get_config_is_keras_functional_layout():
    # keras/src/models/functional.py: each layer entry names itself and the
    # layer it reads; input_layers / output_layers name the ends.
    inputs = Input(shape=(4,), name="inp")
    x = layers.Dense(5, activation="relu", name="h")(inputs)
    x = layers.Dropout(0.3, name="drop")(x)
    model = Model(inputs, layers.Dense(3, name="o")(x), name="fm")
    config = model.get_config()
    assert sorted(config) == ["input_layers", "layers", "name", "output_layers", "trainable"]
    assert config["input_layers"] == ["inp", 0, 0] and config["output_layers"] == ["o", 0, 0]
    entries = config["layers"]
    assert [e["name"] for e in entries] == ["inp", "h", "drop", "o"]
    assert entries[0]["inbound_nodes"] == []
    tensor = entries[2]["inbound_nodes"][0]["args"][0]
    assert tensor["class_name"] == "__keras_tensor__"
    assert tensor["config"] == {
        "shape": (None, 5),
        "dtype": "float32",
        "keras_history": ["h", 0, 0],
    }
    assert entries[2]["inbound_nodes"][0]["kwargs"] == {"training": False}
    assert [
        e["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] for e in entries[1:]
    ] == [
        "inp",
        "h",
        "drop",
    ]
    clone = Model.from_config(config)
    assert [layer.name for layer in clone.layers] == ["inp", "h", "drop", "o"]
    text = json.loads(model.to_json())
    assert [text[k] for k in ("module", "class_name", "registered_name")] == [
        "keras.src.models.functional",
        "Functional",
        "Functional",
    ]


def test_keras_rebuilds_fastnn_functional_json(tmp_path):
    for module in ["torch", "keras"]:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    model, _, _ = functional_mlp(name="chain")
    (tmp_path / "model.json").write_text(model.to_json())
    script = (
        "import json, sys, keras\n"
        "m = keras.models.model_from_json(open(sys.argv[1]).read())\n"
        "print(json.dumps([type(m).__name__, m.name, [l.name for l in m.layers],"
        " [list(w.shape) for w in m.get_weights()]]))\n"
    )
    env = dict(os.environ, KERAS_BACKEND="torch")
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "model.json")],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode != 0 and "No module named" in out.stderr:
        pytest.skip(f"keras cannot be imported: {out.stderr[-300:]}")
    assert out.returncode == 0, out.stderr[-3000:]
    kind, name, names, shapes = json.loads(out.stdout.strip().splitlines()[-1])
    assert (kind, name) == ("Functional", "chain")
    assert names == [layer.name for layer in model.layers]
    assert shapes == [list(w.shape) for w in model.get_weights()]


def test_input_and_output_are_what_the_model_was_made_with():
    # Keras 3 (models/functional.py): `input` / `output` return the
    # constructor's inputs / outputs as given, a tensor or a list.
    inputs = Input(shape=(4,))
    outputs = layers.Dense(1)(layers.Dense(3)(inputs))
    model = Model(inputs, outputs)
    assert model.input is inputs and model.output is outputs
    assert model.input.shape == (None, 4) and model.output.shape == (None, 1)
    inputs = Input(shape=(4,))
    outputs = layers.Dense(2)(inputs)
    listed = Model([inputs], [outputs])
    assert listed.input == [inputs] and listed.output == [outputs]


def test_input_takes_keras_batch_shape():
    # Keras 3's Input(batch_shape=...) includes the batch axis; shape and
    # batch_size may not be given with it (keras/src/layers/core/input_layer.py).
    inputs = Input(batch_shape=(None, 5), name="x")
    assert inputs.shape == (None, 5) and inputs.name == "x"
    model = Model(inputs, layers.Dense(2)(inputs))
    assert model.input_shape == (None, 5)
    assert Input(batch_shape=(8, 3)).shape == (8, 3)
    seq = models.Sequential([layers.InputLayer(batch_shape=(None, 4)), layers.Dense(1)])
    assert seq.input_shape == (None, 4)
    with pytest.raises(ValueError, match="both `shape` and `batch_shape`"):
        Input(shape=(5,), batch_shape=(None, 5))
    with pytest.raises(ValueError, match="both `batch_size` and `batch_shape`"):
        Input(batch_size=2, batch_shape=(None, 5))


def test_inputs_as_a_dict_keyed_by_the_input_name_as_keras():
    # Keras 3 takes {input name: array} for a model's inputs.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 4)).astype(np.float32)
    y = rng.standard_normal((12, 2)).astype(np.float32)
    inputs = Input(shape=(4,), name="features")
    model = Model(inputs, layers.Dense(2)(inputs))
    model.compile("sgd", "mse")
    np.testing.assert_array_equal(
        model.predict({"features": x}, verbose=0), model.predict(x, verbose=0)
    )
    assert model.evaluate({"features": x}, y, verbose=0) == model.evaluate(x, y, verbose=0)
    model.fit({"features": x}, y, validation_data=({"features": x}, y), verbose=0)
    message = "Missing data for input \"features\".*keys \\['feat'\\]"
    with pytest.raises(ValueError, match=message):
        model.predict({"feat": x}, verbose=0)
    seq = models.Sequential([Input((4,), name="raw"), layers.Dense(1)])
    assert seq.predict({"raw": x}, verbose=0).shape == (12, 1)
