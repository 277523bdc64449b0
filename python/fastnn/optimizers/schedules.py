"""Learning rate schedules, as in ``keras.optimizers.schedules`` (Keras 3).

A schedule is a callable ``schedule(step) -> float`` evaluated by the optimizer
at the number of completed steps (0 on the first update), with ``get_config``
and ``from_config``. Pass one as the ``learning_rate`` of any optimizer:

>>> from fastnn import optimizers
>>> lr = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
>>> opt = optimizers.SGD(learning_rate=lr)

The formulas follow ``keras/src/optimizers/schedules/learning_rate_schedule.py``
and are computed in double precision (Keras computes them in float32).
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from fastnn import _absent

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]


def _number(value, name: str, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(
            f"Argument `{name}` must be finite. Received: an integer too large for a float"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be finite. Received: {name}={value}")
    if positive and value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
    if nonneg and value < 0:
        raise ValueError(f"Argument `{name}` must be >= 0. Received: {name}={value}")
    return value


def _divide(a: float, b: float) -> float:
    """``a / b`` with IEEE results for a zero divisor (a signed inf, or NaN
    for 0 / 0), as Keras's tensors compute it: a negative `step` reaches
    it (``InverseTimeDecay(0.1, 2.5, 1.0, staircase=True)(-1)`` is inf)."""
    with np.errstate(all="ignore"):
        return float(np.divide(np.float64(a), np.float64(b)))


def _power(base: float, exponent: float) -> float:
    """``base ** exponent`` with C's results where Python raises, as Keras's
    tensors compute it: inf for an overflow or for 0 to a negative power
    (``ExponentialDecay(0.1, 3, 0.0)(-1)``), NaN for a negative base to a
    fractional power; ``(-inf) ** 0.5`` is inf (C's pow; NumPy's gives NaN)."""
    odd = exponent == int(exponent) and int(exponent) % 2 == 1 if math.isfinite(exponent) else False
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return -math.inf if base < 0 and odd else math.inf
    except ValueError:  # 0 to a negative power, or a negative base to a fraction
        if base == 0:
            return math.copysign(math.inf, base) if odd else math.inf
        return math.nan


def _step(step) -> float:
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise ValueError(f"A schedule's `step` must be a number, got {step!r}")
    return float(step)


class LearningRateSchedule:
    """Base class of learning rate schedules: subclasses define ``__call__(step)``.

    fastnn's schedules return a float for a number, and a float32 array of
    the rates for an array of steps (as Keras's, e.g. to plot a schedule:
    ``schedule(np.arange(1000))``).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        scalar = cls.__dict__.get("__call__")
        if scalar is None or cls.__module__ != __name__:
            return  # a user's schedule computes as it likes

        @functools.wraps(scalar)
        def call(self, step):
            if isinstance(step, (np.ndarray, list, tuple)):
                steps = np.asarray(step)
                if steps.dtype.kind not in "iuf":
                    raise ValueError(f"A schedule's steps must be numbers, got {step!r:.80}")
                rates = [scalar(self, s) for s in steps.ravel().tolist()]
                return np.asarray(rates, np.float64).astype(np.float32).reshape(steps.shape)
            return scalar(self, step)

        cls.__call__ = call

    def __call__(self, step) -> float:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()`."
        )

    @classmethod
    def from_config(cls, config: dict):
        """Instantiates a schedule from the output of `get_config()`."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a positive number of steps per decay period.
        decay_rate: the factor applied per period.
        staircase: if `True`, `step / decay_steps` is floored (the rate changes
            at discrete intervals). Defaults to `False`.
        name: Defaults to `"ExponentialDecay"`.

    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
    0.025
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="ExponentialDecay",
    ):
        self.initial_learning_rate = _number(
            initial_learning_rate, "initial_learning_rate", nonneg=True
        )
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _number(decay_rate, "decay_rate", nonneg=True)
        self.staircase = bool(staircase)
        self.name = name
        self._config_steps = decay_steps  # as given, for get_config

    def __call__(self, step) -> float:
        p = _step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        # float32 Keras gives inf for an overflow, and for 0 ** (a negative step)
        return self.initial_learning_rate * _power(self.decay_rate, p)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self._config_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a positive number of steps.
        decay_rate: the decay rate.
        staircase: if `True`, `step / decay_steps` is floored. Defaults to `False`.
        name: Defaults to `"InverseTimeDecay"`.

    >>> InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)(2)
    0.05
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="InverseTimeDecay",
    ):
        self.initial_learning_rate = _number(
            initial_learning_rate, "initial_learning_rate", nonneg=True
        )
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _number(decay_rate, "decay_rate", nonneg=True)
        self.staircase = bool(staircase)
        self.name = name
        self._config_steps = decay_steps  # as given, for get_config

    def __call__(self, step) -> float:
        p = _step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        # a negative step can make the divisor 0: inf, as in Keras
        return _divide(self.initial_learning_rate, 1.0 + self.decay_rate * p)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self._config_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """A piecewise constant learning rate.

    ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after
    ``boundaries[-1]``.

    Args:
        boundaries: strictly increasing step numbers.
        values: one more value than `boundaries`.
        name: Defaults to `"PiecewiseConstant"`.

    >>> PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(15)
    0.5
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries = list(boundaries)
        values = list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        for i, b in enumerate(boundaries):
            _number(b, f"boundaries[{i}]")
        for i in range(1, len(boundaries)):
            if not boundaries[i] > boundaries[i - 1]:
                raise ValueError(
                    f"Argument `boundaries` must be strictly increasing. Received: {boundaries}"
                )
        for i, v in enumerate(values):
            _number(v, f"values[{i}]", nonneg=True)
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step) -> float:
        s = _step(step)
        for b, v in zip(self.boundaries, self.values):
            if s <= b:
                return float(v)
        return float(self.values[-1])

    def get_config(self) -> dict:
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (SGDR, Loshchilov & Hutter).

    Without `warmup_target`: ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
    + alpha)`` with ``s = min(step, decay_steps)``. With `warmup_target`: a linear
    ramp from `initial_learning_rate` to `warmup_target` over `warmup_steps`, then
    the cosine decay from `warmup_target` over `decay_steps`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a positive number of steps to decay over.
        alpha: the final learning rate as a fraction of the decayed-from rate.
            Defaults to `0.0`.
        name: Defaults to `"CosineDecay"`.
        warmup_target: the rate reached at the end of the warmup, or `None`
            for no warmup. Defaults to `None`.
        warmup_steps: number of warmup steps. Defaults to `0`.

    >>> CosineDecay(0.1, decay_steps=100)(100)
    0.0
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        name="CosineDecay",
        warmup_target=None,
        warmup_steps=0,
    ):
        self.initial_learning_rate = _number(
            initial_learning_rate, "initial_learning_rate", nonneg=True
        )
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.alpha = _number(alpha, "alpha", nonneg=True)
        self.name = name
        self.warmup_target = (
            None if warmup_target is None else _number(warmup_target, "warmup_target", nonneg=True)
        )
        self.warmup_steps = _number(warmup_steps, "warmup_steps", nonneg=True)
        self._config_steps = (decay_steps, warmup_steps)  # as given, for get_config

    def _decay(self, step: float, decay_from: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * (step / self.decay_steps)))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step) -> float:
        s = _step(step)
        if self.warmup_target is None:
            return self._decay(min(s, self.decay_steps), self.initial_learning_rate)
        s = min(s, self.decay_steps + self.warmup_steps)
        if s < self.warmup_steps:
            fraction = s / self.warmup_steps
            delta = self.warmup_target - self.initial_learning_rate
            return delta * fraction + self.initial_learning_rate
        return self._decay(s - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self._config_steps[0],
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self._config_steps[1],
        }


class PolynomialDecay(LearningRateSchedule):
    """``(lr0 - end) * (1 - s / decay_steps) ** power + end`` with
    ``s = min(step, decay_steps)``; with `cycle`, `decay_steps` is first
    raised to the smallest multiple of itself at or above `step` (the
    first cycle when `step` is 0).

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a positive number of steps to decay over.
        end_learning_rate: the final learning rate. Defaults to `0.0001`.
        power: the polynomial's power. Defaults to `1.0`.
        cycle: restart the decay after `decay_steps`. Defaults to `False`.
        name: Defaults to `"PolynomialDecay"`.

    >>> PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0)(5)
    0.05
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        self.initial_learning_rate = _number(
            initial_learning_rate, "initial_learning_rate", nonneg=True
        )
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.end_learning_rate = _number(end_learning_rate, "end_learning_rate", nonneg=True)
        self.power = _number(power, "power")
        self.cycle = bool(cycle)
        self.name = name
        self._config_steps = decay_steps  # as given, for get_config

    def __call__(self, step) -> float:
        s = _step(step)
        decay_steps = self.decay_steps
        if self.cycle:
            # a float ceil: a step in (-decay_steps, 0) gives -0.0, so that
            # p is inf (a rate of +-inf) as in Keras, not a ZeroDivisionError
            decay_steps *= 1.0 if s == 0 else float(np.ceil(s / self.decay_steps))
        else:
            s = min(s, decay_steps)
        p = _divide(s, decay_steps)
        span = self.initial_learning_rate - self.end_learning_rate
        # Keras's float32 gives inf for an overflow or 0 ** (a negative power)
        decayed = _power(1.0 - p, self.power)
        return span * decayed + self.end_learning_rate

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self._config_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the first period lasts
    `first_decay_steps`, each next one `t_mul` times longer and starting
    from `m_mul` times the previous peak; within a period
    ``lr0 * m_mul**i * ((1 - alpha) * 0.5 * (1 + cos(pi * f)) + alpha)``
    for the fraction `f` of the period done.

    Args:
        initial_learning_rate: the learning rate at step 0.
        first_decay_steps: a positive number of steps in the first period.
        t_mul: how much longer each period is. Defaults to `2.0`.
        m_mul: how much lower each period's peak is. Defaults to `1.0`.
        alpha: the final learning rate as a fraction of the peak. Defaults to `0.0`.
        name: Defaults to `"SGDRDecay"`.
    """

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        name="SGDRDecay",
    ):
        self.initial_learning_rate = _number(
            initial_learning_rate, "initial_learning_rate", nonneg=True
        )
        self.first_decay_steps = _number(first_decay_steps, "first_decay_steps", positive=True)
        self._t_mul = _number(t_mul, "t_mul", positive=True)
        self._m_mul = _number(m_mul, "m_mul", nonneg=True)
        self.alpha = _number(alpha, "alpha", nonneg=True)
        self.name = name
        self._config_steps = first_decay_steps  # as given, for get_config

    def __call__(self, step) -> float:
        fraction = _step(step) / self.first_decay_steps
        t_mul = self._t_mul
        if t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:  # the periods' lengths form a geometric series
            remaining = 1.0 - fraction * (1.0 - t_mul)
            if remaining <= 0.0:  # t_mul < 1: past the series' end, NaN in Keras
                return math.nan
            restart = math.floor(math.log(remaining) / math.log(t_mul))

            def start(period: int) -> float:  # where period `period` begins, in first periods
                return (1.0 - t_mul**period) / (1.0 - t_mul)

            # The logarithms' ratio rounds (log(243) / log(3) is 4.999...): the
            # period is the one whose start is the last at or before `fraction`.
            for _ in range(2):
                if restart > 0 and start(restart) > fraction:
                    restart -= 1
                elif start(restart + 1) <= fraction:
                    restart += 1
            fraction = (fraction - start(restart)) / t_mul**restart
        try:
            peak = self._m_mul**restart
        except OverflowError:  # Keras's float32 gives inf
            peak = math.inf
        cosine = 0.5 * peak * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self._config_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_SCHEDULES = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        InverseTimeDecay,
        PiecewiseConstantDecay,
        CosineDecay,
        PolynomialDecay,
        CosineDecayRestarts,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict:
    """Returns ``{"module", "class_name", "config", "registered_name"}`` as
    Keras 3 writes it: fastnn's schedules under ``keras.optimizers.schedules``;
    a user's subclass under its own module with its registered name
    (``"package>name"`` with `register_keras_serializable`), by which
    `deserialize` (and Keras) find it again."""
    if not isinstance(schedule, LearningRateSchedule):
        raise ValueError(f"Expected a LearningRateSchedule, got {schedule!r}")
    from fastnn.saving import _class_entry

    return _class_entry(type(schedule), schedule.get_config(), "keras.optimizers.schedules")


def deserialize(config: dict, custom_objects=None) -> LearningRateSchedule:
    """Builds a schedule from the output of `serialize()` (or Keras 3's).

    A user's schedule is found by its ``registered_name`` or class name in
    `custom_objects`, the `custom_object_scope`s entered or the classes
    registered with `register_keras_serializable`, as Keras finds it; then
    fastnn's own by class name.

    Raises:
        ValueError: a malformed config, or a schedule found nowhere.
    """
    from fastnn.utils.registry import registered_for

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a dict with 'class_name' and 'config', got {config!r}")
    name = config["class_name"]
    cls = registered_for(config, custom_objects) or _SCHEDULES.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown learning rate schedule: '{name}'. Expected one of {sorted(_SCHEDULES)}, or "
            "a class decorated with `@fastnn.saving.register_keras_serializable()` or passed "
            "as `custom_objects`."
        )
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError(f"The 'config' of schedule '{name}' must be a dict, got {inner!r:.200}")
    from_config = getattr(cls, "from_config", None)
    if not callable(from_config):
        raise ValueError(f"'{name}' names {cls!r:.80}, which is not a learning rate schedule")
    return from_config(dict(inner))


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
