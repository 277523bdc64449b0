"""A Dense layer's activity_regularizer, as Keras 3 computes it:
``(l1 * sum|y| + l2 * sum y**2) / batch_size`` of the layer's output joins
the loss in training and evaluation, and its gradient the output's. Against
Keras 3.15 (torch backend): loss histories, weights, evaluate; configs."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet
from layer_recipes import check_fit_matches_keras, targets

import fastnn
from fastnn import Input, layers, regularizers

REGULARIZERS = {
    "l1": lambda m: m.regularizers.L1(0.02),
    "l2": lambda m: m.regularizers.L2(0.05),
    "l1_l2": lambda m: m.regularizers.L1L2(0.01, 0.03),
}


def build(lib, hidden_reg, output_reg, output, frozen_middle=False):
    """Input(6) -> Dense(5, relu, hidden_reg) -> Dense(4, tanh) -> output."""
    units, activation = {"softmax": (3, "softmax"), "sigmoid": (1, "sigmoid"), "linear": (2, None)}[
        output
    ]
    middle = lib.layers.Dense(4, activation="tanh")
    model = lib.Sequential(
        [
            lib.Input((6,)),
            lib.layers.Dense(5, activation="relu", activity_regularizer=hidden_reg),
            middle,
            lib.layers.Dense(units, activation=activation, activity_regularizer=output_reg),
        ]
    )
    if frozen_middle:
        middle.trainable = False
    return model


@pytest.mark.parametrize("frozen_middle", [False, True])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
@pytest.mark.parametrize("where", ["hidden", "output", "both"])
@pytest.mark.parametrize("kind", list(REGULARIZERS))
def test_training_matches_keras(rng, kind, where, output, frozen_middle):
    keras = keras_or_skip()
    x = rng.standard_normal((50, 6)).astype(np.float32)  # 50 = 3 * 16 + 2: a short last batch
    y, loss = targets(rng, output, 50)
    make = REGULARIZERS[kind]

    def regs(lib):
        return (
            make(lib) if where in ("hidden", "both") else None,
            make(lib) if where in ("output", "both") else None,
        )

    check_fit_matches_keras(
        keras, lambda lib: build(lib, *regs(lib), output, frozen_middle), x, y, loss, 2e-5, 1e-4
    )


def test_penalty_is_the_batch_mean_of_the_outputs_norms(rng):
    """test_on_batch's loss: the MSE plus l1 * mean over rows of sum|y|."""
    fastnn.utils.set_random_seed(2)
    model = fastnn.Sequential(
        [Input((4,)), layers.Dense(3, activity_regularizer=regularizers.L1(0.5))]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((7, 4)).astype(np.float32)
    y = np.zeros((7, 3), np.float32)
    out = model.predict(x, verbose=0)
    expected = np.mean(out**2) + 0.5 * np.abs(out).sum() / 7
    np.testing.assert_allclose(model.test_on_batch(x, y), expected, rtol=1e-5)
    np.testing.assert_allclose(model.train_on_batch(x, y), expected, rtol=1e-5)


def test_thread_counts_agree(rng, threads):
    x = rng.standard_normal((300, 6)).astype(np.float32)
    y, loss = targets(rng, "softmax", 300)
    results = []
    for n in (1, 2, 3):
        fastnn.set_num_threads(n)
        fastnn.utils.set_random_seed(4)
        model = build(fastnn, regularizers.L1L2(0.01, 0.01), regularizers.L2(0.01), "softmax")
        model.compile(optimizer="adam", loss=loss)
        model.fit(x, y, batch_size=32, epochs=2, verbose=0)
        results.append(model.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_reassigned_activity_regularizer_applies_from_the_next_step(rng):
    fastnn.utils.set_random_seed(5)
    model = fastnn.Sequential([Input((4,)), layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = np.zeros((8, 3), np.float32)
    plain = model.test_on_batch(x, y)
    model.layers[0].activity_regularizer = "l2"  # Keras's l2: 0.01
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(
        model.test_on_batch(x, y), plain + 0.01 * (out**2).sum() / 8, rtol=1e-5
    )


def test_config_and_saving(tmp_path, rng):
    keras = keras_or_skip()
    dense = layers.Dense(3, activity_regularizer=regularizers.L1(0.25))
    with keras_quiet():
        kdense = keras.layers.Dense(3, activity_regularizer=keras.regularizers.L1(0.25))
    assert dense.get_config()["activity_regularizer"] == kdense.get_config()["activity_regularizer"]
    assert "activity_regularizer" not in layers.Dense(3).get_config()  # as Keras writes it
    assert layers.Dense.from_config(dense.get_config()).activity_regularizer == regularizers.L1(
        0.25
    )
    model = fastnn.Sequential([Input((5,)), dense])
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].activity_regularizer == regularizers.L1(0.25)
    with keras_quiet():
        kmodel = keras.Sequential([keras.Input((5,)), kdense])
        kmodel.compile("sgd", "mse")
        kmodel.save(tmp_path / "k.keras")
    from_keras = fastnn.models.load_model(tmp_path / "k.keras")
    assert from_keras.layers[0].activity_regularizer == regularizers.L1(0.25)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.standard_normal((6, 3)).astype(np.float32)
    with keras_quiet():
        from_keras.set_weights(kmodel.get_weights())
        expected = kmodel.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(from_keras.evaluate(x, y, verbose=0), expected, rtol=1e-5)


class Custom(regularizers.Regularizer):
    def __call__(self, x):
        return float(np.sum(np.abs(x) ** 3))


def test_bad_activity_regularizers_are_clear_errors_and_change_nothing(rng):
    with pytest.raises(ValueError, match="cannot use"):
        layers.Dense(2, activity_regularizer=Custom())
    with pytest.raises(ValueError, match="Could not interpret regularizer"):
        layers.Dense(2, activity_regularizer="l3")
    model = fastnn.Sequential([Input((4,)), layers.Dense(2)])
    model.build()
    before = model.get_weights()
    with pytest.raises(ValueError, match="cannot use"):
        model.layers[0].activity_regularizer = Custom()
    assert model.layers[0].activity_regularizer is None
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
