"""Layers (``keras.layers``) for :class:`fastnn.models.Sequential`.

A layer describes its part of the network; the model compiles the whole list
into one C++ ``Network``. Once the model is built, a layer's weights are NumPy
views into the network's flat parameter buffer (kernel ``(in, units)``, then
bias ``(units,)``), so ``layer.get_weights()`` copies them and
``layer.set_weights()`` writes them in place.
"""

from __future__ import annotations

import functools
import math
import weakref
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from fastnn import activations as _activations
from fastnn import constraints as _constraints
from fastnn import initializers as _initializers
from fastnn import regularizers as _regularizers
from fastnn.utils.naming import check_name, check_trainable, to_snake_case
from fastnn.utils.seeding import next_seed
from fastnn.utils.tensors import as_torch_tensor, is_torch_tensor, plain_tensor

__all__ = [
    "ELU",
    "Activation",
    "ActivityRegularization",
    "AlphaDropout",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Flatten",
    "Reshape",
    "GaussianDropout",
    "GaussianNoise",
    "Identity",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Normalization",
    "PReLU",
    "ReLU",
    "Rescaling",
    "Softmax",
    "UnitNormalization",
    "deserialize",
    "serialize",
]

_name_counts: Dict[str, int] = {}


def _unique_name(base: str) -> str:
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _numeric(value, what: str) -> np.ndarray:
    """`value` as a float64 array; a TypeError unless it holds real numbers
    (np.asarray(..., float64) turned None into NaN and said "could not
    convert string to float")."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"variable.{what}(value): value must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _is_whole(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and math.isfinite(value) and value == int(value)


def _shape_tuple(shape, what: str) -> Tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if isinstance(shape, (str, bytes)):
        raise TypeError(f"{what} must be a tuple of ints, got {shape!r}")
    try:
        entries = tuple(shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of ints, got {shape!r}") from None
    if any(d is None for d in entries):  # Keras's "must be fully-defined", with the fix
        from fastnn.models import _ArgumentError

        raise _ArgumentError(
            f"{what} must be a tuple of ints, got {shape!r}: fastnn's layers take samples of a "
            "fixed size, so every dimension must be given (the batch axis is not part of "
            f"{what}; Input(shape=(None,)) means sequences of any length, which dense "
            "networks do not take)"
        )
    # whole numbers only (2.0 is 2): int() would truncate 2.5 to 2 and read "4" as 4
    if not all(_is_whole(d) for d in entries):
        raise TypeError(f"{what} must be a tuple of ints, got {shape!r}")
    shape = tuple(int(d) for d in entries)
    if not shape or any(d < 1 for d in shape):
        raise ValueError(f"{what} must be a non-empty tuple of positive ints, got {shape!r}")
    return shape


class _EagerArray(np.ndarray):
    """A float32 NumPy array for what Keras computes eagerly on arrays (a
    model or layer called on data, `Normalization`'s `mean`), which also
    answers the tensor methods scripts call on what Keras's torch backend
    returns, where NumPy has no method of that name: ``numpy()`` (a plain
    copy), ``detach()`` and ``cpu()`` (the array itself: fastnn computes on
    the CPU, outside autograd), so ``model(x).detach().cpu().numpy()`` runs.
    Names NumPy has keep NumPy's meaning: ``size`` is the number of elements
    (torch's ``size()`` is the shape), ``argmax``/``sum``/``max`` take
    ``axis=`` (torch's take ``dim=``). Arithmetic on it gives plain arrays.
    (An eager call on a torch tensor returns a torch tensor instead:
    `_torch_in_torch_out`.)"""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        def plain(a):
            return a.view(np.ndarray) if isinstance(a, _EagerArray) else a

        if "out" in kwargs:
            kwargs["out"] = tuple(plain(o) for o in kwargs["out"])
        return getattr(ufunc, method)(*(plain(i) for i in inputs), **kwargs)

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def numpy(self) -> np.ndarray:
        return np.array(self.view(np.ndarray))

    def detach(self) -> _EagerArray:
        return self

    def cpu(self) -> _EagerArray:
        return self


def _torch_in_torch_out(call):
    """An eager `__call__` (a model's or a layer's) that, given a torch
    tensor, computes on its values (detached, on the CPU, as `plain_tensor`
    takes them) and returns its float32 result as a CPU torch tensor that
    shares the result's memory (``requires_grad`` False), as Keras's torch
    backend returns tensors; anything else in, the call as it is."""

    @functools.wraps(call)
    def call_on_tensor(self, *args, **kwargs):
        if not args or type(args[0]) is np.ndarray or not is_torch_tensor(args[0]):
            return call(self, *args, **kwargs)
        return as_torch_tensor(call(self, plain_tensor(args[0]), *args[1:], **kwargs))

    return call_on_tensor


def _is_symbolic_call(inputs) -> bool:
    """Whether a layer call builds a functional graph (an `Input`, or what
    a layer called on one returned, or a list holding one) rather than
    computing on data."""
    from fastnn.functional import is_symbolic

    return is_symbolic(inputs) or (
        isinstance(inputs, (list, tuple)) and any(is_symbolic(i) for i in inputs)
    )


def _eager_values(layer, inputs, args, kwargs) -> np.ndarray:
    """The values of an eager call of a weightless layer (`Activation`,
    `Dropout`, `Flatten`, ...) as a new float32 array (Keras's layers
    compute in float32), after Keras's call arguments: ``training`` and a
    ``mask`` of None."""
    if args or set(kwargs) - {"training", "mask"}:
        raise TypeError(f"Layer {layer.name!r}: unsupported call arguments")
    if kwargs.get("mask") is not None:
        raise ValueError(f"Layer {layer.name!r}: masks are not supported by fastnn")
    x = np.asarray(inputs)
    if x.dtype.kind not in "biuf":
        raise TypeError(
            f"{type(layer).__name__} layer {layer.name!r} needs real numbers, got dtype {x.dtype}"
        )
    return np.array(x, dtype=np.float32)


def _batch_shape(input_shape, where: str) -> tuple:
    """`input_shape` with its batch axis first (None or an int), checked."""
    try:
        shape = tuple(None if d is None else int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a shape tuple, got {input_shape!r}") from None
    if len(shape) < 2 or any(d is None or d < 0 for d in shape[1:]):
        raise ValueError(
            f"{where}: expected a shape with the batch axis first and known sizes after it "
            f"(e.g. (None, 784)), got {input_shape!r}"
        )
    return shape


class Variable(np.ndarray):
    """A weight as Keras 3 shows it: a float32 NumPy view into the model's
    parameter buffer (writing to it changes the model) with Keras's `name`
    ("kernel", "bias"), `path` ("sequential/dense/kernel"), `trainable`,
    `numpy()` (a copy) and `assign(value)`. Arithmetic on it gives plain
    arrays."""

    def __new__(cls, view: np.ndarray, name: str, path: str, layer: Layer):
        obj = view.view(cls)
        obj._keras_name, obj._keras_path, obj._layer = name, path, layer
        return obj

    def __array_finalize__(self, obj):
        self._keras_name = getattr(obj, "_keras_name", None)
        self._keras_path = getattr(obj, "_keras_path", None)
        self._layer = getattr(obj, "_layer", None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        def plain(a):
            return a.view(np.ndarray) if isinstance(a, Variable) else a

        if "out" in kwargs:
            kwargs["out"] = tuple(plain(o) for o in kwargs["out"])
        return getattr(ufunc, method)(*(plain(i) for i in inputs), **kwargs)

    @property
    def name(self) -> str:
        return self._keras_name

    @property
    def path(self) -> str:
        return self._keras_path

    @property
    def trainable(self) -> bool:
        layer = self._layer
        return (
            layer is not None
            and layer.trainable
            and self._keras_name not in layer._STATE_NAMES
            and self._keras_name not in layer._STATISTIC_NAMES
        )

    @property
    def constraint(self):
        """The layer's constraint on this weight (a Dense's
        `kernel_constraint` / `bias_constraint`), or None, as Keras's.
        Assigning it sets the layer's argument (checked alike)."""
        return getattr(self._layer, f"{self._keras_name}_constraint", None)

    @constraint.setter
    def constraint(self, value) -> None:
        key = f"{self._keras_name}_constraint"
        if self._layer is None or not hasattr(type(self._layer), key):
            raise AttributeError(f"weight {self._keras_name!r} takes no constraint in fastnn")
        setattr(self._layer, key, value)

    def numpy(self) -> np.ndarray:
        return np.array(self.view(np.ndarray))

    @property
    def value(self) -> np.ndarray:
        """The array itself (Keras's `variable.value`)."""
        return self.view(np.ndarray)

    def assign_add(self, delta) -> Variable:
        return self.assign(self.view(np.ndarray) + self._delta(delta, "assign_add"))

    def assign_sub(self, delta) -> Variable:
        return self.assign(self.view(np.ndarray) - self._delta(delta, "assign_sub"))

    def _delta(self, delta, what: str) -> np.ndarray:
        """`assign_add`'s and `assign_sub`'s value: numbers that broadcast
        to the variable's shape, else a ValueError naming both shapes."""
        arr = _numeric(delta, what)
        try:
            fits = np.broadcast_shapes(self.shape, arr.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"variable.{what}(value): value of shape {arr.shape} does not broadcast to the "
                f"variable's shape {self.shape}. Target variable: {self!r}"
            )
        return arr

    def _assigned(self, value) -> np.ndarray:
        """`assign`'s value as a float64 array of this variable's shape, else
        Keras's errors (a TypeError for a value that is not numeric)."""
        arr = _numeric(value, "assign")
        if arr.shape != self.shape:
            raise ValueError(
                f"The shape of the target variable and the shape of the target value in "
                f"`variable.assign(value)` must match. variable.shape={self.shape}, "
                f"Received: value.shape={arr.shape}. Target variable: {self!r}"
            )
        return arr

    def assign(self, value) -> Variable:
        """Writes `value` (this shape, finite) in place, as Keras's assign.

        Raises:
            TypeError: a value that is not numeric (object, str, complex).
            ValueError: another shape, or NaN/Inf (as float32), as `set_weights`.
        """
        arr = self._assigned(value)
        with np.errstate(over="ignore"):  # beyond float32's range is Inf: refused
            finite = np.isfinite(arr.astype(np.float32)).all()
        if not finite:
            raise ValueError(
                f"variable.assign(value): value contains NaN or Inf (as float32). "
                f"Target variable: {self!r}"
            )
        self.view(np.ndarray)[...] = arr
        return self

    def __repr__(self) -> str:
        return (
            f"<Variable path={self._keras_path}, shape={self.shape}, dtype={self.dtype.name}, "
            f"value={np.array2string(self.view(np.ndarray))}>"
        )

    def __reduce__(self):  # pickles/copies as the plain array it is
        return np.array(self).__reduce__()

    def __deepcopy__(self, memo):
        """A layer's weight copies as a plain array (see `__reduce__`); a
        metric's variable (no layer) as a Variable of its own."""
        if self._layer is not None:
            return np.array(self)
        return Variable(np.array(self), self._keras_name, self._keras_path, None)


_UNSET = object()


class _Hyperparameter:
    """A layer argument the engine (or the model's input pipeline) copies
    when the model is built. Keras reads such attributes at each call, so
    assigning one is checked as the constructor checks it (`check(layer,
    value)` returns what is kept or raises the constructor's error) and then
    takes effect: once the layer runs in a built model it is described to
    the engine again (`Layer._hyperparameter_changed`), weights and
    optimizer state kept. An error, from the check or from the engine,
    leaves the old value.

    The value lives in the instance ``__dict__`` under its own name (so
    pickles, copies and `vars` see a plain attribute).

    Args:
        check: validates and converts a value, as the constructor does.
        shape: the argument sets the shape of the weights, so it cannot
            change once the layer has weights (AttributeError).
        engine: the built model depends on it; False for arguments used
            only while weights are created (initializers) or fixed.
        default: the value of a layer unpickled from before it was stored.
    """

    def __init__(self, check, shape: bool = False, engine: bool = True, default=_UNSET):
        self.check, self.shape, self.engine, self.default = check, shape, engine, default

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        value = layer.__dict__.get(self.name, self.default)
        if value is _UNSET:
            raise AttributeError(f"'{type(layer).__name__}' object has no attribute '{self.name}'")
        return value

    def __set__(self, layer, value) -> None:
        first = self.name not in layer.__dict__  # the constructor's assignment
        if not first and self.shape and layer._weights:
            raise AttributeError(
                f"{type(layer).__name__} layer {layer.name!r}: `{self.name}` sets the shape of "
                "its weights, so it cannot change once the layer is built; create a new layer "
                "instead (set_weights copies the weights that keep their shape)"
            )
        value = self.check(layer, value)
        old = layer.__dict__.get(self.name, _UNSET)
        layer.__dict__[self.name] = value
        if first or not self.engine or _same_value(old, value):
            return
        try:
            layer._hyperparameter_changed()
        except BaseException:
            layer.__dict__[self.name] = old
            raise


def _same_value(a, b) -> bool:
    """Whether an assignment leaves a scalar argument as it was (arrays
    are taken as new)."""
    if type(a) is not type(b) or isinstance(a, np.ndarray):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _activation_argument(layer: Layer, value):
    """`activation` of a Dense or Activation layer, as the constructor takes
    it; the subclasses of Activation set theirs once, from their arguments."""
    if "activation" in layer.__dict__ and not getattr(layer, "_ACTIVATION_ARGUMENT", True):
        raise AttributeError(
            f"{type(layer).__name__} layer {layer.name!r} computes {layer.activation!r} from "
            "its own arguments; its `activation` cannot be set (set those arguments, or use an "
            "Activation layer)"
        )
    if isinstance(value, Activation) and not _is_custom_layer(value):
        return value  # an activation layer as the activation, as Keras calls it
    if isinstance(value, dict) and value.get("class_name", "function") != "function":
        value = deserialize(value)  # an activation layer's config, as Keras takes it
        if isinstance(value, Activation) and not _is_custom_layer(value):
            return value
    if isinstance(value, Layer):
        raise TypeError(
            f"activation may be one of fastnn's activation layers (Activation, ReLU, "
            f"LeakyReLU, ELU, Softmax); {type(value).__name__} layer {value.name!r} is not one"
        )
    return _activations.named(value)


def _activation_spec(activation) -> dict:
    """The activation's part of a layer spec; an activation layer's own
    (its kernel and parameters)."""
    if isinstance(activation, Activation):
        spec = dict(activation._spec((1,)))
        del spec["type"]
        return spec
    return _activations.spec(activation)


def _apply_activation(activation, z: np.ndarray) -> np.ndarray:
    """`activation` on an array (a layer's eager call), by the C++ kernels."""
    if not isinstance(activation, Activation):
        if _activations.kernel_name(activation) == "linear":
            return z
        return _activations.named(activation)(z)
    from fastnn import ops

    spec = _activation_spec(activation)
    if "activation_max_value" in spec:
        param = (
            spec["activation_param"],
            spec["activation_max_value"],
            spec["activation_threshold"],
        )
    else:
        param = spec.get("activation_param")
    return ops.activation(z, spec["activation"], param)


def _serialize_activation(activation):
    """An activation for a config: its name, or an activation layer's config
    (as Keras writes one)."""
    return serialize(activation) if isinstance(activation, Activation) else activation


def _regularizer_argument(name: str):
    """The check of a Dense regularizer, as the constructor checks it (one
    the C++ engine computes)."""

    def check(layer: Layer, value):
        regularizer = _regularizers.get(value)
        _regularizers.penalty_factors(regularizer, f"{type(layer).__name__} {layer.name!r} {name}")
        return regularizer

    return check


def _constraint_argument(name: str):
    """The check of a Dense constraint (one the C++ engine applies)."""

    def check(layer: Layer, value):
        constraint = _constraints.get(value)
        _constraints.engine_spec(
            constraint, 2 if name == "kernel_constraint" else 1, f"Dense {layer.name!r} {name}"
        )
        return constraint

    return check


def _initializer_argument(layer: Layer, value):
    return _initializers.get(value)  # None stays None: see _drawn_by


def _drawn_by(initializer):
    """The initializer a weight is drawn with: Keras's `add_weight` draws a
    float weight whose initializer is None with glorot_uniform (a bias, a
    BatchNormalization gamma too)."""
    return initializer if initializer is not None else _initializers.GlorotUniform()


def _flag_argument(layer: Layer, value) -> bool:
    return bool(value)


_ADD_LOSS_REFUSAL = (
    "add_loss adds a value computed in Python (in a layer's call()) to the loss; fastnn "
    "computes its layers, losses and their gradients in C++ and has no automatic "
    "differentiation of Python code, so it cannot train with an added loss. For penalties "
    "on weights or outputs use kernel_regularizer / bias_regularizer / activity_regularizer "
    "or the ActivityRegularization layer; they join the loss and its gradient as Keras's do."
)


def _custom_layer_message(layer) -> str:
    """Why a user's Layer subclass (its own `build`/`call`) cannot run."""
    return (
        f"Layer {getattr(layer, 'name', '?')!r} ({type(layer).__name__}) is a custom layer: "
        "fastnn's C++ engine runs only fastnn's own layers (Dense, Activation, Dropout, "
        "BatchNormalization, ...) and has no automatic differentiation of a Python `call()`. "
        "Build the model from fastnn.layers."
    )


def _is_custom_layer(layer) -> bool:
    """A subclass of Layer that fastnn cannot run: not one of fastnn's (it
    cannot describe itself to the engine), or one of them with the user's
    own `call` (which the engine would ignore)."""
    cls = type(layer)
    if cls._spec is Layer._spec:
        return True
    return any("call" in klass.__dict__ for klass in cls.__mro__ if klass.__module__ != __name__)


def _check_flat_samples(layer, input_shape) -> None:
    """A ValueError unless the layer's samples have one axis (features)."""
    if len(input_shape) != 1:
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r} takes 1-D features per sample, got "
            f"input shape {tuple(input_shape)}: Keras's would act on the last axis, keeping "
            f"{tuple(input_shape[:-1])}, which fastnn does not do; add a Flatten layer before "
            "it to act on all the features of each sample instead"
        )


def _check_rebuild(layer, features: int, input_shape) -> None:
    """A ValueError when a built layer is built again for another width:
    its weights are made for `features` inputs (Keras refuses any second
    build: "You cannot add new elements of state ... to a layer that is
    already built"; the same width again changes nothing here)."""
    if int(input_shape[-1]) != features:
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r} is already built for inputs of "
            f"shape (None, {features}); it cannot be built again for input shape "
            f"{tuple(input_shape)!r}: its weights are made for {features} features. "
            "Use a new layer for the new width"
        )


def _incompatible_width(layer, input_shape, model=None) -> Optional[ValueError]:
    """Keras's InputSpec error when a built layer (its weights made for some
    width) meets samples of another width (`input_shape` without the batch
    axis); None when it is not built or the width matches. Raised where a
    model (`model`) is built on the layer or the layer is called on a
    symbolic input, before anything changes (the layer keeps its weights);
    the message also names another built model that runs the layer."""
    width = layer._built_width()
    if width is None or not input_shape or int(input_shape[-1]) == width:
        return None
    shared = ""
    for other in list(layer.__dict__.get("_models", ())):
        if other is not model and getattr(other, "_net", None) is not None:
            if layer in other._layers:
                shapes = [tuple(w.shape) for w in layer._weights]
                shared = (
                    f" (layer {layer.name!r} is shared with model {other.name!r}, where its "
                    f"weights have shapes {shapes})"
                )
                break
    return ValueError(
        f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected axis -1 "
        f"of input shape to have value {width}, but received input with shape "
        f"{(None, *tuple(input_shape))}{shared}"
    )


class Layer:
    """Base class: name, whether it trains, the input shape the layer was
    given (legacy ``input_shape=`` / ``input_dim=``) and, once built, views
    of its weights.

    ``trainable=False`` (or setting ``layer.trainable = False`` at any time,
    also between steps from a callback) freezes the layer as in Keras 3: its
    weights get no update, no weight decay and no share of the global
    gradient norm, and its regularization penalty leaves the loss; they
    still take part in the forward pass and in saving.
    """

    # The last weights, by name, that live in the engine's state buffer
    # (``net.state_views()``) rather than among its parameters: never trained.
    _STATE_NAMES: Tuple[str, ...] = ()
    # Weights that are statistics, never trained, kept outside the engine
    # (Normalization's mean, variance, count): non-trainable as Keras's.
    _STATISTIC_NAMES: Tuple[str, ...] = ()
    # Keras builds these weightless layers when they are created (its summary
    # of an unbuilt model counts them as 0 parameters, not "0 (unbuilt)").
    _BUILT_WHEN_CREATED = False

    def __init__(
        self,
        name: Optional[str] = None,
        input_shape=None,
        input_dim=None,
        trainable=True,
        **kwargs,
    ):
        if name is not None:
            check_name(name)  # Keras's refusal, before anything changes
        trainable = check_trainable(trainable)
        # Keras options fastnn has only at their defaults (dtype float32, no
        # constraints or activity regularizer ...): accepted at those
        for key in [k for k in kwargs if k in _KERAS_ONLY_DEFAULTS]:
            value = kwargs.pop(key)
            if not _KERAS_ONLY_DEFAULTS[key](value):
                raise ValueError(
                    f"{type(self).__name__}: {key}={value!r} is not supported by fastnn "
                    "(only its Keras default)"
                )
        if kwargs:
            raise ValueError(_unrecognized_kwargs_message(type(self).__name__, kwargs))
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape = (
            None if input_shape is None else _shape_tuple(input_shape, "input_shape")
        )
        self.name = name or _unique_name(to_snake_case(type(self).__name__))
        self._owner = None  # weakref to the model whose buffer holds the weights
        self._weights: List[np.ndarray] = []
        self.built = False
        self.trainable = trainable

    @property
    def trainable(self) -> bool:
        """Whether the layer's weights train (settable; Keras's bool(value))."""
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)

    # -- shapes --------------------------------------------------------------
    def compute_output_shape(self, input_shape) -> Tuple:
        """Keras's `compute_output_shape`: the output shape for `input_shape`,
        both with the batch axis first (None or a number, kept as it is).

        Raises:
            ValueError: a shape without a batch axis, or one the layer cannot
                take (e.g. 2-D samples into `Dense`).
        """
        shape = _batch_shape(input_shape, f"{type(self).__name__}.compute_output_shape")
        return (shape[0], *self._sample_output_shape(shape[1:]))

    def _sample_output_shape(self, input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
        """Output shape (without the batch axis) for `input_shape`."""
        return tuple(input_shape)

    # -- weights -------------------------------------------------------------
    @property
    def weights(self) -> List[np.ndarray]:
        """The weights as `Variable` views into the model's parameter buffer
        (empty before build): kernel, then bias."""
        prefix = self.path or self.name
        # The same Variable objects while the views and path stay (Keras's
        # `layer.kernel is layer.kernel`: an optimizer built on them finds
        # them again at its next apply_gradients).
        cached = self.__dict__.get("_variables")
        if cached is not None and cached[0] is self._weights and cached[1] == prefix:
            return list(cached[2])
        names = self._weight_names()
        variables = [
            Variable(view, name, f"{prefix}/{name}", self)
            for view, name in zip(self._weights, names)
        ]
        self.__dict__["_variables"] = (self._weights, prefix, variables)
        return list(variables)

    @property
    def path(self) -> Optional[str]:
        """Keras's layer path: ``"<model>/<layer>"`` in a Sequential, the
        layer's name in a functional model, None outside a model."""
        owner = self._owner() if self._owner is not None else None
        if owner is None or isinstance(self, InputLayer):
            return None
        if hasattr(owner, "_input_layer"):  # a functional model: the name alone
            return self.name
        return f"{owner.name}/{self.name}"

    def _weight_names(self) -> List[str]:
        return ["kernel", "bias"][: len(self._weights)]

    @property
    def dtype(self) -> str:
        """The weights' and computations' dtype: always float32."""
        return "float32"

    # Keras 3's dtype-policy view of it (`fastnn.mixed_precision`): float32 throughout
    compute_dtype = dtype
    variable_dtype = dtype

    @property
    def dtype_policy(self):
        """``DTypePolicy("float32")``, as Keras's `layer.dtype_policy`."""
        from fastnn.mixed_precision import DTypePolicy

        return DTypePolicy("float32")

    @property
    def trainable_weights(self) -> List[np.ndarray]:
        """`weights` when the layer is trainable, else none."""
        return self.weights if self.trainable else []

    @property
    def losses(self) -> List[float]:
        """Keras 3's ``layer.losses`` (floats here): the activity
        regularizer's penalty of the last forward pass of the model holding
        the layer (none before one), then the regularization penalties of its
        weights while it trains, kernel first, as in `Model.losses`."""
        owner = self._owner() if self._owner is not None else None
        out = []
        if owner is not None and getattr(self, "activity_regularizer", None) is not None:
            activity = owner._activity_losses_by_layer()
            if id(self) in activity:
                out.append(activity[id(self)])
        if self.trainable and (owner is None or owner._trainable):
            out += self._weight_penalties()
        return out

    def _weight_penalties(self) -> List[float]:
        """The penalties of the kernel's and the bias's regularizers (those
        the layer has, once built), kernel first."""
        out = []
        for name in ("kernel", "bias"):
            regularizer = getattr(self, f"{name}_regularizer", None)
            weight = getattr(self, name, None) if regularizer is not None else None
            if weight is not None:
                out.append(float(regularizer(weight)))
        return out

    @property
    def non_trainable_weights(self) -> List[np.ndarray]:
        """`weights` when the layer is frozen, else none."""
        return [] if self.trainable else self.weights

    # Keras 3's other names for the same lists (no metric or seed state here);
    # properties that read the subclass's lists (BatchNormalization's moving
    # statistics, Normalization's mean/variance/count are non-trainable)
    @property
    def variables(self) -> List[np.ndarray]:
        """Keras 3's name for `weights`."""
        return self.weights

    @property
    def trainable_variables(self) -> List[np.ndarray]:
        """Keras 3's name for `trainable_weights`."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> List[np.ndarray]:
        """Keras 3's name for `non_trainable_weights`."""
        return self.non_trainable_weights

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the layer's weights (kernel, bias)."""
        return [w.copy() for w in self._weights]

    def set_weights(self, weights: Sequence) -> None:
        """Writes `weights` (same count and shapes as ``get_weights()``) in place."""
        arrays = _checked_weights(self._weights, weights, f"layer {self.name!r}")
        for view, value in zip(self._weights, arrays):
            view[...] = value

    def count_params(self) -> int:
        """The number of values in the layer's weights.

        Raises:
            ValueError: the layer has a build step (weights, or Flatten's,
                Normalization's and Rescaling's shape-dependent state) and is
                not built yet, in Keras's words.
        """
        if not self.built and self._has_build_step():
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                "built. You can build it manually via: `layer.build(input_shape)`."
            )
        return int(sum(w.size for w in self._weights))

    def _has_build_step(self) -> bool:
        """Whether the layer's Keras twin is unbuilt until it sees its input
        shape (the others are built when created)."""
        return hasattr(self, "build") or isinstance(self, (Flatten, Normalization, Rescaling))

    # -- the symbolic graph (Keras's layer.input / layer.output) -----------------
    @property
    def input(self):
        """The symbolic input of the layer's first call, as Keras's
        `layer.input`: what it was called on in a functional model, or the
        previous layer's output (the model's Input first) in the Sequential
        model that built it.

        Raises:
            AttributeError: the layer was never called nor built in a model
                with a known input shape (Keras's message).
        """
        return self._symbolic("input")

    @property
    def output(self):
        """The symbolic output of the layer's first call, as Keras's
        `layer.output`: ``Model(inputs=model.inputs, outputs=layer.output)``
        makes a model of the layers up to this one, sharing their weights.

        Raises:
            AttributeError: as `input`.
        """
        return self._symbolic("output")

    def _symbolic(self, what: str):
        # Keras's first node: the chain of the Sequential that built the
        # layer, else the functional call that made it (a later call of the
        # model in another graph does not change it).
        tensor = None
        ref = self.__dict__.get("_owner")
        model = ref() if ref is not None else None
        if model is not None and self in model._layers and not hasattr(model, "_input_layer"):
            tensor = model._symbolic_node(self, what)
        if tensor is None:
            tensor = self.__dict__.get(f"_call_{what}")  # set by a functional call
        if tensor is None:
            raise AttributeError(
                f"The layer {self.name} has never been called and thus has no defined {what}."
            )
        return tensor

    def __getstate__(self) -> dict:
        """Pickles and deep-copies as a layer of no model (the owner is a weak
        reference, and a copy's weights cannot live in the model's buffer):
        the weights come along as plain arrays, kept when the copy is added to
        a model of the same shapes."""
        state = self.__dict__.copy()
        state["_owner"] = None
        state.pop("_models", None)
        state.pop("_call_input", None)  # the symbolic graph stays with the original
        state.pop("_call_output", None)
        state.pop("_variables", None)
        state["_weights"] = [np.array(w, copy=True) for w in self._weights]  # (int32 counts too)
        return state

    def get_build_config(self) -> Optional[dict]:
        """Keras's: ``{"input_shape": (None, *shape)}`` of the input the layer
        was built for (in a built model, or by its own `build`), else None."""
        shape = self._built_input_shape()
        if shape is None:
            return None
        owner = self._owner() if self._owner is not None else None
        batch = owner._batch_dim() if owner is not None and self in owner._layers else None
        return {"input_shape": (batch, *shape)}  # (the batch axis of the model's Input)

    def build_from_config(self, config) -> None:
        """Keras's: ``build(config["input_shape"])`` for a layer with
        weights to create; nothing for None or a layer without `build`."""
        if config and config.get("input_shape") is not None and hasattr(self, "build"):
            self.build(tuple(config["input_shape"]))

    def _built_input_shape(self) -> Optional[tuple]:
        # Keras records it for the layers with a build step of their own
        # (weights, or Flatten/Normalization/Rescaling's shape-dependent state)
        if not self._has_build_step():
            return None
        owner = self._owner() if self._owner is not None else None
        if owner is not None and owner.built and self in owner._layers:
            shape = tuple(owner._input_shape)
            for layer in owner._layers:
                if layer is self:
                    return shape
                shape = tuple(layer._sample_output_shape(shape))
        return self.__dict__.get("_build_shape")

    def add_loss(self, loss) -> None:
        """Keras's `add_loss`, refused: see `_ADD_LOSS_REFUSAL`."""
        raise NotImplementedError(_ADD_LOSS_REFUSAL)

    def get_config(self) -> dict:
        """Keras 3's base layer config: name, trainable and the float32 dtype
        policy (as Keras writes it: no ``batch_input_shape``, the model's
        InputLayer holds the input shape)."""
        return {"name": self.name, "trainable": self.trainable, "dtype": _float32_policy_config()}

    @classmethod
    def from_config(cls, config: dict):
        """Creates a layer from `get_config()`'s output, or from the config
        Keras 3 writes for the same layer.

        Keras-only keys are accepted at their defaults (``dtype`` float32,
        no constraints or LoRA); initializers may be
        Keras-serialized dicts. Legacy ``batch_input_shape`` becomes
        ``input_shape``.

        Raises:
            ValueError: an unknown key, or a Keras-only option fastnn does
                not support at a non-default value (named in the message).
        """
        if not isinstance(config, dict):
            raise TypeError(f"{cls.__name__}.from_config takes a dict, got {type(config).__name__}")
        config = dict(config)
        batch_input_shape = config.pop("batch_input_shape", None)
        if batch_input_shape is not None and config.get("input_shape") is None:
            config["input_shape"] = tuple(batch_input_shape)[1:]
        accepted = _init_parameters(cls)
        kwargs = {}
        for key, value in config.items():
            if key in accepted:
                kwargs[key] = _deserialize_argument(key, value)
            elif key in _KERAS_ONLY_DEFAULTS:
                if not _KERAS_ONLY_DEFAULTS[key](value):
                    raise ValueError(
                        f"{cls.__name__} config: {key}={value!r} is not supported by fastnn "
                        "(only its Keras default)"
                    )
            else:
                raise ValueError(
                    f"Unknown key {key!r} in the config of {cls.__name__}; accepted: "
                    + ", ".join(sorted(accepted))
                )
        return cls(**kwargs)

    def _spec(self, input_shape) -> Optional[dict]:
        """The C++ layer description, or None for a pure reshape."""
        raise NotImplementedError(_custom_layer_message(self))

    def __call__(self, inputs, *args, **kwargs):
        """Keras's functional API: called on `Input(shape=...)` (or on what
        such a call returned) it returns a symbolic tensor for
        `fastnn.Model(inputs, outputs)` (see fastnn.functional). Every
        built-in layer also computes on arrays (and torch tensors), as Keras's
        eager call: its own `__call__` does that."""
        from fastnn.functional import call_layer

        return call_layer(self, inputs, args, kwargs)

    def _init_weights(self) -> List[np.ndarray]:
        return []

    def _built_width(self) -> Optional[int]:
        """The input width the layer's weights are made for, once it has
        them (None: no weights, or weights that fit any width)."""
        return None

    def _hyperparameter_changed(self) -> None:
        """Applies a new value of a `_Hyperparameter` (already stored):
        Keras reads it at the next call, fastnn describes the layer to the
        engine again. Raises, leaving the model as it was, when the engine
        refuses the new description."""
        self._redescribe()

    def _redescribe(self) -> None:
        """Rebuilds the network of the model this layer runs in from the
        layers' current descriptions, as `add` and `pop` rebuild it, but
        keeping everything else: the weights (and moving statistics), the
        optimizer's state built for the network (the layout is the same),
        the engine's step count and the seeds the Dropout and noise layers
        drew, so the change takes effect at the next step and nothing else
        moves. Nothing to do outside a built model: the layer's `_spec` reads
        the value when a model is built.

        Raises:
            RuntimeError: the model is training in another thread (its
                running steps use the network); from one of its callbacks,
                in the same thread, the change applies from the next step.
            ValueError: the engine refuses the new description; the model
                is left as it was.
        """
        models = list(self.__dict__.get("_models", ()))  # a weightless layer may be shared
        owner = self._owner() if self._owner is not None else None
        if owner is not None and owner not in models:
            models.append(owner)
        for model in models:
            if getattr(model, "_net", None) is not None and self in model._layers:
                self._redescribe_in(model)

    def _redescribe_in(self, model) -> None:
        """`_redescribe` for one built model that runs this layer."""
        with model._exclusive(f"changing layer {self.name!r}"):
            previous = model._net
            saved = [(obj, dict(obj.__dict__)) for obj in (model, *model._layers)]
            for layer in model._layers:
                layer._keep_built = True  # seeds and weights as they are (see _spec)
            try:
                model._build_network()  # replaces model._net once the new one is complete
            except BaseException:
                for obj, attributes in saved:
                    obj.__dict__.clear()
                    obj.__dict__.update(attributes)
                raise
            finally:
                for layer in model._layers:
                    layer.__dict__.pop("_keep_built", None)
            net = model._net
            net.iterations = previous.iterations  # the dropout and noise streams go on
            # build resolves the metrics again: the model keeps the objects it had
            for key in ("_metrics", "_metric_names", "_metric_weighted"):
                if key in saved[0][1]:
                    setattr(model, key, saved[0][1][key])
            if model._optimizer_net is previous and _same_layout(previous, net):
                model._optimizer_net = net  # its slots stay where the weights are
                flat_net = getattr(model.optimizer, "_flat_net", None)
                if flat_net is not None and flat_net() is previous:
                    model.optimizer._flat_net = weakref.ref(net)

    def _keeps_built(self) -> bool:
        """Whether `_redescribe` is rebuilding: keep seeds and weights."""
        return bool(self.__dict__.get("_keep_built"))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"  # Keras 3


def _same_layout(a, b) -> bool:
    """Whether two networks lay out their parameters alike (the optimizer's
    slots of one fit the other)."""
    return a.buffer_size == b.buffer_size and [(t["offset"], t["shape"]) for t in a.tensors()] == [
        (t["offset"], t["shape"]) for t in b.tensors()
    ]


class InputLayer(Layer):
    """The model's input: ``shape`` without the batch axis."""

    def __init__(self, shape=None, batch_size=None, name=None, batch_shape=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if batch_shape is not None:  # Keras 3's form: the batch axis first
            if shape is not None:
                raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
            if batch_size is not None:
                raise ValueError(
                    "You cannot pass both `batch_size` and `batch_shape` at the same time."
                )
            batch_shape = tuple(batch_shape)
            if not batch_shape:
                raise ValueError("`batch_shape` must include the batch axis, e.g. (None, 784)")
            batch_size, shape = batch_shape[0], batch_shape[1:]
        if shape is None:
            raise ValueError("Input needs shape=, e.g. Input(shape=(784,))")
        super().__init__(name=name, input_shape=shape, **kwargs)
        self.batch_size = batch_size

    def get_config(self) -> dict:
        return _input_layer_config((self.batch_size, *self._input_shape), self.name)

    # As Keras's `Input` returns a KerasTensor: the functional API's start.
    @property
    def shape(self) -> tuple:
        """``(batch_size, *shape)``, as Keras's KerasTensor (batch None)."""
        return (self.batch_size, *self._input_shape)

    @property
    def dtype(self) -> str:
        return "float32"

    @property
    def ndim(self) -> int:
        return 1 + len(self._input_shape)

    def __call__(self, inputs, *args, **kwargs):
        raise TypeError("An Input is not called on data; call layers on it instead")

    def _symbolic(self, what: str):
        return self  # an Input is its own symbolic tensor, as Keras's

    @classmethod
    def from_config(cls, config: dict):
        """From ``{"batch_shape": (None, 784), "name": ...}`` (Keras 3's keys,
        ``dtype``/``sparse``/``ragged`` at their defaults) or legacy
        ``batch_input_shape``."""
        if not isinstance(config, dict):
            raise TypeError(f"InputLayer.from_config takes a dict, got {type(config).__name__}")
        config = dict(config)
        batch_shape = config.pop("batch_shape", None)
        if batch_shape is None:
            batch_shape = config.pop("batch_input_shape", None)
        if batch_shape is not None:
            batch_shape = tuple(batch_shape)
            if not batch_shape:
                raise ValueError("InputLayer config: batch_shape must include the batch axis")
            config.setdefault("shape", batch_shape[1:])
            config.setdefault("batch_size", batch_shape[0])
        return super().from_config(config)


def Input(shape=None, batch_size=None, name=None, batch_shape=None, **kwargs) -> InputLayer:
    """The input of a model: first in a Sequential's layers, or called on by
    layers for a functional `fastnn.Model` (``x = Dense(64)(inputs)``).

    `shape` excludes the batch axis; Keras's `batch_shape` (e.g. ``(None, 784)``)
    includes it and replaces `shape` and `batch_size`."""
    return InputLayer(
        shape=shape, batch_size=batch_size, name=name, batch_shape=batch_shape, **kwargs
    )


class Dense(Layer):
    """``activation(x @ kernel + bias)``: kernel ``(in, units)``, bias ``(units,)``.

    Args:
        units: output width, a positive int.
        activation: None (linear), a Keras string id, a function of
            ``fastnn.activations``, or an activation layer (``LeakyReLU(0.2)``,
            ``ReLU(max_value=6)``, ``ELU``, ``Softmax``, ``Activation``), as
            Keras takes them. Defaults to `None`.
        use_bias: whether to add a bias. Defaults to `True`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: None, a ``fastnn.regularizers`` L1, L2 or L1L2
            (or its id, e.g. ``"l2"``): its penalty joins the loss and its
            gradient the kernel's. Defaults to `None`.
        bias_regularizer: the same for the bias. Defaults to `None`.
        activity_regularizer: the same kinds, on the layer's output ``y``:
            ``(l1 * sum|y| + l2 * sum y**2) / batch_size`` joins the loss
            (Keras 3 divides by the batch size), in training and
            evaluation alike. On the model's softmax or sigmoid output the
            cross-entropy is then computed from the probabilities, as Keras's
            torch backend does. Defaults to `None`.
        kernel_constraint: None, a ``fastnn.constraints`` MaxNorm,
            MinMaxNorm, NonNeg or UnitNorm (or its id, e.g. ``"max_norm"``):
            the kernel is projected after every optimizer step while the
            layer trains, as Keras's optimizer does. Defaults to `None`.
        bias_constraint: the same for the bias. Defaults to `None`.

    As in Keras, `activation`, the regularizers and the constraints may be
    reassigned later
    (checked as here); a built model applies them from its next step.
    `units` and `use_bias` set the weights' shapes: fixed once built.

    Input shape ``(batch, in)``; output shape ``(batch, units)``.

    >>> layer = Dense(10, activation="softmax")
    """

    units = _Hyperparameter(lambda layer, value: _dense_units(value), shape=True)
    activation = _Hyperparameter(_activation_argument)
    use_bias = _Hyperparameter(_flag_argument, shape=True)
    kernel_initializer = _Hyperparameter(_initializer_argument, engine=False)
    bias_initializer = _Hyperparameter(_initializer_argument, engine=False)
    kernel_regularizer = _Hyperparameter(_regularizer_argument("kernel_regularizer"))
    bias_regularizer = _Hyperparameter(_regularizer_argument("bias_regularizer"))
    activity_regularizer = _Hyperparameter(_regularizer_argument("activity_regularizer"))
    kernel_constraint = _Hyperparameter(_constraint_argument("kernel_constraint"))
    bias_constraint = _Hyperparameter(_constraint_argument("bias_constraint"))

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self._in = None

    def _sample_output_shape(self, input_shape):
        _check_flat_samples(self, input_shape)
        return (self.units,)

    def _spec(self, input_shape):
        self._in = input_shape[0]
        weights = self._initial_weights()
        if not _keeps_weights(self, weights):
            _check_initializers(self, weights)
        what = f"Dense {self.name!r}"
        kernel_penalty = _regularizers.penalty_factors(self.kernel_regularizer, what)
        bias_penalty = _regularizers.penalty_factors(self.bias_regularizer, what)
        activity_penalty = _regularizers.penalty_factors(self.activity_regularizer, what)
        return {
            "type": "dense",
            "units": self.units,
            **_activation_spec(self.activation),
            "use_bias": self.use_bias,
            "kernel_l1": kernel_penalty[0],
            "kernel_l2": kernel_penalty[1],
            "bias_l1": bias_penalty[0],
            "bias_l2": bias_penalty[1],
            "activity_l1": activity_penalty[0],
            "activity_l2": activity_penalty[1],
            "kernel_constraint": _constraints.engine_spec(
                self.kernel_constraint, 2, f"{what} kernel_constraint"
            ),
            "bias_constraint": _constraints.engine_spec(
                self.bias_constraint, 1, f"{what} bias_constraint"
            ),
        }

    def build(self, input_shape) -> None:
        """Keras's ``layer.build((None, in))``: creates the kernel and bias
        (from the initializers) if the layer has none yet; a model the layer
        joins keeps them."""
        shape = tuple(input_shape)
        if (
            len(shape) != 2
            or isinstance(shape[1], bool)
            or not isinstance(shape[1], (int, np.integer))
        ):
            raise ValueError(
                f"Dense layer {self.name!r} is built with an input shape (batch, features), "
                f"got {input_shape!r}"
            )
        if self._input_shape is not None and tuple(self._input_shape) != shape[1:]:
            raise ValueError(
                f"Layer {self.name!r} was given input_shape={self._input_shape} but is "
                f"built for an input of shape {(None, *shape[1:])}"
            )
        if self._weights:
            _check_rebuild(self, self._weights[0].shape[0], shape)
            return
        self._build_shape = shape[1:]
        self._in = int(shape[1])
        self._weights = [np.asarray(v, dtype=np.float32) for v in self._init_weights()]
        self.built = True

    @_torch_in_torch_out
    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array
        ``(batch, in)``, Keras's eager call: the first call creates the
        weights (as Keras's `build`), then ``activation(x @ kernel + bias)``
        comes back as float32, computed by the same C++ kernels as a model's
        (`fastnn.ops.dense`, `fastnn.ops.activation`). The weights join the
        first model the layer is added to."""
        from fastnn import ops
        from fastnn.functional import is_symbolic

        if (
            is_symbolic(inputs)
            or isinstance(inputs, (list, tuple))
            and any(is_symbolic(i) for i in inputs)
        ):
            return super().__call__(inputs, *args, **kwargs)
        if args or set(kwargs) - {"training", "mask"}:
            raise TypeError(f"Layer {self.name!r}: unsupported call arguments")
        x = np.asarray(inputs)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"Dense {self.name!r} needs real numbers, got dtype {x.dtype}")
        if x.ndim != 2:
            raise ValueError(
                f"Dense layer {self.name!r} takes inputs of shape (batch, features), got {x.shape}"
            )
        if not self._weights:
            self.build((None, *x.shape[1:]))
        kernel = self._weights[0]
        if x.shape[1] != kernel.shape[0]:
            raise ValueError(
                f"Dense layer {self.name!r} has {kernel.shape[0]} inputs; got an input of shape "
                f"{(None, x.shape[1])}"
            )
        bias = self._weights[1] if self.use_bias else None
        z = ops.dense(x, kernel, bias)
        out = _apply_activation(self.activation, z)
        return np.asarray(out, dtype=np.float32).view(_EagerArray)

    def _initial_weights(self) -> list:
        """``(name, initializer, shape)`` of each weight."""
        weights = [("kernel", _drawn_by(self.kernel_initializer), (self._in, self.units))]
        if self.use_bias:
            weights.append(("bias", _drawn_by(self.bias_initializer), (self.units,)))
        return weights

    def _init_weights(self):
        return _initial_values(self, self._initial_weights())

    def _built_width(self) -> Optional[int]:
        return int(self._weights[0].shape[0]) if self._weights else None

    @property
    def kernel(self) -> np.ndarray:
        """The kernel `Variable`; as in Keras, an unbuilt layer has none
        (AttributeError, so ``hasattr(layer, "kernel")`` is False)."""
        if not self._weights:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute 'kernel'")
        return self.weights[0]

    @property
    def bias(self) -> Optional[np.ndarray]:
        """The bias `Variable` (None with ``use_bias=False``); AttributeError
        before the layer is built, as in Keras."""
        if not self._weights:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute 'bias'")
        return self.weights[1] if self.use_bias and len(self._weights) > 1 else None

    def get_config(self) -> dict:
        config = super().get_config()
        # Keras's base layer writes the key only for a layer that has one
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _serialize_regularizer(self.activity_regularizer)
        return {
            **config,
            "units": self.units,
            "activation": _serialize_activation(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _serialize_initializer(self.kernel_initializer),
            "bias_initializer": _serialize_initializer(self.bias_initializer),
            "kernel_regularizer": _serialize_regularizer(self.kernel_regularizer),
            "bias_regularizer": _serialize_regularizer(self.bias_regularizer),
            "kernel_constraint": _serialize_constraint(self.kernel_constraint),
            "bias_constraint": _serialize_constraint(self.bias_constraint),
            "quantization_config": None,
        }


class Activation(Layer):
    """Applies an activation: ``Activation("relu")``. `activation` may be
    reassigned later, as in Keras; a built model applies it from its next
    step."""

    _BUILT_WHEN_CREATED = True

    # Whether `activation` is the layer's argument (the subclasses below set
    # it from their own arguments, once)
    _ACTIVATION_ARGUMENT = True

    activation = _Hyperparameter(_activation_argument)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation

    def _spec(self, input_shape):
        _check_flat_samples(self, input_shape)
        return {"type": "activation", **_activation_spec(self.activation)}

    @_torch_in_torch_out
    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array
        (of any shape), Keras's eager call: the activation of its values in
        float32, by the same C++ kernels as a model's (`fastnn.ops.activation`)."""
        if _is_symbolic_call(inputs):
            return super().__call__(inputs, *args, **kwargs)
        x = _eager_values(self, inputs, args, kwargs)
        return np.asarray(self._activate(x), dtype=np.float32).view(_EagerArray)

    def _activate(self, x: np.ndarray) -> np.ndarray:
        return _apply_activation(self, x)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": _serialize_activation(self.activation)}


class LeakyReLU(Activation):
    """``x`` if ``x > 0`` else ``negative_slope * x`` (keras.layers.LeakyReLU).

    Args:
        negative_slope: a finite float >= 0 (also when reassigned; a built
            model applies a new one from its next step). Defaults to `0.3`
            (the Keras layer's default; the function
            ``activations.leaky_relu`` uses 0.2). The legacy name ``alpha``
            is accepted with a warning.
    """

    _ACTIVATION_ARGUMENT = False

    negative_slope = _Hyperparameter(
        lambda layer, value: _activation_param(
            value,
            "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
            f"Expected a float. Received: negative_slope={value!r}",
        )
    )

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            import warnings

            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2
            )
        super().__init__("leaky_relu", **kwargs)
        self.negative_slope = negative_slope

    def _spec(self, input_shape):
        return {**super()._spec(input_shape), "activation_param": self.negative_slope}

    @classmethod
    def from_config(cls, config: dict):
        """As `Layer.from_config`, also from a tf.keras 2 config, whose
        slope is ``alpha``: taken with the constructor's warning (Keras 3's
        from_config passes it to the constructor; it wins over a
        ``negative_slope`` beside it, as there)."""
        if isinstance(config, dict) and "alpha" in config:
            import warnings

            config = dict(config)
            config["negative_slope"] = config.pop("alpha")
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2
            )
        return super().from_config(config)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["activation"]
        return {**config, "negative_slope": self.negative_slope}


class ELU(Activation):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)`` (keras.layers.ELU).

    Args:
        alpha: a finite float >= 0 (the gradient is computed from the
            output, which needs alpha >= 0), also when reassigned (a built
            model applies a new one from its next step). Defaults to `1.0`.
    """

    _ACTIVATION_ARGUMENT = False

    alpha = _Hyperparameter(
        lambda layer, value: _activation_param(
            value, f"ELU alpha must be a finite float >= 0, got {value!r}"
        )
    )

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__("elu", **kwargs)
        self.alpha = alpha

    def _spec(self, input_shape):
        return {**super()._spec(input_shape), "activation_param": self.alpha}

    def get_config(self) -> dict:
        config = super().get_config()
        del config["activation"]
        return {"name": config.pop("name"), "alpha": self.alpha, **config}  # Keras's order


class ReLU(Activation):
    """Rectified linear unit (keras.layers.ReLU), as ``keras.activations.relu``:
    ``min(x, max_value)`` for ``x > threshold``, else
    ``negative_slope * (x - threshold)``; the defaults give ``max(x, 0)``.

    Args:
        max_value: a float >= 0, or `None` (no cap). Defaults to `None`.
        negative_slope: a finite float >= 0. Defaults to `0.0`.
        threshold: a finite float >= 0. Defaults to `0.0`.

    Raises:
        ValueError: in Keras's words for a negative (or `None`) slope or
            threshold and a negative cap, also when one is reassigned (a
            built model applies a new value from its next step).

    >>> model = Sequential([Input((3,)), layers.ReLU(max_value=6.0)])
    >>> model.predict(np.array([[-1.0, 3.0, 9.0]]), verbose=0)
    array([[0., 3., 6.]], dtype=float32)
    """

    _ACTIVATION_ARGUMENT = False

    max_value = _Hyperparameter(lambda layer, value: _relu_argument("max_value", value))
    negative_slope = _Hyperparameter(lambda layer, value: _relu_argument("negative_slope", value))
    threshold = _Hyperparameter(lambda layer, value: _relu_argument("threshold", value))

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        kernel, _ = _activations.relu_kernel(negative_slope, max_value, threshold)
        super().__init__("leaky_relu" if kernel == "leaky_relu" else "relu", **kwargs)
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def _spec(self, input_shape):
        kernel, param = _activations.relu_kernel(
            self.negative_slope, self.max_value, self.threshold
        )
        spec = {**super()._spec(input_shape), "activation": kernel}
        if kernel == "leaky_relu":
            spec["activation_param"] = param
        elif kernel == "relu_clipped":
            slope, cap, threshold = param
            spec.update(
                activation_param=slope, activation_max_value=cap, activation_threshold=threshold
            )
        return spec

    def get_config(self) -> dict:
        config = super().get_config()
        del config["activation"]
        return {
            **config,
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class Softmax(Activation):
    """Softmax over the feature axis (keras.layers.Softmax).

    Args:
        axis: the feature axis: `-1` or `1` (the last axis of the
            ``(batch, features)`` inputs fastnn's models take), an int or a
            one-element list/tuple, kept as given (configs write it back).
            Called on an array, the layer takes it as Keras does (axis 1 of
            a 3-D array is not its last). Defaults to `-1`.
    """

    _ACTIVATION_ARGUMENT = False

    axis = _Hyperparameter(lambda layer, value: _softmax_axis(value), engine=False, default=-1)

    def __init__(self, axis=-1, **kwargs):
        _softmax_axis(axis)
        super().__init__("softmax", **kwargs)
        self.axis = axis

    def _activate(self, x: np.ndarray) -> np.ndarray:
        from fastnn import ops

        axis = self.axis[0] if isinstance(self.axis, (list, tuple)) else self.axis
        if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
            raise ValueError(
                f"Softmax layer {self.name!r}: axis {self.axis} is out of range for an input of "
                f"shape {x.shape}"
            )
        return ops.softmax(x, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["activation"]
        return {**config, "axis": self.axis}


def _softmax_axis(value):
    """Softmax's `axis`, as given: one that is the feature axis of a
    ``(batch, features)`` input (-1 or 1, or a list/tuple of one of them)."""
    axes = list(value) if isinstance(value, (list, tuple)) else [value]
    if (
        len(axes) != 1
        or isinstance(axes[0], (bool, np.bool_))
        or not isinstance(axes[0], (int, np.integer))
        or axes[0] not in (-1, 1)
    ):
        raise ValueError(
            "fastnn's Softmax layer takes the feature axis of its (batch, features) inputs: "
            f"axis=-1 or axis=1, got axis={value!r}"
        )
    if isinstance(value, (list, tuple)):
        return type(value)(int(a) for a in value)
    return int(value)


def _relu_argument(name: str, value):
    """One of ReLU's arguments, checked by `relu_kernel` in Keras's words
    (each is checked on its own there)."""
    _activations.relu_kernel(**{name: value})
    if name == "max_value" and value is None:
        return None
    return float(value)


def _dense_units(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Dense units must be a positive int, got {value!r}")
    return int(value)


def _activation_param(value, message: str) -> float:
    if value is None or isinstance(value, (bool, np.bool_)):
        raise ValueError(message)
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(message) from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(message)
    return value


class _RandomLayer(Layer):
    """Dropout and the noise layers: random in training (only inside fit and
    train_on_batch), the identity in inference. The C++ engine draws the
    noise from a counter keyed by (seed, training step, layer, element), so
    it does not depend on the thread count, the ISA or the batch layout; a
    `seed` of None draws one from `fastnn.utils.set_random_seed`'s stream
    when the model is built (saved models keep it, so training resumes
    exactly).

    The rate (or stddev) and the seed may be reassigned, as in Keras, where
    the layer reads them at each call: the value is checked as the
    constructor checks it and a built model applies it from its next step
    (a seed of None keeps the one drawn)."""

    _BUILT_WHEN_CREATED = True

    _type = ""

    seed = _Hyperparameter(lambda layer, value: _seed_argument(value))

    def _random(self) -> bool:
        """Whether training mode draws noise (rate or stddev > 0)."""
        return self._param() > 0

    def _param(self) -> float:
        return self.rate

    def _spec(self, input_shape):
        _check_flat_samples(self, input_shape)
        seed = self.seed
        if seed is None and (self._keeps_built() or _built_in_another_model(self)):
            seed = getattr(self, "_built_seed", None)
        if seed is None:
            seed = next_seed()
        self._built_seed = int(seed) & ((1 << 64) - 1)  # saved so training resumes exactly
        key = "stddev" if self._type == "gaussian_noise" else "rate"
        return {"type": self._type, key: self._param(), "seed": self._built_seed}

    @_torch_in_torch_out
    def __call__(self, inputs, *args, training=None, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array,
        Keras's eager call in float32: in inference mode (``training`` None
        or False) the values unchanged; with ``training=True`` the layer's
        noise, a new draw on every call (Monte Carlo dropout), from a
        `fastnn.random.SeedGenerator` of the layer's `seed` (None: one drawn
        from `fastnn.utils.set_random_seed`'s stream), as Keras's layer
        draws from its own seed generator. (Inside a model, fit and
        ``model(x, training=True)`` draw in the engine instead.)"""
        if _is_symbolic_call(inputs):
            return super().__call__(inputs, *args, training=training, **kwargs)
        x = _eager_values(self, inputs, args, kwargs)
        if training and self._random():
            return np.asarray(self._noisy(x), dtype=np.float32).view(_EagerArray)
        return x.view(_EagerArray)

    def _seed_generator(self):
        """The eager calls' `SeedGenerator`, made on the first one."""
        from fastnn.random import SeedGenerator

        generator = self.__dict__.get("_eager_seed_generator")
        if generator is None:
            generator = SeedGenerator(self.seed)
            self.__dict__["_eager_seed_generator"] = generator
        return generator

    def _noisy(self, x: np.ndarray) -> np.ndarray:
        """Keras's training-mode expression of the layer on float32 `x`."""
        raise NotImplementedError


def _seed_argument(value):
    """A random layer's `seed`: None or an integer (a NumPy one too), else
    Keras's ValueError (its SeedGenerator's message), when it is given
    rather than when the model is built ("invalid literal for int()")."""
    if value is None or isinstance(value, (int, np.integer)):
        return value
    raise ValueError(f"Argument `seed` must be an integer. Received: seed={value}")


def _built_in_another_model(layer) -> bool:
    """Whether a live model other than the one building now runs `layer`
    (its first model, still built): a model sharing it keeps its seed."""
    ref = layer.__dict__.get("_owner")
    owner = ref() if ref is not None else None
    return owner is not None and owner._net is not None and layer in owner._layers


def _noise_param(value, name: str, inclusive: bool) -> float:
    """A rate or stddev in [0, 1) (inclusive: [0, 1]), in Keras's words."""
    bad = ValueError(
        f"Invalid value received for argument `{name}`. Expected a float value between 0 and 1"
        f"{'' if inclusive else ' (1 excluded)'}. Received: {name}={value}"
    )
    if value is None or isinstance(value, (bool, np.bool_, str)):
        raise bad
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise bad from None
    if not (0.0 <= value <= 1.0 if inclusive else 0.0 <= value < 1.0):
        raise bad
    if not inclusive:
        _check_float32_rate(value, f"Invalid value received for argument `{name}`: {name}")
    return value


def _dropout_rate(value) -> float:
    if isinstance(value, (str, bytes)):  # Keras's comparison with a number raises TypeError
        raise TypeError(f"Dropout rate must be a float, got {value!r}")
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"Dropout rate must be a float, got {value!r}") from None
    except OverflowError:  # an int too large for a float
        rate = math.inf
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
    _check_float32_rate(rate, "Dropout rate")
    return rate


def _no_noise_shape(value, layer: str) -> None:
    if value is not None:
        raise ValueError(f"{layer} noise_shape is not supported; use None")


def _check_float32_rate(rate: float, what: str) -> None:
    """The engine computes in float32, where a rate within 2**-25 of 1 is 1."""
    if np.float32(rate) >= 1.0:
        largest = float(np.nextafter(np.float32(1), np.float32(0)))
        raise ValueError(
            f"{what}={rate!r} rounds to 1.0 in float32, which fastnn computes in; the largest "
            f"rate below 1 is {largest!r}"
        )


class Dropout(_RandomLayer):
    """Inverted dropout while training: zeroes a fraction `rate` of the
    inputs and scales the rest by ``1 / (1 - rate)``; identity in inference.

    Args:
        rate: in [0, 1).
        noise_shape: must be None (per-element masks).
        seed: the mask stream's seed; None draws one. Masks are a function of
            (seed, training step, element), independent of thread count.
    """

    _type = "dropout"

    rate = _Hyperparameter(lambda layer, value: _dropout_rate(value))
    noise_shape = _Hyperparameter(
        lambda layer, value: _no_noise_shape(value, "Dropout"), engine=False, default=None
    )

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def _noisy(self, x: np.ndarray) -> np.ndarray:
        from fastnn import random

        return random.dropout(x, self.rate, seed=self._seed_generator())

    def get_config(self) -> dict:
        config = super().get_config()
        return {**config, "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class GaussianNoise(_RandomLayer):
    """Adds zero-centered Gaussian noise while training
    (keras.layers.GaussianNoise): ``y = x + N(0, stddev^2)`` per element;
    identity in inference. The gradient passes through unchanged.

    Args:
        stddev: the noise's standard deviation, in [0, 1] (Keras's bounds).
        seed: the noise stream's seed; None draws one. Defaults to `None`.

    Input shape: ``(batch, features)``. Output shape: the same.

    >>> layer = layers.GaussianNoise(0.1, seed=7)
    """

    _type = "gaussian_noise"

    stddev = _Hyperparameter(lambda layer, value: _noise_param(value, "stddev", inclusive=True))

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev
        self.seed = seed

    def _param(self) -> float:
        return self.stddev

    def _noisy(self, x: np.ndarray) -> np.ndarray:
        from fastnn import random

        noise = random.normal(
            x.shape, stddev=self.stddev, dtype="float32", seed=self._seed_generator()
        )
        return x + noise

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_RandomLayer):
    """Multiplies by 1-centered Gaussian noise while training
    (keras.layers.GaussianDropout): ``y = x * N(1, rate / (1 - rate))`` per
    element (the variance), identity in inference; the gradient is
    multiplied by the same noise.

    Args:
        rate: the drop probability the noise stands for, in [0, 1) (Keras
            accepts 1 and then divides by zero in training).
        seed: the noise stream's seed; None draws one. Defaults to `None`.

    Input shape: ``(batch, features)``. Output shape: the same.

    >>> layer = layers.GaussianDropout(0.2, seed=7)
    """

    _type = "gaussian_dropout"

    rate = _Hyperparameter(lambda layer, value: _noise_param(value, "rate", inclusive=False))

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed

    def _noisy(self, x: np.ndarray) -> np.ndarray:
        from fastnn import random

        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = random.normal(
            x.shape, mean=1.0, stddev=stddev, dtype="float32", seed=self._seed_generator()
        )
        return x * noise

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_RandomLayer):
    """Dropout that keeps SELU's self-normalizing mean and variance
    (keras.layers.AlphaDropout). While training, each element is kept with
    probability ``1 - rate`` and otherwise set to ``alpha_p = -alpha * scale``
    (SELU's negative saturation), then ``y = a * x' + b`` with
    ``a = ((1 - rate) (1 + rate alpha_p^2))^-1/2`` and ``b = -a alpha_p rate``;
    identity in inference. The gradient is ``a`` where kept, 0 where dropped.

    Args:
        rate: the drop probability, in [0, 1) (Keras accepts 1, whose
            a is infinite).
        noise_shape: must be None (per-element masks).
        seed: the mask stream's seed; None draws one. Defaults to `None`.

    Input shape: ``(batch, features)``. Output shape: the same.

    >>> layer = layers.AlphaDropout(0.1, seed=7)
    """

    _type = "alpha_dropout"

    rate = _Hyperparameter(lambda layer, value: _noise_param(value, "rate", inclusive=False))
    noise_shape = _Hyperparameter(
        lambda layer, value: _no_noise_shape(value, "AlphaDropout"), engine=False, default=None
    )

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def _noisy(self, x: np.ndarray) -> np.ndarray:
        """keras/src/layers/regularization/alpha_dropout.py: float32 tensors
        combined with Python floats (a, b, alpha_p rounded to float32)."""
        from fastnn import random
        from fastnn.ops import _SELU_ALPHA, _SELU_SCALE

        rate = float(self.rate)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        uniform = random.uniform(x.shape, dtype="float32", seed=self._seed_generator())
        kept = (uniform >= np.float32(rate)).astype(np.float32)
        a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * rate
        mixed = x * kept + np.float32(alpha_p) * (np.float32(1.0) - kept)
        return np.float32(a) * mixed + np.float32(b)

    def get_config(self) -> dict:
        config = super().get_config()
        return {**config, "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


def _only_none(kind: str, **arguments) -> None:
    """Refuses the arguments fastnn has no use for unless they are None."""
    for key, value in arguments.items():
        if value is not None:
            raise ValueError(f"{kind}: {key}={value!r} is not supported by fastnn (only None)")


class _PerFeatureLayer(Layer):
    """A layer on inputs ``(batch, features)`` whose weights are vectors of
    one value per feature (`_initial_weights` names them): its shape checks,
    build and eager-call input handling."""

    def _sample_output_shape(self, input_shape):
        self._check_input(input_shape)
        return tuple(input_shape)

    def _check_input(self, input_shape) -> None:
        _check_flat_samples(self, input_shape)

    def _checked_spec(self, input_shape) -> None:
        """`_spec`'s checks: the input, and the initializers of new weights."""
        self._check_input(input_shape)
        self._features = int(input_shape[0])
        weights = self._initial_weights()
        if not _keeps_weights(self, weights):
            _check_initializers(self, weights)

    def build(self, input_shape) -> None:
        """Keras's ``layer.build((None, features))``: creates the weights
        (from the initializers) if the layer has none yet."""
        shape = tuple(input_shape)
        if (
            len(shape) < 2
            or isinstance(shape[-1], bool)
            or not isinstance(shape[-1], (int, np.integer))
        ):
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} is built with an input shape "
                f"(batch, features), got {input_shape!r}"
            )
        self._check_input(shape[1:])
        if self._weights:
            _check_rebuild(self, self._weights[0].shape[-1], shape)
            return
        self._build_shape = shape[1:]
        self._features = int(shape[-1])
        self._weights = [np.asarray(v, dtype=np.float32) for v in self._init_weights()]
        self.built = True

    def _initial_weights(self) -> list:
        """``(name, initializer, shape)`` of each weight."""
        raise NotImplementedError

    def _init_weights(self):
        return _initial_values(self, self._initial_weights())

    def _built_width(self) -> Optional[int]:
        return int(self._weights[0].shape[-1]) if self._weights else None

    def _weight_names(self) -> List[str]:
        return [name for name, _, _ in self._initial_weights()]

    def _named(self, name: str):
        if not self._weights:
            return None  # Keras: None before build
        names = self._weight_names()
        return self.weights[names.index(name)] if name in names else None

    def _eager_input(self, inputs, args, kwargs) -> np.ndarray:
        """An eager call's array ``(batch, features)`` in float32 (the layer
        built from it if it has no weights yet)."""
        if args or set(kwargs) - {"mask"}:
            raise TypeError(f"Layer {self.name!r}: unsupported call arguments")
        x = np.asarray(inputs)
        kind = type(self).__name__
        if x.dtype.kind not in "biuf" or x.ndim != 2:
            raise ValueError(
                f"{kind} layer {self.name!r} takes real inputs of shape "
                f"(batch, features), got {x.dtype} {x.shape}"
            )
        x = x.astype(np.float32)
        if not self._weights:
            self.build((None, x.shape[1]))
        features = self._features if self._features is not None else self._weights[-1].shape[0]
        if x.shape[1] != features:
            raise ValueError(
                f"{kind} layer {self.name!r} has {features} features; got an input of shape "
                f"{x.shape}"
            )
        return x


class _FeatureNormalization(_PerFeatureLayer):
    """What BatchNormalization and LayerNormalization share: inputs
    normalized along ``axis=-1``, the trainable `gamma` (scale=True) and
    `beta` (center=True), then the layer's _STATE_NAMES."""

    def _check_input(self, input_shape) -> None:
        super()._check_input(input_shape)
        if self.axis not in (-1, 1, [-1], [1]):
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: axis={self.axis} is not the feature "
                f"axis of inputs of shape {(None, *input_shape)}; fastnn normalizes axis=-1"
            )

    def _initial_weights(self) -> list:
        shape = (self._features,)
        weights = []
        if self.scale:
            weights.append(("gamma", _drawn_by(self.gamma_initializer), shape))
        if self.center:
            weights.append(("beta", _drawn_by(self.beta_initializer), shape))
        for name in self._STATE_NAMES:
            weights.append((name, _drawn_by(getattr(self, f"{name}_initializer")), shape))
        return weights

    gamma = property(lambda self: self._named("gamma"), doc="gamma (None when scale=False).")
    beta = property(lambda self: self._named("beta"), doc="beta (None when center=False).")

    def _scale_and_offset(self, y: np.ndarray) -> np.ndarray:
        """y * gamma + beta (those that exist), as the eager result."""
        if self.scale:
            y = y * self._weights[0]
        if self.center:
            y = y + self._weights[int(self.scale)]
        return np.asarray(y, dtype=np.float32).view(_EagerArray)


class BatchNormalization(_FeatureNormalization):
    """Normalizes each feature with the batch's statistics while training and
    with their moving averages in inference, as Keras 3's
    ``BatchNormalization`` (``axis=-1``)::

        y = (x - mean) * (1 / sqrt(var + epsilon)) * gamma + beta

    In a training step (`fit`, `train_on_batch`) `mean` and `var` are the
    batch's per-feature mean and biased variance, and the moving statistics
    follow ``moving = moving * momentum + batch_stat * (1 - momentum)``; in
    `predict`/`evaluate` they are ``moving_mean`` and ``moving_variance``.
    As in Keras 3, a layer with ``trainable=False`` runs in inference mode
    even inside `fit` and updates nothing. The engine computes it in C++;
    the moving statistics are non-trainable weights outside the optimizer's
    reach, saved with the model.

    Args:
        axis: the feature axis: `-1` (or the index of the last axis).
            Defaults to `-1`.
        momentum: the moving averages' momentum, in [0, 1]. Defaults to `0.99`.
        epsilon: added to the variance, > 0. Defaults to `0.001`.
        center: add the trainable offset `beta`. Defaults to `True`.
        scale: multiply by the trainable `gamma`. Defaults to `True`.
        beta_initializer: Defaults to `"zeros"`.
        gamma_initializer: Defaults to `"ones"`.
        moving_mean_initializer: Defaults to `"zeros"`.
        moving_variance_initializer: Defaults to `"ones"`.
        beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: only `None` (fastnn has no penalty or constraint
            for these weights). Defaults to `None`.
        synchronized: only `False` (one device). Defaults to `False`.

    `momentum`, `epsilon` and `axis` may be reassigned later (checked as
    here), as in Keras; a built model applies them from its next step.
    `center` and `scale` decide which weights exist: fixed once built.

    Input shape ``(batch, features)``; output shape the same.

    >>> layer = BatchNormalization(momentum=0.9)
    """

    _STATE_NAMES = ("moving_mean", "moving_variance")

    axis = _Hyperparameter(lambda layer, value: _batch_norm_axis(value))
    momentum = _Hyperparameter(lambda layer, value: _batch_norm_momentum(value))
    epsilon = _Hyperparameter(lambda layer, value: _batch_norm_epsilon(value))
    center = _Hyperparameter(_flag_argument, shape=True)
    scale = _Hyperparameter(_flag_argument, shape=True)
    beta_initializer = _Hyperparameter(_initializer_argument, engine=False)
    gamma_initializer = _Hyperparameter(_initializer_argument, engine=False)
    moving_mean_initializer = _Hyperparameter(_initializer_argument, engine=False)
    moving_variance_initializer = _Hyperparameter(_initializer_argument, engine=False)

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        synchronized=False,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        **kwargs,
    ):
        axis = _batch_norm_axis(axis)
        momentum = _batch_norm_momentum(momentum)
        epsilon = _batch_norm_epsilon(epsilon)
        _only_none(
            "BatchNormalization",
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
            renorm_clipping=renorm_clipping,
        )
        if synchronized:
            raise ValueError(
                "Argument synchronized=True is only supported with the TensorFlow backend "
                "(fastnn trains on one device)."
            )
        if renorm:
            raise ValueError("BatchNormalization: renorm=True is not supported by fastnn")
        super().__init__(**kwargs)
        self.axis = axis
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.synchronized = False
        self.renorm = False
        self.renorm_clipping = None
        self.renorm_momentum = renorm_momentum
        self._features = None

    def _spec(self, input_shape):
        self._checked_spec(input_shape)
        return {
            "type": "batch_norm",
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }

    @property
    def trainable_weights(self) -> List[np.ndarray]:
        """gamma and beta (those that exist) when the layer trains."""
        return self.weights[: -len(self._STATE_NAMES)] if self.trainable else []

    @property
    def non_trainable_weights(self) -> List[np.ndarray]:
        """The moving statistics (and gamma, beta when frozen)."""
        return self.weights[-len(self._STATE_NAMES) :] if self.trainable else self.weights

    moving_mean = property(lambda self: self._named("moving_mean"))
    moving_variance = property(lambda self: self._named("moving_variance"))

    @_torch_in_torch_out
    def __call__(self, inputs, *args, training=None, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array
        ``(batch, features)``, Keras's eager call in float32: inference mode
        (moving statistics), or with ``training=True`` (and the layer
        trainable) the batch's statistics, updating the moving ones."""
        from fastnn.functional import is_symbolic

        if is_symbolic(inputs):
            return super().__call__(inputs, *args, training=training, **kwargs)
        x = self._eager_input(inputs, args, kwargs)
        moving_mean, moving_var = self._weights[-2], self._weights[-1]
        if training and self.trainable:
            mean = x.astype(np.float64).mean(axis=0).astype(np.float32)
            var = x.astype(np.float64).var(axis=0).astype(np.float32)
            keep, take = np.float32(self.momentum), np.float32(1.0 - self.momentum)
            moving_mean[...] = moving_mean * keep + mean * take
            moving_var[...] = moving_var * keep + var * take
        else:
            mean, var = np.array(moving_mean), np.array(moving_var)
        a = np.float32(1.0) / np.sqrt(var + np.float32(self.epsilon))
        if self.scale:
            a = a * self._weights[0]
        y = (x - mean) * a
        if self.center:
            y = y + self._weights[int(self.scale)]
        return np.asarray(y, dtype=np.float32).view(_EagerArray)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _serialize_initializer(self.beta_initializer),
            "gamma_initializer": _serialize_initializer(self.gamma_initializer),
            "moving_mean_initializer": _serialize_initializer(self.moving_mean_initializer),
            "moving_variance_initializer": _serialize_initializer(self.moving_variance_initializer),
            "beta_regularizer": None,
            "gamma_regularizer": None,
            "beta_constraint": None,
            "gamma_constraint": None,
            "synchronized": False,
            "renorm": False,
            "renorm_clipping": None,
            "renorm_momentum": self.renorm_momentum,
        }


def _batch_norm_axis(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"BatchNormalization axis must be an int (the last axis), got {value!r}")
    if value == 0:
        raise ValueError(
            "BatchNormalization axis=0 is the batch axis; fastnn normalizes the features (axis=-1)"
        )
    return int(value)


def _batch_norm_momentum(value) -> float:
    message = f"BatchNormalization momentum must be a number in [0, 1], got {value!r}"
    momentum = _activation_param(value, message)
    if momentum > 1.0:
        raise ValueError(message)
    return momentum


def _batch_norm_epsilon(value) -> float:
    return _normalization_epsilon(value, "BatchNormalization")


def _normalization_epsilon(value, kind: str) -> float:
    message = f"{kind} epsilon must be a finite number > 0, got {value!r}"
    epsilon = _activation_param(value, message)
    if epsilon == 0.0:
        raise ValueError(message)
    if epsilon > float(np.finfo(np.float32).max):  # the engine adds it in float32
        raise ValueError(f"{message}, which is inf in float32 (fastnn computes in float32)")
    if np.float32(epsilon) == 0.0:  # the engine adds it to variances in float32
        raise ValueError(f"{message}, which is 0 in float32 (fastnn computes in float32)")
    return epsilon


class LayerNormalization(_FeatureNormalization):
    """Normalizes each sample over its features, as Keras 3's
    ``LayerNormalization`` (``axis=-1``; its torch backend calls
    ``torch.nn.functional.layer_norm``)::

        y = (x - mean) * (1 / sqrt(var + epsilon)) * gamma + beta

    with `mean` and `var` the sample's mean and biased variance over its
    features (computed in double), the same in training and inference. The
    engine computes it in C++, forward and backward.

    Args:
        axis: the feature axis: `-1` (or the index of the last axis), as an
            int or a one-element list. Defaults to `-1`.
        epsilon: added to the variance, > 0. Defaults to `0.001`.
        center: add the trainable offset `beta`. Defaults to `True`.
        scale: multiply by the trainable `gamma`. Defaults to `True`.
        beta_initializer: Defaults to `"zeros"`.
        gamma_initializer: Defaults to `"ones"`.
        beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: only `None` (fastnn has no penalty or constraint
            for these weights). Defaults to `None`.

    `rms_scaling=True` (deprecated in Keras 3, which points to
    `RMSNormalization`) is refused. `epsilon` and `axis` may be reassigned
    later (checked as here); `center` and `scale` decide which weights
    exist: fixed once built.

    Input shape ``(batch, features)``; output shape the same.

    >>> layer = LayerNormalization(epsilon=1e-5)
    """

    axis = _Hyperparameter(lambda layer, value: _layer_norm_axis(value))
    epsilon = _Hyperparameter(lambda layer, value: _layer_norm_epsilon(value))
    center = _Hyperparameter(_flag_argument, shape=True)
    scale = _Hyperparameter(_flag_argument, shape=True)
    beta_initializer = _Hyperparameter(_initializer_argument, engine=False)
    gamma_initializer = _Hyperparameter(_initializer_argument, engine=False)

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        rms_scaling=False,
        **kwargs,
    ):
        axis = _layer_norm_axis(axis)
        epsilon = _layer_norm_epsilon(epsilon)
        _only_none(
            "LayerNormalization",
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
        )
        if rms_scaling is None:  # Keras 3 reads it as a truth value: None is False
            rms_scaling = False
        if not isinstance(rms_scaling, (bool, np.bool_)) and rms_scaling not in (0, 1):
            raise ValueError(  # (a string such as "False" would read as True)
                "Argument `rms_scaling` must be a boolean (fastnn supports False only). "
                f"Received: rms_scaling={rms_scaling!r} (of type {type(rms_scaling)})"
            )
        if rms_scaling:
            raise ValueError(
                "LayerNormalization: rms_scaling=True is not supported by fastnn (Keras 3 "
                "deprecates it: it scales by the variance, not the root mean square)"
            )
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = False
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self._features = None

    def _spec(self, input_shape):
        self._checked_spec(input_shape)
        self._axis_as_list()
        return {
            "type": "layer_norm",
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }

    def build(self, input_shape) -> None:
        super().build(input_shape)
        self._axis_as_list()

    def _axis_as_list(self) -> None:
        """Keras's build keeps the axis as a list (``[-1]``, in get_config too)."""
        if isinstance(self.axis, int):
            self.__dict__["axis"] = [self.axis]  # the same axis: nothing to redescribe

    @_torch_in_torch_out
    def __call__(self, inputs, *args, training=None, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array
        ``(batch, features)``, the engine's formula in float32 (NumPy)."""
        from fastnn.functional import is_symbolic

        if is_symbolic(inputs):
            return super().__call__(inputs, *args, training=training, **kwargs)
        x = self._eager_input(inputs, args, kwargs)
        wide = x.astype(np.float64)
        mean = wide.mean(axis=1, keepdims=True)
        var = ((wide - mean) ** 2).mean(axis=1, keepdims=True)
        inv = (1.0 / np.sqrt(var + float(np.float32(self.epsilon)))).astype(np.float32)
        return self._scale_and_offset((x - mean.astype(np.float32)) * inv)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": False,
            "beta_initializer": _serialize_initializer(self.beta_initializer),
            "gamma_initializer": _serialize_initializer(self.gamma_initializer),
            "beta_regularizer": None,
            "gamma_regularizer": None,
            "beta_constraint": None,
            "gamma_constraint": None,
        }


def _layer_norm_axis(value):
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(
                f"LayerNormalization axis={value!r}: fastnn normalizes one axis, the last (-1)"
            )
        return [_layer_norm_axis(value[0])]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            "Expected an int or a list/tuple of ints for the argument 'axis', but received: "
            f"{value!r}"
        )
    if value == 0:
        raise ValueError(
            "LayerNormalization axis=0 is the batch axis; fastnn normalizes the features (axis=-1)"
        )
    return int(value)


def _layer_norm_epsilon(value) -> float:
    return _normalization_epsilon(value, "LayerNormalization")


class PReLU(_PerFeatureLayer):
    """Parametric ReLU, as Keras 3's ``PReLU``: ``y = relu(x) - alpha *
    relu(-x)`` with a trainable `alpha` per feature, forward and backward in
    the C++ engine.

    Args:
        alpha_initializer: Defaults to `"Zeros"` (a ReLU to start with).
        alpha_regularizer, alpha_constraint: only `None`. Defaults to `None`.
        shared_axes: only `None` (one alpha per feature). Defaults to `None`.

    Input shape ``(batch, features)``; output shape the same.

    >>> layer = PReLU(alpha_initializer=fastnn.initializers.Constant(0.25))
    """

    alpha_initializer = _Hyperparameter(_initializer_argument, engine=False)
    shared_axes = _Hyperparameter(lambda layer, value: _no_shared_axes(value), engine=False)

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        _only_none("PReLU", alpha_regularizer=alpha_regularizer, alpha_constraint=alpha_constraint)
        _no_shared_axes(shared_axes)
        super().__init__(**kwargs)
        self.alpha_initializer = alpha_initializer
        self.shared_axes = None
        self._features = None

    def _spec(self, input_shape):
        self._checked_spec(input_shape)
        return {"type": "prelu"}

    def _initial_weights(self) -> list:
        return [("alpha", _drawn_by(self.alpha_initializer), (self._features,))]

    alpha = property(lambda self: self._named("alpha"), doc="alpha, one per feature.")

    @_torch_in_torch_out
    def __call__(self, inputs, *args, training=None, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array
        ``(batch, features)``, Keras's expression in float32 (NumPy)."""
        from fastnn.functional import is_symbolic

        if is_symbolic(inputs):
            return super().__call__(inputs, *args, training=training, **kwargs)
        x = self._eager_input(inputs, args, kwargs)
        zero = np.float32(0.0)
        y = np.where(x < zero, zero, x) + -self._weights[0] * np.where(-x < zero, zero, -x)
        return np.asarray(y, dtype=np.float32).view(_EagerArray)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha_initializer": _serialize_initializer(self.alpha_initializer),
            "alpha_regularizer": None,
            "alpha_constraint": None,
            "shared_axes": None,
        }


class Identity(Layer):
    """Returns its inputs unchanged, as Keras 3's ``Identity`` (a placeholder
    layer, e.g. where a script switches a layer off). The engine does not run
    it; it may stand anywhere in a model, before a `Flatten` included.

    >>> Identity()(np.ones((2, 3), np.float32)).shape
    (2, 3)
    """

    _BUILT_WHEN_CREATED = True

    def _sample_output_shape(self, input_shape):
        return tuple(input_shape)

    def _spec(self, input_shape):
        return None

    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array,
        the array (Keras's eager call returns its input)."""
        from fastnn.functional import is_symbolic

        if is_symbolic(inputs):
            return super().__call__(inputs, *args, **kwargs)
        return inputs


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over its features, as Keras 3's
    ``UnitNormalization`` (``ops.normalize(x, order=2, epsilon=1e-12)``)::

        y = x * min(1 / sqrt(sum(x**2)), 1e12)

    so a row of zeros stays zeros. The engine computes it in C++, forward and
    backward (the sum of squares in double; where the 1e12 cap holds, the
    gradient is ``1e12 * dy``, which Keras's torch backend gives as NaN).

    Args:
        axis: the feature axis: `-1` (or 1, the last axis of the
            ``(batch, features)`` inputs fastnn's layers take), an int or a
            one-element list/tuple (kept as a list, as Keras). Defaults to `-1`.

    Input shape ``(batch, features)``; output shape the same.

    >>> UnitNormalization()(np.array([[3.0, 4.0]], np.float32))
    array([[0.6, 0.8]], dtype=float32)
    """

    _BUILT_WHEN_CREATED = True

    axis = _Hyperparameter(lambda layer, value: _unit_norm_axis(value), engine=False)

    def __init__(self, axis=-1, **kwargs):
        axis = _unit_norm_axis(axis)
        super().__init__(**kwargs)
        self.axis = axis

    def _sample_output_shape(self, input_shape):
        _check_flat_samples(self, input_shape)
        return tuple(input_shape)

    def _spec(self, input_shape):
        _check_flat_samples(self, input_shape)
        return {"type": "unit_norm"}

    @_torch_in_torch_out
    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array
        ``(batch, features)``, the engine's formula in float32 (NumPy)."""
        from fastnn.functional import is_symbolic

        if is_symbolic(inputs):
            return super().__call__(inputs, *args, **kwargs)
        if args or set(kwargs) - {"training", "mask"}:
            raise TypeError(f"Layer {self.name!r}: unsupported call arguments")
        x = np.asarray(inputs)
        if x.dtype.kind not in "biuf" or x.ndim != 2:
            raise ValueError(
                f"UnitNormalization layer {self.name!r} takes real inputs of shape "
                f"(batch, features), got {x.dtype} {x.shape}"
            )
        x = x.astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / np.sqrt(np.sum(np.square(x, dtype=np.float64), axis=1, keepdims=True))
        cap = np.float64(_UNIT_NORM_MAX_INV)
        inv = np.where(inv > cap, cap, inv).astype(np.float32)  # (NaN kept)
        return (x * inv).view(_EagerArray)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


# 1 / epsilon with Keras's epsilon 1e-12 (ops.normalize), as float32: the
# engine's cap on a row's inverse norm.
_UNIT_NORM_MAX_INV = np.float32(1.0 / 1e-12)


def _unit_norm_axis(value):
    """UnitNormalization's axis: Keras's type check, then one of the values
    that name the features of ``(batch, features)`` inputs; tuples become
    lists, as Keras keeps them."""
    if isinstance(value, (list, tuple)):
        entries = list(value)
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        entries = [value]
    else:
        raise TypeError(
            "Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
            f"Received: axis={value}"
        )
    if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in entries):
        raise TypeError(
            "Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
            f"Received: axis={value}"
        )
    if [int(a) for a in entries] not in ([-1], [1]):
        raise ValueError(
            f"UnitNormalization axis={value!r}: fastnn normalizes each sample over its "
            "features, the last axis of (batch, features) inputs (axis=-1 or 1; use a "
            "Flatten layer first for samples of more axes)"
        )
    return [int(a) for a in entries] if isinstance(value, (list, tuple)) else int(value)


class ActivityRegularization(Layer):
    """Returns its inputs unchanged and adds a penalty on them to the loss,
    as Keras 3's ``ActivityRegularization``: ``(l1 * sum|x| + l2 *
    sum x**2) / batch_size`` (Keras 3 divides an activity penalty by the
    batch size) joins the loss in training and evaluation alike, and its
    gradient the input's. The C++ engine computes both, as for a Dense
    layer's `activity_regularizer`.

    Args:
        l1: L1 factor, a finite float >= 0. Defaults to `0.0`.
        l2: L2 factor, a finite float >= 0. Defaults to `0.0`.

    As in Keras, the penalty is the layer's `activity_regularizer`
    (``L1L2(l1, l2)``), which may be reassigned later (a built model
    applies it from its next step); `l1` and `l2` are what `get_config`
    writes.

    Input shape: any; output shape the same.

    >>> layer = ActivityRegularization(l1=0.01)
    """

    _BUILT_WHEN_CREATED = True

    activity_regularizer = _Hyperparameter(_regularizer_argument("activity_regularizer"))

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        regularizer = _regularizers.L1L2(l1=l1, l2=l2)  # Keras's checks and errors
        super().__init__(**kwargs)
        self.activity_regularizer = regularizer
        # as given (Keras's config keeps them so), NumPy scalars as Python numbers
        self.l1 = l1.item() if isinstance(l1, np.generic) else l1
        self.l2 = l2.item() if isinstance(l2, np.generic) else l2

    def _sample_output_shape(self, input_shape):
        return tuple(input_shape)

    def _spec(self, input_shape):
        l1, l2 = _regularizers.penalty_factors(
            self.activity_regularizer, f"ActivityRegularization {self.name!r}"
        )
        return {"type": "activity_regularization", "activity_l1": l1, "activity_l2": l2}

    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array,
        the array (Keras's eager call returns its input; the penalty counts
        only inside a model)."""
        from fastnn.functional import is_symbolic

        if is_symbolic(inputs):
            return super().__call__(inputs, *args, **kwargs)
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


def _no_shared_axes(value) -> None:
    if value is not None:
        raise ValueError(
            f"PReLU: shared_axes={value!r} is not supported by fastnn (only None: one alpha "
            "per feature)"
        )


class Flatten(Layer):
    """Flattens each sample to 1-D (a reshape, no copy).

    `data_format` is Keras's: `"channels_last"` (the default, as
    `backend.image_data_format()`) or `"channels_first"`, under which Keras
    moves the first axis of each sample last before flattening. fastnn
    flattens samples in their own order, so `"channels_first"` is taken
    where that is the same order (samples of one axis, or one channel) and
    refused otherwise, rather than giving other features than Keras's.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format is None:
            from fastnn.backend import image_data_format

            data_format = image_data_format()
        data_format = str(data_format).lower()
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(
                "The `data_format` argument must be one of {'channels_first', "
                f"'channels_last'}}. Received: data_format={data_format}"
            )
        self.data_format = data_format

    def _sample_output_shape(self, input_shape):
        if (
            self.data_format == "channels_first"
            and len(input_shape) >= 2
            and input_shape[0] not in (1, None)
        ):
            raise ValueError(
                f"Flatten(data_format='channels_first') of samples shaped {tuple(input_shape)}: "
                f"Keras moves the {input_shape[0]} channels last before flattening, which "
                "fastnn's Flatten does not do. Move them last in the data "
                "(np.moveaxis(x, 1, -1)) and use Flatten() (channels_last), which gives "
                "Keras's features"
            )
        return (math.prod(input_shape),)

    def _spec(self, input_shape):
        return None

    @_torch_in_torch_out
    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array
        ``(batch, ...)``, Keras's eager call: each sample flattened (a
        ``(batch,)`` array becomes ``(batch, 1)``), in float32; under
        ``"channels_first"`` the channel axis (1) moves last first, as Keras
        does."""
        if _is_symbolic_call(inputs):
            return super().__call__(inputs, *args, **kwargs)
        x = _eager_values(self, inputs, args, kwargs)
        if x.ndim < 1:
            raise ValueError(
                f"Flatten layer {self.name!r} needs a batch axis, got an input of shape {x.shape}"
            )
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return np.ascontiguousarray(x).reshape(x.shape[0], -1).view(_EagerArray)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (a view of the same values, as
    Keras's; one entry may be -1, inferred). The engine runs on flat rows, so
    it costs nothing; a `Dense` after it needs a 1-D shape, as after
    `Flatten`.

    >>> Reshape((-1,)).compute_output_shape((None, 28, 28))
    (None, 784)
    """

    _BUILT_WHEN_CREATED = True

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)) and not isinstance(target_shape, bool):
            target_shape = (target_shape,)
        try:
            shape = tuple(target_shape)
        except TypeError:
            raise ValueError(
                f"`target_shape` must be a tuple of ints, got {target_shape!r}"
            ) from None
        if not shape or any(
            isinstance(d, (bool, np.bool_))
            or not isinstance(d, (int, np.integer))
            or (d < 1 and d != -1)
            for d in shape
        ):
            raise ValueError(
                "`target_shape` must be a non-empty tuple of positive ints (one may be -1), "
                f"got {target_shape!r}"
            )
        if list(shape).count(-1) > 1:
            raise ValueError(
                "There must be at most one unknown dimension (-1) in `target_shape`. "
                f"Received: target_shape={shape}."
            )
        self.target_shape = tuple(int(d) for d in shape)

    def _sample_output_shape(self, input_shape):
        total = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if total % known:
                raise ValueError(
                    "The total size of the tensor must be unchanged. Received: "
                    f"input_shape={tuple(input_shape)}, target_shape={self.target_shape}"
                )
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(
                "The total size of the tensor must be unchanged. Received: "
                f"input_shape={tuple(input_shape)}, target_shape={self.target_shape}"
            )
        return self.target_shape

    def _spec(self, input_shape):
        return None

    @_torch_in_torch_out
    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array
        ``(batch, ...)``, Keras's eager call: each sample reshaped to
        `target_shape`, in float32."""
        if _is_symbolic_call(inputs):
            return super().__call__(inputs, *args, **kwargs)
        x = _eager_values(self, inputs, args, kwargs)
        if x.ndim < 1:
            raise ValueError(
                f"Reshape layer {self.name!r} needs a batch axis, got an input of shape {x.shape}"
            )
        return x.reshape(x.shape[0], *self._sample_output_shape(x.shape[1:])).view(_EagerArray)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}


class Normalization(Layer):
    """Feature-wise standardisation of the model's inputs, as Keras 3's
    ``Normalization``: ``(x - mean) / max(sqrt(variance), 1e-7)`` (with
    `invert`, ``mean + x * max(sqrt(variance), 1e-7)``).

    The statistics come from `adapt(data)` (then they are the layer's
    non-trainable weights ``mean``, ``variance`` and ``count``, saved with the
    model), or are given as `mean` and `variance` (then it has no weights).
    Unadapted, it is built with zero means and unit variances.

    fastnn applies it to the inputs, once per `fit`/`evaluate`/`predict`
    call, so it must be the model's first layer (after a `Flatten` at most)
    and normalizes the last axis (``axis=-1``).

    Args:
        axis: the feature axis: `-1` (or ``(-1,)``), or `None` (one mean
            and variance for every value); `1` is the same axis for
            ``(batch, features)`` data, the only data it takes. Kept as a
            tuple, as Keras. Defaults to `-1`.
        mean: per-feature means, or None. Defaults to `None`.
        variance: per-feature variances, or None. Defaults to `None`.
        invert: undo the normalization instead. Defaults to `False`.

    >>> layer = Normalization()
    >>> layer.adapt(np.array([[1.0], [3.0]]))
    >>> layer(np.array([[2.0]]))
    array([[0.]], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axes = ()  # Keras: one mean and variance over every value
        else:
            axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
        if axes not in ((-1,), (1,), ()):
            raise ValueError(
                "fastnn's Normalization normalizes the last axis (axis=-1, or axis=1 of "
                "(batch, features) data) or every value alike (axis=None); got "
                f"axis={axis!r}"
            )
        if (mean is None) != (variance is None):
            raise ValueError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean} and variance={variance}"
            )
        self.axis = axes
        self._stats_rank = 2  # the rank of the data adapted on (Keras's `mean` has it)
        self.invert = bool(invert)
        self.input_mean = mean
        self.input_variance = variance
        self._given = None
        if mean is not None:
            with np.errstate(over="ignore"):
                self._given = (
                    np.asarray(mean, dtype=np.float32).reshape(-1),
                    np.asarray(variance, dtype=np.float32).reshape(-1),
                )
            # else every input would become NaN or Inf (the square root of a negative)
            if not all(np.isfinite(s).all() for s in self._given) or (self._given[1] < 0).any():
                raise ValueError(
                    "Normalization: `mean` and `variance` must be finite as float32 and the "
                    f"variance >= 0, got mean={mean!r:.100}, variance={variance!r:.100}"
                )

    def _sample_output_shape(self, input_shape):
        return tuple(input_shape)

    def _spec(self, input_shape):
        return None  # applied to the inputs by the model, not by the engine

    def _weight_names(self) -> List[str]:
        return ["mean", "variance", "count"][: len(self._weights)]

    @property
    def trainable_weights(self) -> List[np.ndarray]:
        return []  # Keras: mean, variance and count never train

    _STATISTIC_NAMES = ("mean", "variance", "count")

    @property
    def non_trainable_weights(self) -> List[np.ndarray]:
        return self.weights

    def _stat_shape(self, features: int) -> tuple:
        return (features,) if self.axis else ()  # axis=None: scalars, as Keras

    @property
    def mean(self) -> Optional[_EagerArray]:
        """Keras's ``layer.mean``: the means broadcast to the inputs,
        ``(1, features)`` (``(1, 1)`` with ``axis=None``), once built or
        adapted; None before, as Keras."""
        return self._broadcast_statistic(0)

    @property
    def variance(self) -> Optional[_EagerArray]:
        """Keras's ``layer.variance``, shaped as `mean` (None before)."""
        return self._broadcast_statistic(1)

    def _broadcast_statistic(self, which: int) -> Optional[_EagerArray]:
        stats = self._statistics()
        if stats is None:
            return None
        value = np.asarray(stats[which], dtype=np.float32)
        # Keras broadcasts to the rank of the data it was built or adapted on
        shape = (1,) * (self._stats_rank - 1) + (value.size if self.axis else 1,)
        return np.array(value.reshape(shape)).view(_EagerArray)

    def _build_statistics(self, features: int) -> None:
        """Keras's unadapted state: zero means, unit variances, count 0;
        statistics already there (adapted or given) must fit `features`."""
        stats = self._statistics()
        if stats is not None and stats[0].size not in (1, features):
            raise ValueError(
                f"Normalization layer {self.name!r} has statistics for {stats[0].size} features, "
                f"but the model's inputs have {features}"
            )
        if self._given is None and not self._weights:
            shape = self._stat_shape(features)
            self._weights = [
                np.zeros(shape, np.float32),
                np.ones(shape, np.float32),
                np.zeros((), np.int32),
            ]
        self.built = True

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Computes the per-feature mean and variance of `data` (samples
        on the first axes, features last), as Keras's `adapt`: an array or
        a tensor, or, as Keras 3.15 takes them, an iterable of batches (a
        generator, a `PyDataset`, a torch `DataLoader`, a list of arrays;
        of a batch that is a tuple, its first element, x), whose statistics
        are those of all their samples. `steps` (with `batch_size`, 32 by
        default) reads only the first ``steps * batch_size`` samples, as
        tf.keras 2's adapt did (Keras 3's takes the data only)."""
        if self._given is not None:
            raise ValueError("Cannot `adapt` a Normalization layer created with mean and variance")
        for name, value in (("batch_size", batch_size), ("steps", steps)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
            ):
                raise ValueError(f"adapt: `{name}` must be an integer >= 1, got {value!r}")
        values, rank = _adapt_values(data)
        if steps is not None and values.ndim >= 1:
            values = values[: steps * (batch_size or 32)]
        if values.dtype.kind not in "biuf" or values.ndim < 1 or values.size == 0:
            raise ValueError(f"adapt needs a non-empty numeric array, got shape {values.shape}")
        self._check_axis_rank(values.ndim)
        if not np.isfinite(values).all():  # (the statistics would be NaN)
            raise ValueError("adapt: the data holds NaN or Inf values")
        self._stats_rank = max(rank, 1)
        if values.ndim == 1 or not self.axis:
            values = values.reshape(-1, 1)  # axis=None: every value is a sample
        flat = values.reshape(-1, values.shape[-1])
        mean, variance = flat.mean(axis=0), flat.var(axis=0)
        if self._weights:  # in place: a model built with the layer keeps its views
            if self._weights[0].size != mean.size:
                raise ValueError(
                    f"adapt: the layer has {self._weights[0].size} features, the data "
                    f"{mean.shape[0]}"
                )
            self._weights[0][...] = mean.reshape(self._weights[0].shape)
            self._weights[1][...] = variance.reshape(self._weights[1].shape)
        else:
            shape = self._stat_shape(mean.shape[0])
            self._weights = [
                mean.astype(np.float32).reshape(shape),
                variance.astype(np.float32).reshape(shape),
                np.zeros((), np.int32),  # Keras 3.15's count stays 0 after adapt
            ]
        self.built = True

    def _statistics(self):
        if self._given is not None:
            return self._given
        if not self._weights:
            return None
        return self._weights[0], self._weights[1]

    def _normalize(self, x: np.ndarray) -> np.ndarray:
        """The layer on a float32 ``(n, features)`` array (a new array)."""
        stats = self._statistics()
        if stats is None:
            return x.copy()
        mean, variance = stats
        if mean.size not in (1, x.shape[-1]):
            raise ValueError(
                f"Normalization {self.name!r} has {mean.size} features; the inputs have "
                f"{x.shape[-1]}"
            )
        scale = np.maximum(np.sqrt(variance), np.float32(1e-7))
        out = mean + x * scale if self.invert else (x - mean) / scale
        return out.astype(np.float32, copy=False)

    @_torch_in_torch_out
    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array,
        the normalized array (float32), as Keras computes it eagerly."""
        from fastnn.functional import is_symbolic

        if is_symbolic(inputs):
            return super().__call__(inputs, *args, **kwargs)
        x = np.asarray(inputs, dtype=np.float32)
        self._check_axis_rank(x.ndim)
        if self._given is None and not self._weights:
            self._build_statistics(x.shape[-1])
        return self._normalize(x).view(_EagerArray)

    def _check_axis_rank(self, rank: int) -> None:
        """``axis=1`` is the last axis only of ``(batch, features)`` data."""
        if self.axis == (1,) and rank != 2:
            raise ValueError(
                f"Normalization layer {self.name!r} with axis=1 takes data of shape "
                f"(batch, features) (there axis 1 is the last, which fastnn normalizes), got "
                f"data of rank {rank}; use axis=-1 for the last axis of other data"
            )

    def get_config(self) -> dict:
        def listed(value):
            return value.tolist() if isinstance(value, np.ndarray) else value

        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": listed(self.input_mean),
            "variance": listed(self.input_variance),
        }


def _adapt_values(data):
    """`(values, rank)`: `Normalization.adapt`'s data as a float64 array
    and the rank Keras gives its statistics (the data's, or its first
    batch's). Iterables of batches are read once and their samples put
    together (Keras pools the batches' means and variances: the same
    statistics)."""
    from fastnn import _batch_sources

    data = plain_tensor(data)
    batches = None
    if _batch_sources.is_batch_source(data):
        batches = data if hasattr(data, "__iter__") else (data[i] for i in range(len(data)))
    elif isinstance(data, (list, tuple)) and data and all(hasattr(b, "shape") for b in data):
        batches = data  # a list of arrays: Keras's batches
    if batches is not None:
        return _concatenated_batches(batches)
    try:
        values = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(
            "adapt takes numbers: an array or a tensor of samples, or an iterable of batches "
            f"(a generator, a PyDataset, a DataLoader, a list of arrays); got {type(data)} ({e})"
        ) from None
    return values, values.ndim


def _concatenated_batches(batches):
    """`_adapt_values` of an iterable of batches (Keras's messages for an
    empty one and for batches of other shapes)."""
    arrays, rank = [], 1
    for i, batch in enumerate(batches):
        if isinstance(batch, tuple) or (  # (x, y) or (x, y, sample_weight): x
            isinstance(batch, list) and batch and getattr(batch[0], "ndim", 0) >= 1
        ):  # (a DataLoader's default collate makes lists of tensors: [x] or [x, y])
            batch = batch[0] if batch else None
        try:
            batch = np.asarray(plain_tensor(batch))
        except ValueError:  # (a ragged nested list)
            batch = np.empty((), object)
        if batch.dtype.kind not in "biuf" or batch.ndim == 0:
            raise TypeError(
                f"adapt: batch {i} must be an array of numbers, (batch, features) or one "
                f"sample (features,); got {batch.dtype} of shape {batch.shape}"
            )
        if not arrays:
            rank = batch.ndim
        batch = batch.reshape(1, -1) if batch.ndim == 1 else batch  # one sample
        if arrays and batch.shape[1:] != arrays[0].shape[1:]:
            raise ValueError(
                "adapt() yielded a batch with incompatible shape. Expected "
                f"{(None, *arrays[0].shape[1:])}, got {batch.shape} (batch {i})."
            )
        arrays.append(batch.astype(np.float64))
    if not arrays:
        raise ValueError(
            "adapt() received an empty iterable (no batches). Expected at least one batch. "
            "Pass a non-empty iterable of arrays or tensors, e.g. layer.adapt([x]) or "
            "layer.adapt(list_of_batches)."
        )
    return np.concatenate(arrays), rank


class Rescaling(Layer):
    """Rescales the model's inputs, as Keras 3's ``Rescaling``:
    ``x * scale + offset``, computed in float32 (integer inputs such as uint8
    images become floats).

    fastnn applies it to the inputs, once per `fit`/`evaluate`/`predict` call
    (or per batch of a generator), so it must come before every layer the
    engine runs: first, before or after a `Flatten`, beside `Normalization`
    layers (applied in the order given).

    Args:
        scale: a float, or per-feature values (an array broadcast to the
            inputs' shape at the layer, as NumPy broadcasts).
        offset: a float, or per-feature values. Defaults to `0.0`.

    `scale` and `offset` may be reassigned (checked as here, also against
    the inputs of the models built with the layer), as in Keras: the next
    call uses them.

    >>> layer = Rescaling(1 / 255)
    >>> layer(np.array([[0, 255]], np.uint8))
    array([[0., 1.]], dtype=float32)
    """

    scale = _Hyperparameter(lambda layer, value: _rescaling_argument(value, "scale"))
    offset = _Hyperparameter(lambda layer, value: _rescaling_argument(value, "offset"))

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self._factors = (_rescaling_factor(scale, "scale"), _rescaling_factor(offset, "offset"))
        self._flat_factors: Dict[int, tuple] = {}  # by input width, set by the model's build
        self._built_shapes: Dict[int, tuple] = {}  # the inputs' shapes, by width

    def _sample_output_shape(self, input_shape):
        return tuple(input_shape)

    def _spec(self, input_shape):
        return None  # applied to the inputs by the model, not by the engine

    def _build_rescaling(self, shape: Tuple[int, ...]) -> None:
        """Checks that scale and offset broadcast to samples of `shape` and
        keeps them flattened for the model's ``(n, features)`` inputs."""
        self._flat_factors[math.prod(shape)] = self._flattened(self._factors, shape)
        if not hasattr(self, "_built_shapes"):  # a layer pickled before they were kept
            self._built_shapes = {}
        self._built_shapes[math.prod(shape)] = tuple(shape)
        self.built = True

    def _hyperparameter_changed(self) -> None:
        """The model applies the layer to its inputs in Python: new factors,
        checked against every input shape the layer was built for."""
        factors = (_rescaling_factor(self.scale, "scale"), _rescaling_factor(self.offset, "offset"))
        shapes = getattr(self, "_built_shapes", {})
        flat = {width: self._flattened(factors, shape) for width, shape in shapes.items()}
        self._factors, self._flat_factors = factors, flat

    def _flattened(self, factors, shape: Tuple[int, ...]) -> tuple:
        flat = []
        for name, factor in zip(("scale", "offset"), factors):
            if factor.ndim == 0:
                flat.append(factor)
                continue
            try:
                fits = np.broadcast_shapes(factor.shape, shape) == tuple(shape)
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(
                    f"Rescaling layer {self.name!r}: `{name}` of shape {factor.shape} does not "
                    f"broadcast to the inputs it rescales, of shape (batch, "
                    f"{', '.join(map(str, shape))})"
                )
            flat.append(np.ascontiguousarray(np.broadcast_to(factor, shape).reshape(-1)))
        return tuple(flat)

    def _normalize(self, x: np.ndarray) -> np.ndarray:
        """The layer on a float32 ``(n, features)`` array (a new array)."""
        scale, offset = self._flat_factors.get(x.shape[-1], self._factors)
        return (x * scale + offset).astype(np.float32, copy=False)

    @_torch_in_torch_out
    def __call__(self, inputs, *args, **kwargs):
        """On `Input(...)` (functional API), a symbolic tensor; on an array,
        the rescaled array (float32), as Keras computes it eagerly."""
        from fastnn.functional import is_symbolic

        if is_symbolic(inputs):
            return super().__call__(inputs, *args, **kwargs)
        x = np.asarray(inputs)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"Rescaling takes real numbers, got dtype {x.dtype}")
        scale, offset = self._factors
        return np.asarray(x.astype(np.float32) * scale + offset, np.float32).view(_EagerArray)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "scale": _serialize_factor(self.scale),
            "offset": _serialize_factor(self.offset),
        }

    @classmethod
    def from_config(cls, config: dict):
        """Also reads Keras's ``{"class_name": "__numpy__", ...}`` arrays."""
        if isinstance(config, dict):
            config = dict(config)
            for key in ("scale", "offset"):
                if key in config:
                    config[key] = _deserialize_factor(config[key], key)
        return super().from_config(config)


def _rescaling_argument(value, name: str):
    """`scale` or `offset` as given (kept for the config), once checked."""
    _rescaling_factor(value, name)
    return value


def _rescaling_factor(value, name: str) -> np.ndarray:
    """`scale` or `offset` as float32 (a TypeError unless real numbers)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Rescaling: `{name}` must be a float or an array of floats, got {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray(None)
    if arr.dtype.kind not in "biuf" or arr.size == 0:
        raise TypeError(
            f"Rescaling: `{name}` must be a float or an array of floats, got {value!r:.100}"
        )
    with np.errstate(over="ignore"):
        arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():  # else every input would become NaN or Inf
        raise ValueError(f"Rescaling: `{name}` must be finite as float32, got {value!r:.100}")
    return arr


def _serialize_factor(value):
    """As Keras's serialize_keras_object: a NumPy array as ``__numpy__``."""
    if isinstance(value, np.ndarray):
        return {
            "class_name": "__numpy__",
            "config": {"value": value.tolist(), "dtype": str(value.dtype)},
        }
    if isinstance(value, np.generic):
        return value.item()
    return value


def _deserialize_factor(value, name: str):
    if isinstance(value, dict):
        inner = value.get("config")
        if value.get("class_name") != "__numpy__" or not isinstance(inner, dict):
            raise ValueError(f"Rescaling config: unknown `{name}` {value!r:.200}")
        return np.asarray(inner.get("value"), dtype=inner.get("dtype"))
    return value


def _serialize_regularizer(regularizer):
    return None if regularizer is None else _regularizers.serialize(regularizer)


def _serialize_constraint(constraint):
    return None if constraint is None else _constraints.serialize(constraint)


def _keeps_weights(layer: Layer, weights: list) -> bool:
    """Whether a model's build keeps the weights `layer` has (the shapes of
    `weights`, ``(name, initializer, shape)``) rather than initial values."""
    return len(layer._weights) == len(weights) and all(
        tuple(w.shape) == tuple(shape) for w, (_, _, shape) in zip(layer._weights, weights)
    )


def _initial_values(layer: Layer, weights: list) -> List[np.ndarray]:
    """`_init_weights` of a layer whose `weights` are ``(name, initializer,
    shape)``: the initial values, checked finite; for a layer whose weights
    the build keeps (`add`, `pop`), values it replaces, drawn unchecked as
    before (the seeds they take); its weights themselves when the layer is
    described again (`Layer._redescribe`), which draws nothing."""
    if not _keeps_weights(layer, weights):
        return _initialized(layer, weights)
    if layer._keeps_built():
        return list(layer._weights)
    return [initializer(shape) for _, initializer, shape in weights]


def _check_initializers(layer: Layer, weights: list) -> None:
    """Refuses, before the model changes anything, an initializer that can
    give a value beyond float32's range (NaN or Inf weights): `weights` are
    ``(name, initializer, shape)``. Initializers of unknown range are
    checked on their values by `_initialized`."""
    for name, initializer, _ in weights:
        bound = initializer._largest_magnitude()
        with np.errstate(over="ignore"):
            if bound is None or np.isfinite(np.float32(bound)):
                continue
        if math.isnan(bound):
            raise _initializer_error(layer, name, initializer, "gives NaN values")
        largest = float(np.finfo(np.float32).max)
        raise _initializer_error(
            layer,
            name,
            initializer,
            f"gives values up to {bound:.4g} in magnitude, Inf in float32 (whose largest is "
            f"{largest:.4g})",
        )


def _initialized(layer: Layer, weights: list) -> List[np.ndarray]:
    """The initial values of `weights` (``(name, initializer, shape)``) as
    float32, each checked finite as `set_weights` checks weights."""
    values = []
    for name, initializer, shape in weights:
        with np.errstate(over="ignore", invalid="ignore"):
            value = np.asarray(initializer(shape), dtype=np.float32)
        if not np.isfinite(value).all():
            raise _initializer_error(layer, name, initializer, "gives NaN or Inf values (float32)")
        values.append(value)
    return values


def _initializer_error(layer: Layer, name: str, initializer, what: str) -> ValueError:
    config = initializer.get_config()
    arguments = ", ".join(f"{key}={value!r}" for key, value in config.items())
    return ValueError(
        f"{type(layer).__name__} layer {layer.name!r}: its {name} initializer "
        f"{type(initializer).__name__}({arguments}) {what}; weights must be finite"
    )


def _checked_weights(
    views: List[np.ndarray], weights: Sequence, what: str, finite: bool = True
) -> List[np.ndarray]:
    """Validates every array against `views` before anything is written.

    `finite`: refuse NaN or Inf (`set_weights` with the user's arrays);
    False for weights read back from a file or a callback's own copy (a
    diverged run's NaN weights load, as Keras loads them)."""
    weights = list(weights)
    if len(weights) != len(views):
        raise ValueError(f"{what} expects {len(views)} weight arrays, got {len(weights)}")
    arrays = []
    for i, (view, w) in enumerate(zip(views, weights)):
        a = np.asarray(w)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{what}: weight {i} must be numeric, got dtype {a.dtype}")
        if a.shape != view.shape:
            raise ValueError(f"{what}: weight {i} must have shape {view.shape}, got {a.shape}")
        a = a.astype(np.float32, copy=False)
        if finite and not np.isfinite(a).all():
            raise ValueError(f"{what}: weight {i} contains NaN or Inf")
        arrays.append(a)
    return arrays


# -- serialization -------------------------------------------------------------

# Keras 3 config keys fastnn layers accept only at their defaults.
# Keras 1 and 2 layer arguments copied scripts still pass, and today's names
_OLD_LAYER_ARGUMENTS = {
    "init": "kernel_initializer",
    "output_dim": "units",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
    "p": "rate",
    "beta_init": "beta_initializer",
    "gamma_init": "gamma_initializer",
}


def _unrecognized_kwargs_message(class_name: str, kwargs: dict) -> str:
    """Keras's error for unknown layer arguments, with today's name for the
    Keras 1/2 ones."""
    message = f"Unrecognized keyword arguments passed to {class_name}: {kwargs!r}"
    renamed = [
        f"{old}= is now {_OLD_LAYER_ARGUMENTS[old]}="
        for old in kwargs
        if old in _OLD_LAYER_ARGUMENTS
    ]
    if "mode" in kwargs and class_name == "BatchNormalization":
        renamed.append(
            "mode= was removed in Keras 2 (training and inference are chosen by fit/predict)"
        )
    if renamed:
        message += " (Keras 1 arguments: " + "; ".join(renamed) + ")"
    return message


_KERAS_ONLY_DEFAULTS = {
    "dtype": lambda v: _is_float32_policy(v),
    "autocast": lambda v: v is True,
    "kernel_regularizer": lambda v: v is None,
    "bias_regularizer": lambda v: v is None,
    "activity_regularizer": lambda v: v is None,
    "kernel_constraint": lambda v: v is None,
    "bias_constraint": lambda v: v is None,
    "lora_rank": lambda v: v is None,
    "lora_alpha": lambda v: v is None,
    "quantization_config": lambda v: v is None,
    "sparse": lambda v: v is False,
    "ragged": lambda v: v is False,
    "optional": lambda v: v is False,
}


def _input_layer_config(batch_shape: tuple, name: str) -> dict:
    """Keras 3's InputLayer config (float32, dense inputs only)."""
    return {
        "batch_shape": batch_shape,
        "dtype": "float32",
        "sparse": False,
        "ragged": False,
        "name": name,
        "optional": False,
    }


def _float32_policy_config() -> dict:
    """The float32 ``DTypePolicy`` as Keras 3 serializes it in a layer's config."""
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }


def _is_float32_policy(value) -> bool:
    """None, "float32", or Keras's ``DTypePolicy`` dict naming float32."""
    if value is None or value == "float32" or getattr(value, "name", None) == "float32":
        return True  # (a DTypePolicy, or np.dtype("float32"))
    if isinstance(value, type) and value is np.float32:
        return True
    if isinstance(value, dict):
        inner = value.get("config") or {}
        return isinstance(inner, dict) and inner.get("name") == "float32"
    return False


def _init_parameters(cls) -> set:
    """Named constructor arguments of `cls`, following ``**kwargs`` up the MRO."""
    import inspect

    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(
            p.name
            for p in params
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )
        if not any(p.kind == p.VAR_KEYWORD for p in params) or klass is Layer:
            break
    return names


def _serialize_initializer(initializer) -> Optional[dict]:
    """Keras 3's form: ``{"module": "keras.initializers", "class_name", "config", ...}``
    (None for None, as Keras serializes it)."""
    if initializer is None:
        return None
    if isinstance(initializer, _initializers.FunctionInitializer):  # as Keras saves it
        return _initializers.serialize(initializer)
    from fastnn.saving import _class_entry

    # a user's class: its module and registered name, found again by them
    return _class_entry(type(initializer), initializer.get_config(), "keras.initializers")


def _deserialize_argument(key: str, value):
    """Initializer and regularizer dicts become objects; the rest is kept."""
    if not isinstance(value, dict):
        return value
    if key.endswith("_initializer"):
        if value.get("class_name") == "function":  # a function, found by name
            from fastnn.saving import deserialize_function

            return _initializers.FunctionInitializer(deserialize_function(value))
        inner = value.get("config") or {}
        if not isinstance(inner, dict):
            raise ValueError(f"{key}: 'config' must be a dict, got {inner!r:.200}")
        from fastnn.utils.registry import get_registered_object

        cls = get_registered_object(value.get("registered_name")) or get_registered_object(
            value.get("class_name")
        )
        if not isinstance(cls, type):
            cls = type(_initializers.get(value.get("class_name")))
        return cls(**inner)
    if key in ("kernel_constraint", "bias_constraint"):
        return _constraints.deserialize(value)
    if key == "activation" and value.get("class_name", "function") != "function":
        # an activation layer's config (a function's dict is resolved by the layer)
        return deserialize(value)
    if key.endswith("_regularizer"):
        import importlib

        try:
            regularizers = importlib.import_module("fastnn.regularizers")
        except ImportError:
            raise ValueError(f"{key}={value!r:.200}: this fastnn has no regularizers") from None
        if hasattr(regularizers, "deserialize"):
            return regularizers.deserialize(value)
        return regularizers.get(value)
    return value


def serialize(layer: Layer) -> dict:
    """Keras 3's form: ``{"module": "keras.layers", "class_name", "config", "registered_name"}``.

    >>> serialize(Dense(3, name="out"))["config"]["units"]
    3
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"serialize takes a fastnn layer, got {type(layer).__name__}")
    from fastnn.saving import _class_entry

    # a user's subclass: its module and registered name, found again by them
    serialized = _class_entry(type(layer), layer.get_config(), "keras.layers")
    build_config = layer.get_build_config()
    if build_config is not None:  # as Keras's, for a built layer
        serialized["build_config"] = build_config
    return serialized


def deserialize(config: dict, custom_objects=None) -> Layer:
    """Rebuilds a layer from `serialize`'s output (or Keras 3's) with
    ``from_config``, built from its ``build_config`` when it has one (as
    Keras's); only fastnn's layer classes and `custom_objects` are used.

    Raises:
        ValueError: an unknown class or key, or a malformed config.
    """
    layer = _deserialize(config, custom_objects)
    if isinstance(config, dict) and isinstance(config.get("build_config"), dict):
        layer.build_from_config(config["build_config"])
    return layer


def _deserialize(config: dict, custom_objects=None) -> Layer:
    """`deserialize` without the build: a model's layers are built by the
    model (their weights drawn in the model's order)."""
    from fastnn.saving import deserialize_from_table

    table = {
        name: obj
        for name, obj in globals().items()
        if isinstance(obj, type)
        and issubclass(obj, Layer)
        and obj is not Layer
        and not name.startswith("_")
    }
    layer = deserialize_from_table(config, table, custom_objects)
    if not isinstance(layer, Layer):
        raise ValueError(f"{config!r:.200} does not describe a layer")
    return layer


# Keras layers fastnn does not have, and why (a pointer instead of a bare
# AttributeError).
_MERGES = ("Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract")
_NOT_DENSE = (
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "SeparableConv2D",
    "DepthwiseConv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "MaxPool1D",
    "MaxPool2D", "AvgPool2D", "Embedding", "LSTM", "GRU", "SimpleRNN",
    "Bidirectional", "TimeDistributed", "MultiHeadAttention", "Attention", "TextVectorization",
    # Keras 3.15's other layers over space, time or images
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D", "AdditiveAttention",
    "AugMix", "AutoContrast", "AveragePooling1D", "AveragePooling3D", "AvgPool1D", "AvgPool3D",
    "CenterCrop", "ContrastLimitedAdaptiveHistogramEqualization", "Conv3DTranspose",
    "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Convolution1D", "Convolution1DTranspose",
    "Convolution2D", "Convolution2DTranspose", "Convolution3D", "Convolution3DTranspose",
    "Cropping1D", "Cropping2D", "Cropping3D", "CutMix", "DepthwiseConv1D", "Equalization",
    "GRUCell", "GlobalAveragePooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
    "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalMaxPooling3D",
    "GroupQueryAttention", "LSTMCell", "MaxNumBoundingBoxes", "MaxPool3D", "MaxPooling3D",
    "MelSpectrogram", "MixUp", "RNN", "RandAugment", "RandomBrightness",
    "RandomColorDegeneration", "RandomColorJitter", "RandomContrast", "RandomCrop",
    "RandomElasticTransform", "RandomErasing", "RandomFlip", "RandomGaussianBlur",
    "RandomGrayscale", "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization",
    "RandomRotation", "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation",
    "RandomZoom", "RepeatVector", "Resizing", "ReversibleEmbedding", "STFTSpectrogram",
    "SeparableConv1D", "SeparableConvolution1D", "SeparableConvolution2D", "SimpleRNNCell",
    "Solarization", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "StackedRNNCells", "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D", "Masking", "Permute",
)  # fmt: skip
# Keras layers that fit a dense network but that fastnn does not have (yet).
_NOT_YET = (
    "RMSNormalization", "GroupNormalization",
    "SpectralNormalization", "EinsumDense", "CategoryEncoding", "Discretization", "Hashing",
    "HashedCrossing", "IntegerLookup", "StringLookup", "Pipeline", "Wrapper", "InputSpec",
)  # fmt: skip
# Keras layers that run another framework's code.
_FOREIGN = ("FlaxLayer", "JaxLayer", "TorchModuleWrapper", "TFSMLayer")


def _refuse(name: str, message: str):
    """The error for a Keras layer name fastnn does not have (`fastnn._absent.refusal`):
    ImportError from a `from ... import` statement, AttributeError otherwise."""
    from fastnn._absent import refusal

    return refusal(__name__, name, message)


def __getattr__(name: str):
    if name in _MERGES or name in {m.lower() for m in _MERGES}:
        raise _refuse(
            name,
            f"fastnn.layers has no {name!r}: fastnn's models are one chain of layers (no "
            "merges of several inputs or branches); see the README's deliberate differences",
        )
    if name in _NOT_DENSE:
        raise _refuse(
            name,
            f"fastnn.layers has no {name!r}: fastnn builds dense networks (multilayer "
            "perceptrons: Dense, activations, Dropout, normalization layers)",
        )
    if name in _NOT_YET:
        raise _refuse(
            name,
            f"fastnn.layers has no {name!r}: fastnn does not implement this Keras layer (its "
            "layers: Dense, activations, Dropout and the noise layers, Flatten, Reshape, "
            "Normalization, Rescaling, BatchNormalization, LayerNormalization, "
            "UnitNormalization, PReLU, ActivityRegularization)",
        )
    if name in _FOREIGN:
        raise _refuse(
            name,
            f"fastnn.layers has no {name!r}: fastnn's C++ engine cannot run or differentiate "
            "another framework's modules",
        )
    if name == "Lambda":
        raise _refuse(
            name,
            "fastnn.layers has no 'Lambda': the C++ engine cannot run or differentiate a Python "
            "function; use Rescaling or Normalization for input scaling, or apply the function "
            "to the data before fit",
        )
    raise AttributeError(f"module 'fastnn.layers' has no attribute {name!r}")
