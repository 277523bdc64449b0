"""Weight constraints (fastnn.constraints, a Dense's kernel_constraint and
bias_constraint): the functions against Keras 3's, training trajectories
against Keras 3 (torch backend), serialization both ways, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, constraints, layers

CASES = [
    ("MaxNorm", {}),
    ("MaxNorm", {"max_value": 0.3, "axis": 0}),
    ("MaxNorm", {"max_value": 0.4, "axis": 1}),
    ("MaxNorm", {"max_value": 1.5, "axis": [0, 1]}),
    ("MinMaxNorm", {}),
    ("MinMaxNorm", {"min_value": 0.2, "max_value": 0.5, "rate": 0.7, "axis": -1}),
    ("UnitNorm", {}),
    ("UnitNorm", {"axis": 1}),
    ("NonNeg", {}),
]


def to_numpy(keras, value):
    with keras_quiet():
        return np.asarray(keras.ops.convert_to_numpy(value), np.float32)


@pytest.mark.parametrize(
    "name,kwargs,shape",
    [
        (name, kwargs, shape)
        for name, kwargs in CASES
        for shape in [(7, 5), (1, 3), (13,)]
        if len(shape) == 2 or kwargs.get("axis", 0) in (0, -1)  # a 1-D weight has axis 0 only
    ],
)
def test_constraint_functions_match_keras(rng, name, kwargs, shape):
    keras = keras_or_skip()
    w = rng.standard_normal(shape).astype(np.float32)
    w[0] = -0.0
    ours = getattr(constraints, name)(**kwargs)(w)
    theirs = to_numpy(keras, getattr(keras.constraints, name)(**kwargs)(w))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-7)


def keras_mlp(keras, weights, kernel_c, bias_c):
    model = keras.Sequential(
        [
            keras.Input((9,)),
            keras.layers.Dense(7, activation="tanh", kernel_constraint=kernel_c),
            keras.layers.Dense(4, bias_constraint=bias_c),
        ]
    )
    model.set_weights(weights)
    return model


def fastnn_mlp(kernel_c, bias_c, seed=1):
    fastnn.utils.set_random_seed(seed)
    return fastnn.Sequential(
        [
            Input((9,)),
            layers.Dense(7, activation="tanh", kernel_constraint=kernel_c),
            layers.Dense(4, bias_constraint=bias_c),
        ]
    )


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_with_constraints_matches_keras(rng, name, kwargs, optimizer):
    keras = keras_or_skip()
    bias_kwargs = {k: v for k, v in kwargs.items() if k != "axis"}
    model = fastnn_mlp(
        getattr(constraints, name)(**kwargs), getattr(constraints, name)(**bias_kwargs)
    )
    x = rng.standard_normal((48, 9)).astype(np.float32)
    y = rng.standard_normal((48, 4)).astype(np.float32)
    with keras_quiet():
        kmodel = keras_mlp(
            keras,
            model.get_weights(),
            getattr(keras.constraints, name)(**kwargs),
            getattr(keras.constraints, name)(**bias_kwargs),
        )
        make = {
            "sgd": lambda m: m.optimizers.SGD(0.05),
            "adam": lambda m: m.optimizers.Adam(0.01),
        }[optimizer]
        kmodel.compile(optimizer=make(keras), loss="mse")
        kmodel.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    model.compile(optimizer=make(fastnn), loss="mse")
    model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    with keras_quiet():
        expected = kmodel.get_weights()
    for ours, theirs in zip(model.get_weights(), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-5)


def test_max_norm_holds_after_every_step_and_frozen_layers_are_left(rng):
    model = fastnn_mlp(constraints.MaxNorm(0.25), "non_neg")
    model.compile(optimizer=fastnn.optimizers.SGD(0.5), loss="mse")
    x = rng.standard_normal((64, 9)).astype(np.float32)
    y = rng.standard_normal((64, 4)).astype(np.float32) * 5
    norms = []

    class Record(fastnn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            norms.append(np.sqrt((self.model.layers[0].get_weights()[0] ** 2).sum(0)).max())

    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Record()])
    assert len(norms) == 16 and max(norms) <= 0.25 * (1 + 1e-6)
    assert model.layers[1].get_weights()[1].min() >= 0
    # a frozen layer trains no more, and its constraint is not applied either
    model.layers[0].trainable = False
    model.layers[0].kernel.assign(np.full((9, 7), 3.0, np.float32))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], np.full((9, 7), 3.0))


def test_constraints_apply_on_any_thread_count_alike(rng, threads):
    x = rng.standard_normal((200, 9)).astype(np.float32)
    y = rng.standard_normal((200, 4)).astype(np.float32)
    results = []
    for n in (1, 2, 3):
        fastnn.set_num_threads(n)
        model = fastnn_mlp(constraints.UnitNorm(axis=1), constraints.MinMaxNorm(0.1, 0.2))
        model.compile("adam", "mse")
        model.fit(x, y, batch_size=32, epochs=2, verbose=0)
        results.append(model.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_reassigned_constraint_applies_from_the_next_step(rng):
    """fastnn applies a constraint reassigned on a built layer from the next
    step (as its regularizers and activation); Keras 3 fixes a weight's
    constraint when the layer is built and changes it through
    `layer.kernel.constraint = ...`, which fastnn takes too."""
    model = fastnn_mlp(None, None)
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((16, 9)).astype(np.float32)
    y = rng.standard_normal((16, 4)).astype(np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    model.layers[0].kernel_constraint = "unit_norm"
    model.fit(x, y, epochs=1, verbose=0)
    norms = np.sqrt((model.layers[0].get_weights()[0] ** 2).sum(0))
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    model.layers[1].bias.constraint = constraints.MaxNorm(0.01)
    assert model.layers[1].bias_constraint == constraints.MaxNorm(0.01)
    model.fit(x, y, epochs=1, verbose=0)
    assert np.linalg.norm(model.layers[1].get_weights()[1]) <= 0.01 * (1 + 1e-6)


def test_edge_values_as_keras_takes_them(rng):
    """Infinite and float32-overflowing bounds never bind; axis=None is one
    norm for the whole weight; serialize(None) is None."""
    w = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(constraints.MaxNorm(float("inf"))(w), w, rtol=1e-6)
    np.testing.assert_allclose(constraints.MaxNorm(1e39)(w), w, rtol=1e-6)
    np.testing.assert_allclose(constraints.MaxNorm(10**400)(w), w, rtol=1e-6)
    whole = constraints.MaxNorm(1.0, axis=None)(w)
    np.testing.assert_allclose(np.linalg.norm(whole), 1.0, rtol=1e-5)
    assert constraints.serialize(None) is None
    model = fastnn_mlp(constraints.MaxNorm(1e39), constraints.UnitNorm(axis=None))
    model.compile("sgd", "mse")
    x = rng.standard_normal((16, 9)).astype(np.float32)
    model.fit(x, np.zeros((16, 4), np.float32), epochs=1, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(model.layers[1].get_weights()[1]), 1.0, rtol=1e-3)


def test_apply_gradients_projects_frozen_layers_variables_too():
    """Keras's optimizer projects every variable it steps, trainable or not."""
    dense = layers.Dense(2, bias_constraint="non_neg")
    model = fastnn.Sequential([Input((2,)), dense])
    model.build()
    dense.trainable = False
    fastnn.optimizers.SGD(1.0).apply_gradients([(np.ones(2, np.float32), dense.bias)])
    np.testing.assert_array_equal(dense.get_weights()[1], [0.0, 0.0])


def test_optimizer_apply_projects_constrained_variables():
    layer = layers.Dense(3, kernel_constraint=constraints.MaxNorm(0.1))
    model = fastnn.Sequential([Input((4,)), layer])
    model.build()
    assert layer.kernel.constraint == constraints.MaxNorm(0.1) and layer.bias.constraint is None
    opt = fastnn.optimizers.SGD(1.0)
    assert layer.kernel is layer.kernel  # the same Variable, as Keras's
    for _ in range(2):  # the second call finds the variables again
        opt.apply_gradients(zip([-np.ones((4, 3), np.float32)], model.trainable_variables))
    assert np.sqrt((layer.get_weights()[0] ** 2).sum(0)).max() <= 0.1 * (1 + 1e-6)


def test_serialization_round_trips_and_matches_keras():
    keras = keras_or_skip()
    for name, kwargs in CASES:
        ours = getattr(constraints, name)(**kwargs)
        theirs = getattr(keras.constraints, name)(**kwargs)
        config = constraints.serialize(ours)
        assert config == keras.constraints.serialize(theirs)
        assert constraints.deserialize(config) == ours
        assert constraints.get(config) == ours
    for key in ("max_norm", "min_max_norm", "non_neg", "unit_norm", "MaxNorm", "NonNeg"):
        assert type(constraints.get(key)).__name__ == type(keras.constraints.get(key)).__name__
    assert constraints.get(None) is None
    assert constraints.max_norm is constraints.MaxNorm


def test_dense_config_save_and_load(tmp_path, rng):
    keras = keras_or_skip()
    dense = layers.Dense(3, kernel_constraint=constraints.MaxNorm(2.5), bias_constraint="non_neg")
    config = dense.get_config()
    with keras_quiet():
        kdense = keras.layers.Dense(
            3, kernel_constraint=keras.constraints.MaxNorm(2.5), bias_constraint="non_neg"
        )
    kconfig = kdense.get_config()
    assert config["kernel_constraint"] == kconfig["kernel_constraint"]
    assert config["bias_constraint"] == kconfig["bias_constraint"]
    clone = layers.Dense.from_config(config)
    assert clone.kernel_constraint == constraints.MaxNorm(2.5)
    model = fastnn.Sequential([Input((5,)), dense])
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].kernel_constraint == constraints.MaxNorm(2.5)
    assert isinstance(loaded.layers[0].bias_constraint, constraints.NonNeg)
    # a Keras file with constraints loads too
    with keras_quiet():
        kmodel = keras.Sequential([keras.Input((5,)), kdense])
        kmodel.save(tmp_path / "k.keras")
    from_keras = fastnn.models.load_model(tmp_path / "k.keras")
    assert from_keras.layers[0].kernel_constraint == constraints.MaxNorm(2.5)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    with keras_quiet():
        expected = kmodel.predict(x, verbose=0)
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


class Clip(constraints.Constraint):
    def __call__(self, w):
        return np.clip(w, -1, 1)


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda: layers.Dense(2, kernel_constraint="max_nrom"), ValueError, "max_nrom"),
        (lambda: layers.Dense(2, kernel_constraint=Clip()), ValueError, "cannot use Clip"),
        (
            lambda: layers.Dense(2, bias_constraint=constraints.MaxNorm(axis=1)),
            ValueError,
            "axis 1 is out of range",
        ),
        (
            lambda: layers.Dense(2, kernel_constraint=constraints.MaxNorm(axis=2)),
            ValueError,
            "axis 2 is out of range",
        ),
        (lambda: constraints.MaxNorm("big"), ValueError, "max_value must be a number"),
        (lambda: constraints.MinMaxNorm(rate=float("nan")), ValueError, "got NaN"),
        (lambda: constraints.UnitNorm(axis=0.5), ValueError, "axis must be an int"),
        (lambda: constraints.MaxNorm(axis=[]), ValueError, "axis must be an int"),
        (lambda: layers.Dense(2, kernel_constraint=5), ValueError, "Could not interpret"),
    ],
)
def test_bad_constraints_are_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_bad_reassignment_leaves_the_model_as_it_was(rng):
    model = fastnn_mlp(constraints.MaxNorm(1.0), None)
    model.build()
    before = model.get_weights()
    with pytest.raises(ValueError, match="cannot use Clip"):
        model.layers[0].kernel_constraint = Clip()
    assert model.layers[0].kernel_constraint == constraints.MaxNorm(1.0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    # a custom constraint still works as a function
    np.testing.assert_array_equal(Clip()(np.array([-3.0, 0.5])), [-1.0, 0.5])
