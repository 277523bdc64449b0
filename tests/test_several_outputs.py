"""Functional models with several outputs along one chain (Keras's feature
extractor, ``Model(inputs=model.inputs, outputs=[layer.output for layer in
model.layers])``) and models with no layer the engine runs (Normalization,
Rescaling or Flatten only, the identity ``Model(inputs, inputs)``): compared
with Keras 3.15 (torch backend) on the same weights, and the graphs fastnn
cannot run refused with clear errors."""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import Input, Model, _core, callbacks, functional, layers, models


def leaves(structure) -> list:
    """The arrays of a predict result, in Keras's order."""
    return [leaf for _, leaf in functional.flatten_outputs(structure)]


def kinds(structure):
    """The structure of a predict result, its leaves replaced by their shapes."""
    if isinstance(structure, dict):
        return {key: kinds(value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return (type(structure).__name__, [kinds(item) for item in structure])
    return tuple(np.shape(structure))


def keras_twin(keras, model):
    """Keras's model from fastnn's config (through JSON), with its weights."""
    twin = keras.Model.from_config(json.loads(json.dumps(model.get_config())))
    twin.set_weights(model.get_weights())
    return twin


def keras_predict(keras_model, x, **kwargs):
    from keras_inprocess import keras_quiet

    with keras_quiet():
        return keras_model.predict(x, verbose=0, **kwargs)


def close(got, want, tol=2e-6):
    got, want = leaves(got), leaves(want)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        b = np.asarray(b)
        assert a.dtype == np.float32 and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def every_layer_chain(data):
    """One of each layer kind fastnn has, on samples of shape (3, 5)."""
    norm = layers.Normalization()
    norm.adapt(data.reshape(len(data), -1) * 0.5 + 0.1)
    return [
        layers.Rescaling(0.5, 0.1),
        layers.Flatten(),
        norm,
        layers.Dense(7, activation="relu"),
        layers.Dropout(0.3),
        layers.GaussianNoise(0.2),
        layers.BatchNormalization(),
        layers.LeakyReLU(0.1),
        layers.Dense(11),
        layers.PReLU(),
        layers.LayerNormalization(),
        layers.GaussianDropout(0.2),
        layers.AlphaDropout(0.1),
        layers.ELU(0.7),
        layers.ReLU(max_value=0.8),
        layers.UnitNormalization(),
        layers.ActivityRegularization(l1=0.01),
        layers.Identity(),
        layers.Activation("tanh"),
        layers.Dense(5),
        layers.Softmax(),
        layers.Reshape((5, 1)),
    ]


def perturbed(model, rng):
    """The model's weights moved off their initial values (BatchNormalization's
    moving statistics too, variances kept positive)."""
    model.set_weights(
        [w + rng.uniform(0.1, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()]
    )


# -- several outputs: values, structure and attributes as Keras's ---------------------
def test_extractor_over_every_layer_kind_matches_keras():
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 3, 5)).astype(np.float32)
    inputs = Input((3, 5), name="features")
    tensor, outputs = inputs, [inputs]
    for layer in every_layer_chain(x):
        tensor = layer(tensor)
        outputs.append(tensor)
    model = Model(inputs, outputs)
    perturbed(model, rng)
    twin = keras_twin(keras, model)
    for batch_size in (1, 7, 32):  # 23 rows: a partial last batch, and one batch
        got = model.predict(x, batch_size=batch_size, verbose=0)
        assert isinstance(got, list) and len(got) == 23
        close(got, keras_predict(twin, x, batch_size=batch_size))
    close(model.predict_on_batch(x[:1]), keras_predict(twin, x[:1]))
    called = model(x[:2])
    assert isinstance(called, list) and called[5].numpy().shape == (2, 7)
    close(called, [t.detach().numpy() for t in twin(x[:2])])
    assert model.output_names == twin.output_names
    assert model.output_shape == twin.output_shape
    assert model.compute_output_shape((4, 3, 5)) == twin.compute_output_shape((4, 3, 5))
    with keras_quiet():
        assert json.loads(json.dumps(twin.get_config()["output_layers"])) == json.loads(
            json.dumps(model.get_config()["output_layers"])
        )
    mine, theirs = [], []
    model.summary(print_fn=mine.append)
    twin.summary(print_fn=theirs.append)
    assert mine == theirs


def build_pair(module, kind):
    """The same small chain in fastnn or Keras, with `outputs` of kind `kind`."""
    inputs = module.Input((5,), name="inp")
    a = module.layers.Dense(7, activation="relu", name="d1")(inputs)
    b = module.layers.Dropout(0.4, name="drop")(a)
    c = module.layers.Dense(3, name="d2")(b)
    return module.Model(
        inputs,
        {
            "list": [a, c],
            "tuple": (a, (b, c)),
            "dict": {"y": a, "x": c, "m": b},
            "nested": {"k": [a, {"z": c, "a": inputs}]},
            "dict_in_list": [a, {"z": c, "a": b}],
            "dict_in_dict": {"b": {"z": c, "a": a}, "a": inputs},
            "list_of_one": [c],
            "tuple_of_one": (c,),
            "list_in_list": [[c]],
            "dict_of_one": {"k": c},
            "repeated": [c, a, c],
            "input": [inputs, c],
            "input_only": inputs,
            "input_in_list": [inputs],
            "not_last": [b, a],
        }[kind],
    )


KINDS = [
    "list",
    "tuple",
    "dict",
    "nested",
    "dict_in_list",
    "dict_in_dict",
    "list_of_one",
    "tuple_of_one",
    "list_in_list",
    "dict_of_one",
    "repeated",
    "input",
    "input_only",
    "input_in_list",
    "not_last",
]


@pytest.mark.parametrize("kind", KINDS)
def test_output_structures_as_keras(kind):
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((13, 5))  # float64, converted as Keras converts it
    model = build_pair(fastnn, kind)
    with keras_quiet():
        twin = build_pair(keras, kind)
        twin.set_weights(model.get_weights())
        expected = twin.predict(x, batch_size=4, verbose=0)
        on_batch = twin.predict_on_batch(x[:1])
        config = json.loads(json.dumps(twin.get_config()))
    got = model.predict(x, batch_size=4, verbose=0)
    assert kinds(got) == kinds(expected)
    close(got, expected)
    assert kinds(model.predict_on_batch(x[:1])) == kinds(on_batch)
    assert kinds(model(x[:3])) == kinds(twin(x[:3]))
    assert model.output_names == twin.output_names
    assert model.output_shape == twin.output_shape
    assert model.compute_output_shape((6, 5)) == twin.compute_output_shape((6, 5))
    assert [t.shape for t in model.outputs] == [tuple(t.shape) for t in twin.outputs]
    skeleton = functional.map_outputs
    assert skeleton(model.output, lambda t: t.shape) == skeleton(twin.output, lambda t: t.shape)
    assert [layer.name for layer in model.layers] == [layer.name for layer in twin.layers]
    mine = json.loads(json.dumps(model.get_config()))
    assert mine["output_layers"] == config["output_layers"]
    assert mine["input_layers"] == config["input_layers"]
    # each loads the other's config and predicts the same
    with keras_quiet():
        theirs = keras.Model.from_config(copy.deepcopy(mine))
        theirs.set_weights(model.get_weights())
        close(got, theirs.predict(x, batch_size=4, verbose=0))
        own = keras.Model.from_config(copy.deepcopy(config))  # (JSON made tuples lists)
        own.set_weights(model.get_weights())
        from_json = own.predict(x, verbose=0)
    ours = Model.from_config(config)
    ours.set_weights(model.get_weights())
    assert ours.output_names == own.output_names
    assert kinds(ours.predict(x, verbose=0)) == kinds(from_json)
    close(ours.predict(x, verbose=0), from_json)


def test_keras_faq_extractor_of_a_sequential_shares_its_weights():
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((29, 11)).astype(np.float32)
    y = rng.integers(0, 3, 29)
    base = models.Sequential(
        [
            Input((11,)),
            layers.Dense(13, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.5),
            layers.Dense(3, activation="softmax"),
        ]
    )
    base.compile("adam", "sparse_categorical_crossentropy")
    base.fit(x, y, epochs=2, batch_size=8, verbose=0)  # moving statistics off 0 and 1
    extractor = Model(inputs=base.inputs, outputs=[layer.output for layer in base.layers])
    with keras_quiet():
        twin = keras.Sequential.from_config(json.loads(json.dumps(base.get_config())))
        twin.set_weights(base.get_weights())
        keras_extractor = keras.Model(
            inputs=twin.inputs, outputs=[layer.output for layer in twin.layers]
        )
    got = extractor.predict(x, batch_size=5, verbose=0)
    close(got, keras_predict(keras_extractor, x, batch_size=5))
    np.testing.assert_array_equal(got[-1], base.predict(x, verbose=0))
    assert extractor.output_names == keras_extractor.output_names
    # the extractor shares the layers: training the base changes its features
    base.fit(x, y, epochs=1, batch_size=8, verbose=0)
    after = extractor.predict(x, verbose=0)
    assert not np.array_equal(after[0], got[0])
    np.testing.assert_array_equal(after[-1], base.predict(x, verbose=0))
    # of a functional model, whose layers start with the InputLayer (its output: the input)
    functional_base = Model(base.inputs, base.outputs)
    every = Model(
        inputs=functional_base.inputs, outputs=[layer.output for layer in functional_base.layers]
    )
    values = every.predict(x[:1], verbose=0)
    assert len(values) == 5 and every.output_names[0] == functional_base.layers[0].name
    np.testing.assert_array_equal(values[0], x[:1])
    np.testing.assert_array_equal(values[-1], base.predict(x[:1], verbose=0))


def test_outputs_are_fresh_arrays():
    inputs = Input((4,))
    hidden = layers.Dense(3)(inputs)
    model = Model(inputs, [inputs, hidden, hidden, layers.Dropout(0.5)(hidden)])
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    got = model.predict(x, verbose=0)
    assert got[0] is not x and not np.shares_memory(got[0], x)
    np.testing.assert_array_equal(got[0], x)
    for i, j in [(1, 2), (1, 3), (2, 3)]:
        assert not np.shares_memory(got[i], got[j])
    got[1][...] = 0  # changing one output leaves the others
    assert np.array_equal(got[2], got[3]) and not np.array_equal(got[1], got[2])
    x[...] = 1  # and the caller's array is not held
    np.testing.assert_array_equal(got[0], np.arange(8).reshape(2, 4))


def test_predict_steps_callbacks_and_batch_sources_keep_the_structure():
    inputs = Input((6,), name="inp")
    a = layers.Dense(5, name="a")(inputs)
    b = layers.Dense(2, name="b")(a)
    model = Model(inputs, {"b": b, "a": [a, inputs]})
    x = np.random.default_rng(3).standard_normal((17, 6)).astype(np.float32)
    whole = model.predict(x, verbose=0)
    assert list(whole) == ["a", "b"] and kinds(whole) == {
        "a": ("list", [(17, 5), (17, 6)]),
        "b": (17, 2),
    }
    # steps: the first 2 batches of 5
    part = model.predict(x, batch_size=5, steps=2, verbose=0)
    for got, want in zip(leaves(part), leaves(whole)):
        np.testing.assert_array_equal(got, want[:10])

    class Seen(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_predict_batch_end(self, batch, logs=None):
            self.batches.append(kinds(logs["outputs"]))

    seen = Seen()
    hooked = model.predict(x, batch_size=4, verbose=0, callbacks=[seen])
    assert seen.batches[-1] == {"a": ("list", [(1, 5), (1, 6)]), "b": (1, 2)}
    assert len(seen.batches) == 5
    for got, want in zip(leaves(hooked), leaves(whole)):
        np.testing.assert_array_equal(got, want)

    def batches():
        for start in range(0, 17, 6):
            yield (x[start : start + 6],)

    from_source = model.predict(batches(), steps=3, verbose=0)
    assert kinds(from_source) == kinds(whole)
    for got, want in zip(leaves(from_source), leaves(whole)):
        np.testing.assert_array_equal(got, want)
    one = model.predict(x[:1], verbose=0)  # one sample
    assert kinds(one) == {"a": ("list", [(1, 5), (1, 6)]), "b": (1, 2)}


def test_extractor_called_on_a_symbolic_tensor_gives_its_structure():
    base_in = Input((4,))
    a = layers.Dense(3, name="sa")(base_in)
    b = layers.Dense(2, name="sb")(a)
    extractor = Model(base_in, [a, b, base_in])
    inputs = Input((4,), name="outer")
    features = extractor(inputs)
    assert isinstance(features, list) and [f.shape for f in features] == [
        (None, 3),
        (None, 2),
        (None, 4),
    ]
    assert features[2] is inputs
    head_layer = layers.Dense(1)
    model = Model(inputs, head_layer(features[1]))
    assert model.layers[1] is extractor.layers[1]  # shared, as Keras's nested call
    x = np.random.default_rng(12).standard_normal((3, 4)).astype(np.float32)
    kernel, bias = head_layer.get_weights()
    expected = extractor.predict(x, verbose=0)[1] @ kernel + bias
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


# -- saving and copies ---------------------------------------------------------------
def preprocessing_extractor(rng):
    x = rng.standard_normal((19, 6)).astype(np.float32)
    norm = layers.Normalization(name="norm")
    norm.adapt(x)
    inputs = Input((6,), name="inp")
    a = norm(inputs)
    b = layers.Dense(5, activation="relu", name="d1")(a)
    c = layers.BatchNormalization(name="bn")(b)
    d = layers.Dense(3, name="d2")(c)
    model = Model(inputs, {"feat": [a, c], "out": d, "raw": inputs})
    perturbed(model, rng)
    return model, x


def test_save_load_pickle_clone_keep_the_outputs(tmp_path):
    model, x = preprocessing_extractor(np.random.default_rng(4))
    expected = model.predict(x, verbose=0)
    copies = []
    for name in ("m.keras", "m.h5"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # (legacy format, no training config)
            model.save(tmp_path / name)
            copies.append(models.load_model(tmp_path / name))
    copies += [copy.deepcopy(model), pickle.loads(pickle.dumps(model))]
    copies.append(models.model_from_json(model.to_json()))
    copies[-1].set_weights(model.get_weights())
    for loaded in copies:
        assert loaded.output_names == model.output_names == ["norm", "bn", "d2", "inp"]
        got = loaded.predict(x, verbose=0)
        assert kinds(got) == kinds(expected) and list(got) == ["feat", "out", "raw"]
        for a, b in zip(leaves(got), leaves(expected)):
            np.testing.assert_array_equal(a, b)
    clone = models.clone_model(model)
    assert list(clone.output) == ["feat", "out", "raw"] and clone.output_names == model.output_names
    clone.set_weights(model.get_weights())
    for a, b in zip(leaves(clone.predict(x, verbose=0)), leaves(expected)):
        np.testing.assert_array_equal(a, b)


def test_keras_loads_fastnn_s_archive_and_fastnn_keras_s(tmp_path):
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    model, x = preprocessing_extractor(np.random.default_rng(5))
    model.save(tmp_path / "fastnn.keras")
    with keras_quiet():
        theirs = keras.models.load_model(tmp_path / "fastnn.keras")
        close(model.predict(x, verbose=0), theirs.predict(x, verbose=0))
        assert theirs.output_names == model.output_names
        # Keras's own extractor, compiled with a loss per output, saved
        inputs = keras.Input((6,), name="inp")
        a = keras.layers.Dense(4, name="k1")(inputs)
        b = keras.layers.Dense(2, name="k2")(a)
        keras_model = keras.Model(inputs, [a, b])
        keras_model.compile("adam", ["mse", "mse"])
        keras_model.save(tmp_path / "keras.keras")
        keras_values = keras_model.predict(x, verbose=0)
    with pytest.warns(UserWarning, match="2 outputs and was saved compiled.*predict works"):
        loaded = models.load_model(tmp_path / "keras.keras")
    assert not loaded.compiled and loaded.output_names == ["k1", "k2"]
    close(loaded.predict(x, verbose=0), keras_values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not models.load_model(tmp_path / "keras.keras", compile=False).compiled


# -- training is refused; bad graphs --------------------------------------------------
def test_compile_is_refused_and_nothing_trains():
    inputs = Input((4,))
    a = layers.Dense(3)(inputs)
    b = layers.Dense(2)(a)
    x, y = np.ones((5, 4), np.float32), np.zeros((5, 2), np.float32)
    for outputs in ([a, b], {"a": a, "b": b}, (a, (b,))):
        model = Model(inputs, outputs)
        before = model.get_weights()
        with pytest.raises(ValueError, match="fastnn trains models with one output.*predict"):
            model.compile("adam", "mse")
        assert not model.compiled and model.optimizer is None
        for method, kwargs in [
            (model.fit, {"verbose": 0}),
            (model.evaluate, {"verbose": 0}),
            (model.train_on_batch, {}),
            (model.test_on_batch, {}),
        ]:
            with pytest.raises(ValueError, match="You must call `compile\\(\\)`"):
                method(x, y, **kwargs)
        for got, want in zip(model.get_weights(), before):
            np.testing.assert_array_equal(got, want)
    # one tensor in a list, a nested list or a dict of one is one output: it
    # trains, as in Keras (tests/test_functional_review.py compares the logs)
    for outputs in ([b], [[b]], {"b": b}):
        single = Model(inputs, outputs)
        single.compile("sgd", "mse")
        assert np.isfinite(single.train_on_batch(x, y))
    extractor = Model(inputs, [a, b])
    with pytest.raises(ValueError, match="2 outputs; a layer of a Sequential"):
        models.Sequential([extractor, layers.Dense(1)])


def test_outputs_fastnn_cannot_run_raise_and_change_nothing():
    inputs = Input((5,), name="inp")
    a = layers.Dense(4, name="a")(inputs)
    b = layers.Dense(3, name="b")(a)
    model = Model(inputs, [a, b])
    x = np.random.default_rng(6).standard_normal((3, 5)).astype(np.float32)
    before = model.predict(x, verbose=0)
    branch = layers.Dense(2, name="branch")(a)
    other = Input((5,), name="other")
    foreign = layers.Dense(2, name="foreign")(other)
    cases = [
        ([b, branch], r"path `1`.*not on the chain"),  # two branches from `a`
        ({"x": b, "y": branch}, r"path `y`.*not on the chain"),
        ([b, foreign], r"path `1`.*not computed from `inputs`"),
        ([b, other], r"path `1`.*is the input 'other'.*not connected"),
        ([b, 3], r"path `1`.*must be what calling a layer"),
        ([], "cannot be empty"),
        ({}, "cannot be empty"),
    ]
    for outputs, match in cases:
        with pytest.raises(ValueError, match=match):
            Model(inputs, outputs)
    with pytest.raises(ValueError, match="one input; `inputs` holds 2"):
        Model([inputs, other], [a, b])
    assert model.layers[1]._owner() is model  # the failed models took nothing
    for got, want in zip(model.predict(x, verbose=0), before):
        np.testing.assert_array_equal(got, want)
    config = model.get_config()
    config["output_layers"] = [["a", 0, 0], ["nowhere", 0, 0]]
    with pytest.raises(ValueError, match="'nowhere', which is not the input or a layer"):
        Model.from_config(config)
    config["output_layers"] = [["a", 0, 0], 7]
    with pytest.raises(ValueError, match="malformed"):
        Model.from_config(config)


# -- models with no layer the engine runs ----------------------------------------------
def preprocessing_cases(keras_or_fastnn, x):
    """(name, model, y) in fastnn's or Keras's module: the models Keras runs
    without a Dense, Activation or Dropout layer."""
    k = keras_or_fastnn
    norm = k.layers.Normalization()
    norm.adapt(x)
    inputs = k.Input((x.shape[1],), name="inp")
    norm2 = k.layers.Normalization(mean=[0.5] * x.shape[1], variance=[4.0] * x.shape[1])
    return [
        ("normalization", k.Sequential([k.Input((x.shape[1],)), norm])),
        ("rescaling", k.Sequential([k.Input((x.shape[1],)), k.layers.Rescaling(2.0, -1.0)])),
        ("functional", k.Model(inputs, norm2(inputs))),
        ("identity", k.Model(inputs, inputs)),
        (
            "chain",
            k.Sequential(
                [k.Input((x.shape[1],)), k.layers.Rescaling(0.5), k.layers.Normalization(axis=None)]
            ),
        ),
    ]


def test_preprocessing_only_models_predict_evaluate_and_fit_as_keras():
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((11, 7)).astype(np.float32)
    y = rng.standard_normal((11, 7)).astype(np.float32)
    with keras_quiet():
        theirs = preprocessing_cases(keras, x)
    for (name, model), (_, twin) in zip(preprocessing_cases(fastnn, x), theirs):
        with keras_quiet():
            if name == "chain":
                twin.layers[-1].adapt(x * 0.5)
            expected = twin.predict(x, batch_size=4, verbose=0)
        if name == "chain":
            model.layers[-1].adapt(x * 0.5)
        assert model.built
        close(model.predict(x, batch_size=4, verbose=0), expected, 1e-5)
        close(model(x[:1]), twin(x[:1]).detach().numpy(), 1e-5)
        assert (
            model.output_shape == twin.output_shape and model.count_params() == twin.count_params()
        )
        model.compile("adam", "mse", metrics=["mae"])
        with keras_quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            twin.compile("adam", "mse", metrics=["mae"])
            keras_eval = twin.evaluate(x, y, batch_size=4, verbose=0)
            keras_fit = twin.fit(x, y, batch_size=4, epochs=2, verbose=0).history
            keras_step = twin.train_on_batch(x[:3], y[:3])
        np.testing.assert_allclose(model.evaluate(x, y, batch_size=4, verbose=0), keras_eval, 1e-5)
        with pytest.warns(UserWarning, match="does not have any trainable weights"):
            history = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history
        for key in ("loss", "mae"):
            np.testing.assert_allclose(history[key], keras_fit[key], rtol=1e-5)
        with pytest.warns(UserWarning, match="does not have any trainable weights"):
            np.testing.assert_allclose(model.train_on_batch(x[:3], y[:3]), keras_step, 1e-5)
        # Keras applies no optimizer step: its iterations stay 0, the model as it was
        assert model.optimizer.iterations == int(twin.optimizer.iterations) == 0
        close(model.predict(x, verbose=0), expected, 1e-5)


def test_preprocessing_only_models_keep_the_samples_shape_and_save(tmp_path):
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    x = np.random.default_rng(8).integers(0, 255, (3, 2, 5)).astype(np.uint8)
    model = models.Sequential([Input((2, 5)), layers.Rescaling(1 / 255)])
    with keras_quiet():
        twin = keras.Sequential([keras.Input((2, 5)), keras.layers.Rescaling(1 / 255)])
        expected = twin.predict(x, verbose=0)
    got = model.predict(x, verbose=0)
    assert got.shape == expected.shape == (3, 2, 5) and model.output_shape == (None, 2, 5)
    close(got, expected)
    flat = models.Sequential([Input((2, 5)), layers.Flatten()])
    assert flat.predict(x, verbose=0).shape == (3, 10)
    # Reshape last: Keras's per-sample shape too
    reshaped = models.Sequential([Input((10,)), layers.Dense(6), layers.Reshape((2, 3))])
    assert reshaped.predict(np.ones((4, 10)), verbose=0).shape == (4, 2, 3)
    assert reshaped(np.ones((1, 10))).shape == (1, 2, 3)
    # saved and loaded by fastnn and by Keras
    data = np.random.default_rng(9).standard_normal((8, 4)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    saved = models.Sequential([Input((4,)), norm])
    saved.save(tmp_path / "norm.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loaded = models.load_model(tmp_path / "norm.keras")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), saved.predict(data, verbose=0))
    with keras_quiet():
        theirs = keras.models.load_model(tmp_path / "norm.keras")
        close(saved.predict(data, verbose=0), theirs.predict(data, verbose=0), 1e-6)


def test_python_metrics_read_the_outputs_of_a_model_without_layers_the_engine_runs():
    # the engine hands a metric computed in Python each batch's outputs: here
    # its inputs after the Python-side normalization
    x = np.random.default_rng(13).standard_normal((10, 3)).astype(np.float32)

    def mean_prediction(y_true, y_pred):
        return np.mean(y_pred, axis=-1)

    inputs = Input((3,))
    for model in (
        models.Sequential([Input((3,)), layers.Rescaling(3.0, 1.0)]),
        Model(inputs, inputs),  # the identity
    ):
        expected = float(np.mean(model.predict(x, verbose=0)))
        model.compile("sgd", "mse", metrics=[mean_prediction])
        with pytest.warns(UserWarning, match="does not have any trainable weights"):
            history = model.fit(x, np.zeros_like(x), batch_size=4, epochs=1, verbose=0)
        assert history.history["mean_prediction"][0] == pytest.approx(expected, rel=1e-6)
        logs = model.evaluate(x, np.zeros_like(x), batch_size=3, verbose=0, return_dict=True)
        assert logs["mean_prediction"] == pytest.approx(expected, rel=1e-6)


def test_an_extractor_cut_at_a_preprocessing_layer():
    data = np.random.default_rng(10).standard_normal((6, 3)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    base = models.Sequential([Input((3,)), layers.Rescaling(2.0), norm, layers.Dense(2)])
    cut = Model(inputs=base.inputs, outputs=base.layers[1].output)
    expected = (data * 2.0 - norm.mean) / np.sqrt(norm.variance)
    np.testing.assert_allclose(cut.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-6)
    scaled = Model(inputs=base.inputs, outputs=[base.layers[0].output, base.layers[1].output])
    got = scaled.predict(data, verbose=0)
    np.testing.assert_allclose(got[0], data * 2.0, rtol=1e-6)
    np.testing.assert_allclose(got[1], expected, rtol=1e-5, atol=1e-6)


# -- the engine: no layers, and several layers' outputs ---------------------------------
def test_engine_without_layers_is_the_identity_and_keeps_layer_outputs():
    x = np.random.default_rng(11).standard_normal((5, 3)).astype(np.float32)
    empty = _core.nn.Network(3, [])
    assert empty.output_dim == 3 and empty.num_params == 0
    np.testing.assert_array_equal(empty.predict(x, 2), x)
    (only,) = empty.predict_outputs(x, [-1], 2)
    np.testing.assert_array_equal(only, x)
    specs = [
        {"type": "dense", "units": 4, "activation": "relu"},
        {"type": "dropout", "rate": 0.5, "seed": 1},
        {"type": "dense", "units": 2},
    ]
    net = _core.nn.Network(3, specs)
    views = net.param_views()
    for i, view in enumerate(views):
        view[...] = np.linspace(-1, 1, view.size).reshape(view.shape) * (i + 1)
    kernel, bias, kernel2, bias2 = (np.array(v) for v in views)
    hidden = np.maximum(x @ kernel + bias, 0)
    outputs = net.predict_outputs(x, [2, -1, 0, 1, 0], 2)  # batches of 2: a partial last one
    for got, want in zip(outputs, [hidden @ kernel2 + bias2, x, hidden, hidden, hidden]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outputs[0], net.predict(x, 2))
    assert net.predict_outputs(x[:0], [0, 2], 4)[1].shape == (0, 2)
    for bad in ([3], [-2]):
        with pytest.raises(ValueError, match="outside \\[-1, 3\\)"):
            net.predict_outputs(x, bad, 2)
    with pytest.raises(ValueError, match="NaN"):
        net.predict_outputs(np.full((1, 3), np.nan, np.float32), [0], 1)


def _leaves(structure) -> list:
    if isinstance(structure, dict):
        return list(structure.values())
    return list(structure) if isinstance(structure, list) else [structure]


@pytest.mark.parametrize("structure", ["list", "dict", "repeat", "one"])
def test_several_outputs_on_a_torch_tensor_are_tensors_in_the_structure(structure):
    torch = pytest.importorskip("torch")
    inputs = fastnn.Input((4,))
    hidden = fastnn.layers.Dense(3)(inputs)
    out = fastnn.layers.Dense(2)(hidden)
    outputs = {
        "list": [hidden, out],
        "dict": {"a": hidden, "b": out},
        "repeat": [hidden, hidden],
        "one": out,
    }[structure]
    model = fastnn.Model(inputs, outputs)
    x = torch.rand(5, 4)
    got = model(x)
    expected = model.predict(x.numpy(), verbose=0)
    if isinstance(expected, (list, dict)):
        assert type(got) is type(expected)
    for tensor, array in zip(_leaves(got), _leaves(expected)):
        assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32
        np.testing.assert_array_equal(tensor.numpy(), array)
