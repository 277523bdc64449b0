"""Raw kernels for NumPy users: the same C++ code the models run.

Every function accepts array-likes of a real numeric dtype (converted to
float32 once), releases the GIL while it computes, and returns float32 arrays.
Bad input raises ``TypeError`` (dtype) or ``ValueError`` (shape, value).
"""

from __future__ import annotations

import ast
import functools
import inspect
import re

from fastnn._core import ops as _ops


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
    positional = sum(
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
    "adagrad_update",
    "adam_update",
    "adamax_update",
    "adamw_update",
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
adagrad_update = _python_argument_errors(_ops.adagrad_update)
adam_update = _python_argument_errors(_ops.adam_update)
adamax_update = _python_argument_errors(_ops.adamax_update)
adamw_update = _python_argument_errors(_ops.adamw_update)
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
    import numpy as np

    return np.dtype("float32" if dtype is None else dtype)


def ones(shape, dtype=None):
    """Keras's ``ops.ones``: an array of ones, float32 unless `dtype`.

    >>> ones((2, 3)).dtype
    dtype('float32')
    """
    import numpy as np

    return np.ones(shape, dtype=_float_dtype(dtype))


def zeros(shape, dtype=None):
    """Keras's ``ops.zeros``: an array of zeros, float32 unless `dtype`."""
    import numpy as np

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
    import numpy as np

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
