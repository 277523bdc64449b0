"""Layer hyperparameters reassigned after build, and initializers that would
give NaN or Inf weights.

Keras reads a layer's hyperparameters (a Dropout's rate, an activation, a
BatchNormalization's momentum ...) at each call, so a new value takes effect
at the next step. fastnn's engine copies them when the model is built: an
assignment is checked as the constructor checks it and the layer is described
to the engine again, weights, optimizer state and drawn seeds kept. Reference
for "takes effect": a model built with the new value from the start, trained
from the same seed, bit for bit.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, initializers, layers, models, optimizers, regularizers, utils

_RNG = np.random.default_rng(7)
X = _RNG.standard_normal((96, 6)).astype(np.float32)
Y = _RNG.integers(0, 3, 96)


def _model(layer, optimizer="sgd", functional=False):
    """Input(6) -> Dense(8) -> `layer` -> Dense(3, softmax), from seed 11
    (Rescaling goes first, where fastnn runs it). The hidden Dense is linear,
    so that negative slopes matter."""
    utils.set_random_seed(11)
    first = isinstance(layer, layers.Rescaling)
    stack = [layer] if first else []
    stack += [layers.Dense(8, name="hidden")]
    stack += [] if first else [layer]
    stack += [layers.Dense(3, activation="softmax", name="out")]
    if functional:
        x = inputs = layers.Input((6,))
        for item in stack:
            x = item(x)
        model = fastnn.Model(inputs, x)
    else:
        model = fastnn.Sequential([layers.Input((6,)), *stack])
    opt = optimizers.SGD(0.05) if optimizer == "sgd" else optimizers.Adam(0.01)
    model.compile(opt, "sparse_categorical_crossentropy")
    return model


def _fit(model, epochs=2):
    history = model.fit(X, Y, epochs=epochs, batch_size=16, shuffle=False, verbose=0)
    return history.history["loss"]


def _same_weights(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


# (make the layer from the value, attribute, value at build, value assigned)
CHANGES = {
    "dropout_rate": (lambda v: layers.Dropout(v), "rate", 0.0, 0.5),
    "dropout_rate_down": (lambda v: layers.Dropout(v), "rate", 0.6, 0.1),
    "dropout_seed": (lambda v: layers.Dropout(0.3, seed=v), "seed", 5, 6),
    "gaussian_noise_stddev": (lambda v: layers.GaussianNoise(v), "stddev", 0.0, 0.4),
    "gaussian_dropout_rate": (lambda v: layers.GaussianDropout(v), "rate", 0.1, 0.5),
    "alpha_dropout_rate": (lambda v: layers.AlphaDropout(v), "rate", 0.0, 0.3),
    "activation": (lambda v: layers.Activation(v), "activation", "relu", "tanh"),
    "dense_activation": (lambda v: layers.Dense(8, activation=v), "activation", None, "elu"),
    "dense_regularizer": (
        lambda v: layers.Dense(8, kernel_regularizer=v),
        "kernel_regularizer",
        None,
        "l2",
    ),
    "dense_bias_regularizer": (
        lambda v: layers.Dense(8, bias_regularizer=v),
        "bias_regularizer",
        regularizers.L1(0.1),
        None,
    ),
    "leaky_relu_slope": (lambda v: layers.LeakyReLU(v), "negative_slope", 0.3, 0.01),
    "elu_alpha": (lambda v: layers.ELU(v), "alpha", 1.0, 0.2),
    "relu_max_value": (lambda v: layers.ReLU(max_value=v), "max_value", None, 0.3),
    "relu_negative_slope": (lambda v: layers.ReLU(negative_slope=v), "negative_slope", 0.0, 0.2),
    "relu_threshold": (lambda v: layers.ReLU(threshold=v), "threshold", 0.0, 0.25),
    "batch_norm_momentum": (
        lambda v: layers.BatchNormalization(momentum=v),
        "momentum",
        0.99,
        0.5,
    ),
    "batch_norm_epsilon": (lambda v: layers.BatchNormalization(epsilon=v), "epsilon", 1e-3, 0.5),
    "rescaling_scale": (lambda v: layers.Rescaling(v), "scale", 1.0, 0.25),
    "rescaling_offset": (lambda v: layers.Rescaling(1.0, offset=v), "offset", 0.0, -0.5),
}


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
@pytest.mark.parametrize("case", list(CHANGES))
def test_a_value_assigned_after_build_trains_as_built_with_it(case, functional):
    make, attribute, before, after = CHANGES[case]
    layer = make(before)
    changed = _model(layer, functional=functional)
    changed.predict(X, verbose=0)  # the network has run with the old value
    setattr(layer, attribute, after)
    losses = _fit(changed)
    built_with = make(after)
    reference = _model(built_with, functional=functional)
    assert losses == _fit(reference)
    assert _same_weights(changed, reference)
    np.testing.assert_array_equal(changed.predict(X, verbose=0), reference.predict(X, verbose=0))
    assert layer.get_config() == {**built_with.get_config(), "name": layer.name}


def test_a_new_rate_keeps_weights_optimizer_state_and_steps():
    model = _model(layers.Dropout(0.2), optimizer="adam")
    _fit(model, epochs=1)
    weights = model.get_weights()
    state = [np.array(v) for v in model.optimizer.variables]
    steps = int(model.optimizer.iterations)
    model.layers[1].rate = 0.5
    assert _same_weights_as(model, weights)
    after = [np.array(v) for v in model.optimizer.variables]
    assert len(after) == len(state) and all(np.array_equal(a, b) for a, b in zip(after, state))
    assert int(model.optimizer.iterations) == steps
    _fit(model, epochs=1)
    assert int(model.optimizer.iterations) == 2 * steps  # it went on, not from zero
    unchanged = _model(layers.Dropout(0.2), optimizer="adam")
    _fit(unchanged, epochs=2)
    assert not _same_weights(model, unchanged)


def test_a_change_draws_no_seed_and_keeps_the_drawn_ones():
    _model(layers.Dropout(0.2))
    expected = utils.next_seed()
    model = _model(layers.Dropout(0.2))
    drawn = model.layers[1]._built_seed
    model.layers[1].rate = 0.5
    model.layers[0].activation = "tanh"
    assert utils.next_seed() == expected
    assert model.layers[1]._built_seed == drawn


def _same_weights_as(model, weights) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))


@pytest.mark.parametrize(
    ("make", "attribute", "value"),
    [
        (lambda: layers.Dropout(0.2), "rate", 0.6),
        (lambda: layers.GaussianNoise(0.1), "stddev", 0.5),
        (lambda: layers.Activation("relu"), "activation", "sigmoid"),
        (lambda: layers.BatchNormalization(), "momentum", 0.1),
    ],
)
def test_save_and_load_after_a_change_trains_with_the_new_value(tmp_path, make, attribute, value):
    model = _model(make(), optimizer="adam")
    _fit(model, epochs=1)
    setattr(model.layers[1], attribute, value)
    path = str(tmp_path / "changed.keras")
    model.save(path)
    loaded = models.load_model(path)
    assert getattr(loaded.layers[1], attribute) == value
    np.testing.assert_array_equal(model.predict(X, verbose=0), loaded.predict(X, verbose=0))
    assert _fit(model, epochs=1) == _fit(loaded, epochs=1)
    assert _same_weights(model, loaded)


def test_a_rate_changed_by_a_callback_applies_from_the_next_epoch():
    def schedule(epoch, logs):
        if epoch == 0:
            scheduled.layers[1].rate = 0.6

    scheduled = _model(layers.Dropout(0.1))
    scheduled.fit(
        X,
        Y,
        epochs=2,
        batch_size=16,
        shuffle=False,
        verbose=0,
        callbacks=[callbacks.LambdaCallback(on_epoch_end=schedule)],
    )
    stepwise = _model(layers.Dropout(0.1))
    _fit(stepwise, epochs=1)
    stepwise.layers[1].rate = 0.6
    _fit(stepwise, epochs=1)
    unchanged = _model(layers.Dropout(0.1))
    _fit(unchanged, epochs=2)
    assert _same_weights(scheduled, stepwise)
    assert not _same_weights(scheduled, unchanged)


def test_a_change_from_another_thread_while_training_is_refused():
    model = _model(layers.Dropout(0.2))
    started, release = threading.Event(), threading.Event()

    class Hold(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.set()
            release.wait(30)

    worker = threading.Thread(target=lambda: model.fit(X, Y, verbose=0, callbacks=[Hold()]))
    worker.start()
    try:
        assert started.wait(30)
        with pytest.raises(RuntimeError, match="training in another thread"):
            model.layers[1].rate = 0.5
        assert model.layers[1].rate == 0.2
    finally:
        release.set()
        worker.join()
    model.layers[1].rate = 0.5  # once it returned
    assert model.layers[1].rate == 0.5


# (make the layer with one argument, attribute, valid value, refused values)
REFUSED = {
    "dropout_rate": (
        lambda **kw: layers.Dropout(**{"rate": 0.1, **kw}),
        "rate",
        [5.0, -1.0, float("nan"), "abc", None, 1.0, 1 - 2**-26],
    ),
    "dropout_noise_shape": (
        lambda **kw: layers.Dropout(0.1, **kw),
        "noise_shape",
        [(1, 8)],
    ),
    "gaussian_noise_stddev": (
        lambda **kw: layers.GaussianNoise(**{"stddev": 0.1, **kw}),
        "stddev",
        [1.5, -0.1, float("nan"), "x", True],
    ),
    "gaussian_dropout_rate": (
        lambda **kw: layers.GaussianDropout(**{"rate": 0.1, **kw}),
        "rate",
        [1.0, float("inf"), None],
    ),
    "alpha_dropout_rate": (
        lambda **kw: layers.AlphaDropout(**{"rate": 0.1, **kw}),
        "rate",
        [-0.5, "abc"],
    ),
    "alpha_dropout_noise_shape": (
        lambda **kw: layers.AlphaDropout(0.1, **kw),
        "noise_shape",
        [(1, 8)],
    ),
    "activation": (
        lambda **kw: layers.Activation(**{"activation": "relu", **kw}),
        "activation",
        ["nope", 3],
    ),
    "dense_activation": (
        lambda **kw: layers.Dense(8, name="mid", **kw),
        "activation",
        ["nope", object()],
    ),
    "dense_regularizer": (
        lambda **kw: layers.Dense(8, name="mid", **kw),
        "kernel_regularizer",
        ["nope", lambda w: 0.0],
    ),
    "dense_initializer": (
        lambda **kw: layers.Dense(8, name="mid", **kw),
        "kernel_initializer",
        ["nope", 1.5],
    ),
    "leaky_relu_slope": (
        lambda **kw: layers.LeakyReLU(**kw),
        "negative_slope",
        [-1.0, None, float("nan"), "x"],
    ),
    "elu_alpha": (lambda **kw: layers.ELU(**kw), "alpha", [-1.0, float("inf")]),
    "relu_max_value": (lambda **kw: layers.ReLU(**kw), "max_value", [-1.0, float("nan")]),
    "relu_negative_slope": (lambda **kw: layers.ReLU(**kw), "negative_slope", [-0.5, None]),
    "relu_threshold": (lambda **kw: layers.ReLU(**kw), "threshold", [float("nan"), -2.0]),
    "softmax_axis": (lambda **kw: layers.Softmax(**kw), "axis", [0, 2]),
    "batch_norm_momentum": (
        lambda **kw: layers.BatchNormalization(**kw),
        "momentum",
        [1.5, -0.1, float("nan")],
    ),
    "batch_norm_epsilon": (
        lambda **kw: layers.BatchNormalization(**kw),
        "epsilon",
        [0.0, 1e-50, -1.0],
    ),
    "batch_norm_axis": (lambda **kw: layers.BatchNormalization(**kw), "axis", [0, "x", 1.0]),
    "rescaling_scale": (
        lambda **kw: layers.Rescaling(**{"scale": 1.0, **kw}),
        "scale",
        ["x", float("nan"), 1e39, True],
    ),
    "rescaling_offset": (lambda **kw: layers.Rescaling(1.0, **kw), "offset", [float("inf")]),
}


@pytest.mark.parametrize(
    ("case", "bad"),
    [(case, bad) for case, (_, _, values) in REFUSED.items() for bad in values],
    ids=lambda v: v if isinstance(v, str) else repr(v)[:20],
)
def test_a_refused_value_raises_the_constructors_error_and_changes_nothing(case, bad):
    make, attribute, _ = REFUSED[case]
    with pytest.raises((ValueError, TypeError)) as refused:
        make(**{attribute: bad})
    model = _model(make())
    index = 0 if isinstance(model.layers[0], layers.Rescaling) else 1
    layer = model.layers[index]
    old, config = getattr(layer, attribute), layer.get_config()
    weights, outputs = model.get_weights(), model.predict(X, verbose=0)
    with pytest.raises(type(refused.value)) as assigned:
        setattr(layer, attribute, bad)
    assert str(assigned.value) == str(refused.value)
    assert getattr(layer, attribute) is old
    assert layer.get_config() == config
    assert _same_weights_as(model, weights)
    np.testing.assert_array_equal(model.predict(X, verbose=0), outputs)
    model.train_on_batch(X, Y)  # still trains


def test_a_value_the_built_model_refuses_leaves_it_as_it_was():
    """Checks that need the model's shapes run when the layer is described
    again: BatchNormalization's axis, a Rescaling scale that does not
    broadcast. The weights stay the model's (views into its buffer)."""
    model = _model(layers.BatchNormalization(), optimizer="adam")
    _fit(model, epochs=1)
    outputs = model.predict(X, verbose=0)
    with pytest.raises(ValueError, match="axis=3 is not the feature axis"):
        model.layers[1].axis = 3
    assert model.layers[1].axis == -1
    np.testing.assert_array_equal(model.predict(X, verbose=0), outputs)
    model.layers[1].axis = 1  # the same axis here
    np.testing.assert_array_equal(model.predict(X, verbose=0), outputs)
    zeros = [np.zeros_like(w) for w in model.get_weights()]
    model.set_weights(zeros)
    assert np.allclose(model.predict(X, verbose=0), 1 / 3)

    rescaled = _model(layers.Rescaling(np.ones(6)))
    outputs = rescaled.predict(X, verbose=0)
    with pytest.raises(ValueError, match="does not broadcast"):
        rescaled.layers[0].scale = np.ones(4)
    assert rescaled.layers[0].scale.shape == (6,)
    np.testing.assert_array_equal(rescaled.predict(X, verbose=0), outputs)
    rescaled.layers[0].scale = np.full(6, 2.0)
    doubled = _model(layers.Rescaling(2.0))
    np.testing.assert_array_equal(rescaled.predict(X, verbose=0), doubled.predict(X, verbose=0))


@pytest.mark.parametrize(
    ("make", "attribute", "value"),
    [
        (lambda: layers.Dense(8), "units", 4),
        (lambda: layers.Dense(8), "use_bias", False),
        (lambda: layers.BatchNormalization(), "center", False),
        (lambda: layers.BatchNormalization(), "scale", False),
    ],
)
def test_a_shape_argument_cannot_change_once_built(make, attribute, value):
    model = _model(make())
    old, weights = getattr(model.layers[1], attribute), model.get_weights()
    with pytest.raises(AttributeError, match=f"`{attribute}` sets the shape of its weights"):
        setattr(model.layers[1], attribute, value)
    assert getattr(model.layers[1], attribute) == old
    assert _same_weights_as(model, weights)
    unbuilt = make()  # before build it is an argument like the others
    setattr(unbuilt, attribute, value)
    assert unbuilt.get_config()[attribute] == value


def test_an_unbuilt_layer_checks_and_keeps_a_new_value():
    dense = layers.Dense(8)
    with pytest.raises(ValueError, match="Dense units must be a positive int, got 0"):
        dense.units = 0
    dense.units = 3
    dense.activation = "softmax"
    assert dense.activation == "softmax" and dense.activation.__name__ == "softmax"
    model = fastnn.Sequential([layers.Input((6,)), dense])
    assert model.output_shape == (None, 3)
    np.testing.assert_allclose(model.predict(X, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("make", "fixed"),
    [
        (lambda: layers.LeakyReLU(), "leaky_relu"),
        (lambda: layers.ELU(), "elu"),
        (lambda: layers.ReLU(), "relu"),
        (lambda: layers.Softmax(), "softmax"),
    ],
)
def test_the_activation_of_an_activation_subclass_is_not_an_argument(make, fixed):
    layer = make()
    with pytest.raises(AttributeError, match="cannot be set"):
        layer.activation = "sigmoid"
    assert layer.activation == fixed


def test_an_eagerly_built_dense_uses_a_new_activation():
    dense = layers.Dense(4, activation="relu", kernel_initializer="ones")
    x = -np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(dense(x), np.zeros((2, 4)))
    dense.activation = "linear"
    np.testing.assert_array_equal(dense(x), np.full((2, 4), -3.0))


# -- initializers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: initializers.RandomNormal(stddev=-1.0), "stddev"),
        (lambda: initializers.RandomNormal(stddev=float("nan")), "stddev"),
        (lambda: initializers.RandomNormal(stddev=float("inf")), "stddev"),
        (lambda: initializers.RandomNormal(mean=float("inf")), "mean"),
        (lambda: initializers.RandomNormal(mean=float("nan")), "mean"),
        (lambda: initializers.RandomNormal(mean="x"), "mean"),
        (lambda: initializers.TruncatedNormal(stddev=-1.0), "stddev"),
        (lambda: initializers.TruncatedNormal(stddev=float("nan")), "stddev"),
        (lambda: initializers.TruncatedNormal(mean=-float("inf")), "mean"),
        (lambda: initializers.RandomUniform(minval=-float("inf")), "minval"),
        (lambda: initializers.RandomUniform(maxval=float("inf")), "maxval"),
        (lambda: initializers.RandomUniform(maxval=float("nan")), "maxval"),
        (lambda: initializers.RandomUniform(minval=None), "minval"),
    ],
)
def test_an_initializer_refuses_a_non_finite_or_negative_argument(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}` must be a finite number"):
        make()


def test_an_initializer_checks_and_uses_a_reassigned_argument():
    normal = initializers.RandomNormal(stddev=0.05, seed=3)
    assert normal.get_config()["stddev"] == 0.05
    with pytest.raises(ValueError, match="`stddev` must be a finite number >= 0, got stddev=-2"):
        normal.stddev = -2
    assert normal.stddev == 0.05
    normal.stddev = 0.5
    expected = initializers.RandomNormal(stddev=0.5, seed=3)((50, 50))
    np.testing.assert_array_equal(normal((50, 50)), expected)
    uniform = initializers.RandomUniform(seed=3)
    uniform.maxval = 2.0
    expected = initializers.RandomUniform(-0.05, 2.0, seed=3)((50, 50))
    np.testing.assert_array_equal(uniform((50, 50)), expected)
    constant = initializers.Constant(1.0)
    constant.value = 4
    np.testing.assert_array_equal(constant((2,)), [4.0, 4.0])
    # zero spread is allowed (every value the mean), as in Keras
    np.testing.assert_array_equal(initializers.TruncatedNormal(1.0, 0.0, seed=1)((3,)), [1, 1, 1])


NON_FINITE = {
    "constant_nan": (lambda: initializers.Constant(float("nan")), "Constant(value=nan)"),
    "constant_inf": (lambda: initializers.Constant(-float("inf")), "Constant(value=-inf)"),
    "constant_1e39": (lambda: initializers.Constant(1e39), "Constant(value=1e+39)"),
    "normal_mean": (
        lambda: initializers.RandomNormal(mean=-3.4e38, stddev=1e37, seed=1),
        "RandomNormal(seed=1, mean=-3.4e+38, stddev=1e+37)",
    ),
    "normal_stddev": (
        lambda: initializers.RandomNormal(stddev=1e38),
        "RandomNormal(seed=None, mean=0.0, stddev=1e+38)",
    ),
    "truncated_stddev": (
        lambda: initializers.TruncatedNormal(stddev=3e38),
        "TruncatedNormal(seed=None, mean=0.0, stddev=3e+38)",
    ),
    "uniform_1e39": (
        lambda: initializers.RandomUniform(-1e39, 1.0),
        "RandomUniform(seed=None, minval=-1e+39, maxval=1.0)",
    ),
}


@pytest.mark.parametrize("weight", ["kernel", "bias"])
@pytest.mark.parametrize("position", [0, 1])
@pytest.mark.parametrize("case", list(NON_FINITE))
def test_building_with_a_non_finite_initializer_is_refused(case, position, weight):
    make, described = NON_FINITE[case]
    stack = [
        layers.Dense(5, name="first"),
        layers.Dropout(0.2),
        layers.Dense(3, name="second"),
    ]
    bad = stack[2 * position]
    setattr(bad, f"{weight}_initializer", make())
    model = fastnn.Sequential(stack)
    with pytest.raises(ValueError) as refused:
        model.build((None, 4))
    message = str(refused.value)
    assert f"Dense layer {bad.name!r}: its {weight} initializer {described}" in message
    assert "weights must be finite" in message
    assert not model.built
    assert all(not layer.built and layer.get_weights() == [] for layer in stack)
    setattr(bad, f"{weight}_initializer", "ones")  # then it builds, as if never refused
    model.build((None, 4))
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_a_non_finite_initializer_refused_by_add_leaves_the_model_working():
    model = _model(layers.Dropout(0.2))
    _fit(model, epochs=1)
    weights, outputs = model.get_weights(), model.predict(X, verbose=0)
    bad = layers.Dense(2, bias_initializer=initializers.Constant(float("inf")), name="extra")
    with pytest.raises(ValueError, match="'extra': its bias initializer Constant"):
        model.add(bad)
    assert len(model.layers) == 3 and model.output_shape == (None, 3)
    assert _same_weights_as(model, weights)
    np.testing.assert_array_equal(model.predict(X, verbose=0), outputs)
    _fit(model, epochs=1)  # the layers' weights are still the trained network's
    assert not _same_weights_as(model, weights)


def test_an_initializer_assigned_after_build_does_not_stop_a_rebuild():
    """Weights that exist are kept by a rebuild (a change, `add`, `pop`): a
    NaN initializer assigned since is not used, so not refused."""
    model = _model(layers.Dropout(0.2))
    hidden = model.layers[0]
    hidden.kernel_initializer = initializers.Constant(float("nan"))
    weights = model.get_weights()
    model.layers[1].rate = 0.4
    model.add(layers.Dense(2))
    model.pop()
    assert _same_weights_as(model, weights)
    assert np.isfinite(_fit(model, epochs=1)).all()


@pytest.mark.parametrize(
    ("make", "weight"),
    [
        (lambda: layers.BatchNormalization(gamma_initializer=initializers.Constant(1e39)), "gamma"),
        (
            lambda: layers.BatchNormalization(
                moving_variance_initializer=initializers.Constant(float("nan"))
            ),
            "moving_variance",
        ),
    ],
)
def test_a_batch_norm_initializer_is_checked_too(make, weight):
    layer = make()
    with pytest.raises(ValueError, match=f"its {weight} initializer Constant"):
        fastnn.Sequential([layers.Input((4,)), layer])
    with pytest.raises(ValueError, match=f"its {weight} initializer Constant"):
        layer.build((None, 4))
    assert not layer.built and layer.get_weights() == []


class _NaNInitializer(initializers.Initializer):
    """A custom initializer whose range fastnn cannot know in advance."""

    kernel = "zeros"

    def __call__(self, shape, dtype=None):
        values = np.zeros(shape, np.float32)
        values.flat[-1] = math.nan
        return values


def test_the_values_of_a_custom_initializer_are_checked():
    dense = layers.Dense(3, kernel_initializer=_NaNInitializer())
    with pytest.raises(ValueError, match="its kernel initializer _NaNInitializer.*NaN or Inf"):
        dense(np.ones((2, 4), np.float32))  # Keras's eager build
    assert not dense.built and dense.get_weights() == []
    model = fastnn.Sequential([layers.Dense(3, bias_initializer=_NaNInitializer())])
    with pytest.raises(ValueError, match="its bias initializer _NaNInitializer"):
        model.build((None, 4))
    assert not model.built


@pytest.mark.parametrize("rate", ["0.5", b"0.5"])
def test_a_dropout_rate_given_as_text_is_a_type_error(rate):
    """Keras compares the rate with numbers, which raises TypeError for text."""
    with pytest.raises(TypeError, match="Dropout rate must be a float, got"):
        layers.Dropout(rate)
    layer = layers.Dropout(0.25)
    with pytest.raises(TypeError, match="Dropout rate must be a float, got"):
        layer.rate = rate
    assert layer.rate == 0.25


def test_a_shared_weightless_layer_changes_in_every_model_that_runs_it():
    act = layers.Activation("relu")
    first = models.Sequential([layers.Input((3,)), act])
    second = models.Sequential([layers.Input((3,)), act])
    x = np.array([[-1.0, 2.0, -3.0]], np.float32)
    act.activation = "linear"
    for model in (first, second):
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)
        assert model.layers[0].get_config()["activation"] == "linear"


def test_a_softmax_layer_pickled_before_its_axis_was_stored_reads_minus_one():
    import pickle

    layer = layers.Softmax()
    state = layer.__getstate__()
    state.pop("axis")  # as pickled by a fastnn that did not store it
    restored = layers.Softmax.__new__(layers.Softmax)
    restored.__dict__.update(state)
    assert restored.axis == -1
    assert pickle.loads(pickle.dumps(restored)).get_config()["axis"] == -1
