"""Weight initializers (``keras.initializers``).

Calling an initializer with a shape returns a float32 NumPy array computed in
C++ from a counter-based random stream: the same seed gives the same values
on every machine and thread count (Keras's own random stream is not
reproduced). An initializer built with ``seed=None`` draws a fresh seed on
each call from :func:`fastnn.utils.next_seed`, a sequence that
:func:`fastnn.utils.set_random_seed` fixes; one built with a
`fastnn.random.SeedGenerator` (as Keras's take one) takes its seed from the
generator's next state, so each call gives new values, repeatable from the
generator's seed (its first call gives the values of the int seed it was
made with).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from fastnn import _absent, _core
from fastnn.random import SeedGenerator
from fastnn.utils.seeding import next_seed

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "OrthogonalInitializer",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "constant",
    "deserialize",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "serialize",
    "truncated_normal",
    "variance_scaling",
    "zeros",
]


def _fans(shape: Sequence[int]):
    """Keras's compute_fans: (fan_in, fan_out)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _checked_shape(shape, what: str) -> tuple:
    """`shape` as a tuple of ints >= 0 (2.0 is 2); TypeError for 2.5, "3" or
    True, which int() would turn into a different shape."""
    bad = TypeError(f"{what}: shape must be a tuple of ints, got {shape!r}")
    if isinstance(shape, (str, bytes)):
        raise bad
    try:
        entries = tuple(shape)
    except TypeError:
        raise bad from None
    for d in entries:
        whole = isinstance(d, (int, np.integer)) or (
            isinstance(d, (float, np.floating)) and math.isfinite(d) and d == int(d)
        )
        if not whole or isinstance(d, (bool, np.bool_)):
            raise bad
    shape = tuple(int(d) for d in entries)
    if any(d < 0 for d in shape):
        raise ValueError(f"{what}: shape must have dimensions >= 0, got {shape}")
    return shape


# The largest |z| of the C++ normal draw: sqrt(-2 ln u1) with u1 >= 2**-53.
_NORMAL_LARGEST = math.sqrt(-2.0 * math.log(2.0**-53))


def _argument(value, owner: str, name: str, finite: bool, nonnegative: bool = False) -> float:
    """`value` as a float; with `finite`, a ValueError naming the argument
    unless it is finite (and >= 0 with `nonnegative`): NaN or Inf arguments
    would give NaN or Inf weights."""
    kind = (
        "a number" if not finite else "a finite number >= 0" if nonnegative else "a finite number"
    )
    message = f"{owner}: `{name}` must be {kind}, got {name}={value!r}"
    if not finite:
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(message) from None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(message) from None
    if not math.isfinite(number) or (nonnegative and number < 0):
        raise ValueError(message)
    return number


def _seed_argument(seed):
    """An initializer's `seed`: None, an int (NumPy's too), a
    `fastnn.random.SeedGenerator`, or a serialized one (its config dict, as
    Keras writes it in an initializer's config); else a TypeError."""
    if seed is None or isinstance(seed, SeedGenerator):
        return seed
    if isinstance(seed, dict) and seed.get("class_name") == "SeedGenerator":
        return SeedGenerator.from_config(seed.get("config") or {})
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, a fastnn.random.SeedGenerator or None, got {seed!r}")
    return int(seed)


def _call_seed(seed) -> int:
    """The 64-bit seed of one call: `seed` itself, a SeedGenerator's next
    state ``[s, counter]`` as ``s + counter * 2**32`` (the int seed s on its
    first call), or for None the next one of the global sequence."""
    if seed is None:
        seed = next_seed()
    elif isinstance(seed, SeedGenerator):
        first, second = (int(v) & 0xFFFFFFFF for v in seed.next())
        seed = first | (second << 32)
    return seed & ((1 << 64) - 1)


def _seed_config(seed):
    """`seed` as a config holds it: a SeedGenerator serialized as Keras's
    (``{"module": "keras.random", "class_name": "SeedGenerator", ...}``)."""
    if isinstance(seed, SeedGenerator):
        from fastnn.saving import serialize_keras_object

        return serialize_keras_object(seed)
    return seed


class _Argument:
    """An initializer's argument (``mean``, ``stddev``, ...): checked when the
    initializer is created and when reassigned, and read by each call (so a
    new value takes effect, as the config reports it)."""

    def __init__(self, finite: bool = True, nonnegative: bool = False):
        self.finite, self.nonnegative = finite, nonnegative

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, initializer, owner=None):
        if initializer is None:
            return self
        return initializer.__dict__[self.name]

    def __set__(self, initializer, value) -> None:
        owner = type(initializer).__name__
        number = _argument(value, owner, self.name, self.finite, self.nonnegative)
        initializer.__dict__[self.name] = number


class Initializer:
    """Base class. ``kernel`` names the C++ initializer; ``a``, ``b`` its
    parameters (`_arguments`)."""

    kernel = ""

    def __init__(
        self,
        seed=None,
        a: float = 0.0,
        b: float = 0.0,
        *,
        input_axes=None,
        output_axes=None,
    ):
        seed = _seed_argument(seed)
        # Keras 3.15's variance-scaling initializers take the axes the fans
        # are counted over; fastnn's Dense kernels have one of each (None).
        for name, axes in (("input_axes", input_axes), ("output_axes", output_axes)):
            if axes is not None:
                raise ValueError(
                    f"{type(self).__name__}: {name}={axes!r} is not supported by fastnn (only "
                    "None: the kernel's first axis is its input, the second its output)"
                )
        self.seed = seed
        self._a = float(a)
        self._b = float(b)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        """A float32 array of `shape`."""
        if dtype is not None and np.dtype(dtype) != np.float32:
            raise ValueError(f"fastnn initializers produce float32, got dtype={dtype!r}")
        shape = _checked_shape(shape, type(self).__name__)
        fan_in, fan_out = _fans(shape)
        seed = _call_seed(self.seed)
        a, b = self._arguments()
        return _core.nn.initialize(self.kernel, list(shape), fan_in, fan_out, seed, a, b)

    def _arguments(self) -> tuple:
        """``(a, b)``, the C++ initializer's parameters."""
        return self._a, self._b

    def _largest_magnitude(self) -> Optional[float]:
        """An upper bound on the magnitude of the values (before they are
        rounded to float32), for arguments that can overflow float32; None
        when they cannot, or when it is not known."""
        return None

    def get_config(self) -> dict:
        """Keras 3's base `Initializer.get_config`: ``{}`` (subclasses add
        their arguments)."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        """The initializer `config` (a `get_config()` dict) describes, as
        Keras's ``cls(**config)``."""
        return cls(**config)

    def clone(self) -> Initializer:
        """A new initializer with this one's configuration, as Keras's."""
        return type(self).from_config(self.get_config())


class FunctionInitializer(Initializer):
    """A plain function used as an initializer, as Keras takes one
    (``Dense(kernel_initializer=fn)``): called as ``fn(shape, dtype="float32")``,
    its result (a NumPy array, a tensor-like with ``numpy()``, or anything
    NumPy reads) must have the weight's shape; it is taken as float32 and
    checked finite. Saved by the function's name, as Keras saves it (load
    with ``custom_objects``)."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def __call__(self, shape, dtype=None) -> np.ndarray:
        shape = _checked_shape(shape, getattr(self.function, "__name__", "initializer"))
        value = self.function(tuple(shape), dtype="float32" if dtype is None else dtype)
        if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
            value = value.numpy()
        try:
            value = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"initializer {self.function!r} returned {type(value).__name__}, not numbers: {e}"
            ) from None
        if value.shape != tuple(shape):
            raise ValueError(
                f"initializer {getattr(self.function, '__name__', self.function)!r} returned "
                f"shape {value.shape} for a weight of shape {tuple(shape)}"
            )
        return np.array(value)

    def get_config(self) -> dict:
        return {}

    def clone(self) -> FunctionInitializer:
        return FunctionInitializer(self.function)

    def __repr__(self) -> str:
        return f"FunctionInitializer({self.function!r})"


class Zeros(Initializer):
    """All zeros."""

    kernel = "zeros"

    def __init__(self):
        super().__init__()

    def get_config(self) -> dict:
        return {}


class Ones(Initializer):
    """All ones."""

    kernel = "ones"

    def __init__(self):
        super().__init__()

    def get_config(self) -> dict:
        return {}


class _ConstantValue(_Argument):
    """Constant's `value`: a number, or an array-like of numbers broadcast to
    the weight's shape as Keras broadcasts it (``Constant(np.log([p / n]))``
    for an output bias, in TensorFlow's imbalanced-data tutorial). Checked
    when set; NaN or Inf are refused by the layer built with it."""

    def __set__(self, initializer, value) -> None:
        if isinstance(value, dict) and value.get("class_name") == "__numpy__":
            value = (value.get("config") or {}).get("value")  # Keras's serialized array
        message = f"Constant: `value` must be a number or an array of numbers, got value={value!r}"
        if isinstance(value, (str, bytes)) or value is None:
            raise ValueError(message)
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(message) from None
        initializer.__dict__[self.name] = float(array) if array.ndim == 0 else array


class Constant(Initializer):
    """Every value equal to `value`, a number or an array broadcast to the
    weight's shape (as in Keras). Defaults to `0.0`."""

    kernel = "constant"

    value = _ConstantValue()  # a layer built with a NaN or Inf one refuses it

    def __init__(self, value: float = 0.0):
        super().__init__()
        self.value = value

    def __call__(self, shape, dtype=None) -> np.ndarray:
        if np.ndim(self.value) == 0:
            return super().__call__(shape, dtype)
        if dtype is not None and np.dtype(dtype) != np.float32:
            raise ValueError(f"fastnn initializers produce float32, got dtype={dtype!r}")
        shape = _checked_shape(shape, type(self).__name__)
        try:
            with np.errstate(over="ignore"):
                return np.broadcast_to(self.value.astype(np.float32), shape).copy()
        except ValueError:
            raise ValueError(
                f"Constant: a value of shape {self.value.shape} cannot fill a weight of shape "
                f"{tuple(shape)} (Keras broadcasts it: its shape must broadcast to the weight's)"
            ) from None

    def _arguments(self) -> tuple:
        return self.value, 0.0

    def _largest_magnitude(self) -> float:
        if np.ndim(self.value) == 0:
            return abs(self.value)
        if self.value.size == 0:
            return 0.0
        if np.isnan(self.value).any():
            return math.nan
        return float(np.abs(self.value).max())

    def get_config(self) -> dict:
        value = self.value
        return {"value": value if np.ndim(value) == 0 else value.tolist()}


class RandomNormal(Initializer):
    """N(mean, stddev**2). Defaults: mean `0.0`, stddev `0.05`.

    Raises:
        ValueError: a `mean` that is not a finite number, a `stddev` that
            is not one >= 0 (also when reassigned).
    """

    kernel = "random_normal"
    _largest_z = _NORMAL_LARGEST

    mean = _Argument()
    stddev = _Argument(nonnegative=True)

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def _arguments(self) -> tuple:
        return self.mean, self.stddev

    def _largest_magnitude(self) -> float:
        return abs(self.mean) + self._largest_z * self.stddev

    def get_config(self) -> dict:
        return {"seed": _seed_config(self.seed), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev**2) redrawn until within two stddev of the mean."""

    kernel = "truncated_normal"
    _largest_z = 2.0


class RandomUniform(Initializer):
    """U(minval, maxval). Defaults: `-0.05`, `0.05`.

    Raises:
        ValueError: a `minval` or `maxval` that is not a finite number (also
            when reassigned).
    """

    kernel = "random_uniform"

    minval = _Argument()
    maxval = _Argument()

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def _arguments(self) -> tuple:
        return self.minval, self.maxval

    def _largest_magnitude(self) -> float:
        return max(abs(self.minval), abs(self.maxval))

    def get_config(self) -> dict:
        return {"seed": _seed_config(self.seed), "minval": self.minval, "maxval": self.maxval}


class _VarianceScalingPreset(Initializer):
    """GlorotUniform ... LecunNormal: Keras's VarianceScaling subclasses,
    whose only arguments are the seed and the (unsupported) fan axes."""

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self) -> dict:
        return {"seed": _seed_config(self.seed), "input_axes": None, "output_axes": None}


class GlorotUniform(_VarianceScalingPreset):
    """U(+-sqrt(6 / (fan_in + fan_out))) (the Dense kernel default)."""

    kernel = "glorot_uniform"


class GlorotNormal(_VarianceScalingPreset):
    """Truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / 0.8796."""

    kernel = "glorot_normal"


class HeUniform(_VarianceScalingPreset):
    """U(+-sqrt(6 / fan_in))."""

    kernel = "he_uniform"


class HeNormal(_VarianceScalingPreset):
    """Truncated normal, stddev sqrt(2 / fan_in) / 0.8796."""

    kernel = "he_normal"


class LecunUniform(_VarianceScalingPreset):
    """U(+-sqrt(3 / fan_in))."""

    kernel = "lecun_uniform"


class LecunNormal(_VarianceScalingPreset):
    """Truncated normal, stddev sqrt(1 / fan_in) / 0.8796."""

    kernel = "lecun_normal"


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: with n the fan of `mode` (at least 1),
    ``truncated_normal`` (also ``"normal"``) draws N(0, scale / n) truncated at
    two standard deviations (the stddev divided by 0.8796, Keras's
    correction), ``untruncated_normal`` N(0, scale / n), ``uniform``
    U(+-sqrt(3 scale / n)). GlorotUniform is VarianceScaling(1, "fan_avg",
    "uniform"), HeNormal VarianceScaling(2, "fan_in", "truncated_normal").

    Raises:
        ValueError: `scale` not a finite number > 0, or an unknown `mode` or
            `distribution`, in Keras's words.
    """

    kernel = "variance_scaling"

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("normal", "truncated_normal", "untruncated_normal", "uniform")

    def __init__(
        self,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
    ):
        super().__init__(seed, input_axes=input_axes, output_axes=output_axes)
        scale = _argument(scale, "VarianceScaling", "scale", finite=True)
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(
                f"Invalid `mode` argument: {mode}. Please use one of {list(self._MODES)}"
            )
        distribution = distribution.lower() if isinstance(distribution, str) else distribution
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution}. Please use one of "
                f"{list(self._DISTRIBUTIONS)}"
            )
        if distribution == "normal":  # Keras stores its alias as the name it means
            distribution = "truncated_normal"
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != np.float32:
            raise ValueError(f"fastnn initializers produce float32, got dtype={dtype!r}")
        shape = _checked_shape(shape, type(self).__name__)
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        variance = self.scale / max(1.0, fan[self.mode])
        if self.distribution == "truncated_normal":
            kernel, a, b = "truncated_normal", 0.0, math.sqrt(variance) / 0.87962566103423978
        elif self.distribution == "untruncated_normal":
            kernel, a, b = "random_normal", 0.0, math.sqrt(variance)
        else:
            limit = math.sqrt(3.0 * variance)
            kernel, a, b = "random_uniform", -limit, limit
        seed = _call_seed(self.seed)
        return _core.nn.initialize(kernel, list(shape), fan_in, fan_out, seed, a, b)

    def get_config(self) -> dict:
        return {
            "seed": _seed_config(self.seed),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": None,
            "output_axes": None,
        }


class Orthogonal(Initializer):
    """Keras's Orthogonal: the weight, flattened to (prod(shape[:-1]),
    shape[-1]), has orthonormal rows or columns (whichever are fewer), times
    `gain`: the Q of a QR decomposition of a standard normal matrix, its
    columns' signs fixed by R's diagonal (Keras's construction; the normal
    draws come from NumPy's generator seeded from `seed`, so the values are
    not Keras's).

    Raises:
        ValueError: a weight with fewer than two axes, as in Keras.
    """

    kernel = "orthogonal"

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = _argument(gain, "Orthogonal", "gain", finite=True)

    def __call__(self, shape, dtype=None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != np.float32:
            raise ValueError(f"fastnn initializers produce float32, got dtype={dtype!r}")
        shape = _checked_shape(shape, type(self).__name__)
        if len(shape) < 2:
            raise ValueError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        if rows == 0 or cols == 0:
            return np.zeros(shape, np.float32)
        seed = _call_seed(self.seed)
        a = np.random.default_rng(seed).standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(np.float32)

    def get_config(self) -> dict:
        return {"seed": _seed_config(self.seed), "gain": self.gain}


_CLASSES = {
    c.kernel: c
    for c in (
        Zeros,
        Ones,
        Constant,
        RandomNormal,
        TruncatedNormal,
        RandomUniform,
        GlorotUniform,
        GlorotNormal,
        HeUniform,
        HeNormal,
        LecunUniform,
        LecunNormal,
        VarianceScaling,
        Orthogonal,
    )
}
_CLASSES["zero"] = Zeros
_CLASSES["one"] = Ones
# Keras's older short ids, still in keras.initializers.get (Dense(kernel_initializer="normal"))
_CLASSES["normal"] = RandomNormal
_CLASSES["uniform"] = RandomUniform

# Keras 3's lower-case aliases of the classes (keras.initializers.he_normal(seed=1) ...).
zeros = Zeros
ones = Ones
constant = Constant
random_normal = RandomNormal
truncated_normal = TruncatedNormal
random_uniform = RandomUniform
glorot_uniform = GlorotUniform
variance_scaling = VarianceScaling
orthogonal = Orthogonal
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal
OrthogonalInitializer = Orthogonal  # (Keras 3 exports Orthogonal under this name too)


def get(identifier) -> Optional[Initializer]:
    """An initializer from a Keras string id (``"he_normal"``,
    ``"GlorotUniform"``), a config dict (as `serialize` and Keras write
    them), a class, an instance, or a callable ``fn(shape, dtype=None)``;
    None stays None, as in Keras (a layer given None draws its weight with
    `GlorotUniform`, as Keras's `add_weight` does)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        identifier = deserialize(identifier)
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer) and identifier.kernel:
        return identifier()
    if callable(identifier) and not isinstance(identifier, type):
        return FunctionInitializer(identifier)  # Keras takes any fn(shape, dtype=None)
    if isinstance(identifier, str):
        key = "".join(
            ("_" + c.lower()) if c.isupper() and i else c.lower() for i, c in enumerate(identifier)
        )
        cls = _CLASSES.get(identifier) or _CLASSES.get(key)
        if cls is None:
            raise ValueError(
                f"Unknown initializer {identifier!r}; expected one of: "
                + ", ".join(sorted(_CLASSES))
            )
        return cls()
    raise TypeError(
        "initializer must be a string, a fastnn.initializers.Initializer or a function "
        f"fn(shape, dtype=None), got {identifier!r}"
    )


def serialize(initializer):
    """Keras 3's ``initializers.serialize``: ``{"module": "keras.initializers",
    "class_name", "config", "registered_name"}``; None and strings as they are.
    A callable used as an initializer is saved as Keras saves it: an object
    with ``get_config()`` by its class and config, a function by its name.

    Raises:
        TypeError: a callable object without ``get_config()`` (Keras's
            message).

    >>> serialize(Constant(2.0))["config"]
    {'value': 2.0}
    """
    if isinstance(initializer, FunctionInitializer):
        return _serialize_callable(initializer.function)
    from fastnn.saving import serialize_keras_object

    return serialize_keras_object(initializer)


def _serialize_callable(obj) -> dict:
    """A callable initializer (`FunctionInitializer.function`) as Keras's
    ``serialize_keras_object`` writes it: an object with ``get_config()`` as
    ``{"module", "class_name", "config", "registered_name"}`` (a Keras
    initializer under ``keras.initializers``, found again by fastnn's class of
    that name; a user's class under its module and registered name), a
    function (anything with a ``__name__``) by its name."""
    from fastnn.saving import _class_entry, serialize_function, serialize_keras_object

    get_config = getattr(obj, "get_config", None)
    if callable(get_config) and not isinstance(obj, type):
        config = serialize_keras_object(get_config())
        cls = type(obj)
        if cls.__module__.split(".")[0] == "keras":  # Keras's own: its public module
            return {
                "module": "keras.initializers",
                "class_name": cls.__name__,
                "config": config,
                "registered_name": None,
            }
        return _class_entry(cls, config)
    if hasattr(obj, "__name__"):
        return serialize_function(obj)
    raise TypeError(
        f"Cannot serialize object {obj} of type {type(obj)}. To be serializable, a class must "
        "implement the `get_config()` method."
    )


def deserialize(config, custom_objects=None):
    """Keras 3's ``initializers.deserialize``: the initializer `serialize` (or
    Keras) described, or a name (``"he_normal"``, ``"GlorotUniform"``: an
    instance with its defaults); `custom_objects` and registered classes are
    searched first. None gives None. Where Keras returns an unknown name as
    it is, this raises.

    Raises:
        ValueError: an unknown name or class, or a malformed config.
    """
    from fastnn.saving import deserialize_from_table

    table = {n: obj for n, obj in globals().items() if n in __all__ and isinstance(obj, type)}
    table.update({"initializer": Initializer, **_CLASSES})
    return deserialize_from_table(config, table, custom_objects)


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
