"""Random numbers as ``keras.random`` draws them, as NumPy arrays.

`normal`, `uniform`, `truncated_normal`, `randint`, `categorical`,
`dropout`, `shuffle`, `gamma`, `binomial`, `beta` and `SeedGenerator` have
Keras 3's signatures, defaults, result dtypes and argument errors; where
Keras returns a backend tensor they return a NumPy array (as `fastnn.ops`).

Seeds are Keras's:

- an int seed gives the same values on every call with it (Keras reads it
  as a uint32: ``seed=-1`` is ``seed=2**32 - 1``);
- a `SeedGenerator` advances its state at each call, so consecutive calls
  differ, and a new generator with the same seed repeats the sequence; its
  first draw is that of the int seed it was made with;
- ``seed=None`` takes a seed from the global sequence
  `fastnn.utils.set_random_seed` fixes (`fastnn.utils.next_seed`, the one
  fastnn's layers and initializers draw from), so a script gives the same
  values after the same ``set_random_seed(s)``; without it, each call is
  seeded from the operating system's entropy.

The values come from NumPy's Philox generator keyed by the seed and the
generator's counter: they have Keras's distributions but are not Keras's
numbers (each Keras backend has its own stream too). Every argument is
checked before a seed is drawn, so a call that fails leaves a
`SeedGenerator` and the global sequence where they were.
"""

from __future__ import annotations

import operator
import random as _python_random
import threading

import numpy as np

from fastnn import _absent
from fastnn import backend as _backend
from fastnn.utils.seeding import next_seed
from fastnn.utils.tensors import plain_tensor

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]

_UINT32 = 0xFFFFFFFF
_GLOBAL_KEYS = 1 << 64  # keys of seed=None draws: apart from (seed, counter) keys
_lock = threading.Lock()  # SeedGenerator.next: one draw at a time, whatever the thread

# The dtypes NumPy has among Keras's names (no bfloat16, float8 or string).
_NUMPY_DTYPES = frozenset(
    "bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 "
    "complex64 complex128".split()
)


class SeedGenerator:
    """The state of a random stream: pass it as `seed` to draw different
    values on each call, repeatable from its seed.

    An int seed gives the same values on every call; a `SeedGenerator`
    gives new ones each time, and a new generator with the same seed gives
    the same sequence again. Its `state` is Keras's: ``[seed, counter]``
    (int32), the counter advanced by `next`.

    Args:
        seed: an integer, kept as its low 32 bits (as Keras reads an int
            seed; Keras's torch SeedGenerator refuses one beyond int32's
            range with an overflow error). Defaults to `None`:
            one drawn from Python's `random` (which
            `fastnn.utils.set_random_seed` seeds), as Keras draws it.
        name: Defaults to `"seed_generator"`, made unique as layer names are.

    Raises:
        ValueError: a `seed` that is not an integer, or an unknown keyword
            argument, in Keras's words.

    >>> gen = SeedGenerator(42)
    >>> bool((normal((3,), seed=gen) == normal((3,), seed=42)).all())
    True
    >>> bool((normal((3,), seed=gen) == normal((3,), seed=42)).any())
    False
    """

    def __init__(self, seed=None, name=None, **kwargs):
        from fastnn.layers import _unique_name

        if name is None:
            name = _unique_name("seed_generator")
        self.name = name
        custom_backend = kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        if custom_backend is not None:
            raise ValueError(
                "fastnn's SeedGenerator draws with NumPy: it takes no `backend` argument. "
                f"Received: backend={custom_backend}"
            )
        self._initial_seed = seed
        if seed is None:
            seed = _python_random.randint(1, int(1e9))  # Keras's make_default_seed
        if not isinstance(seed, int):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        self.state = self._variable([_as_int32(seed), 0])

    @property
    def backend(self):
        """The module it computes with (Keras's attribute): `fastnn.backend`."""
        return _backend

    def next(self, ordered=True):
        """The state before the call, ``[seed, counter]`` (a new int32
        array), and advances it: the counter by one (`ordered`), else
        ``state <- (state + 1) * 5387 % 933199`` in int32, Keras's
        near-unique sequence of pairs below 933199."""
        with _lock:
            value = np.array(self.state, dtype=np.int32)
            wide = value.astype(np.int64)
            if ordered:
                wide[1] += 1
            else:
                wide = _as_int32_array((wide + 1) * 5387) % 933199  # int32 wrap, then floor mod
            self.state.value[...] = _as_int32_array(wide)
        return value

    def _variable(self, values):
        """`state`: a non-trainable int32 Variable of two values."""
        from fastnn.layers import Variable

        values = np.array(values, dtype=np.int32)
        return Variable(values, "seed_generator_state", f"{self.name}/seed_generator_state", None)

    def __setstate__(self, attributes: dict) -> None:
        """Unpickled: `state` comes back as a plain array, made a Variable again."""
        self.__dict__.update(attributes)
        self.state = self._variable(self.state)

    def get_config(self) -> dict:
        """``{"seed": the seed given (None if none was), "name": name}``."""
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> SeedGenerator:
        """A new generator from `get_config`'s dict (its state restarts)."""
        return cls(**config)


def _as_int32(value: int) -> int:
    """`value` modulo 2**32, as a signed 32-bit integer (the bits of a uint32)."""
    return ((value & _UINT32) ^ 0x80000000) - 0x80000000


def _as_int32_array(values: np.ndarray) -> np.ndarray:
    return ((values & _UINT32) ^ 0x80000000) - 0x80000000


def _generator(seed) -> np.random.Generator:
    """The generator of one call: keyed by the int seed (as a uint32), by a
    `SeedGenerator`'s state (which it advances), or by the next seed of the
    global sequence for None."""
    if isinstance(seed, SeedGenerator):
        first, second = (int(v) & _UINT32 for v in seed.next())
        key = first | (second << 32)
    elif isinstance(seed, int):  # (True too, as Keras)
        key = seed & _UINT32
    elif seed is None:
        key = _GLOBAL_KEYS | next_seed()
    else:
        raise _seed_error(seed)
    return np.random.Generator(np.random.Philox(key=key))


def _seed_error(seed) -> ValueError:
    return ValueError(
        "Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
        f"Received: seed={seed} (of type {type(seed)})"
    )


def _check_seed(seed) -> None:
    """Keras's error for a seed that is not an int, a SeedGenerator or None,
    raised before any work (the draw itself happens in `_generator`)."""
    if seed is not None and not isinstance(seed, (int, SeedGenerator)):
        raise _seed_error(seed)


def _shape(shape) -> tuple:
    """`shape` (a tuple or list of non-negative integers, NumPy's too) as a
    tuple of ints; a bare number is a TypeError, as in Keras's torch backend."""
    if not isinstance(shape, (tuple, list)):
        raise TypeError(
            f"`shape` must be a tuple or list of integers. Received: shape={shape!r} "
            f"(of type {type(shape).__name__})"
        )
    dims = []
    for dim in shape:
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
            raise TypeError(
                f"`shape` must be a tuple or list of integers. Received: shape={shape!r}"
            )
        if dim < 0:
            raise ValueError(
                f"`shape` cannot hold a negative dimension. Received: shape={tuple(shape)}"
            )
        dims.append(int(dim))
    return tuple(dims)


def _numpy_dtype(name: str, given) -> np.dtype:
    if name not in _NUMPY_DTYPES:
        raise ValueError(
            f"fastnn.random returns NumPy arrays, and NumPy has no {name} dtype. "
            f"Received: dtype={given}"
        )
    return np.dtype(name)


def _float_dtype(dtype, function: str) -> np.dtype:
    """`dtype` standardized (None is `floatx()`), a float type, else
    Keras's ValueError (as `keras.random.uniform` words it)."""
    name = _backend.standardize_dtype(dtype)
    if not _backend.is_float_dtype(name):
        raise ValueError(
            f"`fastnn.random.{function}` requires a floating point `dtype`. Received: dtype={dtype}"
        )
    return _numpy_dtype(name, dtype)


def _any_dtype(dtype) -> np.dtype:
    """`dtype` standardized (None is `floatx()`): the values are cast to it."""
    return _numpy_dtype(_backend.standardize_dtype(dtype), dtype)


def _real(value, name: str, function: str) -> np.ndarray:
    """`value` (a number or array-like of them, a torch tensor too) as float64."""
    array = np.asarray(plain_tensor(value))
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"`{function}`: `{name}` must be a real number or an array of them. "
            f"Received: {name}={value!r}"
        )
    return array.astype(np.float64)


def _parameter(value, name: str, function: str, shape: tuple) -> np.ndarray:
    """`value` as float64 broadcast to `shape` (a ValueError if it does not
    broadcast to it, as Keras's `broadcast_to`)."""
    array = _real(value, name, function)
    try:
        return np.broadcast_to(array, shape)
    except ValueError:
        raise ValueError(
            f"`{function}`: `{name}` of shape {array.shape} does not broadcast to shape={shape}"
        ) from None


def _finish(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`values` cast to `dtype`, always an array (a 0-d one for shape ())."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(values).astype(dtype)


# -- the distributions ----------------------------------------------------------------


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws samples from a normal (Gaussian) distribution.

    Args:
        shape: the shape of the result (a tuple or list of integers).
        mean: the mean. Defaults to `0.0`.
        stddev: the standard deviation, >= 0. Defaults to `1.0`.
        dtype: a float dtype. Defaults to `None`, `floatx()` (float32).
        seed: an int (the same values each time), a `SeedGenerator` (new
            values each time) or None (the global sequence
            `fastnn.utils.set_random_seed` fixes). Defaults to `None`.

    Returns:
        A NumPy array of `shape`. Not Keras's numbers: fastnn draws from
        NumPy's Philox generator.

    >>> normal((2, 3), seed=1).shape
    (2, 3)
    """
    shape = _shape(shape)
    numpy_dtype = _float_dtype(dtype, "normal")
    mean = _parameter(mean, "mean", "normal", shape)
    stddev = _parameter(stddev, "stddev", "normal", shape)
    valid = stddev >= 0.0  # (not NaN)
    if not np.all(valid):
        raise ValueError(
            f"`normal` expects stddev >= 0.0. Received: stddev={_first_bad(stddev, valid)}"
        )
    z = _generator(seed).standard_normal(shape)
    return _finish(mean + stddev * z, numpy_dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Draws samples from a uniform distribution on ``[minval, maxval)``.

    A value never rounds up to `maxval` in `dtype` (when `minval` <
    `maxval`); `minval` == `maxval` gives `minval`, as Keras.

    Args:
        shape: the shape of the result (a tuple or list of integers).
        minval: the lower bound (included). Defaults to `0.0`.
        maxval: the upper bound (excluded). Defaults to `1.0`.
        dtype: a float dtype. Defaults to `None`, `floatx()` (float32).
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    Raises:
        ValueError: a `dtype` that is not a float type, in Keras's words.

    >>> float(uniform((1000,), seed=3).max()) < 1.0
    True
    """
    shape = _shape(shape)
    numpy_dtype = _float_dtype(dtype, "uniform")
    low = _parameter(minval, "minval", "uniform", shape)
    high = _parameter(maxval, "maxval", "uniform", shape)
    u = _generator(seed).random(shape)
    values = _finish(low + (high - low) * u, numpy_dtype)
    top = _finish(high, numpy_dtype)
    rounded_up = (values >= top) & (low < high)  # float rounding reached maxval
    if rounded_up.any():
        below = np.nextafter(top, np.asarray(-np.inf, numpy_dtype))
        values = np.where(rounded_up, below, values).astype(numpy_dtype)
    return values


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws samples from a normal distribution truncated at two standard
    deviations: values more than two standard deviations from `mean` are
    discarded and drawn again (every value, where Keras's torch backend
    keeps one in about 230,000 after four tries).

    Args:
        shape: the shape of the result (a tuple or list of integers).
        mean: the mean. Defaults to `0.0`.
        stddev: the standard deviation of the normal before truncation.
            Defaults to `1.0`.
        dtype: a float dtype. Defaults to `None`, `floatx()` (float32).
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    >>> bool((abs(truncated_normal((10000,), seed=0)) <= 2.0).all())
    True
    """
    shape = _shape(shape)
    numpy_dtype = _float_dtype(dtype, "truncated_normal")
    mean = _parameter(mean, "mean", "truncated_normal", shape)
    stddev = _parameter(stddev, "stddev", "truncated_normal", shape)
    rng = _generator(seed)
    z = rng.standard_normal(shape)
    outside = ~((z > -2.0) & (z < 2.0))  # Keras keeps -2 < z < 2
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = ~((z > -2.0) & (z < 2.0))
    return _finish(mean + stddev * z, numpy_dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Draws integers uniformly from ``[minval, maxval)``.

    Args:
        shape: the shape of the result (a tuple or list of integers).
        minval: the lower bound (included), an integer.
        maxval: the upper bound (excluded), an integer > `minval`.
        dtype: an integer dtype that holds both bounds. Defaults to
            `"int32"` (None too, where Keras's torch backend gives float32).
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    Raises:
        ValueError: a `dtype` that is not an integer type (Keras's words), or
            bounds that are empty or beyond `dtype`.
        TypeError: bounds that are not integers.

    >>> randint((4,), 0, 10, seed=0).dtype
    dtype('int32')
    """
    shape = _shape(shape)
    name = _backend.standardize_dtype("int32" if dtype is None else dtype)
    if not _backend.is_int_dtype(name):
        raise ValueError(
            f"`fastnn.random.randint` requires an integer `dtype`. Received: dtype={dtype}"
        )
    numpy_dtype = _numpy_dtype(name, dtype)
    try:
        low, high = operator.index(minval), operator.index(maxval)
    except TypeError:
        raise TypeError(
            f"`randint` takes integer bounds. Received: minval={minval!r}, maxval={maxval!r}"
        ) from None
    if low >= high:
        raise ValueError(
            f"`randint` expects minval < maxval. Received: minval={low}, maxval={high}"
        )
    info = np.iinfo(numpy_dtype)
    if low < info.min or high - 1 > info.max:
        raise ValueError(
            f"`randint`: [{low}, {high}) does not fit in {name} ([{info.min}, {info.max}])"
        )
    return np.asarray(_generator(seed).integers(low, high, size=shape, dtype=numpy_dtype))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draws class indices from categorical distributions given by logits.

    Each row of `logits` holds the unnormalized log-probabilities of the
    classes (a softmax gives the probabilities; a class with logit -inf is
    never drawn). Each of the `num_samples` draws of a row is independent
    (with replacement).

    Args:
        logits: a 2-D array ``(batch_size, num_classes)``.
        num_samples: the number of draws per row, an integer >= 1.
        dtype: the result's dtype. Defaults to `"int32"` (None is
            `floatx()`, as Keras's torch backend).
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    Returns:
        An array ``(batch_size, num_samples)`` of class indices.

    Raises:
        ValueError: `logits` not 2-D (Keras's words), `num_samples` < 1,
            no classes, or a row with NaN or +inf or only -inf.

    >>> categorical([[0.0, -np.inf, 0.0]], 6, seed=2).shape
    (1, 6)
    """
    given = logits
    logits = _real(logits, "logits", "categorical")
    if logits.ndim != 2:
        raise ValueError(
            "`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
            f"Received: logits={given}"
        )
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(f"`num_samples` must be an integer. Received: num_samples={num_samples!r}")
    if num_samples < 1:
        raise ValueError(
            f"cannot sample n_sample <= 0 samples. Received: num_samples={num_samples}"
        )
    numpy_dtype = _any_dtype(dtype)
    batch, classes = logits.shape
    if classes == 0 and batch:
        raise ValueError("`categorical`: `logits` has no classes (num_classes=0)")
    top = logits.max(axis=1, initial=-np.inf, keepdims=True)
    bad = np.isnan(logits).any(axis=1) | (top[:, 0] == np.inf) | (top[:, 0] == -np.inf)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            "`categorical`: invalid distribution (a row of logits with NaN or +inf, or only "
            f"-inf): row {row} is {logits[row].tolist()}"
        )
    rng = _generator(seed)
    # Inverse CDF in 32-bit fixed point: class j takes the draws u in
    # [cdf[j-1], cdf[j]), so a class of probability 0 is never drawn; rows are
    # searched at once by offsetting row k by k * 2**33.
    cumulative = np.cumsum(np.exp(logits - top), axis=1)
    cdf = np.floor(cumulative / cumulative[:, -1:] * 2.0**32).astype(np.int64)
    offsets = np.arange(batch, dtype=np.int64)[:, None] << 33
    draws = rng.integers(0, 2**32, size=(batch, int(num_samples)), dtype=np.int64)
    found = np.searchsorted((cdf + offsets).ravel(), (draws + offsets).ravel(), side="right")
    indices = found.reshape(batch, int(num_samples)) - np.arange(batch)[:, None] * classes
    return _finish(indices, numpy_dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes each value with probability `rate` and scales the others by
    ``1 / (1 - rate)``, as Keras's ``random.dropout``.

    Args:
        inputs: an array-like (taken as `fastnn.ops` takes it).
        rate: the fraction dropped, in [0, 1]. 0 returns (a copy of) the
            inputs and 1 zeros, both in their dtype and without drawing a
            seed, as Keras.
        noise_shape: the shape of the mask (a tuple or list; None entries
            are the inputs' dimensions), broadcast over the inputs: a 1
            keeps or drops a whole axis. Defaults to `None`, the inputs' shape.
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    Returns:
        An array of the inputs' shape, in their dtype if a float (or complex)
        type, else float32 (Keras's torch backend divides an integer tensor to
        float32).

    >>> out = dropout(np.ones((2, 4), np.float32), 0.5, seed=0)
    >>> sorted(set(out.ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
    """
    from fastnn.ops import _tensor

    x = _tensor(inputs)
    keep = _real(rate, "rate", "dropout")
    if keep.ndim != 0:
        raise ValueError(f"`dropout`: `rate` must be a number. Received: rate={rate!r}")
    rate = float(keep)
    if not 0.0 <= rate <= 1.0:  # NaN too
        raise ValueError(f"`dropout` expects 0 <= rate <= 1. Received: rate={rate}")
    if noise_shape is not None:
        if not isinstance(noise_shape, (tuple, list)):
            raise TypeError(
                f"`noise_shape` must be a tuple or list. Received: noise_shape={noise_shape!r}"
            )
        if len(noise_shape) > x.ndim:
            raise ValueError(
                f"`noise_shape` {tuple(noise_shape)} has more dimensions than the inputs' "
                f"shape {x.shape}"
            )
        noise_shape = _shape([x.shape[i] if n is None else n for i, n in enumerate(noise_shape)])
        try:
            fits = np.broadcast_shapes(noise_shape, x.shape) == x.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"`noise_shape` {noise_shape} does not broadcast to the inputs' shape {x.shape}"
            )
    _check_seed(seed)  # (rate 0 and 1 draw no seed)
    if rate == 1.0:
        return np.zeros_like(x)
    if rate == 0.0:
        return x.copy()
    out_dtype = x.dtype if x.dtype.kind in "fc" else np.dtype(np.float32)
    keep_prob = 1.0 - rate
    mask = _generator(seed).random(x.shape if noise_shape is None else noise_shape) < keep_prob
    scaled = x.astype(out_dtype, copy=False) / out_dtype.type(keep_prob)
    return np.where(np.broadcast_to(mask, x.shape), scaled, out_dtype.type(0)).astype(out_dtype)


def shuffle(x, axis=0, seed=None):
    """Shuffles `x` along `axis`, as Keras's torch backend: for ``axis=0``
    one permutation of the slices ``x[i]`` (rows stay whole); for ``axis=k``
    one permutation per index of the first k axes (each row of a matrix gets
    its own order for ``axis=1``). A negative `axis` counts from the end
    (where Keras's torch backend returns a wrong result).

    Args:
        x: an array-like (taken as `fastnn.ops` takes it), at least 1-D.
        axis: the axis to shuffle. Defaults to `0`.
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    Raises:
        numpy.exceptions.AxisError (a ValueError and IndexError): `axis` out of range.

    >>> sorted(shuffle([3, 1, 2], seed=5).tolist())
    [1, 2, 3]
    """
    from fastnn.ops import _tensor

    x = _tensor(x)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"`axis` must be an integer. Received: axis={axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise np.exceptions.AxisError(int(axis), x.ndim)
    axis = int(axis) % x.ndim
    rng = _generator(seed)
    lead = x.shape[: axis + 1]
    order = rng.permuted(np.broadcast_to(np.arange(x.shape[axis]), lead), axis=-1)
    order = order.reshape(lead + (1,) * (x.ndim - axis - 1))
    return np.take_along_axis(x, order, axis=axis)


def gamma(shape, alpha, dtype=None, seed=None):
    """Draws samples from the Gamma distribution of shape `alpha` (scale 1).

    Args:
        shape: the shape of the result (a tuple or list of integers).
        alpha: the shape parameter, > 0: a number or an array that
            broadcasts to `shape`.
        dtype: the result's dtype. Defaults to `None`, `floatx()` (float32).
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    Raises:
        ValueError: `alpha` <= 0 (or NaN), or not broadcasting to `shape`.
    """
    shape = _shape(shape)
    alpha = _parameter(alpha, "alpha", "gamma", shape)
    _positive(alpha, "alpha", "gamma")
    numpy_dtype = _any_dtype(dtype)
    return _finish(_generator(seed).standard_gamma(alpha, size=shape), numpy_dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Draws samples from Binomial distributions: the number of successes
    in `counts` trials of probability `probabilities`.

    Args:
        shape: the shape of the result (a tuple or list of integers).
        counts: the numbers of trials, whole numbers >= 0: a number or an
            array that broadcasts to `shape`.
        probabilities: the success probabilities, in [0, 1], likewise.
        dtype: the result's dtype. Defaults to `None`, `floatx()` (float32,
            as Keras's).
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    Raises:
        ValueError: counts not whole numbers >= 0, probabilities outside
            [0, 1], or either not broadcasting to `shape`.
    """
    shape = _shape(shape)
    counts = _parameter(counts, "counts", "binomial", shape)
    probabilities = _parameter(probabilities, "probabilities", "binomial", shape)
    valid = np.isfinite(counts) & (counts >= 0) & (counts == np.floor(counts))
    if not np.all(valid):
        raise ValueError(
            "`binomial`: `counts` must be whole numbers >= 0. "
            f"Received: counts={_first_bad(counts, valid)}"
        )
    valid = (probabilities >= 0.0) & (probabilities <= 1.0)
    if not np.all(valid):
        raise ValueError(
            "`binomial`: `probabilities` must be in [0, 1]. "
            f"Received: probabilities={_first_bad(probabilities, valid)}"
        )
    numpy_dtype = _any_dtype(dtype)
    draws = _generator(seed).binomial(counts.astype(np.int64), probabilities, size=shape)
    return _finish(draws, numpy_dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Draws samples from Beta distributions of parameters `alpha` and `beta`.

    Args:
        shape: the shape of the result (a tuple or list of integers).
        alpha: the first parameter, > 0: a number or an array that
            broadcasts to `shape`.
        beta: the second parameter, > 0, likewise.
        dtype: the result's dtype. Defaults to `None`, `floatx()` (float32).
        seed: an int, a `SeedGenerator` or None, as `normal`'s. Defaults to `None`.

    Raises:
        ValueError: a parameter <= 0 (or NaN), or not broadcasting to `shape`.
    """
    shape = _shape(shape)
    a = _parameter(alpha, "alpha", "beta", shape)
    b = _parameter(beta, "beta", "beta", shape)
    _positive(a, "alpha", "beta")
    _positive(b, "beta", "beta")
    numpy_dtype = _any_dtype(dtype)
    return _finish(_generator(seed).beta(a, b, size=shape), numpy_dtype)


def _positive(values: np.ndarray, name: str, function: str) -> None:
    valid = values > 0.0
    if not np.all(valid):
        raise ValueError(
            f"`{function}`: `{name}` must be > 0. Received: {name}={_first_bad(values, valid)}"
        )


def _first_bad(values: np.ndarray, valid: np.ndarray) -> float:
    return float(values[~np.broadcast_to(valid, values.shape)].ravel()[0])


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
