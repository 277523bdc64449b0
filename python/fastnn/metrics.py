"""Metrics: names, aliases and Keras 3's resolution of `"accuracy"`.

fastnn computes metrics in C++ alongside the loss; the classes here describe
them: each has a `name` (the key in logs and History), a canonical `kind`
(what the C++ side computes), its parameters (`threshold`, `k`), a
`direction` (`"up"` when larger is better), and `get_config`/`from_config`.

`compile(metrics=[...])` entries are resolved like Keras 3
(``keras/src/trainers/compile_utils.py``, `get_metric`): the strings
`"accuracy"` and `"acc"` (any case) become binary, sparse categorical or
categorical accuracy from the shapes of labels and predictions, keeping the
user's string as the log name; other strings name a class (`"MeanSquaredError"`,
`"mean_squared_error"`, `"mse"` ...); a string's log name is the string itself.

Standalone, every metric has Keras's stateful API (`update_state`, `result`,
`reset_state`, calling it), computed by the same C++ kernels (see `Metric`).

>>> m = resolve("acc", y_true_shape=(32,), y_pred_shape=(32, 10))
>>> m.name, m.kind
('acc', 'sparse_categorical_accuracy')
"""

from __future__ import annotations

import copy
import math
import numbers
import operator
import warnings

import numpy as np

from fastnn import _absent
from fastnn import losses as _losses
from fastnn.utils.tensors import plain_tensor

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "ConcordanceCorrelation",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanMetricWrapper",
    "accuracy",
    "Precision",
    "PrecisionAtRecall",
    "R2Score",
    "Recall",
    "RecallAtPrecision",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "TrueNegatives",
    "TruePositives",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "PearsonCorrelation",
    "Poisson",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "binary_accuracy",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "concordance_correlation",
    "deserialize",
    "get",
    "hinge",
    "huber",
    "is_binary_or_sparse_categorical",
    "is_host_metric",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "pearson_correlation",
    "poisson",
    "resolve",
    "resolve_metrics",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "squared_hinge",
    "top_k_categorical_accuracy",
]


def _shape(shape, what):
    try:
        shape = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of integers, got {shape!r}") from None
    if not shape:
        raise ValueError(f"{what} must have at least one dimension, got {shape}")
    return shape


def _real_array(value, what: str, where: str) -> np.ndarray:
    """`update_state`'s argument as a NumPy array of real numbers (a torch
    tensor as Keras's torch backend takes it)."""
    value = plain_tensor(value)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {what} is not an array of numbers ({e})") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{where}: {what} must hold real numbers, got dtype {array.dtype}")
    return array


def _sample_weights(sample_weight, rows: int, where: str):
    """`update_state`'s sample_weight as float32 `(rows,)`, or None."""
    if sample_weight is None:
        return None
    weights = _real_array(sample_weight, "sample_weight", where)
    if weights.ndim == 0:
        return np.full(rows, weights, np.float32)
    if weights.shape not in ((rows,), (rows, 1)):
        raise ValueError(
            f"{where}: sample_weight must be a number or have shape ({rows},) or ({rows}, 1) "
            f"(fastnn weighs whole samples; a 1-D y_pred may be one sample); got shape "
            f"{weights.shape}"
        )
    return np.ascontiguousarray(weights.reshape(rows), dtype=np.float32)


def _check_values(y_true, y_pred, sample_weight, integer_labels: bool, where: str) -> None:
    """What fastnn's engine refuses, said in `update_state`'s terms: NaN or
    Inf (Keras's metrics give NaN), and labels that are not class ids."""
    named = [("y_pred", y_pred), ("sample_weight", sample_weight)]
    if not integer_labels:
        named.append(("y_true", y_true))
    for what, array in named:
        if array is None:
            continue
        with np.errstate(over="ignore"):  # beyond float32: Inf, refused below
            finite = np.isfinite(array.astype(np.float32)).all()
        if not finite:
            raise ValueError(f"{where}: {what} contains NaN or Inf (or a value beyond float32)")
    if integer_labels:
        labels = y_true.reshape(-1).astype(np.float64)
        classes = y_pred.shape[-1]
        bad = ~((labels >= 0) & (labels < classes) & (labels == np.floor(labels)))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{where}: y_true must hold class ids in [0, {classes}) for y_pred of shape "
                f"{y_pred.shape}; got {labels[i]:g} at index {i}"
            )


def _dtype_name(dtype) -> str:
    """Keras's standardized name of a metric or metric-variable dtype
    (`None` is float32, Keras's floatx)."""
    if dtype is None:
        return "float32"
    try:
        found = np.dtype(dtype)
    except TypeError:
        try:
            found = np.dtype(str(getattr(dtype, "name", "")))  # a dtype policy
        except TypeError:
            raise ValueError(f"Invalid dtype: {dtype!r}") from None
    if found.kind not in "biuf":
        raise ValueError(f"Invalid dtype: {dtype!r} (a metric holds real numbers or booleans)")
    return found.name


def _outputs_axis(axis, cls_name: str) -> int:
    """A metric's `axis` argument: fastnn's labels and predictions are 2-D
    `(samples, outputs)`, so the outputs' axis is `-1` or `1` (kept as given,
    for the config); any other axis is refused."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or axis not in (-1, 1):
        raise ValueError(
            f"{cls_name}: fastnn's data are 2-D (samples, outputs) and its metrics reduce the "
            f"outputs' axis, -1 (or 1); got axis={axis!r}"
        )
    return int(axis)


class Metric:
    """Base class: a metric fastnn computes in C++ during fit and evaluate.

    Standalone, a metric has Keras's stateful API: `update_state(y_true,
    y_pred, sample_weight=None)` adds a batch, `result()` is the metric over
    the batches added since the last `reset_state()`, and calling the metric
    does both. The batch goes through the C++ kernels fit and evaluate run
    (the engine evaluates a cached identity network compiled with a copy of
    the metric as a weighted metric); the engine's sums and the sum of the
    sample weights are accumulated in float64. Compiled into a model, the
    object is the one the model's runs update, as Keras's: fit (at each
    epoch) and evaluate start it anew, and each time the logs are computed
    it takes the engine's sums of the batches run so far, so that `result()`
    is the logged value, `reset_state()` shows in `get_metrics_result()`,
    and a later `update_state` adds to the run's state.

    Args:
        name: the key in logs and History. Defaults to the class's snake-case
            name.
        dtype: Keras's metric dtype, kept in `dtype` and the config
            (default `"float32"`); fastnn's own metrics are accumulated in
            float64 and reported as Python floats (`result()`: float32).

    >>> m = BinaryAccuracy()
    >>> m.update_state([[1], [0], [1]], [[0.9], [0.2], [0.4]])
    >>> float(m.result())
    0.6666666865348816
    """

    kind = None
    direction = "up"
    _default_name = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__ != __name__ and "direction" not in cls.__dict__:
            # A user's metric tells its direction as Keras's does (`_direction`);
            # one extending a built-in metric keeps that metric's.
            base = next(k for k in cls.__mro__[1:] if k.__module__ == __name__)
            if base is Metric:
                cls.direction = None

    # How `update_state` reads a 1-D `y_pred`: "sample" (one sample with an
    # output per element, as Keras's metrics that reduce the last axis read
    # it), "elements" (one output per sample, as Keras's element-wise
    # metrics), or None (refused).
    _one_dim = "sample"
    _integer_labels = False  # `update_state` takes integer class ids as `y_true`

    def __init__(self, name=None, dtype=None):
        if name is None:
            name = self._default_name
            if name is None and type(self).__module__ != __name__:  # a user's subclass
                from fastnn.utils.naming import to_snake_case

                name = to_snake_case(type(self).__name__)
        if not isinstance(name, str) or not name:
            raise ValueError(f"Metric name must be a non-empty string, got {name!r}")
        self.name = name
        self.dtype = _dtype_name(dtype)
        # update_state's (metric copy, outputs, float64 sums, weight sum); a model's
        # run writes (None, ...): the metric itself computes the value
        self._state = None
        self._evaluators = {}  # (outputs, config) -> (metric copy, identity model)

    @property
    def params(self) -> dict:
        """Parameters the C++ side needs besides `kind` (e.g. `k`, `threshold`)."""
        return {}

    def check_shapes(self, y_true_shape, y_pred_shape) -> None:
        """Raises ValueError when labels of `y_true_shape` cannot be scored
        against predictions of `y_pred_shape` by this metric (any shapes for
        a metric computed in Python: its `update_state` decides)."""
        if is_host_metric(self):
            return
        t = _shape(y_true_shape, "y_true_shape")
        p = _shape(y_pred_shape, "y_pred_shape")
        if t != p and not (len(t) == len(p) - 1 and t == p[:-1] and p[-1] == 1):
            raise ValueError(
                f"Metric {self.name!r} ({type(self).__name__}) needs labels shaped like the "
                f"predictions; got labels {t} and predictions {p}"
            )

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _kernels(self) -> list:
        """What the C++ engine sums per batch for this metric (one or more
        ``{"kind", **params}``); none for a metric computed in Python."""
        if is_host_metric(self):
            return []
        return [{"kind": self.kind, **self.params}]

    def _value(self, sums, count: float) -> float:
        """The metric from the engine's sums of `_kernels` over a run; `count`
        is the number of samples (the sum of their weights for a weighted
        metric). A mean by default."""
        return sums[0] / count if count else 0.0

    # -- Keras's stateful API ------------------------------------------------
    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds a batch to the metric's state, as Keras's `update_state`: the
        C++ engine computes this metric's sums on the batch (one batch, as
        Keras's per-call steps such as the hinges' label conversion see it).

        Args:
            y_true: labels shaped like `y_pred` (`(n,)` too for one output),
                or for the sparse metrics integer class ids `(n,)` or
                `(n, 1)`. A list, a NumPy array of any real dtype, or a
                tensor.
            y_pred: predictions `(n, outputs)`; a 1-D `y_pred` of `n` values
                is read as Keras reads it: `n` samples of one output for the
                element-wise metrics (accuracy and confusion counts of binary
                predictions, precision, recall, AUC), one sample of `n`
                outputs for the others (refused by the sparse and per-output
                metrics).
            sample_weight: `None` (weights 1), a number, or weights of the
                samples `(n,)` or `(n, 1)`. Defaults to `None`.

        Raises:
            ValueError: shapes the metric cannot score, NaN or Inf, labels
                that are not class ids, per-element weights, or outputs other
                than those of the state (for the per-output metrics); the
                state is unchanged.
        """
        if self.kind is None:
            raise NotImplementedError(f"{type(self).__name__} does not define its kernels")
        what = f"{type(self).__name__}.update_state"
        y_true = _real_array(y_true, "y_true", what)
        y_pred = _real_array(y_pred, "y_pred", what)
        shapes = f"y_true of shape {y_true.shape} and y_pred of shape {y_pred.shape}"
        if y_pred.ndim == 1 and self._one_dim == "elements":
            y_pred = y_pred[:, None]
        elif y_pred.ndim == 1 and self._one_dim == "sample":
            if y_true.shape in ((len(y_pred),), (len(y_pred), 1)):
                y_true = y_true.reshape(1, -1)
            y_pred = y_pred[None, :]
        if y_pred.ndim != 2 or y_pred.shape[1] == 0:
            takes = "(n, outputs)" + (" or (n,)" if self._one_dim else "")
            raise ValueError(f"{what} takes y_pred of shape {takes}; got {shapes}")
        rows, outputs = y_pred.shape
        metric, model = self._evaluator(outputs)
        try:
            metric.check_shapes(y_true.shape, y_pred.shape)
        except ValueError as e:
            raise ValueError(f"{what} got {shapes}: {e}") from None
        state = self.__dict__.get("_state")  # (absent from a metric pickled before it existed)
        if state is not None and len(state[2]) != len(metric._kernels()):
            raise ValueError(
                f"{what}: {type(self).__name__} keeps one state per output and holds that of "
                f"{state[1]} outputs; got {shapes}. Use a new metric for these."
            )
        sample_weight = _sample_weights(sample_weight, rows, what)
        if rows == 0:
            return  # nothing to add, as in Keras
        _check_values(y_true, y_pred, sample_weight, self._integer_labels, what)
        y_pred = np.ascontiguousarray(y_pred, dtype=np.float32)
        if self._integer_labels:  # class ids (n,), read by the engine as float64
            y_true = np.ascontiguousarray(y_true.reshape(rows), dtype=np.float64)
        else:
            y_true = np.ascontiguousarray(y_true, dtype=np.float32)
        try:
            net = model._net
            sums = net.evaluate(net.prepare(y_pred, y_true, sample_weight), rows)
        except ValueError as e:  # (checked above: what the engine refuses besides)
            raise ValueError(f"{what}: {e}") from None
        total = np.asarray(sums["metric_sums"], np.float64)
        count = float(sums["weight_sum"])
        if state is not None:
            total, count = total + state[2], count + state[3]
        self._state = (metric, outputs, total, count)

    def result(self):
        """The metric over the batches added since the last reset, as Keras's
        `result()`: a float32 NumPy array with Keras's `numpy()` method,
        0-d, or one value per output for `FBetaScore(average=None)` and
        `R2Score(class_aggregation=None)`. Before any update, the metric of
        no data (0.0 for the means, counts and AUC)."""
        from fastnn.layers import _EagerArray

        state = self.__dict__.get("_state")  # (absent from a metric pickled before it existed)
        if state is None:
            value = self._empty_value()
        else:
            value = self._state_value()
        with np.errstate(over="ignore"):  # beyond float32's range: inf, as Keras's variables
            return np.asarray(value, np.float32).view(_EagerArray)

    def _state_value(self):
        """The metric of the state's sums (float64, or an array per output);
        None when there is no state (no update since construction)."""
        state = self.__dict__.get("_state")
        if state is None:
            return None
        metric, _, total, count = state
        return (self if metric is None else metric)._value(total.tolist(), count)

    def _take_engine_state(self, sums, count: float, outputs: int) -> None:
        """Holds a model's run of this compiled metric: the engine's sums of
        `_kernels` and the count (samples, or the sum of the sample weights
        for a weighted metric) of the batches seen since the run's start, as
        Keras's metric variables hold them after fit / evaluate. `result()`
        then gives the logged value, and `update_state` continues from it."""
        self._state = (None, int(outputs), np.array(sums, np.float64), float(count))

    def reset_state(self) -> None:
        """Sets the state to that of no data, as Keras's `reset_state()`
        (a per-output metric keeps its number of outputs; variables made by
        `add_variable` become zeros)."""
        state = self.__dict__.get("_state")  # (absent from a metric pickled before it existed)
        if state is not None:
            metric, outputs, total, _ = state
            self._state = (metric, outputs, np.zeros_like(total), 0.0)
        for variable in self.__dict__.get("_metric_variables", ()):
            variable.view(np.ndarray)[...] = 0

    # -- a subclass's own state (Keras's add_variable) ---------------------------
    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state variable for a subclass's `update_state` / `result`, as
        Keras 3's `Metric.add_variable`: a float32 array with Keras's
        `assign`, `assign_add`, `assign_sub` and `numpy()`.

        Args:
            shape: its shape. Defaults to `()`.
            initializer: an initializer or its name. Defaults to `"zeros"`.
            dtype: its dtype (a NumPy dtype or name, as Keras's: `"int32"`,
                `"float64"`, ...). Defaults to float32.
            aggregation: accepted for Keras compatibility.
            name: its name.
        """
        from fastnn import initializers
        from fastnn.layers import Variable

        shape = tuple(int(d) for d in shape) if isinstance(shape, (list, tuple)) else (int(shape),)
        value = np.asarray(initializers.get(initializer)(shape)).astype(_dtype_name(dtype))
        value = value.reshape(shape)
        path = name if name is None else f"{self.name}/{name}"  # Keras: "mean/total"
        variable = Variable(np.array(value), name, path, None)
        if "_metric_variables" not in self.__dict__:
            self._metric_variables = []
        self._metric_variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """`add_variable` (Keras 3's older name; zeros by default)."""
        return self.add_variable(
            shape=shape, initializer=initializer or "zeros", dtype=dtype, name=name
        )

    @property
    def variables(self) -> list:
        """Keras's `metric.variables`: a built-in metric's state under
        Keras's names (`total` and `count` of a mean, Precision's
        `true_positives` and `false_positives`, AUC's four arrays, a count's
        `accumulator` ...), as read-only float32 snapshots of the float64
        sums fastnn keeps (each also an attribute: `metric.true_positives`),
        then the variables `add_variable` made. `reset_state` and
        `update_state` change the state; assigning to a snapshot is refused.
        FBetaScore and R2Score keep theirs in another form: none."""
        from fastnn.layers import Variable

        made = []
        for name, value in (self._keras_state() or {}).items():
            array = np.array(value, np.float32)
            array.flags.writeable = False
            made.append(Variable(array, name, f"{self.name}/{name}", None))
        return made + list(self.__dict__.get("_metric_variables", ()))

    # Keras's names of the state variables `_keras_state` gives (all it may give)
    _keras_state_names = ("total", "count")

    def _keras_state(self):
        """`{Keras's variable name: value}` of the state, float64; None for
        a metric computed in Python (its own variables, if any). A built-in
        engine metric is a mean by default: its one sum and its count."""
        if is_host_metric(self) or self.kind is None:
            return None
        state = self.__dict__.get("_state")
        if state is None:
            return {"total": 0.0, "count": 0.0}
        return {"total": float(state[2][0]), "count": float(state[3])}

    def __getattr__(self, name):
        # (only for names not found otherwise: Keras's state variables)
        if not name.startswith("_") and name in type(self)._keras_state_names:
            for variable in self.variables:
                if variable.name == name:
                    return variable
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __call__(self, *args, **kwargs):
        """`update_state(*args, **kwargs)`, then `result()`, as Keras's: e.g.
        ``metric(y_true, y_pred, sample_weight=w)``, or ``Mean()(values)``."""
        self.update_state(*args, **kwargs)
        return self.result()

    def _empty_value(self):
        """`result()` before any update: the metric of all-zero sums."""
        return self._value([0.0] * len(self._kernels()), 0.0)

    def _evaluator(self, outputs: int):
        """`(metric, model)`: a copy of this metric compiled as the weighted
        metric of an identity network of `outputs` outputs (cached per
        outputs and config), whose engine evaluates predictions fed as its
        input."""
        key = (outputs, repr(self.get_config()))
        if "_evaluators" not in self.__dict__:  # a metric pickled before it existed
            self._evaluators = {}
        found = self._evaluators.get(key)
        if found is None:
            from fastnn import layers, models

            metric = copy.copy(self)  # __getstate__ leaves the cached models out
            if _is_host_class(type(metric)):  # a user's subclass: the engine computes its base
                base = next(k for k in type(self).__mro__ if k.__module__ == __name__ and k.kind)
                metric.__class__ = base
            metric._state = None
            model = models.Sequential(
                [layers.Input((outputs,), name="y_pred"), layers.Activation("linear", name="id")],
                name="metric_evaluator",
            )
            # the loss gives the engine the labels' kind: class ids or targets
            loss = "sparse_categorical_crossentropy" if self._integer_labels else "mse"
            model.compile(optimizer="sgd", loss=loss, weighted_metrics=[metric])
            if len(self._evaluators) >= 4:
                self._evaluators.clear()
            found = self._evaluators[key] = (metric, model)
        return found

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_evaluators"] = {}  # cached identity models: rebuilt when needed
        return state

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"<{type(self).__name__} name={self.name!r}{extra}>"

    def __eq__(self, other):
        return type(self) is type(other) and self.name == other.name and self.params == other.params

    def __hash__(self):
        return hash((type(self).__name__, self.name, tuple(sorted(self.params.items()))))


def is_host_metric(metric) -> bool:
    """Whether `metric` is computed in Python from each batch's labels and
    predictions (`MeanMetricWrapper`, a function given to `compile`, a
    user's `Metric` subclass with its own `update_state`) rather than by the
    C++ engine. `fit` then steps one batch at a time and hands each batch's
    training-mode predictions to its `update_state`, as Keras's train step.

    Besides the classes kept in Python, an instance of a built-in metric whose
    options the engine does not count (`Precision(top_k=3)`,
    `AUC(multi_label=True)`, several thresholds ...) says so by `_host`."""
    return isinstance(metric, Metric) and (
        _is_host_class(type(metric)) or bool(getattr(metric, "_host", False))
    )


def _is_host_class(cls) -> bool:
    """A class whose `update_state` or `result` is the user's (a Keras-style
    subclass, of `Metric` or of a built-in metric), or one of fastnn's
    metrics kept in Python."""
    if _user_overrides(cls):
        return True
    return cls.kind is None and cls.update_state is not Metric.update_state


def _user_overrides(cls) -> bool:
    """Whether a user's class in `cls`'s MRO defines `update_state` or `result`."""
    return any(
        klass.__module__ != __name__
        and ("update_state" in klass.__dict__ or "result" in klass.__dict__)
        for klass in cls.__mro__
    )


def state_copy(metric):
    """A copy of `metric` with its own, empty state and everything else
    shared (functions, bound methods, the objects a user's metric refers
    to): a shallow copy whose `add_variable` variables, engine sums and
    totals are its own, reset. Never deep: user objects (a lock, a model)
    need not be copyable."""
    twin = copy.copy(metric)
    own = {}
    for variable in metric.__dict__.get("_metric_variables", ()):
        own[id(variable)] = copy.deepcopy(variable)  # (a metric's Variable copies as one)
    if own:
        twin._metric_variables = [own[id(v)] for v in metric._metric_variables]
        for key, value in metric.__dict__.items():
            if id(value) in own:
                twin.__dict__[key] = own[id(value)]
    twin._state = None
    twin._evaluators = {}
    twin.reset_state()
    return twin


def _host_values(values, what: str) -> np.ndarray:
    """A metric function's result as a float32 array (Keras casts it to the
    metric's dtype)."""
    if hasattr(values, "numpy") and not isinstance(values, np.ndarray):
        values = values.numpy()
    arr = np.asarray(values)
    if arr.dtype.hasobject or arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what}: the metric function must return numbers, got {type(values).__name__} "
            f"of dtype {arr.dtype}"
        )
    return arr.astype(np.float32)


def _squeeze_or_expand_to_same_rank(x1: np.ndarray, x2: np.ndarray, expand_rank_1=True):
    """Keras 3's `squeeze_or_expand_to_same_rank` (losses/loss.py)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _samplewise(values, sample_weight, reduce, what: str):
    """Keras 3's `reduce_to_samplewise_values` (metrics/reduction_metrics.py)
    in NumPy: `(values, sample_weight)` with values reduced to one per sample
    (by `reduce`, np.mean or np.sum) and multiplied by the weights."""
    values = _host_values(values, what)
    if sample_weight is not None:
        weights = _host_values(sample_weight, what)
        values, weights = _squeeze_or_expand_to_same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = reduce(values, axis=tuple(range(weights.ndim, values.ndim)))
        try:
            weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(
                f"{what}: sample_weight of shape {np.shape(sample_weight)} does not broadcast "
                f"to the values of shape {values.shape}"
            ) from None
        values = values * weights
        if weights.ndim > 1:
            weights = reduce(weights, axis=tuple(range(1, weights.ndim)))
        sample_weight = weights
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class _HostMetric(Metric):
    """Base of the metrics kept in Python (float64 sums, float32 results)."""

    direction = None  # as Keras's Mean: mode="auto" callbacks need to be told

    def __init__(self, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._total = 0.0
        self._count = 0.0

    def reset_state(self) -> None:
        self._total = 0.0
        self._count = 0.0

    def _keras_state(self):
        if _user_overrides(type(self)):
            return None  # a user's subclass keeps its own
        state = {"total": self.__dict__.get("_total", 0.0)}
        if not isinstance(self, Sum):
            state["count"] = self.__dict__.get("_count", 0.0)
        return state

    def _result_value(self) -> float:
        return self._total / self._count if self._count else 0.0

    def result(self):
        from fastnn.layers import _EagerArray

        with np.errstate(over="ignore"):
            return np.asarray(self._result_value(), np.float32).view(_EagerArray)

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


def _is_loss(fn) -> bool:
    """Whether `fn` is one of fastnn's loss functions or losses."""
    if isinstance(fn, _losses.Loss):
        return True
    return any(fn is getattr(_losses, name, None) for name in _losses.__all__)


class Mean(_HostMetric):
    """The (weighted) mean of the values given, as Keras 3's ``Mean``: for
    losses and other running values in a custom training loop.

    >>> m = Mean()
    >>> m.update_state([1, 3, 5, 7])
    >>> float(m.result())
    4.0
    >>> m.update_state([2], sample_weight=[0.0])  # a zero weight adds nothing
    >>> float(m.result())
    4.0
    """

    _default_name = "mean"

    def update_state(self, values, sample_weight=None) -> None:
        """Adds `values` (a number or an array; axes after the first are
        averaged per sample) with optional `sample_weight`."""
        values, weights = _samplewise(values, sample_weight, np.mean, f"{self.name}.update_state")
        self._total += float(np.sum(values, dtype=np.float64))
        if weights is not None:
            self._count += float(np.sum(weights, dtype=np.float64))
        else:
            self._count += float(values.shape[0]) if values.ndim >= 1 else 1.0


class Sum(_HostMetric):
    """The (weighted) sum of the values given, as Keras 3's ``Sum``.

    >>> m = Sum()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    >>> float(m.result())
    4.0
    """

    _default_name = "sum"

    def update_state(self, values, sample_weight=None) -> None:
        values, _ = _samplewise(values, sample_weight, np.sum, f"{self.name}.update_state")
        self._total += float(np.sum(values, dtype=np.float64))

    def _result_value(self) -> float:
        return self._total


class MeanMetricWrapper(Mean):
    """A metric function `fn(y_true, y_pred, **kwargs)` averaged over the
    samples, as Keras 3's ``MeanMetricWrapper`` (what `compile` makes of a
    function in `metrics`, named after it).

    The function runs in Python on NumPy arrays: `y_true` as the engine
    holds the labels (int64 class ids for sparse categorical
    cross-entropy, else float32, shaped as given to `fit`) and `y_pred`
    the float32 predictions of the batch (in `fit`, those of the training
    step, dropout included, as Keras's). Write it with `fastnn.ops` or NumPy;
    it returns a value per sample (or a scalar per batch).

    Args:
        fn: the function.
        name: the key in logs. Defaults to `"mean_metric_wrapper"`
            (`compile` names it after the function).
        dtype: accepted for Keras compatibility.
        **kwargs: passed to `fn`.

    >>> def absolute_error(y_true, y_pred):
    ...     return abs(y_true - y_pred)
    >>> m = MeanMetricWrapper(absolute_error)
    >>> m.update_state([[1.0], [2.0]], [[1.5], [2.0]])
    >>> float(m.result())
    0.25
    """

    _default_name = "mean_metric_wrapper"

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper needs a function, got {fn!r:.80}")
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if _is_loss(fn):  # a wrapped loss is minimized (Keras's MeanMetricWrapper)
            self.direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if isinstance(y_true, (list, tuple)) or isinstance(y_pred, (list, tuple)):
            from fastnn.ops import convert_to_tensor  # lists as Keras's tensors (float32)

            y_true, y_pred = convert_to_tensor(y_true), convert_to_tensor(y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict:
        from fastnn.saving import serialize_keras_object

        return {
            "name": self.name,
            "dtype": self.dtype,
            "fn": serialize_keras_object(self._fn),
            **serialize_keras_object(self._fn_kwargs),
        }

    @classmethod
    def from_config(cls, config):
        from fastnn.saving import deserialize_function

        config = dict(config)
        fn = config.pop("fn", None)
        if isinstance(fn, (dict, str)):
            fn = deserialize_function(fn)
        return cls(fn, **config)


def accuracy(y_true, y_pred):
    """Keras 3's ``metrics.accuracy``: 1.0 where `y_pred` equals `y_true`
    exactly, else 0.0 (float32), per element (ranks aligned as Keras
    aligns them)."""
    y_true, y_pred = _function_inputs(y_true, y_pred, "accuracy")
    y_true, y_pred = _squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_broadcast(y_true, y_pred, "accuracy", "the same shape")
    return np.equal(y_true, y_pred).astype(np.float32)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal the labels exactly, as Keras 3's
    ``Accuracy`` (computed in Python; the string ``"accuracy"`` in `compile`
    is resolved to binary, categorical or sparse categorical accuracy
    instead, as in Keras).

    >>> m = Accuracy()
    >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    >>> float(m.result())
    0.75
    """

    _default_name = "accuracy"
    direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _correlation_axis(axis, rank: int, function: str):
    """`axis` (an int, a tuple of ints, or None: every axis) checked against
    the inputs' rank; scalars reduce over nothing (None), as Keras's."""
    if axis is None or rank == 0:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(
                f"{function}: `axis` must be an int, a tuple of ints or None, got {axis!r}"
            )
        if not -rank <= a < rank:
            raise ValueError(
                f"{function}: axis {a} is out of bounds for inputs of rank {rank} "
                f"(after aligning y_true with y_pred)"
            )
    return tuple(int(a) for a in axes) if isinstance(axis, (tuple, list)) else int(axis)


def _correlation_inputs(y_true, y_pred, axis, function: str):
    """The two functions' inputs as arrays of one shape in `y_pred`'s float
    dtype (float32 for other dtypes), as Keras casts `y_true` to it, and
    `axis` checked."""
    y_true, y_pred = _function_inputs(y_true, y_pred, function)
    dtype = y_pred.dtype if y_pred.dtype.kind == "f" else np.dtype(np.float32)
    y_true, y_pred = y_true.astype(dtype, copy=False), y_pred.astype(dtype, copy=False)
    y_true, y_pred = _squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_broadcast(y_true, y_pred, function, "the same shape")
    return y_true, y_pred, _correlation_axis(axis, y_pred.ndim, function)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Keras 3's ``metrics.pearson_correlation``: each sample's Pearson
    correlation between `y_true` and `y_pred` along `axis` (the outputs),
    in `y_pred`'s float dtype (float32 for others): the mean of the product
    of the two standardized vectors (population standard deviations; a
    constant vector gives NaN, as Keras).

    >>> y_true = [[0, 1, 0.5], [1, 1, 0.2]]
    >>> y_pred = [[0.1, 0.9, 0.5], [1, 0.9, 0.2]]
    >>> [round(float(v), 6) for v in pearson_correlation(y_true, y_pred)]
    [1.0, 0.993399]
    """
    y_true, y_pred, axis = _correlation_inputs(y_true, y_pred, axis, "pearson_correlation")
    with np.errstate(divide="ignore", invalid="ignore"):
        true_norm = y_true - y_true.mean(axis=axis, keepdims=True)
        pred_norm = y_pred - y_pred.mean(axis=axis, keepdims=True)
        true_norm = true_norm / true_norm.std(axis=axis, keepdims=True)
        pred_norm = pred_norm / pred_norm.std(axis=axis, keepdims=True)
        return np.asarray((true_norm * pred_norm).mean(axis=axis), dtype=y_pred.dtype)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Keras 3's ``metrics.concordance_correlation``, per sample along
    `axis`, in `y_pred`'s float dtype, as Keras 3.15 computes it:
    ``mean(2 (y_true - mean(y_pred)) (y_pred - mean(y_pred)) / (var(y_true)
    + var(y_pred) + (mean(y_true) - mean(y_pred))^2 + 1e-7))`` (population
    variances; centering `y_true` on either mean gives the same mean).

    >>> y_true = [[0, 1, 0.5], [1, 1, 0.2]]
    >>> y_pred = [[0.1, 0.9, 0.5], [1, 0.9, 0.2]]
    >>> [round(float(v), 5) for v in concordance_correlation(y_true, y_pred)]
    [0.97561, 0.98765]
    """
    y_true, y_pred, axis = _correlation_inputs(y_true, y_pred, axis, "concordance_correlation")
    true_mean = y_true.mean(axis=axis, keepdims=True)
    pred_mean = y_pred.mean(axis=axis, keepdims=True)
    true_var = (y_true - true_mean).var(axis=axis, keepdims=True)
    pred_var = (y_pred - pred_mean).var(axis=axis, keepdims=True)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + np.square(true_mean - pred_mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 2 * covariance / (norm + y_pred.dtype.type(1e-7))
    return np.asarray(ratio.mean(axis=axis), dtype=y_pred.dtype)


class _CorrelationMetric(MeanMetricWrapper):
    """A correlation function's per-sample values averaged (Keras's
    MeanMetricWrapper subclasses of correlation_metrics.py)."""

    direction = "up"
    _direction = "up"  # (Keras's attribute name, read by code written for Keras)
    _function = None

    def __init__(self, name=None, dtype=None, axis=-1):
        if name is None:
            name = self._default_name
        super().__init__(type(self)._function, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class PearsonCorrelation(_CorrelationMetric):
    """The mean over the samples of `pearson_correlation` (Keras 3's
    ``PearsonCorrelation``; computed in Python). Larger is better.

    Args:
        name: Defaults to `"pearson_correlation"`.
        dtype: accepted for Keras compatibility.
        axis: the axis (or axes, or None for all) along which each sample's
            correlation is taken. Defaults to `-1`.

    >>> m = PearsonCorrelation()
    >>> m.update_state([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    >>> round(float(m.result()), 6)
    0.9967
    """

    _default_name = "pearson_correlation"
    _function = staticmethod(pearson_correlation)


class ConcordanceCorrelation(_CorrelationMetric):
    """The mean over the samples of `concordance_correlation` (Keras 3's
    ``ConcordanceCorrelation``; computed in Python). Larger is better.

    Args:
        name: Defaults to `"concordance_correlation"`.
        dtype: accepted for Keras compatibility.
        axis: as `PearsonCorrelation`'s. Defaults to `-1`.

    >>> m = ConcordanceCorrelation()
    >>> m.update_state([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    >>> round(float(m.result()), 6)
    0.981632
    """

    _default_name = "concordance_correlation"
    _function = staticmethod(concordance_correlation)


class BinaryAccuracy(Metric):
    """How often `(y_pred > threshold)` equals the 0/1 label.

    Args:
        name: defaults to `"binary_accuracy"`.
        dtype: accepted for Keras compatibility.
        threshold: a prediction above it counts as 1. Defaults to `0.5`.
    """

    kind = "binary_accuracy"
    _default_name = "binary_accuracy"
    _one_dim = "elements"

    def __init__(self, name=None, dtype=None, threshold=0.5):
        super().__init__(name=name, dtype=dtype)
        if isinstance(threshold, bool):
            raise ValueError(f"threshold must be a number, got {threshold!r}")
        try:
            threshold = float(threshold)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"threshold must be a number, got {threshold!r}") from None
        if threshold != threshold:
            raise ValueError("threshold must not be NaN")
        self.threshold = threshold

    @property
    def params(self):
        return {"threshold": self.threshold}

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """How often the arg-max of the prediction is the arg-max of the one-hot label."""

    kind = "categorical_accuracy"
    _default_name = "categorical_accuracy"


class SparseCategoricalAccuracy(Metric):
    """How often the arg-max of the prediction equals the integer label."""

    kind = "sparse_categorical_accuracy"
    _default_name = "sparse_categorical_accuracy"
    _one_dim = None
    _integer_labels = True

    def check_shapes(self, y_true_shape, y_pred_shape):
        t = _shape(y_true_shape, "y_true_shape")
        p = _shape(y_pred_shape, "y_pred_shape")
        if not (t == p[:-1] or (len(t) == len(p) and t[:-1] == p[:-1] and t[-1] == 1)):
            raise ValueError(
                f"Metric {self.name!r} ({type(self).__name__}) needs integer labels of shape "
                f"{p[:-1]} (or {p[:-1] + (1,)}) for predictions of shape {p}; got labels {t}"
            )


class _TopK(Metric):
    def __init__(self, k=5, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if isinstance(k, bool):
            raise ValueError(f"k must be a positive integer, got {k!r}")
        try:
            k = operator.index(k)
        except TypeError:
            raise ValueError(f"k must be a positive integer, got {k!r}") from None
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        self.k = k

    @property
    def params(self):
        return {"k": min(self.k, 2**62)}  # any k >= the classes counts all; C++ takes int64

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class TopKCategoricalAccuracy(_TopK):
    """How often the one-hot label's class is among the `k` largest predictions.

    Args:
        k: how many top predictions count. Defaults to `5`.
        name: defaults to `"top_k_categorical_accuracy"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "top_k_categorical_accuracy"
    _default_name = "top_k_categorical_accuracy"


class SparseTopKCategoricalAccuracy(_TopK):
    """How often the integer label is among the `k` largest predictions.

    Args:
        k: how many top predictions count. Defaults to `5`.
        name: defaults to `"sparse_top_k_categorical_accuracy"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "sparse_top_k_categorical_accuracy"
    _default_name = "sparse_top_k_categorical_accuracy"
    _one_dim = None
    _integer_labels = True
    check_shapes = SparseCategoricalAccuracy.check_shapes

    def __init__(self, k=5, name=None, dtype=None, from_sorted_ids=False):
        if from_sorted_ids is not False:
            # Keras 3.15: y_pred then holds the top class ids, sorted, not scores
            raise ValueError(
                f"SparseTopKCategoricalAccuracy: from_sorted_ids={from_sorted_ids!r} is not "
                "supported by fastnn (only its Keras default, False: y_pred holds the scores "
                "of every class, as a model's outputs)"
            )
        super().__init__(k=k, name=name, dtype=dtype)


class MeanSquaredError(Metric):
    """Mean of `(y_true - y_pred) ** 2` over all elements and samples."""

    kind = "mean_squared_error"
    direction = "down"
    _default_name = "mean_squared_error"


class RootMeanSquaredError(MeanSquaredError):
    """Square root of the mean of `(y_true - y_pred) ** 2`: Keras 3's
    ``RootMeanSquaredError`` (keras/src/metrics/regression_metrics.py), the
    root of the (weighted) mean the `MeanSquaredError` metric computes."""

    _default_name = "root_mean_squared_error"

    def _value(self, sums, count: float) -> float:
        return math.sqrt(max(sums[0] / count, 0.0)) if count else 0.0


class MeanAbsoluteError(Metric):
    """Mean of `|y_true - y_pred|` over all elements and samples."""

    kind = "mean_absolute_error"
    direction = "down"
    _default_name = "mean_absolute_error"


class _CrossentropyMetric(Metric):
    """The mean of a cross-entropy loss over the samples (weighted in
    `weighted_metrics`), as Keras 3's cross-entropy metrics
    (keras/src/metrics/probabilistic_metrics.py). Computed by the loss's C++
    kernel; on a softmax (sigmoid) output with a categorical (binary)
    cross-entropy metric, from the logits, as fastnn's loss and Keras's
    TensorFlow backend compute it."""

    direction = "down"

    def __init__(self, name=None, dtype=None, from_logits=False, label_smoothing=0.0):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _losses._label_smoothing(label_smoothing)

    @property
    def params(self) -> dict:
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def get_config(self) -> dict:
        return {**super().get_config(), **self.params}


class BinaryCrossentropy(_CrossentropyMetric):
    """Mean binary cross-entropy (Keras's ``metrics.BinaryCrossentropy``).

    Args:
        name: defaults to `"binary_crossentropy"`.
        dtype: accepted for Keras compatibility.
        from_logits: predictions are logits. Defaults to `False`.
        label_smoothing: in [0, 1], as the loss's. Defaults to `0.0`.
    """

    kind = "binary_crossentropy"
    _default_name = "binary_crossentropy"

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """As `Metric.update_state`; labels outside [0, 1] (after label
        smoothing) are refused unless `from_logits`, as the loss and Keras's
        torch backend refuse them."""
        if not self.from_logits:
            what = f"{type(self).__name__}.update_state"
            self._check_labels(_real_array(y_true, "y_true", what), what)
        super().update_state(y_true, y_pred, sample_weight=sample_weight)

    def _check_labels(self, y_true: np.ndarray, what: str) -> None:
        """A ValueError for a label outside [0, 1] after label smoothing (NaN
        and Inf are left to the checks that name them)."""
        labels = y_true.astype(np.float64)
        labels = np.where(np.isfinite(labels), labels, 0.0)
        smoothing = self.label_smoothing
        _losses._check_binary_targets(labels * (1.0 - smoothing) + 0.5 * smoothing, what)


class CategoricalCrossentropy(_CrossentropyMetric):
    """Mean categorical cross-entropy against one-hot labels (Keras's
    ``metrics.CategoricalCrossentropy``).

    Args:
        name: defaults to `"categorical_crossentropy"`.
        dtype: accepted for Keras compatibility.
        from_logits: predictions are logits. Defaults to `False`.
        label_smoothing: in [0, 1], as the loss's. Defaults to `0.0`.
        axis: the class axis: `-1` or `1`, the last axis of fastnn's 2-D
            `(samples, outputs)` data. Defaults to `-1`.
    """

    kind = "categorical_crossentropy"
    _default_name = "categorical_crossentropy"

    def __init__(self, name=None, dtype=None, from_logits=False, label_smoothing=0.0, axis=-1):
        self.axis = _outputs_axis(axis, type(self).__name__)
        super().__init__(name, dtype, from_logits, label_smoothing)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class SparseCategoricalCrossentropy(_CrossentropyMetric):
    """Mean categorical cross-entropy against integer labels (Keras's
    ``metrics.SparseCategoricalCrossentropy``).

    Args:
        name: defaults to `"sparse_categorical_crossentropy"`.
        dtype: accepted for Keras compatibility.
        from_logits: predictions are logits. Defaults to `False`.
        ignore_class: Keras's, accepted at its default, `None`.
        axis: the class axis: `-1` or `1`, the last axis of fastnn's 2-D
            `(samples, outputs)` data. Defaults to `-1`.
    """

    kind = "sparse_categorical_crossentropy"
    _default_name = "sparse_categorical_crossentropy"
    _one_dim = None
    _integer_labels = True
    check_shapes = SparseCategoricalAccuracy.check_shapes

    def __init__(self, name=None, dtype=None, from_logits=False, ignore_class=None, axis=-1):
        _losses._check_keras_only(type(self).__name__, ignore_class=ignore_class)
        self.axis = _outputs_axis(axis, type(self).__name__)
        super().__init__(name, dtype, from_logits)

    @property
    def params(self) -> dict:
        return {"from_logits": self.from_logits}

    def get_config(self) -> dict:
        return {
            **Metric.get_config(self),
            "from_logits": self.from_logits,
            "ignore_class": None,
            "axis": self.axis,
        }


class _LossMetric(Metric):
    """The mean over the samples (weighted in `weighted_metrics`) of the
    loss of the same name, as Keras 3's MeanMetricWrapper metrics
    (keras/src/metrics/regression_metrics.py, probabilistic_metrics.py,
    hinge_metrics.py): computed by the loss's C++ kernel, per batch (the
    hinges convert labels that are all 0 or 1 to -1/1 per batch, as Keras)."""

    direction = "down"


class MeanAbsolutePercentageError(_LossMetric):
    """Mean of ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``.

    Args:
        name: defaults to `"mean_absolute_percentage_error"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "mean_absolute_percentage_error"
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_LossMetric):
    """Mean of ``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))**2, axis=-1)``.

    Args:
        name: defaults to `"mean_squared_logarithmic_error"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "mean_squared_logarithmic_error"
    _default_name = "mean_squared_logarithmic_error"


class LogCoshError(_LossMetric):
    """Mean of ``mean(log(cosh(y_pred - y_true)), axis=-1)``.

    Args:
        name: defaults to `"logcosh"` (Keras's name).
        dtype: accepted for Keras compatibility.
    """

    kind = "log_cosh_error"
    _default_name = "logcosh"


class KLDivergence(_LossMetric):
    """Mean of ``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[1e-7, 1]``.

    Args:
        name: defaults to `"kl_divergence"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "kl_divergence"
    _default_name = "kl_divergence"


class Poisson(_LossMetric):
    """Mean of ``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``.

    Args:
        name: defaults to `"poisson"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "poisson"
    _default_name = "poisson"


class Hinge(_LossMetric):
    """Mean of ``mean(max(1 - y_true * y_pred, 0), axis=-1)`` (0/1 labels as -1/1).

    Args:
        name: defaults to `"hinge"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "hinge"
    _default_name = "hinge"


class SquaredHinge(_LossMetric):
    """Mean of ``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`` (0/1 labels as -1/1).

    Args:
        name: defaults to `"squared_hinge"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "squared_hinge"
    _default_name = "squared_hinge"


class CategoricalHinge(_LossMetric):
    """Mean of ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``.

    Args:
        name: defaults to `"categorical_hinge"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "categorical_hinge"
    _default_name = "categorical_hinge"


# -- confusion counts in NumPy (keras/src/metrics/metrics_utils.py) -------------------
#
# What the C++ engine does not count (several thresholds, `top_k`, `class_id`,
# AUC's `multi_label` and `label_weights`, the *At* metrics) is counted here from
# each batch, as Keras 3's `update_confusion_matrix_variables`: labels cast to
# bool, predictions compared in float32 (`y_pred > threshold`), or for evenly
# spaced thresholds Keras's bucket form (predictions clipped to [0, 1], bucket
# `ceil(p * (T - 1)) - 1`); the weighted counts are summed in float64.

_NEG_INF = -1e10  # Keras's NEG_INF: predictions outside the row's top k become this


def _parse_thresholds(thresholds, default: float) -> list:
    """Keras's `parse_init_thresholds`: the thresholds as a list of floats,
    each in [0, 1]; `[default]` for None."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [
        t
        for t in values
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Real) or not 0 <= t <= 1
    ]
    if bad or not values:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad or values}")
    return [float(t) for t in values]


def _evenly_distributed(thresholds) -> bool:
    """Keras's `is_evenly_distributed_thresholds`: at least 3, i / (n - 1)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=1e-7))


def _optional_int(value, what: str, cls_name: str, positive: bool = False):
    """`top_k` (a positive integer) or `class_id` (an integer), or None."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{cls_name}: `{what}` must be an integer or None, got {value!r}")
    if positive and value < 1:
        raise ValueError(f"{cls_name}: `{what}` must be a positive integer, got {value}")
    return int(value)


def _filter_top_k(y_pred: np.ndarray, k: int, where: str) -> np.ndarray:
    """Keras's `_filter_top_k`: the `k` largest values of the last axis kept
    (of ties, the first), the others set to NEG_INF."""
    if k > y_pred.shape[-1]:
        raise ValueError(
            f"{where}: top_k={k} is more than the {y_pred.shape[-1]} values of y_pred's last "
            f"axis (shape {y_pred.shape})"
        )
    top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(y_pred.shape, bool)
    np.put_along_axis(keep, top, True, axis=-1)
    return np.where(keep, y_pred, np.float32(_NEG_INF))


def _class_column(y_true, y_pred, class_id: int, where: str):
    """Keras's `y[..., class_id, None]` of labels and predictions."""
    if y_pred.ndim == 1:
        raise ValueError(
            "When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
            f"num_classes), found shape: {y_pred.shape}"
        )
    classes = y_pred.shape[-1]
    if not -classes <= class_id < classes:
        raise ValueError(
            f"{where}: class_id={class_id} is out of range for y_pred of shape {y_pred.shape} "
            f"({classes} classes)"
        )
    return y_true[..., class_id, None], y_pred[..., class_id, None]


def _confusion_counts(
    y_true,
    y_pred,
    sample_weight,
    thresholds,
    where: str,
    evenly: bool = False,
    top_k=None,
    class_id=None,
    multi_label: bool = False,
    label_weights=None,
):
    """A batch's weighted `(tp, fp, tn, fn)` at each threshold, float64 arrays
    of shape `(thresholds, labels)`: one label (every element counted
    together) unless `multi_label`, where each column of a 2-D `y_pred` is a
    label. Keras's `update_confusion_matrix_variables`, options and all."""
    y_pred = _real_array(y_pred, "y_pred", where).astype(np.float32)
    y_true = _real_array(y_true, "y_true", where).astype(np.float32)
    y_pred, y_true = _squeeze_or_expand_to_same_rank(y_pred, y_true)
    weights = None
    if sample_weight is not None:
        weights = _real_array(sample_weight, "sample_weight", where).astype(np.float32)[..., None]
        _, weights = _squeeze_or_expand_to_same_rank(y_true, weights, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k, where)
    if class_id is not None:
        y_true, y_pred = _class_column(y_true, y_pred, class_id, where)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{where}: y_true and y_pred must have the same shape; got y_true of shape "
            f"{y_true.shape} and y_pred of shape {y_pred.shape}"
        )
    weights = np.ones(y_pred.shape, np.float32) if weights is None else weights
    try:
        weights = np.broadcast_to(weights, y_pred.shape)
        if label_weights is not None:
            weights = weights * np.broadcast_to(np.expand_dims(label_weights, 0), y_pred.shape)
    except ValueError:
        raise ValueError(
            f"{where}: sample_weight of shape {np.shape(sample_weight)}"
            + ("" if label_weights is None else f" and label_weights {np.shape(label_weights)}")
            + f" do not broadcast to y_pred of shape {y_pred.shape}"
        ) from None
    if multi_label:
        y_true, y_pred, weights = (a.reshape(len(a), -1) for a in (y_true, y_pred, weights))
    else:
        y_true, y_pred, weights = (a.reshape(-1, 1) for a in (y_true, y_pred, weights))
    weights = weights.astype(np.float64)
    positive = np.where(y_true != 0, weights, 0.0)  # (a NaN label is True, as Keras's cast)
    negative = np.where(y_true != 0, 0.0, weights)
    thresholds = np.asarray(thresholds, np.float32)
    if evenly:
        above_pos, above_neg = _bucket_sums(y_pred, positive, negative, thresholds)
    else:
        above_pos, above_neg = _sorted_sums(y_pred, positive, negative, thresholds)
    # row 0: every element; rows 1..T: those above each threshold
    tp, fp = above_pos[1:], above_neg[1:]
    return tp, fp, above_neg[0] - fp, above_pos[0] - tp


def _bucket_sums(y_pred, positive, negative, thresholds):
    """Keras's `_update_confusion_matrix_variables_optimized`: per label, the
    weights of the elements above each of `T` evenly spaced thresholds
    (rows 1..T) and of all of them (row 0), float64 `(T + 1, labels)`."""
    n, labels = y_pred.shape
    t = len(thresholds)
    buckets = np.ceil(np.clip(y_pred, 0.0, 1.0) * np.float32(t - 1)) - np.float32(1.0)
    if thresholds[0] < 0.0 or thresholds[-1] > 1.0:  # thresholds with an epsilon
        buckets = np.maximum(buckets, 0.0)
    # bucket b counts at thresholds 0..b: index b + 1; below them all (or NaN): 0
    index = np.where((buckets >= 0) & (buckets < t), buckets + 1, 0).astype(np.int64)
    index = index * labels + np.arange(labels)
    out = []
    for values in (positive, negative):
        sums = np.bincount(index.ravel(), weights=values.ravel(), minlength=(t + 1) * labels)
        out.append(np.cumsum(sums.reshape(t + 1, labels)[::-1], axis=0)[::-1])
    return out


def _sorted_sums(y_pred, positive, negative, thresholds):
    """Per label, the weights of the elements with `y_pred > threshold` (in
    float32, rows 1..T) and of all of them (row 0), float64 `(T + 1, labels)`."""
    n, labels = y_pred.shape
    out = [np.zeros((len(thresholds) + 1, labels)) for _ in range(2)]
    for j in range(labels):
        column = np.where(np.isnan(y_pred[:, j]), -np.inf, y_pred[:, j])  # NaN: never above
        order = np.argsort(column, kind="stable")
        first_above = np.searchsorted(column[order], thresholds, side="right")
        for values, sums in zip((positive, negative), out):
            suffix = np.append(np.cumsum(values[order[::-1], j])[::-1], 0.0)
            sums[0, j] = suffix[0]
            sums[1:, j] = suffix[first_above]
    return out


def _divide_no_nan(a, b):
    """Keras's `ops.divide_no_nan`: a / b, 0 where b is 0."""
    return np.divide(
        a, b, out=np.zeros(np.broadcast(a, b).shape, np.result_type(a, b)), where=b != 0
    )


class _ConfusionMetric(Metric):
    """Base of the confusion-count metrics: the C++ engine counts the default
    options (one threshold); other options make the instance a host metric
    (`is_host_metric`), counted in NumPy from each batch (`_confusion_counts`)
    with the state `_counts`, `(tp, fp, tn, fn)` summed in float64, or None."""

    _one_dim = "elements"
    _host = False

    def _counting(self) -> dict:
        """`_confusion_counts`'s options for this metric."""
        return {"thresholds": self.thresholds, "evenly": _evenly_distributed(self.thresholds)}

    def _value_of_counts(self, tp, fp, tn, fn):
        raise NotImplementedError

    def _add_counts(self, y_true, y_pred, sample_weight) -> None:
        where = f"{type(self).__name__}.update_state"
        counts = _confusion_counts(y_true, y_pred, sample_weight, where=where, **self._counting())
        state = self.__dict__.get("_counts")
        if state is not None:
            counts = tuple(a + b for a, b in zip(state, counts))
        self._counts = counts  # a new tuple: a `state_copy` twin keeps its own

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """As Keras's: labels cast to bool, predictions above a threshold
        positive; `sample_weight` broadcastable to `y_pred` (per sample or,
        for the metrics counted in Python, per element)."""
        if not self._host:
            return super().update_state(y_true, y_pred, sample_weight=sample_weight)
        self._add_counts(y_true, y_pred, sample_weight)

    def result(self):
        if not self._host:
            return super().result()
        from fastnn.layers import _EagerArray

        counts = self.__dict__.get("_counts")
        if counts is None:
            counts = (np.zeros((len(self.thresholds), 1)),) * 4
        value = self._value_of_counts(*(np.asarray(c, np.float32) for c in counts))
        with np.errstate(over="ignore"):
            return np.asarray(value, np.float32).view(_EagerArray)

    def reset_state(self) -> None:
        super().reset_state()
        self._counts = None

    _keras_state_names = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def _keras_counts(self):
        """`(tp, fp, tn, fn)` float64 `(thresholds, labels)` of a metric
        counted in Python; None before its first update."""
        return self.__dict__.get("_counts")

    def _keras_state(self):
        if _user_overrides(type(self)):
            return None
        counts = self._keras_counts()
        if counts is None:
            counts = (np.zeros((len(self.thresholds), 1)),) * 4
        names = ("true_positives", "false_positives", "true_negatives", "false_negatives")
        return {n: c[:, 0] if c.shape[1] == 1 else c for n, c in zip(names, counts)}

    def _one_or_all(self, values):
        """Keras's result: one value per threshold, a scalar for one."""
        values = np.asarray(values)[:, 0]
        return values[0] if len(values) == 1 else values

    def __eq__(self, other):  # an instance with a state of its own: itself only
        return self is other if self._host else Metric.__eq__(self, other)

    def __hash__(self):
        return id(self) if self._host else Metric.__hash__(self)


class _ConfusionCount(_ConfusionMetric):
    """A count of output elements by label (nonzero: positive) and prediction
    (above the threshold: positive), weighted for `weighted_metrics`, as
    Keras's TruePositives etc.; the log holds the count, not a mean.

    Args:
        thresholds: a number in [0, 1], or a list of them: one count per
            threshold (a float32 array, as Keras's; counted in Python).
            Defaults to `None` (0.5).
        name: defaults to the class's snake-case name.
        dtype: accepted for Keras compatibility.
    """

    _cell = 0  # index in (tp, fp, tn, fn)

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self._host = len(self.thresholds) > 1

    @property
    def params(self) -> dict:
        if self._host:
            return {"thresholds": tuple(self.thresholds)}
        return {"threshold": self.thresholds[0]}

    def _value(self, sums, count: float) -> float:
        return sums[0]

    def _value_of_counts(self, *counts):
        return self._one_or_all(counts[self._cell])

    _keras_state_names = ("accumulator",)

    def _keras_state(self):
        if _user_overrides(type(self)):
            return None
        if self._host:
            counts = self._keras_counts()
            if counts is None:
                return {"accumulator": np.zeros(len(self.thresholds))}
            return {"accumulator": counts[self._cell][:, 0]}
        state = self.__dict__.get("_state")
        return {"accumulator": np.zeros(1) if state is None else state[2][:1]}

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """Output elements with a nonzero label predicted above the threshold."""

    kind = "true_positives"
    _default_name = "true_positives"
    _cell = 0


class FalsePositives(_ConfusionCount):
    """Output elements with a zero label predicted above the threshold."""

    kind = "false_positives"
    direction = "down"
    _default_name = "false_positives"
    _cell = 1


class TrueNegatives(_ConfusionCount):
    """Output elements with a zero label predicted at or below the threshold."""

    kind = "true_negatives"
    _default_name = "true_negatives"
    _cell = 2


class FalseNegatives(_ConfusionCount):
    """Output elements with a nonzero label predicted at or below the threshold."""

    kind = "false_negatives"
    direction = "down"
    _default_name = "false_negatives"
    _cell = 3


class _ConfusionRatio(_ConfusionMetric):
    """tp / (tp + other) over the whole run (0 when both are 0), as Keras's
    Precision and Recall. One threshold and no `top_k` or `class_id`: the
    C++ engine counts; otherwise NumPy, from each batch (a host metric).

    Args:
        thresholds: a number in [0, 1] or a list of them (then a float32
            array, one value per threshold, as Keras's). Defaults to `None`:
            0.5, or with `top_k` Keras's NEG_INF (every top-k prediction
            positive).
        top_k: only each row's `k` largest predictions can be positive (the
            others become NEG_INF, as Keras's `_filter_top_k`; of tied values
            the first). Defaults to `None`.
        class_id: only this column of labels and predictions counts (a
            negative id counts from the end, as Keras's indexing; out of range:
            a ValueError at `update_state`). Defaults to `None`.
        name: defaults to the class's snake-case name.
        dtype: accepted for Keras compatibility.
    """

    _other = None  # index of the other count in (tp, fp, tn, fn)

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        cls_name = type(self).__name__
        self.init_thresholds = thresholds
        self.top_k = _optional_int(top_k, "top_k", cls_name, positive=True)
        self.class_id = _optional_int(class_id, "class_id", cls_name)
        default = 0.5 if top_k is None else _NEG_INF
        self.thresholds = _parse_thresholds(thresholds, default)
        self._host = len(self.thresholds) > 1 or top_k is not None or class_id is not None

    @property
    def params(self) -> dict:
        if self._host:
            return {
                "thresholds": tuple(self.thresholds),
                "top_k": self.top_k,
                "class_id": self.class_id,
            }
        return {"threshold": self.thresholds[0]}

    def _counting(self) -> dict:
        return {**super()._counting(), "top_k": self.top_k, "class_id": self.class_id}

    def _kernels(self) -> list:
        if is_host_metric(self):
            return []
        t = self.thresholds[0]
        kinds = ("true_positives", "false_positives", "true_negatives", "false_negatives")
        return [
            {"kind": "true_positives", "threshold": t},
            {"kind": kinds[self._other], "threshold": t},
        ]

    def _value(self, sums, count: float) -> float:
        total = sums[0] + sums[1]
        return sums[0] / total if total else 0.0

    def _value_of_counts(self, *counts):
        tp, other = counts[0], counts[self._other]
        return self._one_or_all(_divide_no_nan(tp, tp + other))

    def _keras_state(self):
        if _user_overrides(type(self)):
            return None
        names = ("true_positives", self._keras_state_names[self._other])
        if self._host:
            counts = self._keras_counts()
            if counts is None:
                return {n: np.zeros(len(self.thresholds)) for n in names}
            return {names[0]: counts[0][:, 0], names[1]: counts[self._other][:, 0]}
        state = self.__dict__.get("_state")
        sums = np.zeros(2) if state is None else state[2]
        return {names[0]: sums[:1], names[1]: sums[1:2]}

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_ConfusionRatio):
    """True positives over predicted positives (Keras's Precision)."""

    kind = "precision"
    _other = 1
    _default_name = "precision"


class Recall(_ConfusionRatio):
    """True positives over labelled positives (Keras's Recall)."""

    kind = "recall"
    _other = 3
    _default_name = "recall"


class _SensitivitySpecificityBase(_ConfusionMetric):
    """Keras's `SensitivitySpecificityBase`: confusion counts at
    `num_thresholds` thresholds (0, evenly spaced, 1; 0.5 alone for one),
    counted in NumPy from each batch (a host metric); the result is the best
    value of one ratio among the thresholds where the other is at least
    `value` (Keras's `_find_max_under_constraint`, 0 where none is)."""

    _host = True
    direction = "up"
    _value_arg = None  # the argument's name: "recall", "precision", ...

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        cls_name = type(self).__name__
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"{cls_name}: `{self._value_arg}` must be a number in [0, 1], got {value!r}"
            )
        if not 0 <= value <= 1:
            raise ValueError(
                f"Argument `{self._value_arg}` must be in the range [0, 1]. "
                f"Received: {self._value_arg}={value}"
            )
        if isinstance(num_thresholds, (bool, np.bool_)) or not isinstance(
            num_thresholds, numbers.Integral
        ):
            raise ValueError(
                f"Argument `num_thresholds` must be an integer > 0. "
                f"Received: num_thresholds={num_thresholds!r}"
            )
        if num_thresholds <= 0:
            raise ValueError(
                "Argument `num_thresholds` must be an integer > 0. "
                f"Received: num_thresholds={num_thresholds}"
            )
        super().__init__(name=name, dtype=dtype)
        setattr(self, self._value_arg, value)
        self.value = value
        self.num_thresholds = int(num_thresholds)
        self.class_id = _optional_int(class_id, "class_id", cls_name)
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0, *inner, 1.0]

    @property
    def params(self) -> dict:
        return {
            self._value_arg: self.value,
            "num_thresholds": self.num_thresholds,
            "class_id": self.class_id,
        }

    def _counting(self) -> dict:
        # Keras counts 2 or more thresholds in buckets, without checking their spacing
        evenly = self.num_thresholds > 1
        return {"thresholds": self.thresholds, "evenly": evenly, "class_id": self.class_id}

    def _value_of_counts(self, tp, fp, tn, fn):
        ratios = {
            "sensitivity": _divide_no_nan(tp, tp + fn),  # = recall
            "specificity": _divide_no_nan(tn, tn + fp),
            "precision": _divide_no_nan(tp, tp + fp),
        }
        constrained, dependent = (ratios[k] for k in self._ratios)
        feasible = constrained >= np.float32(self.value)
        return np.max(np.where(feasible, dependent, 0.0), initial=0.0)

    def get_config(self) -> dict:
        return {
            **Metric.get_config(self),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._value_arg: self.value,
        }


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """The best sensitivity, ``tp / (tp + fn)``, among the thresholds where
    the specificity, ``tn / (tn + fp)``, is at least `specificity` (Keras 3's
    ``SensitivityAtSpecificity``, keras/src/metrics/confusion_metrics.py).

    Args:
        specificity: a number in [0, 1].
        num_thresholds: how many thresholds, > 0. Defaults to `200`.
        class_id: only this column counts. Defaults to `None`.
        name: defaults to `"sensitivity_at_specificity"`.
        dtype: accepted for Keras compatibility.

    >>> m = SensitivityAtSpecificity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> float(m.result())
    0.5
    """

    _default_name = "sensitivity_at_specificity"
    _value_arg = "specificity"
    _ratios = ("specificity", "sensitivity")

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """The best specificity, ``tn / (tn + fp)``, among the thresholds where
    the sensitivity, ``tp / (tp + fn)``, is at least `sensitivity` (Keras 3's
    ``SpecificityAtSensitivity``).

    Args:
        sensitivity: a number in [0, 1].
        num_thresholds: how many thresholds, > 0. Defaults to `200`.
        class_id: only this column counts. Defaults to `None`.
        name: defaults to `"specificity_at_sensitivity"`.
        dtype: accepted for Keras compatibility.
    """

    _default_name = "specificity_at_sensitivity"
    _value_arg = "sensitivity"
    _ratios = ("sensitivity", "specificity")

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """The best precision among the thresholds where the recall is at least
    `recall` (Keras 3's ``PrecisionAtRecall``).

    Args:
        recall: a number in [0, 1].
        num_thresholds: how many thresholds, > 0. Defaults to `200`.
        class_id: only this column counts. Defaults to `None`.
        name: defaults to `"precision_at_recall"`.
        dtype: accepted for Keras compatibility.
    """

    _default_name = "precision_at_recall"
    _value_arg = "recall"
    _ratios = ("sensitivity", "precision")

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_SensitivitySpecificityBase):
    """The best recall among the thresholds where the precision is at least
    `precision` (0 where none is: Keras 3's ``RecallAtPrecision``).

    Args:
        precision: a number in [0, 1].
        num_thresholds: how many thresholds, > 0. Defaults to `200`.
        class_id: only this column counts. Defaults to `None`.
        name: defaults to `"recall_at_precision"`.
        dtype: accepted for Keras compatibility.
    """

    _default_name = "recall_at_precision"
    _value_arg = "precision"
    _ratios = ("precision", "sensitivity")

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


def _auc_areas(tp, fp, tn, fn, curve: str, summation_method: str):
    """Keras's AUC (`result`, `interpolate_pr_auc`) of confusion counts at
    each threshold (axis 0): per label, the area (a Riemann sum, or for PR
    with interpolation Davis & Goadrich's formula)."""
    if curve == "PR" and summation_method == "interpolation":
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        p_ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0.0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(p_ratio)
        increment = _divide_no_nan(
            slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0)
        )
        return np.sum(increment, axis=0)
    recall = _divide_no_nan(tp, tp + fn)
    if curve == "ROC":
        x, y = _divide_no_nan(fp, fp + tn), recall
    else:
        x, y = recall, _divide_no_nan(tp, tp + fp)
    if summation_method == "interpolation":
        heights = (y[:-1] + y[1:]) / 2.0
    elif summation_method == "minoring":
        heights = np.minimum(y[:-1], y[1:])
    else:
        heights = np.maximum(y[:-1], y[1:])
    return np.sum((x[:-1] - x[1:]) * heights, axis=0)


class AUC(_ConfusionMetric):
    """Area under the ROC (or precision-recall) curve, as Keras 3's ``AUC``
    (keras/src/metrics/confusion_metrics.py): confusion counts at
    `num_thresholds` thresholds (evenly spaced in (0, 1), plus one just below
    0 and one just above 1), summed over the run, then Keras's Riemann sum
    (or its interpolated PR formula). One AUC over every output element is
    counted by the C++ engine; with `multi_label` or `label_weights`, NumPy
    counts each batch (a host metric), as Keras does (evenly spaced
    thresholds in its bucket form).

    Args:
        num_thresholds: how many thresholds, > 1. Defaults to `200`.
        curve: `"ROC"` or `"PR"`. Defaults to `"ROC"`.
        summation_method: `"interpolation"`, `"minoring"` or `"majoring"`.
            Defaults to `"interpolation"`.
        name: Defaults to `"auc"`.
        dtype: accepted for Keras compatibility.
        thresholds: explicit thresholds instead of `num_thresholds` (any
            real numbers, as Keras's: those outside [0, 1] count where the
            predictions are compared unclipped). Defaults to `None`.
        multi_label: `True`: an AUC per output column (a label) of 2-D
            predictions, averaged (weighted by `label_weights`). Defaults to
            `False`.
        num_labels: with `multi_label`, the number of labels (otherwise taken
            from the first batch). Defaults to `None`.
        label_weights: one non-negative weight per label: the weights of
            the average with `multi_label`, else of each column's counts.
            Defaults to `None`.
        from_logits: predictions are logits (thresholded after a sigmoid).
            Defaults to `False`.
    """

    kind = "auc"
    _default_name = "auc"

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        super().__init__(name=name, dtype=dtype)
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected ROC or PR')
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                f'Invalid `summation_method` argument value "{summation_method}". Expected '
                "interpolation, minoring or majoring"
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            # any real numbers, as Keras's AUC takes them (its Precision and
            # Recall want [0, 1]); e.g. thresholds on logits
            inner = sorted(float(t) for t in thresholds)
            if any(t != t for t in inner):
                raise ValueError(f"AUC: thresholds must be numbers, not NaN; got {thresholds!r}")
            self.num_thresholds = len(inner) + 2
            self._evenly = _evenly_distributed([0.0, *inner, 1.0])
        else:
            if isinstance(num_thresholds, (bool, np.bool_)) or not isinstance(
                num_thresholds, numbers.Integral
            ):
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: "
                    f"num_thresholds={num_thresholds!r}"
                )
            num_thresholds = int(num_thresholds)  # (a NumPy integer too, as Keras)
            if num_thresholds <= 1:
                raise ValueError(
                    "Argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self.thresholds = [-1e-7, *inner, 1.0 + 1e-7]
        self.curve = curve
        self.summation_method = summation_method
        self.from_logits = bool(from_logits)
        self.multi_label = bool(multi_label)
        if num_labels is not None and not self.multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.num_labels = _optional_int(num_labels, "num_labels", "AUC", positive=True)
        if label_weights is not None:
            label_weights = _real_array(label_weights, "label_weights", "AUC")
            if label_weights.ndim != 1 or not np.isfinite(label_weights).all():
                raise ValueError(
                    f"AUC: label_weights must be a list of numbers, one per label; "
                    f"got {label_weights!r}"
                )
            if self.num_labels is not None and len(label_weights) != self.num_labels:
                raise ValueError(
                    f"AUC: {len(label_weights)} label_weights for num_labels={self.num_labels}"
                )
            label_weights = label_weights.astype(np.float32)
        self.label_weights = label_weights
        self._host = self.multi_label or label_weights is not None
        self._labels = self.num_labels  # multi_label: the labels, once known

    @property
    def params(self) -> dict:
        if not self._host:
            return {"num_thresholds": self.num_thresholds}
        return {
            "num_thresholds": self.num_thresholds,
            "multi_label": self.multi_label,
            "label_weights": None
            if self.label_weights is None
            else tuple(self.label_weights.tolist()),
        }

    def check_shapes(self, y_true_shape, y_pred_shape) -> None:
        self._check_rank(_shape(y_pred_shape, "y_pred_shape"))
        Metric.check_shapes(self, y_true_shape, y_pred_shape)

    def _check_rank(self, y_pred_shape) -> None:
        if self.multi_label and len(y_pred_shape) != 2:
            raise ValueError(
                "`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                f"{len(y_pred_shape)}. Full shape received for `y_pred`: {tuple(y_pred_shape)}"
            )

    def _engine_threshold(self, t: float) -> float:
        """The threshold on what the engine compares: the prediction, or with
        `from_logits` the logit whose sigmoid is `t`."""
        if not self.from_logits:
            return t
        if t <= 0.0:
            return -3.0e38  # every sigmoid is above
        if t >= 1.0:
            return 3.0e38
        return math.log(t / (1.0 - t))

    def _kernels(self) -> list:
        if is_host_metric(self):
            return []
        kinds = ("true_positives", "false_positives", "true_negatives", "false_negatives")
        # Keras clips the probabilities in its evenly spaced path; a sigmoid of
        # logits (compared here as logits against logit thresholds) needs none
        clip = self._evenly and not self.from_logits
        return [
            {"kind": kind, "threshold": self._engine_threshold(t), "clip_to_unit": clip}
            for kind in kinds
            for t in self.thresholds
        ]

    def _value(self, sums, count: float) -> float:
        n = self.num_thresholds
        counts = (np.asarray(sums[i * n : (i + 1) * n], np.float64) for i in range(4))
        return float(_auc_areas(*counts, self.curve, self.summation_method))

    def _keras_counts(self):
        if self._host:
            counts = self.__dict__.get("_counts")
            if counts is None and self.multi_label:
                labels = self._labels
                if labels is None:
                    return ()  # Keras builds them at the first update: none yet
                return (np.zeros((self.num_thresholds, labels)),) * 4
            return counts
        state = self.__dict__.get("_state")
        if state is None:
            return None
        return tuple(state[2].reshape(4, self.num_thresholds, 1))

    def _keras_state(self):
        if _user_overrides(type(self)):
            return None
        counts = self._keras_counts()
        if counts == ():
            return {}
        if counts is not None and self.multi_label:
            names = self._keras_state_names
            return dict(zip(names, counts))
        return super()._keras_state()

    def _counting(self) -> dict:
        return {
            "thresholds": self.thresholds,
            "evenly": self._evenly,
            "multi_label": self.multi_label,
            "label_weights": None if self.multi_label else self.label_weights,
        }

    def _add_counts(self, y_true, y_pred, sample_weight) -> None:
        where = "AUC.update_state"
        y_pred = _real_array(y_pred, "y_pred", where)
        if self.multi_label:
            self._check_rank(y_pred.shape)
            if self._labels is not None and y_pred.shape[1] != self._labels:
                raise ValueError(
                    f"{where}: multi_label AUC counts {self._labels} labels; got y_pred of shape "
                    f"{y_pred.shape}"
                )
            if self.label_weights is not None and len(self.label_weights) != y_pred.shape[1]:
                raise ValueError(
                    f"{where}: {len(self.label_weights)} label_weights for y_pred of shape "
                    f"{y_pred.shape}"
                )
        if self.from_logits:  # Keras: activations.sigmoid
            with np.errstate(over="ignore"):
                y_pred = (1.0 / (1.0 + np.exp(-y_pred.astype(np.float32)))).astype(np.float32)
        super()._add_counts(y_true, y_pred, sample_weight)
        if self.multi_label:
            self._labels = y_pred.shape[1]

    def _value_of_counts(self, tp, fp, tn, fn):
        areas = _auc_areas(tp, fp, tn, fn, self.curve, self.summation_method)
        if not self.multi_label:
            return areas[0]
        if self.label_weights is None:
            return np.mean(areas)
        weights = self.label_weights
        return _divide_no_nan(np.sum(areas * weights), np.sum(weights))

    def result(self):
        if self._host and self.__dict__.get("_counts") is None:
            from fastnn.layers import _EagerArray

            return np.asarray(0.0, np.float32).view(_EagerArray)  # no data (Keras: 0 or an error)
        return super().result()

    def get_config(self) -> dict:
        label_weights = self.label_weights
        config = {
            **Metric.get_config(self),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if label_weights is None else label_weights.tolist(),
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("thresholds") is not None:
            config.pop("num_thresholds", None)
        return cls(**config)


class CosineSimilarity(Metric):
    """Mean over the samples of ``sum(l2_normalize(y_true) * l2_normalize(y_pred),
    axis=-1)``, Keras 3's ``metrics.CosineSimilarity``
    (keras/src/metrics/regression_metrics.py): the negated `CosineSimilarity`
    loss, computed by its C++ kernel.

    Args:
        name: defaults to `"cosine_similarity"`.
        dtype: accepted for Keras compatibility.
        axis: the axis of the vectors: `-1` or `1`, the last axis of fastnn's
            2-D `(samples, outputs)` data. Defaults to `-1`.
    """

    kind = "cosine_similarity"
    _default_name = "cosine_similarity"

    def __init__(self, name=None, dtype=None, axis=-1):
        _outputs_axis(axis, type(self).__name__)  # (Keras's config leaves it out)
        super().__init__(name=name, dtype=dtype)


def _two_dims(metric, y_true_shape, y_pred_shape) -> int:
    """The number of outputs of 2-D labels and predictions (Keras's R2Score
    and FBetaScore take nothing else); labels ``(n,)`` against predictions
    ``(n, 1)`` count as ``(n, 1)`` (R2Score's `squeeze_or_expand_to_same_rank`;
    fastnn's engine reads a single output's labels either way, so
    FBetaScore takes them too, where Keras's needs ``(n, 1)``)."""
    t = _shape(y_true_shape, "y_true_shape")
    p = _shape(y_pred_shape, "y_pred_shape")
    if len(t) == 1 and len(p) == 2 and p[-1] == 1:
        t = t + (1,)
    if len(t) != 2 or len(p) != 2 or t != p:
        raise ValueError(
            f"{type(metric).__name__} expects 2D inputs with shape (batch_size, output_dim). "
            f"Received input shapes: y_pred.shape={p} and y_true.shape={t}."
        )
    return p[-1]


class _PerOutputMetric(Metric):
    """A metric of per-output sums over the whole run (R2Score, FBetaScore):
    2-D labels and predictions; with its aggregation argument None, one
    score per output, logged as Keras 3 logs it: a float32 NumPy array in
    logs, History and evaluate's results (for one output, a float only
    where the NumPy in use converts a one-element array with ``float()``, as
    Keras's logs do: see ``models._float_takes_size_one_arrays``), the
    progress bar showing its mean."""

    _one_dim = None

    def check_shapes(self, y_true_shape, y_pred_shape) -> None:
        self._outputs = _two_dims(self, y_true_shape, y_pred_shape)

    _keras_state_names = ()

    def _keras_state(self):
        return None  # (per-output sums in fastnn's form, not Keras's variables)

    def _empty_value(self):
        # Keras builds the per-output state on the first update; its result()
        # fails before one (AttributeError), so does fastnn's, saying why.
        raise ValueError(
            f"{type(self).__name__}.result() needs the number of outputs: call update_state first"
        )

    def get_config(self) -> dict:
        return {**super().get_config(), **self.params}


class R2Score(_PerOutputMetric):
    """The coefficient of determination over the whole run, Keras 3's
    ``R2Score`` (keras/src/metrics/regression_metrics.py): per output j,
    ``1 - sum w (y - p)**2 / (sum w y**2 - (sum w y)**2 / sum w)`` from
    sums the C++ engine accumulates per batch in float64 (0 where that is
    infinite), aggregated over the outputs.

    Args:
        class_aggregation: `"uniform_average"` (mean over the outputs),
            `"variance_weighted_average"` (weighted by each output's sum of
            squares) or `None` (one score per output: an array in the logs,
            as Keras). Defaults to `"uniform_average"`.
        num_regressors: > 0 gives the adjusted R2,
            ``1 - (1 - R2) (n - 1) / (n - num_regressors - 1)``, n the
            number of label elements seen (samples times outputs, as Keras);
            with ``num_regressors >= n - 1`` the plain R2 and Keras's
            warning. Defaults to `0`.
        name: defaults to `"r2_score"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "r2_score"
    _default_name = "r2_score"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):  # fmt: skip
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected "
                f"one of {valid}. Received: class_aggregation={class_aggregation}"
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, numbers.Real):
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a value >= 0. "
                f"Received: num_regressors={num_regressors}"
            )
        if num_regressors < 0:
            raise ValueError(
                "Invalid value for argument `num_regressors`. "
                "Expected a value >= 0. "
                f"Received: num_regressors={num_regressors}"
            )
        super().__init__(name=name, dtype=dtype)
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self._outputs = None  # set by check_shapes

    @property
    def params(self) -> dict:
        return {"class_aggregation": self.class_aggregation, "num_regressors": self.num_regressors}

    def _kernels(self) -> list:
        return [{"kind": "r2_sums", "part": i} for i in range(3 * self._outputs + 2)]

    def _value(self, sums, count: float) -> float:
        c = self._outputs
        sums = np.asarray(sums, np.float64)
        total_sum, squared_sum, residual = sums[:c], sums[c : 2 * c], sums[2 * c : 3 * c]
        weight, rows = sums[3 * c], sums[3 * c + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = total_sum / weight
            total = squared_sum - total_sum * mean
            raw = 1.0 - residual / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = float(np.mean(raw))
        elif self.class_aggregation == "variance_weighted_average":
            with np.errstate(divide="ignore", invalid="ignore"):
                score = float(np.sum(total * raw) / np.sum(total))
        else:
            score = raw
        p = self.num_regressors
        if p != 0:
            n = rows * c  # Keras counts every label element
            if p > n - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score. "
                    "Falling back to standard R2 score.",
                    stacklevel=2,
                )
            elif p == n - 1:
                warnings.warn(
                    "Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                    stacklevel=2,
                )
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return score


class FBetaScore(_PerOutputMetric):
    """The F-beta score over the whole run, Keras 3's ``FBetaScore``
    (keras/src/metrics/f_score_metrics.py), for one-hot or multi-label
    targets: per class, true positives, false positives, false negatives
    and the label sums accumulated by the C++ engine per batch (weighted in
    `weighted_metrics`), then ``(1 + beta**2) P R / (beta**2 P + R + 1e-7)``
    with ``P = tp / (tp + fp + 1e-7)``, ``R = tp / (tp + fn + 1e-7)``.

    Args:
        average: `None` (one score per class: an array in the logs, as
            Keras), `"micro"` (the counts summed over the classes first),
            `"macro"` (the mean of the per-class scores) or `"weighted"`
            (their mean weighted by the label sums). Defaults to `None`.
        beta: a Python float > 0. Defaults to `1.0`.
        threshold: a Python float in (0, 1]: a prediction above it is
            positive; `None`: the largest prediction of each row (every tied
            one, if not within 1e-9 of 0) is positive. Defaults to `None`.
        name: defaults to `"fbeta_score"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "fbeta_score"
    _default_name = "fbeta_score"

    def __init__(self, average=None, beta=1.0, threshold=None, name=None, dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: "
                "{None, 'micro', 'macro', 'weighted'}. "
                f"Received: average={average}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                "Invalid `beta` argument value. It should be a Python float. "
                f"Received: beta={beta} of type '{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(
                f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}"
            )
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                    f"Received: threshold={threshold}"
                )
        super().__init__(name=name, dtype=dtype)
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self._outputs = None  # set by check_shapes

    @property
    def params(self) -> dict:
        return {"average": self.average, "beta": self.beta, "threshold": self.threshold}

    def _kernels(self) -> list:
        at_max = self.threshold is None
        threshold = 0.5 if at_max else self.threshold
        return [
            {"kind": "f_score_counts", "part": i, "threshold": threshold, "at_max": at_max}
            for i in range(4 * self._outputs)
        ]

    def _value(self, sums, count: float) -> float:
        tp, fp, fn, support = np.asarray(sums, np.float64).reshape(4, self._outputs)
        if self.average == "micro":
            tp, fp, fn, support = tp.sum(), fp.sum(), fn.sum(), support.sum()
        eps = _losses._EPSILON
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta**2
        score = precision * recall / (b2 * precision + recall + eps) * (1.0 + b2)
        if self.average == "weighted":
            return float(np.sum(score * support / (np.sum(support) + eps)))
        return score if self.average is None else float(np.mean(score))


class F1Score(FBetaScore):
    """The F-1 score: `FBetaScore` with ``beta=1.0`` (Keras 3's ``F1Score``).

    Args:
        average: `None`, `"micro"`, `"macro"` or `"weighted"`, as
            `FBetaScore`'s. Defaults to `None`.
        threshold: as `FBetaScore`'s. Defaults to `None`.
        name: defaults to `"f1_score"`.
        dtype: accepted for Keras compatibility.
    """

    kind = "f1_score"
    _default_name = "f1_score"

    def __init__(self, average=None, threshold=None, name=None, dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config


# -- Keras's metric functions (keras/src/metrics/accuracy_metrics.py) -------------------
#
# Per-sample values in NumPy (float32 for the accuracies, as Keras's floatx);
# `compile(metrics=[<function>])` computes the
# class the function is tagged with (`_metric_class`), named after the function.


def _tag(cls):
    def tag(function):
        function._metric_class = cls
        return function

    return tag


def _function_inputs(y_true, y_pred, what: str):
    """A metric function's arguments as arrays of real numbers, else a
    TypeError naming the argument and what came (None, strings, objects;
    NumPy compared them, or said "ufunc 'equal' did not contain a loop")."""
    from fastnn.losses import _numeric

    try:
        return _numeric(y_true, "y_true"), _numeric(y_pred, "y_pred")
    except TypeError as e:
        raise TypeError(f"{what}: {e}") from None


def _check_broadcast(y_true, y_pred, what: str, expected: str, shapes=None) -> None:
    """A ValueError naming the shapes of `y_true` and `y_pred` unless
    `shapes` (by default theirs) broadcast."""
    try:
        np.broadcast_shapes(*(shapes or (y_true.shape, y_pred.shape)))
    except ValueError:
        raise ValueError(
            f"{what}: y_true of shape {y_true.shape} does not fit y_pred of shape "
            f"{y_pred.shape}: expected {expected}"
        ) from None


def _class_inputs(y_true, y_pred, what: str, sparse: bool):
    """`(labels, y_pred)` of the class-id metric functions: y_pred
    ``(..., classes)``, the labels one class id per sample (`sparse`, also
    with a last axis of 1) or one-hot rows reduced to their arg-max; shapes
    that do not fit are a ValueError naming both."""
    y_true, y_pred = _function_inputs(y_true, y_pred, what)
    takes = "(batch,) or (batch, 1) class ids" if sparse else "one-hot rows (batch, classes)"
    if y_pred.ndim < 1 or y_pred.shape[-1] == 0 or (not sparse and y_true.ndim < 1):
        raise ValueError(
            f"{what}: y_pred must hold class scores on its last axis, (batch, classes), and "
            f"y_true {takes}; got y_true of shape {y_true.shape}, y_pred of shape {y_pred.shape}"
        )
    if sparse:
        labels = y_true
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
    else:
        labels = np.argmax(y_true, axis=-1)
    _check_broadcast(y_true, y_pred, what, f"y_true {takes}", (labels.shape, y_pred.shape[:-1]))
    return labels, y_pred


@_tag(BinaryAccuracy)
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Per output, as Keras 3 (float32): 1.0 where ``y_pred > threshold``
    equals the 0/1 label, else 0.0 (the metric averages them)."""
    from fastnn.losses import _same_rank

    y_true, y_pred = _same_rank(y_true, y_pred)
    return (y_true == (y_pred > threshold)).astype(np.float32)


@_tag(CategoricalAccuracy)
def categorical_accuracy(y_true, y_pred):
    """Per sample: 1.0 where the arg-max of the prediction is the arg-max of
    the one-hot label, else 0.0."""
    labels, y_pred = _class_inputs(y_true, y_pred, "categorical_accuracy", sparse=False)
    return (labels == np.argmax(y_pred, axis=-1)).astype(np.float32)


@_tag(SparseCategoricalAccuracy)
def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample: 1.0 where the arg-max of the prediction is the integer label."""
    labels, y_pred = _class_inputs(y_true, y_pred, "sparse_categorical_accuracy", sparse=True)
    return (labels == np.argmax(y_pred, axis=-1)).astype(np.float32)


def _in_top_k(classes, y_pred, k):
    # Keras's in_top_k: the class's score is at least the k-th largest.
    kth = np.sort(y_pred, axis=-1)[..., -min(k, y_pred.shape[-1])]
    classes = np.broadcast_to(classes, y_pred.shape[:-1])  # (checked to broadcast)
    score = np.take_along_axis(y_pred, classes[..., None].astype(np.int64), axis=-1)[..., 0]
    return (score >= kth).astype(np.float32)


@_tag(TopKCategoricalAccuracy)
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per sample: 1.0 where the one-hot label's class is among the `k`
    largest predictions."""
    labels, y_pred = _class_inputs(y_true, y_pred, "top_k_categorical_accuracy", sparse=False)
    return _in_top_k(labels, y_pred, k)


@_tag(SparseTopKCategoricalAccuracy)
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Per sample: 1.0 where the integer label is among the `k` largest
    predictions. `from_sorted_ids` is not supported."""
    if from_sorted_ids:
        raise ValueError("fastnn does not support `from_sorted_ids=True`")
    labels, y_pred = _class_inputs(y_true, y_pred, "sparse_top_k_categorical_accuracy", sparse=True)
    return _in_top_k(labels, y_pred, k)


# Keras exports the regression and cross-entropy losses as metric functions too.
mean_squared_error = _tag(MeanSquaredError)(_losses.mean_squared_error)
mean_absolute_error = _tag(MeanAbsoluteError)(_losses.mean_absolute_error)
binary_crossentropy = _tag(BinaryCrossentropy)(_losses.binary_crossentropy)
categorical_crossentropy = _tag(CategoricalCrossentropy)(_losses.categorical_crossentropy)
sparse_categorical_crossentropy = _tag(SparseCategoricalCrossentropy)(
    _losses.sparse_categorical_crossentropy
)
mean_absolute_percentage_error = _tag(MeanAbsolutePercentageError)(
    _losses.mean_absolute_percentage_error
)
mean_squared_logarithmic_error = _tag(MeanSquaredLogarithmicError)(
    _losses.mean_squared_logarithmic_error
)
log_cosh = _tag(LogCoshError)(_losses.log_cosh)
kl_divergence = _tag(KLDivergence)(_losses.kl_divergence)
poisson = _tag(Poisson)(_losses.poisson)
hinge = _tag(Hinge)(_losses.hinge)
squared_hinge = _tag(SquaredHinge)(_losses.squared_hinge)
categorical_hinge = _tag(CategoricalHinge)(_losses.categorical_hinge)
# (no metric class: in `compile` they run in Python, as function metrics)
binary_focal_crossentropy = _losses.binary_focal_crossentropy
categorical_focal_crossentropy = _losses.categorical_focal_crossentropy
huber = _losses.huber  # (keras.metrics.huber is keras.losses.huber)


_CLASSES = (
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanSquaredError,
    RootMeanSquaredError,
    MeanAbsoluteError,
    TruePositives,
    FalsePositives,
    TrueNegatives,
    FalseNegatives,
    Precision,
    Recall,
    AUC,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    LogCoshError,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    CosineSimilarity,
    R2Score,
    FBetaScore,
    F1Score,
    PearsonCorrelation,
    ConcordanceCorrelation,
)

# Names Keras accepts for these metrics: class names, snake-case names, aliases.
_BY_NAME = {}
for _cls in _CLASSES:
    _BY_NAME[_cls.__name__] = _cls
    _BY_NAME[_cls._default_name] = _cls
_BY_NAME.update(
    {
        "mse": MeanSquaredError,
        "MSE": MeanSquaredError,
        "mae": MeanAbsoluteError,
        "MAE": MeanAbsoluteError,
        "mape": MeanAbsolutePercentageError,
        "MAPE": MeanAbsolutePercentageError,
        "msle": MeanSquaredLogarithmicError,
        "MSLE": MeanSquaredLogarithmicError,
        "bce": BinaryCrossentropy,
        "BCE": BinaryCrossentropy,
        "log_cosh_error": LogCoshError,  # (Keras's snake-case class name)
        "f_beta_score": FBetaScore,  # (to_snake_case("FBetaScore"); its name is fbeta_score)
    }
)
del _BY_NAME["fbeta_score"]  # Keras's metrics.get knows the class name and f_beta_score only
del _cls

# Keras metrics fastnn does not compute: named so that the error says so.
_KERAS_ONLY = {"iou", "mean_iou", "binary_iou"}


def _supported_names() -> str:
    return ", ".join(
        sorted(
            {c._default_name for c in _CLASSES} - {"fbeta_score"}
            | {"accuracy", "acc", "bce", "f_beta_score", "mse", "mae", "mape", "msle"}
        )
    )


def _is_accuracy_alias(identifier) -> bool:
    return isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc")


def get(identifier):
    """Returns the Metric an identifier names, as Keras's `metrics.get`
    (`"accuracy"` is `Accuracy()`; `compile` resolves `"accuracy"` and `"acc"`
    by the data's shapes instead: see `resolve`).

    Args:
        identifier: a Metric instance (returned as is), a Metric class
            (instantiated), a function ``fn(y_true, y_pred)`` or a loss
            object (wrapped in a `MeanMetricWrapper` named after it), a
            name (`"mse"`, `"MeanSquaredError"`,
            `"sparse_categorical_accuracy"` ...), a config dict
            `{"class_name", "config"}`, or None.

    Raises:
        ValueError: an unknown name, a Keras metric fastnn does not compute,
            or `"acc"` (which Keras's `get` does not know either).
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        if identifier.kind or _is_host_class(identifier):
            return identifier()
    if callable(identifier) and getattr(identifier, "_metric_class", None) is not None:
        return identifier._metric_class(name=identifier.__name__)  # Keras's metric function
    if callable(identifier) and not isinstance(identifier, type):
        # a function: averaged over the samples in Python (Keras's MeanMetricWrapper),
        # named as Keras's get_object_name does (a loss object by its name)
        name = getattr(identifier, "name", None) or getattr(identifier, "__name__", None)
        return MeanMetricWrapper(identifier, name=name)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in ("accuracy", "Accuracy"):
            return Accuracy()  # as Keras's metrics.get (compile resolves "accuracy" by shapes)
        if _is_accuracy_alias(identifier):
            raise ValueError(
                f"Could not interpret metric identifier: {identifier!r}: in `compile`, "
                f"{identifier!r} depends on the shapes of labels and predictions; use "
                "resolve(identifier, y_true_shape, y_pred_shape)"
            )
        cls = _BY_NAME.get(identifier)
        if cls is not None:
            return cls()
        from fastnn.utils.naming import to_snake_case

        if to_snake_case(identifier) in _KERAS_ONLY or identifier.lower() in _KERAS_ONLY:
            raise ValueError(
                f"fastnn does not compute the metric {identifier!r}. Supported metrics: "
                f"{_supported_names()}"
            )
    renamed = (
        " (tf.keras 2's 'cosine_proximity' is 'cosine_similarity' in Keras 3)"
        if identifier == "cosine_proximity"
        else ""
    )
    raise ValueError(
        f"Could not interpret metric identifier: {identifier!r}{renamed}. Supported metrics: "
        f"{_supported_names()}"
    )


def is_binary_or_sparse_categorical(y_true_shape, y_pred_shape):
    """Keras 3's rule, from shapes only: `(is_binary, is_sparse_categorical)`.

    Binary when predictions have a last dimension of 1; sparse categorical
    when labels have a lower rank than predictions, or a last dimension of 1
    against predictions with more than one.
    """
    t = _shape(y_true_shape, "y_true_shape")
    p = _shape(y_pred_shape, "y_pred_shape")
    is_binary = p[-1] == 1
    is_sparse_categorical = len(t) < len(p) or (t[-1] == 1 and p[-1] > 1)
    return is_binary, is_sparse_categorical


def resolve(identifier, y_true_shape, y_pred_shape):
    """The Metric `compile(metrics=[identifier])` computes for data of these shapes.

    `"accuracy"`/`"acc"` (any case) become `BinaryAccuracy` when predictions
    have a last dimension of 1, else `SparseCategoricalAccuracy` when labels
    are integer indices (lower rank, or last dimension 1), else
    `CategoricalAccuracy`. A string identifier is the log name; Metric objects
    keep their own name.

    Args:
        identifier: as `get`, or `"accuracy"`/`"acc"`.
        y_true_shape: shape of the labels, e.g. `(n,)` or `(n, classes)`.
        y_pred_shape: shape of the model's output, e.g. `(n, classes)`.

    Returns:
        A Metric instance (a new one when `identifier` is not a Metric).

    Raises:
        ValueError: unknown identifier, or shapes the metric cannot score.
    """
    if identifier is None:
        raise ValueError("Expected a metric, received None")
    if _is_accuracy_alias(identifier):
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
        if is_binary:
            metric = BinaryAccuracy(name=identifier)
        elif is_sparse:
            metric = SparseCategoricalAccuracy(name=identifier)
        else:
            metric = CategoricalAccuracy(name=identifier)
    else:
        metric = get(identifier)
        if isinstance(identifier, str):
            metric.name = identifier
    metric.check_shapes(y_true_shape, y_pred_shape)
    return metric


def resolve_metrics(metrics, y_true_shape, y_pred_shape, rename_repeats: bool = True) -> list:
    """Resolves `compile`'s `metrics` list; repeated names get `_1`, `_2` ...

    Args:
        metrics: None, one identifier, or a list/tuple of identifiers.
        rename_repeats: False leaves repeated names for the caller to rename
            (`weighted_metrics` are named against `metrics` too).

    Returns:
        A list of Metric instances in the given order, with unique names.

    Raises:
        ValueError: for an identifier `resolve` rejects, or `metrics` given as
            a dict (fastnn models have one output).
    """
    if metrics is None:
        return []
    if isinstance(metrics, dict):
        raise ValueError(
            "`metrics` as a dict is for models with several named outputs; fastnn's "
            "Sequential has one. Pass a list, e.g. metrics=['accuracy']."
        )
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    resolved = []
    counters = {}
    objects = set()  # ids of the Metric objects listed
    for identifier in metrics:
        if identifier is None:
            continue
        metric = resolve(identifier, y_true_shape, y_pred_shape)
        if metric is identifier:
            if id(metric) in objects:
                raise ValueError(f"The same Metric object {metric!r} is listed twice in `metrics`")
            objects.add(id(metric))
        if metric.name in counters and rename_repeats:
            index = counters[metric.name]
            counters[metric.name] += 1
            metric.name = f"{metric.name}_{index}"
        else:
            counters[metric.name] = 1
        resolved.append(metric)
    return resolved


def serialize(metric) -> dict:
    """`{"module": "keras.metrics", "class_name", "config", "registered_name"}`
    (a user's subclass: its module, and its registered name)."""
    if not isinstance(metric, Metric):
        raise TypeError(f"Expected a Metric, got {type(metric).__name__}")
    cls = type(metric)
    if cls.__module__ == __name__:
        return {
            "module": "keras.metrics",  # as Keras writes it: Keras loads its own class
            "class_name": cls.__name__,
            "config": metric.get_config(),
            "registered_name": None,
        }
    from fastnn.saving import serialize_keras_object

    return serialize_keras_object(metric)  # a user's subclass, found again by name


def deserialize(config):
    """Rebuilds a Metric from `serialize`'s output (built-in classes only)."""
    from fastnn.saving import deserialize_from_table

    obj = deserialize_from_table(
        config, {c.__name__: c for c in (*_CLASSES, Accuracy, Mean, Sum, MeanMetricWrapper)}
    )
    if not isinstance(obj, Metric):
        raise ValueError(f"{config!r:.200} does not describe a metric")
    return obj


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
