"""The optimizer base class: Keras 3's options and state over fastnn's fused C++ steps."""

from __future__ import annotations

import math
import numbers
import re
import warnings

import numpy as np

from fastnn import _core
from fastnn.optimizers import schedules as _schedules
from fastnn.utils.naming import check_name, to_snake_case

__all__ = ["Optimizer"]

# Keras 3 options fastnn accepts only at their defaults (kept in get_config so
# that configs written by Keras load).
_KERAS_ONLY_DEFAULTS = {
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


class _Default(float):
    """A float default that remembers it was not passed (to tell `lr=` apart)."""

    def __repr__(self) -> str:
        return float.__repr__(self)


class _LearningRate(float):
    """What `Optimizer.learning_rate` returns: the rate as a Python float
    (arithmetic, comparisons, formatting and JSON are float's) that also has
    the methods Keras 3 code calls on its learning-rate variable.

    It is a snapshot: setting the rate later does not change it.

    >>> from fastnn import optimizers
    >>> opt = optimizers.SGD(learning_rate=0.5)
    >>> opt.learning_rate.assign(0.25)
    >>> opt.learning_rate * 2
    0.5
    """

    def __new__(cls, value, optimizer=None):
        self = super().__new__(cls, value)
        self._optimizer = optimizer  # None: read-only (schedule or callable)
        return self

    def numpy(self) -> np.ndarray:
        """The rate as a 0-d float32 array, as Keras's variable gives it."""
        return np.array(float(self), dtype=np.float32)

    @property
    def value(self) -> np.float32:
        """The rate as a float32 scalar, as Keras's variable's `value`."""
        return np.float32(self)

    def assign(self, value) -> None:
        """Sets the optimizer's learning rate (``opt.learning_rate = value``)."""
        if self._optimizer is None:
            # Keras 3 returns a tensor for a schedule, which has no `assign`.
            raise AttributeError(
                "This optimizer's learning rate comes from a LearningRateSchedule or a "
                "callable, so it cannot be assigned (in Keras 3 it is a tensor without "
                "`assign`). Create the optimizer with a number `learning_rate` instead."
            )
        self._optimizer.learning_rate = value

    def __reduce__(self):
        return (float, (float(self),))  # pickles and copies as a plain float

    def __repr__(self) -> str:
        return float.__repr__(self)


# The step counter is an int64 in C++: a count above this could overflow it.
_MAX_ITERATIONS = 2**62


class _Iterations(int):
    """What `Optimizer.iterations` returns: the step count as a Python int
    that also has Keras's variable methods `numpy()` and `assign(v)`."""

    def __new__(cls, value, optimizer):
        self = super().__new__(cls, value)
        self._optimizer = optimizer
        return self

    def numpy(self) -> np.ndarray:
        """The count as a 0-d int64 array."""
        return np.array(int(self), dtype=np.int64)

    def assign(self, value) -> None:
        """Sets the optimizer's step count (``opt.iterations = value``)."""
        self._optimizer.iterations = value

    def __reduce__(self):
        return (int, (int(self),))

    def __repr__(self) -> str:
        return int.__repr__(self)


_OptimizerScalar = None  # the Variable subclass below, made at first use (import order)


def _optimizer_scalar(variable, optimizer, attribute: str):
    """`variable` (the optimizer's ``iteration`` or ``learning_rate`` in
    `Optimizer.variables`, a copy of its value) as a `Variable` whose
    `assign` (and `assign_add`/`assign_sub`) sets ``optimizer.<attribute>``
    as Keras's does: the setter checks the value (an integer >= 0 for the
    step count, a finite rate >= 0), so a refused one changes nothing."""
    global _OptimizerScalar
    if _OptimizerScalar is None:
        from fastnn.layers import Variable

        class _Scalar(Variable):
            def assign(self, value):
                number = self._assigned(value).item()
                if self._attribute == "iterations":
                    if not math.isfinite(number) or number != int(number):
                        raise ValueError(f"`iterations` must be an integer >= 0, got {number!r}")
                    number = int(number)
                setattr(self._optimizer, self._attribute, number)
                self.view(np.ndarray)[...] = np.asarray(getattr(self._optimizer, self._attribute))
                return self

        _OptimizerScalar = _Scalar
    out = _OptimizerScalar(variable.view(np.ndarray), variable.name, variable.path, None)
    out._optimizer, out._attribute = optimizer, attribute
    return out


def _float(value, name: str) -> float:
    """float(value), with a ValueError naming the argument for an integer
    too large for a float (Python's OverflowError names nothing)."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(
            f"Argument `{name}` must be finite. Received: an integer too large for a float"
        ) from None


def _schedule_value(value) -> float:
    """What a schedule or callable learning rate returned, as a float; a
    ValueError saying so when it is not a number (was float()'s own error:
    "could not convert string to float", OverflowError)."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(
            f"The learning rate schedule returned {value!r:.80}; expected a number >= 0"
        ) from None


def _real(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    value = _float(value, name)
    if not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be finite. Received: {name}={value}")
    return value


def _in_range(value, name: str, lo: float, hi: float, hi_open: bool, lo_open=False) -> float:
    value = _real(value, name)
    if value < lo or value > hi or (hi_open and value == hi) or (lo_open and value == lo):
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ValueError(f"Argument `{name}` must be in {interval}. Received: {name}={value}")
    return value


def _nonneg(value, name: str) -> float:
    value = _real(value, name)
    if value < 0:
        raise ValueError(f"Argument `{name}` must be >= 0. Received: {name}={value}")
    return value


_LR_ATTRIBUTE_DEPRECATED = (
    "`optimizer.lr` is Keras 2's name (Keras 3 has none); use `optimizer.learning_rate`"
)


def _epsilon(value) -> float:
    """An optimizer's `epsilon`: a number >= 0, or None for the backend's
    (1e-7), which is what Keras 2 documented None to mean
    (``RMSprop(lr=0.001, rho=0.9, epsilon=None, decay=0.0)`` is in many
    copied scripts)."""
    return 1e-7 if value is None else _nonneg(value, "epsilon")


def _flag(value, name: str) -> bool:
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, numbers.Integral) and value in (0, 1)
    ):
        return bool(value)
    raise ValueError(f"Argument `{name}` must be a boolean. Received: {name}={value!r}")


def _check_scheduled_rate(value: float, step: int) -> None:
    """A ValueError naming the step unless a schedule's rate is a finite
    number >= 0 (a PolynomialDecay with a negative power reaches inf)."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"The learning rate schedule returned {value} for step {step}; expected a finite "
            "learning rate >= 0"
        )


def _optional_nonneg(value, name: str):
    return None if value is None else _nonneg(value, name)


def _check_ema(use_ema, ema_momentum, ema_overwrite_frequency):
    """Keras 3's checks of the moving-average options (BaseOptimizer.__init__)
    with its messages, made only when `use_ema` is set, as Keras does; returns
    ``(ema_momentum, ema_overwrite_frequency)`` as a float and an int or None.

    Unlike Keras, a NumPy integer is a frequency while a boolean is refused,
    and a NaN momentum is refused (Keras's comparisons let it through)."""
    if not use_ema:
        return ema_momentum, ema_overwrite_frequency  # stored as given, as Keras
    m = ema_momentum
    if isinstance(m, (bool, np.bool_)) or not isinstance(m, numbers.Real) or not 0 <= m <= 1:
        raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={m}")
    f = ema_overwrite_frequency
    if f is not None and (
        isinstance(f, (bool, np.bool_)) or not isinstance(f, numbers.Integral) or f < 0
    ):
        raise ValueError(
            "`ema_overwrite_frequency` must be an integer >= 1 or None. "
            f"Received: ema_overwrite_frequency={f}"
        )
    # Keras treats a frequency of 0 as None (`if self.ema_overwrite_frequency:`).
    return float(m), None if f is None else int(f)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _as_float32(value: float, what: str) -> float:
    """`value` rounded to float32, as Keras 3 holds a learning rate (a float32
    variable, or a schedule's float32 tensor): ``float(Adam().learning_rate)``
    is 0.0010000000474974513. A value beyond float32's range is a ValueError
    (Keras's would be inf)."""
    if value > _FLOAT32_MAX:
        raise ValueError(
            f"{what}={value} exceeds float32's range (largest {_FLOAT32_MAX:.7g}), which "
            "fastnn computes in"
        )
    return float(np.float32(value))


def _check_learning_rate(value):
    """A number >= 0 (returned as a float holding its float32 value), a
    LearningRateSchedule, or a callable."""
    if isinstance(value, _schedules.LearningRateSchedule) or callable(value):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(
            "Argument `learning_rate` should be a number, a LearningRateSchedule or a "
            f"callable. Received: learning_rate={value!r}"
        )
    value = _float(value, "learning_rate")
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            "Argument `learning_rate` must be a finite number >= 0. "
            f"Received: learning_rate={value}"
        )
    return _as_float32(value, "Argument `learning_rate`")


# Slot pairs Keras creates for each weight in turn (see `_slot_order`).
_PAIRED_SLOTS = {
    ("momentum", "velocity"),
    ("momentum", "norm"),
    ("accumulated_grad", "accumulated_delta_var"),
    ("accumulator", "linear"),
}


def _slot_order(slot_names, tensors) -> list:
    """``(slot, tensor)`` pairs in the order of Keras 3's ``optimizer.variables``
    for the given tensors (the trainable ones: Keras builds slots for those).

    Keras creates slots with ``add_optimizer_variables(vars, names)``, which
    loops over the weights and, for each, over the names: Adam, AdamW and
    Nadam ask for ``["momentum", "velocity"]`` in one call (so m0, v0, m1,
    v1, ...), Adamax for ``["momentum", "norm"]``, Adadelta for
    ``["accumulated_grad", "accumulated_delta_var"]``, Ftrl for
    ``["accumulator", "linear"]``, then Adam's ``velocity_hat`` (amsgrad) in
    another; SGD, RMSprop, Adagrad and Lion make one call per slot (every
    weight's first slot, then the next). With `use_ema` the base class's
    build has already made the ``average`` of every weight, first.
    """
    tensors = list(tensors)
    first = 1 if list(slot_names[:1]) == ["average"] else 0
    order = [(0, t) for t in tensors] if first else []
    paired = 2 if tuple(slot_names[first : first + 2]) in _PAIRED_SLOTS else 0
    order += [(s, t) for t in tensors for s in range(first, first + paired)]
    order += [(s, t) for s in range(first + paired, len(slot_names)) for t in tensors]
    return order


def _reference_name(variable, index: int) -> str:
    """How Keras's ``add_variable_from_reference`` names a slot's weight: its
    path with ``_`` for ``/`` (a layer's ``dense/kernel``); a plain array has
    neither path nor name, and stands for Keras's unnamed ``variable``,
    ``variable_1``, ..."""
    path = getattr(variable, "path", None)
    if path:
        return str(path).replace("/", "_")
    name = getattr(variable, "name", None)
    if isinstance(name, str) and name:
        return name.replace("/", "_").replace(":", "_")
    return "variable" if index == 0 else f"variable_{index}"


def _check_variable(var, index: int) -> np.ndarray:
    if not isinstance(var, np.ndarray):
        raise TypeError(
            f"Variable {index} must be a numpy.ndarray of float32 (updated in place), "
            f"got {type(var).__name__}"
        )
    if var.dtype != np.float32:
        raise TypeError(f"Variable {index} must have dtype float32, got {var.dtype}")
    if not var.flags.c_contiguous:
        raise ValueError(f"Variable {index} must be C-contiguous")
    if not var.flags.writeable:
        raise ValueError(f"Variable {index} must be writable")
    return var


class Optimizer:
    """Base class of fastnn's optimizers (Keras 3 semantics, fused C++ steps).

    One step is: clip the gradients (`clipnorm`, `clipvalue` or
    `global_clipnorm`), decay the weights (``w -= w * weight_decay * lr``), then
    the optimizer's update, in one fused pass per variable.

    Args:
        learning_rate: a number >= 0 (integers such as `1` are accepted, unlike
            Keras 3), a `fastnn.optimizers.schedules.LearningRateSchedule`
            (evaluated at `iterations` before each step), or a callable with no
            arguments returning the rate.
        weight_decay: decoupled weight decay factor, or `None` (variables
            can be left out with `exclude_from_weight_decay`). Defaults to `None`.
        clipnorm: clip each variable's gradient to this L2 norm. Defaults to `None`.
        clipvalue: clip every gradient element to `[-clipvalue, clipvalue]`.
            Defaults to `None`.
        global_clipnorm: clip all gradients together to this global L2 norm
            (computed with a fixed-order reduction: the same bits for any
            thread count). Defaults to `None`. At most one of the three clip
            options may be set; `0` means no clipping, as in Keras.
        use_ema: keep an exponential moving average of the weights (Keras 3's
            EMA): after every step, ``average = ema_momentum * average +
            (1 - ema_momentum) * weight`` in the same fused C++ pass (the first
            step copies the weight). The averages are `variables` (named
            ``<weight path>_average``, after the learning rate) and are saved
            with the optimizer's state. Defaults to `False`.
        ema_momentum: in [0, 1]; checked only with `use_ema`. Defaults to `0.99`.
        ema_overwrite_frequency: with `use_ema`, every this many steps the
            weights are overwritten with their averages; `None` (or 0):
            never during training, and `fit` overwrites them once when it
            ends (`finalize_variable_values`). Defaults to `None`.
        name: the optimizer's name.

    Keras 3's `loss_scale_factor` and `gradient_accumulation_steps` are
    accepted at their defaults only. `lr=` (Keras 2's spelling) is accepted with a
    `DeprecationWarning` (Keras 3 rejects it); any other unknown keyword
    argument raises `ValueError` naming it.
    """

    _kind = ""  # the C++ kernel kind
    _slot_names: tuple = ()

    def __init__(
        self,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        if name is not None:
            check_name(name, show_type=False)  # Keras's name_scope refuses it so
        if "lr" in kwargs:
            lr = kwargs.pop("lr")
            if not isinstance(learning_rate, _Default):
                raise ValueError(
                    "Pass only one of `learning_rate` and `lr` (the deprecated Keras 2 "
                    f"spelling). Received: learning_rate={learning_rate!r}, lr={lr!r}"
                )
            warnings.warn(
                "Argument `lr` is deprecated (Keras 3 rejects it); use `learning_rate` instead.",
                DeprecationWarning,
                stacklevel=3,
            )
            learning_rate = lr
        decay = kwargs.pop("decay", None)
        if decay is not None:
            # Keras 3 (keras/src/optimizers/base_optimizer.py) warns and ignores it;
            # Keras 2's rate was lr / (1 + decay * iterations), which this schedule is.
            hint = (
                " (Keras 2's decay is learning_rate=fastnn.optimizers.schedules."
                f"InverseTimeDecay(<learning rate>, decay_steps=1, decay_rate={decay!r}))"
                if decay != 0
                else ""
            )
            warnings.warn(
                "Argument `decay` is no longer supported and will be ignored." + hint,
                stacklevel=3,
            )
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        given = {
            "loss_scale_factor": loss_scale_factor,
            "gradient_accumulation_steps": gradient_accumulation_steps,
        }
        for key, default in _KERAS_ONLY_DEFAULTS.items():
            if given[key] != default:
                raise ValueError(
                    f"Argument `{key}` is not supported by fastnn (only its default "
                    f"{default!r}). Received: {key}={given[key]!r}"
                )
        if isinstance(learning_rate, _Default):
            learning_rate = float(learning_rate)
        self._learning_rate = _check_learning_rate(learning_rate)
        self.use_ema = _flag(use_ema, "use_ema")
        self.ema_momentum, self.ema_overwrite_frequency = _check_ema(
            self.use_ema, ema_momentum, ema_overwrite_frequency
        )
        self.weight_decay = _optional_nonneg(weight_decay, "weight_decay")
        self.clipnorm = _optional_nonneg(clipnorm, "clipnorm")
        self.clipvalue = _optional_nonneg(clipvalue, "clipvalue")
        self.global_clipnorm = _optional_nonneg(global_clipnorm, "global_clipnorm")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        # Keras 3's auto_name: the class name in snake case ("sgd", "adam_w",
        # "rm_sprop"), not numbered per process (README)
        self.name = name if name is not None else to_snake_case(type(self).__name__)
        self._iterations = 0
        self._kernel = None  # _core.optim.Optimizer, created by build()
        self._built_config: dict = {}
        self._variables_list: list = []
        self._index: dict = {}
        self._built_by_apply = False  # where Keras puts Nadam's unnamed scalar (`variables`)
        self._averaged = None  # per kernel tensor, whether use_ema averages it (None: all)
        self._decay_synced = None  # (kernel, flags) last given to kernel.set_decayed

    # ------------------------------------------------------------------ state
    @property
    def iterations(self) -> int:
        """The number of steps applied so far: an int that also has Keras's
        variable methods ``numpy()`` and ``assign(value)``. Settable."""
        count = int(self._kernel.iterations) if self._kernel is not None else self._iterations
        return _Iterations(count, self)

    @iterations.setter
    def iterations(self, value) -> None:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise ValueError(f"`iterations` must be an integer >= 0, got {value!r}")
        if value < 0 or value > _MAX_ITERATIONS:
            raise ValueError(f"`iterations` must be an integer in [0, 2**62], got {value}")
        self._iterations = int(value)
        if self._kernel is not None:
            self._kernel.iterations = int(value)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at
        `iterations`), as the float32 Keras holds: ``float(Adam().learning_rate)``
        is 0.0010000000474974513, as in Keras 3.

        A float that also has Keras's variable methods: ``numpy()`` (a 0-d
        float32 array) and ``assign(value)``, the same as setting it. With
        a schedule or a callable, ``assign`` raises `AttributeError` (Keras 3
        then returns a tensor, which has no `assign`).

        Settable with a number (callbacks do), a schedule or a callable; setting a
        number on an optimizer built with a schedule raises `TypeError`, as in Keras.
        """
        settable = not callable(self._learning_rate)
        return _LearningRate(self._current_learning_rate(), self if settable else None)

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        value = _check_learning_rate(value)
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule) and not callable(value):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. Create the optimizer with a number `learning_rate` instead."
            )
        self._learning_rate = value

    @property
    def lr(self) -> float:
        """Keras 2's name of `learning_rate` (``K.set_value(opt.lr, 0.01)``,
        ``opt.lr = 0.01``): read and set with a DeprecationWarning. Keras 3
        has no `lr`, and setting one there silently changes nothing."""
        warnings.warn(_LR_ATTRIBUTE_DEPRECATED, DeprecationWarning, stacklevel=2)
        return self.learning_rate

    @lr.setter
    def lr(self, value) -> None:
        warnings.warn(_LR_ATTRIBUTE_DEPRECATED, DeprecationWarning, stacklevel=2)
        self.learning_rate = value

    def _current_learning_rate(self) -> float:
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            value = lr(self.iterations)
        elif callable(lr):
            value = lr()
        else:
            return lr
        value = _schedule_value(value)
        _check_scheduled_rate(value, self.iterations)
        return _as_float32(value, "The learning rate schedule returned learning_rate")

    # ----------------------------------------------------------- pickling
    def __getstate__(self) -> dict:
        """Pickling or deep-copying a built optimizer gives a new, unbuilt one
        with the same settings (iterations 0), as Keras 3's does: its slots
        belong to the weights it was built for (a model's pickle or copy
        carries them along)."""
        if self._kernel is not None or self._variables_list:
            state = type(self).from_config(self.get_config()).__dict__.copy()
            for key in ("_exclude_from_weight_decay", "_exclude_from_weight_decay_pattern"):
                if key in self.__dict__:  # exclude_from_weight_decay's choice, as set
                    state[key] = self.__dict__[key]
            return state
        return self.__dict__.copy()

    def __copy__(self):
        """A shallow copy shares the state, as before (no pickling involved)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    # --------------------------------------------------------------- kernel
    def _kernel_config(self) -> dict:
        """The plain dict of the C++ `optim::Config` (see cpp/optim/optimizer.h).

        Keys: kind, momentum, nesterov, beta_1, beta_2, epsilon, amsgrad, rho,
        centered, initial_accumulator_value, weight_decay (0.0 for none), clip
        ("none", "clipnorm", "clipvalue", "global_clipnorm"), clip_value, and
        with `use_ema` use_ema, ema_momentum and ema_overwrite_frequency (0 for
        none).
        `fastnn._core.optim.Optimizer(config, offsets)` takes it as is. The
        learning rate is not part of it: pass `self.learning_rate` to each step.
        """
        clip, clip_value = "none", 0.0
        # Keras: a clip option of 0 means no clipping.
        if self.clipnorm:
            clip, clip_value = "clipnorm", self.clipnorm
        elif self.global_clipnorm:
            clip, clip_value = "global_clipnorm", self.global_clipnorm
        elif self.clipvalue:
            clip, clip_value = "clipvalue", self.clipvalue
        config = {
            "kind": self._kind,
            "weight_decay": self.weight_decay or 0.0,
            "clip": clip,
            "clip_value": _nonneg(clip_value, clip),  # set after construction: checked here
        }
        config.update(self._kernel_hyperparameters())
        use_ema = _flag(self.use_ema, "use_ema")  # set after construction: checked here
        if use_ema:
            momentum, frequency = _check_ema(True, self.ema_momentum, self.ema_overwrite_frequency)
            config.update(
                use_ema=True, ema_momentum=momentum, ema_overwrite_frequency=frequency or 0
            )
        return config

    def _kernel_hyperparameters(self) -> dict:
        raise NotImplementedError

    def build(self, var_list) -> None:
        """Creates the state (slots) for `var_list`, a list of float32 NumPy arrays."""
        var_list = [_check_variable(v, i) for i, v in enumerate(var_list)]
        ids = [id(v) for v in var_list]
        if len(set(ids)) != len(ids):
            raise ValueError("build: the same variable appears twice in var_list")
        # Views of one array would each get a step of their own on the same memory.
        spans = sorted(
            (v.__array_interface__["data"][0], v.nbytes, i) for i, v in enumerate(var_list)
        )
        end, last = 0, None  # the furthest byte reached so far, and whose it is
        for start, size, i in spans:
            if not size:
                continue
            if last is not None and start < end:
                raise ValueError(
                    f"build: variables {min(i, last)} and {max(i, last)} share memory (views "
                    "of one array); each variable must be an array of its own"
                )
            end, last = start + size, i
        offsets = [0]
        for v in var_list:
            offsets.append(offsets[-1] + v.size)
        self._make_kernel(offsets, None)
        self._variables_list = list(var_list)
        self._index = {vid: i for i, vid in enumerate(ids)}
        self._built_by_apply = False

    def _build_flat(self, offsets, averaged=None) -> None:
        """Creates the state for one flat parameter buffer whose tensor k is
        elements ``[offsets[k], offsets[k+1])`` (the network's layout); step it
        with `_apply_flat`. Slots share the layout (see `variables`).
        `averaged`: per tensor, whether `use_ema` averages it (the weights it
        is built for, trainable now; None: all)."""
        averaged = None if averaged is None else [bool(a) for a in averaged]
        self._make_kernel([int(o) for o in offsets], averaged)
        self._variables_list = []
        self._index = {}

    def _apply_flat(self, params: np.ndarray, grads) -> int:
        """One step on the flat buffer built by `_build_flat`: `params` is the
        writable float32 buffer (updated in place), `grads` its gradient of the
        same size. Returns `iterations` after the step."""
        if self._kernel is None:
            raise ValueError("_apply_flat: call _build_flat(offsets) first")
        self._sync_kernel_config()
        self._kernel.step(params, grads, self._current_learning_rate())
        return self.iterations

    def _make_kernel(self, offsets, averaged) -> None:
        """A new C++ optimizer (`averaged`: see `_build_flat`), kept only
        when everything succeeded."""
        config = self._kernel_config()
        kernel = _core.optim.Optimizer(config, offsets)
        kernel.iterations = self.iterations
        if averaged is not None:
            kernel.set_averaged(averaged)
        self._kernel = kernel
        self._built_config = config
        self._averaged = averaged

    def _sync_kernel_config(self) -> None:
        """Hyperparameters changed since build (e.g. ``opt.weight_decay = 0.01``):
        a new C++ optimizer with the new config, keeping the slots it shares."""
        config = self._kernel_config()
        if config == self._built_config:
            self._sync_decay()
            return
        if config.get("use_ema", False) != self._built_config.get("use_ema", False):
            # Keras creates the averages in build() only when use_ema is set
            raise ValueError(
                f"`use_ema` was {'set' if config.get('use_ema') else 'unset'} after the "
                "optimizer was built: the moving averages are created (or not) when it is "
                "built. Set it back, or create a new optimizer with the use_ema you want."
            )
        old = self._kernel
        self._make_kernel(list(old.offsets), self._averaged)
        for i, name in enumerate(self._kernel.slot_names):
            if name in old.slot_names:
                np.copyto(self._kernel.slot(i), old.slot(old.slot_names.index(name)))
        self._kernel.copy_z_pending = old.copy_z_pending  # (schedule-free AdamW's z)
        self._sync_decay()

    # --------------------------------------------------------- weight decay
    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Excludes variables from weight decay, as Keras 3's method of the
        same name: the variables of `var_list`, and those whose `name`
        (``"kernel"``, ``"bias"``: a layer's weight's own name, not its
        path) contains a match of one of the regular expressions of
        `var_names`. Each call replaces the previous choice; the rest of the
        step (the update itself) is unchanged for excluded variables.

        Keras's docstring asks for a call before the optimizer is built, but
        Keras accepts a later one and applies it from the next step; so does
        fastnn. The choice is not part of `get_config` (nor of a saved
        model), as in Keras.

        Args:
            var_list: variables (a model's weights, or the arrays given to
                `apply_gradients`), matched by identity. Defaults to `None`.
            var_names: strings, each a regular expression searched in a
                variable's name: ``var_names=["bias"]`` excludes every bias.
                Defaults to `None`.

        >>> from fastnn import optimizers
        >>> opt = optimizers.AdamW(weight_decay=0.004)
        >>> opt.exclude_from_weight_decay(var_names=["bias"])
        """
        # keras/src/optimizers/base_optimizer.py, with its matching rules
        if var_list:
            self._exclude_from_weight_decay = set(id(variable) for variable in var_list)
        else:
            self._exclude_from_weight_decay = set()
        if var_names and len(var_names) > 0:
            self._exclude_from_weight_decay_pattern = re.compile("|".join(set(var_names)))
        else:
            self._exclude_from_weight_decay_pattern = None
        self._exclude_from_weight_decay_cache = {}

    def _use_weight_decay(self, variable) -> bool:
        """Whether weight decay applies to `variable` (Keras's method): not
        when `exclude_from_weight_decay` excluded it."""
        cache = self.__dict__.setdefault("_exclude_from_weight_decay_cache", {})
        key = id(variable)
        if key in cache:
            return cache[key]
        use = key not in getattr(self, "_exclude_from_weight_decay", set())
        pattern = getattr(self, "_exclude_from_weight_decay_pattern", None)
        name = getattr(variable, "name", None)  # a plain array has none
        if use and pattern is not None and isinstance(name, str):
            use = re.search(pattern, name) is None
        cache[key] = use
        return use

    def _decay_variables(self):
        """The variables of the kernel's tensors, in order: those it was
        built for by `build`/`apply_gradients`, or its model's weights
        (flat); None when unknown."""
        if self._variables_list:
            return self._variables_list
        owner = getattr(self, "_flat_owner", None)
        model = owner() if owner is not None else None
        if model is None or model.optimizer is not self or not model._owns_optimizer_state():
            return None
        return model._tensor_weights()

    def _sync_decay(self) -> None:
        """Tells the kernel which tensors weight decay skips
        (`exclude_from_weight_decay`), when that changed."""
        kernel = self._kernel
        if kernel is None:
            return
        n = len(kernel.offsets) - 1
        excluding = bool(getattr(self, "_exclude_from_weight_decay", None)) or (
            getattr(self, "_exclude_from_weight_decay_pattern", None) is not None
        )
        variables = self._decay_variables() if excluding else None
        if variables is None or len(variables) != n:
            flags = (True,) * n
        else:
            flags = tuple(self._use_weight_decay(v) for v in variables)
        synced = getattr(self, "_decay_synced", None)
        if synced is not None and synced[0] is kernel and synced[1] == flags:
            return
        if synced is None or synced[0] is not kernel:
            if all(flags):  # a new kernel decays every tensor
                self._decay_synced = (kernel, flags)
                return
        kernel.set_decayed(list(flags))
        self._decay_synced = (kernel, flags)

    @property
    def built(self) -> bool:
        return self._kernel is not None

    def apply_gradients(self, grads_and_vars) -> int:
        """Applies one step: `grads_and_vars` is a list of ``(gradient, variable)``.

        Variables are float32 NumPy arrays, updated in place (the first call
        builds the optimizer on them; later calls may pass any subset of them).
        Gradients are array-likes of the variables' shapes, or `None` to skip a
        variable. Returns `iterations` after the step.
        """
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        self.apply(grads, variables)
        return self.iterations

    def apply(self, grads, trainable_variables=None) -> None:
        """Applies one step with `grads` matching `trainable_variables` one to one
        (or the variables the optimizer was built with)."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already "
                    "be built on a list of variables. Call `optimizer.build(variables)` first."
                )
            variables = self._variables_list
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
                self._built_by_apply = True
        if len(grads) != len(variables):
            raise ValueError(
                f"Received {len(grads)} gradients for {len(variables)} variables; "
                "they must match one to one."
            )
        per_tensor = [None] * len(self._variables_list)
        for i, (g, v) in enumerate(zip(grads, variables)):
            k = self._index.get(id(v))
            if k is None:
                raise ValueError(
                    f"Unknown variable {i} (shape {getattr(v, 'shape', None)}). This optimizer "
                    "can only be called for the variables it was built with."
                )
            per_tensor[k] = g
        if all(g is None for g in per_tensor):
            raise ValueError("No gradients provided for any variable.")
        self._sync_kernel_config()
        lr = self._current_learning_rate()
        self._kernel.step_tensors(self._variables_list, per_tensor, lr)
        # Keras's optimizer then projects each variable it stepped on its
        # constraint (a Dense weight's `kernel_constraint`, `bias_constraint`).
        for variable, grad in zip(self._variables_list, per_tensor):
            constraint = getattr(variable, "constraint", None)
            if constraint is not None and grad is not None:
                variable[...] = constraint(variable)

    @property
    def variables(self) -> list:
        """Keras's ``optimizer.variables``, as `Variable`s with Keras's names
        and paths: ``<name>/iteration``, ``<name>/learning_rate``, then with
        `use_ema` the moving average of every variable, then the slots in
        Keras's order (`_slot_order`: Adam's m0, v0, m1, v1, ...), each
        ``<name>/<variable path with _>_<slot>`` (``adam/dense_kernel_momentum``),
        then scalar state (Nadam's ``u_product``, Keras's unnamed ``variable``).

        Slot variables are writable views of the optimizer's state (assigning
        into them, e.g. when loading a checkpoint, changes the state).
        """
        owner = getattr(self, "_flat_owner", None)
        model = owner() if owner is not None else None
        if model is not None and model.optimizer is self and model._owns_optimizer_state():
            return model._named_optimizer_variables()  # per weight, with Keras's names
        out = [np.array(self.iterations, dtype=np.int64)]
        if not callable(self._learning_rate):
            out.append(np.array(self._learning_rate, dtype=np.float32))
        if self._kernel is None:
            return self._named(out, [])
        offsets = self._kernel.offsets
        if not self._variables_list:  # built flat, its model gone: one buffer per slot
            out += [self._kernel.slot(s) for s in range(len(self._kernel.slot_names))]
            return out + self._scalar_variables()
        for s, k in _slot_order(self._kernel.slot_names, range(len(self._variables_list))):
            flat = self._kernel.slot(s)
            out.append(flat[offsets[k] : offsets[k + 1]].reshape(self._variables_list[k].shape))
        refs = [_reference_name(v, k) for k, v in enumerate(self._variables_list)]
        return self._named(out + self._scalar_variables(), refs)

    def _named(self, values: list, refs: list) -> list:
        """`values` (iterations, the learning rate unless it is a schedule or a
        callable, the slots in `_slot_order` for the weights `refs` names,
        then scalar state) as `Variable`s with Keras's names and paths. Nadam's
        scalar is Keras's unnamed ``variable``: outside the optimizer's name
        scope (``variable``) unless `apply_gradients` built the optimizer
        (``nadam/variable``), as in Keras."""
        from fastnn.layers import Variable

        names = ["iteration"] + ([] if callable(self._learning_rate) else ["learning_rate"])
        if self._kernel is not None:
            slots = self._kernel.slot_names
            names += [f"{refs[k]}_{slots[s]}" for s, k in _slot_order(slots, range(len(refs)))]
        paths = [f"{self.name}/{name}" for name in names]
        scalar = f"{self.name}/variable" if self._built_by_apply else "variable"
        names += ["variable"] * (len(values) - len(names))
        paths += [scalar] * (len(values) - len(paths))
        out = [Variable(np.asarray(v), n, p, None) for v, n, p in zip(values, names, paths)]
        # Keras's iteration and learning_rate variables are the optimizer's
        # own: assigning one (a checkpoint restored variable by variable)
        # sets the optimizer's step count or rate, as `iterations` / the
        # `learning_rate` setter do (checked alike).
        out[0] = _optimizer_scalar(out[0], self, "iterations")
        if not callable(self._learning_rate):
            out[1] = _optimizer_scalar(out[1], self, "learning_rate")
        return out

    def _averages(self) -> list:
        """The moving averages (`use_ema`), one view per variable the
        optimizer was built for, in Keras's order; [] when there are none."""
        if self._kernel is None or "average" not in self._kernel.slot_names:
            return []
        owner = getattr(self, "_flat_owner", None)
        model = owner() if owner is not None else None
        if model is not None and model.optimizer is self and model._owns_optimizer_state():
            return model._optimizer_averages()
        flat, offsets = self._kernel.slot(0), self._kernel.offsets
        return [
            flat[offsets[k] : offsets[k + 1]].reshape(v.shape)
            for k, v in enumerate(self._variables_list)
        ]

    def finalize_variable_values(self, var_list) -> None:
        """Sets the final values of `var_list`: with `use_ema`, each variable
        is overwritten with its moving average (Keras 3's
        `finalize_variable_values`, which `fit` calls on the model's trainable
        weights when it ends); without, nothing happens.

        Args:
            var_list: the variables the optimizer was built for, in the same
                order (writable float32 arrays, a model's `trainable_weights`).

        Raises:
            ValueError: `var_list` has another length than the optimizer's
                list of averages (Keras's message) or a variable another shape
                than its average; nothing is written then.
        """
        if not self.use_ema:
            return
        var_list = list(var_list)
        averages = self._averages()
        if len(var_list) != len(averages):
            raise ValueError(
                f"The length of model variables ({len(var_list)}) to override does not match "
                "the length of model variables stored in the optimizer "
                f"({len(averages)}). Please check if the optimizer was called on your model."
            )
        for i, (var, average) in enumerate(zip(var_list, averages)):
            if not isinstance(var, np.ndarray) or not var.flags.writeable:
                raise TypeError(
                    f"Variable {i} must be a writable numpy.ndarray (overwritten in place), "
                    f"got {type(var).__name__}"
                )
            if var.shape != average.shape:
                raise ValueError(
                    f"Variable {i} has shape {var.shape} but its moving average "
                    f"{average.shape}: var_list must list the variables the optimizer was "
                    "built for, in order"
                )
        for var, average in zip(var_list, averages):
            var[...] = average

    def _scalar_variables(self) -> list:
        """Keras's scalar optimizer variables after the slots (Nadam's
        ``u_product``), as 0-d float32 arrays; none by default."""
        return []

    # --------------------------------------------------------------- config
    def get_config(self) -> dict:
        """The constructor arguments, as Keras 3 writes them (a schedule is serialized)."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        config = {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
        }
        config.update(_KERAS_ONLY_DEFAULTS)
        config.update(self._config_hyperparameters())
        return config

    def _config_hyperparameters(self) -> dict:
        """The optimizer's own `get_config` entries: by default the kernel's
        hyperparameters (a flag set after construction is checked there)."""
        return self._kernel_hyperparameters() if self._kind else {}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """Creates an optimizer from the output of `get_config()` (no state)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(
                config["learning_rate"], custom_objects=custom_objects
            )
        return cls(**config)

    def __repr__(self) -> str:
        return f"<fastnn.optimizers.{type(self).__name__} name={self.name!r}>"
