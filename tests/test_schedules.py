"""Learning rate schedules: Keras 3 formulas, configs, bad arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastnn import optimizers
from fastnn.optimizers import schedules

STEPS = [0, 1, 7, 10, 29, 30, 31, 99, 100, 101, 250, 10_000]


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    s = schedules.ExponentialDecay(0.1, decay_steps=30, decay_rate=0.7, staircase=staircase)
    for step in STEPS:
        p = step // 30 if staircase else step / 30
        assert s(step) == pytest.approx(0.1 * 0.7**p, rel=1e-12)
    assert s(np.int64(30)) == pytest.approx(0.07)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_that_overflows_is_inf_as_keras(staircase):
    # Keras (float32) returns inf; Python's float power raised OverflowError.
    s = schedules.ExponentialDecay(0.1, decay_steps=2.5, decay_rate=1.5, staircase=staircase)
    assert s(10**6) == math.inf
    model_optimizer = optimizers.SGD(learning_rate=s)
    model_optimizer.iterations = 10**6
    with pytest.raises(ValueError, match="returned inf"):
        model_optimizer._current_learning_rate()


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    s = schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=staircase)
    for step in STEPS:
        p = step // 10 if staircase else step / 10
        assert s(step) == pytest.approx(0.1 / (1 + 0.5 * p), rel=1e-12)


def test_piecewise_constant_decay_boundaries_are_inclusive_on_the_left_piece():
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    expected = {0: 1.0, 9: 1.0, 10: 1.0, 11: 0.5, 20: 0.5, 21: 0.1, 1000: 0.1}
    for step, value in expected.items():
        assert s(step) == value


def test_cosine_decay_without_warmup():
    s = schedules.CosineDecay(0.1, decay_steps=100, alpha=0.2)
    for step in STEPS:
        c = min(step, 100)
        cosine = 0.5 * (1 + math.cos(math.pi * c / 100))
        assert s(step) == pytest.approx(0.1 * ((1 - 0.2) * cosine + 0.2), rel=1e-12, abs=1e-15)
    assert s(100) == pytest.approx(0.02) and s(5000) == pytest.approx(0.02)


def test_cosine_decay_with_warmup():
    s = schedules.CosineDecay(0.0, decay_steps=100, warmup_target=0.1, warmup_steps=20)
    assert s(0) == 0.0
    assert s(10) == pytest.approx(0.05)
    assert s(20) == pytest.approx(0.1)  # warmup done: decay starts from the target
    assert s(70) == pytest.approx(0.05)
    assert s(120) == pytest.approx(0.0, abs=1e-15)
    assert s(500) == pytest.approx(0.0, abs=1e-15)


ALL = [
    schedules.ExponentialDecay(0.1, 1000, 0.96, staircase=True),
    schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.PiecewiseConstantDecay([100, 200], [0.1, 0.01, 0.001]),
    schedules.CosineDecay(0.0, 100, alpha=0.1, warmup_target=0.1, warmup_steps=10),
]


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_config_round_trip(s):
    config = s.get_config()
    clone = type(s).from_config(config)
    assert clone.get_config() == config
    again = schedules.deserialize(schedules.serialize(s))
    assert type(again) is type(s)
    for step in (0, 5, 150, 1000):
        assert clone(step) == s(step) == again(step)


def test_serialize_matches_keras_layout():
    d = schedules.serialize(ALL[0])
    assert d["class_name"] == "ExponentialDecay"
    assert d["module"] == "keras.optimizers.schedules"
    assert d["config"]["decay_steps"] == 1000 and d["config"]["staircase"] is True


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.ExponentialDecay(-0.1, 10, 0.5), "initial_learning_rate"),
        (lambda: schedules.InverseTimeDecay(0.1, -5, 0.5), "decay_steps"),
        (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
        (lambda: schedules.CosineDecay(0.1, 10, warmup_steps=-1), "warmup_steps"),
        (lambda: schedules.PiecewiseConstantDecay([10], [0.1]), "length"),
        (lambda: schedules.PiecewiseConstantDecay([20, 10], [0.1, 0.2, 0.3]), "increasing"),
        (lambda: schedules.deserialize({"class_name": "Nope", "config": {}}), "Nope"),
    ],
)
def test_bad_arguments_raise(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_base_class_must_be_subclassed():
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)


class _Returns(schedules.LearningRateSchedule):
    def __init__(self, value):
        self.value = value

    def __call__(self, step):
        return self.value

    def get_config(self):
        return {}


@pytest.mark.parametrize("value", ["x", 10**400, [0.1]], ids=["str", "huge_int", "list"])
def test_a_schedule_returning_no_number_is_a_clear_error(value):
    """Was float()'s "could not convert string to float: 'x'" / OverflowError /
    TypeError."""
    from fastnn import layers, models

    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.compile(optimizers.SGD(learning_rate=_Returns(value)), "mse")
    before = model.get_weights()
    with pytest.raises(ValueError, match="The learning rate schedule returned"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    with pytest.raises(ValueError, match="The learning rate schedule returned"):
        float(model.optimizer.learning_rate)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# Keras 3.15's values (torch backend) at steps 0, 1, 2, 3, 4, 5, 7, 9, 10, 13, 20, 40.
STEPS = [0, 1, 2, 3, 4, 5, 7, 9, 10, 13, 20, 40]


@pytest.mark.parametrize(
    "make, expected",
    [
        (
            lambda: schedules.PolynomialDecay(0.1, 10),
            [0.1, 0.09001, 0.08002, 0.07003, 0.06004, 0.05005, 0.03007, 0.01009] + [0.0001] * 4,
        ),
        (
            lambda: schedules.PolynomialDecay(0.1, 4, end_learning_rate=0.0, power=0.5, cycle=True),
            [0.1, 0.086603, 0.070711, 0.05, 0.0, 0.061237, 0.035355, 0.05, 0.040825, 0.043301]
            + [0.0, 0.0],
        ),
        (
            lambda: schedules.CosineDecayRestarts(0.1, 5),
            [0.1, 0.090451, 0.065451, 0.034549, 0.009549, 0.1, 0.090451, 0.065451, 0.05]
            + [0.009549, 0.085355, 0.096194],
        ),
        (
            lambda: schedules.CosineDecayRestarts(0.1, 3, t_mul=1.0, m_mul=0.5, alpha=0.1),
            [0.1, 0.0775, 0.0325, 0.055, 0.04375, 0.02125, 0.026875, 0.02125, 0.018438]
            + [0.014219, 0.010352, 0.010008],
        ),
        (
            lambda: schedules.CosineDecayRestarts(0.2, 2, t_mul=3.0, m_mul=0.8),
            [0.2, 0.1, 0.16, 0.149282, 0.12, 0.08, 0.010718, 0.127028, 0.12414, 0.105138]
            + [0.032, 0.086336],
        ),
    ],
)
def test_polynomial_and_cosine_restarts_match_keras(make, expected):
    schedule = make()
    np.testing.assert_allclose([schedule(s) for s in STEPS], expected, atol=1e-6)
    again = schedules.deserialize(schedules.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()


def test_polynomial_and_cosine_restarts_configs_and_checks():
    assert schedules.PolynomialDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1,
        "decay_steps": 10,
        "end_learning_rate": 0.0001,
        "power": 1.0,
        "cycle": False,
        "name": "PolynomialDecay",
    }
    assert schedules.CosineDecayRestarts(0.1, 5).get_config()["name"] == "SGDRDecay"
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.PolynomialDecay(0.1, 0)
    with pytest.raises(ValueError, match="first_decay_steps"):
        schedules.CosineDecayRestarts(0.1, -1)
    # values Keras's float32 arithmetic makes inf / NaN, not Python exceptions
    assert schedules.PolynomialDecay(0.1, 4, power=-1.0)(10) == math.inf
    assert math.isnan(schedules.CosineDecayRestarts(0.1, 2, t_mul=0.5)(100))


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_a_schedule_of_an_array_of_steps_gives_the_rates_as_keras(s):
    """TensorFlow's overfitting tutorial plots `schedule(np.linspace(0, 100000))`."""
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    steps = np.linspace(0, 1200, 50)
    rates = s(steps)
    assert rates.dtype == np.float32 and rates.shape == (50,)
    np.testing.assert_allclose(rates, [s(float(t)) for t in steps], rtol=1e-6)
    theirs = keras.optimizers.schedules.deserialize(schedules.serialize(s))
    with keras_quiet():  # (Keras's own piecewise and warm-up schedules take one step a call)
        expected = [float(keras.ops.convert_to_numpy(theirs(float(t)))) for t in steps]
    np.testing.assert_allclose(rates, expected, rtol=2e-5, atol=1e-9)
    assert s(np.arange(6).reshape(2, 3)).shape == (2, 3)
    assert s([0, 1]).shape == (2,)
    with pytest.raises(ValueError, match="steps must be numbers"):
        s(np.array(["a"]))
