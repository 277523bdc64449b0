"""``keras.ops`` for NumPy users: fastnn's raw kernels, and Keras's array ops.

The kernels (`matmul`, `dense`, `activation`, `loss`, `relu`, the optimizer
steps) are the same C++ code the models run: each accepts array-likes of a
real numeric dtype (converted to float32 once), releases the GIL while it
computes, and returns float32 arrays. Bad input raises ``TypeError`` (dtype)
or ``ValueError`` (shape, value).

Keras's ops that scripts call on inputs and on a model's outputs (`ones`,
`one_hot`, `argmax`, `mean`, `softmax`, `convert_to_numpy`, ...) are thin
NumPy functions with Keras 3's signatures, defaults and result dtypes; they
return NumPy arrays.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import math
import numbers
import operator
import re
import warnings

import numpy as np

from fastnn import _absent
from fastnn._core import ops as _ops
from fastnn.backend import epsilon as _epsilon
from fastnn.utils.tensors import plain_tensor


def _signature_from_doc(fn) -> inspect.Signature:
    """The Python signature pybind11 writes on the first line of a bound
    function's docstring: ``name(a: object, *, b: object = 0.001) -> ...``."""
    head = fn.__doc__.splitlines()[0]
    inner = head[head.index("(") + 1 : head.rindex(") ->")]
    params, kind = [], inspect.Parameter.POSITIONAL_OR_KEYWORD
    for item in filter(None, (part.strip() for part in inner.split(","))):
        if item == "*":
            kind = inspect.Parameter.KEYWORD_ONLY
            continue
        match = re.fullmatch(r"(\w+)(?:\s*:\s*[^=]+?)?(?:\s*=\s*(.+))?", item)
        name, default = match.group(1), match.group(2)
        if default is None:
            value = inspect.Parameter.empty
        else:
            try:
                value = ast.literal_eval(default)
            except (ValueError, SyntaxError):
                value = default
        params.append(inspect.Parameter(name, kind, default=value))
    return inspect.Signature(params)


def _python_argument_errors(fn):
    """`fn` with Python's own errors for a wrong argument list (``matmul()
    got an unexpected keyword argument 'foo'``, ``loss() missing a required
    argument: 'name'``) instead of pybind11's "incompatible function
    arguments", which prints every array given. Every argument is typed
    `object` in C++, so a mismatch is one of count or name; the values are
    checked inside, with errors naming them."""
    signature = _signature_from_doc(fn)
    positional = builtins.sum(
        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in signature.parameters.values()
    )

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TypeError as error:
            if "incompatible function arguments" not in str(error):
                raise
            try:
                signature.bind(*args, **kwargs)
            except TypeError as mismatch:
                if str(mismatch) == "too many positional arguments":
                    mismatch = (  # Python's own wording
                        f"takes {positional} positional argument{'s' * (positional != 1)} but "
                        f"{len(args)} were given"
                    )
                raise TypeError(f"{fn.__name__}() {mismatch}") from None
            raise TypeError(
                f"{fn.__name__}() takes {fn.__name__}{signature}; the arguments given do not fit"
            ) from None

    call.__signature__ = signature
    return call


__all__ = [
    "relu",
    "relu_grad",
    # optimizer steps (cpp/optim)
    "adadelta_update",
    "adagrad_update",
    "adam_update",
    "adamax_update",
    "adamw_update",
    "ftrl_update",
    "lion_update",
    "nadam_update",
    "rmsprop_update",
    "sgd_update",
]

# gemm
__all__ += ["dense", "matmul"]

relu = _python_argument_errors(_ops.relu)
relu_grad = _python_argument_errors(_ops.relu_grad)

# Activations and losses (cpp/ops/activations.h, cpp/ops/losses.h).
__all__ += ["activation", "activation_grad", "loss"]

activation = _python_argument_errors(_ops.activation)
activation_grad = _python_argument_errors(_ops.activation_grad)
loss = _python_argument_errors(_ops.loss)

# Optimizer steps: Keras 3 formulas, in place on float32 arrays (cpp/optim/optimizer.h).
adadelta_update = _python_argument_errors(_ops.adadelta_update)
adagrad_update = _python_argument_errors(_ops.adagrad_update)
adam_update = _python_argument_errors(_ops.adam_update)
adamax_update = _python_argument_errors(_ops.adamax_update)
adamw_update = _python_argument_errors(_ops.adamw_update)
ftrl_update = _python_argument_errors(_ops.ftrl_update)
lion_update = _python_argument_errors(_ops.lion_update)
nadam_update = _python_argument_errors(_ops.nadam_update)
rmsprop_update = _python_argument_errors(_ops.rmsprop_update)
sgd_update = _python_argument_errors(_ops.sgd_update)

# gemm
dense = _python_argument_errors(_ops.dense)
matmul = _python_argument_errors(_ops.matmul)

# Keras's `keras.ops` array constructors that scripts use for inputs and
# labels (`x = ops.ones((3, 3))`, `ops.one_hot(y, num_classes=10)`), in NumPy.
__all__ += ["ones", "zeros", "one_hot"]


def _float_dtype(dtype):
    return np.dtype("float32" if dtype is None else dtype)


def ones(shape, dtype=None):
    """Keras's ``ops.ones``: an array of ones, float32 unless `dtype`.

    >>> ones((2, 3)).dtype
    dtype('float32')
    """
    return np.ones(shape, dtype=_float_dtype(dtype))


def zeros(shape, dtype=None):
    """Keras's ``ops.zeros``: an array of zeros, float32 unless `dtype`."""
    return np.zeros(shape, dtype=_float_dtype(dtype))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Keras's ``ops.one_hot``: integer-valued labels (of any real dtype)
    to one-hot rows along `axis`, float32 unless `dtype`. A negative label
    gives a row of zeros, as Keras's; a label ``>= num_classes`` raises
    ValueError (Keras's torch backend raises too).

    Args:
        x: labels, array-like of whole numbers.
        num_classes: the length of each one-hot row.
        axis: where the new axis goes. Defaults to `-1`.
        dtype: the result's dtype. Defaults to float32.
        sparse: only `False` (dense arrays). Defaults to `False`.

    >>> one_hot([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    if sparse:
        raise ValueError("fastnn's one_hot gives dense arrays only (sparse=False)")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes must be an int, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    labels = np.asarray(x)
    if labels.dtype.kind not in "biuf":
        raise TypeError(f"one_hot needs numeric labels, got dtype {labels.dtype}")
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError("one_hot: the labels contain NaN or Inf")
    if labels.size and labels.max() >= num_classes:  # before the cast, which could wrap
        raise ValueError(
            f"one_hot: label {labels.max()} is out of range for num_classes={num_classes}"
        )
    with np.errstate(invalid="ignore"):  # a label below int64's range is negative anyway
        labels = labels.astype(np.int64)
    out = (labels[..., None] == np.arange(num_classes)).astype(_float_dtype(dtype))
    return np.moveaxis(out, -1, axis) if axis != -1 else out


# -- Keras's `keras.ops` on arrays ----------------------------------------------------
#
# What scripts call on a model's outputs (`ops.argmax(model.predict(x), axis=-1)`,
# `ops.convert_to_numpy(...)`): thin NumPy functions with Keras 3's signatures,
# defaults and result dtypes (those of its torch backend: a Python float is
# float32, a Python int int32, an array keeps its dtype; reductions and
# functions of ints give float32 where Keras's do). They return NumPy arrays.
__all__ += [
    "abs",
    "add",
    "argsort",
    "ceil",
    "dot",
    "floor",
    "isfinite",
    "isinf",
    "isnan",
    "logsumexp",
    "sort",
    "std",
    "stop_gradient",
    "tanh",
    "var",
    "all",
    "any",
    "arange",
    "argmax",
    "argmin",
    "cast",
    "clip",
    "concatenate",
    "convert_to_numpy",
    "convert_to_tensor",
    "divide",
    "equal",
    "exp",
    "expand_dims",
    "full",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "log",
    "log1p",
    "logical_and",
    "logical_not",
    "logical_or",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "multiply",
    "negative",
    "norm",
    "not_equal",
    "ones_like",
    "power",
    "reshape",
    "round",
    "shape",
    "sigmoid",
    "sign",
    "softmax",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "subtract",
    "sum",
    "top_k",
    "transpose",
    "true_divide",
    "where",
    "zeros_like",
]

# Keras computes with 32-bit types where its `result_type` decides (JAX's
# promotion with 64-bit types disabled).
_TO_32_BITS = {
    np.dtype(np.float64): np.dtype(np.float32),
    np.dtype(np.int64): np.dtype(np.int32),
    np.dtype(np.uint64): np.dtype(np.uint32),
    np.dtype(np.complex128): np.dtype(np.complex64),
}
_FLOAT32 = np.dtype(np.float32)


def _tensor(x, dtype=None) -> np.ndarray:
    """Keras's ``convert_to_tensor`` (torch backend) as a NumPy array: a
    Python bool is bool, a Python int int32 (int64 beyond its range), a Python
    float float32, a list takes its items' type in 32 bits, an array keeps its
    dtype; a torch tensor as Keras's torch backend takes it."""
    x = plain_tensor(x)
    if dtype is not None:
        return _numeric(np.asarray(x, dtype=np.dtype(dtype)))
    if isinstance(x, bool):
        return np.asarray(x, dtype=np.bool_)
    if isinstance(x, int):
        return np.asarray(x, dtype=np.int32 if -(2**31) <= x < 2**31 else np.int64)
    if isinstance(x, float):  # NumPy's float64 scalars too, as Keras
        return np.asarray(x, dtype=np.float32)
    array = _numeric(np.asarray(x))
    if isinstance(x, (list, tuple)):
        narrow = _TO_32_BITS.get(array.dtype, array.dtype)
        if array.dtype.kind in "iu" and array.size and narrow != array.dtype:
            info = np.iinfo(narrow)
            if array.min() < info.min or array.max() > info.max:
                raise ValueError(  # Keras: "value cannot be converted to type int32 ..."
                    f"a list of integers becomes {narrow} (Keras's type for it), and "
                    f"{array.max() if array.max() > info.max else array.min()} cannot be "
                    f"converted to {narrow} without overflow; pass an int64 array instead"
                )
        return array.astype(narrow, copy=False)
    return array


def _numeric(array: np.ndarray) -> np.ndarray:
    """`array`, refused with a TypeError unless it holds numbers (bool, int,
    float or complex), as Keras's torch backend refuses objects and strings."""
    if array.dtype.kind not in "biufc":
        raise TypeError(
            "fastnn.ops works on arrays of numbers (bool, int, float, complex); got dtype "
            f"{array.dtype}"
        )
    return array


def _category(dtype: np.dtype) -> int:
    _numeric(np.empty(0, dtype))
    return {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}[dtype.kind]


def _join(a: np.dtype, b: np.dtype) -> np.dtype:
    """Two dtypes' common type: the higher category's dtype, or NumPy's
    promotion within one category (JAX's and torch's rule)."""
    if _category(a) != _category(b):
        return a if _category(a) > _category(b) else b
    return np.promote_types(a, b)


def _result_type(*values) -> np.dtype:
    """Keras's ``result_type`` of `values`: arrays' dtypes join; a Python
    number only raises the category (to float32 or int32); 64-bit types
    become 32-bit."""
    strong = [_tensor(v).dtype for v in values if not isinstance(v, (bool, int, float))]
    weak = [np.asarray(v).dtype for v in values if isinstance(v, (bool, int, float))]
    dtype = functools.reduce(_join, strong) if strong else None
    for kind in weak:
        if dtype is None or _category(kind) > _category(dtype):
            dtype = (
                _FLOAT32 if kind.kind == "f" else kind if kind.kind == "b" else np.dtype("int32")
            )
    return _TO_32_BITS.get(dtype, dtype)


def _torch_result_type(*arrays) -> np.dtype:
    """torch's promotion of `arrays`: those with dimensions decide; 0-d ones
    only where of a higher category."""
    dims = [a.dtype for a in arrays if a.ndim]
    scalars = [a.dtype for a in arrays if not a.ndim]
    dtype = functools.reduce(_join, dims) if dims else None
    higher = [s for s in scalars if dtype is None or _category(s) > _category(dtype)]
    return functools.reduce(_join, higher) if higher else dtype


def _float(x) -> np.ndarray:
    """`x` as an array of floats: a float (or complex) dtype kept, others float32."""
    x = _tensor(x)
    return x if x.dtype.kind in "fc" else x.astype(np.float32)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _stacked(x) -> np.ndarray:
    """Keras's reductions stack a list of arrays, each keeping its dtype."""
    return stack(x) if isinstance(x, (list, tuple)) else _tensor(x)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Keras's ``ops.convert_to_tensor``: `x` as a NumPy array, in `dtype`
    when given, else Keras's dtype for it (a Python float float32, a Python
    int int32, a list in 32 bits, an array its own).

    >>> convert_to_tensor([1.0, 2.0]).dtype
    dtype('float32')
    """
    if sparse or ragged:
        raise ValueError("fastnn's arrays are dense (sparse and ragged are not supported)")
    return _tensor(x, dtype)


def convert_to_numpy(x):
    """Keras's ``ops.convert_to_numpy``: a NumPy copy of `x` (a list or
    tuple item by item; an object with ``numpy()``, such as a
    `fastnn.layers.Variable`, through it)."""
    if isinstance(x, (list, tuple)):
        return np.array([convert_to_numpy(item) for item in x])
    x = plain_tensor(x)  # a torch tensor as Keras's torch backend takes it
    to_numpy = getattr(x, "numpy", None)
    if callable(to_numpy) and not isinstance(x, np.ndarray):
        x = to_numpy()
    return np.array(x)


def cast(x, dtype):
    """Keras's ``ops.cast``: `x` in `dtype` (floats to ints truncate toward 0;
    complex to real keeps the real part, as torch)."""
    x, dtype = _tensor(x), np.dtype(dtype)
    if x.dtype.kind == "c" and dtype.kind != "c":
        x = x.real  # (torch's cast warns; the result is the same)
    with np.errstate(invalid="ignore"):  # NaN or out of range: unspecified, as torch's
        return x.astype(dtype)


def shape(x) -> tuple:
    """Keras's ``ops.shape``: the shape of `x`, a tuple of ints."""
    return tuple(int(d) for d in np.shape(x))


def reshape(x, newshape):
    """Keras's ``ops.reshape``; `newshape` may hold one -1."""
    return np.reshape(_tensor(x), newshape)


def transpose(x, axes=None):
    """Keras's ``ops.transpose``: axes permuted, reversed by default."""
    return np.transpose(_tensor(x), axes)


def expand_dims(x, axis):
    """Keras's ``ops.expand_dims``: new axes of 1 at `axis` (an int or a tuple)."""
    return np.expand_dims(_tensor(x), axis)


def squeeze(x, axis=None):
    """Keras's ``ops.squeeze``: axes of 1 removed, all of them or `axis`
    (a ValueError for an axis longer than 1)."""
    return np.squeeze(_tensor(x), axis=_axis(axis))


def concatenate(xs, axis=0):
    """Keras's ``ops.concatenate``: the arrays joined along `axis`, in their
    common dtype (torch's promotion)."""
    arrays = [_tensor(x) for x in xs]
    dtype = _torch_result_type(*arrays)
    return np.concatenate([a.astype(dtype, copy=False) for a in arrays], axis=axis)


def stack(x, axis=0):
    """Keras's ``ops.stack``: the arrays along a new `axis`, in their common
    dtype (torch's promotion)."""
    arrays = [_tensor(item) for item in x]
    dtype = _torch_result_type(*arrays)
    return np.stack([a.astype(dtype, copy=False) for a in arrays], axis=axis)


def arange(start, stop=None, step=None, dtype=None):
    """Keras's ``ops.arange``: ``[start, stop)`` by `step`; with only
    `start`, ``[0, start)``. The dtype defaults to Keras's for the arguments:
    int32 for ints, float32 if one is a float.

    >>> arange(3)
    array([0, 1, 2], dtype=int32)
    """
    if dtype is None:
        dtype = _result_type(*(v for v in (start, stop, step) if v is not None))
    if stop is None:
        start, stop = 0, start
    if step is not None and not isinstance(step, (str, bytes)) and step == 0:
        raise ValueError(f"arange: step must be nonzero (got start={start}, stop={stop}, step=0)")
    return np.arange(start, stop, 1 if step is None else step).astype(np.dtype(dtype))


def full(shape, fill_value, dtype=None):
    """Keras's ``ops.full``: an array of `shape` holding `fill_value` (an
    array broadcasts), float32 unless `dtype`."""
    return np.full(shape, _tensor(fill_value), dtype=_float_dtype(dtype))


def zeros_like(x, dtype=None):
    """Keras's ``ops.zeros_like``: zeros of `x`'s shape, in `x`'s dtype unless `dtype`."""
    return np.zeros_like(_tensor(x), dtype=None if dtype is None else np.dtype(dtype))


def ones_like(x, dtype=None):
    """Keras's ``ops.ones_like``: ones of `x`'s shape, in `x`'s dtype unless `dtype`."""
    return np.ones_like(_tensor(x), dtype=None if dtype is None else np.dtype(dtype))


def argmax(x, axis=None, keepdims=False):
    """Keras's ``ops.argmax``: the index of the largest value (the first of
    equal ones), over the flattened array unless `axis`; int32.

    >>> argmax([[1.0, 3.0, 2.0], [4.0, 0.0, 4.0]], axis=-1)
    array([1, 0], dtype=int32)
    """
    return np.asarray(np.argmax(_tensor(x), axis=axis, keepdims=keepdims), dtype=np.int32)


def argmin(x, axis=None, keepdims=False):
    """Keras's ``ops.argmin``: the index of the smallest value; int32."""
    return np.asarray(np.argmin(_tensor(x), axis=axis, keepdims=keepdims), dtype=np.int32)


def mean(x, axis=None, keepdims=False):
    """Keras's ``ops.mean`` over `axis` (all by default): a float dtype kept,
    float32 for ints and bools."""
    x = _stacked(x)
    axis = _axis(axis)
    if axis == ():
        return x
    dtype = x.dtype if x.dtype.kind == "f" else _FLOAT32
    compute = np.promote_types(dtype, _FLOAT32)  # float16 sums in float32
    with warnings.catch_warnings():  # the mean of nothing is NaN, as Keras's, unannounced
        warnings.simplefilter("ignore", RuntimeWarning)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.mean(x, axis=axis, keepdims=keepdims, dtype=compute)
    return np.asarray(means, dtype=dtype)


def sum(x, axis=None, keepdims=False):
    """Keras's ``ops.sum`` over `axis` (all by default): bools, int8, uint8,
    int16 and uint16 sum in int32, uint32 in int64, other dtypes in their own."""
    x = _stacked(x)
    axis = _axis(axis)
    if axis == ():
        return x
    small = ("bool", "uint8", "int8", "int16", "uint16")
    dtype = np.dtype(np.int32) if x.dtype.name in small else x.dtype
    if x.dtype.name == "uint32":  # torch has no uint32 sums: Keras's is int64
        dtype = np.dtype(np.int64)
    return np.asarray(np.sum(x, axis=axis, keepdims=keepdims, dtype=dtype))


def _extreme(reduce, x, axis, keepdims, initial, name):
    x = _tensor(x)
    if x.size == 0:
        if initial is None:
            raise ValueError(f"Cannot compute the {name} of an empty tensor.")
        return np.full((1,) * x.ndim if keepdims else (), initial, dtype=_tensor(initial).dtype)
    result = np.asarray(reduce(x, axis=_axis(axis), keepdims=keepdims))
    if initial is None:
        return result
    pick = np.maximum if name == "max" else np.minimum
    return np.asarray(pick(result, np.asarray(initial, dtype=result.dtype)))


def max(x, axis=None, keepdims=False, initial=None):
    """Keras's ``ops.max`` over `axis` (all by default), in `x`'s dtype; at
    least `initial` when given (an empty `x` needs it)."""
    return _extreme(np.max, x, axis, keepdims, initial, "max")


def min(x, axis=None, keepdims=False, initial=None):
    """Keras's ``ops.min`` over `axis` (all by default), in `x`'s dtype; at
    most `initial` when given (an empty `x` needs it)."""
    return _extreme(np.min, x, axis, keepdims, initial, "min")


def all(x, axis=None, keepdims=False):
    """Keras's ``ops.all``: whether every value over `axis` is true (nonzero)."""
    x = _tensor(x)
    if _axis(axis) == ():
        return x.astype(bool)
    return np.asarray(np.all(x, axis=_axis(axis), keepdims=keepdims))


def any(x, axis=None, keepdims=False):
    """Keras's ``ops.any``: whether some value over `axis` is true (nonzero)."""
    x = _tensor(x)
    if _axis(axis) == ():
        return x.astype(bool)
    return np.asarray(np.any(x, axis=_axis(axis), keepdims=keepdims))


def softmax(x, axis=-1):
    """Keras's ``ops.softmax`` over `axis` (an int, a tuple of ints taken
    together, or `None` for all): a float dtype kept, float32 for others
    (which Keras's torch backend refuses). Float32 over the last axis runs
    fastnn's kernel, as a model's softmax layer does.

    >>> softmax([[1.0, 2.0, 3.0]])
    array([[0.09003057, 0.24472845, 0.6652409 ]], dtype=float32)
    """
    x = _float(x)
    if isinstance(axis, int) and -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(
            f"You are using a softmax over axis {axis} of a tensor of shape {x.shape}. "
            "This axis has size 1. The softmax operation will always return the value 1, "
            "which is likely not what you intended. Did you mean to use a sigmoid instead?",
            stacklevel=2,
        )
    if x.dtype == _FLOAT32 and x.ndim and axis in (-1, x.ndim - 1):
        return _ops.activation(x, "softmax")
    if x.size == 0:  # nothing to normalize (NumPy's max has no identity)
        return np.empty(x.shape, dtype=x.dtype)
    z = x.astype(np.promote_types(x.dtype, _FLOAT32))  # float16 in float32
    z = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return np.asarray(z / np.sum(z, axis=axis, keepdims=True), dtype=x.dtype)


def sigmoid(x):
    """Keras's ``ops.sigmoid``, ``1 / (1 + exp(-x))``: a float dtype kept,
    float32 for others (fastnn's kernel)."""
    x = _float(x)
    if x.dtype == _FLOAT32:
        return _ops.activation(x, "sigmoid")
    return _activation(_sigmoid64, x)


def exp(x):
    """Keras's ``ops.exp``: a float dtype kept, float32 for others."""
    with np.errstate(over="ignore"):
        return np.asarray(np.exp(_float(x)))


def log(x):
    """Keras's ``ops.log``: -inf at 0, NaN below; a float dtype kept, float32 for others."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.log(_float(x)))


def sqrt(x):
    """Keras's ``ops.sqrt``: NaN below 0; a float dtype kept, float32 for others."""
    with np.errstate(invalid="ignore"):
        return np.asarray(np.sqrt(_float(x)))


def square(x):
    """Keras's ``ops.square``, in `x`'s dtype (bools as int32)."""
    x = _tensor(x)
    with np.errstate(over="ignore"):  # inf beyond the dtype's range, as torch
        return np.asarray(np.square(x.astype(np.int32) if x.dtype == np.bool_ else x))


def abs(x):
    """Keras's ``ops.abs``, in `x`'s dtype."""
    return np.asarray(np.abs(_tensor(x)))


def round(x, decimals=0):
    """Keras's ``ops.round``: to `decimals` places, halves to even, in `x`'s
    dtype (ints through float32, as Keras)."""
    x = _tensor(x)
    if x.dtype.kind in "iu":
        return np.asarray(np.round(x.astype(np.float32), decimals)).astype(x.dtype)
    return np.asarray(np.round(x, decimals))


def clip(x, x_min, x_max):
    """Keras's ``ops.clip``: `x` limited to ``[x_min, x_max]``; the dtype is
    torch's promotion of the three (bools as int32), so an int `x` with float
    bounds gives float32."""
    x, low, high = _tensor(x), _tensor(x_min), _tensor(x_max)
    if x.dtype == np.bool_:
        x = x.astype(np.int32)
    dtype = _torch_result_type(x, low, high)
    return np.asarray(np.clip(x.astype(dtype), low.astype(dtype), high.astype(dtype)))


def where(condition, x1=None, x2=None):
    """Keras's ``ops.where``: `x1` where `condition`, else `x2`, in their
    common dtype (torch's promotion); without `x1` and `x2`, the indices of
    the true values, one row per axis (int64).

    >>> where([True, False], 1.0, 0.0)
    array([1., 0.], dtype=float32)
    """
    condition = _tensor(condition).astype(bool)
    if (x1 is None) != (x2 is None):
        raise ValueError(
            "`x1` and `x2` either both should be `None` or both should have non-None value."
        )
    if x1 is None:
        return np.stack(np.nonzero(condition)).astype(np.int64)
    x1, x2 = _tensor(x1), _tensor(x2)
    dtype = _torch_result_type(x1, x2)
    return np.asarray(np.where(condition, x1.astype(dtype), x2.astype(dtype)))


def _binary(x1, x2):
    """Both as arrays in their common dtype (torch's promotion)."""
    x1, x2 = _tensor(x1), _tensor(x2)
    dtype = _torch_result_type(x1, x2)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float16's range: inf, as torch
        return x1.astype(dtype), x2.astype(dtype)


def maximum(x1, x2):
    """Keras's ``ops.maximum``, elementwise, in Keras's result type of the two
    (32-bit: float64 arrays give float32)."""
    dtype = _result_type(x1, x2)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.maximum(_tensor(x1, dtype), _tensor(x2, dtype)))


def minimum(x1, x2):
    """Keras's ``ops.minimum``, elementwise, in Keras's result type of the two."""
    dtype = _result_type(x1, x2)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.minimum(_tensor(x1, dtype), _tensor(x2, dtype)))


def add(x1, x2):
    """Keras's ``ops.add``: ``x1 + x2`` in torch's promotion of the two (a
    Python number only raises the category: int32 + 1.5 is float32)."""
    return np.asarray(np.add(*_binary(x1, x2)))


def subtract(x1, x2):
    """Keras's ``ops.subtract``: ``x1 - x2`` (a bool operand takes the
    other's dtype, as Keras's torch backend)."""
    a, b = _tensor(x1), _tensor(x2)
    if a.dtype == np.bool_:
        a = a.astype(b.dtype)
    if b.dtype == np.bool_:
        b = b.astype(a.dtype)
    return np.asarray(np.subtract(*_binary(a, b)))


def multiply(x1, x2):
    """Keras's ``ops.multiply``: ``x1 * x2`` in torch's promotion of the two."""
    return np.asarray(np.multiply(*_binary(x1, x2)))


def divide(x1, x2):
    """Keras's ``ops.divide``: true division; of two integer (or bool)
    operands float32, else their promoted float dtype; inf and NaN where
    dividing by zero. A Python number divides by its own value (not wrapped
    into an integer array's dtype: ``divide(uint8_image, 255)``)."""
    numbers = (int, float)
    a_scalar = isinstance(x1, numbers) and not isinstance(x1, bool)
    b_scalar = isinstance(x2, numbers) and not isinstance(x2, bool)
    if a_scalar != b_scalar:
        array = _tensor(x2 if a_scalar else x1)
        scalar = x1 if a_scalar else x2
        if array.dtype.kind in "biu":
            array = array.astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.true_divide(scalar, array) if a_scalar else np.true_divide(array, scalar)
        return np.asarray(out, dtype=array.dtype)
    a, b = _binary(x1, x2)
    if a.dtype.kind in "biu":
        a, b = a.astype(np.float32), b.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.true_divide(a, b))


true_divide = divide


def negative(x):
    """Keras's ``ops.negative``: ``-x`` in `x`'s dtype (bools refused, as torch)."""
    x = _tensor(x)
    if x.dtype == np.bool_:
        raise TypeError("negative of a bool array is not supported (use logical_not)")
    return np.asarray(np.negative(x))


def power(x1, x2):
    """Keras's ``ops.power``: ``x1 ** x2`` in torch's promotion of the two;
    an integer to a negative integer power is torch's integer result (1 for
    a base of 1, ±1 for -1, else 0)."""
    a, b = _binary(x1, x2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if a.dtype.kind not in "iu" or not np.any(b < 0):
            return np.asarray(np.power(a, b))
        a, b = np.broadcast_arrays(a, b)
        positive = np.power(a, np.maximum(b, 0).astype(b.dtype))
        odd = (b % 2).astype(bool)
        negative = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
        return np.asarray(np.where(b >= 0, positive, negative).astype(a.dtype))


def sign(x):
    """Keras's ``ops.sign``: -1, 0 or 1 (0 for NaN, as torch) in `x`'s dtype."""
    x = _tensor(x)
    if x.dtype == np.bool_:
        return np.array(x)
    out = np.sign(x)
    return np.asarray(
        np.where(np.isnan(out), 0, out).astype(x.dtype) if x.dtype.kind == "f" else out
    )


def log1p(x):
    """Keras's ``ops.log1p``: ``log(1 + x)`` accurate near 0; a float dtype
    kept, float32 for others."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.log1p(_float(x)))


def tanh(x):
    """Keras's ``ops.tanh``: a float dtype kept, float32 for others."""
    return np.asarray(np.tanh(_float(x)))


def _rounding(fn, x):
    """Keras's floor and ceil: int64 gives float32, others Keras's result
    type with a float (float32, or float16 kept)."""
    x = _tensor(x)
    dtype = _FLOAT32 if x.dtype == np.int64 else _result_type(x, 1.0)
    return np.asarray(fn(x.astype(dtype)))


def floor(x):
    """Keras's ``ops.floor`` (ints give float32, as Keras)."""
    return _rounding(np.floor, x)


def ceil(x):
    """Keras's ``ops.ceil`` (ints give float32, as Keras)."""
    return _rounding(np.ceil, x)


def isnan(x):
    """Keras's ``ops.isnan``: bool."""
    return np.asarray(np.isnan(_tensor(x)))


def isinf(x):
    """Keras's ``ops.isinf``: bool."""
    return np.asarray(np.isinf(_tensor(x)))


def isfinite(x):
    """Keras's ``ops.isfinite``: bool."""
    return np.asarray(np.isfinite(_tensor(x)))


def sort(x, axis=-1):
    """Keras's ``ops.sort``: ascending along `axis` (None: flattened), NaN
    last, in `x`'s dtype."""
    x = _tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.ndim == 0:  # a scalar sorts to itself along axis -1 or 0, as torch
        _scalar_axis(axis)
        return x.copy()
    return np.asarray(np.sort(x, axis=axis, kind="stable"))


def argsort(x, axis=-1):
    """Keras's ``ops.argsort``: the indices that sort `x` along `axis`
    (None: flattened), stable, int32."""
    x = _tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), -1
    if x.ndim == 0:
        _scalar_axis(axis)
        return np.asarray(0, np.int32)
    return np.asarray(np.argsort(x, axis=axis, kind="stable")).astype(np.int32)


def _scalar_axis(axis) -> None:
    """The axes a 0-d array has for sort/argsort, as torch's: -1 and 0."""
    if axis not in (-1, 0):
        raise np.exceptions.AxisError(
            f"axis {axis} is out of bounds for a 0-d array (expected -1 or 0)"
        )


def std(x, axis=None, keepdims=False):
    """Keras's ``ops.std``: the population standard deviation (no Bessel
    correction); ints and bools give float32, floats keep their dtype."""
    x = _tensor(x)
    if x.dtype.kind in "biu":
        x = x.astype(np.float32)
    wide = x.astype(np.promote_types(x.dtype, np.float64))  # (x - mean)² can pass float32's range
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # of nothing: NaN, as torch, silently
        return np.asarray(np.std(wide, axis=_axis(axis), keepdims=keepdims).astype(x.dtype))


def var(x, axis=None, keepdims=False):
    """Keras's ``ops.var``: the population variance, in Keras's result type
    of `x` with a float (float32 for ints and float64)."""
    x = _tensor(x)
    dtype = _result_type(x, 1.0)
    compute = np.promote_types(dtype, np.float32)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # of nothing: NaN, as torch, silently
        out = np.var(x.astype(compute), axis=_axis(axis), keepdims=keepdims)
    return np.asarray(out).astype(dtype)


def logsumexp(x, axis=None, keepdims=False):
    """Keras's ``ops.logsumexp``: ``log(sum(exp(x)))`` over `axis` (None:
    all), computed stably; a float dtype kept, float32 for others."""
    x = _float(x)
    axis = tuple(range(x.ndim)) if axis is None else _axis(axis)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        peak = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        peak = np.where(np.isfinite(peak), peak, 0).astype(x.dtype)
        out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return np.asarray(out if keepdims else np.squeeze(out, axis=axis))


def stop_gradient(variable):
    """Keras's ``ops.stop_gradient``: the value itself (fastnn's NumPy ops
    carry no gradients)."""
    return _tensor(variable)


def dot(x1, x2):
    """Keras's ``ops.dot``: a matrix product (a product with a scalar), in
    Keras's result type of the two."""
    a, b = _tensor(x1), _tensor(x2)
    dtype = _result_type(a, b)
    compute = _result_type(np.empty(0, dtype), 1.0)
    a, b = a.astype(compute), b.astype(compute)
    out = a * b if a.ndim == 0 or b.ndim == 0 else np.matmul(a, b)
    return np.asarray(out).astype(dtype)


def equal(x1, x2):
    """Keras's ``ops.equal``: ``x1 == x2`` elementwise, bool."""
    return np.asarray(np.equal(*_binary(x1, x2)))


def not_equal(x1, x2):
    """Keras's ``ops.not_equal``: ``x1 != x2`` elementwise, bool."""
    return np.asarray(np.not_equal(*_binary(x1, x2)))


def greater(x1, x2):
    """Keras's ``ops.greater``: ``x1 > x2`` elementwise, bool."""
    return np.asarray(np.greater(*_binary(x1, x2)))


def less(x1, x2):
    """Keras's ``ops.less``: ``x1 < x2`` elementwise, bool."""
    return np.asarray(np.less(*_binary(x1, x2)))


def logical_and(x1, x2):
    """Keras's ``ops.logical_and``: both nonzero, elementwise, bool."""
    return np.asarray(np.logical_and(_tensor(x1), _tensor(x2)))


def logical_or(x1, x2):
    """Keras's ``ops.logical_or``: either nonzero, elementwise, bool."""
    return np.asarray(np.logical_or(_tensor(x1), _tensor(x2)))


def logical_not(x):
    """Keras's ``ops.logical_not``: zero, elementwise, bool."""
    return np.asarray(np.logical_not(_tensor(x)))


def greater_equal(x1, x2):
    """Keras's ``ops.greater_equal``: ``x1 >= x2`` elementwise, bool."""
    return np.asarray(np.greater_equal(*_binary(x1, x2)))


def less_equal(x1, x2):
    """Keras's ``ops.less_equal``: ``x1 <= x2`` elementwise, bool."""
    return np.asarray(np.less_equal(*_binary(x1, x2)))


def top_k(x, k, sorted=True):
    """Keras's ``ops.top_k``: the `k` largest values along the last axis,
    largest first (of equal values the lower index first; NaN counts as
    largest), and their indices.

    Returns:
        ``(values, indices)``: values in `x`'s dtype, indices int32 (as
        `argmax`; Keras's torch backend gives int64).

    >>> top_k([1.0, 5.0, 3.0], 2)
    (array([5., 3.], dtype=float32), array([1, 2], dtype=int32))
    """
    x = _tensor(x)
    k = operator.index(k)
    if x.ndim == 0 or not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k={k} is out of range for an array of shape {x.shape}")
    last = x.shape[-1] - 1
    # a stable ascending sort of the reversed row, read backwards: descending,
    # ties by the lower index
    order = last - np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
    return np.take_along_axis(x, order, axis=-1), order.astype(np.int32)


def norm(x, ord=None, axis=None, keepdims=False):
    """Keras's ``ops.norm``: the vector or matrix norm (`ord` as
    ``numpy.linalg.norm``; the 2-norm of all values by default), float32
    (float16 kept), as Keras's.

    >>> norm([3.0, 4.0])
    array(5., dtype=float32)
    """
    x = _tensor(x)
    if x.dtype.kind == "c":  # of the magnitudes, as torch's norm of complex values
        x = np.abs(x)
    dtype = x.dtype if x.dtype == np.float16 else _FLOAT32
    value = np.linalg.norm(x.astype(dtype), ord=ord, axis=_axis(axis), keepdims=keepdims)
    return np.asarray(value, dtype=dtype)


# -- Keras's elementwise math ---------------------------------------------------------
#
# Transcendental functions give a float dtype as is and float32 for ints and
# bools (Keras's torch backend); binary ones Keras's or torch's promotion of
# the two, as Keras's code for each takes it.
__all__ += [
    "absolute",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "cos",
    "cosh",
    "erf",
    "exp2",
    "expm1",
    "floor_divide",
    "fmod",
    "hypot",
    "log10",
    "log2",
    "logaddexp",
    "logical_xor",
    "mod",
    "nan_to_num",
    "reciprocal",
    "rsqrt",
    "signbit",
    "sin",
    "sinh",
    "tan",
    "trunc",
]


def _transcendental(fn, x):
    """`fn` of `x` as a float (ints and bools as float32), without NumPy's
    warnings for values outside its domain (NaN, inf, as torch)."""
    with np.errstate(all="ignore"):
        return np.asarray(fn(_float(x)))


def _reciprocal_sqrt(x):
    return 1 / np.sqrt(x)


def _transcendental_op(name: str, fn, what: str):
    """Keras's transcendental function `name`: `fn` of `x` (described as `what`)."""

    def op(x):
        return _transcendental(fn, x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"Keras's ``ops.{name}``: {what}, elementwise; a float dtype kept, float32 for others."
    )
    return op


sin = _transcendental_op("sin", np.sin, "the sine")
cos = _transcendental_op("cos", np.cos, "the cosine")
tan = _transcendental_op("tan", np.tan, "the tangent")
arcsin = _transcendental_op("arcsin", np.arcsin, "the inverse sine (NaN outside [-1, 1])")
arccos = _transcendental_op("arccos", np.arccos, "the inverse cosine (NaN outside [-1, 1])")
arctan = _transcendental_op("arctan", np.arctan, "the inverse tangent")
sinh = _transcendental_op("sinh", np.sinh, "the hyperbolic sine")
cosh = _transcendental_op("cosh", np.cosh, "the hyperbolic cosine")
arcsinh = _transcendental_op("arcsinh", np.arcsinh, "the inverse hyperbolic sine")
arccosh = _transcendental_op("arccosh", np.arccosh, "the inverse hyperbolic cosine (NaN below 1)")
arctanh = _transcendental_op("arctanh", np.arctanh, "the inverse hyperbolic tangent (±inf at ±1)")
log2 = _transcendental_op("log2", np.log2, "the base-2 logarithm")
log10 = _transcendental_op("log10", np.log10, "the base-10 logarithm")
expm1 = _transcendental_op("expm1", np.expm1, "``exp(x) - 1``, accurate near 0")
exp2 = _transcendental_op("exp2", np.exp2, "``2 ** x``")
reciprocal = _transcendental_op("reciprocal", np.reciprocal, "``1 / x`` (inf at 0)")
rsqrt = _transcendental_op("rsqrt", _reciprocal_sqrt, "``1 / sqrt(x)``")


def erf(x):
    """Keras's ``ops.erf``: the error function, elementwise; a float dtype
    kept, float32 for others. Computed in float64 (SciPy's when installed,
    else Python's ``math.erf``) and rounded to the result's dtype.

    >>> erf([0.0, 1.0])
    array([0.       , 0.8427008], dtype=float32)
    """
    x = _float(x)
    if x.dtype.kind == "c":
        raise TypeError("erf of complex values is not supported (as in Keras's torch backend)")
    return np.asarray(_erf64(x.astype(np.float64)), dtype=x.dtype)


def _erf64(x: np.ndarray) -> np.ndarray:
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:  # SciPy is optional: Python's erf, value by value
        return np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64)
    return scipy_erf(x)


def absolute(x):
    """Keras's ``ops.absolute``, the same as `abs`: in `x`'s dtype."""
    return abs(x)


def trunc(x):
    """Keras's ``ops.trunc``: rounded toward 0, in `x`'s dtype (ints and
    bools as they are)."""
    x = _tensor(x)
    return np.asarray(np.trunc(x) if x.dtype.kind == "f" else x.copy())


def signbit(x):
    """Keras's ``ops.signbit``: whether the sign bit is set (-0.0 and NaNs
    with it included), bool."""
    x = _tensor(x)
    if x.dtype.kind in "bu":
        return np.zeros(x.shape, dtype=bool)
    return np.asarray(np.signbit(x))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Keras's ``ops.nan_to_num``: NaN as `nan`, inf as `posinf` and -inf as
    `neginf` (the dtype's largest and lowest finite values by default), in
    `x`'s dtype."""
    x = _tensor(x)
    if x.dtype.kind not in "fc":
        return x.copy()
    return np.asarray(np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf))


def logical_xor(x1, x2):
    """Keras's ``ops.logical_xor``: exactly one nonzero, elementwise, bool."""
    return np.asarray(np.logical_xor(_tensor(x1), _tensor(x2)))


def _float_pair(x1, x2):
    """Both in Keras's result type of the two with a float (Python numbers
    as Keras's tensors: float32, int32)."""
    a, b = _tensor(x1), _tensor(x2)
    dtype = _result_type(a, b, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return a.astype(dtype), b.astype(dtype)


def arctan2(x1, x2):
    """Keras's ``ops.arctan2``: the angle of the point ``(x2, x1)``, in
    Keras's result type of the two with a float (float32 for ints and
    float64)."""
    return np.asarray(np.arctan2(*_float_pair(x1, x2)))


def logaddexp(x1, x2):
    """Keras's ``ops.logaddexp``: ``log(exp(x1) + exp(x2))`` computed stably,
    in Keras's result type of the two with a float."""
    with np.errstate(all="ignore"):
        return np.asarray(np.logaddexp(*_float_pair(x1, x2)))


def hypot(x1, x2):
    """Keras's ``ops.hypot``: ``sqrt(x1**2 + x2**2)`` without overflow, in
    Keras's result type of the two, float32 for ints; bools refused, as
    Keras's torch backend."""
    a, b = _tensor(x1), _tensor(x2)
    dtype = _result_type(a, b)
    if dtype == np.bool_:
        raise TypeError("hypot of two bool arrays is not supported (as in Keras's torch backend)")
    if dtype.kind in "iu":
        dtype = _FLOAT32
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.hypot(a.astype(dtype), b.astype(dtype)))


class _IntegerDivisionByZero(ZeroDivisionError, RuntimeError):
    """An integer division or modulo by zero in `fastnn.ops`: a
    ZeroDivisionError, and also the RuntimeError Keras's torch backend
    raises there (``RuntimeError: ZeroDivisionError``), so that code written
    for either catches it."""


def _integer_division(fn, a, b, name):
    """`fn(a, b)` for two arrays of one dtype; an integer division by zero
    is refused, as torch's (NumPy would give 0 with a warning)."""
    if a.dtype.kind in "biu" and np.any(b == 0):
        raise _IntegerDivisionByZero(f"{name}: integer division by zero")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(fn(a, b))


def mod(x1, x2):
    """Keras's ``ops.mod``: the remainder of ``x1 / x2`` with the sign of
    `x2`, in torch's promotion of the two (two bools as int32); an integer
    modulo by zero raises a ZeroDivisionError that is also the RuntimeError
    Keras's torch backend raises."""
    a, b = _binary(x1, x2)
    if a.dtype == np.bool_:
        a, b = a.astype(np.int32), b.astype(np.int32)
    return _integer_division(np.mod, a, b, "mod")


def fmod(x1, x2):
    """Keras's ``ops.fmod``: the remainder of ``x1 / x2`` with the sign of
    `x1` (C's fmod), in torch's promotion of the two (two bools as int32);
    an integer modulo by zero raises a ZeroDivisionError that is also a
    RuntimeError, as `mod`."""
    a, b = _binary(x1, x2)
    if a.dtype == np.bool_:
        a, b = a.astype(np.int32), b.astype(np.int32)
    return _integer_division(np.fmod, a, b, "fmod")


def floor_divide(x1, x2):
    """Keras's ``ops.floor_divide``: ``floor(x1 / x2)``, computed in torch's
    promotion of the two and given in Keras's result type (float64 as
    float32); two bools are refused and an integer division by zero raises a
    ZeroDivisionError that is also a RuntimeError, as `mod`."""
    dtype = _result_type(x1, x2)
    a, b = _binary(x1, x2)
    if a.dtype == np.bool_:
        raise TypeError("floor_divide of two bool arrays is not supported (as in Keras)")
    out = _integer_division(np.floor_divide, a, b, "floor_divide")
    with np.errstate(over="ignore", invalid="ignore"):
        return out.astype(dtype)


# -- Keras's reductions and scans -----------------------------------------------------
__all__ += [
    "amax",
    "amin",
    "average",
    "count_nonzero",
    "cumprod",
    "cumsum",
    "median",
    "moments",
    "percentile",
    "prod",
    "ptp",
    "quantile",
]


def _axes(axis, ndim: int) -> tuple:
    """`axis` (None: all, an int, or a sequence) as a tuple of axes >= 0."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for an array of {ndim} axes")
    return tuple(int(a) % ndim for a in axes)


def _product_dtype(x: np.ndarray) -> np.dtype:
    """Keras's dtype for a product of `x`'s values: its result type
    (32-bit), bools and small ints as int32."""
    dtype = _result_type(x)
    return np.dtype(np.int32) if dtype.name in ("bool", "int8", "int16", "uint8") else dtype


def prod(x, axis=None, keepdims=False, dtype=None):
    """Keras's ``ops.prod``: the product over `axis` (all by default), in
    `dtype`, else Keras's type for it (bools and small ints as int32,
    float64 as float32, int64 as int32; ints wrap, as torch's)."""
    x = _tensor(x)
    dtype = _product_dtype(x) if dtype is None else np.dtype(dtype)
    if _axis(axis) == ():  # (Keras's loop over no axes)
        return x
    compute = np.promote_types(dtype, _FLOAT32) if dtype == np.float16 else dtype
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.prod(x.astype(compute), axis=_axis(axis), keepdims=keepdims, dtype=compute)
        return np.asarray(out).astype(dtype)


def _scan(fn, x, axis, dtype):
    """Keras's cumsum and cumprod: along `axis` (None: flattened), in
    `dtype`, else `x`'s result type (32-bit; bools as int32)."""
    x = _tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    dtype = _result_type(np.empty(0, x.dtype if dtype is None else np.dtype(dtype)))
    if dtype == np.bool_:
        dtype = np.dtype(np.int32)
    compute = _FLOAT32 if dtype == np.float16 else dtype
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(fn(x.astype(compute), axis=axis, dtype=compute)).astype(dtype)


def cumsum(x, axis=None, dtype=None):
    """Keras's ``ops.cumsum``: running sums along `axis` (flattened by
    default), in `dtype`, else `x`'s dtype in 32 bits (bools as int32; ints
    wrap, as torch's)."""
    return _scan(np.cumsum, x, axis, dtype)


def cumprod(x, axis=None, dtype=None):
    """Keras's ``ops.cumprod``: running products along `axis` (flattened by
    default), in `dtype`, else `x`'s dtype in 32 bits (bools as int32)."""
    return _scan(np.cumprod, x, axis, dtype)


def amax(x, axis=None, keepdims=False):
    """Keras's ``ops.amax``: the largest value over `axis` (all by default),
    in `x`'s dtype; NaN if any is NaN (`max` without `initial`)."""
    return _extreme(np.max, x, axis, keepdims, None, "max")


def amin(x, axis=None, keepdims=False):
    """Keras's ``ops.amin``: the smallest value over `axis` (all by default),
    in `x`'s dtype; NaN if any is NaN (`min` without `initial`)."""
    return _extreme(np.min, x, axis, keepdims, None, "min")


def ptp(x, axis=None, keepdims=False):
    """Keras's ``ops.ptp``: ``max - min`` over `axis` (all by default), in
    `x`'s dtype (bools refused, as Keras's torch backend)."""
    x = _tensor(x)
    if x.dtype == np.bool_:
        raise TypeError("ptp of a bool array is not supported (as in Keras's torch backend)")
    if _axis(axis) == ():
        return np.zeros_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.ptp(x, axis=_axis(axis), keepdims=keepdims))


def count_nonzero(x, axis=None):
    """Keras's ``ops.count_nonzero``: how many values over `axis` (all by
    default) are not 0 (NaN counts), int32."""
    x = _tensor(x)
    if _axis(axis) == ():
        return (x != 0).astype(np.int32)
    return np.asarray(np.count_nonzero(x, axis=_axis(axis))).astype(np.int32)


def average(x, axis=None, weights=None):
    """Keras's ``ops.average``: the mean over `axis` (all by default),
    weighted by `weights` (of `x`'s shape, or 1-D along `axis`, as NumPy's),
    in Keras's result type with a float (float32 for ints and float64); inf
    or NaN where the weights sum to 0, as Keras's."""
    x = _tensor(x)
    dtypes = [x] if weights is None else [x, _tensor(weights)]
    dtype = _result_type(*dtypes, 1.0)
    x = x.astype(dtype)
    if _axis(axis) == ():
        return x
    if weights is None:
        return mean(x, axis=axis)
    w = _tensor(weights).astype(dtype)
    if w.shape != x.shape:
        if w.ndim != 1 or not isinstance(axis, (int, np.integer)):
            raise ValueError(
                f"average: weights of shape {w.shape} differ from x's {x.shape}; 1-D weights "
                "need one int axis"
            )
        if w.shape[0] != x.shape[axis]:
            raise ValueError(f"average: {w.shape[0]} weights for an axis of {x.shape[axis]}")
        w = w.reshape([-1 if a == _axes(axis, x.ndim)[0] else 1 for a in range(x.ndim)])
    compute = np.promote_types(dtype, _FLOAT32)
    with np.errstate(all="ignore"):
        total = np.sum(x * w, axis=_axis(axis), dtype=compute)
        weight = np.sum(np.broadcast_to(w, x.shape), axis=_axis(axis), dtype=compute)
        return np.asarray(total / weight).astype(dtype)


_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """Keras's ``ops.quantile``: the `q`-th quantiles (``0 <= q <= 1``) over
    `axis` (all by default), interpolated by `method` (``"linear"``,
    ``"lower"``, ``"higher"``, ``"midpoint"``, ``"nearest"``); the axes of
    `q` first. Float32 (float16 kept), computed as Keras in float32 at least;
    NaN where a reduced row holds NaN.

    >>> quantile([1.0, 2.0, 3.0, 4.0], 0.5)
    array(2.5, dtype=float32)
    """
    x = _tensor(x)
    if x.dtype.kind == "c":
        raise TypeError("quantile of complex values is not supported (as in Keras's torch backend)")
    dtype = _result_type(x, 1.0)
    compute = _result_type(x, np.empty(0, _FLOAT32))
    q = _tensor(q).astype(compute)
    if x.size == 0:
        raise ValueError("quantile of an empty array (torch's quantile needs values)")
    if q.ndim > 1:
        raise ValueError(f"quantile: q must be a scalar or 1-D (as torch's), got shape {q.shape}")
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"quantile: method must be one of {_QUANTILE_METHODS}, got {method!r}")
    if np.any((q < 0) | (q > 1) | np.isnan(q)):
        raise ValueError(f"quantile: q must be in [0, 1], got {q}")
    x = x.astype(compute).astype(np.float64)  # (q in x's compute dtype, as Keras)
    if _axis(axis) == ():
        x, axis = x[..., None], -1
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # of nothing: NaN
        out = np.quantile(
            x, q.astype(np.float64), axis=_axis(axis), method=method, keepdims=keepdims
        )
    return np.asarray(out).astype(dtype)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """Keras's ``ops.percentile``: `quantile` of ``q / 100``
    (``0 <= q <= 100``)."""
    return quantile(x, _tensor(q, _FLOAT32) / np.float32(100), axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    """Keras's ``ops.median``: the middle value over `axis` (all by
    default; the mean of the two middle ones for an even count), float32
    (float16 kept)."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def moments(x, axes, keepdims=False, synchronized=False):
    """Keras's ``ops.moments``: the mean and the (population) variance of
    `x` over `axes` (an int or a sequence; None: all), a float dtype kept,
    float32 for ints (which Keras's torch backend refuses).

    Returns:
        ``(mean, variance)``.

    >>> moments([1.0, 2.0, 3.0, 4.0], axes=0)
    (array(2.5, dtype=float32), array(1.25, dtype=float32))
    """
    if synchronized:
        raise NotImplementedError("Argument synchronized=True is not supported with PyTorch.")
    x = _float(x)
    axes = _axes(axes, x.ndim)
    wide = x.astype(np.promote_types(x.dtype, np.float64))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # of nothing: NaN, as torch
        means = np.mean(wide, axis=axes, keepdims=keepdims)
        variances = np.var(wide, axis=axes, keepdims=keepdims)
        if x.dtype == np.float16:  # clipped to float16's range, as Keras
            limit = np.finfo(np.float16).max
            means, variances = np.clip(means, -limit, limit), np.clip(variances, -limit, limit)
        return np.asarray(means).astype(x.dtype), np.asarray(variances).astype(x.dtype)


# -- Keras's shape, indexing and array-building ops -----------------------------------
__all__ += [
    "allclose",
    "copy",
    "diag",
    "diagonal",
    "einsum",
    "empty",
    "eye",
    "flip",
    "full_like",
    "hstack",
    "identity",
    "isclose",
    "linspace",
    "moveaxis",
    "ndim",
    "nonzero",
    "outer",
    "pad",
    "ravel",
    "repeat",
    "roll",
    "searchsorted",
    "size",
    "split",
    "swapaxes",
    "take",
    "take_along_axis",
    "tensordot",
    "tile",
    "trace",
    "tri",
    "tril",
    "triu",
    "unique",
    "vstack",
]


def size(x):
    """Keras's ``ops.size``: the number of values in `x`, a 0-d int64 array
    (as Keras's torch backend)."""
    return np.asarray(np.size(_tensor(x)), dtype=np.int64)


def ndim(x) -> int:
    """Keras's ``ops.ndim``: the number of axes of `x`, an int."""
    return _tensor(x).ndim


def ravel(x):
    """Keras's ``ops.ravel``: `x` flattened, in its dtype."""
    return np.ravel(_tensor(x))


def copy(x):
    """Keras's ``ops.copy``: a copy of `x` as Keras's tensor of it."""
    return np.array(_tensor(x))


def flip(x, axis=None):
    """Keras's ``ops.flip``: `x` reversed along `axis` (all axes by default)."""
    return np.asarray(np.flip(_tensor(x), axis=_axis(axis)))


def roll(x, shift, axis=None):
    """Keras's ``ops.roll``: `x` shifted by `shift` along `axis` (the
    flattened array, reshaped back, by default), wrapping around."""
    return np.roll(_tensor(x), shift, axis=_axis(axis))


def moveaxis(x, source, destination):
    """Keras's ``ops.moveaxis``: the axes `source` moved to `destination`."""
    return np.moveaxis(_tensor(x), _axis(source), _axis(destination))


def swapaxes(x, axis1, axis2):
    """Keras's ``ops.swapaxes``: axes `axis1` and `axis2` interchanged."""
    return np.swapaxes(_tensor(x), axis1, axis2)


def tile(x, repeats):
    """Keras's ``ops.tile``: `x` repeated `repeats` times (an int or one
    count per axis, leading axes added as needed)."""
    return np.tile(_tensor(x), repeats)


def repeat(x, repeats, axis=None):
    """Keras's ``ops.repeat``: each value repeated `repeats` times (an int or
    one count per value) along `axis` (the flattened array by default)."""
    return np.repeat(_tensor(x), repeats, axis=axis)


def split(x, indices_or_sections, axis=0):
    """Keras's ``ops.split``: a list of `indices_or_sections` equal parts
    of `x` along `axis` (a ValueError if they cannot be equal), or the parts
    between the given indices."""
    x = _tensor(x)
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:  # (Keras: an IndexError)
        raise ValueError(f"split: axis {axis} is out of bounds for an array of shape {x.shape}")
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections < 1 or x.shape[axis] % indices_or_sections:
            raise ValueError(
                f"Received indices_or_sections={indices_or_sections} (interpreted as a number "
                f"of sections) and axis={axis}, but input dimension x.shape[{axis}]="
                f"{x.shape[axis]} is not divisible by {indices_or_sections}."
            )
    return list(np.split(x, indices_or_sections, axis=axis))


def _stacking(fn, xs):
    arrays = [np.atleast_1d(_tensor(x)) for x in xs]
    dtype = _torch_result_type(*arrays)
    return fn([a.astype(dtype, copy=False) for a in arrays])


def hstack(xs):
    """Keras's ``ops.hstack``: the arrays joined along their second axis
    (the first for 1-D ones), in their common dtype (torch's promotion)."""
    return _stacking(np.hstack, xs)


def vstack(xs):
    """Keras's ``ops.vstack``: the arrays stacked as rows (1-D ones as rows
    of one), in their common dtype (torch's promotion)."""
    return _stacking(np.vstack, xs)


def _indices(indices, length: int) -> np.ndarray:
    """Keras's indices: truncated to int64, a negative one counted from the
    end once; out of range is an IndexError (as torch's)."""
    with np.errstate(invalid="ignore"):
        indices = np.asarray(_tensor(indices)).astype(np.int64)
    return np.where(indices < 0, indices + length, indices)


def take(x, indices, axis=None):
    """Keras's ``ops.take``: the values of `x` at `indices` along `axis`
    (of the flattened array by default; -1 is its last value, as NumPy's,
    where Keras's torch backend counts from the end of the first axis), in
    `x`'s dtype."""
    x = _tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return np.take(x, _indices(indices, x.shape[axis]), axis=axis)


def take_along_axis(x, indices, axis=None):
    """Keras's ``ops.take_along_axis``: the values of `x` at `indices`
    matched along `axis` (both flattened by default; other axes broadcast)."""
    x = _tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
        indices = np.ravel(_tensor(indices))
    return np.take_along_axis(x, _indices(indices, x.shape[axis]), axis=axis)


def _at_least_2d(x, name: str) -> np.ndarray:
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: the input must have at least 2 dimensions, got {x.ndim}")
    return x


def tril(x, k=0):
    """Keras's ``ops.tril``: the lower triangle of the last two axes (on and
    below diagonal `k`), zeros above."""
    return np.tril(_at_least_2d(x, "tril"), k)


def triu(x, k=0):
    """Keras's ``ops.triu``: the upper triangle of the last two axes (on and
    above diagonal `k`), zeros below."""
    return np.triu(_at_least_2d(x, "triu"), k)


def diag(x, k=0):
    """Keras's ``ops.diag``: of a 1-D `x`, a square matrix with it on
    diagonal `k`; of a 2-D `x`, its diagonal `k`."""
    x = _tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"diag: the input must be 1-D or 2-D, got {x.ndim} dimensions")
    return np.array(np.diag(x, k))


def diagonal(x, offset=0, axis1=0, axis2=1):
    """Keras's ``ops.diagonal``: the diagonal `offset` of the axes `axis1`
    and `axis2`, appended as the last axis."""
    return np.array(np.diagonal(_at_least_2d(x, "diagonal"), offset, axis1, axis2))


def trace(x, offset=0, axis1=0, axis2=1):
    """Keras's ``ops.trace``: the sum of the diagonal `offset` of the axes
    `axis1` and `axis2`, in `x`'s dtype (bools and 8- and 16-bit ints as
    int32)."""
    x = _at_least_2d(x, "trace")
    small = ("bool", "int8", "int16", "uint8")
    dtype = np.dtype(np.int32) if x.dtype.name in small else x.dtype
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.trace(x, offset, axis1, axis2, dtype=dtype))


def eye(N, M=None, k=0, dtype=None):
    """Keras's ``ops.eye``: an ``N x M`` (``N x N``) array with ones on
    diagonal `k`, float32 unless `dtype`."""
    return np.eye(N, M, 0 if k is None else k, dtype=_float_dtype(dtype))


def identity(n, dtype=None):
    """Keras's ``ops.identity``: the ``n x n`` identity, float32 unless `dtype`."""
    return np.identity(n, dtype=_float_dtype(dtype))


def tri(N, M=None, k=0, dtype=None):
    """Keras's ``ops.tri``: an ``N x M`` (``N x N``) array with ones on and
    below diagonal `k`, float32 unless `dtype`."""
    return np.tri(N, M, k, dtype=_float_dtype(dtype))


def empty(shape, dtype=None):
    """Keras's ``ops.empty``: an array of `shape` with unspecified values,
    float32 unless `dtype`."""
    return np.empty(shape, dtype=_float_dtype(dtype))


def full_like(x, fill_value, dtype=None):
    """Keras's ``ops.full_like``: an array of `x`'s shape holding
    `fill_value`, in `x`'s dtype unless `dtype` (a float fill truncated into
    an integer dtype)."""
    x = _tensor(x)
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.full(x.shape, _tensor(fill_value)).astype(dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """Keras's ``ops.linspace``: `num` evenly spaced values from `start` to
    `stop` (included if `endpoint`); arrays give one column per value along
    a new first axis. Keras's result type of the two with a float (float32)
    unless `dtype` (ints truncate). With `retstep`, ``(values, step)``.
    `axis` places the new axis of array ends (NumPy's; Keras's torch backend
    takes only 0).

    >>> linspace(0, 1, 5)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    if dtype is None:  # (a Python number weakly typed, as Keras)
        ends = [v if isinstance(v, (int, float)) else _tensor(v) for v in (start, stop)]
        dtype = _result_type(*ends, 1.0)
    values, step = np.linspace(
        _tensor(start, np.float64), _tensor(stop, np.float64), num, endpoint, True, axis=axis
    )
    with np.errstate(invalid="ignore"):
        values = values.astype(np.dtype(dtype))
    return (values, step if np.ndim(step) else float(step)) if retstep else values


def outer(x1, x2):
    """Keras's ``ops.outer``: every value of `x1` (flattened) times every
    value of `x2`, in their common dtype (torch's promotion)."""
    a, b = np.ravel(_tensor(x1)), np.ravel(_tensor(x2))
    dtype = _join(a.dtype, b.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.outer(a.astype(dtype), b.astype(dtype))


def tensordot(x1, x2, axes=2):
    """Keras's ``ops.tensordot``: the sum of products over `axes` (the last
    `axes` of `x1` with the first of `x2`, or a pair of axis lists), computed
    in floats (as Keras's torch backend) and given in Keras's result type of
    the two (32-bit)."""
    a, b = _tensor(x1), _tensor(x2)
    dtype = _result_type(a, b)
    compute = np.promote_types(_result_type(np.empty(0, dtype), 1.0), _FLOAT32)
    if isinstance(axes, (list, tuple)):
        axes = tuple(tuple(ax) if isinstance(ax, (list, tuple)) else (ax,) for ax in axes)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.tensordot(a.astype(compute), b.astype(compute), axes=axes)
        return np.asarray(out).astype(dtype)


def einsum(subscripts, *operands, **kwargs):
    """Keras's ``ops.einsum``: NumPy's Einstein summation of `operands`, in
    their common dtype (torch's promotion; torch itself needs one dtype), as
    Keras's torch backend: int8 operands give int32, and the sums of one
    integer or bool operand int64 (torch's sum)."""
    if kwargs:
        raise TypeError(f"einsum() got unexpected keyword arguments {sorted(kwargs)}")
    arrays = [_tensor(x) for x in operands]
    dtype = functools.reduce(_join, [a.dtype for a in arrays])
    if builtins.all(a.dtype == np.int8 for a in arrays):
        dtype = np.dtype(np.int32)
    inputs, _, output = subscripts.replace(" ", "").partition("->")
    letters = set(inputs.replace(",", "").replace(".", ""))
    summed = letters - set(output) if "->" in subscripts else set()
    if len(arrays) == 1 and dtype.kind in "biu" and (summed or len(set(inputs)) < len(inputs)):
        dtype = np.dtype(np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.einsum(subscripts, *[a.astype(dtype) for a in arrays]))


def nonzero(x):
    """Keras's ``ops.nonzero``: the indices of the nonzero values, one row
    per axis (int32, as Keras's torch backend; unpack as NumPy's tuple)."""
    x = _tensor(x)
    if x.ndim == 0:
        return np.zeros((0, int(x != 0)), dtype=np.int32)
    return np.stack(np.nonzero(x)).astype(np.int32).reshape(x.ndim, -1)


def searchsorted(sorted_sequence, values, side="left"):
    """Keras's ``ops.searchsorted``: where each of `values` would go in the
    1-D `sorted_sequence` to keep it sorted (`side` ``"left"``: before equal
    values, ``"right"``: after), int32."""
    sequence, values = _binary(sorted_sequence, values)
    if sequence.ndim != 1:
        raise ValueError(
            "`searchsorted` only supports 1-D sorted sequences. Received: "
            f"sorted_sequence.shape={sequence.shape}"
        )
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    return np.asarray(np.searchsorted(sequence, values, side=side)).astype(np.int32)


def _close_pair(x1, x2):
    a, b = _tensor(x1), _tensor(x2)
    dtype = _result_type(a, b)
    return a.astype(dtype), b.astype(dtype)


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Keras's ``ops.isclose``: ``|x1 - x2| <= atol + rtol * |x2|``
    elementwise in Keras's result type of the two (equality for ints), bool."""
    a, b = _close_pair(x1, x2)
    if a.dtype.kind not in "fc":
        return np.asarray(a == b)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Keras's ``ops.allclose``: whether `isclose` holds everywhere, a 0-d bool array."""
    return np.asarray(np.all(isclose(x1, x2, rtol, atol, equal_nan)))


def unique(
    x,
    sorted=True,
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    size=None,
    fill_value=None,
):
    """Keras's ``ops.unique``: the distinct values of `x` (flattened, or
    slices along `axis`), ascending (NaNs each their own, last), in `x`'s
    dtype; with `return_index`, `return_inverse`, `return_counts`, a tuple
    adding the first index of each (int64), the index of each of `x`'s
    values (of `x`'s shape) and the counts (int64). `size` truncates, or
    pads with `fill_value` (0; counts 0, indices 1, as Keras's torch backend).

    >>> unique([3, 1, 3])
    array([1, 3], dtype=int32)
    """
    x = _tensor(x)
    values, index, inverse, counts = np.unique(
        x, return_index=True, return_inverse=True, return_counts=True, axis=axis, equal_nan=False
    )
    inverse = inverse.reshape(x.shape if axis is None else -1).astype(np.int64)
    index, counts = index.astype(np.int64), counts.astype(np.int64)
    if size is not None:
        dim = 0 if axis is None else axis
        extra = size - values.shape[dim]
        values = np.take(values, np.arange(builtins.min(size, values.shape[dim])), axis=dim)
        index, counts = index[:size], counts[:size]
        if extra > 0:
            pad_width = [(0, 0)] * values.ndim
            pad_width[dim] = (0, extra)
            fill = 0 if fill_value is None else fill_value
            values = np.pad(values, pad_width, constant_values=fill)
            index = np.pad(index, (0, extra), constant_values=1)
            counts = np.pad(counts, (0, extra))
    chosen = [values]
    chosen += [index] if return_index else []
    chosen += [inverse] if return_inverse else []
    chosen += [counts] if return_counts else []
    return chosen[0] if len(chosen) == 1 else tuple(chosen)


_PAD_MODES = ("constant", "reflect", "symmetric")


def pad(x, pad_width, mode="constant", constant_values=None):
    """Keras's ``ops.pad``: `x` padded by `pad_width` (an int, a
    ``(before, after)`` pair for every axis, or one pair per axis) with
    `constant_values` (0), or mirrored: ``"reflect"`` without the edge
    value, ``"symmetric"`` with it (NumPy's meaning, as Keras documents).

    >>> pad([1, 2], 1)
    array([0, 1, 2, 0], dtype=int32)
    """
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    if constant_values is not None and mode != "constant":
        raise ValueError(
            "Argument `constant_values` can only be provided when `mode == 'constant'`. "
            f"Received: mode={mode}"
        )
    x = _tensor(x)
    if mode == "constant":
        fill = 0 if constant_values is None else constant_values
        with np.errstate(invalid="ignore", over="ignore"):
            return np.pad(x, pad_width, constant_values=np.asarray(fill).astype(x.dtype))
    return np.pad(x, pad_width, mode=mode)


# -- Keras's neural-network functions -------------------------------------------------
#
# Activations of floats keep the dtype (float16 computed in float32 as Keras's
# torch backend); ints and bools give float32, which Keras's torch backend
# refuses for most ("not implemented for 'Int'"), as `softmax` and `sigmoid`.
# Each is computed in float64 and rounded once to the result's dtype.
__all__ += [
    "binary_crossentropy",
    "categorical_crossentropy",
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "in_top_k",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "multi_hot",
    "normalize",
    "relu6",
    "selu",
    "silu",
    "soft_shrink",
    "softplus",
    "softsign",
    "sparse_categorical_crossentropy",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "swish",
    "tanh_shrink",
]


def _wide(x: np.ndarray) -> np.ndarray:
    """`x` in float64 at least (complex refused, as torch's activations)."""
    if x.dtype.kind == "c":
        raise TypeError("Keras's activations take real values, got complex")
    return x.astype(np.promote_types(x.dtype, np.float64))


def _activation(fn, x):
    """`fn` of `x` as a float (ints and bools as float32), computed in
    float64 and rounded to the result's dtype."""
    x = _float(x)
    with np.errstate(all="ignore"):
        return np.asarray(fn(_wide(x))).astype(x.dtype)


def _sigmoid64(x):
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus64(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _real_parameter(value, function: str, name: str):
    """`value` when it is a real number (a Python or NumPy scalar, not a
    bool), else the TypeError Keras's torch backend raises, naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(
            f"{function}(): argument '{name}' must be a number, not {type(value).__name__}"
        )
    return value


def _elu64(x, alpha):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def log_sigmoid(x):
    """Keras's ``ops.log_sigmoid``: ``log(sigmoid(x))``, computed stably."""
    return _activation(lambda z: -_softplus64(-z), x)


def silu(x):
    """Keras's ``ops.silu``: ``x * sigmoid(x)``."""
    return _activation(lambda z: z * _sigmoid64(z), x)


swish = silu


def gelu(x, approximate=True):
    """Keras's ``ops.gelu``: ``x * Phi(x)``; by default (as Keras's ops)
    its tanh approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    if approximate:
        c = math.sqrt(2 / math.pi)
        return _activation(lambda z: 0.5 * z * (1 + np.tanh(c * (z + 0.044715 * z**3))), x)
    return _activation(lambda z: 0.5 * z * (1 + _erf64(z / math.sqrt(2))), x)


def elu(x, alpha=1.0):
    """Keras's ``ops.elu``: `x` above 0, ``alpha * (exp(x) - 1)`` below."""
    _real_parameter(alpha, "elu", "alpha")
    return _activation(lambda z: _elu64(z, alpha), x)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Keras's ``ops.selu``: ``scale * elu(x, alpha)`` with the
    self-normalizing constants (alpha ≈ 1.6733, scale ≈ 1.0507)."""
    return _activation(lambda z: _SELU_SCALE * _elu64(z, _SELU_ALPHA), x)


def celu(x, alpha=1.0):
    """Keras's ``ops.celu``: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if _real_parameter(alpha, "celu", "alpha") == 0:
        raise ValueError("celu: alpha cannot be 0 (x / alpha is undefined), as in Keras")
    return _activation(lambda z: np.maximum(z, 0) + _elu64(np.minimum(z, 0) / alpha, alpha), x)


def softplus(x):
    """Keras's ``ops.softplus``: ``log(1 + exp(x))``, computed stably."""
    return _activation(_softplus64, x)


def softsign(x):
    """Keras's ``ops.softsign``: ``x / (1 + |x|)``."""
    return _activation(lambda z: z / (1 + np.abs(z)), x)


def leaky_relu(x, negative_slope=0.2):
    """Keras's ``ops.leaky_relu``: `x` at or above 0, ``negative_slope * x`` below."""
    _real_parameter(negative_slope, "leaky_relu", "negative_slope")
    return _activation(lambda z: np.where(z >= 0, z, negative_slope * z), x)


def hard_sigmoid(x):
    """Keras's ``ops.hard_sigmoid``: ``relu6(x + 3) / 6``."""
    return _activation(lambda z: np.clip(z + 3, 0, 6) / 6, x)


def hard_silu(x):
    """Keras's ``ops.hard_silu``: ``x * relu6(x + 3) / 6``."""
    return _activation(lambda z: z * np.clip(z + 3, 0, 6) / 6, x)


hard_swish = hard_silu


def relu6(x):
    """Keras's ``ops.relu6``: `x` limited to ``[0, 6]``, in `x`'s dtype
    (ints too; bools refused, as Keras's torch backend)."""
    x = _tensor(x)
    if x.dtype == np.bool_:
        raise TypeError("relu6 of a bool array is not supported (as in Keras's torch backend)")
    if x.dtype.kind == "f":
        return _activation(lambda z: np.clip(z, 0, 6), x)
    return np.asarray(np.clip(x, 0, 6).astype(x.dtype))


def hard_tanh(x):
    """Keras's ``ops.hard_tanh``: `x` limited to ``[-1, 1]``."""
    return _activation(lambda z: np.clip(z, -1, 1), x)


def soft_shrink(x, threshold=0.5):
    """Keras's ``ops.soft_shrink``: ``x - threshold`` above `threshold`,
    ``x + threshold`` below ``-threshold``, 0 between."""
    _real_parameter(threshold, "soft_shrink", "threshold")
    return _activation(
        lambda z: np.where(
            z > threshold, z - threshold, np.where(z < -threshold, z + threshold, 0 * z)
        ),
        x,
    )


def hard_shrink(x, threshold=0.5):
    """Keras's ``ops.hard_shrink``: `x` where ``|x| > threshold``, else 0."""
    _real_parameter(threshold, "hard_shrink", "threshold")
    return _activation(lambda z: np.where((z >= -threshold) & (z <= threshold), 0, z), x)


def _tanh_shrink64(z):
    # x - tanh(x) cancels near 0: its Taylor series there (six terms below 0.1)
    w = z * z
    series = (
        z
        * w
        * np.polyval([-21844 / 6081075, 1382 / 155925, -62 / 2835, 17 / 315, -2 / 15, 1 / 3], w)
    )
    return np.where(np.abs(z) < 0.1, series, z - np.tanh(z))


def tanh_shrink(x):
    """Keras's ``ops.tanh_shrink``: ``x - tanh(x)``, accurate near 0 (where
    Keras's subtraction in `x`'s dtype cancels)."""
    return _activation(_tanh_shrink64, x)


def _squareplus64(z, b):
    s = np.hypot(z, np.sqrt(b))  # sqrt(z**2 + b) without overflow
    return np.where(z >= 0, (z + s) / 2, (b / 2) / (s - z))


def squareplus(x, b=4):
    """Keras's ``ops.squareplus``: ``(x + sqrt(x**2 + b)) / 2``, computed as
    ``(b / 2) / (sqrt(x**2 + b) - x)`` below 0, where Keras's sum cancels."""
    _real_parameter(b, "squareplus", "b")
    return _activation(lambda z: _squareplus64(z, b), x)


def sparse_plus(x):
    """Keras's ``ops.sparse_plus``: 0 up to -1, ``(x + 1)**2 / 4`` up to 1, then `x`."""
    return _activation(lambda z: np.where(z <= -1, 0, np.where(z < 1, (z + 1) ** 2 / 4, z)), x)


def sparse_sigmoid(x):
    """Keras's ``ops.sparse_sigmoid``: 0 up to -1, ``(x + 1) / 2`` up to 1, then 1."""
    return _activation(lambda z: np.where(z <= -1, 0, np.where(z >= 1, 1, (z + 1) / 2)), x)


def _log_softmax64(z, axis):
    peak = np.max(z, axis=axis, keepdims=True) if z.size else 0.0
    shifted = z - np.where(np.isfinite(peak), peak, 0)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """Keras's ``ops.log_softmax`` over `axis` (an int, a tuple taken
    together, or None for all), computed stably."""
    return _activation(lambda z: _log_softmax64(z, _axis(axis)), x)


def glu(x, axis=-1):
    """Keras's ``ops.glu``: ``a * sigmoid(b)`` of the two halves of `x`
    along `axis` (of even length)."""
    x = _float(x)
    if x.ndim == 0 or x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of shape {x.shape} must have an even length")
    a, b = np.split(_wide(x), 2, axis=axis)
    with np.errstate(all="ignore"):
        return np.asarray(a * _sigmoid64(b)).astype(x.dtype)


def normalize(x, axis=-1, order=2, epsilon=None):
    """Keras's ``ops.normalize``: `x` divided by its `order`-norm along
    `axis` (at least `epsilon`, 1e-7 by default); a 0-d `x` as ``[x]``.
    Float32 for ints and bools; of order 2, in `x`'s float dtype."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    x = _tensor(x)
    if x.ndim == 0:
        x = x.reshape(1)
    epsilon = _epsilon() if epsilon is None else epsilon
    dtype = _float(x).dtype
    wide = _wide(x)
    with np.errstate(all="ignore"):
        if order == 2:
            inv_norm = 1 / np.sqrt(np.sum(wide * wide, axis=_axis(axis), keepdims=True))
            return np.asarray(wide * np.minimum(inv_norm, 1 / epsilon)).astype(dtype)
        norm = np.linalg.norm(wide, ord=order, axis=_axis(axis), keepdims=True)
        return np.asarray(wide / np.maximum(norm, epsilon)).astype(dtype)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Keras's ``ops.multi_hot``: for each row of integer labels (a 1-D
    `inputs` is one row), 1 at each label's class, float32 unless `dtype`
    (``num_tokens`` is an alias of `num_classes`; negative labels are
    skipped).

    >>> multi_hot([[0, 2], [1, 1]], num_classes=3)
    array([[1., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    if num_classes is None and "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"multi_hot() got unexpected keyword arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("Argument `num_classes` must be specified.")
    x = _tensor(inputs)
    hot = one_hot(x, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return np.max(hot, axis=1 if x.ndim > 1 else 0) if hot.size else hot.sum(axis=0)


def in_top_k(targets, predictions, k):
    """Keras's ``ops.in_top_k``: whether each row's target class is among
    its `k` largest predictions (a tie with the k-th counts), bool.

    >>> in_top_k([1, 0], [[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]], k=1)
    array([ True,  True])
    """
    targets = _tensor(targets).astype(np.int64)
    predictions = _tensor(predictions)
    if predictions.ndim != 2 or targets.shape != predictions.shape[:1]:
        raise ValueError(
            f"in_top_k: targets of shape (batch,) and predictions of shape (batch, classes), "
            f"got {targets.shape} and {predictions.shape}"
        )
    if np.any((targets < 0) | (targets >= predictions.shape[1])):
        raise ValueError(f"in_top_k: a target is out of range for {predictions.shape[1]} classes")
    kth = top_k(predictions, k)[0][:, -1:] if k else np.full((len(targets), 1), np.inf)
    chosen = np.take_along_axis(predictions, targets[:, None], axis=-1)
    return np.asarray((chosen >= kth)[:, 0])


def _crossentropy_pair(target, output):
    """Target and output as floats in their common dtype (torch's promotion;
    ints and bools as float32)."""
    target, output = _float(target), _float(output)
    if "c" in (target.dtype.kind, output.dtype.kind):  # (torch: clamp of complex)
        raise TypeError("Keras's cross-entropies take real values, got complex")
    return target, output, _join(target.dtype, output.dtype)


def binary_crossentropy(target, output, from_logits=False):
    """Keras's ``ops.binary_crossentropy``: elementwise (no mean),
    ``-(t log(p) + (1 - t) log(1 - p))`` with `output` clipped to ``[1e-7,
    1 - 1e-7]``, or from logits computed stably; in the common float dtype.

    >>> binary_crossentropy([0.0, 1.0], [0.2, 0.8])
    array([0.22314353, 0.22314353], dtype=float32)
    """
    target, output, dtype = _crossentropy_pair(target, output)
    if target.shape != output.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={target.shape}, output.shape={output.shape}"
        )
    t, z = _wide(target), _wide(output)
    with np.errstate(all="ignore"):
        if from_logits:
            loss = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        else:
            eps = _epsilon()
            p = np.clip(output.astype(dtype), eps, 1 - eps).astype(np.float64)
            loss = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log1p(-p), -100))
        return np.asarray(loss).astype(dtype)


def _log_probabilities(output, dtype, from_logits, axis):
    """log-softmax of logits, or the log of probabilities normalized to sum
    1 and clipped to ``[1e-7, 1 - 1e-7]`` (as Keras), in float64."""
    if from_logits:
        return _log_softmax64(_wide(output), axis)
    eps = _epsilon()
    with np.errstate(all="ignore"):
        p = output.astype(dtype)
        p = (p / np.sum(p, axis=axis, keepdims=True)).astype(dtype)
        return np.log(np.clip(p, eps, 1 - eps).astype(np.float64))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Keras's ``ops.categorical_crossentropy``: ``-sum(target *
    log(p))`` along `axis`, `p` the softmax of logits or `output` normalized
    and clipped to ``[1e-7, 1 - 1e-7]``; in the common float dtype.

    >>> categorical_crossentropy([[0.0, 1.0]], [[0.4, 0.6]])
    array([0.5108256], dtype=float32)
    """
    target, output, dtype = _crossentropy_pair(target, output)
    if target.shape != output.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={target.shape}, output.shape={output.shape}"
        )
    if target.ndim < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1.")
    with np.errstate(all="ignore"):
        log_p = _log_probabilities(output, dtype, from_logits, axis)
        return np.asarray(-np.sum(_wide(target) * log_p, axis=axis)).astype(dtype)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Keras's ``ops.sparse_categorical_crossentropy``: ``-log(p[target])``
    for integer class ids (a trailing axis of 1 squeezed), `p` along `axis`
    as in `categorical_crossentropy`; in `output`'s float dtype. An id out
    of range is a ValueError (torch's IndexError).

    >>> sparse_categorical_crossentropy([1], [[0.4, 0.6]])
    array([0.5108256], dtype=float32)
    """
    output = _float(output)
    target = _tensor(target)
    if "c" in (output.dtype.kind, target.dtype.kind):
        raise TypeError("Keras's cross-entropies take real values, got complex")
    with np.errstate(invalid="ignore"):
        target = target.astype(np.int64)
    if output.ndim < 1:
        raise ValueError("Argument `output` must be at least rank 1.")
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = np.squeeze(target, axis=axis)
    rest = list(output.shape)
    del rest[axis]
    if list(target.shape) != rest:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last "
            f"dimension: target.shape={target.shape}, output.shape={output.shape}"
        )
    classes = output.shape[axis]
    if np.any((target < 0) | (target >= classes)):
        raise ValueError(f"sparse_categorical_crossentropy: a target is outside [0, {classes})")
    log_p = _log_probabilities(output, output.dtype, from_logits, axis)
    picked = np.take_along_axis(log_p, np.expand_dims(target, axis), axis=axis)
    return np.asarray(-np.squeeze(picked, axis=axis)).astype(output.dtype)


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
