"""`fastnn.ops`'s Keras array ops against `keras.ops` (torch backend): the
values and the result dtypes for float32, float64, int and bool inputs,
Python numbers and lists, on a few shapes."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import ops


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _numpy(value):
    """A Keras result as NumPy (keras.ops.convert_to_numpy; its torch
    backend's np.array(tensor) warns under NumPy 2)."""
    keras = _keras()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return keras.ops.convert_to_numpy(value)


def _same(ours, theirs, rtol=1e-6):
    """Same dtype, shape and values (NaN where Keras has NaN)."""
    theirs = _numpy(theirs)
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.shape == theirs.shape
    if ours.dtype.kind == "f":
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-7)
    else:
        np.testing.assert_array_equal(ours, theirs)


def _compare(name, *args, rtol=1e-6, **kwargs):
    keras = _keras()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's x.T on rank != 2
        theirs = getattr(keras.ops, name)(*args, **kwargs)
    _same(getattr(ops, name)(*args, **kwargs), theirs, rtol)


def _inputs():
    rng = np.random.default_rng(7)
    real = rng.standard_normal((3, 4)) * 2
    return {
        "float32": real.astype(np.float32),
        "float64": real,
        "int32": rng.integers(-5, 6, (3, 4)).astype(np.int32),
        "int64": rng.integers(-5, 6, (2, 3, 2)),
        "uint8": rng.integers(0, 9, (4,)).astype(np.uint8),
        "bool": rng.integers(0, 2, (2, 5)).astype(bool),
        "list": [[1, 2, 3], [4, 0, 1]],
        "float_list": [[0.5, -1.5], [2.0, 3.0]],
        "python_float": 2.5,
        "python_int": 3,
    }


INPUTS = _inputs()
NUMERIC = [k for k in INPUTS if k != "bool"]


_UNARY_CASES = [
    ("argmax", {}),
    ("argmax", {"axis": -1}),
    ("argmax", {"axis": 0, "keepdims": True}),
    ("argmin", {}),
    ("argmin", {"axis": -1}),
    ("mean", {}),
    ("mean", {"axis": -1}),
    ("mean", {"axis": 0, "keepdims": True}),
    ("sum", {}),
    ("sum", {"axis": -1}),
    ("max", {}),
    ("max", {"axis": -1, "keepdims": True}),
    ("min", {}),
    ("min", {"axis": 0}),
    ("sigmoid", {}),
    ("exp", {}),
    ("log", {}),
    ("sqrt", {}),
    ("square", {}),
    ("abs", {}),
    ("negative", {}),
    ("tanh", {}),
    ("floor", {}),
    ("ceil", {}),
    ("isnan", {}),
    ("isinf", {}),
    ("isfinite", {}),
    ("sort", {}),
    ("sort", {"axis": 0}),
    ("sort", {"axis": None}),
    ("argsort", {}),
    ("argsort", {"axis": 0}),
    ("argsort", {"axis": None}),
    ("std", {}),
    ("std", {"axis": -1}),
    ("std", {"axis": 0, "keepdims": True}),
    ("var", {}),
    ("var", {"axis": -1}),
    ("var", {"axis": 0, "keepdims": True}),
    ("logsumexp", {}),
    ("logsumexp", {"axis": -1}),
    ("logsumexp", {"axis": 0, "keepdims": True}),
    ("sign", {}),
    ("log1p", {}),
    ("logical_not", {}),
    ("all", {}),
    ("all", {"axis": -1}),
    ("any", {}),
    ("any", {"axis": 0, "keepdims": True}),
    ("zeros_like", {}),
    ("ones_like", {}),
    ("ones_like", {"dtype": "float64"}),
    ("convert_to_tensor", {}),
    ("convert_to_tensor", {"dtype": "float32"}),
    ("squeeze", {}),
    ("transpose", {}),
    ("expand_dims", {"axis": 0}),
    ("norm", {}),
    ("cast", {"dtype": "int32"}),
    ("cast", {"dtype": "float32"}),
    ("absolute", {}),
    ("sin", {}),
    ("cos", {}),
    ("tan", {}),
    ("arcsin", {}),
    ("arccos", {}),
    ("arctan", {}),
    ("sinh", {}),
    ("cosh", {}),
    ("arcsinh", {}),
    ("arccosh", {}),
    ("arctanh", {}),
    ("log2", {}),
    ("log10", {}),
    ("expm1", {}),
    ("exp2", {}),
    ("reciprocal", {}),
    ("rsqrt", {}),
    ("trunc", {}),
    ("nan_to_num", {}),
    ("signbit", {}),
    ("erf", {}),
    ("prod", {}),
    ("prod", {"axis": -1}),
    ("prod", {"axis": 0, "keepdims": True}),
    ("prod", {"dtype": "float64"}),
    ("amax", {"axis": -1}),
    ("amax", {"axis": 0, "keepdims": True}),
    ("amin", {}),
    ("amin", {"axis": -1}),
    ("cumsum", {}),
    ("cumsum", {"axis": -1}),
    ("cumsum", {"axis": 0, "dtype": "float64"}),
    ("cumprod", {}),
    ("cumprod", {"axis": 0}),
    ("median", {}),
    ("median", {"axis": -1}),
    ("median", {"axis": 0, "keepdims": True}),
    ("count_nonzero", {}),
    ("count_nonzero", {"axis": -1}),
    ("average", {}),
    ("average", {"axis": -1}),
    ("ptp", {"axis": -1}),
    ("ptp", {"axis": 0, "keepdims": True}),
    ("ravel", {}),
    ("copy", {}),
    ("flip", {}),
    ("flip", {"axis": -1}),
    ("roll", {"shift": 2}),
    ("roll", {"shift": -1, "axis": 0}),
    ("tile", {"repeats": 2}),
    ("tile", {"repeats": (2, 1)}),
    ("repeat", {"repeats": 2}),
    ("repeat", {"repeats": 3, "axis": -1}),
    ("moveaxis", {"source": 0, "destination": -1}),
    ("swapaxes", {"axis1": 0, "axis2": -1}),
    ("tril", {}),
    ("triu", {"k": 1}),
    ("diagonal", {}),
    ("trace", {}),
    ("nonzero", {}),
    ("full_like", {"fill_value": 2.7}),
    ("full_like", {"fill_value": 3, "dtype": "float64"}),
    ("take", {"indices": [0, 2, 1]}),
    ("take", {"indices": np.array([[1, 0]]), "axis": 0}),
    ("take_along_axis", {"indices": np.array([1, 0]), "axis": None}),
    ("isclose", {"x2": 1}),
    ("allclose", {"x2": 1.0}),
    ("unique", {}),
]


_NEEDS_2D = ("tril", "triu", "diagonal", "trace")


def _applies(name, kwargs, dtype) -> bool:
    """An axis, a transpose or a norm needs an input with axes."""
    if name in ("negative", "ptp") and dtype == "bool":  # refused by both (torch's; ours below)
        return False
    if name == "count_nonzero" and np.ndim(INPUTS[dtype]) > 2 and "axis" in kwargs:
        return False  # a 2-D result: Keras's is transposed (see below)
    if name in ("sort", "argsort"):  # a scalar has axes -1 and 0 there, as in torch
        return True
    if name in _NEEDS_2D and np.ndim(INPUTS[dtype]) < 2:
        return False  # refused by both (below)
    if name in ("diagonal", "full_like") and not isinstance(INPUTS[dtype], np.ndarray):
        return False  # Keras's torch backend reads x.shape or x.dtype (an AttributeError)
    needs_axes = ("transpose", "norm", "moveaxis", "swapaxes", "take")
    return np.ndim(INPUTS[dtype]) > 0 or not ("axis" in kwargs or name in needs_axes)


@pytest.mark.parametrize(
    "name, kwargs, dtype",
    [
        (name, kwargs, dtype)
        for name, kwargs in _UNARY_CASES
        for dtype in sorted(INPUTS)
        if _applies(name, kwargs, dtype)
    ],
    ids=str,
)
def test_unary_ops_give_keras_values_and_dtypes(name, kwargs, dtype):
    _compare(name, INPUTS[dtype], **kwargs)


@pytest.mark.parametrize("name", ["sort", "argsort"])
def test_sorting_a_scalar_along_a_missing_axis_is_refused(name):
    with pytest.raises(np.exceptions.AxisError, match="axis 1 is out of bounds for a 0-d"):
        getattr(ops, name)(np.float32(2.0), axis=1)
    with pytest.raises(np.exceptions.AxisError, match="axis -2"):
        getattr(ops, name)(3, axis=-2)


@pytest.mark.parametrize("dtype", ["float32", "float64", "list", "int32", "python_float"])
def test_round_gives_keras_values_and_dtypes(dtype):
    x = INPUTS[dtype]
    _compare("round", x)
    if np.ndim(x):
        _compare("round", np.asarray(x) * 10.37, decimals=1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [-1, 0, 1, None, (0, 1)], ids=str)
def test_softmax_gives_keras_values(dtype, axis):
    _compare("softmax", INPUTS[dtype], axis=axis)


def test_softmax_and_sigmoid_of_ints_are_float32_where_keras_refuses():
    x = INPUTS["int32"]
    assert ops.softmax(x).dtype == np.float32
    np.testing.assert_allclose(ops.softmax(x), ops.softmax(x.astype(np.float32)))
    assert ops.sigmoid(x).dtype == np.float32


def test_softmax_over_an_axis_of_1_warns_as_keras():
    with pytest.warns(UserWarning, match="This axis has size 1"):
        ops.softmax(np.ones((2, 1), np.float32))


def test_sigmoid_exp_log_sqrt_at_the_edges_as_keras():
    x = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    for name in ("sigmoid", "exp", "log", "sqrt"):
        _compare(name, x)
        _compare(name, x.astype(np.float32))


PAIRS = [
    ("float32", "float32"),
    ("float32", "float64"),
    ("int32", "float32"),
    ("int64", "int32"),
    ("float32", "python_int"),
    ("int32", "python_int"),
    ("int32", "python_float"),
    ("float64", "python_float"),
    ("int64", "python_float"),
    ("bool", "int32"),
    ("list", "list"),
    ("python_int", "python_int"),
]


def _pair(a, b):
    """Inputs of the two kinds, of shapes that broadcast."""
    x1, x2 = INPUTS[a], INPUTS[b]
    if np.ndim(x1) and np.ndim(x2) and np.shape(x1) != np.shape(x2):
        x2 = np.resize(np.asarray(x2), np.shape(x1))
    return x1, x2


@pytest.mark.parametrize("kinds", PAIRS, ids=str)
@pytest.mark.parametrize(
    "name",
    [
        "maximum",
        "minimum",
        "equal",
        "not_equal",
        "greater",
        "greater_equal",
        "less",
        "less_equal",
        "logical_and",
        "logical_or",
        "add",
        "subtract",
        "multiply",
        "divide",
        "true_divide",
        "power",
    ],
)
def test_binary_ops_give_keras_values_and_dtypes(name, kinds):
    x1, x2 = _pair(*kinds)
    if name == "power":  # small exponents, none negative for integer bases
        x2 = np.abs(np.asarray(x2)) % 3 if np.ndim(x2) else abs(x2) % 3
        x1 = np.abs(np.asarray(x1)) if np.ndim(x1) else abs(x1)
    _compare(name, x1, x2)


_EDGES = np.array([-np.inf, -1e30, -1, -0.5, -0.0, 0.0, 1e-30, 0.5, 1, 2, 1e30, np.inf, np.nan])
_NOT_ELEMENTWISE = (
    "argmax", "argmin", "mean", "sum", "max", "min", "std", "var", "logsumexp", "all", "any",
    "sort", "argsort", "transpose", "norm", "squeeze", "convert_to_tensor", "prod", "amin",
    "cumsum", "cumprod", "median", "count_nonzero", "average", "ravel", "flip", "nonzero",
    "unique", *_NEEDS_2D,
)  # fmt: skip


@pytest.mark.parametrize(
    "name",
    sorted({name for name, kwargs in _UNARY_CASES if not kwargs} - set(_NOT_ELEMENTWISE)),
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elementwise_ops_at_the_edges_as_keras(name, dtype):
    """0, -0, ±1, tiny and huge values, ±inf and NaN; and an empty array."""
    _compare(name, _EDGES.astype(dtype))
    _compare(name, np.zeros((0, 3), dtype))


def test_nan_to_num_takes_keras_replacements():
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    _compare("nan_to_num", x, nan=-1.0, posinf=9.0, neginf=-9.0)
    _compare("nan_to_num", x.astype(np.float64), posinf=1e300)


def test_erf_without_scipy_is_the_same(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    x = np.linspace(-6, 6, 101)
    with_scipy = ops.erf(x)
    monkeypatch.setattr(builtins, "__import__", no_scipy)
    np.testing.assert_allclose(ops.erf(x), with_scipy, rtol=1e-15, atol=0)
    _compare("erf", _EDGES)
    with pytest.raises(TypeError, match="complex"):
        ops.erf(np.array([1j]))


_NONZERO_DIVISOR = ("mod", "fmod", "floor_divide")


MORE_PAIRS = [*PAIRS, ("uint8", "python_int"), ("float64", "float64")]


@pytest.mark.parametrize("kinds", MORE_PAIRS, ids=str)
@pytest.mark.parametrize(
    "name", ["arctan2", "logaddexp", "hypot", "mod", "fmod", "floor_divide", "logical_xor"]
)
def test_binary_math_gives_keras_values_and_dtypes(name, kinds):
    x1, x2 = _pair(*kinds)
    if name in _NONZERO_DIVISOR:  # an integer division by zero raises: tested below
        x2 = np.where(np.asarray(x2) == 0, 3, x2) if np.ndim(x2) else x2 or 3
        if not np.ndim(x2) and not isinstance(INPUTS[kinds[1]], np.ndarray):
            x2 = type(INPUTS[kinds[1]])(x2)
    _compare(name, x1, x2)


@pytest.mark.parametrize("name", _NONZERO_DIVISOR)
def test_integer_division_by_zero_raises_as_keras(name):
    keras = _keras()
    a, b = np.array([3, -7], np.int32), np.array([2, 0], np.int32)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(keras.ops, name)(a, b)
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        getattr(ops, name)(a, b)
    # floats: inf and NaN, as Keras
    _compare(name, np.array([3.0, -7.0, 0.0, np.inf, 2.5], np.float32), np.float32(0.0))
    _compare(name, np.array([3.0, -7.0, 0.0, -5.5, 2.5], np.float32), np.float32(-2.0))


def test_binary_math_of_two_bool_arrays_as_keras():
    t = np.array([True, False, True])
    f = np.array([True, True, False])
    for name in ("arctan2", "logaddexp", "logical_xor"):
        _compare(name, t, f)
    for name in ("mod", "fmod"):  # as int32 (False is a division by zero)
        _compare(name, t, np.ones(3, bool))
    for name in ("floor_divide", "hypot"):  # torch has no kernel for bools: Keras raises
        with pytest.raises(TypeError, match="bool"):
            getattr(ops, name)(t, f)


@pytest.mark.parametrize("dtype", sorted(INPUTS))
def test_amax_amin_ptp_of_all_values_as_keras(dtype):
    """Keras's torch backend reduces all values to a scalar when `axis` is
    None even with ``keepdims=True``; fastnn keeps the axes then (NumPy's and
    Keras's other backends' shape), with the same value."""
    for name in ("amax", "amin", "ptp"):
        if name == "ptp" and dtype == "bool":
            with pytest.raises(TypeError, match="bool"):
                ops.ptp(INPUTS[dtype])
            continue
        _compare(name, INPUTS[dtype])
        ours = getattr(ops, name)(INPUTS[dtype], keepdims=True)
        assert ours.shape == (1,) * np.ndim(INPUTS[dtype])
        _same(ours.reshape(()), getattr(_keras().ops, name)(INPUTS[dtype], keepdims=True))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize(
    "q", [0.0, 0.25, 0.5, 1.0, [0.1, 0.9], np.array([0.3, 0.75, 0.0])], ids=str
)
@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_and_percentile_give_keras_values_and_dtypes(dtype, q, method):
    x = INPUTS[dtype]
    _compare("quantile", x, q, method=method)
    _compare("quantile", x, q, axis=-1, method=method, keepdims=True)
    _compare("quantile", x, q, axis=0, method=method)
    _compare("percentile", x, np.asarray(q) * 100, axis=-1, method=method)


def test_quantile_edges_as_keras():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]], np.float32)
    _compare("quantile", x, 0.5, axis=-1)
    _compare("median", x, axis=1, keepdims=True)
    _compare("median", INPUTS["int64"], axis=(0, 2))
    _compare("median", np.float16([1.0, 2.0, 4.0, 8.0]))
    _compare("quantile", INPUTS["float32"], 0.5, axis=())
    for bad in (1.5, -0.1):
        with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
            ops.quantile(x, bad)
    with pytest.raises(ValueError, match="empty"):
        ops.median(np.zeros((0, 3)), axis=1)
    with pytest.raises(ValueError, match="scalar or 1-D"):
        ops.quantile(x, [[0.5]])
    with pytest.raises(ValueError, match="method must be one of"):
        ops.quantile(x, 0.5, method="inverted_cdf")


def test_scans_and_products_as_keras():
    _compare("cumsum", np.array([200, 100, 50], np.uint8))  # wraps in uint8, as Keras
    _compare("cumsum", np.array([[1.5, 2.0], [3.0, 4.0]], np.float16), axis=0)
    _compare("cumprod", INPUTS["bool"], axis=1)
    _compare("cumsum", INPUTS["int32"], dtype="float32")
    _compare("prod", np.array([2**20, 2**20], np.int64))  # int32, wrapped
    _compare("prod", INPUTS["int64"], axis=(0, 2))
    _compare("prod", INPUTS["float32"], axis=[0, 1], keepdims=True)
    _compare("prod", np.float16([1.5, 2.0, 3.0]))
    _compare("prod", INPUTS["int32"], axis=())
    _compare("prod", np.zeros((0, 3), np.float32), axis=0)
    _compare("cumsum", np.zeros((0, 3), np.float32), axis=0)
    _compare("amax", INPUTS["float32"], axis=())
    _compare("count_nonzero", np.array([0.0, np.nan, -0.0, 2.0]))
    _compare("count_nonzero", INPUTS["int32"], axis=())
    _compare("count_nonzero", INPUTS["int64"], axis=(0, 2))


def test_count_nonzero_keeps_numpys_axis_order():
    """Keras's torch backend transposes ``count_nonzero``'s result (``.T``):
    a 2-D result comes back as its transpose. fastnn keeps NumPy's (and
    Keras's other backends') order."""
    x = INPUTS["int64"]  # (2, 3, 2)
    ours = ops.count_nonzero(x, axis=0)
    np.testing.assert_array_equal(ours, np.count_nonzero(x, axis=0))
    _same(ours.T, _keras().ops.count_nonzero(x, axis=0))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool", "list"])
def test_average_with_weights_as_keras(dtype):
    x = np.asarray(INPUTS[dtype])
    rng = np.random.default_rng(5)
    weights = rng.uniform(0.5, 2, x.shape[-1])
    _compare("average", x, axis=-1, weights=weights.astype(np.float32))
    _compare("average", x, axis=-1, weights=weights)
    _compare("average", x, axis=1, weights=rng.integers(1, 4, x.shape).astype(np.int32))
    _compare("average", x[0], weights=weights)
    _compare("average", x, axis=-1, weights=np.zeros(x.shape[-1]))  # NaN or inf, as Keras


def test_average_with_1d_weights_along_another_axis_is_numpys():
    """Keras's torch backend broadcasts 1-D weights against the last axis
    (an error for another axis); fastnn follows NumPy's ``average``."""
    x = INPUTS["float32"]  # (3, 4)
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ops.average(x, axis=0, weights=w), np.average(x, 0, w), 1e-6)
    with pytest.raises(ValueError, match="3 weights for an axis of 4"):
        ops.average(x, axis=1, weights=w)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "axes, keepdims", [(0, False), ([0], True), ((0, 1), False), (-1, True), ([1, 0], False)]
)
def test_moments_gives_keras_values_and_dtypes(dtype, axes, keepdims):
    keras = _keras()
    x = INPUTS[dtype]
    ours = ops.moments(x, axes, keepdims=keepdims)
    theirs = keras.ops.moments(x, axes, keepdims=keepdims)
    # Keras computes E[x²] - E[x]² in the input's dtype: within float32's rounding of E[x²]
    for a, b in zip(ours, theirs):
        _same(a, b, rtol=2e-6)


def test_moments_of_ints_float16_and_all_axes():
    x = INPUTS["int32"]
    mean, variance = ops.moments(x, axes=None)  # Keras's torch backend refuses ints and None
    assert mean.dtype == variance.dtype == np.float32
    np.testing.assert_allclose([mean, variance], [x.mean(), x.var()], rtol=1e-6)
    keras = _keras()
    half = np.float16([1.0, 2.0, 300.0, -60000.0])  # its variance clipped to float16's max
    for ours, theirs in zip(ops.moments(half, 0), keras.ops.moments(half, 0)):
        _same(ours, theirs, rtol=1e-3)
    with pytest.raises(NotImplementedError, match="synchronized"):
        ops.moments(x, 0, synchronized=True)


def _compare_each(name, *args, rtol=1e-6, **kwargs):
    """`_compare` for ops that give a list or tuple of arrays."""
    keras = _keras()
    ours, theirs = getattr(ops, name)(*args, **kwargs), getattr(keras.ops, name)(*args, **kwargs)
    assert type(ours) is type(theirs) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        _same(a, b, rtol)


@pytest.mark.parametrize("kinds", MORE_PAIRS, ids=str)
@pytest.mark.parametrize("name", ["outer", "isclose", "allclose", "hstack", "vstack"])
def test_pairwise_shape_ops_give_keras_values_and_dtypes(name, kinds):
    x1, x2 = _pair(*kinds)
    if name in ("hstack", "vstack"):
        if np.ndim(x1) == np.ndim(x2):  # (an array and a number do not stack)
            _compare(name, [x1, x2])
    else:
        _compare(name, x1, x2)


def test_isclose_tolerances_and_nan_as_keras():
    a = np.array([1.0, 1.001, np.nan, np.inf, -np.inf, 0.0], np.float32)
    b = np.array([1.0, 1.0, np.nan, np.inf, np.inf, 1e-9], np.float32)
    for kwargs in ({}, {"rtol": 1e-2}, {"equal_nan": True}, {"atol": 0.0}):
        _compare("isclose", a, b, **kwargs)
        _compare("allclose", a, b, **kwargs)
    _compare("isclose", np.array([1, 2], np.int32), 1.0000001)  # float32: equal


@pytest.mark.parametrize(
    "subscripts, kinds",
    [
        ("ij,jk->ik", ("float32", "float32")),
        ("ij,kj->ik", ("int32", "int32")),
        ("ij,kj->ik", ("uint8", "uint8")),
        ("ij,kj->ik", ("int8", "int8")),
        ("ij,kj", ("float64", "float64")),
        ("ij->i", ("int32",)),
        ("ij->i", ("uint8",)),
        ("ij->ji", ("int64",)),
        ("ij->ij", ("bool",)),
        ("ii", ("int32",)),
        ("ij->", ("float32",)),
        ("...j,kj->...k", ("float32", "float32")),
    ],
    ids=str,
)
def test_einsum_gives_keras_values_and_dtypes(subscripts, kinds):
    rng = np.random.default_rng(9)
    shapes = {"ii": [(3, 3)]}.get(subscripts, [(3, 3), (3, 3)])
    operands = [
        (rng.integers(-3, 4, shape) if kind != "bool" else rng.integers(0, 2, shape)).astype(
            kind if kind != "bool" else bool
        )
        if "int" in kind or kind == "bool"
        else rng.standard_normal(shape).astype(kind)
        for kind, shape in zip(kinds, shapes * 2)
    ]
    _compare("einsum", subscripts, *operands, rtol=2e-6)


def test_einsum_of_mixed_dtypes_promotes_where_torch_refuses():
    x = np.ones((2, 2), np.float32)
    out = ops.einsum("ij,jk->ik", x, np.ones((2, 2), np.int32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, 2 * x)


@pytest.mark.parametrize(
    "axes", [0, 1, 2, ([1], [0]), ((1, 0), (0, 1)), (1, 0), ([0, 1], [1, 0])], ids=str
)
@pytest.mark.parametrize(
    "kinds", [("float32", "float32"), ("int32", "float64"), ("int32", "int32")]
)
def test_tensordot_gives_keras_values_and_dtypes(axes, kinds):
    rng = np.random.default_rng(4)
    a = rng.integers(-4, 5, (3, 3)).astype(kinds[0])
    b = (rng.standard_normal((3, 3)) * 3).astype(kinds[1])
    _compare("tensordot", a, b, axes=axes, rtol=2e-6)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((0, 1), {}),
        ((0, 1, 5), {}),
        ((-2.5, 3), {"num": 7}),
        ((0, 10, 4), {"dtype": "int32"}),
        ((0, 1, 4), {"endpoint": False}),
        ((1, 0, 6), {"dtype": "float64"}),
        ((np.float64(0), np.float64(1), 3), {}),
        ((np.array([0.0, 1.0]), np.array([1.0, 3.0]), 3), {}),
        ((0, 1, 0), {}),
        ((2, 5, 1), {}),
    ],
    ids=str,
)
def test_linspace_gives_keras_values_and_dtypes(args, kwargs):
    _compare("linspace", *args, **kwargs)
    keras = _keras()
    ours = ops.linspace(*args, **kwargs, retstep=True)
    theirs = keras.ops.linspace(*args, **kwargs, retstep=True)
    _same(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], _numpy(theirs[1]))


def test_linspace_takes_numpys_axis():
    out = ops.linspace(np.array([0.0, 1.0]), np.array([1.0, 3.0]), 3, axis=1)
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.0], [1.0, 2.0, 3.0]])
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("eye", (3,), {}),
        ("eye", (2, 4), {"k": 1}),
        ("eye", (4, 2), {"k": -1, "dtype": "int32"}),
        ("eye", (3,), {"k": None}),
        ("identity", (3,), {}),
        ("identity", (2,), {"dtype": "bool"}),
        ("tri", (3,), {}),
        ("tri", (3, 4), {"k": 1}),
        ("tri", (4, 2), {"k": -1, "dtype": "int8"}),
    ],
    ids=str,
)
def test_constructors_give_keras_values_and_dtypes(name, args, kwargs):
    _compare(name, *args, **kwargs)


def test_empty_has_keras_shape_and_dtype():
    keras = _keras()
    for args in (((2, 3),), ((4,), "int32"), ((0, 2), "float64")):
        ours, theirs = ops.empty(*args), _numpy(keras.ops.empty(*args))
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype


@pytest.mark.parametrize("kind", ["float32", "int32", "bool", "uint8"])
def test_indexing_ops_give_keras_values(kind):
    x = np.arange(24).reshape(2, 3, 4).astype(kind)
    _compare("take", x, np.array([[2, -1], [0, 1]]), axis=-1)
    _compare("take", x, [-2, 1], axis=1)
    _compare("take", x[0], [2, -3], axis=0)
    _compare("take", x, np.array([3.7, 0.2]), axis=2)  # float indices truncate, as torch's
    idx = np.array([[[3, 0, -1, 1]]])
    _compare("take_along_axis", x, idx, axis=-1)
    _compare("take_along_axis", x, np.argsort(x, axis=1), axis=1)
    _compare("take_along_axis", x, np.array([[[1]], [[0]]]), axis=1)  # broadcast
    _compare("tril", x, k=-1)
    _compare("triu", x, k=2)
    _compare("diagonal", x, offset=1, axis1=1, axis2=2)
    _compare("diagonal", x, offset=-1, axis1=-1, axis2=0)
    _compare("trace", x, axis1=1, axis2=2)
    _compare("trace", x, offset=1, axis1=0, axis2=2)
    _compare("diag", x[0])
    _compare("diag", x[0], k=-1)
    _compare("diag", x[0, 0], k=2)
    _compare("nonzero", x)
    _compare("nonzero", x.reshape(-1))
    _compare("nonzero", np.asarray(x[0, 0, 1]))
    _compare("nonzero", np.zeros((0, 2), kind))
    _compare("roll", x, (1, -2), axis=(0, 2))
    _compare("flip", x, axis=(0, 2))
    _compare("tile", x, (2, 1, 1, 2))
    _compare("repeat", x, 2, axis=1)
    # (Keras's torch backend fails on a list of counts: "Invalid dtype: object")
    np.testing.assert_array_equal(ops.repeat(x[0], [1, 0, 2], 0), np.repeat(x[0], [1, 0, 2], 0))
    _compare("moveaxis", x, [0, 1], [-1, -2])
    _compare("full_like", x, 7, dtype="float64")
    _compare("full_like", x, np.array([1, 2, 3, 4]))
    _compare_each("split", x, 2, axis=-1)
    _compare_each("split", x, [1, 2], axis=1)
    _compare_each("split", x, [1, 3], axis=2)
    for name in ("trace", "diagonal", "tril", "triu"):
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            getattr(ops, name)(x[0, 0])
    with pytest.raises(ValueError, match="1-D or 2-D"):
        ops.diag(x)
    with pytest.raises(ValueError, match="not divisible"):
        ops.split(x, 2, axis=1)
    for bad, axis in ((np.float32(1.0), 0), (x, 3), (x, -4)):  # (Keras: an IndexError)
        with pytest.raises(ValueError, match="out of bounds"):
            ops.split(bad, 1, axis=axis)
    with pytest.raises(IndexError):
        ops.take(x, [3], axis=1)


def test_take_with_negative_indices_of_the_flattened_array_counts_from_its_end():
    """Keras's torch backend adds ``x.shape[0]`` (not ``x.size``) to a
    negative index of the flattened array; fastnn counts from the end of the
    flattened array, as NumPy's and Keras's other backends."""
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(ops.take(x, [-1, 0]), [11.0, 0.0])
    np.testing.assert_array_equal(ops.take_along_axis(x, np.array([-1, 2])), [11.0, 2.0])


def test_size_and_ndim_as_keras():
    keras = _keras()
    for x in (INPUTS["float32"], INPUTS["int64"], np.zeros((0, 3))):
        _same(ops.size(x), keras.ops.size(x))
        assert ops.ndim(x) == keras.ops.ndim(x) and type(ops.ndim(x)) is int
    assert ops.size([[1, 2, 3]]) == 3  # Keras's torch backend reads x.shape
    assert ops.size(np.float32(2.0)).dtype == np.int64  # Keras's: the product of no dims, float32


@pytest.mark.parametrize(
    "x",
    [
        np.array([3, 1, 3, 2, 1]),
        np.array([[1, 2], [1, 2], [0, 1]], np.int32),
        np.array([3.0, 1.0, np.nan, 2.0, np.nan, 1.0], np.float32),
        [3, 1, 3],
        np.array([True, False, True]),
    ],
    ids=["int64", "rows", "nan", "list", "bool"],
)
def test_unique_gives_keras_values_and_dtypes(x):
    _compare("unique", x)
    if np.ndim(x) == 1:  # (Keras's torch backend fails at return_index of a 2-D x)
        _compare_each("unique", x, return_index=True, return_inverse=True, return_counts=True)
    _compare_each("unique", x, return_inverse=True, return_counts=True)
    _compare_each("unique", x, return_counts=True)
    _compare_each("unique", x, return_inverse=True)
    _compare("unique", x, size=2)
    _compare_each("unique", x, size=6, fill_value=-1, return_counts=True)
    if np.ndim(x) == 2:
        _compare_each("unique", x, axis=0, return_counts=True, return_index=True)


@pytest.mark.parametrize(
    "pad_width",
    [((1, 2),), ((1, 0), (0, 2)), [(2, 1), (1, 1)], ((0, 0), (3, 0))],
    ids=str,
)
@pytest.mark.parametrize("kind", ["float32", "float64", "int32", "uint8", "bool"])
def test_pad_gives_keras_values_and_dtypes(pad_width, kind):
    x = np.arange(12).reshape(3, 4).astype(kind)
    if len(pad_width) == 1:
        x = x[0]
    _compare("pad", x, pad_width)
    _compare("pad", x, pad_width, constant_values=2.7 if kind != "bool" else True)
    if kind != "bool":  # (Keras's torch backend pads bools through float32 and fails)
        _compare("pad", x, pad_width, mode="reflect")


def test_pad_symmetric_and_pad_width_shortcuts_are_numpys():
    """Keras documents ``"symmetric"`` as NumPy's (the edge value mirrored
    too) and an int or one pair as the widths of every axis; its torch
    backend pads the edge value (``"replicate"``) and only the last axis."""
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(
        ops.pad(x, ((1, 0), (0, 2)), mode="symmetric"),
        np.pad(x, ((1, 0), (0, 2)), mode="symmetric"),
    )
    assert ops.pad(x, 1).shape == (4, 5) and ops.pad(x, (1, 2)).shape == (5, 6)
    with pytest.raises(ValueError, match="mode must be one of"):
        ops.pad(x, 1, mode="wrap")
    with pytest.raises(ValueError, match="constant_values"):
        ops.pad(x, 1, mode="reflect", constant_values=1.0)


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_gives_keras_values_and_dtypes(side):
    seq = np.array([1.0, 2.0, 2.0, 3.0, 5.0], np.float32)
    _compare("searchsorted", seq, np.array([0.0, 2.0, 2.5, 9.0], np.float32), side=side)
    _compare("searchsorted", seq, np.float32(2.0), side=side)
    _compare("searchsorted", seq.astype(np.int32), np.array([[1, 4], [6, 2]], np.int32), side=side)
    _compare("searchsorted", [1, 3, 5], [3], side=side)
    with pytest.raises(ValueError, match="1-D"):
        ops.searchsorted(np.ones((2, 2)), 1.0)


_ACTIVATIONS = [
    ("log_sigmoid", {}),
    ("silu", {}),
    ("swish", {}),
    ("gelu", {}),
    ("gelu", {"approximate": False}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("selu", {}),
    ("celu", {}),
    ("celu", {"alpha": 2.0}),
    ("softplus", {}),
    ("softsign", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.01}),
    ("hard_sigmoid", {}),
    ("hard_silu", {}),
    ("hard_swish", {}),
    ("relu6", {}),
    ("hard_tanh", {}),
    ("soft_shrink", {}),
    ("soft_shrink", {"threshold": 1.0}),
    ("hard_shrink", {}),
    ("hard_shrink", {"threshold": 0.2}),
    ("sparse_plus", {}),
    ("sparse_sigmoid", {}),
    ("log_softmax", {}),
    ("log_softmax", {"axis": 0}),
    ("log_softmax", {"axis": None}),
    ("normalize", {}),
    ("normalize", {"axis": 0, "order": 1}),
    ("normalize", {"order": 3, "epsilon": 1e-3}),
]
_FLOATS = ["float32", "float64", "float_list", "python_float"]


@pytest.mark.parametrize("name, kwargs", _ACTIVATIONS, ids=str)
@pytest.mark.parametrize("dtype", _FLOATS)
def test_activations_give_keras_values_and_dtypes(name, kwargs, dtype):
    if dtype == "python_float" and kwargs.get("axis") == 0:
        pytest.skip("a 0-d input has no axis 0")
    exact_gelu32 = name == "gelu" and kwargs and dtype in ("float32", "float_list")
    if exact_gelu32:
        _exact_gelu_as_keras(INPUTS[dtype], kwargs)
    else:
        _compare(name, INPUTS[dtype], **kwargs)
    x = _EDGES.astype(np.float32 if dtype != "float64" else np.float64)
    if name == "gelu" and kwargs and x.dtype == np.float32:
        # Keras's torch backend's float32 kernel gives NaN at +inf; fastnn inf (x * Phi(x))
        assert ops.gelu(x, **kwargs)[x == np.inf] == np.inf
        x = x[x != np.inf]
    if name not in ("log_softmax", "normalize"):  # (reductions: NaN and inf spread)
        _compare(name, x, **kwargs)
    x = np.linspace(-30, 30, 121).astype(x.dtype)
    if name == "gelu" and kwargs and x.dtype == np.float32:
        _exact_gelu_as_keras(x, kwargs)
    else:
        _compare(name, x, **kwargs)


def _exact_gelu_as_keras(x, kwargs):
    """Exact GELU of float32 values: within 2 ulps of float64 for fastnn (and
    as Keras's, 0 below about x = -9, where x * Phi(x) is under x * 2**-24),
    and as close to Keras's as Keras's own float32 kernel allows. Its erf
    (torch's vectorized one) is rounded in float32 and added to 1: below x = -3
    its values are off by a few ulps of 1 times x / 2 (absolute), and on an
    AVX2-only CPU (torch's AVX2 erf) by up to 40 ulps elsewhere too (session
    19: relative 3.2e-6 at x = -2.1)."""
    ours, theirs = ops.gelu(x, **kwargs), _numpy(_keras().ops.gelu(x, **kwargs))
    assert ours.dtype == theirs.dtype == np.float32
    x64 = np.asarray(x, np.float64)
    exact = x64 * 0.5 * np.vectorize(math.erfc)(-x64 / math.sqrt(2.0))
    assert np.all(np.abs(ours - exact) <= 2.4e-7 * np.abs(exact) + np.abs(x64) * 2**-24)
    assert np.all(np.abs(ours - theirs) <= 1e-5 * np.abs(theirs) + np.abs(x64) * 2**-22)


@pytest.mark.parametrize("name, kwargs", _ACTIVATIONS, ids=str)
def test_activations_of_float16_as_keras(name, kwargs):
    """Keras's torch backend computes float16 in float16 (rounding at each
    step); fastnn in float64, rounded once: equal to float16's precision."""
    _compare(name, np.linspace(-8, 8, 33).astype(np.float16), rtol=2e-3, **kwargs)


@pytest.mark.parametrize("name, kwargs", _ACTIVATIONS, ids=str)
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool", "list", "python_int"])
def test_activations_of_ints_give_float32_where_keras_refuses_most(name, kwargs, dtype):
    """Keras's torch backend has no integer kernel for most activations
    ("not implemented for 'Int'"); fastnn gives them float32, as `softmax`.
    Where Keras computes them (softsign, relu6, normalize), the same."""
    x = INPUTS[dtype]
    if name in ("softsign", "normalize") and dtype != "bool":
        _compare(name, x, **kwargs)
    elif name == "relu6":  # ints keep their dtype, as Keras; bools are refused
        if dtype == "bool":
            with pytest.raises(TypeError, match="bool"):
                ops.relu6(x)
        else:
            _compare(name, x)
    elif np.ndim(x) or kwargs.get("axis") != 0:
        ours = getattr(ops, name)(x, **kwargs)
        assert ours.dtype == np.float32
        expected = getattr(ops, name)(np.asarray(x, np.float32), **kwargs)
        np.testing.assert_array_equal(ours, expected)


def test_glu_gives_keras_values():
    x = INPUTS["float32"]
    _compare("glu", x)
    _compare("glu", x, axis=0) if x.shape[0] % 2 == 0 else None
    _compare("glu", INPUTS["float64"].reshape(4, 3), axis=0)
    _compare("glu", np.float16(x), rtol=2e-3)
    with pytest.raises(ValueError, match="even length"):
        ops.glu(np.ones(3, np.float32))
    assert ops.glu(np.ones((2, 4), np.int32)).dtype == np.float32


def test_normalize_edges_as_keras():
    _compare("normalize", np.zeros((2, 3), np.float32))
    _compare("normalize", np.float32(3.0))
    _compare("normalize", np.array([[3, 4]]), order=1)
    with pytest.raises(ValueError, match="int >= 1"):
        ops.normalize(np.ones(3), order=0)
    with pytest.raises(ValueError, match="int >= 1"):
        ops.normalize(np.ones(3), order=2.0)


@pytest.mark.parametrize(
    "x, kwargs",
    [
        (np.array([[0, 2], [1, 1]]), {"num_classes": 4}),
        (np.array([0, 2, 2]), {"num_classes": 3}),
        (np.array([[0, 2], [1, 1]], np.int32), {"num_classes": 3, "dtype": "int32"}),
        (np.array([[0, -1]]), {"num_classes": 3}),
        ([[1.0, 2.0]], {"num_tokens": 3}),
        (np.array([[[0, 1], [2, 2]]]), {"num_classes": 3}),
    ],
    ids=str,
)
def test_multi_hot_gives_keras_values_and_dtypes(x, kwargs):
    _compare("multi_hot", x, **kwargs)


def test_multi_hot_needs_num_classes():
    with pytest.raises(ValueError, match="num_classes"):
        ops.multi_hot([0, 1])


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_in_top_k_gives_keras_values(k, dtype):
    rng = np.random.default_rng(1)
    predictions = rng.integers(0, 4, (12, 5)).astype(dtype)  # ties
    targets = rng.integers(0, 5, 12)
    _compare("in_top_k", targets, predictions, k)
    _compare("in_top_k", list(targets), predictions, k)


def test_in_top_k_checks_its_arguments():
    with pytest.raises(ValueError, match="out of range"):
        ops.in_top_k([5], [[0.1, 0.9]], 1)
    with pytest.raises(ValueError, match="batch"):
        ops.in_top_k([[0]], [[0.1, 0.9]], 1)


def _probabilities(shape, dtype, rng):
    p = rng.uniform(0.01, 1, shape)
    return (p / p.sum(-1, keepdims=True)).astype(dtype)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_crossentropies_give_keras_values_and_dtypes(from_logits, dtype):
    rng = np.random.default_rng(2)
    logits = (rng.standard_normal((6, 4)) * 3).astype(dtype)
    output = logits if from_logits else _probabilities((6, 4), dtype, rng)
    labels = rng.integers(0, 4, 6)
    hot = np.eye(4, dtype=dtype)[labels]
    binary = rng.integers(0, 2, (6, 4)).astype(dtype)
    _compare("binary_crossentropy", binary, output, from_logits=from_logits)
    _compare("binary_crossentropy", binary * 0.8 + 0.1, output, from_logits=from_logits)
    _compare("categorical_crossentropy", hot, output, from_logits=from_logits)
    _compare("categorical_crossentropy", hot.T, output.T, from_logits=from_logits, axis=0)
    _compare("categorical_crossentropy", hot * 0.9 + 0.025, output, from_logits=from_logits)
    _compare("sparse_categorical_crossentropy", labels, output, from_logits=from_logits)
    _compare("sparse_categorical_crossentropy", labels[:, None], output, from_logits=from_logits)
    _compare("sparse_categorical_crossentropy", labels, output.T, from_logits=from_logits, axis=0)
    _compare("sparse_categorical_crossentropy", labels[0], output[0], from_logits=from_logits)
    _compare(
        "sparse_categorical_crossentropy", labels.astype(dtype), output, from_logits=from_logits
    )
    _compare("categorical_crossentropy", hot.astype(np.int32), output, from_logits=from_logits)


def test_crossentropies_at_the_edges_as_keras():
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.5], np.float32)
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.5], np.float32)  # clipped to [1e-7, 1 - 1e-7]
    _compare("binary_crossentropy", t, p)
    _compare(
        "binary_crossentropy", t, np.array([-100, 100, 0, 30, -0.5], np.float32), from_logits=True
    )
    _compare("categorical_crossentropy", np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32))
    big = np.array([[1000.0, -1000.0, 0.0]], np.float32)
    _compare(
        "categorical_crossentropy", np.array([[0.0, 1.0, 0.0]], np.float32), big, from_logits=True
    )
    _compare("sparse_categorical_crossentropy", [1], big, from_logits=True)
    _compare("binary_crossentropy", [0.0, 1.0], [0.3, 0.8])


def test_crossentropies_check_shapes_and_labels():
    with pytest.raises(ValueError, match="same shape"):
        ops.binary_crossentropy(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="same shape"):
        ops.categorical_crossentropy(np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="until the last"):
        ops.sparse_categorical_crossentropy(np.ones(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="outside"):
        ops.sparse_categorical_crossentropy([3], np.ones((1, 3)))


def test_mixed_crossentropy_dtypes_promote_where_torch_refuses():
    """Keras's torch backend needs target and output of one float dtype in
    binary_crossentropy ("Found dtype Int but expected Float"); fastnn
    promotes them (ints as float32), as its categorical_crossentropy does."""
    out = ops.binary_crossentropy(np.array([0, 1], np.int32), np.array([0.2, 0.9], np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-np.log(0.8), -np.log(0.9)], rtol=1e-6)
    assert ops.binary_crossentropy([0.0], np.array([0.5])).dtype == np.float64


def test_divide_by_zero_and_integer_powers_as_keras():
    _compare("divide", np.array([1.0, -1.0, 0.0], np.float32), 0.0)
    _compare("divide", np.array([3, 4], np.int32), np.array([2, 0], np.int32))
    _compare("divide", np.array([0, 1, 200, 255], np.uint8), 256)  # not wrapped to 0
    _compare("divide", np.array([0, 1, 200, 255], np.uint8), -2)
    _compare("divide", np.array([-128, 127], np.int8), 200)
    _compare("divide", 300, np.array([1, 2], np.uint8))
    _compare("divide", np.array([1.0, 2.0], np.float64), 3)
    _compare("power", np.array([2, 3, -1, 1, 0, -1]), np.array([2, -1, -1, -3, -1, -2]))
    _compare("power", np.array([2, 3], np.int32), -1)
    _compare("sign", np.array([np.nan, -2.0, 0.0, 3.0], np.float32))
    _compare("std", np.array([1e20, -1e20], np.float32))
    with pytest.raises(TypeError, match="bool"):
        ops.negative(np.array([True]))


@pytest.mark.parametrize("kinds", PAIRS, ids=str)
def test_where_and_clip_give_keras_values_and_dtypes(kinds):
    x1, x2 = _pair(*kinds)
    condition = np.asarray(INPUTS["float32"]) > 0 if np.ndim(x1) else True
    if np.ndim(x1):
        condition = np.resize(condition, np.shape(x1))
    _compare("where", condition, x1, x2)
    _compare("clip", x1, x2, 10)
    _compare("clip", x1, -1, 1.5)


def test_where_of_a_condition_alone_gives_the_indices():
    condition = np.array([[True, False, True], [False, True, True]])
    _compare("where", condition)
    with pytest.raises(ValueError, match="both should"):
        ops.where(condition, 1.0)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (([[1, 2], [3, 4]], [[5.0, 6.0]]), {}),
        ((np.ones((2, 1), np.float32), np.zeros((2, 2), np.float64)), {"axis": 1}),
        ((np.ones((2, 3), np.int32), np.zeros((1, 3), np.uint8)), {}),
        ((np.ones(3, bool), np.arange(3)), {}),
    ],
    ids=["lists", "axis_1", "ints", "bool_and_int"],
)
def test_concatenate_gives_keras_values_and_dtypes(args, kwargs):
    _compare("concatenate", list(args), **kwargs)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack_gives_keras_values_and_dtypes(axis):
    _compare("stack", [INPUTS["float32"], INPUTS["float64"]], axis=axis)
    _compare("stack", [INPUTS["int32"], INPUTS["float32"]], axis=axis)
    _compare("stack", [[1, 2], [3, 4]], axis=axis)


def test_reductions_of_a_list_of_arrays_stack_it_as_keras():
    arrays = [np.ones(3), np.zeros(3)]
    _compare("mean", arrays)
    _compare("sum", arrays, axis=0)
    _compare("sum", [1, 2, 3])


def test_shape_ops_give_keras_results():
    x = INPUTS["float32"]
    for newshape in [(4, 3), (-1,), (2, -1, 2), -1]:
        _compare("reshape", x, newshape)
    _compare("transpose", INPUTS["int64"], axes=(1, 0, 2))
    _compare("transpose", INPUTS["int64"])
    _compare("expand_dims", x, (0, 3))
    _compare("expand_dims", x, -1)
    _compare("squeeze", np.ones((1, 3, 1)), axis=(0, 2))
    _compare("squeeze", np.ones((1, 3, 1)), axis=-1)
    keras = _keras()
    assert ops.shape(x) == tuple(keras.ops.shape(x)) == (3, 4)
    assert all(type(d) is int for d in ops.shape(x))
    assert ops.shape(np.zeros(())) == ()


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((5,), {}),
        ((5.0,), {}),
        ((1, 7, 2), {}),
        ((0, 1, 0.25), {}),
        ((1, 2, 0.1), {}),
        ((np.int64(4),), {}),
        ((5,), {"dtype": "float64"}),
        ((-3, 3), {"dtype": "int8"}),
    ],
    ids=str,
)
def test_arange_gives_keras_values_and_dtypes(args, kwargs):
    _compare("arange", *args, **kwargs)


@pytest.mark.parametrize(
    "fill, dtype",
    [(3, None), (2.5, None), (True, None), (np.float64(1.5), None), (7, "int32"), (1, "int8")],
    ids=str,
)
def test_full_gives_keras_values_and_dtypes(fill, dtype):
    _compare("full", (2, 3), fill, dtype=dtype)


def test_full_broadcasts_an_array_fill_value():
    _compare("full", (2, 3), np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("k", [1, 3])
def test_top_k_gives_keras_values_and_indices(dtype, k):
    keras = _keras()
    rng = np.random.default_rng(3)
    x = rng.permutation(40).reshape(5, 8).astype(dtype)  # no ties
    values, indices = ops.top_k(x, k)
    theirs = keras.ops.top_k(x, k)
    _same(values, theirs[0])
    assert indices.dtype == np.int32  # as argmax; Keras's torch backend gives int64
    np.testing.assert_array_equal(indices, _numpy(theirs[1]))
    values, indices = ops.top_k(x[0], k)
    np.testing.assert_array_equal(indices, _numpy(keras.ops.top_k(x[0], k)[1]))


def test_top_k_puts_nan_first_and_ties_by_index_and_checks_k():
    values, indices = ops.top_k(np.array([1.0, 3.0, np.nan, 3.0]), 3)
    np.testing.assert_array_equal(values, [np.nan, 3.0, 3.0])
    np.testing.assert_array_equal(indices, [2, 1, 3])
    with pytest.raises(ValueError, match="out of range"):
        ops.top_k(np.ones((2, 3)), 4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"axis": 1},
        {"axis": 0, "keepdims": True},
        {"ord": "fro"},
        {"ord": 1},
        {"ord": np.inf},
        {"ord": 1, "axis": -1},
        {"axis": (0, 1), "keepdims": True},
    ],
    ids=str,
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_norm_gives_keras_values_and_dtypes(kwargs, dtype):
    _compare("norm", INPUTS[dtype], **kwargs)


def test_max_and_min_take_initial_and_refuse_an_empty_array():
    x = INPUTS["float32"]
    _compare("max", x, initial=100.0)
    _compare("min", x, axis=-1, initial=0.0)
    _compare("max", np.ones((0,)), initial=2.0)
    with pytest.raises(ValueError, match="empty"):
        ops.max(np.ones((0, 3)))


def test_an_empty_axis_returns_the_input_as_keras():
    x = INPUTS["int32"]
    _compare("mean", x, axis=())
    _compare("sum", x, axis=[])
    _compare("all", x, axis=())


def test_convert_to_numpy_gives_keras_arrays():
    keras = _keras()
    for value in ([1.0, 2.0], [1, 2], 3.0, np.arange(4, dtype=np.int32), (np.ones(2), np.zeros(2))):
        ours, theirs = ops.convert_to_numpy(value), keras.ops.convert_to_numpy(value)
        assert type(ours) is np.ndarray and ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
    x = np.arange(3.0)
    assert ops.convert_to_numpy(x) is not x  # a copy, as Keras's


def test_convert_to_numpy_of_a_model_output_and_a_variable():
    model = fastnn.Sequential([fastnn.Input((3,)), fastnn.layers.Dense(2, activation="softmax")])
    out = model(np.ones((4, 3), np.float32))
    array = ops.convert_to_numpy(out)
    assert type(array) is np.ndarray and array.shape == (4, 2)
    kernel = ops.convert_to_numpy(model.layers[0].kernel)
    np.testing.assert_array_equal(kernel, model.get_weights()[0])
    # a tutorial's evaluation of the outputs
    labels = ops.argmax(out, axis=-1)
    assert labels.dtype == np.int32 and labels.shape == (4,)
    np.testing.assert_allclose(ops.sum(out, axis=-1), np.ones(4), rtol=1e-6)


def test_the_kernels_are_unchanged():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(ops.matmul(a, a, transpose_b=True), a @ a.T)
    np.testing.assert_array_equal(ops.relu(a - 2), np.maximum(a - 2, 0))
    np.testing.assert_allclose(ops.activation(a, "softmax"), ops.softmax(a))
    value, _ = ops.loss(a, a, "mse")
    assert value == 0.0
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        ops.matmul(a, a, bogus=1)


def test_version_is_the_package_version_as_keras_version():
    keras = _keras()
    assert isinstance(keras.version(), str)
    assert fastnn.version() == fastnn.__version__ == fastnn.runtime_info()["version"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: ops.max([3_000_000_000, 1]),
        lambda: ops.convert_to_tensor([1, 2**40]),
        lambda: ops.argmax([1, 2**32]),
    ],
)
def test_a_list_of_integers_beyond_int32_is_refused_not_wrapped(call):
    """Keras gives a list of ints int32 and refuses what overflows it ("value
    cannot be converted to type int32 without overflow"); NumPy would wrap."""
    with pytest.raises(ValueError, match="cannot be converted to int32 without overflow"):
        call()


def test_unsigned_sums_do_not_wrap_as_keras():
    assert ops.sum(np.array([60000, 60000], np.uint16)).dtype == np.int32
    assert ops.sum(np.array([60000, 60000], np.uint16)) == 120000
    total = ops.sum(np.array([4_000_000_000, 60000], np.uint32))
    assert total.dtype == np.int64 and total == 4_000_060_000


def test_torch_tensors_are_taken_as_keras_takes_them():
    torch = pytest.importorskip("torch")
    grad = torch.tensor([[1.0, -2.0]], requires_grad=True)
    np.testing.assert_array_equal(ops.convert_to_numpy(grad), [[1.0, -2.0]])
    half = torch.tensor([1.5, 3.0]).bfloat16()
    assert ops.mean(half).dtype == np.float32 and ops.mean(half) == 2.25


@pytest.mark.parametrize(
    "a,b",
    [
        ("float32", "float32"),
        ("float64", "float32"),
        ("int32", "int32"),
        ("int64", "float32"),
        ("bool", "int32"),
        ("float32", "python_float"),
    ],
)
@pytest.mark.parametrize("shapes", [((3, 4), (4, 2)), ((4,), (4,)), ((2, 3, 4), (4,))], ids=str)
def test_dot_gives_keras_values_and_dtypes(a, b, shapes):
    rng = np.random.default_rng(3)

    def make(kind, shape):
        if kind == "python_float":
            return 1.5
        values = (
            rng.integers(-3, 4, shape)
            if kind in ("int32", "int64", "bool")
            else rng.standard_normal(shape)
        )
        return values.astype(kind if kind != "bool" else bool)

    _compare("dot", make(a, shapes[0]), make(b, shapes[1]), rtol=2e-6)


def test_stop_gradient_is_the_value():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(ops.stop_gradient(x), x)
    assert ops.stop_gradient([1.0, 2.0]).dtype == np.float32


def test_keras_ops_have_keras_signatures():
    """Every ``fastnn.ops`` function named as one of ``keras.ops`` takes
    Keras's parameters, in order, with Keras's defaults (but the GEMM
    kernel ``matmul``, which takes transposes and an output)."""
    import inspect

    keras = _keras()

    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    shared = [n for n in ops.__all__ if hasattr(keras.ops, n) and n != "matmul"]
    assert len(shared) > 160
    for name in shared:
        assert params(getattr(ops, name)) == params(getattr(keras.ops, name)), name


@pytest.mark.parametrize(
    "name", ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]
)
def test_crossentropies_refuse_complex_inputs_without_warnings(name):
    real = np.array([[0.0, 1.0]], np.float32)
    complex_ = real.astype(np.complex64)
    sparse = name.startswith("sparse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way
        for target, output in ((complex_, real), (real, complex_), (complex_, complex_)):
            if sparse:
                target = target[:, 1]
            with pytest.raises(TypeError, match="take real values, got complex"):
                getattr(ops, name)(target, output)
