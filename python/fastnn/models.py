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
* ``Network.train_epoch(x, y, sample_weight, order, batch_size, step_begin,
  step_end, learning_rate)`` runs any range of steps of an epoch in C++,
  gathering each batch by index from ``order``, and returns the sums
  (``loss_sum``, ``samples``, ``metric_sums``, ``weight_sum``) a progress bar
  needs: Keras's epoch loss is ``loss_sum / samples`` and a metric is
  ``metric_sums[k] / weight_sum``.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from fastnn import _core
from fastnn import layers as _layers
from fastnn import losses as _losses
from fastnn import optimizers as _optimizers

__all__ = ["Sequential"]

# Keras metric ids fastnn computes in C++ alongside the loss.
_ACCURACY_IDS = {
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
}


def _resolve_optimizer(optimizer):
    """The engine applies plain SGD (``w -= learning_rate * g``) for now: accept
    ``"sgd"`` or an optimizer whose class is named SGD, without momentum."""
    if isinstance(optimizer, str):
        if optimizer.lower() == "sgd":
            return _optimizers.SGD()
        raise ValueError(
            f"optimizer {optimizer!r} is not available in this build; use 'sgd' or "
            "fastnn.optimizers.SGD(learning_rate=...)"
        )
    if type(optimizer).__name__ != "SGD" or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f"optimizer {optimizer!r} is not supported by the engine yet; use "
            "fastnn.optimizers.SGD(learning_rate=...)"
        )
    if getattr(optimizer, "momentum", 0.0) or getattr(optimizer, "nesterov", False):
        raise ValueError("SGD with momentum is not supported by the engine yet; use momentum=0.0")
    return optimizer


class Sequential:
    """A linear stack of layers.

    Args:
        layers: optional list of layers to add. Defaults to `None`.
        name: the model's name. Defaults to `"sequential"` (numbered when reused).

    >>> from fastnn import layers
    >>> model = Sequential([layers.Input(shape=(784,)), layers.Dense(10, activation="softmax")])
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    """

    def __init__(
        self, layers: Optional[Sequence[_layers.Layer]] = None, name: Optional[str] = None
    ):
        self.name = name or _layers._unique_name("sequential")
        self._layers: List[_layers.Layer] = []
        self._input_shape = None  # per-sample shape, without the batch axis
        self._net = None
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self._metric_names: List[str] = []
        self._metric_kinds: List[str] = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if self._input_shape is not None and any(
            not isinstance(layer, _layers.Flatten) for layer in self._layers
        ):
            self.build()

    # -- structure -----------------------------------------------------------
    def add(self, layer: _layers.Layer, rebuild: bool = True) -> None:
        """Appends a layer (an ``Input`` only as the first one).

        When the input shape is known the model is (re)built at once, as in
        Keras; the weights of the layers already there are kept.
        """
        if not isinstance(layer, _layers.Layer):
            raise TypeError(f"Sequential.add takes a fastnn.layers.Layer, got {layer!r}")
        if layer in self._layers:
            raise ValueError(f"layer {layer.name!r} is already in the model")
        if isinstance(layer, _layers.InputLayer):
            if self._layers or self._input_shape is not None:
                raise ValueError("Input must be the first layer of a Sequential model")
            self._input_shape = layer._input_shape
            return
        if not self._layers and self._input_shape is None and layer._input_shape is not None:
            self._input_shape = layer._input_shape
        self._layers.append(layer)
        if rebuild and self._input_shape is not None and not isinstance(layer, _layers.Flatten):
            previous = self._net
            self._net = None
            try:
                self.build()
            except Exception:
                self._layers.pop()  # a rejected layer leaves the model as it was
                self._net = previous
                raise

    @property
    def layers(self) -> List[_layers.Layer]:
        """The layers, without the Input."""
        return list(self._layers)

    @property
    def built(self) -> bool:
        return self._net is not None

    def build(self, input_shape=None) -> None:
        """Creates the C++ network and initialises the weights.

        Args:
            input_shape: ``(batch, *features)`` or ``(*features)`` is taken from
                the Input layer or ``input_shape=`` when None.
        """
        if self._net is not None:
            return
        if input_shape is not None:
            shape = tuple(input_shape)
            if self._input_shape is None:
                self._input_shape = _layers._shape_tuple(shape[1:], "input_shape")
        if self._input_shape is None:
            raise ValueError(
                "the model has no input shape: start with Input(shape=...) or pass input_shape= "
                "to the first layer (or call it on data)"
            )
        if not self._layers:
            raise ValueError("the model has no layers")
        shape = self._input_shape
        if len(shape) > 1 and not isinstance(self._layers[0], _layers.Flatten):
            raise ValueError(
                f"the model's input has shape {shape} but its first layer is "
                f"{type(self._layers[0]).__name__}: add a Flatten layer first, or reshape the "
                f"data to (n, {math.prod(shape)})"
            )
        specs = []
        for layer in self._layers:
            spec = layer._spec(shape)
            if spec is not None:
                specs.append((layer, spec))
            shape = layer.compute_output_shape(shape)
        if not specs:
            raise ValueError("the model has no Dense, Activation or Dropout layer")
        net = _core.nn.Network(math.prod(self._input_shape), [s for _, s in specs])
        views = net.param_views()
        k = 0
        for layer, _ in specs:
            old = layer._weights  # kept when the model is rebuilt after add()
            values = layer._init_weights()
            if len(old) == len(values) and all(o.shape == v.shape for o, v in zip(old, values)):
                values = [o.copy() for o in old]
            layer._weights = views[k : k + len(values)]
            for view, value in zip(layer._weights, values):
                view[...] = value
            k += len(values)
            layer.built = True
        for layer in self._layers:
            layer.built = True
        self._output_shape = shape
        self._net = net
        if self.compiled:
            self._configure_engine()

    # -- compile -------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs) -> None:
        """Sets the optimizer, loss and metrics.

        Args:
            optimizer: ``"sgd"`` or a ``fastnn.optimizers.SGD`` instance (its
                ``learning_rate`` is read at every step). Defaults to
                `"rmsprop"` as Keras, which the engine does not run yet
                (ValueError).
            loss: a Keras loss id (``"sparse_categorical_crossentropy"``,
                ``"mse"``, ...) or a ``fastnn.losses.Loss`` instance.
            metrics: None or a list of ``"accuracy"``/``"acc"`` or explicit
                ``"sparse_categorical_accuracy"``, ``"categorical_accuracy"``,
                ``"binary_accuracy"``. Defaults to `None`.
        """
        if kwargs:
            raise TypeError(f"compile got unsupported argument(s): {', '.join(sorted(kwargs))}")
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        optimizer = _resolve_optimizer(optimizer)
        loss = _losses.get(loss)
        names = [] if metrics is None else list(metrics)
        kinds = []
        for m in names:
            if not isinstance(m, str):
                raise TypeError(f"metrics must be strings, got {m!r}")
            if m in ("accuracy", "acc"):
                kinds.append(None)  # resolved against the loss/output in _metric_kernels
            elif m in _ACCURACY_IDS:
                sparse = loss.kernel == "sparse_categorical_crossentropy"
                if (m == "sparse_categorical_accuracy") != sparse:
                    raise ValueError(
                        f"metric {m!r} does not fit the targets of the loss {loss.kernel!r} "
                        "(sparse_categorical_accuracy goes with sparse_categorical_crossentropy)"
                    )
                kinds.append(m)
            else:
                raise ValueError(
                    f"Unknown metric {m!r}; expected 'accuracy', 'acc' or one of: "
                    + ", ".join(sorted(_ACCURACY_IDS))
                )
        if self._net is not None:
            self._net.set_loss(
                loss.kernel,
                from_logits=loss.from_logits,
                delta=loss.delta,
                metrics=self._metric_kernels(loss, kinds),
            )
        self.optimizer, self.loss = optimizer, loss
        self._metric_names, self._metric_kinds = names, kinds
        self.compiled = True

    def _metric_kernels(self, loss, kinds) -> List[str]:
        """Keras's "accuracy": sparse for sparse cross-entropy, binary for
        binary cross-entropy or one output, categorical otherwise."""
        if loss.kernel == "sparse_categorical_crossentropy":
            default = "sparse_categorical_accuracy"
        elif loss.kernel == "binary_crossentropy" or self._net.output_dim == 1:
            default = "binary_accuracy"
        else:
            default = "categorical_accuracy"
        return [k or default for k in kinds]

    def _configure_engine(self) -> None:
        self._net.set_loss(
            self.loss.kernel,
            from_logits=self.loss.from_logits,
            delta=self.loss.delta,
            metrics=self._metric_kernels(self.loss, self._metric_kinds),
        )

    # -- data ----------------------------------------------------------------
    def _ensure_built(self, x: np.ndarray) -> None:
        if self._net is None:
            if x.ndim < 2:
                raise ValueError(f"x must have a batch axis, got shape {x.shape}")
            self.build(x.shape)

    def _prepare_x(self, x) -> np.ndarray:
        """(n, *input_shape) -> C-contiguous float32 (n, input_dim); converted once."""
        if isinstance(x, (list, tuple)) or not hasattr(x, "shape"):
            x = np.asarray(x)
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"x must hold real numbers, got dtype {x.dtype}")
        self._ensure_built(x)
        if x.ndim < 1 or x.shape[1:] != self._input_shape:
            dim = math.prod(self._input_shape)
            hint = ""
            if x.ndim > 2 and math.prod(x.shape[1:]) == dim:
                hint = f": add a Flatten layer or reshape to (n, {dim})"
            shape_str = "(n, " + ", ".join(str(d) for d in x.shape[1:]) + ")"
            raise ValueError(
                f"x has samples of shape {shape_str} but the model takes "
                f"(n, {', '.join(map(str, self._input_shape))}){hint}"
            )
        x = x.reshape(x.shape[0], math.prod(self._input_shape))
        return np.ascontiguousarray(x, dtype=np.float32)

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"call compile(optimizer, loss) before {what}")

    # -- training / inference ------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        """One SGD step on one batch.

        Args:
            x: ``(n, *input_shape)`` array-like (any real dtype or layout,
                converted once).
            y: targets: class ids ``(n,)`` for sparse categorical
                cross-entropy, else ``(n, outputs)``.
            sample_weight: optional ``(n,)`` weights.
            return_dict: return ``{"loss": ..., metric: ...}``.

        Returns:
            The batch loss (a float), or ``[loss, *metrics]`` when metrics were
            compiled, or a dict when `return_dict`.

        Raises:
            ValueError / TypeError: bad shapes, lengths, labels, NaN/Inf, empty
            batch; raised before any weight changes.
        """
        self._require_compiled("train_on_batch")
        x = self._prepare_x(x)
        if y is None:
            raise ValueError("train_on_batch needs targets y")
        result = self._net.train_batch(x, y, sample_weight)
        self._net.sgd_step(self._learning_rate())
        return self._format(result, return_dict)

    def _learning_rate(self) -> float:
        return float(self.optimizer.learning_rate)

    def _format(self, result: dict, return_dict: bool):
        logs: Dict[str, float] = {"loss": float(result["loss_sum"] / result["samples"])}
        weight = result["weight_sum"]
        for name, total in zip(self._metric_names, result["metric_sums"]):
            logs[name] = float(total / weight) if weight else 0.0
        if return_dict:
            return dict(sorted(logs.items()))
        if not self._metric_names:
            return logs["loss"]
        return [logs["loss"], *(logs[n] for n in self._metric_names)]

    def predict(
        self, x, batch_size: Optional[int] = None, verbose="auto", steps=None, callbacks=None
    ):
        """Outputs for `x`, computed `batch_size` samples at a time.

        Args:
            x: ``(n, *input_shape)`` array-like.
            batch_size: Defaults to `32` (None).
            verbose: accepted for Keras compatibility; no progress bar is drawn.

        Returns:
            float32 array ``(n, outputs)``.
        """
        if steps is not None or callbacks is not None:
            raise ValueError("predict: steps and callbacks are not supported")
        if batch_size is None:
            batch_size = 32
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        x = self._prepare_x(x)
        return self._net.predict(x, int(batch_size))

    def __call__(self, x):
        """``predict(x)`` on all of `x` at once."""
        x = self._prepare_x(x)
        return self._net.predict(x, 0)

    # -- weights -------------------------------------------------------------
    @property
    def weights(self) -> List[np.ndarray]:
        """Views of every weight, in Keras order (per layer: kernel, bias)."""
        return [w for layer in self._layers for w in layer._weights]

    def get_weights(self) -> List[np.ndarray]:
        """Copies of every weight in Keras order and shapes (kernel ``(in, units)``)."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: Sequence) -> None:
        """Writes all weights; validates every array before writing any."""
        if self._net is None:
            raise ValueError("the model is not built yet: call build() or train/predict first")
        arrays = _layers._checked_weights(self.weights, weights, f"model {self.name!r}")
        for view, value in zip(self.weights, arrays):
            view[...] = value

    def count_params(self) -> int:
        """Number of weights (0 before build)."""
        return int(self._net.num_params) if self._net is not None else 0

    def get_config(self) -> dict:
        config = {"name": self.name, "layers": []}
        if self._input_shape is not None:
            config["layers"].append(
                {"class_name": "InputLayer", "config": {"batch_shape": (None, *self._input_shape)}}
            )
        for layer in self._layers:
            config["layers"].append(
                {"class_name": type(layer).__name__, "config": layer.get_config()}
            )
        return config
