"""Models (``keras.models``): :class:`Sequential`.

A Sequential model compiles its layer list into one C++ ``Network``
(``fastnn._core.nn.Network``) that owns a single flat float32 parameter
buffer; a training step (forward, loss, backward, SGD update) is one C++ call
with the GIL released.

Data path (written once here so that ``fit``/``evaluate`` reuse it):

* :meth:`Sequential._prepare_x` checks the per-sample shape against the
  model's input shape, flattens (a view), and converts to C-contiguous float32
  once;
* the engine's bindings then check widths, lengths, label values and NaN/Inf
  before anything changes (``check_finite=False`` skips the O(n) NaN scan for
  arrays already checked);
* ``Network.prepare(x, y, sample_weight)`` validates and converts once; then
  ``Network.train_epoch(data, order, batch_size, step_begin, step_end,
  optimizer_kernel, learning_rates)`` runs any range of steps of an epoch in C++,
  gathering each batch by index from ``order``, and returns the sums
  (``loss_sum``, ``samples``, ``metric_sums``, ``weight_sum``) a progress bar
  needs: Keras's epoch loss is ``loss_sum / samples`` and a metric is
  ``metric_sums[k] / samples`` (``/ weight_sum`` for a weighted metric).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import threading
import time
import warnings
import weakref
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from fastnn import _absent, _batch_sources, _core
from fastnn import layers as _layers
from fastnn import losses as _losses
from fastnn import metrics as _metrics
from fastnn import optimizers as _optimizers
from fastnn.optimizers.base import _slot_order
from fastnn.utils import seeding as _seeding
from fastnn.utils.naming import check_name, check_trainable, tolerating_archive_names
from fastnn.utils.tensors import as_torch_tensor, is_torch_dataset, is_torch_tensor, plain_tensor

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]

_FLOAT32 = np.dtype(np.float32)


_LOCK_CREATION = threading.Lock()
# Per thread: model id -> {id(metric): private copy} (Sequential._private_host_metrics).
_HOST_COPIES = threading.local()
# Serializes the decision of compile(loss="crossentropy") by the first labels
# (`Sequential._decide_crossentropy`): one thread sets the engine's loss.
_LOSS_DECISION = threading.Lock()


def _arguments(names: dict) -> dict:
    """A method's arguments from its `locals()` taken before anything else is
    assigned but the first-call check's `first`."""
    return {k: v for k, v in names.items() if k not in ("self", "first")}


def _first_call(model, method, args: tuple, kwargs: dict):
    """Runs `method` on a model its caller found unbuilt (Keras builds on
    first use, from the call's data). If the call then fails before any
    training step, say on a bad label or a NaN, the model goes back to
    unbuilt as it was: the input width taken from the rejected x, the initial
    weights, the seeds they drew, the metrics resolved from its shapes and the
    optimizer's slots are all forgotten, so the next, correct call builds
    afresh. A call that trained before failing (a callback raising in epoch
    2, an interrupt) keeps what it built and trained.

    First calls on one model are serialized by its own lock, so a thread's
    undo never takes away a build another thread's call is using: a second
    thread waits, then finds the model built (or unbuilt again) and goes on.
    While it runs, ``model._first_call_thread`` names its thread: another
    thread's call then waits here too (even on the model built meanwhile,
    whose build may yet be undone), and the call made here, in this thread,
    does not come back."""
    lock = model.__dict__.get("_first_build_lock")
    if lock is None:
        with _LOCK_CREATION:
            lock = model.__dict__.setdefault("_first_build_lock", threading.RLock())
    with lock:
        model._first_call_thread = threading.get_ident()
        try:
            if model._net is not None:  # another thread's first call built it meanwhile
                return method(model, *args, **kwargs)
            saved = _UnbuiltState(model)
            try:
                return method(model, *args, **kwargs)
            except BaseException:
                saved.restore_if_untrained(model)
                raise
        finally:
            model._first_call_thread = None


class _UnbuiltState:
    """What building touches, saved while the model is unbuilt: shallow copies
    of the model's, its layers' and its optimizer's attributes (building
    assigns new objects; it mutates none it found), and the seed sequence."""

    def __init__(self, model):
        self.model = dict(model.__dict__)
        self.layers = [(layer, dict(layer.__dict__)) for layer in model._layers]
        optimizer = model.optimizer
        self.optimizer = None if optimizer is None else (optimizer, dict(optimizer.__dict__))
        self.iterations = None if optimizer is None else int(optimizer.iterations)
        self.seed_mark = _seeding._mark()

    def restore_if_untrained(self, model) -> None:
        if model._net is None:
            return  # not built by this call
        optimizer = model.optimizer
        if optimizer is not None and int(optimizer.iterations) != self.iterations:
            return  # trained: keep it
        for obj, attributes in (
            (model, self.model),
            *self.layers,
            *([self.optimizer] if self.optimizer is not None else []),
        ):
            # never cleared first: a thread reading `model._net` meanwhile (before
            # it takes the lock) must find an attribute, the new one or the old
            for name in [name for name in obj.__dict__ if name not in attributes]:
                del obj.__dict__[name]
            obj.__dict__.update(attributes)
        _seeding._rewind_if_alone(self.seed_mark)


# float64 values from here up round to float32's inf (2**128 - 2**103: halfway
# between the largest float32 and 2**128, a tie that rounds to the even 2**128).
_FLOAT32_OVERFLOW = 2.0**128 - 2.0**103


def _host_result(metric):
    """A host metric's `result()` as a float or a float32 array (a user's
    `result` may return a number, a NumPy value or a tensor-like)."""
    value = metric.result()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    try:
        with np.errstate(over="ignore"):
            value = np.asarray(value, np.float32)
    except (TypeError, ValueError):
        raise TypeError(
            f"metric {metric.name!r}: result() must return a number or an array of numbers, "
            f"got {value!r:.80}"
        ) from None
    return float(value) if value.ndim == 0 else value


def _frame_values(x, what: str = "x"):
    """A data frame whose columns all hold numbers or booleans (numeric and
    bool columns side by side, as `pandas.get_dummies` makes them; nullable
    integer and boolean columns, missing values NaN) as a float64 array, as
    Keras reads it; anything else as it is. NumPy reads such a frame as an
    array of Python objects. Columns of Python objects or categories that
    hold numbers (numeric strings too) are read as numbers (Keras 3.15 reads
    some in fit and refuses them in predict); a value that is not one raises
    a ValueError naming its column."""
    dtypes = getattr(x, "dtypes", None)
    if dtypes is None or isinstance(x, np.ndarray) or not hasattr(x, "to_numpy"):
        return x
    try:
        dtypes = list(dtypes)
    except TypeError:  # a Series: one dtype, read by NumPy as it is
        return x
    if not dtypes:
        return x
    for label, d in zip(getattr(x, "columns", ()), dtypes):
        if getattr(d, "kind", "O") == "c":  # as an array's: NumPy would drop the imaginary part
            raise TypeError(f"{what} must hold real numbers: column {label!r} has dtype {d}")
    if not all(getattr(d, "kind", "O") in "biuf" for d in dtypes):
        if not hasattr(x, "iloc"):
            return x  # not a pandas frame: refused below as before
        columns = [_column_numbers(x.iloc[:, i], x.columns[i], what) for i in range(len(dtypes))]
        return np.stack(columns, axis=1)
    if all(isinstance(d, np.dtype) for d in dtypes) and len(set(dtypes)) == 1:
        return x  # one NumPy dtype: NumPy reads it without objects
    return x.to_numpy(dtype=np.float64, na_value=np.nan)


def _column_numbers(column, label, what: str) -> np.ndarray:
    """A data frame's column as float64 (missing values NaN), or a ValueError
    naming the column and its first value that is not a number (dates and
    durations are none: NumPy would read them as nanosecond counts)."""
    bad = None
    if getattr(column.dtype, "kind", "O") in "mM":
        bad = column.iloc[0] if len(column) else None
    else:
        try:
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            pass
        for value in column:
            try:
                float(value)
            except (TypeError, ValueError):
                bad = value
                break
    holds = f"holds {bad!r:.60}, which is not a number" if bad is not None else "is not numbers"
    fix = (
        "Labels: " + _losses.ENCODE_LABELS
        if what.startswith("y")
        else "Encode text and category columns as numbers first: pandas.get_dummies(frame) "
        "for one-hot columns, scikit-learn's OneHotEncoder or OrdinalEncoder, or "
        "frame[column].astype(float) for numbers stored as text"
    )
    raise ValueError(f"{what}: column {label!r} (dtype {column.dtype}) {holds}. {fix}")


def _float32(value: float) -> float:
    """`value` rounded to float32, as a Python float; inf beyond float32's
    range, without NumPy's overflow warning."""
    if -_FLOAT32_OVERFLOW < value < _FLOAT32_OVERFLOW or value != value:
        return float(np.float32(value))
    return math.copysign(math.inf, value)


def _log_value(value):
    """A metric's value (a float, or an array per output) as Keras's logs
    hold it: rounded to float32, the precision of Keras's metric variables
    (inf beyond its range, without NumPy's overflow warning), as a float; a
    per-output vector (FBetaScore's average=None, R2Score's
    class_aggregation=None) stays a float32 array, as in Keras's logs, and
    of one output becomes a float where Keras's float(value) does."""
    if isinstance(value, float):
        value = np.float32(_float32(value))
    else:
        with np.errstate(over="ignore"):  # beyond float32: inf, as Keras's variable
            value = np.asarray(value, np.float32)
    if value.ndim == 0 or (value.size == 1 and _float_takes_size_one_arrays()):
        return float(value.reshape(()))
    return value


def _metric_list(metrics) -> list:
    """`compile`'s metrics argument as a list (a dict is kept: resolve_metrics
    explains why it is refused)."""
    if metrics is None:
        return []
    if isinstance(metrics, dict):
        return metrics
    if isinstance(metrics, (list, tuple)):
        if any(m is None for m in metrics):  # Keras 3's get_metric, when it builds them
            raise ValueError("Expected metric, received `None`")
        return list(metrics)
    return [metrics]


def _resolve_optimizer(optimizer):
    """An optimizer instance from a Keras string id ("adam", "sgd", ...), a
    config dict or an instance."""
    return _optimizers.get(optimizer)


class Sequential:
    """A linear stack of layers.

    Args:
        layers: optional list of layers to add. Defaults to `None`.
        name: the model's name. Defaults to `"sequential"` (numbered when reused).
        trainable: False freezes every layer (see `trainable`). Defaults to
            `True`.

    >>> from fastnn import layers
    >>> model = Sequential([layers.Input(shape=(784,)), layers.Dense(10, activation="softmax")])
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    """

    _first_call_thread = None  # the thread running _first_call on this model, if any
    _loss_auto = None  # compile's "crossentropy" / "ce", decided by the first labels
    # Several outputs (a functional Model's, see Model): the structure predict
    # returns, and per output its place on the chain (index into _places)
    _output_structure = None
    _output_places = None
    _trains = True  # some weight trains (set with the engine's flags, _sync_trainable)

    def __init__(
        self,
        layers: Optional[Sequence[_layers.Layer]] = None,
        name: Optional[str] = None,
        trainable: bool = True,
    ):
        if name is not None:
            check_name(name)  # Keras's refusals, before anything changes
        trainable = check_trainable(trainable)
        self.name = name or _layers._unique_name("sequential")
        self._trainable = trainable
        self._spec_layers: List[_layers.Layer] = []  # the layers the engine has, in order
        self._normalizers: List[_layers.Layer] = []  # Normalization layers, applied to x
        self._synced_trainable = None  # (flags, optimizer kernel) last given to the engine
        self._layers: List[_layers.Layer] = []
        self._input_shape = None  # per-sample shape, without the batch axis
        self._net = None
        self.optimizer = None
        self.loss = None  # compile's `loss` as given, as Keras keeps it
        self._loss = None  # the fastnn.losses.Loss it resolved to
        self._loss_auto = None  # "crossentropy" / "ce" as given: `_loss` waits for labels
        self.compiled = False
        self._metric_ids: list = []  # compile's metrics, as given
        self._weighted_metric_ids: list = []  # compile's weighted_metrics, as given
        self._metrics: list = []  # the resolved fastnn.metrics.Metric objects, both kinds
        self._loss_weights = None  # compile's loss_weights, as given
        self._loss_weight = 1.0  # ... as the factor the engine applies
        self._metric_weighted: List[bool] = []  # per resolved metric: weighted by samples
        self._metric_names: List[str] = []
        self._metrics_state: Dict[str, float] = {}  # the last run's running logs
        self._optimizer_net = None  # the network the optimizer's state was built for
        self._borrowed: list = []  # (layer, this network's views): see _build_network
        self._initial_epoch = None  # set by BackupAndRestore's on_train_begin
        self._optimizer_tensors: List[int] = []  # the weights it was built for (trainable then)
        self._busy = _TrainingLock()  # one training call at a time (see _TrainingLock)
        self.stop_training = False
        self.history = None
        # compile's Keras options, recorded only (see compile).
        self.run_eagerly = False
        self.jit_compile = False
        self.steps_per_execution = 1
        for layer in layers or []:
            Sequential.add(self, layer, rebuild=False)
        if self._input_shape is not None and _has_layers(self._layers):
            self.build()

    def add_loss(self, loss) -> None:
        """Keras's `add_loss`, refused with the reason and the alternatives
        (regularizers, ActivityRegularization)."""
        raise NotImplementedError(_layers._ADD_LOSS_REFUSAL)

    # -- structure -----------------------------------------------------------
    def add(self, layer: _layers.Layer, rebuild: bool = True) -> None:
        """Appends a layer (an ``Input`` only as the first one).

        When the input shape is known the model is (re)built at once, as in
        Keras; the weights of the layers already there are kept.
        """
        self._refuse_while_training("add")
        if isinstance(layer, Sequential):
            return self._add_model(layer, rebuild)
        if not isinstance(layer, _layers.Layer):
            raise _ArgumentError(
                "Only instances of `fastnn.layers.Layer` can be added to a Sequential model. "
                f"Received: {layer!r:.80} (of type {type(layer)})"
            )
        if layer in self._layers:
            raise ValueError(f"layer {layer.name!r} is already in the model")
        names = [other.name for other in self._layers]
        if getattr(self, "_input_name", None) is not None:
            names.append(self._input_name)
        if layer.name in names:
            if isinstance(self, Model):  # Keras 3's Functional message
                raise ValueError(
                    f'The name "{layer.name}" is used {names.count(layer.name) + 1} times in '
                    "the model. All operation names should be unique."
                )
            raise ValueError(  # Keras 3's check and message
                "All layers added to a Sequential model "
                f"should have unique names. Name '{layer.name}' is already "
                "the name of a layer in this model. Update the `name` argument "
                "to pass a unique name."
            )
        # A layer may be in several models, as in Keras: its weights stay in the
        # buffer of the first model that built it, and the others copy them in
        # and out around each engine call (see _build_network, _borrowed).
        if isinstance(layer, _layers.InputLayer):
            if self._layers or self._input_shape is not None:
                raise ValueError("Input must be the first layer of a Sequential model")
            self._input_shape = layer._input_shape
            self._input_name = layer.name
            self._given_input = layer  # `inputs` returns it (feature extraction)
            return
        if not self._layers and self._input_shape is None and layer._input_shape is not None:
            self._input_shape = layer._input_shape
        self._layers.append(layer)
        # Rebuilt with every layer (also for a Normalization added after a layer
        # the engine runs: build() then refuses its place, and the add is undone).
        if rebuild and self._input_shape is not None and _has_layers(self._layers):
            try:
                self._rebuild_or_keep()
            except Exception:
                self._layers.pop()  # a rejected layer leaves the model as it was
                raise

    def _rebuild_or_keep(self) -> None:
        """Builds the network anew for the current layers; a failure keeps
        the one there was."""
        previous = self._net
        self._net = None
        try:
            self.build()
        except Exception:
            self._net = previous
            raise

    def _add_model(self, model, rebuild: bool) -> None:
        """A model added as a layer (Keras's ``Sequential([model, Softmax()])``):
        its layers join this model's chain in order, sharing their weights
        with it (as Keras's nested model does). Unlike Keras, `layers` and the
        saved config list them one by one, not as one nested model."""
        if model is self:
            raise ValueError(f"model {self.name!r} cannot be added to itself")
        if not model._layers:
            raise ValueError(f"model {model.name!r} has no layers to add")
        if model._output_structure is not None:
            raise ValueError(
                f"model {model.name!r} has {len(model.outputs)} outputs; a layer of a Sequential "
                "model takes the one output of the layer before it (Keras refuses it too)"
            )
        before = (list(self._layers), self._input_shape, self.__dict__.get("_given_input"))
        try:
            if not self._layers and self._input_shape is None and model._input_shape is not None:
                self._input_shape = model._input_shape
                self._given_input = model._input_tensor()
            for inner in model._layers:
                Sequential.add(self, inner, rebuild=False)
            if rebuild and self._input_shape is not None and _has_layers(self._layers):
                self._rebuild_or_keep()
        except Exception:
            self._layers, self._input_shape, self._given_input = before  # as it was
            raise
        # Keras's nested model follows this one's `trainable` (its layers are shared)
        self.__dict__.setdefault("_added_models", []).append(model)

    @property
    def layers(self) -> List[_layers.Layer]:
        """The layers, without the Input."""
        return list(self._layers)

    # -- the symbolic graph: Keras's model.inputs / outputs -------------------
    @property
    def inputs(self) -> list:
        """``[the Input]``, as Keras's `model.inputs` (the `Input(...)` the
        model was made with, else one made for its input shape):
        ``Model(inputs=model.inputs, outputs=model.layers[-2].output)`` makes
        a model of the layers up to the last but one, sharing their weights.

        Raises:
            AttributeError: the model has no input shape yet.
        """
        return [self._input_tensor()]

    @property
    def outputs(self) -> list:
        """``[the last layer's symbolic output]``, as Keras's `model.outputs`."""
        return [self._symbolic_chain()[-1][1]]

    @property
    def input(self):
        """``inputs[0]``."""
        return self.inputs[0]

    @property
    def output(self):
        """``outputs[0]``."""
        return self.outputs[0]

    def _input_tensor(self) -> _layers.InputLayer:
        if self._input_shape is None:
            raise AttributeError(
                f"model {self.name!r} has no input yet, so no inputs or outputs: start it with "
                "Input(shape=...), or build it"
            )
        given = getattr(self, "_given_input", None)
        if given is None or given._input_shape != self._input_shape:
            given = self._given_input = _layers.InputLayer(shape=self._input_shape)
        return given

    def _symbolic_chain(self) -> list:
        """``(input, output)`` symbolic tensors of each layer, in order."""
        from fastnn.functional import SymbolicTensor

        if not self._layers:
            raise AttributeError(f"model {self.name!r} has no layers, so no outputs")
        node = self._input_tensor()
        shape = self._input_shape
        chain = []
        for layer in self._layers:
            shape = layer._sample_output_shape(shape)
            out = SymbolicTensor(shape, layer, node)
            chain.append((node, out))
            node = out
        return chain

    def _symbolic_node(self, layer, what: str):
        """`layer.input` / `layer.output` for a layer this model built."""
        if self._input_shape is None:
            return None
        pair = self._symbolic_chain()[self._layers.index(layer)]
        return pair[0] if what == "input" else pair[1]

    # -- layers whose weights live in another model's buffer ---------------------
    def _borrow_in(self) -> None:
        """Copies the current weights of the layers this model shares with
        the model holding them (`_borrowed`) into its network: before every
        engine call."""
        for layer, mine in self._borrowed:
            for view, value in zip(mine, layer._weights):
                view[...] = value

    def _trained_by_another_thread(self) -> bool:
        """Whether another thread is training this model: its network then
        holds the newest weights (the shared layers get them back after each
        chunk of steps)."""
        busy = self._busy
        return busy.locked() and busy.owner != threading.get_ident()

    def _borrow_in_to_read(self) -> None:
        """`_borrow_in` before an inference call, unless another thread is
        training this model (`_trained_by_another_thread`)."""
        if not self._trained_by_another_thread():
            self._borrow_in()

    def _borrow_out(self) -> None:
        """Copies the shared layers' weights back after this network trained."""
        for layer, mine in self._borrowed:
            for view, value in zip(mine, layer._weights):
                value[...] = view

    @property
    def built(self) -> bool:
        return self._net is not None

    def build(self, input_shape=None) -> None:
        """Creates the C++ network and initialises the weights.

        Args:
            input_shape: ``(batch, *features)`` or ``(*features)`` is taken from
                the Input layer or ``input_shape=`` when None.
        """
        if input_shape is not None:
            self._check_build_shape(input_shape)
        if self._net is not None:
            return
        self._build_network(input_shape)
        _warn_softmax_over_one_unit(self._layers, self._layer_output_shapes())

    def _check_build_shape(self, input_shape) -> None:
        """`build`'s checks of `input_shape`: a shape with the batch axis
        first, and, for a model whose input shape is known (an Input, the
        first layer's ``input_shape=``, an earlier build), the same samples
        (Keras's Sequential refuses another; a built model kept its weights
        and ignored it)."""
        if not isinstance(input_shape, (tuple, list)):
            example = input_shape if isinstance(input_shape, numbers.Integral) else 784
            raise ValueError(
                f"{type(self).__name__}.build: input_shape must be a tuple with the batch axis "
                f"first, e.g. build((None, {example})) for samples of {example} features; got "
                f"input_shape={input_shape!r} (of type {type(input_shape)})"
            )
        known = self._input_shape
        if known is not None and len(input_shape) >= 2:
            samples = tuple(input_shape[1:])
            if samples != tuple(known):
                kind = "Functional" if isinstance(self, Model) else "Sequential"
                raise ValueError(  # Keras's Sequential message
                    f"{kind} model '{self.name}' has already been configured to use input "
                    f"shape {(None, *known)}. You cannot build it with input_shape "
                    f"{tuple(input_shape)}"
                )

    def _check_input_shape(self, shape: tuple) -> None:
        """Keras's InputSpec check of `shape` (batch axis first) against the
        model's known input shape, if any."""
        known = self._input_shape
        if known is not None and tuple(shape[1:]) != tuple(known):
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                f"shape={(None, *known)}, found shape={tuple(shape)}"
            )

    def _build_network(self, input_shape=None) -> None:
        """`build`'s work, also for a built model (`Layer._redescribe`): the
        new network replaces the old one only when it is complete, so a
        `predict` running meanwhile in another thread uses one or the other,
        never none."""
        if input_shape is not None:
            shape = tuple(input_shape)
            if len(shape) < 2:  # Keras's InputSpec message, and the fix
                raise ValueError(
                    f"Input 0 of layer {self._layers[0].name if self._layers else self.name!r} "
                    f"is incompatible with the layer: expected min_ndim=2, found "
                    f"ndim={len(shape)}. Full shape received: {shape}. The batch axis comes "
                    f"first: build((None, {', '.join(map(str, shape)) or '...'}))"
                )
            if self._input_shape is None:
                self._input_shape = _layers._shape_tuple(shape[1:], "input_shape")
        if self._input_shape is None:
            raise ValueError(
                "the model has no input shape: start with Input(shape=...) or pass input_shape= "
                "to the first layer (or call it on data)"
            )
        if not self._layers and not isinstance(self, Model):  # (Model(inputs, inputs) is one)
            raise ValueError("the model has no layers")
        shape = self._input_shape
        # Rescaling layers may come before the Flatten, and layers that take
        # any shape
        first = next(
            (x for x in self._layers if not isinstance(x, _ANY_SHAPE_BEFORE_FLATTEN)),
            None,
        )
        if (
            len(shape) > 1
            and first is not None  # (preprocessing layers only: samples keep their shape)
            and not isinstance(first, (_layers.Flatten, _layers.Reshape))
        ):
            last_axis = (
                f" (Keras's Dense maps the last axis of each sample, keeping {shape[:-1]}: "
                "fastnn's layers take flat samples only)"
                if isinstance(first, _layers.Dense)
                else ""
            )
            raise ValueError(
                f"the model's input has shape {shape} but its first layer is "
                f"{type(first).__name__}{last_axis}: add a Flatten layer first, or reshape the "
                f"data to (n, {math.prod(shape)})"
            )
        specs = []
        normalizers = []
        # per place on the chain (0: the input, i: layer i-1's output): the engine
        # layer computing it (-1: none, the inputs), the normalizers applied before
        # it and its per-sample shape (see _outputs_of)
        places = [(-1, 0, shape)]
        for i, layer in enumerate(self._layers):
            if isinstance(layer, _layers.Normalization):
                if len(shape) != 1 or not all(
                    isinstance(before, _PREPROCESSING) for before in self._layers[:i]
                ):
                    raise ValueError(
                        f"Normalization layer {layer.name!r}: fastnn normalizes the model's "
                        "inputs, so it must come first (after a Flatten at most)"
                    )
                layer._build_statistics(shape[0])
                normalizers.append(layer)
            elif isinstance(layer, _layers.Rescaling):
                if not all(isinstance(before, _PREPROCESSING) for before in self._layers[:i]):
                    raise ValueError(
                        f"Rescaling layer {layer.name!r}: fastnn rescales the model's inputs, "
                        "so it must come before the layers the engine runs (first, before or "
                        "after a Flatten, beside Normalization layers)"
                    )
                layer._build_rescaling(shape)
                normalizers.append(layer)
            if _layers._is_custom_layer(layer):  # (a subclass with its own call)
                raise NotImplementedError(_layers._custom_layer_message(layer))
            error = _layers._incompatible_width(layer, shape, self)
            if error is not None:
                raise error
            spec = layer._spec(shape)
            if spec is not None:
                specs.append((layer, spec))
            shape = layer._sample_output_shape(shape)
            places.append((len(specs) - 1, len(normalizers), tuple(shape)))
        _check_network_size(self._input_shape, specs)
        _check_memory(self.name, self._input_shape, specs)
        try:
            net = _core.nn.Network(math.prod(self._input_shape), [s for _, s in specs])
        except MemoryError as e:
            raise MemoryError(
                f"model {self.name!r} is too large for this machine's memory: {e} "
                f"({_largest_kernel(self._input_shape, specs)})"
            ) from None
        views = net.param_views()
        state_views = net.state_views()  # BatchNormalization's moving statistics
        # Every check first, then the layers change (a refused build leaves
        # them, and the models sharing them, as they were).
        k = s = 0
        plan = []  # (layer, this network's views, lender or None, values)
        for layer, _ in specs:
            lender = _lender(layer, self)
            if lender is not None:
                # Another model's buffer holds the layer's weights: this network
                # works on copies, synced around each engine call.
                params = len(layer._weights) - len(layer._STATE_NAMES)
                mine = views[k : k + params] + state_views[s : s + len(layer._STATE_NAMES)]
                _check_borrowed_shapes(layer, lender, mine)
                plan.append((layer, mine, lender, None))
            else:
                old = layer._weights  # kept when the model is rebuilt after add()
                values = layer._init_weights()
                same = len(old) == len(values) and all(
                    o.shape == v.shape for o, v in zip(old, values)
                )
                if same:
                    values = [o.copy() for o in old]
                elif old:
                    _check_not_shared_elsewhere(layer, self, old, values)
                params = len(values) - len(layer._STATE_NAMES)
                mine = views[k : k + params] + state_views[s : s + len(layer._STATE_NAMES)]
                plan.append((layer, mine, None, values))
            k += params
            s += len(layer._STATE_NAMES)
        borrowed = []
        for layer, mine, lender, values in plan:
            if lender is not None:
                for view, value in zip(mine, layer._weights):
                    view[...] = value
                borrowed.append((layer, mine))
                continue
            layer._weights = mine
            for view, value in zip(mine, values):
                view[...] = value
            layer.built = True
        for layer in self._layers:
            layer.built = True
            if "_models" not in layer.__dict__:  # every model running the layer (shared ones)
                layer._models = weakref.WeakSet()
            layer._models.add(self)
            ref = getattr(layer, "_owner", None)
            owner = ref() if ref is not None else None
            if owner is None or owner is self or layer not in owner._layers:
                layer._owner = weakref.ref(self)  # a shared layer keeps its first model
        self._output_shape = shape
        self._places = places
        self._borrowed = borrowed
        self._net = net
        self._spec_layers = [layer for layer, _ in specs]
        self._normalizers = normalizers
        self._synced_trainable = None
        if self.compiled:
            self._configure_engine()

    # -- compile -------------------------------------------------------------
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile="auto",
        auto_scale_loss=True,
    ) -> None:
        """Sets the optimizer, loss and metrics.

        Args:
            optimizer: a string id (``"adam"``, ``"sgd"``, ``"rmsprop"``,
                ``"adamw"``, ``"adagrad"``, ``"nadam"``, ``"adamax"``,
                ``"lion"``, ``"adadelta"``, ``"ftrl"``, ``"lamb"``,
                ``"schedulefreeadamw"``) or a
                ``fastnn.optimizers`` instance. Defaults to `"rmsprop"`, as
                in Keras.
            loss: a Keras loss id (``"sparse_categorical_crossentropy"``,
                ``"mse"``, ...) or a ``fastnn.losses.Loss`` instance.
                ``"crossentropy"`` and ``"ce"`` (any case) are decided, as
                Keras 3 decides them, by the shapes of the first labels that
                `fit`, `evaluate`, `train_on_batch` or `test_on_batch` sees:
                binary cross-entropy for an output of width 1, else sparse
                categorical for labels of lower rank (or of last dimension
                1), else categorical; that choice stays until the next
                `compile` with a loss.
                `model.loss` holds it as given (the string, say), as in
                Keras. `None` keeps an earlier compile's loss and
                `loss_weights`, as Keras 3 keeps them (a first compile needs
                one).
            metrics: None, or a list of metrics computed in C++ alongside the
                loss: Keras names and aliases (``"accuracy"``/``"acc"``,
                resolved from the shapes of labels and predictions as Keras 3
                does; ``"binary_accuracy"``, ``"categorical_accuracy"``,
                ``"sparse_categorical_accuracy"``,
                ``"top_k_categorical_accuracy"``,
                ``"sparse_top_k_categorical_accuracy"``, ``"mse"``,
                ``"mae"``, class names ...), ``fastnn.metrics`` classes or
                instances (e.g. ``TopKCategoricalAccuracy(k=3)``). A string
                is its own log name; an instance keeps its `name`. As in
                Keras 3 these are not weighted by `sample_weight` or
                `class_weight` (every sample counts once). Defaults to `None`;
                with `weighted_metrics` also `None`, an earlier compile's
                metrics are kept, as in Keras 3.
            weighted_metrics: the same kinds of metrics, averaged with the
                sample (and class) weights, as Keras 3's `weighted_metrics`;
                one whose name a `metrics` entry already has is logged as
                ``weighted_<name>``. Defaults to `None`.
            loss_weights: a factor on the loss of the model's one output, as
                Keras's: a number, a list of one, or ``{output name: number}``
                (any one key, as Keras takes it); it scales the loss and its gradient,
                not the metrics or the regularization penalties. Defaults to
                `None` (1).
            run_eagerly: accepted and recorded as Keras 3 records it; fastnn
                always runs its compiled C++ steps, so it changes nothing.
                Defaults to `False`.
            steps_per_execution: an integer >= 1, recorded; changes nothing
                (fastnn already runs many steps per C++ call, and calls the
                batch hooks of callbacks after every batch). Keras 3 checks
                it only when training starts (and its PyTorch backend then
                refuses values above 1); fastnn checks it here. Defaults to
                `1`.
            jit_compile: `"auto"`, `True` or `False`, recorded as Keras 3
                resolves it with the PyTorch backend: `"auto"` becomes
                `False`, and `True` with `run_eagerly=True` becomes `False`
                with a warning. Changes nothing. Defaults to `"auto"`.
            auto_scale_loss: accepted (Keras scales the loss of
                `mixed_float16` models; fastnn computes in float32), not
                recorded, as in Keras. Defaults to `True`.

        Raises:
            ValueError / TypeError: an unknown optimizer, loss or metric, or
            a metric that cannot score this loss's targets (e.g.
            ``"categorical_accuracy"`` with integer labels), or a
            `steps_per_execution` that is not an integer >= 1; nothing
            changes.
            NotImplementedError: a Python loss function, or a `Loss`
            subclass with its own `call()` (no automatic differentiation;
            the message names the built-in losses to use).
        """
        self._refuse_while_training("compile")
        if self._several_outputs():
            self._refuse_several_outputs("compile")
        steps_per_execution = _check_steps_per_execution(steps_per_execution)
        if jit_compile == "auto" or run_eagerly:
            if jit_compile and jit_compile != "auto":
                warnings.warn(
                    "If `run_eagerly` is True, then `jit_compile` cannot also be True. "
                    "Disabling `jit_compile`.",
                    stacklevel=2,
                )
            jit_compile = False
        # Keras 3's Trainer.compile replaces the loss (with its loss_weights)
        # only when `loss` is given, and the metrics only when `metrics` or
        # `weighted_metrics` is: compiling again to change the optimizer keeps
        # the rest.
        keep_loss = loss is None and (self._loss is not None or self._loss_auto is not None)
        keep_metrics = metrics is None and weighted_metrics is None and self.compiled
        if keep_loss:
            loss_weights = self._loss_weights
        loss_weight = self._check_loss_weights(loss_weights)
        if loss is None and not keep_loss:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        optimizer = _resolve_optimizer(optimizer)
        if keep_loss:
            given_loss, loss, auto = self.loss, self._loss, self._loss_auto
        else:
            given_loss = loss
            loss = self._one_output(loss, "loss")
            # Keras 3's CompileLoss decides "crossentropy" from the first
            # labels and predictions (`_decide_crossentropy`): None until then
            auto = loss if _losses._is_crossentropy_alias(loss) else None
            loss = None if auto is not None else _losses._resolve(loss)
        if keep_metrics:
            metric_ids, weighted_ids = self._metric_ids, self._weighted_metric_ids
        else:
            metric_ids = _metric_list(self._one_output(metrics, "metrics"))
            weighted_ids = _metric_list(self._one_output(weighted_metrics, "weighted_metrics"))
        resolved, kernels, weighted = self._metric_kernels(loss, metric_ids, weighted_ids)
        if self._net is not None and loss is not None:
            _warn_categorical_over_one_output(loss.kernel, int(self._net.output_dim))
            self._net.set_loss(
                loss.kernel, metrics=kernels, loss_weight=loss_weight, **loss._engine_kwargs()
            )
        self.optimizer, self.loss, self._loss = optimizer, given_loss, loss
        self._loss_auto = auto
        self._loss_weights, self._loss_weight = loss_weights, loss_weight
        if self._optimizer_built_here(optimizer):
            # An optimizer built for this network keeps its state (slots and
            # iterations), as in Keras, where a built optimizer stays built:
            # `compile(optimizer=model.optimizer, ...)` continues the training,
            # and so does going back to an optimizer used before.
            self._optimizer_net = self._net
            self._optimizer_tensors = list(optimizer._flat_tensors)
        else:
            self._optimizer_net = None  # state is built for the new optimizer on first use
        self._metric_ids = metric_ids
        self._weighted_metric_ids = weighted_ids
        self._metrics = resolved
        self._metric_weighted = weighted
        self._metric_names = [m.name for m in resolved]
        self._metrics_state = {}
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self.compiled = True

    def _several_outputs(self) -> bool:
        """Whether the model has more than one output (which fastnn predicts
        but does not train); a list or dict of one output is one."""
        return self._output_structure is not None and len(self._output_places) > 1

    def _refuse_several_outputs(self, what: str) -> None:
        names = self.output_names
        raise ValueError(
            f"{what}: fastnn trains models with one output, and model {self.name!r} has "
            f"{len(names)} ({names}; `outputs` given as a {type(self._outputs).__name__}). "
            "predict, save and load work on it (a feature extractor); to train, build a model "
            "with one output tensor, e.g. Model(inputs, outputs=<the last one>), which shares "
            "the layers and their weights."
        )

    def _output_name(self) -> str:
        """The name Keras gives the output: the last layer's, or the nested
        model's whose last layer it is."""
        last = self._layers[-1]
        for model in reversed(self.__dict__.get("_added_models", ())):
            if model._layers and model._layers[-1] is last:
                return model.name
        return last.name

    def _output_key(self) -> Optional[str]:
        """The key of the one output of a model whose `outputs` is a dict of
        one tensor (``Model(i, {"out": o})``): Keras keys the targets and
        losses by it; None otherwise."""
        outputs = self.__dict__.get("_outputs")
        if type(outputs) is dict and len(outputs) == 1:
            key, leaf = next(iter(outputs.items()))
            if not isinstance(leaf, (list, tuple, dict)):
                return key
        return None

    def _one_output(self, value, what: str):
        """`compile`'s `loss` or metrics given per output, as Keras takes them
        for a model's outputs (``{output name: v}``; a list of one loss; a
        list of one list of metrics), as this model's one output's."""
        if isinstance(value, dict) and value and "class_name" not in value:  # (not a config)
            names = [self._output_name()] if self._layers else list(value)[:1]
            key = self._output_key()
            if key is not None and (what == "loss" or list(value) != names):
                names = [key]  # Keras keys losses by the key of {key: output}; metrics either
            if len(value) != 1 or list(value) != names:
                raise ValueError(
                    f"Expected keys {names} in {what} dict, but found {what}.keys()={list(value)}"
                )
            return next(iter(value.values()))
        if isinstance(value, (list, tuple)) and len(value) == 1:
            inner = value[0]
            per_output = isinstance(inner, dict) and "class_name" not in inner
            if what == "loss" or isinstance(inner, (list, tuple)) or per_output:
                return self._one_output(inner, what) if per_output else inner
        if what == "loss" and isinstance(value, (list, tuple)):
            raise ValueError(
                f"loss: a list of {len(value)} losses is for a model with as many outputs; "
                "fastnn's models have one"
            )
        return value

    def _metric_kernels(self, loss, metric_ids, weighted_ids):
        """`compile`'s `metrics` then `weighted_metrics`, resolved by
        `_resolve_metric_list`; a weighted metric whose name an unweighted one
        has is renamed ``weighted_<name>`` (then ``_1``, ...), as Keras 3's
        CompileMetrics names them.

        Returns:
            ``(metrics, kernels, weighted)``: the Metric objects, the engine's
            dicts (each with ``"weighted"``), and per metric whether it is
            averaged with the sample weights.
        """
        plain, plain_kernels = self._resolve_metric_list(loss, metric_ids)
        heavy, heavy_kernels = self._resolve_metric_list(loss, weighted_ids, rename_repeats=False)
        counters = {m.name: 1 for m in plain}
        for metric in heavy:
            name = metric.name
            if name in counters:
                name = f"weighted_{name}"
                if name in counters:
                    index = counters[name]
                    counters[name] += 1
                    name = f"{name}_{index}"
                metric.name = name
            counters.setdefault(name, 1)
        kernels = [{**k, "weighted": False} for k in plain_kernels]
        kernels += [{**k, "weighted": True} for k in heavy_kernels]
        if any(type(m) is _metrics.Metric for m in plain + heavy):
            kernels = []  # the width is not known yet: placeholders until build
        return plain + heavy, kernels, [False] * len(plain) + [True] * len(heavy)

    def _resolve_metric_list(self, loss, metric_ids, rename_repeats: bool = True):
        """Resolves `compile`'s metrics as Keras 3 does from the shapes of
        labels and predictions, and describes them for the C++ engine.

        The shapes follow from the loss and the output width: integer class
        ids ``(n,)`` for sparse categorical cross-entropy (and for one
        output), else targets ``(n, outputs)``; predictions ``(n, outputs)``.
        The width is the network's or, before build, the last Dense layer's
        units (the other layers keep the width). With no width known yet
        (no layers), or no loss yet (`loss` None: "crossentropy" waiting for
        labels), names are checked now and shapes when both are known.

        Returns:
            ``(metrics, kernels)``: the `fastnn.metrics.Metric` objects, with
            unique log names, and per metric the dict ``{"kind", **params}``
            ``Network.set_loss`` takes (empty when the width is unknown).
        """
        if isinstance(metric_ids, dict):
            _metrics.resolve_metrics(metric_ids, (1,), (1, 2))  # raises: one output
        if loss is None:
            width = None  # the labels decide the loss first (`_decide_crossentropy`)
        elif self._net is not None:
            width = int(self._net.output_dim)
        else:
            dense = [layer for layer in self._layers if isinstance(layer, _layers.Dense)]
            width = dense[-1].units if dense else None
            if width is None and self._layers and self._input_shape is not None:
                width = math.prod(self._input_shape)
        names = []
        for m in metric_ids:
            metric = None if _metrics._is_accuracy_alias(m) else _metrics.get(m)  # checks names
            names.append(m if isinstance(m, str) else metric.name)
        if width is None:
            unresolved = [_metrics.Metric(name=n) for n in names]  # kind None until build
            return _metrics.resolve_metrics(unresolved, (1, 2), (1, 2), rename_repeats), []
        sparse = loss.kernel == "sparse_categorical_crossentropy"
        y_true_shape = (1,) if sparse or width == 1 else (1, width)
        if sparse and width == 1 and any(_metrics._is_accuracy_alias(m) for m in metric_ids):
            # Keras resolves "accuracy" by the output's width (binary), which
            # the engine cannot score from a sparse loss's class ids; and one
            # output takes class id 0 only: the mistake is the loss.
            raise ValueError(
                "the loss 'sparse_categorical_crossentropy' on a model with 1 output takes "
                "class id 0 only, and 'accuracy' there is binary accuracy (as Keras resolves "
                "it), which class ids cannot feed: for two classes with one sigmoid output use "
                "loss='binary_crossentropy', or give the last Dense one unit per class"
            )
        try:
            resolved = _metrics.resolve_metrics(
                metric_ids, y_true_shape, (1, width), rename_repeats
            )
        except ValueError as e:  # names were checked above: a shape mismatch or a repeat
            if "listed twice" in str(e):
                raise
            targets = "class ids of shape (n,)" if sparse else f"targets of shape (n, {width})"
            raise ValueError(
                f"{e} (shapes with a batch of 1). The loss {loss.kernel!r} takes {targets} "
                f"and the model outputs (n, {width})."
            ) from None
        kernels = [k for m in resolved for k in m._kernels()]
        return resolved, kernels

    def _configure_engine(self) -> None:
        self._metrics, kernels, self._metric_weighted = self._metric_kernels(
            self._loss, self._metric_ids, self._weighted_metric_ids
        )
        self._metric_names = [m.name for m in self._metrics]
        if self._loss is None:
            return  # "crossentropy": the first labels decide it (`_decide_crossentropy`)
        _warn_categorical_over_one_output(self._loss.kernel, int(self._net.output_dim))
        self._net.set_loss(
            self._loss.kernel,
            metrics=kernels,
            loss_weight=self.__dict__.get("_loss_weight", 1.0),  # (pickles from before)
            **self._loss._engine_kwargs(),
        )

    def _decide_crossentropy(self, y) -> None:
        """Keras 3's `compile(loss="crossentropy")` (or ``"ce"``, any case):
        the first labels `y` that fit, evaluate, train_on_batch or
        test_on_batch sees decide the loss from their shape and the
        predictions' ``(n, *output_shape)``, by the rule that resolves
        ``"accuracy"`` (`fastnn.metrics.is_binary_or_sparse_categorical`):
        binary cross-entropy for an output of width 1, else sparse
        categorical for labels of lower rank or of last dimension 1, else
        categorical, each with its defaults. The choice stays, as Keras's
        built CompileLoss keeps it, until `compile` is given a loss again;
        `model.loss` and the compile config keep the string."""
        with _LOSS_DECISION:
            if self._loss is not None:  # another thread's first call decided it
                return
            y_shape = np.shape(y)
            if not y_shape:
                raise ValueError(f"y must have a batch axis, got shape {y_shape}")
            y_pred_shape = (y_shape[0], *self._output_shape)
            binary, sparse = _metrics.is_binary_or_sparse_categorical(y_shape, y_pred_shape)
            if binary:
                self._loss = _losses.BinaryCrossentropy()
            elif sparse:
                self._loss = _losses.SparseCategoricalCrossentropy()
            else:
                self._loss = _losses.CategoricalCrossentropy()
            try:
                self._configure_engine()  # the metrics resolved for the loss's labels
            except BaseException:
                self._loss = None
                raise

    def _check_loss_weights(self, loss_weights) -> float:
        """Keras's `loss_weights` of this one-output model as one factor: a
        number, a list of one, or a dict of one entry (Keras keys it by the
        output's name and, with one output, takes any key). It scales the
        loss and its gradient, as in Keras (not the metrics or the
        regularization penalties)."""
        if loss_weights is None:
            return 1.0
        weights = loss_weights
        if isinstance(weights, np.ndarray):
            weights = weights.tolist()
        if isinstance(weights, dict):  # one entry, whatever its key (as Keras reads it)
            weights = list(weights.values())
        if isinstance(weights, (list, tuple)):
            if len(weights) != 1:
                raise ValueError(
                    "loss_weights weigh the losses of the model's outputs; this model has one, "
                    f"so one weight. Received: loss_weights={loss_weights!r}"
                )
            weights = weights[0]
        if isinstance(weights, bool) or not isinstance(weights, numbers.Real):
            raise ValueError(
                f"loss_weights must be a number (or a list or dict of one). "
                f"Received: loss_weights={loss_weights!r}"
            )
        if not math.isfinite(float(weights)):
            raise ValueError(
                f"loss_weights must be finite. Received: loss_weights={loss_weights!r}"
            )
        return float(weights)

    # -- data ----------------------------------------------------------------
    def _ensure_built(self, x: np.ndarray) -> None:
        if self._net is None:
            if x.ndim < 2:
                raise ValueError(f"x must have a batch axis, got shape {x.shape}")
            self.build(x.shape)

    def _structure_hints(self) -> dict:
        """What `_single_structures` needs to read Keras's input structures:
        the key a dict of data holds the input under (the Input's name, or
        the key of `inputs` given as a dict, as Keras's input specs are named)
        and the number of axes of a sample."""
        if isinstance(self, Model):
            name = self._input_layer.name
            if isinstance(self._inputs_struct, dict):
                name = next(iter(self._inputs_struct))
        else:
            name = getattr(self, "_input_name", None)
        ndim = None if self._input_shape is None else len(self._input_shape)
        return {"input_name": name, "sample_ndim": ndim, "output_key": self._output_key()}

    def _input_structures(self, what: str, x, y=None, sample_weight=None):
        """Keras's input structures read as fastnn's one input and output
        (`_single_structures`), batch sources refused; plain arrays, the
        common case (and a one-sample predict's), pass untouched."""
        if (
            type(x) is np.ndarray
            and (y is None or type(y) is np.ndarray)
            and (sample_weight is None or type(sample_weight) is np.ndarray)
        ):
            return x, y, sample_weight
        if x is None:
            sources = ", or a generator, a PyDataset or a DataLoader of batches"
            raise ValueError(
                f"{what}: x is None; {what} needs the input data x (an array of samples"
                f"{sources if what in ('fit', 'evaluate', 'predict') else ''})"
            )
        _refuse_batch_source(x, what)
        return _single_structures(x, y, sample_weight, **self._structure_hints())

    def _prepare_x(self, x, kept: Optional[dict] = None) -> np.ndarray:
        """(n, *input_shape) -> C-contiguous float32 (n, input_dim); converted once.

        kept: a dict that receives, per number k of Normalization / Rescaling
        layers applied, the inputs after the first k (several outputs).
        """
        if (
            kept is None
            and type(x) is np.ndarray
            and x.dtype is _FLOAT32
            and x.ndim == 2
            and self._net is not None
            and x.shape[1:] == self._input_shape
            and x.flags.c_contiguous
            and not self._normalizers
        ):
            return x  # already what the engine takes (a one-sample predict's path)
        if isinstance(x, dict):  # left after _single_structures took {input name: x}
            raise ValueError(
                "x: fastnn takes the data as arrays; a dict of inputs must map the model's "
                f"input name to an array, got a dict with keys {list(x)[:8]}"
            )
        _refuse_batch_source(x, "x")  # a generator or dataset reaching np.asarray
        if x is None:
            raise ValueError("x is None: the model needs its input data x, an array of samples")
        x = _frame_values(x)
        if isinstance(x, (list, tuple)) or not hasattr(x, "shape"):
            try:
                x = np.asarray(x)
            except ValueError:
                _check_not_ragged(x, "x")
                raise
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"x must hold real numbers, got dtype {x.dtype}")
        self._ensure_built(x)
        if x.ndim >= 1 and x.shape[1:] != self._input_shape:
            # Keras's Functional._adjust_input_rank: one axis of length 1 too
            # many at the end is squeezed, one too few is added.
            if x.ndim == len(self._input_shape) + 2 and x.shape[-1] == 1:
                x = x.reshape(x.shape[:-1])
            elif x.ndim == len(self._input_shape) and self._input_shape[-1:] == (1,):
                x = x.reshape(x.shape + (1,))
        if x.ndim < 1 or x.shape[1:] != self._input_shape:
            dim = math.prod(self._input_shape)
            one_sample = x.shape == self._input_shape
            hint = ""
            if x.ndim > 2 and math.prod(x.shape[1:]) == dim:
                hint = f": add a Flatten layer or reshape to (n, {dim})"
            elif one_sample:
                hint = ": one sample needs a batch axis, x[None] or np.expand_dims(x, 0)"
            if x.ndim <= 1 or one_sample:  # no axis left for the samples' own shape
                what = f"x has shape {x.shape}, no batch axis,"
            else:
                what = "x has samples of shape (n, " + ", ".join(map(str, x.shape[1:])) + ")"
            raise ValueError(
                f"{what} but the model takes (n, {', '.join(map(str, self._input_shape))}){hint}"
            )
        x = x.reshape(x.shape[0], math.prod(self._input_shape))
        if type(x) is np.ndarray and x.dtype == np.float64 and x.flags.c_contiguous:
            # (NumPy's default float: converted and checked in one C++ loop)
            cast, first = _core.ops._float32_or_overflow(x)
            if first >= 0:
                raise _beyond_float32_error("x", x, first)
            x = cast
        elif _may_overflow_float32(x):
            with _beyond_float32_refused(x=x):
                x = np.ascontiguousarray(x, dtype=np.float32)
        else:  # float32, integers, bools: nothing to check (the common case)
            x = np.ascontiguousarray(x, dtype=np.float32)
        if kept is not None:
            kept[0] = x
        for k, layer in enumerate(self._normalizers, 1):  # once per call, as every conversion
            with np.errstate(over="ignore", invalid="ignore"):  # (checked just below)
                normalized = layer._normalize(x)
            if not np.isfinite(normalized).all() and np.isfinite(x).all():
                # finite data made Inf/NaN by the layer's own constants: say so,
                # rather than the engine's "x contains Inf" about finite data
                row, col = np.argwhere(~np.isfinite(normalized))[0]
                raise ValueError(
                    f"x is finite, but layer {layer.name!r} ({type(layer).__name__}) turns "
                    f"sample {row}, feature {col} ({x[row, col]!r}) into "
                    f"{normalized[row, col]!r}: its constants overflow float32 on this input"
                )
            x = normalized
            if kept is not None:
                kept[k] = x
        return x

    # -- what predict returns ----------------------------------------------------
    def _kept(self) -> Optional[dict]:
        """`_prepare_x`'s `kept` for a predict: a dict with several outputs."""
        return None if self._output_structure is None else {}

    def _outputs_of(
        self, net, x: np.ndarray, batch_size: int, kept: Optional[dict], training: bool = False
    ):
        """What predict returns for `x` prepared by ``_prepare_x(x, kept)``:
        the one output, ``(n, *output_shape)``, or with several outputs the
        list of theirs in `outputs` order (`_pack` makes the structure).
        Every output of the engine's layers comes from the same passes
        (`Network.predict_outputs`); one before them is the inputs after
        the normalizers up to it (`kept`). `training`: one training-mode
        pass over all of `x` (``model(x, training=True)``)."""
        if kept is None:
            out = net.predict(x, batch_size, training=training)
            shape = self._output_shape  # (Reshape last, or preprocessing layers only)
            if len(shape) == 1 or out.shape[1] != math.prod(shape):  # (a net rebuilt meanwhile)
                return out
            return out.reshape(len(out), *shape)
        places = [self._places[place] for place in self._output_places]
        layers = sorted({layer for layer, _, _ in places if layer >= 0})
        computed = (
            dict(zip(layers, net.predict_outputs(x, layers, batch_size, training=training)))
            if layers
            else {}
        )
        outputs, given = [], set()
        for layer, normalized, shape in places:
            value = computed[layer] if layer >= 0 else kept[normalized]
            if layer < 0 or layer in given:  # (the caller's x, or an output repeated)
                value = value.copy()
            given.add(layer)
            outputs.append(value.reshape(len(value), *shape))
        return outputs

    def _pack(self, outputs):
        """`_outputs_of`'s result in the structure of `outputs`, as Keras returns it."""
        if self._output_structure is None:
            return outputs
        from fastnn import functional

        return functional.pack_outputs(self._output_structure, outputs)

    def _sliced(self, kept: Optional[dict], start: int, stop: int) -> Optional[dict]:
        return None if kept is None else {k: v[start:stop] for k, v in kept.items()}

    def _concatenated(self, parts: list, rows: int):
        """`_outputs_of`'s results of consecutive batches as one (`rows` in all)."""
        if self._output_structure is None:
            return np.concatenate(parts) if parts else self._empty_output(None, rows)
        if not parts:
            return [self._empty_output(place, rows) for place in self._output_places]
        return [np.concatenate(column) for column in zip(*parts)]

    def _empty_output(self, place, rows: int) -> np.ndarray:
        shape = self._output_shape if place is None else self._places[place][2]
        return np.empty((rows, *shape), np.float32)

    @contextlib.contextmanager
    def _exclusive(self, what: str):
        """Refuses a training call from another thread while one runs; the
        same thread may re-enter (train_on_batch or fit from fit's callbacks)."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError(
                f"{what}: this model is already training in another thread; a model "
                "trains in one thread at a time"
            )
        try:
            yield
        finally:
            self._busy.release()

    def _refuse_while_training(self, what: str) -> None:
        """`compile`, `add` and `pop` change the network, loss or optimizer that a
        running `fit` / `train_on_batch` steps with: refused until it returns
        (from one of its callbacks, or from another thread)."""
        if self._busy.locked():
            raise RuntimeError(
                f"{what}() cannot run while model {self.name!r} is training (fit or "
                "train_on_batch is running, e.g. this is one of its callbacks): the running "
                f"steps use the network, loss and optimizer it would change. Call {what}() "
                "after fit returns (a callback can set model.stop_training = True)."
            )

    def _require_compiled(self, what: str) -> None:
        """Keras 3's check (its ValueError and message) before `what`."""
        if not self.compiled:
            raise ValueError(
                f"You must call `compile()` before using the model (`{what}()` needs an "
                "optimizer and a loss: model.compile(optimizer, loss))."
            )

    # -- training / inference ------------------------------------------------
    def _prepare_data(self, x, y, sample_weight, what: str):
        """Validates and converts x, y, sample_weight once (NaN/Inf, shapes,
        labels): the returned engine handle is reused for every chunk of steps."""
        x = self._prepare_x(x)
        if y is None:
            raise ValueError(f"{what} needs targets y")
        _check_not_ragged(y, "y")
        _check_not_ragged(sample_weight, "sample_weight")
        if len(x) == 0:
            raise ValueError(f"{what}: empty batch: x has 0 samples")
        sample_weight = _squeeze_sample_weight(sample_weight)
        if self._loss is None and self._loss_auto is not None:
            self._decide_crossentropy(y)
        if getattr(y, "ndim", 0) > 2 and len(self._output_shape) > 1:
            # targets of the output's own shape (a model ending in Reshape, as
            # predict returns it): the engine's rows are flat, as Keras's y
            y = _flat_targets(y, self._output_shape)
        try:
            if _may_overflow_float32(y) or _may_overflow_float32(sample_weight):
                with _beyond_float32_refused(y=y, sample_weight=sample_weight):  # cast in C++
                    data = self._net.prepare(x, y, sample_weight)
            else:
                data = self._net.prepare(x, y, sample_weight)
        except ValueError as e:
            if self._loss_auto is None or not str(e).startswith(self._loss.kernel):
                raise
            kernel = self._loss.kernel
            raise ValueError(
                f"{e}. (compile's loss={self._loss_auto!r} became {kernel} from the shapes of "
                "the first labels it met, as Keras decides it once; compile again to decide "
                "anew.)"
            ) from None
        data._y_ndim = y.ndim if isinstance(y, np.ndarray) else np.ndim(y)  # host metrics' y_true
        self._check_metric_labels(data, what)
        return data

    def _check_metric_labels(self, data, what: str) -> None:
        """Labels a compiled metric refuses that the loss takes: a
        `BinaryCrossentropy` metric (not from logits) takes labels in
        [0, 1] after its label smoothing, as Keras's torch backend does."""
        for metric in self._metrics:
            if (
                isinstance(metric, _metrics.BinaryCrossentropy)
                and not metric.from_logits
                and not _metrics.is_host_metric(metric)
                and data.y_true.dtype.kind == "f"
            ):
                metric._check_labels(data.y_true, f"{what}: metric {metric.name!r}")

    def _usable_optimizer(self):
        """`model.optimizer`, checked: an Optimizer, and not one whose state
        belongs to another (living) model."""
        opt = self.optimizer
        if not isinstance(opt, _optimizers.Optimizer):
            raise TypeError(
                "model.optimizer must be a fastnn.optimizers.Optimizer (compile sets it), "
                f"got {opt!r:.80}"
            )
        owner = getattr(opt, "_flat_owner", None)
        owner = owner() if owner is not None else None
        if opt._kernel is not None and owner is not None and owner is not self:
            raise ValueError(  # Keras 3's BaseOptimizer._check_variables_are_known
                f"Unknown variables: the optimizer {opt.name!r} was built for the weights "
                f"of model {owner.name!r}. This optimizer can only be called for the "
                "variables it was originally built with. When working with a new set of "
                "variables, you should recreate a new optimizer instance."
            )
        return opt

    def _owns_optimizer_state(self) -> bool:
        """Whether `model.optimizer` holds state built for this model's current
        network (not for another model sharing the instance, nor none yet)."""
        opt = self.optimizer
        owner = getattr(opt, "_flat_owner", None)
        return (
            self._net is not None
            and self._optimizer_net is self._net
            and getattr(opt, "_kernel", None) is not None
            and owner is not None
            and owner() is self
        )

    def _optimizer_built_here(self, opt) -> bool:
        """Whether `opt` holds state this model built for its current network."""
        owner = getattr(opt, "_flat_owner", None)
        net = getattr(opt, "_flat_net", None)
        return (
            self._net is not None
            and getattr(opt, "_kernel", None) is not None
            and owner is not None
            and owner() is self
            and net is not None
            and net() is self._net
        )

    def _ensure_optimizer_built(self) -> None:
        """Creates the optimizer's state for the network's flat buffer (once,
        and again for an optimizer assigned to `model.optimizer` since)."""
        opt = self._usable_optimizer()
        if self._optimizer_net is not self._net or opt._kernel is None:
            offsets = [t["offset"] for t in self._net.tensors()] or [0]
            offsets[0] = 0
            offsets.append(self._net.buffer_size)
            # Keras builds the optimizer's variables for the weights trainable
            # now and keeps that set (summary's count, the saved state, the
            # weights use_ema averages at every step)
            built_for = self._trainable_tensors()
            averaged = [k in built_for for k in range(len(offsets) - 1)]
            opt._build_flat(offsets, averaged)
            opt._flat_owner = weakref.ref(self)
            opt._flat_net = weakref.ref(self._net)
            self._optimizer_net = self._net
            self._optimizer_tensors = built_for
            opt._flat_tensors = tuple(self._optimizer_tensors)

    def _build_unbuilt_optimizer(self) -> None:
        """Builds `model.optimizer` when it is built for nothing yet, as
        Keras's evaluate and test_on_batch do (Trainer._symbolic_build): its
        variables then exist, and `load_weights` restores a saved state."""
        opt = self.optimizer
        if isinstance(opt, _optimizers.Optimizer) and opt._kernel is None:
            self._ensure_optimizer_built()

    def _trainable_tensors(self) -> List[int]:
        """Indices into ``net.tensors()`` of the weights that train."""
        flags = [self._trainable and layer.trainable for layer in self._spec_layers]
        return [k for k, t in enumerate(self._net.tensors()) if flags[t["layer"]]]

    def _warn_if_nothing_trains(self) -> None:
        if not self.trainable_weights:
            warnings.warn("The model does not have any trainable weights.", stacklevel=3)

    def _sync_trainable(self) -> None:
        """Gives the engine (and the optimizer's state) the layers' current
        `trainable` flags, when they changed: Keras applies a change at the
        next step."""
        if self._net is None:
            return
        flags = tuple(self._trainable and layer.trainable for layer in self._spec_layers)
        kernel = self.optimizer._kernel if self._owns_optimizer_state() else None
        if self._synced_trainable == (flags, kernel):
            return
        self._trains = any(flags[t["layer"]] for t in self._net.tensors())
        self._net.set_trainable(list(flags))
        if kernel is not None:
            # no weights at all (Activation/Dropout only): the optimizer spans the
            # buffer's padding as one tensor, which never trains
            kernel.set_frozen([not flags[t["layer"]] for t in self._net.tensors()] or [True])
        self._synced_trainable = (flags, kernel)

    def _run_steps(self, data, order, batch_size: int, begin: int, end: int) -> dict:
        """Steps [begin, end) of an epoch in one C++ call (GIL released)."""
        # A changed hyperparameter makes a new C++ optimizer: the frozen flags
        # go to that one (the sync's key holds the optimizer object).
        self._ensure_optimizer_built()  # model.optimizer may be a new one (a callback's)
        self.optimizer._sync_kernel_config()
        self._sync_trainable()
        hosts = self._host_metrics()
        if not hosts:
            return self._engine_steps(data, order, batch_size, begin, end)
        # Metrics computed in Python read each step's predictions: the call
        # returns them (taken under the engine's lock), batch after batch.
        result = self._engine_steps(data, order, batch_size, begin, end, True)
        outputs = result.pop("outputs")
        at = 0
        for step in range(begin, begin + result["steps"]):
            rows = order[step * batch_size : (step + 1) * batch_size]
            self._update_host_metrics(hosts, outputs[at : at + len(rows)], data, rows)
            at += len(rows)
        return result

    def _engine_steps(
        self, data, order, batch_size: int, begin: int, end: int, keep_outputs: bool = False
    ) -> dict:
        """`_run_steps`'s C++ call (the optimizer and flags synced). With no
        trainable weight Keras 3 applies no optimizer step (it warns, and its
        `iterations` stays): the steps compute the loss and metrics only.
        (`_run_steps` synced the flags: `_trains` is current.)"""
        rates = _learning_rates(self.optimizer, end - begin)
        args = (data, order, batch_size, begin, end, self.optimizer._kernel, rates)
        if self._trains and not self._borrowed:  # the common case: no Python around it
            return self._net.train_epoch(*args, keep_outputs=keep_outputs)
        iterations = None if self._trains else self.optimizer.iterations
        self._borrow_in()
        try:
            return self._net.train_epoch(*args, keep_outputs=keep_outputs)
        finally:
            self._borrow_out()
            if iterations is not None:
                self.optimizer.iterations = iterations

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch.

        Args:
            x: ``(n, *input_shape)`` array-like (any real dtype or layout,
                converted once).
            y: targets: class ids ``(n,)`` for sparse categorical
                cross-entropy, else ``(n, outputs)``.
            sample_weight: optional ``(n,)`` or ``(n, 1)`` weights.
            class_weight: optional dict class id -> weight.
            return_dict: return ``{"loss": ..., metric: ...}``.

        Returns:
            The batch loss (a float), or ``[loss, *metrics]`` when metrics were
            compiled, or a dict when `return_dict`.

        Raises:
            ValueError / TypeError: bad shapes, lengths, labels, NaN/Inf, empty
            batch; raised before any weight changes.
        """
        first = self._first_call_thread  # set while a first call runs (in any thread)
        if (self._net is None or first is not None) and first != threading.get_ident():
            return _first_call(
                self,
                Sequential.train_on_batch,
                (x, y, sample_weight, class_weight, return_dict),
                {},
            )
        self._require_compiled("train_on_batch")
        with self._exclusive("train_on_batch"):
            self._reset_host_metrics()
            result = self._train_batch("train_on_batch", x, y, sample_weight, class_weight)
        return self._format(result, return_dict)

    def _train_batch(self, what, x, y, sample_weight, class_weight=None, warn=True) -> dict:
        """One optimizer step on one batch, checked and converted first (nothing
        changes on bad data): train_on_batch's path, and each batch of a
        generator or PyDataset in `fit`. Returns the engine's sums."""
        x, y, sample_weight = self._input_structures(what, x, y, sample_weight)
        sample_weight = _merge_class_weight(y, sample_weight, class_weight)
        data = self._prepare_data(x, y, sample_weight, what)
        self._ensure_optimizer_built()
        if warn:
            self._warn_if_nothing_trains()
        rows = data.rows
        return self._run_steps(data, np.arange(rows, dtype=np.int64), rows, 0, 1)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics of one batch, in inference mode (no update)."""
        first = self._first_call_thread  # set while a first call runs (in any thread)
        if (self._net is None or first is not None) and first != threading.get_ident():
            return _first_call(
                self, Sequential.test_on_batch, (x, y, sample_weight, return_dict), {}
            )
        self._require_compiled("test_on_batch")
        with self._private_host_metrics():
            self._reset_host_metrics()
            return self._format(self._test_batch("test_on_batch", x, y, sample_weight), return_dict)

    def _test_batch(self, what, x, y, sample_weight) -> dict:
        """Loss and metric sums of one batch in inference mode (test_on_batch,
        and each batch of a generator or PyDataset in `evaluate`)."""
        x, y, sample_weight = self._input_structures(what, x, y, sample_weight)
        data = self._prepare_data(x, y, sample_weight, what)
        self._build_unbuilt_optimizer()
        self._sync_trainable()  # frozen layers' penalties leave the loss
        if self._borrowed:
            self._borrow_in_to_read()
        hosts = self._host_metrics()
        result = self._net.evaluate(data, data.rows, keep_outputs=bool(hosts))
        if hosts:
            self._update_host_metrics(hosts, result.pop("outputs"), data, None)
        return result

    def predict_on_batch(self, x):
        """Outputs for one batch (all of `x` at once)."""
        first = self._first_call_thread  # set while a first call runs (in any thread)
        if (self._net is None or first is not None) and first != threading.get_ident():
            return _first_call(self, Sequential.predict_on_batch, (x,), {})
        return self._predict_batch("predict_on_batch", x)

    def _predict_batch(self, what, x):
        return self._pack(self._batch_outputs(what, x))

    def _batch_outputs(self, what, x, training: bool = False):
        """`_outputs_of` for all of `x` at once (in training mode: Keras's
        ``model(x, training=True)``)."""
        if type(x) is not np.ndarray:
            x = self._input_structures(what, x)[0]
        kept = self._kept()
        x = self._prepare_x(x, kept)
        if self._borrowed:
            self._borrow_in_to_read()
        if not training:
            return self._outputs_of(self._net, x, 0, kept)
        self._sync_trainable()  # frozen BatchNormalization layers run in inference mode
        outputs = self._outputs_of(self._net, x, 0, kept, training)
        if self._borrowed and not self._trained_by_another_thread():
            # BatchNormalization's moving statistics, updated by the pass, back
            # to the layers another model holds (a model nested in this one,
            # a layer shared), as fit gives its weights back
            self._borrow_out()
        return outputs

    def _format(self, result: dict, return_dict: bool):
        logs = self._logs(result)
        if return_dict:
            return dict(sorted(logs.items()))
        if not self._metric_names:
            return logs["loss"]
        return [logs["loss"], *(logs[n] for n in self._metric_names)]

    # -- metrics computed in Python (functions, MeanMetricWrapper, subclasses) --
    def _host_metrics(self) -> list:
        """``[(metric, weighted)]`` for the compiled metrics the engine does
        not compute (`fastnn.metrics.is_host_metric`), or this thread's
        private copies of them (`_private_host_metrics`)."""
        return [
            (self._host_copy(m), w)
            for m, w in zip(self._metrics, self._metric_weighted)
            if _metrics.is_host_metric(m)
        ]

    def _host_copy(self, metric):
        copies = getattr(_HOST_COPIES, "by_model", {}).get(id(self))
        return copies.get(id(metric), metric) if copies else metric

    @contextlib.contextmanager
    def _private_host_metrics(self):
        """An evaluation from another thread while this model trains works on
        private copies of the compiled metrics (`_metrics.state_copy`: their
        state apart, the user's objects shared; an engine metric's copy holds
        the evaluation's sums), so the training's running values and the
        evaluation's stay apart. Otherwise the compiled metrics themselves
        run, as in Keras (callbacks read them live, and they hold the last
        run)."""
        # (the engine's metrics hold its sums)
        hosts = list(self._metrics) if self._trained_by_another_thread() else []
        by_model = _HOST_COPIES.__dict__.setdefault("by_model", {})
        if not hosts or id(self) in by_model:
            yield
            return
        by_model[id(self)] = {id(m): _metrics.state_copy(m) for m in hosts}
        try:
            yield
        finally:
            del by_model[id(self)]

    def _reset_host_metrics(self) -> None:
        for metric, _ in self._host_metrics():
            metric.reset_state()

    def _update_host_metrics(self, hosts, y_pred, data, rows) -> None:
        """Each host metric's `update_state(y_true, y_pred[, sample_weight])`
        on a batch: `rows` of `data` (an index array, a slice, or None for
        all) and `y_pred`, the engine's outputs for them."""
        y_true = data.y_true
        weights = data.sample_weight
        if rows is not None:
            y_true = y_true[rows]
            weights = None if weights is None else weights[rows]
        if y_true.dtype == np.int32:  # class ids, int64 as Keras hands them over
            y_true = y_true.astype(np.int64)
            if y_true.ndim == 1 and getattr(data, "_y_ndim", 1) == 2:
                y_true = y_true[:, None]
        elif getattr(data, "_y_ndim", 2) == 1 and y_true.ndim == 2 and y_true.shape[1] == 1:
            y_true = y_true[:, 0]  # targets given as (n,): the function sees (n,)
        else:
            y_true = np.array(y_true)  # writable, as the function may expect
        for metric, weighted in hosts:
            if weighted:
                metric.update_state(y_true, y_pred, sample_weight=weights)
            else:
                metric.update_state(y_true, y_pred)

    def _logs(self, result: dict) -> Dict[str, float]:
        """Keras means from the engine's sums: loss weighted by batch size,
        `metrics` over samples, `weighted_metrics` by sample weight. The sums
        are float64; each mean is rounded to float32, the precision of
        Keras's metric variables, so logs, History and CSVLogger print the
        digits Keras prints (0.5166666507720947 for 31/60). A mean beyond
        float32's range becomes inf, as Keras's float32 variable holds it,
        without NumPy's overflow warning (Keras prints none)."""
        samples = result["samples"]
        loss = result["loss_sum"] / samples if samples else 0.0
        logs: Dict[str, float] = {"loss": _float32(loss)}
        weight = result["weight_sum"]
        sums = result["metric_sums"]
        outputs = int(self._net.output_dim)
        at = 0
        for metric, weighted in zip(self._metrics, self._metric_weighted):
            n = len(metric._kernels())  # the engine's sums this metric reads
            if _metrics.is_host_metric(metric):
                value = _host_result(self._host_copy(metric))
            else:
                part, count = sums[at : at + n], weight if weighted else samples
                value = metric._value(part, count)
                # the compiled object (or this thread's copy) holds the run, as Keras's
                self._host_copy(metric)._take_engine_state(part, count, outputs)
            logs[metric.name] = _log_value(value)
            at += n
        self._metrics_state = logs  # the loss: what Keras's loss tracker now holds
        return logs

    @property
    def metrics(self) -> list:
        """As Keras 3's `model.metrics` once compiled: the loss tracker
        (``name="loss"``), then, when metrics were compiled, one
        ``"compile_metrics"`` entry whose `metrics` are the compiled Metric
        objects. `result()` reads the values of the last fit / evaluate /
        train_on_batch run (running means while it runs)."""
        if not self.compiled:
            return []
        tracked = [_TrackedMetrics(self, "loss")]
        if self._metrics:
            tracked.append(_TrackedMetrics(self, "compile_metrics", self._metrics))
        return tracked

    def get_metrics_result(self) -> Dict[str, float]:
        """``{"loss": ..., <metric>: ...}`` as the metrics hold them after the
        last run (zeros before any, or after `reset_metrics`), as Keras 3:
        each compiled metric's value is its object's `result()` (so a
        metric's `reset_state()` shows here), as logs hold it."""
        if not self.compiled:
            return {}
        logs = {"loss": self._metrics_state.get("loss", 0.0)}
        for metric in self._metrics:
            logs[metric.name] = self._metric_result(metric)
        return logs

    def _metric_result(self, metric):
        """A compiled metric's value now, from its object (this thread's
        copy during an evaluation beside a training), as logs hold it; 0.0
        for an engine metric no run has filled yet."""
        held = self._host_copy(metric)
        if _metrics.is_host_metric(metric):
            return _log_value(_host_result(held))
        value = held._state_value()
        return 0.0 if value is None else _log_value(value)

    def reset_metrics(self) -> None:
        """Resets the loss tracker and each compiled metric object
        (`reset_state()`), as Keras 3: `get_metrics_result` then reports
        zeros."""
        self._metrics_state = {}
        for metric in self._metrics:
            self._host_copy(metric).reset_state()

    @property
    def metrics_names(self) -> List[str]:
        """``["loss", *metric names]``, the order `evaluate` returns values in."""
        return ["loss", *self._metric_names]

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Trains the model for a fixed number of epochs (Keras 3 semantics).

        Each epoch hands C++ the shuffled sample order and runs the steps in a
        few calls with the GIL released; Python regains control only where a
        callback or the progress bar needs it (every step when a callback
        implements batch hooks, about every 0.05 s for the bar, else about
        every 0.1 s so that Ctrl-C stays responsive).

        Args:
            x: ``(n, *input_shape)`` array-like of real numbers; or, as in
                Keras 3, a Python generator (or iterator) yielding ``(x, y)``
                or ``(x, y, sample_weight)`` batches, or a
                `keras.utils.PyDataset`-shaped object (``len()`` batches,
                ``dataset[i]`` the i-th, ``on_epoch_end()`` called after each
                epoch), or a torch ``DataLoader`` (a new pass each epoch,
                ``len(loader)`` batches or, over an IterableDataset, until it
                ends). Each batch is checked and converted as arrays are and
                trained in one engine step; `y`, `sample_weight` and
                `validation_split` are then errors, `batch_size` is ignored,
                `class_weight` only goes with a PyDataset, and `shuffle`
                shuffles a PyDataset's batch order (a generator or a
                DataLoader: ignored, with Keras's warning). A torch
                ``Dataset`` itself is refused, as in Keras (wrap it in a
                DataLoader). An infinite generator needs
                `steps_per_epoch`; a finite one without it is read to its end
                once (Keras's "ran out of data" warning) and, as in Keras,
                later epochs replay its first two batches
                (fastnn._batch_sources explains).
            y: targets: class ids ``(n,)`` for sparse categorical
                cross-entropy, else ``(n, outputs)``.
            batch_size: samples per step. Defaults to `32` (None), or with
                `steps_per_epoch` to ``ceil(n / steps_per_epoch)``, as in
                Keras 3. The last, smaller batch is used.
            epochs: index of the last epoch. Defaults to `1`.
            verbose: `"auto"` (= 1), 0 or None (silent), 1 (progress bar)
                or 2 (one line per epoch); a whole float (``2.0``) is its
                integer, and another number >= 3 prints only the "Epoch i/n"
                lines, as in Keras. Callbacks' ``params["verbose"]`` is the
                value as given. Defaults to `"auto"`.
            callbacks: list of `fastnn.callbacks.Callback`s, or of objects
                with Keras's callback interface (`set_model`, `set_params`
                and the ``on_*`` hooks; a hook one lacks does nothing, as in
                Keras's base class), e.g. a ``keras.callbacks.Callback`` of
                ported code. Defaults to `None`.
            validation_split: fraction in [0, 1) of the data, taken from the
                end before shuffling, to validate on. Defaults to `0.0`.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val,
                sample_weight_val)``, or a generator, PyDataset or DataLoader (each
                validation starts a new pass over it; `validation_steps`
                batches when given); overrides `validation_split`.
            shuffle: reshuffle the training samples every epoch. Defaults to
                `True`.
            class_weight: dict class id -> weight (a class not listed weighs
                1). Not with `sample_weight`.
            sample_weight: ``(n,)`` (or ``(n, 1)``, as Keras 3 takes it)
                weights of the training samples.
            initial_epoch: epoch to start at (runs ``initial_epoch..epochs-1``).
            steps_per_epoch: steps (batches) per epoch, as Keras 3 runs them
                on arrays: an epoch continues the pass over the (shuffled)
                batches where the previous epoch stopped, and a new pass
                (reshuffled) starts only after the last batch. When fewer
                batches than `steps_per_epoch` remain in the pass, the epoch
                ends early with Keras's "Your input ran out of data"
                warning. History.params["steps"] and the progress bar's
                target are `steps_per_epoch`. Defaults to `None`: every
                batch, ``ceil(n / batch_size)`` steps.
            validation_steps: validate on the first `validation_steps`
                batches only (every validation starts from the first batch;
                fewer batches warn, as Keras does). Defaults to `None`: all.
            validation_batch_size: Defaults to `batch_size` (when that is
                None: ``ceil(n_val / validation_steps)`` with
                `validation_steps`, else 32, as in Keras 3).
            validation_freq: validate every `validation_freq` epochs (an
                integer >= 1), or after the epochs a list names (1 for the
                first), as in Keras.
                Defaults to `1`.

        Returns:
            A `fastnn.callbacks.History`.

        Raises:
            ValueError / TypeError: bad arguments or data, before any weight
            changes. RuntimeError: `fit` already running on this model in
            another thread.
        """
        first = self._first_call_thread  # set while a first call runs (in any thread)
        if (self._net is None or first is not None) and first != threading.get_ident():
            return _first_call(self, Sequential.fit, (), _arguments(locals()))
        from fastnn import callbacks as _callbacks

        self._require_compiled("fit")
        steps_per_epoch = _check_steps(steps_per_epoch, "steps_per_epoch")
        validation_steps = _check_steps(validation_steps, "validation_steps")
        if batch_size is not None:
            batch_size = _check_batch_size(batch_size, "batch_size")
        if validation_batch_size is not None:
            validation_batch_size = _check_batch_size(
                validation_batch_size, "validation_batch_size"
            )
        epochs = _capped_epochs(_check_int(epochs, "epochs", 0))
        steps_per_epoch = _capped_steps(steps_per_epoch)
        # (Keras caps the validation's steps when there is a validation)
        if validation_data is not None or (
            isinstance(validation_split, numbers.Real) and validation_split > 0
        ):
            validation_steps = _capped_steps(validation_steps)
        initial_epoch = _check_int(initial_epoch, "initial_epoch", 0)
        validation_freq = _check_validation_freq(validation_freq)
        verbose_param = verbose  # callbacks' params keep it as given ('auto'), as Keras
        verbose = _check_verbose(verbose)
        if _batch_sources.is_batch_source(x):
            return self._fit_source(
                x,
                y,
                sample_weight,
                class_weight,
                shuffle,
                _check_split(validation_split),
                validation_data,
                validation_steps,
                validation_freq,
                epochs,
                initial_epoch,
                steps_per_epoch,
                callbacks,
                verbose,
                verbose_param,
                validation_batch_size or batch_size,
            )
        val_source = None
        if _batch_sources.is_batch_source(validation_data):
            val_source = _batch_sources.ValidationSource(validation_data, validation_steps)
        else:
            _refuse_batch_source(validation_data, "fit: validation_data")
        x, y, sample_weight = self._input_structures("fit", x, y, sample_weight)
        if x is None or y is None:
            raise ValueError("fit needs x and y as arrays")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("You cannot use `class_weight` and `sample_weight` at the same time.")
        split = _check_split(validation_split)

        with self._exclusive("fit"):
            if validation_data is None and split > 0.0:
                (x, y, sample_weight), validation_data = _train_validation_split(
                    x, y, sample_weight, split
                )
            sample_weight = _merge_class_weight(y, sample_weight, class_weight)
            data = self._prepare_data(x, y, sample_weight, "fit")
            val_data = None
            if validation_data is not None and val_source is None:
                try:
                    val_data = self._prepare_data(
                        *_unpack_validation(validation_data, **self._structure_hints()),
                        "validation_data",
                    )
                except (ValueError, TypeError) as e:
                    if str(e).lstrip("`").startswith("validation_data"):
                        raise
                    raise type(e)(f"validation_data: {e}") from None
                val_batch = validation_batch_size or batch_size
                val_batch = val_batch or _default_batch_size(val_data.rows, validation_steps)
            self._ensure_optimizer_built()
            self._warn_if_nothing_trains()

            n = data.rows
            batch_size = batch_size or _default_batch_size(n, steps_per_epoch)
            batches = -(-n // batch_size)
            steps = steps_per_epoch or batches
            cbs = _callbacks.CallbackList(
                callbacks,
                add_history=True,
                add_progbar=verbose != 0,
                model=self,
                verbose=verbose_param,
                epochs=epochs,
                steps=steps,
            )
            self.stop_training = False
            shuffler = np.random.default_rng(_shuffle_seed())
            epoch_logs: Dict[str, float] = {}
            order, done = None, 0  # the pass over the batches, and the batches it ran
            cbs.on_train_begin()
            # A callback may restore a later epoch to start at (BackupAndRestore)
            initial_epoch, self._initial_epoch = self._initial_epoch or initial_epoch, None
            for epoch in range(initial_epoch, epochs):
                cbs.on_epoch_begin(epoch)
                if order is None:
                    order = shuffler.permutation(n) if shuffle else np.arange(n, dtype=np.int64)
                    done = 0
                count = min(steps, batches - done)
                if count < steps:
                    _warn_ran_out("training", steps, count, batches, batch_size, epoch=True)
                train_logs = self._fit_epoch(data, order, batch_size, done, count, cbs)
                done += count
                if done >= batches:
                    order = None
                epoch_logs = dict(train_logs)
                if val_source is not None and _validates_after(epoch, validation_freq):
                    val_logs = self._evaluate_source(val_source.iterator(), cbs, silent=True)
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                elif val_data is not None and _validates_after(epoch, validation_freq):
                    val_logs = self._evaluate_data(
                        val_data, val_batch, cbs, silent=True, steps=validation_steps
                    )
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
            cbs._before_final_overwrite()
            self._finalize_optimizer(epochs)
        # After the training section, as in Keras: on_train_end may compile,
        # add or pop (no step of this fit runs any more).
        cbs.on_train_end(epoch_logs)
        self.history = cbs.history
        return cbs.history

    def _finalize_optimizer(self, epochs: int) -> None:
        """The end of `fit`, as Keras's ``optimizer.finalize_variable_values(
        trainable_weights)`` when `epochs` > 0: with `use_ema` the moving
        averages replace the weights. Unlike Keras, an optimizer that has
        taken no step yet leaves the weights alone (Keras overwrites them with
        its averages' initial zeros)."""
        opt = self.optimizer
        if (
            epochs > 0
            and isinstance(opt, _optimizers.Optimizer)
            and opt.use_ema
            and self._owns_optimizer_state()
            and opt.iterations > 0
        ):
            # Keras overwrites the trainable weights with the averages of the
            # weights the optimizer was built for, and fails after the whole
            # fit when a layer was frozen or unfrozen since. Here the weights
            # that are both take their averages; a layer frozen since keeps
            # its values, and one unfrozen since (no average) its trained ones.
            weights = self._tensor_weights()
            trainable = self._trainable_tensors()
            averaged = set(self._optimizer_tensors)
            unaveraged = [weights[k].path for k in trainable if k not in averaged]
            if unaveraged:
                warnings.warn(
                    f"use_ema: {unaveraged} became trainable after the optimizer was built, so "
                    "they have no moving average and keep their trained values (Keras refuses "
                    "to step them: 'Unknown variable'). Compile again with a new optimizer to "
                    "average every trainable weight.",
                    stacklevel=3,
                )
            now = set(trainable)
            for k, average in zip(self._optimizer_tensors, opt._averages()):
                if k in now:
                    weights[k][...] = average

    def _fit_epoch(
        self, data, order, batch_size: int, first: int, steps: int, cbs
    ) -> Dict[str, float]:
        """Runs one epoch, the `steps` batches of `order` from batch `first`
        on, in chunks of steps; returns its logs (batch hooks count from 0)."""
        policy = cbs.batch_hook_policy("train")
        totals = None
        step = 0
        self._reset_host_metrics()  # Keras resets the metrics at each epoch's start
        # The first chunk is one step (so the bar's time per step leaves it
        # out, as Keras does); later chunks last about `target` seconds.
        target = 0.05 if policy == "progress" else 0.1
        chunk = 1
        while step < steps:
            end = min(steps, step + chunk)
            if policy == "every":
                cbs.on_train_batch_begin(step)
            start = time.perf_counter()
            result = self._run_steps(data, order, batch_size, first + step, first + end)
            elapsed = time.perf_counter() - start
            totals = result if totals is None else _add_results(totals, result)
            if policy != "none":
                cbs.on_train_batch_end(end - 1, self._logs(totals))
            step = end
            if self.stop_training:
                # Keras checks after every batch: set before the epoch's first
                # batch (on_train_begin, on_epoch_begin), one batch still runs.
                break
            if policy != "every":
                per_step = elapsed / max(1, result["steps"])
                chunk = max(1, min(steps, int(target / per_step) if per_step > 0 else steps))
        return self._logs(totals) if totals is not None else {"loss": 0.0}

    def _evaluate_data(
        self, data, batch_size: int, cbs, silent: bool = False, steps: Optional[int] = None
    ) -> Dict[str, float]:
        """Loss and metrics over `data` (its first `steps` batches when
        given) in inference mode, with test hooks."""
        self._sync_trainable()  # frozen layers' penalties leave the loss
        if self._borrowed:
            self._borrow_in_to_read()
        net = self._net  # the network `data` was validated for, even if a callback rebuilds
        cbs.on_test_begin()
        policy = cbs.batch_hook_policy("test")
        hosts = self._host_metrics()
        self._reset_host_metrics()
        rows = data.rows
        if steps is not None:
            batches = -(-rows // batch_size)
            if steps > batches:
                _warn_ran_out("evaluation", steps, batches, batches, batch_size)
            rows = min(rows, steps * batch_size)
        if policy == "every" or rows < data.rows or hosts:
            totals = None
            for b, start in enumerate(range(0, rows, batch_size)):
                if policy == "every":
                    cbs.on_test_batch_begin(b)
                stop = min(rows, start + batch_size)
                result = net.evaluate_rows(data, start, stop, keep_outputs=bool(hosts))
                if hosts:
                    self._update_host_metrics(
                        hosts, result.pop("outputs"), data, slice(start, stop)
                    )
                totals = result if totals is None else _add_results(totals, result)
                if policy == "every":
                    cbs.on_test_batch_end(b, self._logs(totals))
            if policy == "progress" and not silent:
                cbs.on_test_batch_end(b, self._logs(totals))
        else:
            totals = net.evaluate(data, batch_size)
            if policy == "progress" and not silent:
                cbs.on_test_batch_end(-(-data.rows // batch_size) - 1, self._logs(totals))
        logs = self._logs(totals)
        cbs.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """Loss and metrics on `x`, `y` in inference mode.

        Args:
            x, y: as in `fit` (a generator, PyDataset or DataLoader: `y` and
                `sample_weight` are errors, `batch_size` is ignored).
            batch_size: Defaults to `32` (None).
            verbose: `"auto"` (= 1), 0 or None (silent), 1 (progress bar)
                or 2 (one line at the end), as in `fit`. Defaults to
                `"auto"`.
            sample_weight: optional ``(n,)`` or ``(n, 1)`` weights.
            steps: evaluate the first `steps` batches only, as Keras 3 does
                with arrays (more steps than batches: all of them, with
                Keras's "ran out of data" warning); a generator or PyDataset
                is read from its start for `steps` batches (an infinite one
                needs it). Defaults to `None`: all.
            callbacks: list of callbacks (test hooks). Defaults to `None`.
            return_dict: return ``{name: value}`` instead of a list.

        Returns:
            ``[loss, *metrics]`` (a float when there are no metrics), or a dict.
        """
        first = self._first_call_thread  # set while a first call runs (in any thread)
        if (self._net is None or first is not None) and first != threading.get_ident():
            return _first_call(self, Sequential.evaluate, (), _arguments(locals()))
        from fastnn import callbacks as _callbacks

        source = _batch_sources.is_batch_source(x)
        if not source:
            x, y, sample_weight = self._input_structures("evaluate", x, y, sample_weight)
        self._require_compiled("evaluate")
        steps = _capped_steps(_check_steps(steps, "steps"))
        if batch_size is not None:
            batch_size = _check_batch_size(batch_size, "batch_size")
        verbose_param = verbose  # callbacks' params keep it as given ('auto'), as Keras
        verbose = _check_verbose(verbose)
        if source:  # a generator or PyDataset: batch by batch, as Keras reads it
            _batch_sources.check_arguments(x, y, sample_weight)
            iterator = _batch_sources.EpochIterator(_batch_sources.adapter(x), steps)
            cbs = _callbacks.CallbackList(
                callbacks,
                add_progbar=verbose != 0,
                model=self,
                verbose=verbose_param,
                epochs=1,
                steps=iterator.num_batches,
            )
            with self._private_host_metrics():
                logs = self._evaluate_source(iterator, cbs)
        else:
            data = self._prepare_data(x, y, sample_weight, "evaluate")
            self._build_unbuilt_optimizer()
            batch_size = batch_size or _default_batch_size(data.rows, steps)
            cbs = _callbacks.CallbackList(
                callbacks,
                add_progbar=verbose != 0,
                model=self,
                verbose=verbose_param,
                epochs=1,
                steps=steps or -(-data.rows // batch_size),
            )
            with self._private_host_metrics():
                logs = self._evaluate_data(data, batch_size, cbs, steps=steps)
        if return_dict:
            return dict(sorted(logs.items()))
        if not self._metric_names:
            return logs["loss"]
        return [logs["loss"], *(logs[n] for n in self._metric_names)]

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for `x`, computed `batch_size` samples at a time.

        Args:
            x: ``(n, *input_shape)`` array-like, or a generator yielding
                ``(x,)`` (or ``(x, y, ...)``: the inputs are used) batches, or
                a PyDataset or a torch DataLoader (see `fit`; `steps` batches
                when given).
            batch_size: Defaults to `32` (None), or with `steps` to
                ``ceil(n / steps)``, as in Keras 3. It counts the steps of
                `steps`, the callbacks and the progress bar; the engine
                computes up to 1,024 rows at a time whatever it is (the
                outputs are the same bits).
            verbose: `"auto"` (= 1), 0 or None (silent), 1 (progress bar)
                or 2 (one line at the end), as in `fit`. Defaults to
                `"auto"`.
            steps: predict the first `steps` batches only, as Keras 3 does
                with arrays (more steps than batches: all of them, with
                Keras's "ran out of data" warning). Defaults to `None`: all.
            callbacks: list of callbacks (predict hooks). Defaults to `None`.

        Returns:
            float32 array ``(n, *output_shape)`` (``min(n, steps *
            batch_size)`` rows with `steps`); with several outputs (a
            functional Model's), one such array per output in the structure
            of the model's `outputs`, as Keras.
        """
        first = self._first_call_thread  # set while a first call runs (in any thread)
        if (self._net is None or first is not None) and first != threading.get_ident():
            return _first_call(
                self, Sequential.predict, (x, batch_size, verbose, steps, callbacks), {}
            )
        source = False
        if type(x) is not np.ndarray:  # (a plain array, the batch-1 path, skips the call)
            source = _batch_sources.is_batch_source(x)
            if not source:
                x = self._input_structures("predict", x)[0]
        steps = _capped_steps(_check_steps(steps, "steps"))
        if batch_size is not None:
            batch_size = _check_batch_size(batch_size, "batch_size")
        verbose_param = verbose  # callbacks' params keep it as given ('auto'), as Keras
        if type(verbose) is not int or verbose != 0:
            verbose = _check_verbose(verbose)
        if source:
            return self._predict_source(x, steps, callbacks, verbose, verbose_param)
        kept = self._kept()
        x = self._prepare_x(x, kept)
        batch_size = batch_size or _default_batch_size(len(x), steps)
        n_steps = -(-len(x) // batch_size)
        if steps is not None:
            if steps > n_steps:
                _warn_ran_out("prediction", steps, n_steps, n_steps, batch_size)
            x = x[: steps * batch_size]
            kept = self._sliced(kept, 0, steps * batch_size)
            n_steps = steps
        if self._borrowed:
            self._borrow_in_to_read()
        if verbose == 0 and not callbacks:
            return self._pack(self._outputs_of(self._net, x, batch_size, kept))
        from fastnn import callbacks as _callbacks

        cbs = _callbacks.CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose_param,
            epochs=1,
            steps=n_steps,
        )
        net = self._net  # the network x was checked for, even if a callback rebuilds
        cbs.on_predict_begin()
        if cbs.batch_hook_policy("predict") == "every":
            parts = []
            for b, start in enumerate(range(0, len(x), batch_size)):
                cbs.on_predict_batch_begin(b)
                stop = start + batch_size
                part = self._outputs_of(
                    net, x[start:stop], batch_size, self._sliced(kept, start, stop)
                )
                parts.append(part)
                cbs.on_predict_batch_end(b, {"outputs": self._pack(part)})
            out = self._concatenated(parts, len(x))
        else:
            out = self._outputs_of(net, x, batch_size, kept)
            cbs.on_predict_batch_end(-(-len(x) // batch_size) - 1, {})
        cbs.on_predict_end()
        return self._pack(out)

    # -- generators and PyDatasets (Keras's batch sources) ----------------------
    def _source_batch(self, what: str, step: int, run, *args):
        """`run(what, *args)` for batch `step` of a generator or PyDataset; a
        bad batch's ValueError / TypeError names the batch (it changed
        nothing; the batches before it did, as in Keras)."""
        try:
            return run(what, *args)
        except (ValueError, TypeError) as e:
            raise type(e)(f"{what}: batch {step} of the batch source: {e}") from None

    def _fit_source(
        self,
        x,
        y,
        sample_weight,
        class_weight,
        shuffle,
        split,
        validation_data,
        validation_steps,
        validation_freq,
        epochs,
        initial_epoch,
        steps_per_epoch,
        callbacks,
        verbose,
        verbose_param,
        val_batch_size,
    ):
        """`fit` on a generator or PyDataset, as Keras 3's trainer runs it
        (one engine step per batch: `_train_batch`)."""
        from fastnn import callbacks as _callbacks

        if split > 0.0 and validation_data is None:
            raise ValueError(  # Keras's array_slicing.train_validation_split
                "Argument `validation_split` is only supported for tensors or NumPy arrays. "
                f"Found incompatible type in the input: [{type(x)}]"
            )
        _batch_sources.check_arguments(x, y, sample_weight, class_weight)
        val_source, val_arrays = None, None
        if _batch_sources.is_batch_source(validation_data):
            val_source = _batch_sources.ValidationSource(validation_data, validation_steps)
        elif validation_data is not None:
            _refuse_batch_source(validation_data, "fit: validation_data")
            val_arrays = _unpack_validation(validation_data, **self._structure_hints())
        with self._exclusive("fit"):
            # a seed only for a shuffled PyDataset: an unbuilt model's first
            # batch builds it with the seeds arrays would give it
            seed = _shuffle_seed() if shuffle and _batch_sources.is_py_dataset(x) else None
            source = _batch_sources.adapter(x, class_weight, shuffle, seed)
            train = _batch_sources.EpochIterator(source, steps_per_epoch)
            cbs = _callbacks.CallbackList(
                callbacks,
                add_history=True,
                add_progbar=verbose != 0,
                model=self,
                verbose=verbose_param,
                epochs=epochs,
                steps=train.num_batches,
            )
            self.stop_training = False
            epoch_logs: Dict[str, float] = {}
            first = True
            cbs.on_train_begin()
            # A callback may restore a later epoch to start at (BackupAndRestore)
            initial_epoch, self._initial_epoch = self._initial_epoch or initial_epoch, None
            for epoch in range(initial_epoch, epochs):
                cbs.on_epoch_begin(epoch)
                policy = cbs.batch_hook_policy("train")
                totals = None
                self._reset_host_metrics()
                for step, batch in train.epoch():
                    if policy == "every":
                        cbs.on_train_batch_begin(step)
                    bx, by, bw = _batch_sources.unpack(batch)
                    bw, cw = _batch_sources.class_weight_of(bw)
                    result = self._source_batch(
                        "fit", step, self._train_batch, bx, by, bw, cw, first
                    )
                    first = False
                    totals = result if totals is None else _add_results(totals, result)
                    # every batch, whatever the policy: the bar of an unknown
                    # total (verbose=2 too) counts the steps it saw
                    cbs.on_train_batch_end(step, self._logs(totals))
                    if self.stop_training:
                        break
                # An epoch that got no batch logs nothing (Keras's empty logs).
                epoch_logs = self._logs(totals) if totals is not None else {}
                if (val_source or val_arrays) is not None and _validates_after(
                    epoch, validation_freq
                ):
                    if val_source is not None:
                        val_logs = self._evaluate_source(val_source.iterator(), cbs, silent=True)
                    else:
                        val_logs = self._evaluate_arrays_in_fit(
                            val_arrays, val_batch_size, validation_steps, cbs
                        )
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
            cbs._before_final_overwrite()
            self._finalize_optimizer(epochs)
        cbs.on_train_end(epoch_logs)
        self.history = cbs.history
        return cbs.history

    def _evaluate_arrays_in_fit(self, val_arrays, batch, steps, cbs) -> Dict[str, float]:
        """Validation arrays of a `fit` on a batch source, `batch` rows at a
        time (validation_batch_size or batch_size; None: 32, or enough for
        `steps` batches, as in Keras)."""
        try:
            data = self._prepare_data(*val_arrays, "validation_data")
        except (ValueError, TypeError) as e:
            raise type(e)(f"validation_data: {e}") from None
        batch = batch or _default_batch_size(data.rows, steps)
        return self._evaluate_data(data, batch, cbs, silent=True, steps=steps)

    def _evaluate_source(self, iterator, cbs, silent: bool = False) -> Dict[str, float]:
        """Loss and metrics over one pass of a batch source's EpochIterator
        (`_test_batch` per batch), with test hooks."""
        cbs.on_test_begin()
        policy = cbs.batch_hook_policy("test")
        totals = None
        self._reset_host_metrics()
        for step, batch in iterator.epoch():
            if policy == "every":
                cbs.on_test_batch_begin(step)
            bx, by, bw = _batch_sources.unpack(batch)
            result = self._source_batch("evaluate", step, self._test_batch, bx, by, bw)
            totals = result if totals is None else _add_results(totals, result)
            if policy == "every" or not silent:
                cbs.on_test_batch_end(step, self._logs(totals))
        logs = self._logs(totals) if totals is not None else {}
        cbs.on_test_end(logs)
        return logs

    def _predict_source(self, x, steps, callbacks, verbose, verbose_param) -> np.ndarray:
        """`predict` on a generator or PyDataset: each batch's inputs (its
        targets and weights are ignored) through `_predict_batch`."""
        from fastnn import callbacks as _callbacks

        iterator = _batch_sources.EpochIterator(_batch_sources.adapter(x), steps)
        cbs = _callbacks.CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose_param,
            epochs=1,
            steps=iterator.num_batches,
        )
        cbs.on_predict_begin()
        policy = cbs.batch_hook_policy("predict")
        outputs = []
        for step, batch in iterator.epoch():
            if policy == "every":
                cbs.on_predict_batch_begin(step)
            bx = _batch_sources.unpack(batch)[0]
            outputs.append(self._source_batch("predict", step, self._batch_outputs, bx))
            cbs.on_predict_batch_end(step, {"outputs": self._pack(outputs[-1])})
        cbs.on_predict_end()
        if not outputs and self._net is None:
            return np.empty((0, 0), np.float32)
        return self._pack(self._concatenated(outputs, 0))

    def __reduce__(self):
        """Pickling, copy.copy and copy.deepcopy go through the `.keras`
        format, as Keras 3's models do (KerasSaveable.__reduce__): the copy
        has the architecture, weights, compile config and optimizer state
        (not `history` or callbacks). What `save` refuses (a callable
        learning rate) is refused here with its error."""
        import os
        import tempfile

        self._check_savable()
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "model.keras")
            self._save_archive(path, keras_h5=False)  # read by fastnn only
            with open(path, "rb") as f:
                data = f.read()
        return (_unpickle_model, (data,))

    def __call__(self, x, *, training=None, mask=None):
        """``predict(x)`` on all of `x` at once. Keras 3's torch backend
        returns a torch tensor: so does this for a torch tensor `x` (float32,
        on the CPU, sharing the result's memory, ``requires_grad`` False);
        for other data, a float32 NumPy array that also has the tensor
        methods ``numpy()``, ``detach()`` and ``cpu()``
        (``model(x).detach().cpu().numpy()`` runs; NumPy's own names keep
        NumPy's meaning: ``.size``, ``argmax(axis=...)``).

        Args:
            x: ``(n, *input_shape)`` array-like or torch tensor.
            training: `None` or `False` run the inference pass, as in Keras.
                `True` runs all of `x` through one training-mode pass, as
                Keras's call does (Monte Carlo dropout): Dropout and the
                noise layers draw a new mask or noise on every call, and a
                trainable BatchNormalization (in a trainable model) uses the
                statistics of `x` and updates its moving mean and variance.
                No loss, gradients or weight update. Defaults to `None`.
            mask: accepted and ignored, as Keras 3 ignores it for these
                layers (none of them takes a mask). Defaults to `None`.
        """
        from fastnn import functional

        if type(x) is not np.ndarray and is_torch_tensor(x):
            # (inline rather than layers._torch_in_torch_out: no extra call on the array path)
            outputs = self(plain_tensor(x), training=training, mask=mask)
            # each output a tensor, in the outputs' structure (several along the chain)
            return functional.map_outputs(outputs, as_torch_tensor)
        if functional.is_symbolic(x):
            # A model in a functional graph (``features = base(inputs)``): its
            # layers are called in turn, and the model built from the graph
            # shares them (and their weights) with this one.
            if not self._layers and not isinstance(self, Model):
                raise ValueError(f"model {self.name!r} has no layers to call")
            shape = tuple(x.shape[1:])
            if self._input_shape is None:  # built on its first call, as Keras builds it
                self._input_shape = shape
                if _has_layers(self._layers):
                    self.build()
            if self._input_shape is not None and shape != tuple(self._input_shape):
                raise ValueError(
                    f"model {self.name!r} takes inputs of shape {(None, *self._input_shape)}, "
                    f"but is called on an input of shape {(None, *shape)}"
                )
            called = (*getattr(x, "_called_models", ()), self)
            nodes = [x]  # the tensor at each place of the chain
            for layer in self._layers:
                x = functional.call_layer(layer, x, (), {})
                nodes.append(x)
            if self._layers:
                x._called_models = called
            if self._output_structure is None:
                return x
            return self._pack([nodes[place] for place in self._output_places])
        # NumPy arrays that also have the Keras tensor's numpy() (model(x).numpy())
        outputs = self._batch_outputs("call", x, training=bool(training))
        if self._output_structure is None:
            return outputs.view(_layers._EagerArray)
        return self._pack([output.view(_layers._EagerArray) for output in outputs])

    @property
    def dtype(self) -> str:
        """The model's dtype, as Keras's `model.dtype`: always float32."""
        return "float32"

    # -- weights -------------------------------------------------------------
    @property
    def weights(self) -> List[np.ndarray]:
        """Every weight, in Keras order (per layer: kernel, bias), as
        `fastnn.layers.Variable` views into the parameter buffer."""
        return [w for layer in self._layers for w in layer.weights]

    @property
    def input_shape(self) -> tuple:
        """``(None, *features)``, as Keras (the batch axis is the Input's
        `batch_size` when it has one); AttributeError while unknown."""
        if self._input_shape is None:
            raise AttributeError(
                f"The model {self.name!r} has no defined input yet: give it an Input(shape=...) "
                "or call build()"
            )
        return (self._batch_dim(), *self._input_shape)

    def _batch_dim(self):
        """The batch axis of the model's shapes, configs and summary: the
        `batch_size` of its Input (``Input((7,), batch_size=5)``), kept as
        Keras keeps it, else None. fastnn still trains and predicts on any
        number of rows, as Keras's torch backend does."""
        given = self.__dict__.get("_input_layer") or self.__dict__.get("_given_input")
        known = self._input_shape
        if given is None or known is None or tuple(given._input_shape) != tuple(known):
            return None
        return given.batch_size

    def compute_output_shape(self, input_shape) -> tuple:
        """Keras's `compute_output_shape`: the output shape for `input_shape`
        (the batch axis first, kept as given), through every layer.

        Raises:
            ValueError: a shape without a batch axis, or one a layer cannot
                take.
        """
        shape = _layers._batch_shape(input_shape, "compute_output_shape")
        self._check_input_shape(shape)
        sample = shape[1:]
        for layer in self._layers:
            sample = tuple(layer._sample_output_shape(sample))
        return (shape[0], *sample)

    @property
    def output_shape(self) -> tuple:
        """``(None, *outputs)``, as Keras; AttributeError before the model is built."""
        if self._net is None:
            raise AttributeError(f"The model {self.name!r} is not built yet: no defined output")
        return (self._batch_dim(), *self._output_shape)

    @property
    def losses(self) -> List[float]:
        """Keras 3's ``model.losses`` (floats here): after a forward pass
        (``model(x)``, `predict`, `evaluate`, `fit`, ...), each activity
        regularizer's penalty of that pass's last batch divided by its rows
        (a Dense `activity_regularizer`, an `ActivityRegularization` layer;
        frozen ones too, as Keras), in layer order; then the regularization
        penalties of the trainable weights, one per regularized weight in
        layer order. The training loss includes their sum."""
        if self._net is None:
            return []
        out = self._activity_losses()
        if not self._trainable:
            return out
        for layer in self._layers:
            if layer.trainable:
                out += layer._weight_penalties()
        return out

    def _activity_losses(self) -> List[float]:
        """The activity losses of the engine's last forward pass (none before
        one), one per layer with an activity regularizer, in layer order."""
        return list(self._activity_losses_by_layer().values())

    def _activity_losses_by_layer(self) -> Dict[int, float]:
        """`_activity_losses` keyed by `id(layer)`, in layer order (a layer
        in the engine twice counts once, summed)."""
        values = self._net.last_activity_losses if self._net is not None else None
        if not values:
            return {}
        per_layer: Dict[int, float] = {}
        for layer, value in zip(self._spec_layers, values):
            if getattr(layer, "activity_regularizer", None) is None:
                continue
            per_layer[id(layer)] = per_layer.get(id(layer), 0.0) + value
        return per_layer

    def _class_identity(self, config: dict) -> dict:
        """`config` wrapped as Keras 3 serializes this model in JSON and
        `.keras` archives: ``{"module", "class_name", "config", "registered_name"}``."""
        if isinstance(self, Model):
            module, class_name, registered = (
                "keras.src.models.functional",
                "Functional",
                "Functional",
            )
        else:
            module, class_name, registered = "keras", "Sequential", None
        return {
            "module": module,
            "class_name": class_name,
            "config": config,
            "registered_name": registered,
        }

    def get_build_config(self) -> Optional[dict]:
        """Keras's: ``{"input_shape": (None, *shape)}`` once built, else None."""
        return {"input_shape": (self._batch_dim(), *self._input_shape)} if self.built else None

    def build_from_config(self, config) -> None:
        """Keras's: ``build(config["input_shape"])`` (nothing for None)."""
        if config and config.get("input_shape") is not None:
            self.build(config["input_shape"])

    def to_json(self, **kwargs) -> str:
        """The architecture (no weights) as Keras's JSON: ``{"module",
        "class_name", "config", "registered_name"}``, with ``build_config``
        once built and ``compile_config`` once compiled, as Keras writes
        them; `model_from_json` reads it (built and compiled alike).
        `kwargs` go to ``json.dumps``."""
        import json

        return json.dumps(self._serialized(), **kwargs)

    @property
    def trainable(self) -> bool:
        """Whether the model trains. Setting it sets every layer's
        `trainable` too, as Keras 3 does; while it is False no layer trains,
        whatever its own flag."""
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = self._trainable
        for model in self.__dict__.get("_added_models", ()):
            model.trainable = self._trainable

    @property
    def trainable_weights(self) -> List[np.ndarray]:
        """Views of the weights that train, in Keras order."""
        if not self._trainable:
            return []
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> List[np.ndarray]:
        """Views of the frozen weights, in Keras order."""
        if not self._trainable:
            return self.weights
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    # Keras 3's other names for the same lists
    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> List[np.ndarray]:
        """Copies of every weight in Keras order and shapes (kernel ``(in, units)``)."""
        return [np.array(w) for layer in self._layers for w in layer._weights]

    def set_weights(self, weights: Sequence) -> None:
        """Writes all weights; validates every array before writing any."""
        if self._net is None:
            raise ValueError("the model is not built yet: call build() or train/predict first")
        arrays = _layers._checked_weights(self.weights, weights, f"model {self.name!r}")
        for view, value in zip(self.weights, arrays):
            view[...] = value

    def _restore_weights(self, weights: Sequence) -> None:
        """`set_weights` for weights the model had before (EarlyStopping's
        best epoch): NaN or Inf written back as they were, as Keras's
        `set_weights` writes them; `set_weights` refuses them from the user."""
        if self._net is None:
            raise ValueError("the model is not built yet: call build() or train/predict first")
        arrays = _layers._checked_weights(
            self.weights, weights, f"model {self.name!r}", finite=False
        )
        for view, value in zip(self.weights, arrays):
            view[...] = value

    def count_params(self) -> int:
        """Number of weights.

        Raises:
            ValueError: the model is not built yet (as Keras).
        """
        if self._net is None:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                "built. You can build it manually via: `layer.build(input_shape)`."
            )
        return int(sum(w.size for w in self.weights))

    # -- structure: pop, get_layer, summary ------------------------------------
    def pop(self, rebuild: bool = True) -> _layers.Layer:
        """Removes the last layer and returns it.

        The weights of the remaining layers are kept (the network is rebuilt
        without the layer); the optimizer's state starts afresh at the next
        training call, since the parameters changed.

        Raises:
            IndexError: the model has no layers (Keras 3 pops from its empty
                layer list).
        """
        self._refuse_while_training("pop")
        if not self._layers:
            raise IndexError("pop from empty list: there are no layers in the model.")
        layer = self._layers.pop()
        previous = self._net
        self._net = None
        if rebuild and previous is not None and _has_layers(self._layers):
            try:
                self.build()
            except Exception:
                self._layers.append(layer)  # a failed rebuild leaves the model as it was
                self._net = previous
                raise
        if layer._owner is not None and layer._owner() is self:
            layer._owner = None
        return layer

    def get_layer(self, name=None, index=None) -> _layers.Layer:
        """A layer by `name` or by `index` in `layers` (as Keras 3).

        Raises:
            ValueError: both or neither given, no such name, index out of range.
        """
        if index is not None and name is not None:
            raise ValueError(
                f"Provide only a layer name or a layer index. Received: index={index}, name={name}."
            )
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise ValueError(f"`index` must be an integer. Received: index={index!r}")
            layers = self.layers
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: "
                f"{[layer.name for layer in self.layers]}."
            )
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs) -> None:
        """Prints the Keras 3 summary table (as Keras draws it without colour).

        ::

            Model: "sequential"
            ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
            ┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃
            ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
            │ dense (Dense)                        │ (None, 128)                 │         100,480 │
            ...
             Total params: 118,282 (462.04 KB)

        Args:
            line_length: total width. Defaults to 88, or the terminal width
                less 4 when narrower (Keras's rule).
            positions: right edge of each column, as fractions of
                `line_length` (or absolute columns when above 1). Defaults to
                `[0.45, 0.80, 1.0]`.
            print_fn: called once with the whole summary (ending in a
                newline), as Keras 3 does. Defaults to writing to stdout.
            expand_nested: accepted; fastnn models hold no nested models.
                Defaults to `False`.
            show_trainable: add Keras's "Trainable" column (`Y`, `N`, or
                `-` for a layer without weights). Defaults to `False`.
            layer_range: two regular expressions: the rows from the first
                layer whose name matches the first to the last layer whose
                name matches the second (Keras's rule); the totals stay the
                model's. Defaults to `None`: every layer.

        After the optimizer has state (the first training step), an
        "Optimizer params" line follows and "Total params" includes it, as
        in Keras 3.
        """
        kwargs.pop("expand_nested", None)  # no nested models to expand
        show_trainable = bool(kwargs.pop("show_trainable", False))
        layer_range = kwargs.pop("layer_range", None)
        if kwargs:
            raise TypeError(f"summary got unexpected argument(s): {', '.join(sorted(kwargs))}")
        text = _summary_text(self, line_length, positions, show_trainable, layer_range)
        if print_fn is None:
            from fastnn.utils.io_utils import print_msg

            print_msg(text, line_break=False)  # (the "fastnn" logger when not interactive)
        else:
            print_fn(text)

    def _layer_output_shapes(self) -> List[Optional[tuple]]:
        """Each layer's output shape without the batch axis (None when unknown)."""
        shape = self._input_shape
        shapes = []
        for layer in self._layers:
            if shape is not None:
                try:
                    shape = tuple(layer._sample_output_shape(shape))
                except ValueError:
                    shape = None
            shapes.append(shape)
        return shapes

    # -- config ----------------------------------------------------------------
    def get_config(self) -> dict:
        """Keras 3's Sequential config: ``{"name", "trainable", "dtype", "layers":
        [InputLayer, each layer serialized], "build_input_shape"}``."""
        layer_configs = []
        if self._input_shape is not None:
            layer_configs.append(
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "config": _layers._input_layer_config(
                        (self._batch_dim(), *self._input_shape),
                        getattr(self, "_input_name", None) or "input_layer",
                    ),
                    "registered_name": None,
                }
            )
        shape = self._input_shape
        for layer in self._layers:
            entry = _layers.serialize(layer)
            if self.built:
                entry["build_config"] = {"input_shape": (self._batch_dim(), *shape)}
                shape = tuple(layer._sample_output_shape(shape))
            layer_configs.append(entry)
        config = {
            "name": self.name,
            "trainable": self._trainable,
            "dtype": _layers._float32_policy_config(),
            "layers": layer_configs,
        }
        if self.built:
            config["build_input_shape"] = (self._batch_dim(), *self._input_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None) -> Sequential:
        """Creates a model from `get_config()`'s output (or Keras 3's config of
        a Sequential of supported layers, or a plain list of layer configs).

        The model is built (new weights) when the config holds an input shape.

        Raises:
            ValueError: an unknown layer class or key, a malformed config.
        """
        trainable = True
        if isinstance(config, (list, tuple)):
            name, layer_configs, build_input_shape = None, list(config), None
        elif isinstance(config, dict):
            if "layers" not in config:
                raise ValueError(f"A Sequential config needs 'layers'; got keys {sorted(config)}")
            if "dtype" in config and not _layers._KERAS_ONLY_DEFAULTS["dtype"](config["dtype"]):
                raise ValueError(f"Sequential config: dtype={config['dtype']!r} is not supported")
            trainable = config.get("trainable", True)
            if not isinstance(trainable, bool):
                raise ValueError(f"Sequential config: trainable must be a bool, got {trainable!r}")
            name = config.get("name")
            layer_configs = config["layers"]
            build_input_shape = config.get("build_input_shape")
        else:
            raise TypeError(f"from_config takes a dict, got {type(config).__name__}")
        if not isinstance(layer_configs, (list, tuple)):
            raise ValueError(
                f"Sequential config: 'layers' must be a list, got {layer_configs!r:.200}"
            )
        model = cls(name=name)
        for layer_config in layer_configs:
            # built once below, as the constructor does: a rebuild per layer made
            # loading n layers O(n**2) (a 3000-layer config took minutes)
            model.add(_layers._deserialize(layer_config, custom_objects), rebuild=False)
        model._trainable = trainable  # the layers keep the flags their configs hold
        if model._input_shape is not None and _has_layers(model._layers):
            model.build()
        if not model.built and isinstance(build_input_shape, (list, tuple)) and model._layers:
            model.build(build_input_shape)
        return model

    def get_compile_config(self) -> dict:
        """What `compile` was given, serialized (Keras 3's ``compile_config``):
        a string loss or metric stays the string, as Keras keeps it; ``{}``
        before `compile`, as in Keras."""
        if not self.compiled:
            return {}
        from fastnn.saving import serialize_function

        def serialized(ids):
            out = []
            for m in ids or ():
                if isinstance(m, str):
                    out.append(m)
                elif getattr(m, "_metric_class", None) is not None:
                    out.append(m.__name__)  # a Keras metric function, by its name
                elif callable(m) and not isinstance(m, (type, _metrics.Metric)):
                    out.append(serialize_function(m))  # a user's function, by its name
                elif isinstance(m, type):
                    out.append(_metrics.serialize(m()))
                else:
                    out.append(_metrics.serialize(m))
            return out or None

        # a string as given; "crossentropy" given in a list or dict (decided or
        # not) as that string, as another loss there is written as its object
        loss = self.loss if isinstance(self.loss, str) else self._loss_auto
        return {
            "optimizer": _optimizers.serialize(self.optimizer),
            "loss": loss if loss is not None else _serialize_loss(self._loss),
            "loss_weights": _plain_loss_weights(self._loss_weights),
            "metrics": serialized(self._metric_ids),
            "weighted_metrics": serialized(self._weighted_metric_ids),
            "run_eagerly": self.run_eagerly,
            "steps_per_execution": self.steps_per_execution,
            "jit_compile": self.jit_compile,
        }

    def compile_from_config(self, config: dict) -> None:
        """`compile` with the arguments `get_compile_config` recorded.

        Raises:
            ValueError: a malformed config or an option fastnn lacks.
        """
        self._compile_from_config(config)

    def _compile_from_config(self, config: dict, metric_lists=None) -> None:
        """`compile_from_config`; `metric_lists` (``{"metrics": [...],
        "weighted_metrics": [...]}``) replaces the config's metrics
        (`clone_model` hands over copies of the original's)."""
        if not isinstance(config, dict):
            raise ValueError(f"compile_config must be a dict, got {config!r:.200}")
        optimizer = config.get("optimizer", "rmsprop")
        if isinstance(optimizer, dict):
            optimizer = _optimizers.deserialize(optimizer)
        lists = dict(metric_lists or {})
        for key in ("metrics", "weighted_metrics"):
            if key in lists:
                continue
            items = self._one_output(config.get(key), key)  # Keras's per-output forms too
            if isinstance(items, str):
                items = [items]
            if items is not None:
                if not isinstance(items, (list, tuple)):
                    raise ValueError(f"compile_config: {key} must be a list, got {items!r:.200}")
                items = [_deserialize_compiled_metric(m) for m in items]
            lists[key] = items
        self.compile(
            optimizer=optimizer,
            loss=_deserialize_loss(self._one_output(config.get("loss"), "loss")),
            loss_weights=config.get("loss_weights"),
            metrics=lists["metrics"],
            weighted_metrics=lists["weighted_metrics"],
            run_eagerly=config.get("run_eagerly", False),
            steps_per_execution=config.get("steps_per_execution", 1),
            jit_compile=config.get("jit_compile", "auto"),
        )

    # -- saving ----------------------------------------------------------------
    def export(
        self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs
    ) -> None:
        """Keras 3's ``model.export``: the inference pass as an artifact for
        serving. fastnn writes ``format="onnx"`` (opset 20): the graph
        computes what `predict` computes (Dropout and noise layers the
        identity, BatchNormalization on its moving statistics), with a
        ``batch`` axis of any length, the input named after the model's
        Input and the output ``"output_0"``; run it with ONNX Runtime. The
        file is replaced atomically. Needs the `onnx` package.

        Args:
            filepath: the file to write (``"model.onnx"``).
            format: must be ``"onnx"``; Keras's default
                ``"tf_saved_model"`` and its other formats need TensorFlow
                or another backend (a ValueError says so).
            verbose: print Keras's "Saved artifact at ..." (None: yes).
            input_signature: must be None (the model's input shape).
            **kwargs: ``opset_version`` (20 or newer).

        Raises:
            ValueError: another format, an unbuilt model, a bad option.
            NotImplementedError: several outputs.
            ImportError: the onnx package is missing.
        """
        from fastnn import _onnx_export as _export

        _export.check_format(format)
        opset_version = kwargs.pop("opset_version", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments for export: {sorted(kwargs)}")
        _export.export_onnx(self, filepath, verbose, input_signature, opset_version)

    def save(self, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
        """Saves the model as a `.keras` archive (Keras 3's layout), or as a
        legacy HDF5 file for a name ending in `.h5` or `.hdf5`, as Keras 3.

        The zip holds ``config.json`` (`get_config` plus ``compile_config``),
        ``metadata.json`` and ``model.weights.npz`` with every weight under
        Keras's names (``layers/dense/vars/0`` ...) and the optimizer's state
        under ``optimizer/vars/i`` in Keras's order (iterations, learning
        rate, the moving averages with `use_ema`, then each slot for every
        variable), so `load_model` resumes training exactly. When h5py is
        installed it also holds ``model.weights.h5``, the same arrays in the
        layout of Keras 3's own archives, so Keras's `load_model` reads the
        archive too (fastnn reads the npz). The seeds that Dropout and noise
        layers drew go to metadata.json, their configs keep ``seed: None``
        (Keras takes no 64-bit seed). A `.h5` file
        has the layout Keras 3.15 writes there (``model_config``,
        ``training_config``, ``model_weights``, ``optimizer_weights``; Keras's
        `load_model` reads it; needs h5py), with Keras's warning that the
        format is legacy. The write is atomic: a failed save leaves any
        previous file intact.

        Args:
            filepath: a path ending in `.keras`, `.h5` or `.hdf5`.
            overwrite: replace an existing file. Defaults to `True`; when
                False an existing file raises `FileExistsError` (Keras asks
                interactively instead).
            include_optimizer: for `.h5`, whether to write the compile
                arguments and the optimizer's state (Keras's keyword; a
                `.keras` archive always holds them). Defaults to `True`.

        Raises:
            ValueError: another extension, `zipped=False`, an argument Keras
                does not take (`save_format` with a name that has neither
                extension).
            ImportError: `.h5` without h5py installed.
            TypeError: an optimizer whose learning rate is a plain callable
                (it cannot be stored; use a LearningRateSchedule).
            FileExistsError: the file exists and `overwrite` is False.
        """
        import os
        import warnings

        from fastnn import saving

        path = os.fspath(filepath)
        legacy = saving.is_legacy_h5_path(path)
        include_optimizer = kwargs.pop("include_optimizer", True)
        save_format = kwargs.pop("save_format", False)
        if save_format:  # Keras 3's handling of its removed argument
            if not (legacy or (isinstance(path, str) and path.endswith(".keras"))):
                raise ValueError(
                    "The `save_format` argument is deprecated in Keras 3. Please remove this "
                    "argument and pass a file path with either `.keras` or `.h5` extension."
                    f"Received: save_format={save_format}"
                )
            warnings.warn(
                "The `save_format` argument is deprecated in Keras 3. We recommend removing "
                "this argument as it can be inferred from the file path. "
                f"Received: save_format={save_format}",
                stacklevel=2,
            )
        if kwargs:
            raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
        if zipped is False:
            raise ValueError("fastnn saves zipped `.keras` archives only (zipped=False)")
        if legacy:
            warnings.warn(saving.LEGACY_H5_SAVE_WARNING, stacklevel=2)
        elif not (isinstance(path, str) and path.endswith(".keras")):
            raise ValueError(
                "Invalid filepath extension for saving. Please add either a `.keras` extension "
                "for the native Keras format (recommended) or a `.h5` extension. "
                f"Received: filepath={path}."
            )
        self._check_savable()
        if legacy:
            saving._save_legacy_h5(self, path, overwrite, bool(include_optimizer))
        else:
            self._save_archive(path, overwrite)

    def _check_savable(self) -> None:
        if self.compiled:
            lr = self.optimizer._learning_rate
            if callable(lr) and not isinstance(lr, _schedules().LearningRateSchedule):
                raise TypeError(
                    "Cannot save an optimizer whose learning_rate is a Python callable "
                    "(its config cannot be stored); use a "
                    "fastnn.optimizers.schedules.LearningRateSchedule or a number, or "
                    "save_weights()"
                )

    def _save_archive(self, path, overwrite: bool = True, keras_h5: bool = True) -> None:
        """The `.keras` archive: config.json as Keras reads it, the drawn
        seeds in metadata.json, the weights as model.weights.npz and (with
        `keras_h5`, when h5py is installed) as Keras's model.weights.h5."""
        from fastnn import saving

        seeds = self._drawn_seeds()
        saving.write_archive(
            path,
            self._serialized(),
            self._state_dict(),
            metadata={saving._SEEDS_KEY: seeds} if seeds else None,
            overwrite=overwrite,
            h5_group_names=self._h5_group_names() if keras_h5 else None,
        )

    def _serialized(self) -> dict:
        """The model as Keras serializes it (`.keras` archives' config.json,
        `saving.serialize_keras_object`): its class identity and config,
        with ``build_config`` once built and ``compile_config`` once
        compiled."""
        config = self._class_identity(self.get_config())
        if self.built:
            config["build_config"] = {"input_shape": (self._batch_dim(), *self._input_shape)}
        if self.compiled:
            config["compile_config"] = self.get_compile_config()
        return config

    def _drawn_seeds(self) -> dict:
        """``{layer name: seed}`` of each Dropout or noise layer that drew
        its seed (given none): saved files keep these apart from the config,
        whose ``seed`` stays None as Keras reads it (Keras takes no 64-bit
        seed), so that a loaded model's masks and noise resume exactly."""
        if not self.built:
            return {}
        return {
            layer.name: layer._built_seed
            for layer in self._layers
            if isinstance(layer, _layers._RandomLayer)
            and layer.seed is None
            and getattr(layer, "_built_seed", None) is not None
        }

    def _h5_group_names(self) -> dict:
        """The ``name`` of each ``vars`` group of Keras's weights files for
        this model (`saving.h5_group_names`): the model, every layer of
        `layers` (a functional model's InputLayer too) and the optimizer."""
        from fastnn import saving

        return saving.h5_group_names(
            self.name,
            [(type(layer).__name__, layer.name) for layer in self.layers],
            self.optimizer.name if self.compiled else None,
        )

    def save_weights(self, filepath, overwrite: bool = True, max_shard_size=None) -> None:
        """Saves the weights (and the optimizer's state, as Keras 3 does) to a
        `.weights.h5` file in Keras 3's HDF5 layout (Keras loads it; needs
        h5py) or a `.weights.npz` file, atomically; keys as in `save`.

        Args:
            filepath: the file, ending in `.weights.h5` or `.weights.npz`.
            overwrite: replace an existing file. Defaults to `True`.
            max_shard_size: Keras's sharding; fastnn writes one file, so only
                `None` is accepted. Defaults to `None`.

        Raises:
            ValueError: the name ends in neither `.weights.h5` nor
                `.weights.npz`, the model is not built, or `max_shard_size`
                is given.
            ImportError: `.weights.h5` without h5py installed.
            FileExistsError: the file exists and `overwrite` is False.
        """
        from fastnn import saving

        if max_shard_size is not None:
            raise ValueError(
                "fastnn writes weights to one file: `max_shard_size` (sharded weights) is not "
                f"supported. Received: max_shard_size={max_shard_size!r}"
            )

        if self._net is None:
            raise ValueError(
                "the model is not built yet, so it has no weights to save: call build() "
                "or train/predict first"
            )
        saving.write_weights(
            filepath, self._state_dict(), overwrite=overwrite, group_names=self._h5_group_names()
        )

    def load_weights(self, filepath, skip_mismatch: bool = False, **kwargs) -> None:
        """Loads weights saved by `save_weights` or `save` (`.weights.h5`,
        `.weights.npz` or `.keras`); a `.weights.h5` file written by Keras 3
        for the same architecture loads too. A legacy HDF5 file (`.h5` or
        `.hdf5`: a legacy model, or tf.keras 2's `save_weights` file) gives
        its layers' weights by position, or with Keras's `by_name=True` to the
        layers of the same name (the others keep theirs); its optimizer state
        is not read, as in Keras.

        Every array is checked (names, shapes, dtypes) before any is
        written, so a failed load leaves the model unchanged. NaN or Inf
        values (a file saved after training diverged) load as saved, as in
        Keras, with a warning naming the first.

        The optimizer's state in the file (iterations, learning rate, slots)
        is restored as Keras restores it: only into an optimizer that has
        as many variables, so into a built one (after `fit`,
        `train_on_batch`, `evaluate`, `test_on_batch`, or
        ``model.optimizer.build(model.trainable_variables)``). A compiled
        model that has not trained keeps its optimizer as compiled (e.g. a
        low learning rate to fine-tune pretrained weights), with Keras's
        warning "Skipping variable loading for optimizer ...". (`load_model`
        restores the saved state always.)

        Args:
            filepath: the file.
            skip_mismatch: as Keras: layers whose weights the file holds in
                another number or shape keep theirs (one warning lists
                them) and the others load: the "reuse the trunk, new head"
                pattern. For `.weights.h5`, `.weights.npz` and `.keras`
                files a layer takes its arrays in order up to the first that
                does not fit, and the file's arrays for layers the model
                lacks are ignored; for legacy `.h5` files each weight of
                another shape is skipped (a count mismatch still raises,
                except per layer with `by_name`). Defaults to `False`: every
                weight must match.
            **kwargs: Keras's ``by_name`` (legacy files only); any other
                raises `ValueError`, as in Keras.

        Raises:
            FileNotFoundError: no such file.
            ValueError: a truncated, corrupted or foreign file, another
                architecture (the message names each key and shape), or an
                unbuilt model.
            ImportError: `.weights.h5` or `.h5` without h5py installed.
        """
        import os

        from fastnn import saving

        path = os.fspath(filepath)
        legacy = saving.is_legacy_h5_path(path) and not path.endswith(".weights.h5")
        by_name = kwargs.pop("by_name", None)
        if by_name is not None and not legacy:
            raise ValueError(
                f"`by_name` only supports loading legacy '.h5' or '.hdf5' files. Received: {path}"
            )
        if kwargs:
            raise ValueError(f"Invalid keyword arguments: {kwargs}")  # Keras's message
        if self._net is None:
            raise ValueError(
                f"Cannot load weights into model {self.name!r}: it is not built yet. Build it "
                "first (Input(shape=...) as first layer, or model.build(input_shape))."
            )
        if legacy:
            saving._load_legacy_h5_weights(
                self, path, by_name=bool(by_name), skip_mismatch=bool(skip_mismatch)
            )
            return
        weights = saving.read_weights(filepath)
        self._load_state(
            weights,
            source=repr(str(filepath)),
            load_optimizer="if_built",
            skip_mismatch=bool(skip_mismatch),
        )

    def _state_dict(self) -> dict:
        """The flat weights dict `save`/`save_weights` write."""
        from fastnn import saving

        optimizer_vars = self._optimizer_variables() if self.compiled else None
        out = saving.pack_weights(
            [(type(layer).__name__, list(layer._weights)) for layer in self._layers],
            optimizer_vars,
        )
        if self._net is not None:
            out[_NETWORK_ITERATIONS_KEY] = np.array(self._net.iterations, np.int64)
        return out

    def _optimizer_variables(self) -> List[np.ndarray]:
        """Keras's ``optimizer.variables``: iterations, the learning rate (when
        it is a number), then the slots of the trainable weights in Keras's
        order (`_slot_order`), as views, then scalar state (Nadam's
        ``u_product``)."""
        opt = self.optimizer
        lr = opt._learning_rate
        out = [np.array(opt.iterations, np.int64)]
        if not callable(lr):
            out.append(np.array(lr, np.float32))
        if self._owns_optimizer_state():  # another model's slots are not this one's
            kernel = opt._kernel
            tensors = self._net.tensors()
            for s, k in _slot_order(kernel.slot_names, self._optimizer_tensors):
                shape = tuple(tensors[k]["shape"])
                start = int(tensors[k]["offset"])
                out.append(kernel.slot(s)[start : start + math.prod(shape)].reshape(shape))
            out += opt._scalar_variables()
        return out

    def _optimizer_averages(self) -> List[np.ndarray]:
        """The optimizer's moving averages (`use_ema`) of the weights it was
        built for, in Keras's order, as views of its state."""
        values = self._optimizer_variables()
        base = 1 if callable(self.optimizer._learning_rate) else 2
        return values[base : base + len(self._optimizer_tensors)]

    def _named_optimizer_variables(self) -> list:
        """`_optimizer_variables` as `Variable`s with Keras's names and paths
        (``adam/sequential_dense_kernel_momentum``, `Optimizer._named`); the
        slots are views of the optimizer's state."""
        weights = self._tensor_weights()
        refs = [weights[k].path.replace("/", "_") for k in self._optimizer_tensors]
        return self.optimizer._named(self._optimizer_variables(), refs)

    def _tensor_weights(self) -> list:
        """The layer `Variable` of each of ``net.tensors()``, in order."""
        by_layer: Dict[int, int] = {}
        out = []
        for tensor in self._net.tensors():
            layer = self._spec_layers[tensor["layer"]]
            index = by_layer.get(tensor["layer"], 0)
            by_layer[tensor["layer"]] = index + 1
            out.append(layer.weights[index])
        return out

    def _load_state(
        self,
        weights: dict,
        source: str,
        load_optimizer=True,
        skip_mismatch: bool = False,
        warn_non_finite: bool = True,
    ) -> None:
        """Checks every array of `weights` against the model, then writes the
        layers' weights and (when compiled) the optimizer's state; NaN or Inf
        values are written as saved, with a warning naming the first (unless
        not `warn_non_finite`: a pickled copy of a model in memory).

        `load_optimizer`: True (`load_model`: the state is restored, the
        optimizer built for it), ``"if_built"`` (`load_weights`, as Keras:
        only a state with as many variables as the optimizer has now, else
        Keras's warning) or False. `skip_mismatch`: Keras's, see
        `load_weights`."""
        import warnings

        from fastnn import saving

        if self._net is None:
            raise ValueError(
                f"Cannot load weights from {source} into model {self.name!r}: it is not built "
                "yet. Build it first (Input(shape=...) as first layer, or model.build(shape))."
            )
        failures = None
        try:
            if skip_mismatch:
                per_layer, failures = saving._fitting_weights(weights, self._layers)
                optimizer_vars = saving._optimizer_arrays(weights)
            else:
                layer_specs = [
                    (type(layer).__name__, [w.shape for w in layer._weights])
                    for layer in self._layers
                ]
                per_layer, optimizer_vars = saving.unpack_weights(weights, layer_specs)
            checked = [  # NaN or Inf load as saved (a diverged run's file), as in Keras
                _layers._checked_weights(
                    layer._weights[: len(arrays)], arrays, f"layer {layer.name!r}", finite=False
                )
                for layer, arrays in zip(self._layers, per_layer)
            ]
        except (ValueError, TypeError) as e:
            raise type(e)(f"Cannot load {source} into model {self.name!r}: {e}") from None
        non_finite = _first_non_finite(self._layers, checked)
        plan = None
        if load_optimizer and self.compiled and optimizer_vars:
            plan = self._optimizer_restore_plan(
                optimizer_vars, source, if_built=load_optimizer == "if_built", failures=failures
            )
            if isinstance(plan, str):
                warnings.warn(plan, stacklevel=3)
                plan = None
        net_iterations = weights.get(_NETWORK_ITERATIONS_KEY)
        if net_iterations is not None:
            net_iterations = _scalar_count(net_iterations, f"{source}: network iterations")
        # Everything is valid: write.
        for layer, arrays in zip(self._layers, checked):
            for view, value in zip(layer._weights, arrays):
                view[...] = value
        if plan is not None:
            self._apply_optimizer_plan(plan)
            if non_finite is None:
                non_finite = plan["non_finite"]
        if net_iterations is not None:
            self._net.iterations = net_iterations
        if failures:
            warnings.warn(saving._loading_failures_message(failures), stacklevel=3)
        if non_finite is not None and warn_non_finite:
            warnings.warn(
                f"{source} holds NaN or Inf values (saved after training diverged?), first in "
                f"{non_finite}; they are loaded as saved, as Keras loads them: model "
                f"{self.name!r} will predict NaN.",
                stacklevel=3,
            )

    def _optimizer_is_built(self) -> bool:
        """Keras's ``model.optimizer.built`` for this model: built for its
        weights by `fit`, `train_on_batch`, `evaluate`, `test_on_batch`, or
        ``optimizer.build(model.trainable_variables)``."""
        if self._owns_optimizer_state():
            return True
        opt = self.optimizer
        built_on = getattr(opt, "_variables_list", None)
        if getattr(opt, "_kernel", None) is None or not built_on:
            return False

        def spans(arrays):
            return [(a.__array_interface__["data"][0], a.shape) for a in arrays]

        return spans(built_on) == spans(self.trainable_weights)

    def _optimizer_restore_plan(
        self, variables: List[np.ndarray], source: str, if_built=False, failures=None
    ):
        """Validates a saved optimizer state: returns what to write, or a
        warning message (str) when it does not fit the optimizer: Keras's
        count check (BaseOptimizer.load_own_variables), which with
        `if_built` compares with the variables the optimizer has now (an
        unbuilt one has only iterations and the learning rate). With
        `failures` (a list: `skip_mismatch`), a slot of another shape ends
        the plan there, as Keras's assignments stop, and is listed."""
        from fastnn import saving

        opt = self._usable_optimizer()  # before any weight is written
        has_lr = not callable(opt._learning_rate)
        base = 2 if has_lr else 1
        slot_names = _slot_names(opt)
        shapes = [tuple(t["shape"]) for t in self._net.tensors()]
        if self._optimizer_net is self._net:
            trainable = self._optimizer_tensors  # the set the built optimizer has
        else:
            trainable = self._trainable_tensors()  # the set it will be built with
        scalars = len(opt._scalar_variables())
        full = base + len(slot_names) * len(trainable) + scalars
        built = not if_built or self._optimizer_is_built()  # (load_model builds it)
        has = full if built else base
        if len(variables) not in ((has,) if if_built else (base, full)):
            return (  # Keras's words, to the final space
                f"Skipping variable loading for optimizer '{opt.name}', because it has {has} "
                f"variables whereas the saved optimizer has {len(variables)} variables. "
            )
        iterations = _scalar_count(variables[0], f"{source}: optimizer iterations")
        lr = None
        if has_lr:
            value = np.asarray(variables[1])
            if value.shape != () or value.dtype.kind not in "biuf" or not np.isfinite(value):
                raise ValueError(f"{source}: the saved learning rate {value!r} is not a number")
            value = float(value)
            if value < 0:
                raise ValueError(f"{source}: the saved learning rate {value} is negative")
            # The file keeps float32 (as Keras); keep the exact value when it agrees.
            if np.float32(opt._learning_rate) != np.float32(value):
                lr = value
        slots = {}  # (slot, tensor) -> array
        partial = False
        non_finite = None
        if len(variables) == full:
            for k, (s, t) in enumerate(_slot_order(slot_names, trainable), start=base):
                arr = np.asarray(variables[k])
                if arr.shape != shapes[t] and failures is not None:
                    named = (
                        self._named_optimizer_variables() if self._owns_optimizer_state() else []
                    )
                    target = named[k] if k < len(named) else None
                    message = saving._assign_mismatch(target, arr, f"optimizer/vars/{k}", shapes[t])
                    failures.append((opt, message))
                    partial = True
                    break
                if arr.shape != shapes[t] or arr.dtype.kind not in "biuf":
                    raise ValueError(
                        f"{source}: optimizer/vars/{k} ({slot_names[s]} slot) has shape "
                        f"{arr.shape} and dtype {arr.dtype}; the model expects {shapes[t]} float32"
                    )
                if non_finite is None and not np.isfinite(arr).all():
                    # loaded as saved, as the weights are (`_load_state` warns)
                    non_finite = f"the optimizer's {slot_names[s]} slot optimizer/vars/{k}"
                slots[(s, t)] = arr
            # Scalar state (Nadam's u_product): checked, then recomputed from
            # iterations (fastnn derives it from the step number).
            for k in range(full - scalars, full - scalars * partial):
                value = np.asarray(variables[k])
                if value.shape != () or value.dtype.kind not in "biuf" or not np.isfinite(value):
                    raise ValueError(f"{source}: optimizer/vars/{k} {value!r} is not a number")
        return {
            "iterations": iterations,
            "learning_rate": lr,
            "slots": slots,
            # an unbuilt optimizer takes iterations and learning rate only (Keras)
            "build": built,
            "partial": partial,
            "non_finite": non_finite,  # the first slot holding NaN or Inf, named
        }

    def _apply_optimizer_plan(self, plan: dict) -> None:
        opt = self.optimizer
        if plan["learning_rate"] is not None:
            opt.learning_rate = plan["learning_rate"]
        if not plan["build"]:
            opt.iterations = plan["iterations"]
            return
        # The file holds the optimizer's variables: it is built, as Keras's is
        # after loading (summary counts it), with the saved slots or afresh.
        self._ensure_optimizer_built()
        kernel = opt._kernel
        if not plan["partial"]:  # (Keras keeps the values of those it did not reach)
            kernel.reset()  # frozen weights' slots are not in the file: they start afresh
        tensors = self._net.tensors()
        for (s, k), arr in plan["slots"].items():
            start = int(tensors[k]["offset"])
            kernel.slot(s)[start : start + math.prod(tensors[k]["shape"])] = arr.reshape(-1)
        if plan["slots"]:  # a loaded z is kept (schedule-free AdamW; no-op for the rest)
            kernel.copy_z_pending = False
        opt.iterations = plan["iterations"]


def _check_network_size(input_shape, specs) -> None:
    """Refuses what the engine cannot address (2**56 floats per input row or
    per kernel) with a ValueError, before a size reaches C++'s int64."""
    limit = 2**56
    width = math.prod(input_shape)
    if width > limit:
        raise ValueError(
            f"the model's input has {width} features per sample; fastnn supports at most 2**56"
        )
    for layer, spec in specs:
        units = spec.get("units")
        if units is not None:
            if width * units > limit:
                raise ValueError(
                    f"layer {layer.name!r} would hold {width} x {units} weights; fastnn "
                    "supports at most 2**56 per kernel"
                )
            width = units


def _memory_limit() -> Optional[int]:
    """Bytes this process can ever hold: the machine's memory and swap, or
    its cgroup's limit where lower. None where unknown (not Linux)."""
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("SwapTotal:"):
                    limit += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            cgroup = f.read().strip()
        if cgroup.isdigit():
            limit = min(limit, int(cgroup))
    except OSError:
        pass
    return limit


def _check_memory(name: str, input_shape, specs) -> None:
    """Refuses with a MemoryError a network that cannot fit in this machine's
    memory and swap, before anything is allocated. Each allocation alone may
    be granted (Linux overcommits), and touching them all would then get the
    process killed instead of an error. The engine holds the weights and
    their gradients (4 bytes each) from the start, and the initializer's
    values of one kernel at a time pass through NumPy; the check counts only
    those, so it never refuses a network that fits."""
    limit = _memory_limit()
    if limit is None:
        return
    width, params, largest = math.prod(input_shape), 0, 0
    for _, spec in specs:
        units = spec.get("units")
        if units is not None:
            params += width * units + (units if spec.get("use_bias") else 0)
            largest = max(largest, width * units)
            width = units
    need = 8 * params + 4 * largest
    if need > limit:
        raise MemoryError(
            f"model {name!r} is too large for this machine's memory: it needs at least "
            f"{_readable_memory_size(need)} ({params} parameters: 4 bytes each for the weights "
            f"and as much for their gradients), more than the "
            f"{_readable_memory_size(limit)} of memory and swap there is "
            f"({_largest_kernel(input_shape, specs)})"
        )


# Layers that may come before a model's Flatten: they take samples of any shape.
_ANY_SHAPE_BEFORE_FLATTEN = (_layers.Rescaling, _layers.Identity, _layers.ActivityRegularization)

# -- fit helpers ----------------------------------------------------------------
# Layers the engine does not run: a reshape, the inputs' normalization and
# rescaling, and Identity.
_PREPROCESSING = (
    _layers.Flatten,
    _layers.Reshape,
    _layers.Normalization,
    _layers.Rescaling,
    _layers.Identity,
)


def _largest_kernel(input_shape, specs) -> str:
    """Which layer holds the most weights, for an out-of-memory message."""
    width, best = math.prod(input_shape), (0, None, 0, 0)
    for layer, spec in specs:
        units = spec.get("units")
        if units is not None:
            best = max(best, (width * units, layer.name, width, units), key=lambda b: b[0])
            width = units
    return f"its largest layer, {best[1]!r}, holds {best[2]} x {best[3]} weights"


def _has_layers(layers) -> bool:
    """Whether a model of `layers` is built once its input shape is known:
    when it has a layer (one of Flatten, Normalization and Rescaling only, which
    Python applies to the inputs, gives the engine a network without layers:
    the identity)."""
    return bool(layers)


def _warn_softmax_over_one_unit(layers, output_shapes) -> None:
    """Keras's warning for a softmax over an axis of size 1 (a classic mistake
    for a binary output: the result is always 1, the loss never moves)."""
    for layer, shape in zip(layers, output_shapes):
        activation = getattr(layer, "activation", None)
        if getattr(activation, "__name__", None) == "softmax" and shape and shape[-1] == 1:
            warnings.warn(
                f"You are using a softmax over axis -1 of a tensor of shape {(None, *shape)} "
                f"(the output of layer {layer.name!r}). This axis has size 1. The softmax "
                "operation will always return the value 1, which is likely not what you "
                "intended. Did you mean to use a sigmoid instead?",
                UserWarning,
                stacklevel=3,
            )


def _warn_categorical_over_one_output(loss_kernel: str, width: int) -> None:
    """Keras's warning for categorical cross-entropy over one output (its
    loss is 0 whatever the model does)."""
    if width == 1 and loss_kernel in ("categorical_crossentropy", "categorical_focal_crossentropy"):
        warnings.warn(
            f"In loss {loss_kernel}, expected y_pred.shape to be (batch_size, num_classes) "
            f"with num_classes > 1. Received: y_pred.shape=(None, 1). Consider using "
            "'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=4,
        )


class _ArgumentError(ValueError, TypeError):
    """An argument of the wrong type where Keras and Python disagree on the
    error's type (``epochs=2.0``: Keras's TypeError "'float' object cannot be
    interpreted as an integer"; ``Sequential().add("dense")``: Keras's
    ValueError): both, so either ``except`` catches it."""


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise _ArgumentError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value}")
    return int(value)


def _check_positive_int(value, name: str) -> int:
    return _check_int(value, name, 1)


def _check_validation_freq(value):
    """`fit`'s validation_freq: an integer >= 1, or a list of the (1-based)
    epochs after which to validate, as Keras's `_should_eval` takes it."""
    if isinstance(value, list):
        for epoch in value:
            if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
                raise ValueError(
                    "validation_freq: a list names the epochs to validate after, as integers "
                    f"(1 for the first); got {epoch!r} in {value!r}"
                )
        return frozenset(int(epoch) for epoch in value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            "Expected `validation_freq` to be a list or int. Received: "
            f"validation_freq={value} of the type {type(value)}."
        )
    return _check_positive_int(value, "validation_freq")


def _validates_after(epoch: int, validation_freq) -> bool:
    """Whether epoch `epoch` (0-based) ends with a validation pass."""
    if isinstance(validation_freq, frozenset):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0


def _check_batch_size(value, name: str) -> int:
    """An integer >= 1; one above any possible row count (10**30) is the
    same single batch, so it is lowered to 2**40 for the engine's int64."""
    return min(_check_positive_int(value, name), 2**40)


def _check_steps(value, name: str) -> Optional[int]:
    """`steps_per_epoch`, `validation_steps`, `steps`: None or an integer >= 1
    (Keras 3 treats 0 as None and a negative count as "until the data ends",
    and fails on a float or string when it starts; fastnn refuses them all)."""
    return None if value is None else _check_positive_int(value, name)


def _capped_epochs(epochs: int) -> int:
    """`epochs` under `fastnn.config.set_max_epochs`'s cap, with Keras's warning."""
    from fastnn import config

    limit = config.max_epochs()
    if limit and limit < epochs:
        warnings.warn(f"Limiting epochs to {limit}", UserWarning, stacklevel=3)
        return limit
    return epochs


def _capped_steps(steps: Optional[int]) -> Optional[int]:
    """`steps` (None: all) under `fastnn.config.set_max_steps_per_epoch`'s cap,
    with Keras's warning (its EpochIterator's, for fit, validation, evaluate
    and predict alike)."""
    from fastnn import config

    limit = config.max_steps_per_epoch()
    if limit and (not steps or limit < steps):
        warnings.warn(f"Limiting steps_per_epoch to {limit}", UserWarning, stacklevel=3)
        return limit
    return steps


def _default_batch_size(rows: int, steps: Optional[int]) -> int:
    """Keras 3's batch size for arrays when none is given: enough for `steps`
    batches to cover the rows, else 32."""
    return max(1, -(-rows // steps)) if steps else 32


def _warn_ran_out(
    what: str, steps: int, ran: int, batches: int, batch_size: int, epoch: bool = False
) -> None:
    """Keras 3's warning when `steps` asks for more batches than remain."""
    where = (
        "an epoch continues the pass over the batches where the previous one stopped, "
        "and a new pass starts after the last batch"
        if epoch
        else "every call starts from the first batch"
    )
    warnings.warn(
        f"Your input ran out of data; interrupting {what}. It ran {ran} of the {steps} "
        f"steps asked for: the arrays hold {batches} batches of up to {batch_size} samples, "
        f"and {where} (as in Keras). Make sure that your data can generate at least "
        "`steps_per_epoch * epochs` batches.",
        UserWarning,
        stacklevel=3,
    )


def _check_steps_per_execution(value) -> int:
    """compile's `steps_per_execution`: an integer >= 1 (Keras 3 fails on
    others when training starts: TypeError for a non-integer, ValueError
    for 0)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"`steps_per_execution` must be an integer >= 1. "
            f"Received: steps_per_execution={value!r}"
        )
    if value < 1:
        raise ValueError(
            f"`steps_per_execution` must be an integer >= 1. Received: steps_per_execution={value}"
        )
    return int(value)


def _lender(layer, model):
    """The other model whose buffer holds `layer`'s weights (the first one
    that built it, while the layer is still in it), or None."""
    if not layer._weights:
        return None
    ref = getattr(layer, "_owner", None)
    owner = ref() if ref is not None else None
    if owner is None or owner is model or layer not in owner._layers or owner._net is None:
        return None
    return owner


def _check_not_shared_elsewhere(layer, model, old, values) -> None:
    """A layer whose weights another live model still runs keeps their
    shapes: it is not redrawn for `model`'s other input."""
    for other in list(getattr(layer, "_models", ())):
        if other is not model and other._net is not None and layer in other._layers:
            held = [tuple(w.shape) for w in old]
            here = [tuple(v.shape) for v in values]
            raise ValueError(
                f"layer {layer.name!r} is shared with model {other.name!r}, where its weights "
                f"have shapes {held}; its input here would give {here}"
            )


def _check_borrowed_shapes(layer, lender, views) -> None:
    """A shared layer must have the same weight shapes in every model."""
    held = [tuple(w.shape) for w in layer._weights]
    here = [tuple(v.shape) for v in views]
    if held != here:
        raise ValueError(
            f"layer {layer.name!r} is shared with model {lender.name!r}, where its weights have "
            f"shapes {held}; its input here would give {here}"
        )


class _TrainingLock:
    """A model's training lock: one fit / train_on_batch at a time across
    threads, while the thread running one may start another from its
    callbacks (a callback's `train_on_batch`), as Keras allows. `locked()`
    says whether any is running."""

    def __init__(self):
        self._lock = threading.RLock()
        self._depth = 0  # nested calls of the owning thread
        self.owner = None  # the thread running them

    def acquire(self, blocking: bool = True) -> bool:
        acquired = self._lock.acquire(blocking)
        if acquired:
            self._depth += 1
            self.owner = threading.get_ident()
        return acquired

    def release(self) -> None:
        self._depth -= 1
        self._lock.release()

    def locked(self) -> bool:
        return self._depth > 0


class _TrackedMetrics:
    """An entry of `Sequential.metrics`: Keras 3's loss tracker (a `Mean`
    named "loss") or its `CompileMetrics` ("compile_metrics", with the
    compiled metrics in `metrics`), reading the model's last run."""

    def __init__(self, model: Sequential, name: str, metrics: Sequence = ()):
        self._model = model
        self.name = name
        self.metrics = list(metrics)

    def result(self):
        """The loss (a float), or ``{metric name: value}`` for compile_metrics
        (each from its metric object, as `get_metrics_result`)."""
        if not self.metrics:
            return self._model._metrics_state.get(self.name, 0.0)
        return {m.name: self._model._metric_result(m) for m in self.metrics}

    def reset_state(self) -> None:
        if not self.metrics:
            state = dict(self._model._metrics_state)
            state.pop(self.name, None)
            self._model._metrics_state = state
        for metric in self.metrics:
            self._model._host_copy(metric).reset_state()

    def __repr__(self) -> str:
        kind = "CompileMetrics" if self.metrics else "Mean"
        return f"<{kind} name={self.name}>"


def _single_structures(
    x, y=None, sample_weight=None, input_name=None, sample_ndim=None, output_key=None
):
    """Keras reads a list or tuple of arrays as one array per model input
    (or output); fastnn models have one of each, so a one-element list of a
    batched array is that array, as Keras unwraps it: ``predict([x])``,
    ``fit([x], [y])``. A list of rows (plain numbers, or one-sample arrays)
    stays data, as before, and so does a list holding one sample of a model
    whose samples have `sample_ndim` axes (``predict([image])``). A dict of
    inputs by name, ``{input_name: x}``, is `x` (Keras's error when that name
    is missing); so is a dict of targets (and of sample weights) keyed by
    `output_key`, the key of a model's one output given as a dict."""
    x = _densified(x, "x")  # (a SciPy dok_matrix is a dict too)
    if isinstance(x, dict):
        if input_name is None:
            raise ValueError(
                f"x is a dict (keys {list(x)[:8]}), but this model's input has no name to look "
                "up: pass the array itself (a dict of inputs is keyed by the name of the "
                "model's Input(name=...))"
            )
        if input_name not in x:
            expected = [] if input_name is None else [input_name]
            raise ValueError(
                f'Missing data for input "{input_name}". You passed a data dictionary with '
                f"keys {list(x)}. Expected the following keys: {expected}"
            )
        x = x[input_name]
    if output_key is not None:
        y = _output_entry(y, output_key, "y")
        sample_weight = _output_entry(sample_weight, output_key, "sample_weight")

    def unwrap(value, rows):
        if not isinstance(value, (list, tuple)) or len(value) != 1:
            return value
        ndim = getattr(value[0], "ndim", 0)
        if ndim >= 2 or (ndim == 1 and rows is not None and rows > 1 and len(value[0]) == rows):
            return value[0]
        return value

    if (
        isinstance(x, (list, tuple))
        and len(x) == 1
        and sample_ndim is not None
        and getattr(x[0], "ndim", 0) == sample_ndim
    ):
        pass  # one sample in a list: data
    else:
        x = unwrap(x, None)
    x = _series_column(_densified(plain_tensor(x), "x"), "x")  # (also inside a list of one)
    rows = len(x) if hasattr(x, "__len__") and getattr(x, "ndim", 1) >= 1 else None
    y = _frame_values(_series_column(_densified(plain_tensor(unwrap(y, rows)), "y"), "y"), "y")
    return x, y, _densified(plain_tensor(unwrap(sample_weight, rows)), "sample_weight")


def _output_entry(value, key: str, what: str):
    """`value` (targets or sample weights) of a model whose one output is
    ``{key: tensor}``: a dict's entry for `key`, as Keras's loss matches it
    (its error when the key is missing); anything else as it is."""
    if not isinstance(value, dict):
        return value
    if key not in value:
        raise ValueError(
            f"{what} is a dict with keys {list(value)[:8]}, but the model's output is keyed "
            f"{key!r} (its `outputs` dict): pass {{{key!r}: array}} or the array itself"
        )
    return value[key]


def _series_column(value, what: str):
    """A pandas Series as the ``(n, 1)`` column Keras's pandas adapter makes
    of it (``PandasSeriesSliceable``), so that metric functions see the
    targets Keras's see (``y = np.log1p(df.SalePrice)``); anything else as
    it is. Objects and categories are read as numbers, as a data frame's
    columns (`_column_numbers`)."""
    if type(value).__name__ != "Series" or not type(value).__module__.startswith("pandas"):
        return value
    if getattr(value.dtype, "kind", "O") not in "biuf":
        return np.expand_dims(_column_numbers(value, value.name, what), -1)
    return np.expand_dims(value.to_numpy(), -1)


def _densified(value, what: str):
    """A SciPy sparse matrix or array (TF-IDF features, `OneHotEncoder`'s
    output) as a dense NumPy array, as Keras's torch backend densifies it
    (batch by batch there, once here: the engine gathers batches from one
    dense array); floats as float32, which the engine computes in."""
    if not type(value).__module__.startswith("scipy.sparse") or not hasattr(value, "toarray"):
        return value
    if value.dtype.kind == "f":
        value = value.astype(np.float32, copy=False)
    try:
        return value.toarray()
    except MemoryError:
        nbytes = math.prod(value.shape) * value.dtype.itemsize
        raise MemoryError(
            f"{what} is a SciPy sparse matrix of shape {value.shape}; fastnn trains on dense "
            f"arrays, and densifying it needs {nbytes / 2**30:.1f} GiB: reduce its width (e.g. "
            "max_features of the vectorizer) or train on fewer rows at a time"
        ) from None


def _refuse_batch_source(x, what: str) -> None:
    """A clear error for the batch sources fastnn does not read here: a
    torch Dataset anywhere (Keras's "Unrecognized data type"; its items are
    samples, which a DataLoader batches), a tf.data Dataset or another
    iterable anywhere, and a generator, PyDataset or DataLoader where only
    arrays go (`train_on_batch`, inside a list or a validation tuple). `fit`,
    `evaluate` and `predict` take a generator, a PyDataset or a torch
    DataLoader as `x` (see fastnn._batch_sources)."""
    if x is None or isinstance(x, (list, tuple, dict, str, np.ndarray)):
        return
    if is_torch_dataset(x):
        raise ValueError(
            f"{what}: Unrecognized data type: x={x} (of type {type(x)}). A torch Dataset "
            "holds samples, not batches: wrap it in a DataLoader (e.g. "
            "torch.utils.data.DataLoader(dataset, batch_size=32)), which fit, evaluate and "
            "predict read as Keras does, or pass its tensors as arrays (x, y)"
        )
    if hasattr(x, "shape") or hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return  # array-like (torch tensors, pandas frames ...)
    if hasattr(x, "__iter__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__")):
        raise ValueError(
            f"{what}: fastnn takes the data as arrays (x, y) here; got a {type(x).__name__}, "
            "which yields batches. fit, evaluate and predict take a Python generator, a "
            "PyDataset or a torch DataLoader as `x` (validation_data too); a tf.data Dataset "
            "is not supported: gather its batches into arrays (np.concatenate) and pass those."
        )


def _check_verbose(verbose) -> int:
    """Keras's verbose as an integer: "auto" is 1, None is 0 (silent), a bool
    is 0 or 1, a whole number is itself (``2.0`` is 2). As Keras's
    ProgbarLogger, 1 draws the bar, 2 prints a line at the end, and any other
    whole number (3, -1) draws nothing while fit still prints its "Epoch
    i/n" lines.

    Raises:
        ValueError: another string, or a number that is not whole (1.5,
            NaN): Keras would print nothing but fit's "Epoch i/n" lines for
            them, and fastnn names the mistake instead.
    """
    if verbose is None:
        return 0
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_, numbers.Integral)):
        return int(verbose)
    if isinstance(verbose, numbers.Real) and math.isfinite(verbose) and verbose == int(verbose):
        return int(verbose)
    raise ValueError(
        "`verbose` must be 'auto', None or a whole number (0 silent, 1 progress bar, 2 one "
        f"line per epoch). Received: verbose={verbose!r}"
    )


def _check_split(split) -> float:
    try:
        value = float(split)
    except (TypeError, ValueError):
        raise ValueError(
            f"`validation_split` must be a float in [0, 1). Received: validation_split={split!r}"
        ) from None
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"`validation_split` must be between 0 and 1 (excluded). "
            f"Received: validation_split={split}"
        )
    return value


def _train_validation_split(x, y, sample_weight, split: float):
    """Keras 3's split: the last ``n - floor(n * (1 - split))`` rows validate,
    cut before any shuffling."""
    x, y = np.asarray(_frame_values(x)), np.asarray(_frame_values(y, "y"))
    for name, arr in (("x", x), ("y", y)):
        if arr.ndim == 0:
            raise ValueError(f"{name} must have a batch axis, got shape {arr.shape}")
    n = len(x)
    if sample_weight is not None and np.shape(sample_weight) not in ((n,), (n, 1)):
        # checked here: sliced, a wrong length would be blamed on the validation part
        raise ValueError(f"sample_weight must have shape ({n},), got {np.shape(sample_weight)}")
    split_at = int(math.floor(n * (1.0 - split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a "
            f"validation and training set as specified by `validation_split={split}`. Either "
            "provide more data, or a different value for the `validation_split` argument."
        )
    if len(y) != n:
        raise ValueError(
            f"x and y must have the same number of samples, got x with {n} and y with {len(y)}"
        )
    train_w = val_w = None
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        train_w, val_w = sample_weight[:split_at], sample_weight[split_at:]
    return (x[:split_at], y[:split_at], train_w), (x[split_at:], y[split_at:], val_w)


def _flat_targets(y, output_shape: tuple):
    """`y` of shape ``(n, *output_shape)`` as the engine's flat rows ``(n,
    prod(output_shape))``; any other shape as it is (refused with the
    engine's message)."""
    array = np.asarray(plain_tensor(y))
    if array.shape[1:] != tuple(output_shape):
        return y
    return array.reshape(array.shape[0], -1)


def _may_overflow_float32(value) -> bool:
    """Whether casting `value` to float32 may overflow: a float array wider
    than float32, or anything not already an array (a list, a tensor-like);
    float32, integer and bool arrays cannot, and skip the guard's cost."""
    if value is None:
        return False
    dtype = getattr(value, "dtype", None)
    if not isinstance(value, np.ndarray) or dtype is None:
        return True
    return dtype.kind == "f" and dtype.itemsize > 4


@contextlib.contextmanager
def _beyond_float32_refused(**arrays):
    """Runs the float32 cast of `arrays` (by name): a finite value beyond
    float32's range (a float64 1e300, which the cast makes Inf) is a
    ValueError naming it and where it is, rather than NumPy's overflow
    warning and then "contains Inf" about data that holds none. Keras casts
    it to inf and trains to an inf or NaN loss; fastnn refuses Inf in its
    inputs. Costs about a microsecond (NumPy's errstate), so callers use it
    only where `_may_overflow_float32` says the cast can overflow."""
    try:
        with np.errstate(over="raise"):
            yield
    except FloatingPointError:
        for name, value in arrays.items():
            a = np.asarray(value) if value is not None else None
            if a is None or a.dtype.kind != "f":
                continue
            with np.errstate(over="ignore"):
                beyond = np.isinf(a.astype(np.float32)) & np.isfinite(a)
            if beyond.any():
                raise _beyond_float32_error(name, a, int(np.flatnonzero(beyond)[0])) from None
        raise


def _beyond_float32_error(name: str, array: np.ndarray, flat_index: int) -> ValueError:
    """The error for `array`'s value at `flat_index`, finite but beyond
    float32's range (Inf once cast)."""
    largest = float(np.finfo(np.float32).max)
    value = array.reshape(-1)[flat_index]
    at = (
        f"row {flat_index // array.shape[1]}, column {flat_index % array.shape[1]}"
        if array.ndim == 2
        else f"index {flat_index}"
    )
    return ValueError(
        f"{name} holds {value} at {at}, which exceeds float32's range (largest "
        f"{largest:.8g}): fastnn computes in float32, where it would be Inf"
    )


def _first_ragged(value, path=()):
    """``(path, first shape, other shape)``: where the nested list `value`
    is ragged (the first item whose shape differs from its first sibling's,
    by index path), or None where it is not."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    shapes = []
    for i, item in enumerate(value):
        try:
            shape = np.shape(item)
        except ValueError:  # ragged inside
            return _first_ragged(item, path + (i,))
        if shapes and shape != shapes[0]:
            return path + (i,), shapes[0], shape
        shapes.append(shape)
    return None


def _check_not_ragged(value, name: str) -> None:
    """A ValueError naming the first row of a ragged nested list (NumPy
    said "setting an array element with a sequence ... inhomogeneous")."""
    if not isinstance(value, (list, tuple)):
        return
    try:
        np.asarray(value)  # (the usual case: the walk below only for a refused list)
        return
    except ValueError:
        pass
    found = _first_ragged(value)
    if found is None:
        return
    path, first, other = found
    where = "".join(f"[{i}]" for i in path)
    sibling = "".join(f"[{i}]" for i in path[:-1]) + "[0]"
    raise ValueError(
        f"{name} is a ragged nested list: {name}{where} has shape {other}, where "
        f"{name}{sibling} has shape {first}; every row must have the same length (pad the "
        "rows, e.g. with fastnn.utils.pad_sequences, or pass an array)"
    )


def _squeeze_sample_weight(sample_weight):
    """Keras 3 takes sample weights of shape ``(n, 1)`` as ``(n,)``."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.ndim == 2 and weights.shape[1] == 1:
        return weights[:, 0]
    return sample_weight


def _unpack_validation(validation_data, input_name=None, sample_ndim=None, output_key=None):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError(
            "`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
            f"val_sample_weight). Received: {type(validation_data).__name__}"
        )
    x, y, *rest = validation_data
    return _single_structures(x, y, rest[0] if rest else None, input_name, sample_ndim, output_key)


def _merge_class_weight(y, sample_weight, class_weight):
    """Keras's class_weight: each sample weighs class_weight[its class] (1 when
    the class is not listed); the class of a one-hot row is its argmax."""
    if class_weight is None:
        return sample_weight
    if sample_weight is not None:
        raise ValueError("You cannot use `class_weight` and `sample_weight` at the same time.")
    if not isinstance(class_weight, dict):
        raise ValueError(f"`class_weight` must be a dict, got {type(class_weight).__name__}")
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    if labels.dtype.kind not in "biuf":
        raise TypeError(f"y must hold numbers to apply class_weight, got dtype {labels.dtype}")
    labels = np.round(labels).astype(np.int64)
    keys, values = _class_weight_items(class_weight)
    weights = np.ones(labels.shape, np.float32)
    if len(keys):
        order = np.argsort(keys)
        keys, values = keys[order], values[order]
        pos = np.clip(np.searchsorted(keys, labels), 0, len(keys) - 1)
        hit = keys[pos] == labels
        weights[hit] = values[pos[hit]]
    return weights


def _class_weight_items(class_weight: dict):
    """class_weight's (class ids, weights) as arrays. A key must be a whole
    number (Keras looks each label up as an int: 0 and 0.0 match, 0.5 never
    does) and a weight a finite float32 number; a ValueError naming
    `class_weight` otherwise. Ids beyond int64 can match no label: dropped."""
    import numbers

    keys, values = [], []
    for key, value in class_weight.items():
        whole = isinstance(key, numbers.Real) and math.isfinite(key) and key == int(key)
        if not whole:
            raise ValueError(
                f"`class_weight` keys must be class ids (integers). Received: key {key!r}"
            )
        weight = math.nan
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            try:
                weight = float(value)
            except OverflowError:  # an integer too large for a float
                weight = math.inf
        if not abs(weight) <= float(np.finfo(np.float32).max):
            raise ValueError(
                "`class_weight` values must be finite float32 numbers. "
                f"Received: class_weight[{key!r}] = {value!r}"
            )
        if -(2**63) <= int(key) < 2**63:
            keys.append(int(key))
            values.append(weight)
    return np.array(keys, dtype=np.int64), np.array(values, dtype=np.float64)


def _learning_rates(optimizer, count: int) -> np.ndarray:
    """The learning rate of each of the next `count` steps (a schedule depends
    on the step number only, so a chunk of steps can run in C++ at once)."""
    from fastnn.optimizers import schedules as _schedules

    lr = optimizer._learning_rate
    if isinstance(lr, _schedules.LearningRateSchedule):
        start = optimizer.iterations
        from fastnn.optimizers.base import _as_float32, _check_scheduled_rate, _schedule_value

        rates = np.array([_schedule_value(lr(start + i)) for i in range(count)], np.float64)
        bad = np.flatnonzero(~np.isfinite(rates) | (rates < 0))
        if bad.size:
            _check_scheduled_rate(float(rates[bad[0]]), start + int(bad[0]))
        # float32 values, as `optimizer.learning_rate` gives them (Keras's float32 tensors)
        what = "The learning rate schedule returned learning_rate"
        return np.array([_as_float32(rate, what) for rate in rates], np.float64)
    return np.full(count, optimizer.learning_rate, np.float64)


def _float_takes_size_one_arrays() -> bool:
    """Whether ``float(np.array([x]))`` gives a float with the NumPy in use.

    Keras's logs (``pythonify_logs``) hold ``float(value)`` where that works,
    else the value. NumPy deprecated converting an array of one element but
    one or more dimensions in 1.25 (a DeprecationWarning, hidden by default)
    and later releases refuse it (a TypeError in 2.4.6). So Keras logs
    F1Score() of a single sigmoid output as a float under older NumPy and as
    ``array([0.6], dtype=float32)`` under newer; fastnn follows the NumPy it
    runs with."""
    global _SIZE_ONE_FLOATS
    if _SIZE_ONE_FLOATS is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                float(np.ones(1, np.float32))
                _SIZE_ONE_FLOATS = True
            except TypeError:
                _SIZE_ONE_FLOATS = False
    return _SIZE_ONE_FLOATS


_SIZE_ONE_FLOATS: Optional[bool] = None


def _shuffle_seed() -> int:
    from fastnn.utils.seeding import next_seed

    return next_seed()


def _add_results(a: dict, b: dict) -> dict:
    return {
        "loss_sum": a["loss_sum"] + b["loss_sum"],
        "samples": a["samples"] + b["samples"],
        "weight_sum": a["weight_sum"] + b["weight_sum"],
        "metric_sums": [u + v for u, v in zip(a["metric_sums"], b["metric_sums"])],
        "steps": a["steps"] + b["steps"],
    }


# -- saving helpers ---------------------------------------------------------------
# Layers whose Keras call takes `training` (recorded in a functional config's nodes).
_TRAINING_KWARG = ("Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout")

# The network's own step counter (Dropout masks depend on it); not a Keras key.
_NETWORK_ITERATIONS_KEY = "fastnn/network_iterations"


def _schedules():
    from fastnn.optimizers import schedules

    return schedules


def _scalar_count(value, what: str) -> int:
    arr = np.asarray(value)
    if arr.shape != () or arr.dtype.kind not in "biuf" or not np.isfinite(arr):
        raise ValueError(f"{what} must be a scalar count, got {arr!r}")
    count = int(arr)
    if count != arr or count < 0 or count > 2**62:  # the engine counts in int64
        raise ValueError(f"{what} must be an integer in [0, 2**62], got {arr}")
    return count


def _first_non_finite(layers, per_layer) -> Optional[str]:
    """The path of the first weight holding NaN or Inf among `per_layer`
    (each layer's checked arrays, in order), or None when all are finite."""
    for layer, arrays in zip(layers, per_layer):
        for variable, array in zip(layer.weights, arrays):
            if not np.isfinite(array).all():
                return f"weight {variable.path}"
    return None


def _slot_names(optimizer) -> List[str]:
    """The optimizer's slots in Keras's order (from a size-0 C++ kernel)."""
    return list(_core.optim.Optimizer(optimizer._kernel_config(), [0, 0]).slot_names)


# The slot pairs Keras creates per weight in one add_optimizer_variables call.
def _serialize_loss(loss) -> dict:
    """Keras 3's form of a loss object (a user's subclass: its module and
    registered name, found again by them)."""
    from fastnn.saving import _class_entry

    return _class_entry(type(loss), loss.get_config(), "keras.losses")


# Keras loss config keys fastnn accepts only at their defaults.
_LOSS_KERAS_DEFAULTS = {
    "reduction": ("sum_over_batch_size", "auto", None),
    "dtype": (None, "float32"),
    "ignore_class": (None,),
    "axis": (-1,),
    "label_smoothing": (0, 0.0),
}


def _plain_loss_weights(weights):
    """`loss_weights` as JSON (NumPy values as Python numbers)."""
    if isinstance(weights, np.ndarray):
        return weights.tolist()
    if isinstance(weights, np.generic):
        return weights.item()
    return weights


def _copied_metric_ids(ids):
    """`compile`'s metrics for a clone: names and functions as they are,
    each metric object a copy of it with no state (another model's metric
    keeps its own)."""
    if ids is None:
        return None
    return [_metrics.state_copy(m) if isinstance(m, _metrics.Metric) else m for m in ids]


def _deserialize_compiled_metric(item):
    """A `compile_config` metric: a name stays one, a function is looked up
    by name (`custom_objects`, scopes, registry), a class config rebuilt."""
    from fastnn.saving import deserialize_function

    if not isinstance(item, dict):
        return item
    if item.get("class_name") == "function":
        return deserialize_function(item)
    return _metrics.deserialize(item)


def _deserialize_loss(value):
    """A loss from a compile config: a string id stays one; a Keras-style dict
    becomes a `fastnn.losses` instance."""
    if not isinstance(value, dict):
        return value
    import inspect

    from fastnn.utils.registry import registered_for

    name = value.get("class_name")
    user = registered_for(value)  # a user's class, registered or given
    if isinstance(user, type) and issubclass(user, _losses.Loss):
        return user.from_config(dict(value.get("config") or {}))
    cls = getattr(_losses, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, _losses.Loss) and cls.kernel):
        raise ValueError(f"Unknown loss class {name!r} in the compile config")
    config = dict(value.get("config") or {})
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    kwargs = {}
    for key, item in config.items():
        if key in accepted:
            kwargs[key] = item
        elif key in _LOSS_KERAS_DEFAULTS:
            if item not in _LOSS_KERAS_DEFAULTS[key]:
                raise ValueError(f"loss {name}: {key}={item!r} is not supported by fastnn")
        else:
            raise ValueError(f"Unknown key {key!r} in the config of loss {name}")
    return cls(**kwargs)


def _inbound_names(inbound) -> list:
    """The layer names a Keras 3 ``inbound_nodes`` entry reads from."""
    names = []
    for node in inbound or ():
        args = node.get("args", []) if isinstance(node, dict) else []
        for arg in args:
            history = arg.get("config", {}).get("keras_history") if isinstance(arg, dict) else None
            if not history:
                raise ValueError(f"an inbound node fastnn cannot read: {node!r:.200}")
            names.append(history[0])
    return names


def _tensor_layer_name(leaf) -> str:
    """The name of the layer whose output `leaf` is (the Input's name for an
    Input): the config's name for the tensor."""
    return leaf.name if isinstance(leaf, _layers.InputLayer) else leaf._layer.name


def _tensor_name(leaf) -> str:
    """Keras's output name of `leaf`: its layer's, or the name of the model
    called in the graph whose last layer made it."""
    if not isinstance(leaf, _layers.InputLayer):
        for model in reversed(getattr(leaf, "_called_models", ())):
            if model._layers and model._layers[-1] is leaf._layer:
                return model.name
    return _tensor_layer_name(leaf)


def _is_tensor_end(end) -> bool:
    """A config's ``[layer name, node index, tensor index]`` leaf."""
    return isinstance(end, (list, tuple)) and len(end) == 3 and isinstance(end[0], str)


def _config_outputs(ends, tensors: dict):
    """A config's ``output_layers`` as the tensors it names, read as Keras's
    functional_from_config reads them (a ``[name, node, index]`` leaf; dicts,
    lists and tuples around leaves)."""
    from fastnn import functional

    def tensor(end):
        if not _is_tensor_end(end):
            raise ValueError(f"output_layers: a malformed entry {end!r:.200}")
        if end[0] not in tensors:
            raise ValueError(
                f"output_layers names {end[0]!r}, which is not the input or a layer of the "
                f"config's chain ({list(tensors)[:8]})"
            )
        return tensors[end[0]]

    return functional.map_outputs(ends, tensor, is_leaf=_is_tensor_end)


class Model(Sequential):
    """Keras's functional model, for a single chain of layers:

    >>> from fastnn import Input, Model, layers
    >>> inputs = Input(shape=(784,))
    >>> x = layers.Dense(64, activation="relu")(inputs)
    >>> outputs = layers.Dense(10, activation="softmax")(x)
    >>> model = Model(inputs=inputs, outputs=outputs, name="mnist_model")

    Everything else is `Sequential`'s (compile, fit, save ...); as in Keras,
    `layers` starts with the InputLayer; `get_config` is Keras's functional
    layout. A file it saves loads back as a `Model` of the same layers.

    Several outputs along the chain make a feature extractor, as Keras's
    ``Model(inputs=model.inputs, outputs=[layer.output for layer in
    model.layers])``: predict (and calling the model) returns each output's
    values in the structure of `outputs` (a list for a list, a dict with
    sorted keys for a dict, a list or tuple of one unpacked, as Keras), from
    one pass through the engine. Such a model predicts, saves and loads;
    fastnn trains models with one output, so `compile` refuses it. A list
    or dict of one output is that output: ``Model(i, {"out": o})`` trains
    (a loss, targets and sample weights keyed ``"out"``, or plain), with
    Keras's log names, and predicts ``{"out": array}``.

    `inputs` given as a dict, ``Model({"feat": i}, o)``, names the input
    ``"feat"`` for data dicts (``predict({"feat": x})``) and the config's
    ``input_layers``, as Keras does; otherwise a data dict is keyed by the
    Input's name.

    Args:
        inputs: the `Input(...)` the layers were called on (or a one-element
            list of it, or a dict of one entry).
        outputs: what the last call returned, or a list, tuple or dict
            (nested as Keras allows) of tensors on one chain of layers from
            `inputs`: outputs of its layers or `inputs` itself, repeats
            allowed.
        name: Defaults to `"functional"` (numbered when reused), as Keras.
        trainable: Defaults to `True`.

    Raises:
        ValueError: an output not computed from `inputs` or not on the
            chain to the furthest one (two branches), several inputs, a
            layer called twice.
        NotImplementedError: subclassing Model (a `call` method): fastnn
            builds networks from layers only.
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if type(self) is not Model or (inputs is None and outputs is None):
            raise NotImplementedError(
                "fastnn does not support subclassed models (a Model with a `call` method): "
                "build the network with Sequential([...]) or with the functional API, "
                "Model(inputs=Input(shape=...), outputs=...)"
            )
        if kwargs:
            raise TypeError(f"Model got unexpected argument(s): {', '.join(sorted(kwargs))}")
        if name is not None:
            check_name(name)  # (before the automatic name is drawn)
        # Keras's Functional takes any value and sets `self.trainable = value`
        # unless it is None (Model(..., trainable=0) is frozen, None trains),
        # where its layers and Sequential refuse a non-bool
        trainable = True if trainable is None else bool(trainable)
        from fastnn import functional

        if isinstance(inputs, dict):
            for key, value in inputs.items():
                if isinstance(value, _layers.InputLayer) and key != value.name:
                    warnings.warn(  # Keras's words (keras/src/models/functional.py)
                        "When providing `inputs` as a dict, all keys in the dict must match the "
                        f"names of the corresponding tensors. Received key '{key}' mapping to "
                        f"value {value} which has name '{value.name}'. Change the tensor name to "
                        f"'{key}' (via `Input(..., name='{key}')`)",
                        stacklevel=2,
                    )
        layers, places = functional.chain(inputs, outputs)
        super().__init__(
            layers, name=name or _layers._unique_name("functional"), trainable=trainable
        )
        self._input_layer = layers[0]
        self._inputs_struct = inputs  # as given (a tensor or a list), for `input`
        self._outputs = outputs
        self._output_leaves = [leaf for _, leaf in functional.flatten_outputs(outputs)]
        self._output_places = places  # per leaf: 0 the input, i layer i-1's output
        single = functional.unpack_singleton(outputs)
        if isinstance(single, (list, tuple, dict)):
            self._output_structure = single  # several outputs: what predict returns
        last = self._output_leaves[places.index(max(places))]
        # the models called in the graph follow this one's `trainable`, as Keras's nested ones
        self._added_models = list(getattr(last, "_called_models", ()))
        if not self._layers:
            self.build()  # Model(inputs, inputs): the identity, as in Keras

    def get_config(self) -> dict:
        """Keras 3's functional config: ``{"name", "trainable", "layers",
        "input_layers", "output_layers"}``, each layer entry with its
        ``name`` and the ``inbound_nodes`` naming the layer it reads
        (keras/src/models/functional.py), so Keras's `from_config` and
        `model_from_json` rebuild it too."""
        from fastnn import functional

        entries = super().get_config()["layers"]
        batch = self._batch_dim()
        shapes = [(batch, *self._input_shape)]
        shapes += [None if s is None else (batch, *s) for s in self._layer_output_shapes()]
        layer_configs, previous = [], None
        for entry, shape in zip(entries, shapes):
            entry = dict(entry)
            name = entry["config"]["name"]
            entry["name"] = name
            entry["inbound_nodes"] = []
            if previous is not None:
                kwargs = {"training": False} if entry["class_name"] in _TRAINING_KWARG else {}
                tensor = {
                    "shape": previous[1],
                    "dtype": "float32",
                    "keras_history": [previous[0], 0, 0],
                }
                entry["inbound_nodes"] = [
                    {
                        "args": [{"class_name": "__keras_tensor__", "config": tensor}],
                        "kwargs": kwargs,
                    }
                ]
            layer_configs.append(entry)
            previous = (name, shape)
        return {
            "name": self.name,
            "trainable": self._trainable,
            "layers": layer_configs,
            # Keras's map of the inputs as given: {"key": [name, 0, 0]} for a dict
            "input_layers": functional.map_outputs(
                self._inputs_struct, lambda leaf: [layer_configs[0]["name"], 0, 0]
            ),
            # Keras's map of the outputs as given: [name, 0, 0] per tensor
            "output_layers": functional.map_outputs(
                self._outputs, lambda leaf: [_tensor_layer_name(leaf), 0, 0]
            ),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None) -> Model:
        """A functional Model from `get_config()`'s output, or from the config
        Keras 3 writes for a functional model whose layers form one chain
        (each layer's ``inbound_nodes`` name the layer before it).

        Its ``output_layers`` may name several layers of the chain, in a
        list, dict or nested structure, as Keras writes a model with several
        outputs.

        Raises:
            ValueError: not one chain from one input, an output that is not
                on it, an unknown layer class or key, a malformed config.
        """
        if not isinstance(config, dict) or not isinstance(config.get("layers"), (list, tuple)):
            raise ValueError(
                f"A functional model config needs a 'layers' list, got {config!r:.200}"
            )
        inputs, outputs, previous = None, None, None
        tensors = {}  # each layer's output by the name the config gives it
        for entry in config["layers"]:
            if not isinstance(entry, dict):
                raise ValueError(f"A layer entry must be a dict, got {entry!r:.200}")
            entry = dict(entry)
            entry_name = entry.pop("name", None)
            inbound = entry.pop("inbound_nodes", None)
            layer = _layers._deserialize(entry, custom_objects)
            if isinstance(layer, _layers.InputLayer):
                if inputs is not None:
                    raise ValueError("fastnn models have one input; the config has several")
                inputs = outputs = layer
            else:
                if inputs is None:
                    raise ValueError("the config's layers do not start with an InputLayer")
                if inbound is not None and _inbound_names(inbound) != [previous]:
                    raise ValueError(
                        f"layer {layer.name!r} takes {_inbound_names(inbound)}, not the output of "
                        f"{previous!r}: fastnn runs functional models that are one chain of layers"
                    )
                outputs = layer(outputs)
            previous = entry_name or layer.name
            tensors[previous] = outputs
        if inputs is None:
            raise ValueError("the config's layers do not start with an InputLayer")
        from fastnn import functional

        ends = config.get("input_layers")
        if ends is not None:
            # Keras's structure of the inputs as given: [name, node, tensor],
            # a list of one, or a dict {key: [name, node, tensor]} (whose
            # key the model's data dicts then use)
            named = functional.map_outputs(
                ends, lambda end: end[0] if _is_tensor_end(end) else None, is_leaf=_is_tensor_end
            )
            if [name for _, name in functional.flatten_outputs(named)] != [inputs.name]:
                raise ValueError(f"input_layers {ends!r:.200} is not the chain's start: one input")
            start = inputs
            inputs = functional.map_outputs(ends, lambda end: start, is_leaf=_is_tensor_end)
        ends = config.get("output_layers")
        if ends is not None:
            outputs = _config_outputs(ends, tensors)
        return Model(
            inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True)
        )

    def add(self, layer, rebuild: bool = True):
        raise AttributeError(
            "'Model' object has no attribute 'add': a functional model's layers are fixed by "
            "its inputs and outputs (as in Keras); use Sequential to add or pop layers"
        )

    def pop(self, rebuild: bool = True):
        raise AttributeError(
            "'Model' object has no attribute 'pop': a functional model's layers are fixed by "
            "its inputs and outputs (as in Keras); use Sequential to add or pop layers"
        )

    @property
    def layers(self) -> List[_layers.Layer]:
        """The InputLayer, then the layers in call order (as Keras's
        functional models list them)."""
        return [self._input_layer, *self._layers]

    @property
    def inputs(self) -> list:
        return [self._input_layer]

    @property
    def input(self):
        """The `inputs` the model was made with, as given (an `Input(...)`, or
        the list holding it), as Keras's `model.input`."""
        return self._inputs_struct

    @property
    def output(self):
        """The `outputs` the model was made with, as given, as Keras's
        `model.output`."""
        return self._outputs

    @property
    def outputs(self) -> list:
        """The output tensors, flattened in Keras's order (a dict's by sorted
        key), as Keras's `model.outputs`."""
        return list(self._output_leaves)

    @property
    def output_names(self) -> list:
        """The names of the layers that make the outputs (the Input's for the
        input itself), in the order of `outputs`, as Keras's functional
        `model.output_names`."""
        return [_tensor_name(leaf) for leaf in self._output_leaves]

    def _output_name(self) -> str:
        return self.output_names[-1]

    def compute_output_shape(self, input_shape):
        """Keras's `compute_output_shape`: the output's shape for `input_shape`
        (the batch axis first, kept as given), or the shapes of the outputs
        in the structure of `outputs` as given (dict keys sorted), as Keras's
        functional model computes them."""
        if not isinstance(self._outputs, (list, tuple, dict)):
            return super().compute_output_shape(input_shape)
        from fastnn import functional

        shape = _layers._batch_shape(input_shape, "compute_output_shape")
        self._check_input_shape(shape)
        samples = [tuple(shape[1:])]
        for layer in self._layers:
            samples.append(tuple(layer._sample_output_shape(samples[-1])))
        shapes = [(shape[0], *samples[place]) for place in self._output_places]
        return functional.pack_outputs(self._outputs, shapes)

    @property
    def output_shape(self):
        """``(None, *features)`` of the output, or a list of them (in the order of
        `outputs`) with several, as Keras's functional `output_shape`."""
        if len(self._output_leaves) == 1:
            return super().output_shape
        return [(self._batch_dim(), *self._places[place][2]) for place in self._output_places]


def clone_model(
    model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs
) -> Sequential:
    """A copy of `model` with new layers, hence new weights, as Keras 3's
    `keras.models.clone_model`: the same class, name, layers (by default
    ``layer.__class__.from_config(layer.get_config())``) and input; compiled
    with `model`'s compile arguments (a new optimizer) if `model` was compiled.
    Copy the weights with ``clone.set_weights(model.get_weights())``.

    Args:
        model: a `Sequential` or a functional `Model`.
        input_tensors: an `Input(...)` (or a one-element list of it) to build
            the clone on instead of a new one like `model`'s. Defaults to `None`.
        clone_function: ``fn(layer) -> layer`` making each new layer (not the
            Input); returning the layer itself makes the clone share it with
            `model`, as in Keras. Defaults to `None`.
        call_function: functional models only: ``fn(layer, x) -> output``
            calling each new layer, e.g. to insert a layer after it.
            Defaults to `None`.
        recursive: accepted for Keras's signature; fastnn models hold no
            inner models. Defaults to `False`.

    Raises:
        ValueError: not a fastnn model, `call_function` with a Sequential,
            `clone_function` not returning a layer, an unexpected argument.
    """
    if kwargs:
        raise ValueError(f"Unexpected keyword argument(s): {tuple(kwargs.keys())}")
    if not isinstance(model, Sequential):
        raise ValueError(
            f"Expected `model` argument to be a Sequential or functional Model instance. "
            f"Received: model={model!r:.200}"
        )
    if clone_function is None:

        def clone_function(layer):
            return layer.__class__.from_config(layer.get_config())

    if not callable(clone_function):
        raise ValueError(
            "Expected `clone_function` argument to be a callable. "
            f"Received: clone_function={clone_function!r:.200}"
        )
    functional = isinstance(model, Model)
    if call_function is not None and not functional:
        raise ValueError(
            "`call_function` argument is not supported with Sequential models. In a "
            "Sequential model, layers aren't called at model-construction time (they're "
            "merely listed). Use `call_function` with Functional models only."
        )
    if isinstance(input_tensors, (list, tuple)):
        if len(input_tensors) != 1:
            raise ValueError("Argument `input_tensors` must contain a single tensor.")
        input_tensors = input_tensors[0]
    if input_tensors is not None and not isinstance(input_tensors, _layers.InputLayer):
        raise ValueError(
            "Argument `input_tensors` must be an `Input(...)`. "
            f"Received invalid value: input_tensors={input_tensors!r:.200}"
        )
    new_layers = []
    for layer in model._layers:
        new = clone_function(layer)
        if not isinstance(new, _layers.Layer):
            raise ValueError(
                f"`clone_function` must return a fastnn layer; for {layer.name!r} it "
                f"returned {new!r:.200}"
            )
        new_layers.append(new)
    inputs = input_tensors
    if inputs is None and model._input_shape is not None:
        name = model._input_layer.name if functional else getattr(model, "_input_name", None)
        inputs = _layers.Input(shape=model._input_shape, name=name)
    if functional:
        from fastnn.functional import map_outputs

        nodes = [inputs]  # the tensor at each place of the chain
        for layer in new_layers:
            nodes.append(
                layer(nodes[-1]) if call_function is None else call_function(layer, nodes[-1])
            )
        place = {id(leaf): p for leaf, p in zip(model._output_leaves, model._output_places)}
        outputs = map_outputs(model._outputs, lambda leaf: nodes[place[id(leaf)]])
        if input_tensors is None:  # the structure of model.input (a dict's key), as Keras
            inputs = map_outputs(model._inputs_struct, lambda leaf: nodes[0])
        with warnings.catch_warnings():  # (a dict key that is not the Input's name: warned once)
            warnings.filterwarnings("ignore", "When providing `inputs` as a dict", UserWarning)
            clone = Model(inputs, outputs, name=model.name, trainable=model.trainable)
    else:
        stack = new_layers if inputs is None else [inputs, *new_layers]
        clone = Sequential(stack, name=model.name, trainable=model.trainable)
    if model.compiled:
        # the same metrics (functions as they are, metric objects copied with no state)
        clone._compile_from_config(
            model.get_compile_config(),
            {
                "metrics": _copied_metric_ids(model._metric_ids),
                "weighted_metrics": _copied_metric_ids(model._weighted_metric_ids),
            },
        )
    return clone


def model_from_json(json_string, custom_objects=None) -> Sequential:
    """A new model (fresh weights) from `to_json`'s output or Keras 3's JSON
    of a Sequential or a functional chain of fastnn's layers.

    Raises:
        ValueError: not JSON, another model class, or a config fastnn cannot
            rebuild.
    """
    import json

    try:
        config = json.loads(json_string)
    except (TypeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"model_from_json takes a JSON string: {e}") from None
    if not isinstance(config, dict):
        raise ValueError(f"model_from_json: expected a JSON object, got {config!r:.200}")
    class_name = config.get("class_name")
    if class_name not in ("Sequential", "Functional"):
        raise ValueError(
            f"model_from_json: a {class_name!r} model; fastnn builds Sequential models and "
            "functional models that are one chain of layers"
        )
    from fastnn import saving

    # as Keras's: built from build_config and compiled from compile_config
    return saving.deserialize_keras_object(config, custom_objects)


def save_model(model, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
    """`model.save(filepath, overwrite, zipped)`, as Keras 3's
    `keras.models.save_model` / `keras.saving.save_model`."""
    if not isinstance(model, Sequential):
        raise TypeError(f"save_model takes a fastnn model, got {type(model).__name__}")
    model.save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True) -> Sequential:
    """Loads a model saved by `Sequential.save` (a `.keras` archive, or a
    legacy HDF5 file).

    Rebuilds the model from ``config.json``, restores its weights, and with
    `compile` compiles it as it was and restores the optimizer's state
    (iterations, learning rate, slots), so `fit` continues exactly where the
    saved model stopped. A name ending in `.h5` or `.hdf5` is read as a
    legacy HDF5 model, as Keras 3 reads it: one Keras 3 or fastnn wrote, or
    tf.keras 2.x (its optimizer state gives the iteration count only, with
    Keras's warning); without a ``training_config`` the model is not
    compiled (Keras's warning). Needs h5py.

    Args:
        filepath: a path ending in `.keras`, `.h5` or `.hdf5`.
        custom_objects: extra layer classes by name. Defaults to `None`.
        compile: compile the model as saved. Defaults to `True`.
        safe_mode: accepted for Keras compatibility; fastnn is always safe
            (arrays load with ``allow_pickle=False``; only known classes are
            instantiated).

    Raises:
        FileNotFoundError: no such file; it is also a `ValueError`, which
            Keras 3 raises there ("File not found: filepath=...").
        ValueError: a truncated, corrupted or foreign file, a model other
            than a Sequential of fastnn's layers (a layer fastnn lacks is
            named), or weights that do not fit the architecture.
        ImportError: a `.h5` file without h5py installed.
    """
    import os

    from fastnn import saving

    name = os.fspath(filepath) if isinstance(filepath, (str, os.PathLike)) else None
    if isinstance(name, str) and name.endswith(".keras") and not os.path.exists(name):
        raise saving.ModelFileNotFoundError(
            f"File not found: filepath={name}. "
            "Please ensure the file is an accessible `.keras` zip file."
        )
    if saving.is_legacy_h5_path(name):
        if not os.path.exists(name):
            raise saving.ModelFileNotFoundError(f"File not found: filepath={name}.")
        return saving._load_legacy_h5_model(name, custom_objects, compile)
    return _load_archive(
        saving.read_archive(filepath), repr(str(filepath)), custom_objects, compile
    )


def _load_archive(contents, source, custom_objects, compile: bool, pickled: bool = False):
    """`load_model`'s model from a read `.keras` archive; `source` names it
    in errors. A pickled model's (`pickled`) config error is the one
    Keras's unpickling raises (e.g. "Could not locate function 'fn'"): its
    archive is a temporary file, which would mean nothing to the reader."""
    from fastnn import saving

    config = contents.config
    class_name = config.get("class_name")
    if class_name not in ("Sequential", "Functional"):
        raise ValueError(
            f"{source} holds a {class_name!r} model; fastnn loads Sequential models and "
            "functional models that are one chain of layers"
        )
    try:
        with saving.CustomObjectScope(custom_objects):  # compile_config's functions too
            model = _model_from_file_config(config, contents, custom_objects, compile)
    except (ValueError, TypeError) as e:
        if pickled:
            raise
        raise _rebuild_error(e, source) from None
    if model._net is not None:
        model._load_state(
            contents.weights,
            source,
            load_optimizer=bool(compile and config.get("compile_config")),
            warn_non_finite=not pickled,  # (a copy of a model in memory: silent, as Keras's)
        )
    return model


def _model_from_file_config(config, contents, custom_objects, compile: bool):
    """`load_model`'s model from the archive's config (built, compiled)."""
    from fastnn import saving

    kind = Model if config.get("class_name") == "Functional" else Sequential
    seeds = contents.metadata.get(saving._SEEDS_KEY)
    model_config = saving._config_with_seeds(config.get("config") or {}, seeds)
    with tolerating_archive_names():
        model = kind.from_config(model_config, custom_objects)
    if (
        model._net is None
        and contents.weights
        and any(k.startswith("layers/") for k in contents.weights)
    ):
        build_config = config.get("build_config") or {}
        if build_config.get("input_shape"):
            model.build(build_config["input_shape"])
    saving._keep_seeds_drawn(model, seeds)
    compile_config = config.get("compile_config") if compile else None
    if compile_config:
        _compile_file_model(model, compile_config)
    return model


def _rebuild_error(error: Exception, source: str) -> Exception:
    """`load_model`'s error for a config it cannot rebuild: `error` (a
    ValueError or TypeError) prefixed with the file; when it comes from the
    compile config (an optimizer or loss option fastnn lacks:
    Adafactor, ignore_class ...), it says that ``compile=False`` loads the model."""
    message = f"{source} has a config fastnn cannot rebuild: {error}"
    if getattr(error, "_from_compile_config", False):
        message = message.rstrip(".") + (
            f". That is in the compile config it was saved with: load_model({source}, "
            "compile=False) loads the model uncompiled, to compile again with an optimizer "
            "and loss fastnn has"
        )
    return type(error)(message)


def _compile_file_model(model, compile_config: dict) -> None:
    """`_compile_loaded` for the model `load_model` returns, which
    ``compile=False`` leaves uncompiled: its ValueError or TypeError is
    marked as the compile config's, for `_rebuild_error`."""
    try:
        _compile_loaded(model, compile_config)
    except (ValueError, TypeError) as e:
        e._from_compile_config = True
        raise


def _compile_loaded(model, compile_config: dict) -> None:
    """A loaded model compiled from its saved compile config, as Keras's
    loaders do; a model with several outputs (Keras's, compiled with a loss
    per output), which fastnn does not train, stays uncompiled with a
    warning, so that its file still loads for predict."""
    if not isinstance(compile_config, dict):
        raise ValueError(
            "its compile_config must be a dict of compile() arguments (as model."
            f"get_compile_config() gives), got {type(compile_config).__name__} "
            f"{compile_config!r:.80}"
        )
    if not model._several_outputs():
        # Keras saves compile(metrics=[None]) as given and loads the file; its
        # first evaluate or fit would refuse the None: here it is left out
        compile_config = {
            key: [m for m in value if m is not None]
            if key in ("metrics", "weighted_metrics") and isinstance(value, list)
            else value
            for key, value in compile_config.items()
        }
        model.compile_from_config(compile_config)
        return
    warnings.warn(
        f"model {model.name!r} has {len(model.outputs)} outputs and was saved compiled; fastnn "
        "trains models with one output, so it is loaded uncompiled (predict works; "
        "load_model(..., compile=False) loads it without this warning)",
        stacklevel=4,
    )


def _unpickle_model(data: bytes) -> Sequential:
    """The model `Sequential.__reduce__` saved as `.keras` bytes."""
    import os
    import tempfile

    from fastnn import saving

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        contents = saving.read_archive(path)
    return _load_archive(contents, "the pickled model", None, True, pickled=True)


# -- summary ------------------------------------------------------------------------
def _readable_memory_size(size: float) -> str:
    """Keras's summary_utils.readable_memory_size."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _ratio_reduce(total: int, ratios, maximums, values) -> List[int]:
    """Rich's ratio_reduce (how a table too wide for its width shrinks)."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining = total
    out = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _ratio_distribute(total: int, ratios) -> List[int]:
    """Rich's ratio_distribute (how a table narrower than its width grows)."""
    total_ratio = sum(ratios)
    remaining = total
    out = []
    for ratio in ratios:
        distributed = math.ceil(ratio * remaining / total_ratio) if total_ratio > 0 else remaining
        out.append(distributed)
        total_ratio -= ratio
        remaining -= distributed
    return out


def _cell_lines(text: str, width: int) -> List[str]:
    """Word-wraps `text` to `width` columns; a word too long ends in '…'."""
    if width <= 0:
        return [""]
    lines: List[str] = []
    current = ""
    for word in text.split(" "):
        if len(word) > width:
            word = word[: width - 1] + "…"
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def _layer_index_bounds(layers, layer_range) -> Tuple[int, int]:
    """Keras's get_layer_index_bound_by_layer_name: the slice of `layers`
    from the first name matching ``layer_range[0]`` to the last matching
    ``layer_range[1]`` (``re.match``), both included."""
    import re

    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2:
        raise ValueError(
            "layer_range must be a list or tuple of length 2. Received: "
            f"layer_range = {layer_range} of length {len(layer_range)}"
        )
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(
            f"Passed layer_names do not match the layer names in the model. Received: {layer_range}"
        )
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _summary_text(
    model: Sequential, line_length=None, positions=None, show_trainable=False, layer_range=None
) -> str:
    """Keras 3's summary as its rich table renders without colour."""
    import shutil

    header = ["Layer (type)", "Output Shape", "Param #"]
    align = ["left", "left", "right"]
    default_line_length = 88
    positions = list(positions or [0.45, 0.80, 1.0])
    given = list(positions)  # (for the error below)
    if show_trainable:  # Keras: a centred column, the others narrowed to 90 %
        default_line_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("center")
    if line_length is None or (line_length == 0 and not isinstance(line_length, bool)):
        # (Keras's `line_length or default`: 0 too)
        line_length = min(default_line_length, shutil.get_terminal_size().columns - 4)
    line_length = _check_positive_int(line_length, "line_length")
    if len(positions) < len(header):
        raise ValueError(
            f"`positions` must hold at least {len(header) - bool(show_trainable)} values (the "
            f"columns' right edges), got {len(given)}: {given}"
        )
    if positions[-1] <= 1:
        positions = [int(p * line_length) for p in positions]
    widths = []
    current = 0
    for pos in positions:
        width = int(pos) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    widths = widths[: len(header)]  # as Keras: further positions give no column
    # Rich: cells are padded by one space each side; the table (with its
    # len(header) + 1 borders) is exactly line_length wide.
    inner = line_length - (len(header) + 1)
    cells = [w + 2 for w in widths]
    if sum(cells) > inner:
        cells = _ratio_reduce(sum(cells) - inner, [1] * len(cells), cells, cells)
    elif sum(cells) < inner:
        cells = [c + d for c, d in zip(cells, _ratio_distribute(inner - sum(cells), cells))]

    def row(fields, left, mid, end):
        columns = [_cell_lines(f, c - 2) for f, c in zip(fields, cells)]
        height = max(len(c) for c in columns)
        out = []
        for i in range(height):
            parts = []
            for lines, c, how in zip(columns, cells, align):
                text = lines[i] if i < len(lines) else ""
                if how == "right":
                    text = text.rjust(c - 2)
                elif how == "center":  # rich: the odd space goes right
                    before = (c - 2 - len(text)) // 2
                    text = (" " * before + text).ljust(c - 2)
                else:
                    text = text.ljust(c - 2)
                parts.append(" " + text + " ")
            out.append(left + mid.join(parts) + end)
        return out

    def rule(left, fill, mid, end):
        return left + mid.join(fill * c for c in cells) + end

    lines = [f'Model: "{model.name}"', rule("┏", "━", "┳", "┓")]
    lines += row(header, "┃", "┃", "┃")
    lines.append(rule("┡", "━", "╇", "┩"))
    shapes = model._layer_output_shapes() if model.built else [None] * len(model._layers)
    rows = list(zip(model._layers, shapes))
    if isinstance(model, Model):  # Keras lists a functional model's InputLayer
        rows.insert(0, (model._input_layer, model._input_shape))
    first, end = _layer_index_bounds([layer for layer, _ in rows], layer_range)
    for i, (layer, shape) in enumerate(rows[first:end]):
        if i:
            lines.append(rule("├", "─", "┼", "┤"))
        batch = model._batch_dim()
        shape_text = "?" if shape is None else "(" + ", ".join(map(str, (batch, *shape))) + ")"
        # Keras counts a layer built on its own (an adapted Normalization)
        # in a model not built yet
        if model.built or layer._weights:
            params = f"{layer.count_params():,}"
        elif layer._BUILT_WHEN_CREATED:
            params = "0"
        else:
            params = "0 (unbuilt)"
        fields = [f"{layer.name} ({type(layer).__name__})", shape_text, params]
        if show_trainable:
            has_weights = bool(layer.weights) if model.built or layer._weights else False
            fields.append(("Y" if layer.trainable else "N") if has_weights else "-")
        lines += row(fields, "│", "│", "│")
    lines.append(rule("└", "─", "┴", "┘"))

    counted = [layer for layer in model._layers if model.built or layer._weights]
    trainable = sum(w.size for layer in counted for w in layer.trainable_weights)
    frozen = sum(w.size for layer in counted for w in layer.non_trainable_weights)
    trainable_bytes = trainable * 4
    optimizer_count = optimizer_bytes = 0
    optimizer_built = model.compiled and model._owns_optimizer_state()
    if optimizer_built:
        # Keras's optimizer.variables: iterations (int32), the learning rate
        # (float32, when a number), then every slot of every weight that was
        # trainable when the optimizer was built (float32).
        tensors = model._net.tensors()
        built_for = sum(math.prod(tensors[k]["shape"]) for k in model._optimizer_tensors)
        slots = len(model.optimizer._kernel.slot_names) * built_for
        has_lr = not callable(model.optimizer._learning_rate)
        slots += len(model.optimizer._scalar_variables())  # float32, as Nadam's u_product
        optimizer_count = 1 + int(has_lr) + slots
        optimizer_bytes = 4 + 4 * int(has_lr) + 4 * slots  # Keras 3.15: int32 iteration
    total = trainable + frozen + optimizer_count
    total_bytes = trainable_bytes + 4 * frozen + optimizer_bytes
    lines.append(f" Total params: {total:,} ({_readable_memory_size(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({_readable_memory_size(trainable_bytes)})")
    lines.append(f" Non-trainable params: {frozen:,} ({_readable_memory_size(4 * frozen)})")
    if optimizer_built:
        lines.append(
            f" Optimizer params: {optimizer_count:,} ({_readable_memory_size(optimizer_bytes)})"
        )
    return "\n".join(lines) + "\n"


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
