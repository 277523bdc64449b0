"""compile(loss_weights=...) on fastnn's one-output models, as Keras 3: the
loss and its gradient scaled, not the metrics or the regularization
penalties; training, evaluate, configs and bad values against Keras 3.15."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, layers


@pytest.mark.parametrize("loss_weights", [2.0, [0.5], {"out": 3.0}, 0.0], ids=str)
@pytest.mark.parametrize("loss", ["mse", "sparse_categorical_crossentropy"])
def test_loss_weights_train_and_evaluate_as_keras(rng, loss_weights, loss):
    keras = keras_or_skip()
    x = rng.standard_normal((40, 5)).astype(np.float32)
    sparse = loss == "sparse_categorical_crossentropy"
    y = rng.integers(0, 3, 40) if sparse else rng.standard_normal((40, 3)).astype(np.float32)
    act = "softmax" if sparse else None
    metrics = ["accuracy"] if sparse else ["mae"]
    fastnn.utils.set_random_seed(3)
    model = fastnn.Sequential(
        [
            Input((5,)),
            layers.Dense(6, activation="tanh", kernel_regularizer="l2"),
            layers.Dense(3, activation=act, name="out"),
        ]
    )
    with keras_quiet():
        kmodel = keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(6, activation="tanh", kernel_regularizer="l2"),
                keras.layers.Dense(3, activation=act, name="out"),
            ]
        )
        kmodel.set_weights(model.get_weights())
        kmodel.compile(keras.optimizers.SGD(0.05), loss, loss_weights=loss_weights, metrics=metrics)
        expected = kmodel.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        expected_eval = kmodel.evaluate(x, y, verbose=0, return_dict=True)
        expected_weights = kmodel.get_weights()
    model.compile(fastnn.optimizers.SGD(0.05), loss, loss_weights=loss_weights, metrics=metrics)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=2e-5, atol=1e-6, err_msg=key)
    got = model.evaluate(x, y, verbose=0, return_dict=True)
    for key in expected_eval:
        assert got[key] == pytest.approx(expected_eval[key], rel=2e-5, abs=1e-6), key
    for a, b in zip(model.get_weights(), expected_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert model.get_compile_config()["loss_weights"] == loss_weights


def test_loss_weights_round_trip_and_bad_values(tmp_path, rng):
    model = fastnn.Sequential([Input((3,)), layers.Dense(2, name="head")])
    model.compile("sgd", "mse", loss_weights={"head": 4.0})
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    x = rng.standard_normal((6, 3)).astype(np.float32)
    y = rng.standard_normal((6, 2)).astype(np.float32)
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    plain = fastnn.models.clone_model(model)
    plain.compile("sgd", "mse")
    plain.set_weights(model.get_weights())
    assert model.evaluate(x, y, verbose=0) == pytest.approx(4 * plain.evaluate(x, y, verbose=0))
    model.compile("sgd", "mse", loss_weights={"any": 1.0})  # one entry: any key, as Keras
    model.compile("sgd", "mse", loss_weights={"head": 4.0})
    model.add(layers.Dense(1, name="tail"))  # the key is no output name now: it still loads
    model.save(tmp_path / "renamed.keras")
    assert fastnn.models.load_model(tmp_path / "renamed.keras").get_compile_config()[
        "loss_weights"
    ] == {"head": 4.0}
    model.pop()
    for bad, match in [
        ({"a": 1.0, "b": 2.0}, "one weight"),
        ([1.0, 2.0], "one weight"),
        ("heavy", "must be a number"),
        (float("nan"), "finite"),
        (True, "must be a number"),
    ]:
        with pytest.raises(ValueError, match=match):
            model.compile("sgd", "mse", loss_weights=bad)
    assert model.get_compile_config()["loss_weights"] == {"head": 4.0}  # unchanged


@pytest.mark.parametrize(
    "loss, metrics",
    [
        ({"out": "mse"}, {"out": ["mae", "mse"]}),
        (["mse"], [["mae", "mse"]]),
        (("mse",), {"out": ["mae", "mse"]}),
    ],
    ids=["dicts", "lists", "tuple"],
)
def test_loss_and_metrics_given_per_output_are_the_one_outputs(rng, tmp_path, loss, metrics):
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.standard_normal((20, 2)).astype(np.float32)

    def fitted(loss, metrics):
        fastnn.utils.set_random_seed(5)
        inputs = fastnn.Input((3,))
        model = fastnn.Model(inputs, layers.Dense(2, name="out")(inputs))
        model.compile("adam", loss=loss, metrics=metrics)
        return model, model.fit(x, y, batch_size=7, epochs=2, verbose=0).history

    model, history = fitted(loss, metrics)
    _, plain = fitted("mse", ["mae", "mse"])
    assert history == plain
    model.save(tmp_path / "m.keras")
    again = fastnn.models.load_model(tmp_path / "m.keras")
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"Expected keys \['out'\] in loss dict"):
        model.compile("adam", loss={"head": "mse"})
    with pytest.raises(ValueError, match=r"Expected keys \['out'\] in metrics dict"):
        model.compile("adam", loss="mse", metrics={"out": ["mae"], "other": ["mse"]})
    with pytest.raises(ValueError, match="a list of 2 losses"):
        model.compile("adam", loss=["mse", "mae"])
    assert model.loss == loss  # the failed compiles changed nothing
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_keras_takes_the_same_per_output_forms(rng):
    keras = keras_or_skip()
    with keras_quiet():
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs))
        model.compile("adam", loss={"out": "mse"}, metrics={"out": ["mae"]})
        history = model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0).history
        assert sorted(history) == ["loss", "mae"]
        model.compile("adam", loss={"head": "mse"})
        with pytest.raises(ValueError, match=r"Expected keys \['out'\] in loss dict"):
            model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)


def test_keras_files_compiled_with_per_output_forms_load(tmp_path):
    keras = keras_or_skip()
    x = np.ones((4, 4), np.float32)
    with keras_quiet():
        inputs = keras.Input((4,), name="inp")
        theirs = keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs))
    for kwargs in (
        {"loss": {"out": "mse"}},
        {"loss": "mse", "metrics": {"out": ["mae"]}},
        {"loss": "mse", "weighted_metrics": {"out": "mae"}},
        {"loss": ["mse"], "metrics": [["mae"]]},
        {"loss": "mse", "metrics": [keras.metrics.AUC()]},
    ):
        with keras_quiet():
            theirs.compile("sgd", **kwargs)
            theirs.save(tmp_path / "m.keras")
            expected = theirs.evaluate(x, np.zeros((4, 2)), verbose=0, return_dict=True)
            config = keras.saving.serialize_keras_object(theirs)
        for ours in (
            fastnn.models.load_model(tmp_path / "m.keras"),
            fastnn.saving.deserialize_keras_object(config),
        ):
            assert ours.compiled
            got = ours.evaluate(x, np.zeros((4, 2)), verbose=0, return_dict=True)
            assert sorted(got) == sorted(expected), kwargs


def test_a_nested_model_names_the_output():
    inner = fastnn.Sequential([Input((3,)), layers.Dense(2, name="d_in")], name="inner")
    outer = fastnn.Sequential([Input((3,)), inner])
    outer.compile("sgd", loss={"inner": "mse"})
    with pytest.raises(ValueError, match=r"Expected keys \['inner'\]"):
        outer.compile("sgd", loss={"d_in": "mse"})
    inputs = Input((3,))
    assert fastnn.Model(inputs, inner(inputs)).output_names == ["inner"]
