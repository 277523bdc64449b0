"""Property-based fuzzing of the bindings (hypothesis).

Every ``fastnn.ops`` entry point and ``Sequential.predict`` /
``Sequential.train_on_batch`` get random shapes (0 included), dtypes (bool,
int8, uint64, float16, float64, complex, object, strings, datetimes),
C/Fortran order, huge and negative strides, broadcast (zero-stride) views,
NaN/Inf, mismatched lengths and out-of-range labels. Each case either equals
the NumPy reference or raises ValueError/TypeError; a model that raised has
bit-identical weights and the same iteration count as before.

Budget: the default (CI) profile runs a fixed, derandomized number of examples
per entry point (>= 10,000 in total, about 2 minutes on 2 cores). Set
``FASTNN_FUZZ_EXAMPLES=N`` to run N random (not derandomized) examples per
entry point instead. The number of cases run is printed at the end of the
module ("fastnn fuzz: ... cases").
"""

from __future__ import annotations

import math
import os
import warnings
from collections import Counter

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import fastnn  # noqa: E402
from fastnn import initializers, layers, models, optimizers  # noqa: E402

from activation_reference import DERIVATIVE, FORWARD, MORE, _sigmoid  # noqa: E402

_ON_DEMAND = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", "0") or 0)

# examples per entry point in CI (sum >= 10,000)
_CI_BUDGET = {
    "relu": 1500,
    "relu_grad": 1200,
    "activation": 2200,
    "activation_grad": 1800,
    "loss": 1800,
    "predict": 1000,
    "train_on_batch": 1200,
    "fit": 500,
    "evaluate": 500,
    "matmul": 700,
    "dense": 500,
    "sgd_update": 250,
    "adam_update": 250,
    "adamw_update": 150,
    "rmsprop_update": 250,
    "adagrad_update": 150,
    "nadam_update": 150,
    "adamax_update": 150,
    "lion_update": 150,
    "adadelta_update": 150,
    "ftrl_update": 150,
    "one_hot": 300,
    "ones_zeros": 100,
    "keras_ops": 1500,  # (about 180 ops)
}

CASES: Counter = Counter()  # entry point -> cases run (includes hypothesis replays)
RAISED: Counter = Counter()  # entry point -> cases that raised ValueError/TypeError


def _settings(entry: str):
    n = _ON_DEMAND or _CI_BUDGET[entry]
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=not _ON_DEMAND,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def test_fuzz_entry_points_are_all_covered():
    """A new fastnn.ops function must get a fuzz test here."""
    fuzzed = {"activation", "activation_grad", "loss", "relu", "relu_grad", "matmul", "dense"}
    fuzzed |= {
        f"{name}_update"
        for name in (
            "sgd",
            "adam",
            "adamw",
            "rmsprop",
            "adagrad",
            "nadam",
            "adamax",
            "lion",
            "adadelta",
            "ftrl",
        )
    }
    fuzzed |= {"ones", "zeros", "one_hot"}
    fuzzed |= set(_KERAS_OPS_UNARY) | set(_KERAS_OPS_REDUCE) | set(_KERAS_OPS_BINARY)
    fuzzed |= set(_KERAS_OPS_OTHER)
    assert set(fastnn.ops.__all__) == fuzzed


@pytest.fixture(scope="module", autouse=True)
def _report_case_count(request):
    yield
    total = sum(CASES.values())
    parts = ", ".join(f"{k} {CASES[k]} ({RAISED[k]} raised)" for k in sorted(CASES))
    line = f"fastnn fuzz: {total} cases [{parts}]"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(line)
    else:  # pragma: no cover - without the terminal or capture plugin
        print(line)
    path = os.environ.get("FASTNN_FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


# ----------------------------------------------------------------------------
# strategies

REAL_DTYPES = [
    np.bool_,
    np.int8,
    np.uint8,
    np.int16,
    np.int32,
    np.int64,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.longdouble,
]
BAD_DTYPES = [
    np.complex64,
    np.complex128,
    np.object_,
    np.dtype("<U4"),
    np.dtype("S4"),
    np.dtype("datetime64[s]"),
    np.dtype("timedelta64[ms]"),
    np.dtype([("a", "<f4")]),
    np.dtype("V4"),
]


def _elements(dtype, finite_bound):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        width = 16 if dtype.itemsize == 2 else (32 if dtype.itemsize == 4 else 64)
        if finite_bound is None:
            return st.floats(width=width)
        bound = float(np.finfo(dtype).max) if finite_bound > np.finfo(dtype).max else finite_bound
        return st.one_of(st.floats(-bound, bound, width=width), st.just(float("nan")))
    return None  # hypothesis's default for the dtype


def _fill(draw, dtype, shape, finite_bound, values=None):
    """An array of `shape` and `dtype` with varied values."""
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    if dtype == np.object_:
        items = draw(
            st.lists(
                st.one_of(st.floats(-10, 10), st.integers(-5, 5), st.none(), st.text(max_size=2)),
                min_size=n,
                max_size=n,
            )
        )
        a = np.empty(n, dtype=object)
        a[:] = items
        return a.reshape(shape)
    if dtype.kind in "USVMm" or dtype.names:
        return np.zeros(shape, dtype=dtype)
    if dtype.kind == "c":
        re = draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10)))
        return (re - 1j * re).astype(dtype)
    if values is not None:
        return draw(hnp.arrays(dtype, shape, elements=values))
    if dtype == np.longdouble:
        base = draw(hnp.arrays(np.float64, shape, elements=_elements(np.float64, finite_bound)))
        return base.astype(np.longdouble)
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype, finite_bound)))


@st.composite
def layouts(draw, base):
    """`base`'s values in some memory layout: C, F, strided (possibly huge
    strides), reversed, or a zero-stride broadcast view. The values are those
    of the returned array, not necessarily of `base`."""
    kind = draw(st.sampled_from(["c", "f", "strided", "huge", "reversed", "broadcast"]))
    if kind == "c" or base.ndim == 0:
        return np.ascontiguousarray(base)
    if kind == "f":
        return np.asfortranarray(base)
    if kind == "reversed":
        return base[(slice(None, None, -1),) * base.ndim].copy()[
            (slice(None, None, -1),) * base.ndim
        ]
    if kind == "broadcast":
        # first axis repeated with stride 0 (values of base[:1])
        if base.shape[0] == 0:
            return base
        return np.broadcast_to(base[:1], base.shape)
    step = draw(st.integers(2, 7)) if kind == "strided" else draw(st.integers(4096, 1 << 18))
    # a zero-filled (lazily allocated) buffer with base's values every `step` items on axis 0
    big_shape = (base.shape[0] * step,) + base.shape[1:]
    if math.prod(big_shape) * base.dtype.itemsize > (1 << 28):
        return base
    big = np.zeros(big_shape, dtype=base.dtype)
    view = big[::step]
    view[...] = base
    return view


SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7)


@st.composite
def any_array(draw, shape=None, finite_bound=None, bad_dtype_p=0.15):
    """(array, is_real_numeric)."""
    if shape is None:
        shape = draw(SHAPES)
    bad = draw(st.integers(0, 99)) >= 100 - round(100 * bad_dtype_p)  # 0 is drawn most
    dtype = draw(st.sampled_from(BAD_DTYPES if bad else REAL_DTYPES))
    a = _fill(draw, dtype, shape, finite_bound)
    if a.dtype.kind in "biuf":
        a = draw(layouts(a))
    if draw(st.integers(0, 20)) == 20:
        lst = a.tolist()  # nested lists (or a scalar) convert too
        return lst, _is_array_like_real(lst)
    return a, not bad


def _as_float32(a):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a, dtype=np.float32)


def _is_array_like_real(a):
    try:
        arr = np.asarray(a)
    except ValueError:  # ragged
        return False
    return arr.dtype.kind in "biuf"


def _call(entry, fn, *args, **kwargs):
    """Runs fn; returns (result, None) or (None, exception) for ValueError/TypeError."""
    CASES[entry] += 1
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            return fn(*args, **kwargs), None
        except (ValueError, TypeError) as e:
            RAISED[entry] += 1
            assert str(e), "the error message must say what went wrong"
            return None, e


# ----------------------------------------------------------------------------
# Keras's ops on arrays (NumPy; softmax and sigmoid through fastnn's kernels):
# on real input each equals its NumPy reference, anything else is a
# ValueError/TypeError.


def _stable_softmax(a, axis=-1):
    if a.size == 0:
        return a.copy()
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_KERAS_OPS_UNARY = {
    "abs": np.abs,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "square": np.square,
    "round": np.round,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "softmax": _stable_softmax,
    "convert_to_numpy": lambda a: a,
    "convert_to_tensor": lambda a: a,
    "zeros_like": np.zeros_like,
    "ones_like": np.ones_like,
    "transpose": np.transpose,
    "negative": np.negative,
    "sign": lambda a: a.copy() if a.dtype == np.bool_ else np.where(np.isnan(a), 0, np.sign(a)),
    "log1p": np.log1p,
    "logical_not": np.logical_not,
    "tanh": np.tanh,
    "floor": np.floor,
    "ceil": np.ceil,
    "isnan": np.isnan,
    "isinf": np.isinf,
    "isfinite": np.isfinite,
    "stop_gradient": lambda a: a,
    "absolute": np.abs,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "arcsinh": np.arcsinh,
    "arccosh": np.arccosh,
    "arctanh": np.arctanh,
    "log2": np.log2,
    "log10": np.log10,
    "expm1": np.expm1,
    "exp2": np.exp2,
    "reciprocal": lambda a: 1 / a,
    "rsqrt": lambda a: 1 / np.sqrt(a),
    "erf": lambda a: np.frompyfunc(math.erf, 1, 1)(a.astype(np.float64)).astype(a.dtype),
    "trunc": lambda a: np.trunc(a) if a.dtype.kind == "f" else a,
    "nan_to_num": np.nan_to_num,
    "signbit": lambda a: np.signbit(a.astype(np.float64) if a.dtype == np.bool_ else a),
    "ravel": np.ravel,
    "copy": lambda a: a,
    "flip": np.flip,
    "nonzero": lambda a: np.stack(np.nonzero(a)) if a.ndim else np.zeros((0, int(a != 0))),
    "relu6": lambda a: np.clip(a, 0, 6),
}
_SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)  # alpha, scale
# Keras's activations, referenced in float64 (fastnn rounds float64 values once).
_ACTIVATIONS = {
    "log_sigmoid": lambda a: -np.logaddexp(0, -a),
    "silu": lambda a: a / (1 + np.exp(-a)),
    "swish": lambda a: a / (1 + np.exp(-a)),
    "gelu": lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3))),
    "elu": lambda a: np.where(a > 0, a, np.expm1(a)),
    "selu": lambda a: _SELU[1] * np.where(a > 0, a, _SELU[0] * np.expm1(a)),
    "celu": lambda a: np.maximum(a, 0) + np.minimum(0, np.expm1(a)),
    "softplus": lambda a: np.logaddexp(0, a),
    "softsign": lambda a: a / (1 + np.abs(a)),
    "leaky_relu": lambda a: np.where(a >= 0, a, 0.2 * a),
    "hard_sigmoid": lambda a: np.clip(a + 3, 0, 6) / 6,
    "hard_silu": lambda a: a * np.clip(a + 3, 0, 6) / 6,
    "hard_swish": lambda a: a * np.clip(a + 3, 0, 6) / 6,
}
_ACTIVATIONS.update(
    (name, FORWARD[name])
    for name in MORE
    if name not in _ACTIVATIONS  # (celu and log_sigmoid above: Keras's own forms)
)
for _name, _fn in _ACTIVATIONS.items():
    _KERAS_OPS_UNARY[_name] = lambda a, fn=_fn: fn(a.astype(np.promote_types(a.dtype, np.float64)))
# Keras's elementwise functions that give floats for ints and bools (float32).
_TRANSCENDENTAL = (
    "exp", "log", "sqrt", "sigmoid", "softmax", "log1p", "tanh", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "log2", "log10", "expm1",
    "exp2", "reciprocal", "rsqrt", "erf", *_ACTIVATIONS,
)  # fmt: skip
_KERAS_OPS_REDUCE = {
    "sum": np.sum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
    "argmax": np.argmax,
    "argmin": np.argmin,
    "all": np.all,
    "any": np.any,
    "prod": np.prod,
    "amax": np.amax,
    "amin": np.amin,
    "ptp": np.ptp,
    "cumsum": np.cumsum,
    "cumprod": np.cumprod,
    "median": np.median,
    "count_nonzero": np.count_nonzero,
    "average": np.mean,
}
# Exact answers that change when a float64 value becomes float32 (Keras reads
# a list of floats as float32: a subnormal float64 is then 0, 1e39 inf).
_BOOL_RESULT = ("logical_not", "isnan", "isinf", "isfinite", "signbit", "nonzero", "count_nonzero")
# Ops whose integer result is an index, not a value of the input's dtype.
_INDEX_OPS = ("nonzero", "argmax", "argmin", "argsort")
# Reductions that Keras computes in their result's dtype (float16 in float32).
_REDUCE_IN_RESULT_DTYPE = ("prod", "cumsum", "cumprod", "median", "average")
_KERAS_OPS_BINARY = {
    "maximum": np.maximum,
    "minimum": np.minimum,
    "equal": np.equal,
    "not_equal": np.not_equal,
    "greater": np.greater,
    "less": np.less,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "greater_equal": np.greater_equal,
    "less_equal": np.less_equal,
    "logical_xor": np.logical_xor,
    "arctan2": np.arctan2,
    "logaddexp": np.logaddexp,
    "hypot": np.hypot,
    "add": np.add,
    "subtract": np.subtract,
    "multiply": np.multiply,
    "divide": np.true_divide,
    "true_divide": np.true_divide,
}
_ARITHMETIC = (
    "add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "arctan2",
    "logaddexp", "hypot",
)  # fmt: skip
# Structural ops and constructors: run with valid and invalid arguments below.
_KERAS_OPS_OTHER = (
    "arange", "cast", "clip", "concatenate", "expand_dims", "full", "norm", "reshape",
    "shape", "squeeze", "stack", "top_k", "where", "power", "sort", "argsort", "std", "var",
    "logsumexp", "dot", "mod", "fmod", "floor_divide", "quantile", "percentile", "moments",
    "size", "ndim", "roll", "tile", "repeat", "moveaxis", "swapaxes", "take", "take_along_axis",
    "split", "hstack", "vstack", "tril", "triu", "diag", "diagonal", "trace", "eye", "tri",
    "identity", "empty", "linspace", "full_like", "outer", "einsum", "tensordot", "unique",
    "searchsorted", "isclose", "allclose", "pad", "log_softmax", "glu", "normalize", "multi_hot",
    "in_top_k", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy",
)  # fmt: skip
# Shape ops checked against NumPy's own (same dtype: they move values only).
_NUMPY_SHAPE_OPS = {
    "roll": lambda a: np.roll(a, 2),
    "tile": lambda a: np.tile(a, 2),
    "repeat": lambda a: np.repeat(a, 2),
    "hstack": lambda a: np.hstack([a, a]),
    "vstack": lambda a: np.vstack([a, a]),
    "pad": lambda a: np.pad(a, 1),
    "take": lambda a: np.take(a, [0, -1]) if a.size else a.reshape(-1),
    "isclose": lambda a: np.isclose(a, a) if a.dtype.kind == "f" else np.ones(a.shape, bool),
}
_FLOAT32 = np.dtype(np.float32)
# x op divisor, computed as torch computes it (Keras's result type given after)
_DIVISIONS = {"mod": np.mod, "fmod": np.fmod, "floor_divide": np.floor_divide}


def _fits_32_bits(a) -> bool:
    """Whether `a` keeps its values in Keras's 32-bit result types."""
    if a.dtype.kind in "iu":
        return a.size == 0 or bool(np.abs(a.astype(np.float64)).max() < 2**31)
    if a.dtype == np.float64:
        with np.errstate(over="ignore"):
            return bool(np.array_equal(a.astype(np.float32), a, equal_nan=True))
    return True


def _close(got, want) -> None:
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind in "fc" or got.dtype.kind in "fc":
        half = np.float16 in (got.dtype, want.dtype)
        wide = np.complex128 if "c" in (got.dtype.kind, want.dtype.kind) else np.float64
        with np.errstate(over="ignore"):  # (float128 beyond float64: inf on both sides)
            got, want = got.astype(wide), want.astype(wide)
        np.testing.assert_allclose(
            got, want, rtol=2e-3 if half else 2e-6, atol=1e-30, equal_nan=True
        )
    else:
        np.testing.assert_array_equal(got, want)


@_settings("keras_ops")
@given(st.data())
@pytest.mark.filterwarnings("ignore:You are using a softmax over axis")  # Keras's warning
def test_fuzz_keras_ops(data):
    x, real = data.draw(any_array(finite_bound=6e4, bad_dtype_p=0.1), label="x")
    name = data.draw(
        st.sampled_from(sorted(_KERAS_OPS_UNARY) + sorted(_KERAS_OPS_REDUCE) + sorted(
            _KERAS_OPS_BINARY) + list(_KERAS_OPS_OTHER)),
        label="op",
    )  # fmt: skip
    fn = getattr(fastnn.ops, name)
    arr = np.asarray(x) if real and _is_array_like_real(x) else None
    if name in _KERAS_OPS_UNARY:
        out, err = _call("keras_ops", fn, x)
        if arr is None:
            return  # an error or Keras's conversion of it: never a crash
        if name in ("softmax",) and arr.ndim == 0:
            return
        if err is not None:
            # (negative refuses bools, as torch; a list of ints beyond int32, as Keras)
            overflow = "without overflow" in str(err)
            refused = ("softmax", "sigmoid", "log", "sqrt", "exp", "negative", "relu6")
            assert overflow or name in refused, err
            return
        transcendental = name in _TRANSCENDENTAL
        ref = arr.astype(np.float32) if transcendental and arr.dtype.kind != "f" else arr
        kind, size = np.asarray(out).dtype.kind, np.asarray(out).dtype.itemsize
        if arr.dtype.kind in "iu" and kind in "iu" and name not in _INDEX_OPS:
            ref = arr.astype(np.asarray(out).dtype)  # ints wrap in the result's dtype, as torch
        elif arr.dtype.kind == "f" and kind == "f" and size < arr.dtype.itemsize:
            with np.errstate(all="ignore"):  # Keras narrows float64 first (floor, ceil)
                ref = arr.astype(np.asarray(out).dtype)
        if name in ("sigmoid", "softmax"):
            ref = arr.astype(np.float32)  # fastnn's float32 kernels
        if name in _BOOL_RESULT and isinstance(x, list) and arr.dtype == np.float64:
            with np.errstate(all="ignore"):  # Keras reads a list of floats as float32 (exactly)
                ref = arr.astype(np.float32)
        with np.errstate(all="ignore"):
            want = _KERAS_OPS_UNARY[name](ref)
            if name == "round" and arr.dtype.kind in "biu":  # Keras rounds ints via float32
                want = np.round(arr.astype(np.float32)).astype(arr.dtype)
        _close(out, want)
    elif name in _KERAS_OPS_REDUCE:
        axis = data.draw(st.sampled_from([None, 0, -1, 5]), label="axis")
        out, err = _call("keras_ops", fn, x, axis=axis)
        if arr is None or err is not None:
            return
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's mean of nothing
            ref, dtype = arr, np.asarray(out).dtype
            if name in _BOOL_RESULT and isinstance(x, list) and arr.dtype == np.float64:
                ref = arr.astype(np.float32)  # (as in the elementwise case above)
            if name in _REDUCE_IN_RESULT_DTYPE:
                ref = arr.astype(_FLOAT32 if dtype == np.float16 else dtype)
            want = _KERAS_OPS_REDUCE[name](ref, axis=axis)
            if name in _REDUCE_IN_RESULT_DTYPE and dtype.kind == "f":
                want = np.asarray(want).astype(dtype)  # then rounded to it (float16: inf)
            if np.asarray(out).dtype.kind in "iu" and np.asarray(want).dtype.kind in "iu":
                want = np.asarray(want).astype(np.asarray(out).dtype)  # a sum wraps, as Keras's
        _close(out, want)
    elif name in _KERAS_OPS_BINARY:
        y, y_real = data.draw(any_array(shape=np.shape(x), finite_bound=6e4, bad_dtype_p=0.05))
        out, err = _call("keras_ops", fn, x, y)
        if arr is None or not (y_real and _is_array_like_real(y)) or err is not None:
            return
        if not (_fits_32_bits(arr) and _fits_32_bits(np.asarray(y))):
            return  # Keras's result_type narrows 64-bit types to 32 bits first (and wraps)
        a, b = arr, np.asarray(y)
        with np.errstate(all="ignore"):  # (0 / 0 and overflow in the reference)
            if name in _ARITHMETIC and np.asarray(out).dtype.kind in "fiu":
                # in the result's dtype, as torch computes (float16 overflows to inf, ints wrap)
                a, b = a.astype(np.asarray(out).dtype), b.astype(np.asarray(out).dtype)
            want = _KERAS_OPS_BINARY[name](a, b)
        _close(out, want)
    else:
        args = {
            "arange": lambda: (data.draw(st.integers(-3, 7)),),
            "cast": lambda: (x, data.draw(st.sampled_from(["float32", "int32", "bool", "x"]))),
            "clip": lambda: (x, -1.0, data.draw(st.sampled_from([1.0, -2.0]))),
            "concatenate": lambda: ([x, x],),
            "expand_dims": lambda: (x, data.draw(st.integers(-4, 4))),
            "full": lambda: (data.draw(st.lists(st.integers(0, 3), max_size=3)), 2.5),
            "norm": lambda: (x,),
            "reshape": lambda: (x, (-1,)),
            "shape": lambda: (x,),
            "squeeze": lambda: (x,),
            "stack": lambda: ([x, x],),
            "top_k": lambda: (x, data.draw(st.integers(-1, 3))),
            "where": lambda: (x, x, 0.0),
            "power": lambda: (x, data.draw(st.sampled_from([0, 1, 2, 0.5, -1]))),
            "sort": lambda: (x, data.draw(st.sampled_from([-1, 0, None, 3]))),
            "argsort": lambda: (x, data.draw(st.sampled_from([-1, 0, None, 3]))),
            "std": lambda: (x, data.draw(st.sampled_from([None, 0, -1, 5]))),
            "var": lambda: (x, data.draw(st.sampled_from([None, 0, -1, 5]))),
            "logsumexp": lambda: (x, data.draw(st.sampled_from([None, 0, -1, 5]))),
            "dot": lambda: (x, x),
            "mod": lambda: (x, data.draw(st.sampled_from([3, -2.5, 0.0]))),
            "fmod": lambda: (x, data.draw(st.sampled_from([3, -2.5, 0.0]))),
            "floor_divide": lambda: (x, data.draw(st.sampled_from([3, -2.5, 0.0]))),
            "quantile": lambda: (x, data.draw(st.sampled_from([0.5, [0.0, 0.3, 1.0], 1.5])), -1),
            "percentile": lambda: (x, data.draw(st.sampled_from([50, [0, 30, 100], -1])), -1),
            "moments": lambda: (x, data.draw(st.sampled_from([None, 0, -1, (0, -1), 5]))),
            "size": lambda: (x,),
            "ndim": lambda: (x,),
            "roll": lambda: (x, 2),
            "tile": lambda: (x, 2),
            "repeat": lambda: (x, 2),
            "moveaxis": lambda: (x, 0, -1),
            "swapaxes": lambda: (x, 0, -1),
            "take": lambda: (x, [0, -1] if np.size(x) else []),
            "take_along_axis": lambda: (x, np.zeros(min(np.size(x), 1), int), None),
            "split": lambda: (x, data.draw(st.integers(1, 3)), data.draw(st.sampled_from([0, -1]))),
            "hstack": lambda: ([x, x],),
            "vstack": lambda: ([x, x],),
            "tril": lambda: (x, data.draw(st.integers(-2, 2))),
            "triu": lambda: (x, data.draw(st.integers(-2, 2))),
            "diag": lambda: (x, data.draw(st.integers(-2, 2))),
            "diagonal": lambda: (x, data.draw(st.integers(-2, 2))),
            "trace": lambda: (x,),
            "eye": lambda: (data.draw(st.integers(0, 4)), None, data.draw(st.integers(-2, 2))),
            "tri": lambda: (data.draw(st.integers(0, 4)), None, data.draw(st.integers(-2, 2))),
            "identity": lambda: (data.draw(st.integers(0, 4)),),
            "empty": lambda: (data.draw(st.lists(st.integers(0, 3), max_size=3)),),
            "linspace": lambda: (data.draw(st.floats(-9, 9)), 1, data.draw(st.integers(0, 5))),
            "full_like": lambda: (x, 2.5),
            "outer": lambda: (x, x),
            "einsum": lambda: ("...->", x),
            "tensordot": lambda: (x, x, 0),
            "unique": lambda: (x,),
            "searchsorted": lambda: ([-1.0, 0.0, 2.0], x),
            "isclose": lambda: (x, x),
            "allclose": lambda: (x, x),
            "pad": lambda: (x, 1),
            "log_softmax": lambda: (x, data.draw(st.sampled_from([-1, 0, None]))),
            "glu": lambda: (x,),
            "normalize": lambda: (x, -1, data.draw(st.integers(0, 3))),
            "multi_hot": lambda: (x, 4),
            "in_top_k": lambda: (np.zeros(np.shape(x)[:1], int), x, data.draw(st.integers(0, 2))),
            "binary_crossentropy": lambda: (x, x, data.draw(st.booleans())),
            "categorical_crossentropy": lambda: (x, x, data.draw(st.booleans())),
            "sparse_categorical_crossentropy": lambda: (
                np.zeros(np.shape(x)[:-1], int),
                x,
                data.draw(st.booleans()),
            ),
        }[name]()
        out, err = _call("keras_ops", fn, *args)
        if err is None and name == "reshape" and arr is not None:
            _close(out, arr.reshape(-1))
        if err is None and name in _NUMPY_SHAPE_OPS and arr is not None:
            want = _NUMPY_SHAPE_OPS[name](arr.astype(np.asarray(out).dtype))
            if name == "isclose":
                want = _NUMPY_SHAPE_OPS[name](arr)
            _close(out, want)
        if err is None and name == "log_softmax" and arr is not None and arr.size:
            wide = arr.astype(np.promote_types(np.asarray(out).dtype, np.float64))
            axis = args[1] if args[1] is not None else tuple(range(arr.ndim))
            with np.errstate(all="ignore"):
                peak = np.max(wide, axis=axis, keepdims=True)
                shifted = wide - np.where(np.isfinite(peak), peak, 0)
                want = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
            _close(out, want.astype(np.asarray(out).dtype))
        if err is None and name in ("quantile", "percentile") and arr is not None:
            q = np.asarray(args[1], np.float32) / (100 if name == "percentile" else 1)
            compute = _FLOAT32 if arr.dtype.itemsize <= 8 else arr.dtype  # (Keras: float32)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # of nothing
                want = np.quantile(arr.astype(compute).astype(np.float64), q, axis=-1)
            _close(out, want.astype(np.asarray(out).dtype))
        if err is None and name == "moments" and arr is not None:
            wide = arr.astype(np.promote_types(np.asarray(out[0]).dtype, np.float64))
            axes = args[1] if isinstance(args[1], int) or args[1] is None else tuple(args[1])
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # of nothing
                want = (np.mean(wide, axis=axes), np.var(wide, axis=axes))
            for got, ref in zip(out, want):
                if np.asarray(got).dtype == np.float16:  # clipped to its range, as Keras
                    ref = np.clip(ref, -np.finfo(np.float16).max, np.finfo(np.float16).max)
                _close(got, ref.astype(np.asarray(got).dtype))
        if err is None and name in _DIVISIONS and arr is not None:
            divisor = args[1]
            if arr.dtype.kind == "f" or (isinstance(divisor, int) and arr.dtype.kind in "iu"):
                compute = arr.dtype  # (a Python number does not widen an array, in torch)
            else:
                compute = np.int32 if isinstance(divisor, int) else np.float32
            with np.errstate(all="ignore"):
                want = _DIVISIONS[name](arr.astype(compute), divisor)
                _close(out, want.astype(np.asarray(out).dtype))


# ----------------------------------------------------------------------------
# ones / zeros / one_hot (Keras's array constructors, NumPy)


@_settings("ones_zeros")
@given(st.lists(st.integers(0, 4), max_size=3), st.sampled_from([None, "float32", "int32"]))
def test_fuzz_ones_zeros(shape, dtype):
    for fn, value in ((fastnn.ops.ones, 1), (fastnn.ops.zeros, 0)):
        out, err = _call("ones_zeros", fn, tuple(shape), dtype=dtype)
        assert err is None, err
        assert out.shape == tuple(shape) and out.dtype == np.dtype(dtype or "float32")
        assert (out == value).all()


@_settings("one_hot")
@given(st.data())
def test_fuzz_one_hot(data):
    x, real = data.draw(any_array(bad_dtype_p=0.08), label="x")
    num_classes = data.draw(
        st.one_of(st.integers(-1, 6), st.sampled_from([True, 2.0, "3", np.int64(4)])),
        label="num_classes",
    )
    out, err = _call("one_hot", fastnn.ops.one_hot, x, num_classes)
    bad_n = isinstance(num_classes, (bool, float, str)) or num_classes < 1
    if bad_n or not real or not _is_array_like_real(x):
        assert err is not None, f"accepted x {x!r}, num_classes {num_classes!r}"
        return
    values = np.asarray(x, dtype=np.float64)
    if not np.isfinite(values).all() or (values.size and values.max() >= num_classes):
        assert isinstance(err, ValueError), err
        return
    if values.size and np.abs(values).max() >= 2**62:
        return  # beyond int64: NumPy's cast decides
    assert err is None, err
    labels = values.astype(np.int64)
    want = np.zeros(labels.shape + (int(num_classes),), np.float32)
    for index in np.ndindex(labels.shape):
        if labels[index] >= 0:
            want[index + (labels[index],)] = 1
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, want)


# ----------------------------------------------------------------------------
# relu / relu_grad


@_settings("relu")
@given(any_array())
def test_fuzz_relu(case):
    x, real = case
    y, err = _call("relu", fastnn.ops.relu, x)
    if not real or not _is_array_like_real(x):
        assert isinstance(err, TypeError), f"expected TypeError, got {err!r} / {y!r}"
        return
    assert err is None, err
    x32 = _as_float32(x)
    assert y.dtype == np.float32 and y.shape == x32.shape and y.flags.c_contiguous
    # torch.relu: x < 0 ? 0 : x, NaN stays NaN (tests/test_elementwise.py special values)
    np.testing.assert_array_equal(y, np.where(x32 < 0, np.float32(0), x32))


@_settings("relu_grad")
@given(st.data())
def test_fuzz_relu_grad(data):
    x, real_x = data.draw(any_array(bad_dtype_p=0.08))
    shape = np.shape(x) if real_x else None
    same = shape is not None and data.draw(st.booleans(), label="same shape")
    dy, real_dy = data.draw(any_array(shape=shape if same else None, bad_dtype_p=0.08), label="dy")
    dx, err = _call("relu_grad", fastnn.ops.relu_grad, dy, x)
    if not (real_x and real_dy and _is_array_like_real(x) and _is_array_like_real(dy)):
        assert isinstance(err, TypeError), err
        return
    x32, dy32 = _as_float32(x), _as_float32(dy)
    if x32.shape != dy32.shape:
        assert isinstance(err, ValueError) and "same shape" in str(err), err
        return
    assert err is None, err
    np.testing.assert_array_equal(dx, np.where(x32 <= 0, np.float32(0), dy32))


# ----------------------------------------------------------------------------
# activation / activation_grad: float64 references (values and derivatives)

# The exponential's gradient is dy * y with y = exp(x) in float32, as fastnn
# and Keras compute it (0 * inf is NaN).
DERIVATIVE = {
    **DERIVATIVE,
    "exponential": lambda x: np.exp(x).astype(np.float32).astype(np.float64),
}
ACTIVATIONS = sorted(FORWARD) + ["softmax", "log_softmax"]
ROWWISE = ("softmax", "log_softmax")
ALIASES = {"swish": "silu", "gelu_approximate": None}  # None: not a kernel name


def _softmax(x):
    if x.ndim == 0:
        x = x.reshape(1)
        return _softmax(x).reshape(())
    if x.shape[-1] == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x):
    if x.ndim == 0:
        return _log_softmax(x.reshape(1)).reshape(())
    if x.shape[-1] == 0:
        return x.copy()
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _act_ref(name, x64):
    with np.errstate(all="ignore"):
        rowwise = {"softmax": _softmax, "log_softmax": _log_softmax}
        return rowwise[name](x64) if name in rowwise else FORWARD[name](x64)


def _act_grad_ref(name, x64, dy64):
    with np.errstate(all="ignore"):
        if name == "softmax":
            y = _softmax(x64)
            if y.ndim == 0:
                return np.zeros_like(y)
            return y * (dy64 - (dy64 * y).sum(axis=-1, keepdims=True))
        if name == "log_softmax":
            total = dy64.sum(axis=-1, keepdims=True) if dy64.ndim else dy64
            return dy64 - np.exp(_log_softmax(x64)) * total
        return dy64 * DERIVATIVE[name](x64)


# where f' = 0 by a comparison on x (torch's kernels, torch.where's pieces)
ZERO_WHERE = {
    "hard_tanh": lambda x: (x <= -1) | (x >= 1),
    "sparse_sigmoid": lambda x: (x <= -1) | (x >= 1),
    "sparse_plus": lambda x: x <= -1,
    "soft_shrink": lambda x: (x >= -0.5) & (x <= 0.5),
    "hard_shrink": lambda x: (x >= -0.5) & (x <= 0.5),
}


def _expected_nan(name, x32):
    """Where fastnn's output is NaN for a NaN input (NaN propagates; softmax
    spreads a NaN over its row)."""
    nan = np.isnan(x32)
    if name in ROWWISE and x32.ndim > 0 and x32.shape[-1] > 0:
        return np.broadcast_to(nan.any(axis=-1, keepdims=True), nan.shape)
    return nan


def _check_close(actual, expected, nan_mask, rtol, atol):
    assert np.array_equal(np.isnan(actual), nan_mask), (
        f"NaN positions differ: got {np.argwhere(np.isnan(actual) != nan_mask)[:5].tolist()}"
    )
    keep = ~nan_mask
    atol = np.broadcast_to(atol, actual.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        want = expected.astype(np.float32).astype(np.float64)[keep]
        got = actual.astype(np.float64)[keep]
        same_inf = np.isinf(want) & (got == want)
        ok = same_inf | (np.abs(got - want) <= atol[keep] + rtol * np.abs(want))
    bad = np.argwhere(~ok)[:5].ravel()
    assert ok.all(), f"got {got[bad]}, expected {want[bad]} (float64 {expected[keep][bad]})"


@st.composite
def name_strategy(draw):
    kind = draw(st.integers(0, 9))
    if kind == 9:
        return draw(st.text(max_size=6))
    if kind == 8:
        return draw(st.sampled_from(["RELU", "softmax ", "", "relu\x00", "gelu_approximate"]))
    return draw(st.sampled_from(ACTIVATIONS + ["swish"]))


def _kernel_name(name):
    if name in ACTIVATIONS:
        return name
    return {"swish": "silu"}.get(name)


@_settings("activation")
@given(st.data())
def test_fuzz_activation(data):
    name = data.draw(name_strategy(), label="name")
    x, real = data.draw(any_array(finite_bound=1e4), label="x")
    y, err = _call("activation", fastnn.ops.activation, x, name)
    kernel = _kernel_name(name)
    if not real or not _is_array_like_real(x):
        assert isinstance(err, (TypeError, ValueError)), err
        return
    if kernel is None:
        assert isinstance(err, ValueError) and "Unknown activation" in str(err), err
        return
    assert err is None, err
    x32 = _as_float32(x)
    assert y.dtype == np.float32 and y.shape == x32.shape
    expected = _act_ref(kernel, x32.astype(np.float64))
    atol = np.full(x32.shape, 1e-6)
    _check_close(y, expected, _expected_nan(kernel, x32), 3e-6, atol)


@_settings("activation_grad")
@given(st.data())
def test_fuzz_activation_grad(data):
    name = data.draw(st.sampled_from(ACTIVATIONS + ["swish", "nope"]), label="name")
    x, real_x = data.draw(any_array(finite_bound=1e4, bad_dtype_p=0.08), label="x")
    same = real_x and data.draw(st.integers(0, 9), label="same") > 0
    shape = np.shape(x) if same else None
    dy, real_dy = data.draw(any_array(shape=shape, finite_bound=100.0, bad_dtype_p=0.08), "dy")
    dx, err = _call("activation_grad", fastnn.ops.activation_grad, dy, x, name)
    kernel = _kernel_name(name)
    if kernel is None:
        assert isinstance(err, ValueError), err  # the name is checked first
        return
    if not (real_x and real_dy and _is_array_like_real(x) and _is_array_like_real(dy)):
        assert isinstance(err, TypeError), err
        return
    x32, dy32 = _as_float32(x), _as_float32(dy)
    if x32.shape != dy32.shape:
        assert isinstance(err, ValueError) and "same shape" in str(err), err
        return
    assert err is None, err
    assert dx.dtype == np.float32 and dx.shape == x32.shape
    x64, dy64 = x32.astype(np.float64), dy32.astype(np.float64)
    expected = _act_grad_ref(kernel, x64, dy64)
    nan_mask = _expected_nan(kernel, x32) | np.isnan(dy32)
    # derivatives that select dy by a comparison on x: a NaN x selects a branch
    if kernel == "linear":
        nan_mask = np.isnan(dy32)
    elif kernel == "relu":
        nan_mask = ~(x32 <= 0) & np.isnan(dy32)  # torch: x <= 0 ? 0 : dy
        expected = np.where(x32 <= 0, 0.0, dy64)
    elif kernel == "hard_sigmoid":
        inside = (x32 > -3) & (x32 < 3)
        nan_mask = inside & np.isnan(dy32)
        expected = np.where(inside, dy64 / 6, 0.0)
    elif kernel == "leaky_relu":
        nan_mask = np.isnan(dy32)
        expected = np.where(np.isnan(x32), 0.2 * dy64, expected)
    elif kernel in ZERO_WHERE or kernel == "celu":
        # torch's: 0 where the comparison holds (a NaN dy too), f'(NaN x) the table's
        if kernel in ZERO_WHERE:
            expected = np.where(ZERO_WHERE[kernel](x32), 0.0, expected)
        nan_mask = np.isnan(expected)
    elif kernel == "exponential":
        nan_mask = nan_mask | np.isnan(expected)
    if kernel in ROWWISE and x32.ndim > 0 and x32.shape[-1] > 0:
        nan_mask = np.broadcast_to(
            (np.isnan(x32) | np.isnan(dy32)).any(axis=-1, keepdims=True), x32.shape
        )
    # fastnn takes f' from the float32 forward output: allow its rounding
    atol = 1e-6 * (1.0 + np.abs(np.nan_to_num(dy64)))
    if kernel in ROWWISE and x32.ndim > 0 and x32.shape[-1] > 0:
        atol = atol + 1e-6 * np.abs(np.nan_to_num(dy64)).sum(axis=-1, keepdims=True)
    _check_close(dx, expected, nan_mask, 1e-4, atol)


# ----------------------------------------------------------------------------
# loss

EPS = 1e-7
ONE_MINUS_EPS = float(np.float32(1 - EPS))  # Keras's float32 upper clip (0.99999988)
LOSS_NAMES = [
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
]
LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "scce": None}


def _ref_loss(name, from_logits, t, o, w, delta):
    """Keras 3 definitions in float64, reduction sum_over_batch_size."""
    n, _ = o.shape
    if n == 0:
        return 0.0
    with np.errstate(all="ignore"):
        if name == "mean_squared_error":
            per = ((o - t) ** 2).mean(-1)
        elif name == "mean_absolute_error":
            per = np.abs(o - t).mean(-1)
        elif name == "huber":
            e = np.abs(o - t)
            per = np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2).mean(-1)
        elif name == "binary_focal_crossentropy":  # Keras's defaults: alpha 0.25, gamma 2
            y = 1.0 / (1.0 + np.exp(-o)) if from_logits else o
            p = np.clip(y, EPS, ONE_MINUS_EPS)
            bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
            per = ((1.0 - (t * y + (1 - t) * (1 - y))) ** 2 * bce).mean(-1)
        elif name == "categorical_focal_crossentropy":
            y = np.exp(_log_softmax(o)) if from_logits else o
            c = np.clip(y / y.sum(-1, keepdims=True), EPS, ONE_MINUS_EPS)
            per = (0.25 * (1.0 - c) ** 2 * -t * np.log(c)).sum(-1)
        elif name == "binary_crossentropy":
            if from_logits:
                per = (np.maximum(o, 0) - o * t + np.log1p(np.exp(-np.abs(o)))).mean(-1)
            else:
                p = np.clip(o, EPS, ONE_MINUS_EPS)
                per = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)
        else:
            # an entry with t == 0 adds nothing, even when its log is NaN (fastnn's
            # convention; Keras computes 0 * NaN = NaN there)
            if from_logits:
                per = np.where(t != 0, t * -_log_softmax(o), 0.0).sum(-1)
            else:
                p = np.clip(o / o.sum(-1, keepdims=True), EPS, ONE_MINUS_EPS)
                per = -(np.where(t != 0, t * np.log(p), 0.0)).sum(-1)
        return float((w * per).sum() / n)


@st.composite
def loss_cases(draw):
    name = draw(st.sampled_from(LOSS_NAMES))
    from_logits = draw(st.booleans())
    rows = draw(st.integers(0, 6))
    cols = draw(st.integers(0 if draw(st.integers(0, 15)) == 15 else 1, 6))
    pred_shape = draw(st.sampled_from([(rows, cols)] * 15 + [(rows,), (rows, cols, 1), ()]))
    prob = "crossentropy" in name and not from_logits
    values = st.floats(0.0, 1.0) if prob else st.floats(-30, 30)
    if draw(st.integers(0, 9)) == 9:
        values = st.one_of(values, st.just(float("nan")), st.just(float("inf")))
    pdtype = draw(st.sampled_from([np.float32, np.float64, np.float16, np.int8, np.uint64]))
    if np.dtype(pdtype).kind in "iu":
        pred = _fill(draw, pdtype, pred_shape, None)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            pred = _fill(draw, np.float64, pred_shape, None, values=values).astype(pdtype)
    if draw(st.integers(0, 15)) == 15:
        pred = _fill(draw, draw(st.sampled_from(BAD_DTYPES)), pred_shape, None)
    pred = draw(layouts(pred)) if pred.dtype.kind in "biuf" else pred
    if name == "sparse_categorical_crossentropy":
        lshape = draw(st.sampled_from([(rows,)] * 5 + [(rows, 1), (rows + 1,), (rows, 2), ()]))
        ldtype = draw(
            st.sampled_from(
                [np.int64, np.int32, np.int8, np.uint64, np.uint8, np.bool_, np.float64]
                + [np.float32, np.float16]
            )
        )
        if ldtype in (np.float64, np.float32, np.float16):
            label_values = st.one_of(
                st.integers(-1, cols + 1).map(float),
                st.floats(-2, cols + 1, width=16),
                st.sampled_from([0.5, 1 - 1e-9, float(2**31), float(2**32 + 1), float("nan")]),
            )
            with np.errstate(over="ignore", invalid="ignore"):
                y = _fill(draw, np.float64, lshape, None, values=label_values).astype(ldtype)
        elif ldtype == np.bool_:
            y = _fill(draw, ldtype, lshape, None)
        else:
            info = np.iinfo(ldtype)
            lo = max(info.min, -2)
            hi = min(info.max, cols + 1)
            vals = st.one_of(st.integers(lo, hi), st.sampled_from([info.max, info.min]))
            y = _fill(draw, ldtype, lshape, None, values=vals)
    else:
        tshape = draw(st.sampled_from([pred_shape] * 6 + [(rows + 1, cols), (rows, cols + 1)]))
        tvals = st.floats(0, 1) if prob else st.floats(-30, 30)
        tdtype = draw(st.sampled_from([np.float32, np.float64, np.bool_, np.int8, np.float16]))
        if np.dtype(tdtype).kind == "f":
            y = _fill(draw, np.float64, tshape, None, values=tvals).astype(tdtype)
        else:
            y = _fill(draw, tdtype, tshape, None)
    if draw(st.integers(0, 20)) == 20:
        y = _fill(draw, draw(st.sampled_from(BAD_DTYPES)), np.shape(y), None)
    y = draw(layouts(y)) if y.dtype.kind in "biuf" else y
    sw = None
    if draw(st.booleans()):
        swshape = draw(st.sampled_from([(rows,)] * 5 + [(rows + 1,), (rows, 1), ()]))
        sw = _fill(draw, np.float64, swshape, None, values=st.floats(-2, 3)).astype(
            draw(st.sampled_from([np.float32, np.float64, np.int8]))
        )
    delta = draw(st.one_of(st.just(1.0), st.floats(1e-3, 10), st.sampled_from([0.0, -1.0])))
    return name, from_logits, pred, y, sw, delta


def _valid_labels(y, rows, cols):
    """Class ids as int64, or None when y is not a valid sparse target."""
    if y.dtype.kind not in "biuf" or not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        return None
    if y.shape[0] != rows:
        return None
    if y.dtype.kind in "iu":
        v = y.reshape(-1)
        ok = (v >= 0) & (v < cols) if y.dtype.kind == "i" else v < cols
        return v.astype(np.int64) if ok.all() else None
    v = y.reshape(-1).astype(np.float64)
    ok = (v >= 0) & (v < cols) & (v == np.floor(v))
    return v.astype(np.int64) if ok.all() else None


@_settings("loss")
@given(loss_cases())
def test_fuzz_loss(case):
    name, from_logits, pred, y, sw, delta = case
    result, err = _call(
        "loss",
        fastnn.ops.loss,
        y,
        pred,
        name,
        from_logits=from_logits,
        delta=delta,
        sample_weight=sw,
    )
    if not delta > 0:  # checked first
        assert isinstance(err, ValueError) and "delta" in str(err), err
        return
    if pred.dtype.kind not in "biuf":
        assert isinstance(err, TypeError), err
        return
    p32 = _as_float32(pred)
    if p32.ndim != 2 or p32.shape[1] == 0:
        assert isinstance(err, ValueError) and "y_pred" in str(err), err
        return
    rows, cols = p32.shape
    if y.dtype.kind not in "biuf":
        assert isinstance(err, TypeError) and "y_true" in str(err), err
        return
    sparse = name == "sparse_categorical_crossentropy"
    if sparse:
        labels = _valid_labels(y, rows, cols)
        if labels is None:
            assert isinstance(err, ValueError), err
            return
        t64 = np.eye(cols)[labels]
    else:
        y32 = _as_float32(y)
        if y32.shape != (rows, cols):
            assert isinstance(err, ValueError) and "y_true" in str(err), err
            return
        t64 = y32.astype(np.float64)
    if sw is not None and sw.shape not in ((rows,), (rows, 1)):  # (n, 1) as models take it
        assert isinstance(err, ValueError) and "sample_weight" in str(err), err
        return
    assert err is None, err
    value, grad = result
    assert isinstance(value, float) and grad.dtype == np.float32 and grad.shape == (rows, cols)
    w = np.ones(rows) if sw is None else _as_float32(sw).astype(np.float64).reshape(rows)
    kernel = "categorical_crossentropy" if sparse else name
    expected = _ref_loss(kernel, from_logits, t64, p32.astype(np.float64), w, np.float32(delta))
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == pytest.approx(expected, rel=2e-5, abs=1e-6), (value, expected)
    # the gradient does not depend on how the arrays came in
    canon_y = labels.astype(np.int32) if sparse else _as_float32(y)
    canon_sw = None if sw is None else _as_float32(sw)
    _, grad_c = fastnn.ops.loss(
        canon_y,
        np.ascontiguousarray(p32),
        name,
        from_logits=from_logits,
        delta=delta,
        sample_weight=canon_sw,
    )
    np.testing.assert_array_equal(grad, grad_c)


def test_loss_rejects_labels_that_round_to_a_class_id():
    """Labels are checked as given (float64), not after rounding to float32."""
    pred = np.full((1, 3), 1 / 3, np.float32)
    for bad in (1 - 1e-9, 2 + 1e-12, -1e-30):
        with pytest.raises(ValueError, match="not a class id"):
            fastnn.ops.loss(np.array([bad]), pred, "sparse_categorical_crossentropy")
    logits = np.zeros((1, (1 << 24) + 2), np.float32)
    _, grad = fastnn.ops.loss(
        np.array([(1 << 24) + 1], np.int64),
        logits,
        "sparse_categorical_crossentropy",
        from_logits=True,
    )
    # class 2^24 + 1 (not 2^24, the nearest float32) is the target: softmax - onehot
    assert grad[0, (1 << 24) + 1] < 0 < grad[0, 1 << 24]


# ----------------------------------------------------------------------------
# Sequential.predict / train_on_batch against a float64 NumPy network

IN, HID, OUT = 5, 4, 3


def _model(lr=0.1):
    model = models.Sequential(
        [
            layers.Input(shape=(IN,)),
            layers.Dense(
                HID,
                activation="tanh",
                kernel_initializer=initializers.GlorotUniform(3),
                bias_initializer=initializers.RandomUniform(-0.3, 0.3, seed=4),
            ),
            layers.Dense(
                OUT,
                activation="softmax",
                kernel_initializer=initializers.GlorotUniform(5),
                bias_initializer=initializers.RandomUniform(-0.3, 0.3, seed=6),
            ),
        ]
    )
    model.compile(
        optimizer=optimizers.SGD(learning_rate=lr), loss="sparse_categorical_crossentropy"
    )
    return model


def _np_forward(weights, x):
    w1, b1, w2, b2 = (w.astype(np.float64) for w in weights)
    h = np.tanh(x @ w1 + b1)
    return h, _softmax(h @ w2 + b2)


def _np_sgd_step(weights, x, labels, sw, lr):
    """One Keras SGD step of the tanh/softmax network with sparse CE, float64."""
    w1, b1, w2, b2 = (w.astype(np.float64) for w in weights)
    n = x.shape[0]
    h, p = _np_forward(weights, x)
    t = np.eye(OUT)[labels]
    w = np.ones(n) if sw is None else sw
    loss = float((w * -np.log(np.clip(p[np.arange(n), labels], EPS, ONE_MINUS_EPS))).sum() / n)
    dz2 = (p - t) * w[:, None] / n
    dh = dz2 @ w2.T
    dz1 = dh * (1 - h**2)
    grads = [x.T @ dz1, dz1.sum(0), h.T @ dz2, dz2.sum(0)]
    return loss, [p_ - lr * g for p_, g in zip((w1, b1, w2, b2), grads)]


@pytest.fixture(scope="module")
def fuzz_model():
    model = _model()
    return model, [w.copy() for w in model.get_weights()]


@st.composite
def model_x(draw, rows=None):
    if rows is None:
        rows = draw(st.integers(0, 6))
    shape = (rows, IN)
    if draw(st.integers(0, 4)) == 4:
        shape = draw(
            st.sampled_from([(rows, IN + 1), (rows,), (rows, IN, 1), (), (rows, 0), (IN,)])
        )
    bound = None if draw(st.integers(0, 5)) == 5 else 10.0
    x, real = draw(any_array(shape=shape, finite_bound=bound))
    return x, real


def _x_valid(x, real):
    """x as float32 (n, IN) when predict/train must accept it, else None."""
    if not real or not _is_array_like_real(x):
        return None
    x32 = _as_float32(x)
    if x32.ndim == 3 and x32.shape[2] == 1:
        x32 = x32[:, :, 0]  # Keras's Functional._adjust_input_rank squeezes it
    if x32.ndim != 2 or x32.shape[1] != IN or not np.isfinite(x32).all():
        return None
    return x32


def _same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


@_settings("predict")
@given(st.data())
def test_fuzz_predict(fuzz_model, data):
    model, initial = fuzz_model
    model.set_weights(initial)
    x, real = data.draw(model_x(), label="x")
    batch_size = data.draw(
        st.one_of(
            st.none(),
            st.integers(1, 9),
            st.sampled_from([0, -1, 2**40, True, 2.0, "8", np.int64(3), np.uint8(2)]),
        ),
        label="batch_size",
    )
    out, err = _call("predict", model.predict, x, batch_size=batch_size)
    assert _same_weights(model.get_weights(), initial)
    bs_ok = batch_size is None or (
        isinstance(batch_size, (int, np.integer))
        and not isinstance(batch_size, bool)
        and batch_size >= 1
    )
    if not bs_ok:
        assert isinstance(err, ValueError) and "batch_size" in str(err), err
        return
    x32 = _x_valid(x, real)
    if x32 is None:
        assert err is not None, f"accepted x {np.shape(x)} {getattr(x, 'dtype', None)}"
        return
    assert err is None, err
    assert out.dtype == np.float32 and out.shape == (x32.shape[0], OUT)
    _, expected = _np_forward(initial, x32.astype(np.float64))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@st.composite
def train_cases(draw):
    x, real = draw(model_x(rows=draw(st.integers(1, 6)) if draw(st.integers(0, 9)) < 9 else 0))
    rows = np.shape(x)[0] if np.ndim(x) > 0 else 0
    lshape = draw(st.sampled_from([(rows,)] * 6 + [(rows, 1), (rows + 1,), (rows, OUT), ()]))
    ldtype = draw(st.sampled_from([np.int64, np.int8, np.uint64, np.float64, np.float32]))
    values = st.integers(0, OUT - 1)
    if draw(st.integers(0, 3)) == 3:
        values = st.one_of(
            values,
            st.sampled_from([-1, OUT, 2**32, 2**62])
            if np.dtype(ldtype).kind in "iu"
            else st.sampled_from([0.5, -0.0, float("nan"), float(OUT), 1 - 1e-12]),
        )
    if np.dtype(ldtype).kind == "u":
        values = values.filter(lambda v: v >= 0)
    if np.dtype(ldtype) == np.int8:
        values = values.filter(lambda v: -128 <= v <= 127)
    y = _fill(draw, ldtype, lshape, None, values=values)
    if draw(st.integers(0, 20)) == 20:
        y = draw(st.sampled_from([None, "abc", np.array([1j] * max(rows, 1))]))
    else:
        y = draw(layouts(y))
    sw = None
    if draw(st.booleans()):
        swshape = draw(st.sampled_from([(rows,)] * 5 + [(rows + 1,), (rows, 1)]))
        swvals = st.floats(0, 3)
        if draw(st.integers(0, 3)) == 3:
            swvals = st.one_of(swvals, st.sampled_from([float("nan"), float("inf")]))
        sw = _fill(draw, np.float64, swshape, None, values=swvals)
    return x, real, y, sw


@_settings("train_on_batch")
@given(train_cases())
def test_fuzz_train_on_batch(fuzz_model, case):
    model, initial = fuzz_model
    model.set_weights(initial)
    x, real, y, sw = case
    iterations = model._net.iterations
    loss, err = _call("train_on_batch", model.train_on_batch, x, y, sample_weight=sw)
    if err is not None:
        # a rejected batch changes nothing
        assert _same_weights(model.get_weights(), initial)
        assert model._net.iterations == iterations
    x32 = _x_valid(x, real)
    valid = x32 is not None and x32.shape[0] > 0
    labels = None
    if valid and isinstance(y, np.ndarray):
        labels = _valid_labels(y, x32.shape[0], OUT)
    valid = valid and labels is not None
    if valid and sw is not None:
        valid = _sample_weight_shape_ok(sw, x32.shape[0]) and bool(np.isfinite(sw).all())
    if not valid:
        assert err is not None, f"accepted x {np.shape(x)}, y {y!r}, sample_weight {sw!r}"
        return
    assert err is None, err
    sw64 = None if sw is None else _as_float32(sw).astype(np.float64).reshape(-1)
    expected_loss, expected = _np_sgd_step(initial, x32.astype(np.float64), labels, sw64, 0.1)
    assert loss == pytest.approx(expected_loss, rel=1e-5, abs=1e-6)
    # float32 products of x with the error terms: tolerance grows with |x|
    atol = 2e-6 * (1.0 + float(np.abs(x32).max()))
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)


def _expected_train_case(case):
    """(x32, labels) when the case is valid for training, else None."""
    x, real, y, sw = case
    x32 = _x_valid(x, real)
    if x32 is None or x32.shape[0] == 0 or not isinstance(y, np.ndarray):
        return None
    labels = _valid_labels(y, x32.shape[0], OUT)
    if labels is None:
        return None
    if sw is not None and not (
        _sample_weight_shape_ok(sw, x32.shape[0]) and bool(np.isfinite(sw).all())
    ):
        return None
    return x32, labels


def _sample_weight_shape_ok(sw, rows):
    """(rows,), or (rows, 1) which Keras 3 squeezes."""
    return sw.shape in ((rows,), (rows, 1))


@_settings("fit")
@given(train_cases())
def test_fuzz_fit(fuzz_model, case):
    """fit with one batch holding every sample is one step: the same as
    train_on_batch, or an error that changes nothing."""
    model, initial = fuzz_model
    model.set_weights(initial)
    x, _real, y, sw = case
    iterations = model._net.iterations
    history, err = _call(
        "fit", model.fit, x, y, sample_weight=sw, batch_size=1 << 20, shuffle=False, verbose=0
    )
    valid = _expected_train_case(case)
    if valid is None:
        assert err is not None, f"accepted x {np.shape(x)}, y {y!r}, sample_weight {sw!r}"
        assert _same_weights(model.get_weights(), initial)
        assert model._net.iterations == iterations
        return
    assert err is None, err
    x32, labels = valid
    sw64 = None if sw is None else _as_float32(sw).astype(np.float64).reshape(-1)
    expected_loss, expected = _np_sgd_step(initial, x32.astype(np.float64), labels, sw64, 0.1)
    assert history.history["loss"][0] == pytest.approx(expected_loss, rel=1e-5, abs=1e-6)
    atol = 2e-6 * (1.0 + float(np.abs(x32).max()))
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)


@_settings("evaluate")
@given(train_cases())
def test_fuzz_evaluate(fuzz_model, case):
    model, initial = fuzz_model
    model.set_weights(initial)
    x, _real, y, sw = case
    result, err = _call("evaluate", model.evaluate, x, y, sample_weight=sw, verbose=0)
    assert _same_weights(model.get_weights(), initial)  # evaluate never trains
    valid = _expected_train_case(case)
    if valid is None:
        assert err is not None, f"accepted x {np.shape(x)}, y {y!r}, sample_weight {sw!r}"
        return
    assert err is None, err
    x32, labels = valid
    sw64 = None if sw is None else _as_float32(sw).astype(np.float64).reshape(-1)
    expected_loss, _ = _np_sgd_step(initial, x32.astype(np.float64), labels, sw64, 0.1)
    loss = result[0] if isinstance(result, list) else result
    assert loss == pytest.approx(expected_loss, rel=1e-5, abs=1e-6)


def test_conversion_error_is_numpy_s_own():
    """A failed float32 conversion raises NumPy's exception (here the overflow
    warning made an error), not a bare "Internal error" RuntimeError."""
    import warnings

    big = np.array([1e300, -1.0])
    with warnings.catch_warnings(), np.errstate(over="warn"):
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="overflow"):
            fastnn.ops.relu(big)
        with pytest.raises(RuntimeWarning, match="overflow"):
            fastnn.ops.loss(np.zeros((1, 2)), big[None, :], "mse")
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(fastnn.ops.relu(big), [np.inf, 0.0])


# ----------------------------------------------------------------------------
# matmul / dense: float64 references, tolerance scaled by K


@st.composite
def gemm_operand(draw, rows, cols, bad_p=0.1):
    """(array, kind): kind "real", "bad" (non-numeric dtype) or "rank" (not 2-D)."""
    roll = draw(st.integers(0, 99))
    if roll < round(100 * bad_p):
        dtype = draw(st.sampled_from(BAD_DTYPES))
        return _fill(draw, dtype, (rows, cols), 10.0), "bad"
    if roll < round(100 * bad_p) + 5:
        shape = draw(st.sampled_from([(rows,), (rows, cols, 1), ()]))
        return np.ones(shape, np.float32), "rank"
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64, np.int8, np.int32, np.bool_])))
    values = {
        "f": st.floats(-8, 8, width=32),
        "i": st.integers(-8, 8),
        "b": st.booleans(),
    }[dtype.kind]
    a = _fill(draw, dtype, (rows, cols), 8.0, values=values)
    return draw(layouts(a)), "real"


def _gemm_tolerance(k):
    return 1e-5 * (1 + k) * 64


@_settings("matmul")
@given(st.data())
def test_fuzz_matmul(data):
    m, k, n = (data.draw(st.integers(0, 40), label=name) for name in "mkn")
    ta, tb = data.draw(st.booleans(), label="ta"), data.draw(st.booleans(), label="tb")
    k_b = k if data.draw(st.integers(0, 9), label="match") else k + 1
    a, kind_a = data.draw(gemm_operand(k if ta else m, m if ta else k), label="a")
    b, kind_b = data.draw(gemm_operand(n if tb else k_b, k_b if tb else n), label="b")
    c, err = _call("matmul", fastnn.ops.matmul, a, b, transpose_a=ta, transpose_b=tb)
    if {"bad", "rank"} <= {kind_a, kind_b}:  # either complaint is right
        assert isinstance(err, (TypeError, ValueError)), err
        return
    if "bad" in (kind_a, kind_b):
        assert isinstance(err, TypeError), err
        return
    if "rank" in (kind_a, kind_b):
        assert isinstance(err, ValueError), err
        return
    if k_b != k:
        assert isinstance(err, ValueError) and "(" in str(err), err
        return
    assert err is None, err
    a64 = np.asarray(a, np.float64).astype(np.float32).astype(np.float64)
    b64 = np.asarray(b, np.float64).astype(np.float32).astype(np.float64)
    ref = (a64.T if ta else a64) @ (b64.T if tb else b64)
    assert c.dtype == np.float32 and c.shape == (m, n)
    np.testing.assert_allclose(c, ref, rtol=1e-5, atol=_gemm_tolerance(k))


DENSE_ACTS = {
    None: lambda z: z,
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
}


@_settings("dense")
@given(st.data())
def test_fuzz_dense(data):
    m, k, n = (data.draw(st.integers(0, 30), label=name) for name in "mkn")
    x, kind_x = data.draw(gemm_operand(m, k), label="x")
    w, kind_w = data.draw(gemm_operand(k, n), label="w")
    with_bias = data.draw(st.booleans(), label="bias")
    bias_len = n if data.draw(st.integers(0, 9), label="bias ok") else n + 2
    b = np.linspace(-1, 1, bias_len, dtype=np.float32) if with_bias else None
    act = data.draw(st.sampled_from([*DENSE_ACTS, "softmax_bogus"]), label="activation")
    y, err = _call("dense", fastnn.ops.dense, x, w, b, act)
    flaws = {kind_x, kind_w} - {"real"}
    if len(flaws) + (act == "softmax_bogus") + (with_bias and bias_len != n) > 1:
        assert isinstance(err, (TypeError, ValueError)), err  # either complaint is right
        return
    if "bad" in (kind_x, kind_w):
        assert isinstance(err, TypeError), err
        return
    if "rank" in (kind_x, kind_w) or act == "softmax_bogus" or (with_bias and bias_len != n):
        assert isinstance(err, ValueError), err
        return
    assert err is None, err
    x64 = np.asarray(x, np.float64).astype(np.float32).astype(np.float64)
    w64 = np.asarray(w, np.float64).astype(np.float32).astype(np.float64)
    z = x64 @ w64 + (b.astype(np.float64) if with_bias else 0.0)
    np.testing.assert_allclose(y, DENSE_ACTS[act](z), rtol=1e-5, atol=_gemm_tolerance(k))


# ----------------------------------------------------------------------------
# in-place optimizer updates: one step equals a float64 transcription of Keras 3


def _keras_step(name, p, g, slots, lr):
    """One step (t = 1) of Keras 3's formulas in float64; returns the new param."""
    if name == "sgd":
        return p - lr * g
    if name in ("adam", "adamw"):
        if name == "adamw":
            p = p - p * 0.004 * lr
        m = slots[0] + (g - slots[0]) * 0.1
        v = slots[1] + (g * g - slots[1]) * 0.001
        alpha = lr * math.sqrt(1 - 0.999) / (1 - 0.9)
        return p - alpha * m / (np.sqrt(v) + 1e-7)
    if name == "rmsprop":
        v = 0.9 * slots[0] + 0.1 * g * g
        return p - lr * g / np.sqrt(v + 1e-7)
    if name == "nadam":
        u_1, u_2 = 0.9 * (1 - 0.5 * 0.96), 0.9 * (1 - 0.5 * 0.96**2)
        m = slots[0] + (g - slots[0]) * 0.1
        v = slots[1] + (g * g - slots[1]) * 0.001
        m_hat = u_2 * m / (1 - u_1 * u_2) + (1 - u_1) * g / (1 - u_1)
        return p - m_hat * lr / (np.sqrt(v / (1 - 0.999)) + 1e-7)
    if name == "adamax":
        m = slots[0] + (g - slots[0]) * 0.1
        u = np.maximum(0.999 * slots[1], np.abs(g))
        return p - lr * m / ((1 - 0.9) * (u + 1e-7))
    if name == "lion":
        return p - lr * np.sign(slots[0] * 0.9 + g * 0.1)
    if name == "adadelta":
        acc_g = 0.95 * slots[0] + 0.05 * g * g
        return p - lr * np.sqrt(slots[1] + 1e-7) * g / np.sqrt(acc_g + 1e-7)
    if name == "ftrl":  # l1 = l2 = shrinkage = beta = 0: clip(linear, -0, 0) = 0
        n = slots[0] + g * g
        linear = slots[1] + (g - (np.sqrt(n) - np.sqrt(slots[0])) / lr * p)
        return -linear / (np.sqrt(n) / lr)
    acc = slots[0] + g * g  # adagrad
    return p - lr * g / np.sqrt(acc + 1e-7)


UPDATE_SLOTS = {
    "sgd": 0,
    "adam": 2,
    "adamw": 2,
    "rmsprop": 1,
    "adagrad": 1,
    "nadam": 2,
    "adamax": 2,
    "lion": 1,
    "adadelta": 2,
    "ftrl": 2,
}


def _fuzz_update(name, data):
    n = data.draw(st.integers(0, 300), label="n")
    flaw = data.draw(
        st.sampled_from(["none"] * 6 + ["dtype", "shape", "strided", "readonly", "lr"]),
        label="flaw",
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    param = rng.standard_normal(n).astype(np.float32)
    grad = rng.standard_normal(n).astype(np.float32)
    slots = [np.abs(rng.standard_normal(n)).astype(np.float32) for _ in range(UPDATE_SLOTS[name])]
    if name in ("adagrad", "ftrl"):  # an accumulator starting at 0.1
        slots[0] += np.float32(0.1)
    lr = 0.01
    target = data.draw(st.integers(0, 1 + len(slots)), label="flawed array")
    arrays = [param, grad, *slots]
    if flaw == "dtype":
        arrays[target] = arrays[target].astype(np.float64)
    elif flaw == "shape":
        arrays[target] = np.zeros(n + 1, np.float32)
    elif flaw == "strided" and n > 1:
        buf = np.zeros(2 * n, np.float32)
        buf[::2] = arrays[target]
        arrays[target] = buf[::2]
    elif flaw == "readonly":
        arrays[target] = arrays[target].copy()
        arrays[target].flags.writeable = False
    elif flaw == "lr":
        lr = data.draw(st.sampled_from([-1.0, float("nan"), float("inf")]), label="lr")
    before = [a.copy() for a in arrays]
    fn = getattr(fastnn.ops, f"{name}_update")
    extra = (1,) if name in ("adam", "adamw", "nadam", "adamax") else ()
    _, err = _call(f"{name}_update", fn, *arrays, *extra, learning_rate=lr)
    grad_only_flaw = target == 1 and flaw in ("dtype", "strided", "readonly")
    if flaw == "none" or (flaw == "strided" and n <= 1) or grad_only_flaw:
        # a gradient is only read: any real dtype or layout is accepted
        assert err is None, err
        expected = _keras_step(
            name,
            before[0].astype(np.float64),
            np.asarray(before[1], np.float64),
            [s.astype(np.float64) for s in before[2:]],
            lr,
        )
        np.testing.assert_allclose(arrays[0], expected, rtol=2e-5, atol=1e-6)
        return
    assert isinstance(err, (ValueError, TypeError)), f"{flaw} on array {target}: {err!r}"
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)  # nothing changed


@_settings("sgd_update")
@given(st.data())
def test_fuzz_sgd_update(data):
    _fuzz_update("sgd", data)


@_settings("adam_update")
@given(st.data())
def test_fuzz_adam_update(data):
    _fuzz_update("adam", data)


@_settings("adamw_update")
@given(st.data())
def test_fuzz_adamw_update(data):
    _fuzz_update("adamw", data)


@_settings("rmsprop_update")
@given(st.data())
def test_fuzz_rmsprop_update(data):
    _fuzz_update("rmsprop", data)


@_settings("adagrad_update")
@given(st.data())
def test_fuzz_adagrad_update(data):
    _fuzz_update("adagrad", data)


@_settings("nadam_update")
@given(st.data())
def test_fuzz_nadam_update(data):
    _fuzz_update("nadam", data)


@_settings("adamax_update")
@given(st.data())
def test_fuzz_adamax_update(data):
    _fuzz_update("adamax", data)


@_settings("lion_update")
@given(st.data())
def test_fuzz_lion_update(data):
    _fuzz_update("lion", data)


@_settings("adadelta_update")
@given(st.data())
def test_fuzz_adadelta_update(data):
    _fuzz_update("adadelta", data)


@_settings("ftrl_update")
@given(st.data())
def test_fuzz_ftrl_update(data):
    _fuzz_update("ftrl", data)
