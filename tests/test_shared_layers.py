"""Layers in several models, as Keras shares them: the feature-extraction
idiom ``Model(inputs=model.inputs, outputs=model.layers[-2].output)``, a
Sequential of another model's layers, and a model nested in a Sequential
(``Sequential([model, Softmax()])``). The weights stay in the buffer of the
model that built the layer first; the others copy them in before each engine
call and back after training, so every model sees every update, as in Keras."""

from __future__ import annotations

import copy
import gc

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, Model, layers


def mlp(features=20, seed=0, compile_with="sgd"):
    fastnn.utils.set_random_seed(seed)
    model = fastnn.Sequential(
        [
            Input((features,)),
            layers.Dense(16, activation="relu", name="hidden"),
            layers.Dense(8, activation="tanh", name="features"),
            layers.Dense(3, activation="softmax", name="head"),
        ]
    )
    model.compile(optimizer=compile_with, loss="sparse_categorical_crossentropy")
    return model


def data(rng, n=64, features=20):
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, 3, n)


def keras_twin(keras, model):
    """Keras's Sequential of `mlp()`'s layers, with `model`'s weights."""
    twin = keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    twin.set_weights(model.get_weights())
    return twin


def features_of(model, x):
    """The "features" layer's output computed from the weights with NumPy."""
    (w1, b1), (w2, b2) = model.layers[0].get_weights(), model.layers[1].get_weights()
    return np.tanh(np.maximum(x @ w1 + b1, 0) @ w2 + b2)


def test_symbolic_inputs_and_outputs_of_a_sequential():
    model = mlp()
    (inp,) = model.inputs
    assert isinstance(inp, layers.InputLayer) and inp.shape == (None, 20)
    assert model.input is inp and model.inputs[0] is inp  # one object, every time
    assert model.outputs[0].shape == (None, 3) and model.output.shape == (None, 3)
    assert model.layers[0].input is inp
    assert model.layers[1].output.shape == (None, 8)
    assert model.layers[1].input.shape == (None, 16)
    assert model.get_layer("head").output.shape == (None, 3)


def test_symbolic_tensors_need_a_call_or_an_input_shape():
    unbuilt = fastnn.Sequential([layers.Dense(4)])
    with pytest.raises(AttributeError, match="has no input yet"):
        _ = unbuilt.inputs
    with pytest.raises(
        AttributeError, match="has never been called and thus has no defined output"
    ):
        _ = layers.Dense(3).output
    with pytest.raises(AttributeError, match="has never been called and thus has no defined input"):
        _ = unbuilt.layers[0].input
    # a functional call defines them, as Keras's first node
    inputs = Input((5,))
    dense = layers.Dense(2)
    out = dense(inputs)
    assert dense.output is out and dense.input is inputs


def test_feature_extractor_shares_the_weights_both_ways(rng):
    model = mlp()
    x, y = data(rng)
    model.fit(x, y, epochs=2, verbose=0)
    extractor = Model(inputs=model.inputs, outputs=model.layers[-2].output)
    assert [type(layer).__name__ for layer in extractor.layers] == ["InputLayer", "Dense", "Dense"]
    assert extractor.layers[1] is model.layers[0]
    np.testing.assert_allclose(extractor.predict(x, verbose=0), features_of(model, x), atol=1e-6)
    # the model trains on: the extractor computes with the new weights
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_allclose(extractor.predict(x, verbose=0), features_of(model, x), atol=1e-6)
    np.testing.assert_allclose(extractor(x), features_of(model, x), atol=1e-6)
    # the extractor trains: the model's layers (and its predictions) change with it
    before = model.layers[0].get_weights()[0]
    extractor.compile(optimizer="sgd", loss="mse")
    extractor.fit(x, np.zeros((len(x), 8), np.float32), epochs=1, verbose=0)
    after = model.layers[0].get_weights()[0]
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(extractor.layers[1].get_weights()[0], after)
    hidden = np.maximum(x @ after + model.layers[0].get_weights()[1], 0)
    (w2, b2), (w3, b3) = model.layers[1].get_weights(), model.layers[2].get_weights()
    logits = np.tanh(hidden @ w2 + b2) @ w3 + b3
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), probs, atol=1e-6)


def test_feature_extraction_matches_keras(rng):
    keras = keras_or_skip()
    with keras_quiet():
        model = mlp()
        x, y = data(rng)
        model.fit(x, y, epochs=1, verbose=0)
        kmodel = keras_twin(keras, model)
        kext = keras.Model(inputs=kmodel.inputs, outputs=kmodel.layers[-2].output)
        ext = Model(inputs=model.inputs, outputs=model.layers[-2].output)
        np.testing.assert_allclose(
            ext.predict(x, verbose=0), kext.predict(x, verbose=0), rtol=1e-5, atol=1e-6
        )
        assert ext.output_shape == tuple(kext.output_shape)


def test_alternate_training_matches_keras(rng):
    """The model and its extractor trained in turn (plain SGD): the shared
    weights end as Keras's, to float32 rounding."""
    keras = keras_or_skip()
    with keras_quiet():
        x, y = data(rng)
        target = rng.standard_normal((len(x), 8)).astype(np.float32)
        model = mlp()
        kmodel = keras_twin(keras, model)
        kmodel.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
        ext = Model(inputs=model.inputs, outputs=model.layers[-2].output)
        kext = keras.Model(inputs=kmodel.inputs, outputs=kmodel.layers[-2].output)
        ext.compile(optimizer=fastnn.optimizers.SGD(0.01), loss="mse")
        kext.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        model.compile(optimizer=fastnn.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
        for _ in range(2):
            model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
            kmodel.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
            ext.fit(x, target, batch_size=16, epochs=1, shuffle=False, verbose=0)
            kext.fit(x, target, batch_size=16, epochs=1, shuffle=False, verbose=0)
        for ours, theirs in zip(model.get_weights(), kmodel.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_a_new_head_on_frozen_shared_layers(rng):
    """Transfer learning: Sequential(base.layers[:-1] + [new head]) with the
    base frozen trains only the head; unfrozen, the base's layers train in
    both models at once."""
    base = mlp()
    x, y = data(rng)
    for layer in base.layers[:-1]:
        layer.trainable = False
    frozen = [w.copy() for w in base.get_weights()]
    new = fastnn.Sequential(base.layers[:-1] + [layers.Dense(2, activation="softmax")])
    new.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    new.fit(x, y % 2, epochs=2, verbose=0)
    for a, b in zip(base.get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    for layer in base.layers[:-1]:
        layer.trainable = True
    new.fit(x, y % 2, epochs=1, verbose=0)
    assert not np.array_equal(base.get_weights()[0], frozen[0])
    np.testing.assert_array_equal(new.get_weights()[0], base.get_weights()[0])


def test_a_model_nested_in_a_sequential(rng):
    """The Keras tutorial's probability model: Sequential([model, Softmax()])
    gives the softmax of the model's logits and shares its weights."""
    fastnn.utils.set_random_seed(5)
    model = fastnn.Sequential([Input((20,)), layers.Dense(16, activation="relu"), layers.Dense(3)])
    model.compile(
        optimizer="adam",
        loss=fastnn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    x, y = data(rng)
    model.fit(x, y, epochs=2, verbose=0)
    probability_model = fastnn.Sequential([model, layers.Softmax()])
    assert probability_model.input_shape == (None, 20)
    assert probability_model.layers == [*model.layers, probability_model.layers[-1]]
    logits = model.predict(x, verbose=0)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(probability_model.predict(x, verbose=0), expected, atol=1e-6)
    model.fit(x, y, epochs=1, verbose=0)  # the inner model trains on
    logits = model.predict(x, verbose=0)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(probability_model.predict(x, verbose=0), expected, atol=1e-6)


def test_nested_model_matches_keras(rng):
    keras = keras_or_skip()
    with keras_quiet():
        model = fastnn.Sequential(
            [Input((20,)), layers.Dense(16, activation="relu"), layers.Dense(3)]
        )
        x, _ = data(rng)
        kmodel = keras.Sequential(
            [keras.Input((20,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)]
        )
        kmodel.set_weights(model.get_weights())
        ours = fastnn.Sequential([model, layers.Softmax()]).predict(x, verbose=0)
        theirs = keras.Sequential([kmodel, keras.layers.Softmax()]).predict(x, verbose=0)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_a_nested_model_that_does_not_fit_changes_nothing(rng):
    model = mlp()
    x, _ = data(rng)
    before = model.predict(x, verbose=0)
    outer = fastnn.Sequential([Input((7,)), layers.Dense(9)])
    with pytest.raises(ValueError, match="is shared with model"):
        outer.add(model)
    assert len(outer.layers) == 1 and outer.input_shape == (None, 7)
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)


def test_shared_layer_with_other_shapes_is_refused(rng):
    model = mlp()
    with pytest.raises(ValueError, match=r"'hidden' is shared with model .*\(20, 16\)"):
        fastnn.Sequential([Input((7,)), model.layers[0]])


def test_shared_batch_normalization_statistics_follow(rng):
    fastnn.utils.set_random_seed(2)
    bn = layers.BatchNormalization()
    model = fastnn.Sequential([Input((6,)), layers.Dense(5), bn, layers.Dense(2)])
    model.compile("sgd", "mse")
    other = fastnn.Sequential([Input((6,)), *model.layers[:2]])
    other.compile("sgd", "mse")
    x = rng.standard_normal((32, 6)).astype(np.float32)
    other.fit(x, np.zeros((32, 5), np.float32), epochs=1, verbose=0)
    moving_mean = bn.get_weights()[2]
    assert not np.array_equal(moving_mean, np.zeros(5, np.float32))  # updated by `other`
    np.testing.assert_array_equal(moving_mean, other.layers[1].moving_mean)


def test_owner_rebuilt_or_deleted_keeps_the_extractor_in_step(rng):
    model = mlp()
    x, y = data(rng)
    extractor = Model(inputs=model.inputs, outputs=model.layers[1].output)
    model.add(layers.Dense(4))  # the owner's buffer is rebuilt
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((len(x), 4), np.float32), epochs=1, verbose=0)
    np.testing.assert_allclose(extractor.predict(x, verbose=0), features_of(model, x), atol=1e-6)
    expected = features_of(model, x)
    del model
    gc.collect()
    np.testing.assert_allclose(extractor.predict(x, verbose=0), expected, atol=1e-6)
    extractor.compile("sgd", "mse")
    extractor.fit(x, np.zeros((len(x), 8), np.float32), epochs=1, verbose=0)  # trains alone
    assert not np.allclose(extractor.predict(x, verbose=0), expected, atol=1e-6)


def test_extractor_saves_loads_and_copies(rng, tmp_path):
    model = mlp()
    x, _ = data(rng)
    extractor = Model(inputs=model.inputs, outputs=model.layers[-2].output)
    extractor.save(tmp_path / "extractor.keras")
    loaded = fastnn.models.load_model(tmp_path / "extractor.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), extractor.predict(x, verbose=0))
    layer = copy.deepcopy(model.layers[0])
    assert "_call_output" not in layer.__dict__
    with pytest.raises(AttributeError, match="has never been called"):
        _ = layer.output


def test_train_on_batch_and_evaluate_of_a_borrower(rng):
    model = mlp()
    x, y = data(rng)
    ext = Model(inputs=model.inputs, outputs=model.layers[-2].output)
    ext.compile(optimizer="sgd", loss="mse")
    target = np.zeros((len(x), 8), np.float32)
    before = model.layers[1].get_weights()[0]
    ext.train_on_batch(x, target)
    assert not np.array_equal(model.layers[1].get_weights()[0], before)
    loss = ext.evaluate(x, target, verbose=0)
    np.testing.assert_allclose(loss, np.mean(features_of(model, x) ** 2), rtol=1e-5)
    np.testing.assert_allclose(ext.test_on_batch(x, target), loss, rtol=1e-6)
    np.testing.assert_allclose(ext.predict_on_batch(x), features_of(model, x), atol=1e-6)


def test_a_model_called_in_a_functional_graph(rng):
    """``features = base(inputs); outputs = Dense(...)(features)``: the new
    model runs the base's layers, sharing their weights (Keras's functional
    transfer-learning idiom)."""
    base = mlp()
    x, y = data(rng)
    inputs = Input((20,))
    outputs = layers.Dense(2, activation="softmax", name="new_head")(base(inputs))
    model = Model(inputs, outputs)
    assert model.layers[1:4] == base.layers
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = base.layers[0].get_weights()[0]
    model.fit(x, y % 2, epochs=1, verbose=0)
    np.testing.assert_array_equal(base.layers[0].get_weights()[0], model.get_weights()[0])
    assert not np.array_equal(base.layers[0].get_weights()[0], before)
    square = fastnn.Sequential([Input((4,)), layers.Dense(4)])
    four = Input((4,))
    with pytest.raises(ValueError, match="is used twice"):
        Model(four, square(square(four)))


# -- regressions from an independent review ------------------------------------


def test_layer_output_stays_the_sequentials_after_a_functional_call(rng):
    """Calling the model in another graph does not move its layers' first
    node: the feature extractor still starts at model.inputs."""
    base = mlp()
    inputs = Input((20,))
    Model(inputs, layers.Dense(2)(base(inputs)))
    assert base.layers[0].input is base.inputs[0]
    ext = Model(inputs=base.inputs, outputs=base.layers[-2].output)
    x, _ = data(rng)
    np.testing.assert_allclose(ext.predict(x, verbose=0), features_of(base, x), atol=1e-6)


def test_a_refused_add_leaves_the_models_own_layers_on_its_network(rng):
    big = fastnn.Sequential([Input((20,)), layers.Dense(4)])
    outer = fastnn.Sequential([Input((7,)), layers.Dense(9)])
    outer.compile(optimizer="sgd", loss="mse")
    for refused in (big, big.layers[0]):
        with pytest.raises(ValueError, match="is shared with model"):
            outer.add(refused)
    x = rng.standard_normal((32, 7)).astype(np.float32)
    before = outer.get_weights()[0].copy()
    outer.fit(x, np.ones((32, 9), np.float32), epochs=2, verbose=0)
    kernel, bias = outer.layers[0].get_weights()
    assert not np.array_equal(before, kernel)  # training reaches the layer's weights
    np.testing.assert_allclose(outer.predict(x, verbose=0), x @ kernel + bias, atol=1e-5)


def test_predicting_on_a_training_borrower_from_another_thread_loses_nothing(rng):
    import threading

    x = np.repeat(rng.standard_normal((32, 20)).astype(np.float32), 300, axis=0)

    def train(with_reader):
        base = mlp()
        ext = Model(inputs=base.inputs, outputs=base.layers[-2].output)
        ext.compile(optimizer="sgd", loss="mse")
        stop = threading.Event()

        def read():
            while not stop.is_set():
                ext.predict(x[:4], verbose=0)

        reader = threading.Thread(target=read)
        if with_reader:
            reader.start()
        try:
            ext.fit(x, np.tanh(x[:, :8]), batch_size=8, epochs=2, shuffle=False, verbose=0)
        finally:
            stop.set()
            if with_reader:
                reader.join()
        return ext.get_weights()

    for a, b in zip(train(False), train(True)):
        np.testing.assert_array_equal(a, b)


def test_a_layer_still_in_use_is_not_redrawn_for_another_input(rng):
    base = mlp()
    ext = Model(inputs=base.inputs, outputs=base.layers[-1].output)
    x, _ = data(rng)
    before = ext.predict(x, verbose=0)
    head = base.pop()  # kernel (8, 3), still run by ext
    with pytest.raises(ValueError, match=r"is shared with model .*\(8, 3\)"):
        fastnn.Sequential([Input((1,)), head])
    np.testing.assert_array_equal(ext.predict(x, verbose=0), before)
    base = mlp()
    ext = Model(inputs=base.inputs, outputs=base.layers[-2].output)
    del base
    gc.collect()
    with pytest.raises(ValueError, match="is shared with model"):
        fastnn.Sequential([Input((2,)), ext.layers[1]])
    assert ext.predict(x, verbose=0).shape == (len(x), 8)


def test_a_borrower_keeps_a_shared_dropouts_seed(tmp_path, rng):
    """The owner's saved file resumes its training exactly, a borrower built
    in between or not."""
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.standard_normal((64, 2)).astype(np.float32)
    fastnn.utils.set_random_seed(1)
    m = fastnn.Sequential(
        [Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.5), layers.Dense(2)]
    )
    m.compile(optimizer="sgd", loss="mse")
    m.fit(x, y, epochs=1, shuffle=False, verbose=0)
    fastnn.Sequential(m.layers[:-1] + [layers.Dense(3)]).build((None, 6))
    m.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    m.fit(x, y, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_sequential_without_input_is_built_by_a_symbolic_call():
    base = fastnn.Sequential([layers.Dense(8), layers.Dense(4)])
    base(Input((6,)))
    assert base.built and base.inputs[0].shape == (None, 6) and base.count_params() == 92
