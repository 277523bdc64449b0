"""Review fixes, optimizers: `exclude_from_weight_decay` (Keras 3's, with its
matching rules, in fit and in apply_gradients, compared with Keras on torch)
and schedules at negative steps (Keras's numbers, no ZeroDivisionError)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import _core, optimizers
from fastnn.optimizers import schedules

# float32: Keras's Adam step scalars are float32 (fastnn's double), which
# moves weights of size ~3 by ~1.5e-6 per epoch here with or without exclusion
RTOL, ATOL = 1e-5, 1e-5


def _data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)
    return x, y


def _initial_weights():
    rng = np.random.default_rng(3)
    return [
        rng.normal(size=(4, 5)).astype(np.float32),
        rng.normal(size=(5,)).astype(np.float32),  # non-zero biases: decay shows
        rng.normal(size=(5, 1)).astype(np.float32),
        rng.normal(size=(1,)).astype(np.float32),
    ]


def _model(M):
    model = M.Sequential(
        [
            M.Input((4,)),
            M.layers.Dense(5, activation="relu", name="d1"),
            M.layers.Dense(1, name="out"),
        ]
    )
    model.set_weights(_initial_weights())
    return model


def _fit(M, make_optimizer, exclude=None, epochs=2):
    """Weights after fit; `exclude(optimizer, model)` configures the exclusion."""
    model = _model(M)
    opt = make_optimizer(M)
    if exclude is not None:
        exclude(opt, model)
    model.compile(optimizer=opt, loss="mse")
    x, y = _data()
    with keras_quiet():
        model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
        return [np.asarray(w) for w in model.get_weights()]


def _close(a, b):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=RTOL, atol=ATOL)


def _differ(a, b):
    return any(not np.allclose(u, v, rtol=RTOL, atol=ATOL) for u, v in zip(a, b))


def _by_names(names):
    return lambda opt, model: opt.exclude_from_weight_decay(var_names=names)


def _by_list(opt, model):  # the first layer's kernel and the last layer's bias
    opt.exclude_from_weight_decay(var_list=[model.layers[0].kernel, model.layers[1].bias])


OPTIMIZERS = {
    "adamw": lambda M: M.optimizers.AdamW(learning_rate=0.05, weight_decay=0.1),
    "adam": lambda M: M.optimizers.Adam(learning_rate=0.05, weight_decay=0.1),
    "sgd_momentum": lambda M: M.optimizers.SGD(learning_rate=0.05, momentum=0.9, weight_decay=0.2),
    "rmsprop": lambda M: M.optimizers.RMSprop(learning_rate=0.01, weight_decay=0.5),
}


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
@pytest.mark.parametrize(
    "exclude",
    [_by_names(["bias"]), _by_list, _by_names(["k.r"])],
    ids=["var_names_bias", "var_list", "var_names_regex"],
)
def test_fit_exclusion_matches_keras(kind, exclude):
    keras = keras_or_skip()
    make = OPTIMIZERS[kind]
    ours = _fit(fastnn, make, exclude)
    _close(ours, _fit(keras, make, exclude))
    assert _differ(ours, _fit(fastnn, make))  # the exclusion changed the run


def test_var_names_match_the_name_not_the_path():
    # Keras searches variable.name ("kernel", "bias"): a layer's name excludes nothing
    keras = keras_or_skip()
    make = OPTIMIZERS["adamw"]
    ours = _fit(fastnn, make, _by_names(["d1"]))
    _close(ours, _fit(fastnn, make))
    _close(ours, _fit(keras, make, _by_names(["d1"])))


def test_later_call_replaces_the_choice_and_applies_from_the_next_step():
    keras = keras_or_skip()
    make = OPTIMIZERS["adamw"]
    weights = []
    for M in (fastnn, keras):
        model = _model(M)
        opt = make(M)
        opt.exclude_from_weight_decay(var_names=["kernel"])
        model.compile(optimizer=opt, loss="mse")
        x, y = _data()
        with keras_quiet():
            model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
            assert opt.built
            # after the optimizer is built: Keras accepts it (no error) and
            # the new choice (biases only) replaces the old one
            opt.exclude_from_weight_decay(var_names=["bias"])
            model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
            weights.append([np.asarray(w) for w in model.get_weights()])
    _close(*weights)


def test_apply_gradients_with_model_variables_matches_keras():
    keras = keras_or_skip()
    import torch

    rng = np.random.default_rng(11)
    grads = [rng.normal(size=w.shape).astype(np.float32) for w in _initial_weights()]
    out = []
    for M in (fastnn, keras):
        model = _model(M)
        opt = M.optimizers.AdamW(learning_rate=0.1, weight_decay=0.3)
        opt.exclude_from_weight_decay(var_names=["bias"], var_list=[model.layers[1].kernel])
        variables = model.trainable_variables
        for _ in range(3):
            given = grads if M is fastnn else [torch.from_numpy(g) for g in grads]
            opt.apply_gradients(zip(given, variables))
        with keras_quiet():
            out.append([np.asarray(w) for w in model.get_weights()])
    _close(*out)


def test_apply_gradients_plain_arrays_by_var_list():
    # plain arrays have no name: only var_list can exclude them
    w0 = np.array([1.0, 2.0], np.float32)
    b0 = np.array([3.0, 4.0], np.float32)
    grads = [np.zeros(2, np.float32), np.zeros(2, np.float32)]
    opt = optimizers.SGD(learning_rate=0.5, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_list=[b0], var_names=["bias"])
    opt.apply_gradients(zip(grads, [w0, b0]))
    np.testing.assert_array_equal(w0, np.float32([1.0, 2.0]) * np.float32(1 - 0.05))
    np.testing.assert_array_equal(b0, [3.0, 4.0])  # excluded: untouched by the zero gradient


def test_no_exclusion_after_an_empty_call():
    opt = optimizers.SGD(learning_rate=0.5, weight_decay=0.1)
    w = np.array([1.0], np.float32)
    opt.exclude_from_weight_decay(var_list=[w])
    opt.exclude_from_weight_decay(var_names=[])  # replaces the choice: nothing excluded
    opt.apply_gradients([(np.zeros(1, np.float32), w)])
    assert w[0] == np.float32(0.95)


def test_bad_var_names_raise_as_in_keras():
    opt = optimizers.AdamW()
    with pytest.raises(re.error):
        opt.exclude_from_weight_decay(var_names=["("])
    with pytest.raises(TypeError, match="expected str instance, int found"):
        opt.exclude_from_weight_decay(var_names=[1])


def test_exclusion_is_not_in_get_config():
    opt = optimizers.AdamW(weight_decay=0.1)
    before = opt.get_config()
    opt.exclude_from_weight_decay(var_names=["bias"])
    assert opt.get_config() == before  # as in Keras


def test_kernel_set_decayed_flags(isa):
    config = optimizers.SGD(learning_rate=1.0, weight_decay=0.5)._kernel_config()
    kernel = _core.optim.Optimizer(config, [0, 2, 4])
    assert kernel.decayed() == [True, True]
    kernel.set_decayed([False, True])
    assert kernel.decayed() == [False, True]
    params = np.ones(4, np.float32)
    kernel.step(params, np.zeros(4, np.float32), 1.0)
    np.testing.assert_array_equal(params, [1.0, 1.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="1 flags for 2 tensors"):
        kernel.set_decayed([True])


# ---------------------------------------------------------------- schedules
# Keras 3.15 (torch) at negative steps: numbers (+-inf), no exception.
NEGATIVE_STEPS = [
    (lambda S: S.PolynomialDecay(0.1, 5, cycle=True), -1, -math.inf),
    (lambda S: S.PolynomialDecay(0.1, 5, cycle=True), -4, -math.inf),
    (lambda S: S.PolynomialDecay(0.1, 5, power=0.5, cycle=True), -1, math.inf),
    (lambda S: S.PolynomialDecay(0.1, 5, power=-1.0, cycle=True), -1, 1e-4),
    (lambda S: S.ExponentialDecay(0.1, 3, 0.0), -1, math.inf),
    (lambda S: S.ExponentialDecay(0.1, 3, 0.0, staircase=True), -5, math.inf),
    (lambda S: S.InverseTimeDecay(0.1, 2.5, 1.0, staircase=True), -1, math.inf),
    (lambda S: S.InverseTimeDecay(0.1, 2.5, 1.0), -2.5, math.inf),
]
NEGATIVE_IDS = [
    "poly_cycle_step_m1",
    "poly_cycle_step_m4",
    "poly_cycle_power_half",
    "poly_cycle_power_m1",
    "exp_rate_0",
    "exp_rate_0_staircase",
    "inv_staircase_step_m1",
    "inv_divisor_0",
]


@pytest.mark.parametrize("make, step, expected", NEGATIVE_STEPS, ids=NEGATIVE_IDS)
def test_schedule_negative_step_gives_keras_value(make, step, expected):
    got = make(schedules)(step)
    assert got == pytest.approx(expected, rel=1e-6)
    assert make(schedules)(np.array([step, 0]))[0] == np.float32(got)


@pytest.mark.parametrize("make, step, expected", NEGATIVE_STEPS, ids=NEGATIVE_IDS)
def test_schedule_negative_step_against_keras(make, step, expected):
    keras = keras_or_skip()
    with keras_quiet():
        theirs = float(keras.ops.convert_to_numpy(make(keras.optimizers.schedules)(step)))
    assert make(schedules)(step) == pytest.approx(theirs, rel=1e-6)
