"""Callbacks: hooks into `fit`, `evaluate` and `predict`, as ``keras.callbacks``.

The classes, arguments, defaults, hook names and messages follow Keras 3
(``keras/src/callbacks/*.py``). What a model needs to provide for them:

- ``model.stop_training`` (a bool attribute `fit` checks after each epoch
  and after each batch it returns control for);
- ``model.get_weights()`` / ``model.set_weights(list)`` (EarlyStopping with
  ``restore_best_weights``; a fastnn model's ``_restore_weights`` instead,
  which writes back NaN or Inf best weights as Keras's set_weights does);
- ``model.optimizer.learning_rate`` readable as a float and assignable
  (LearningRateScheduler, ReduceLROnPlateau);
- ``model.save(filepath, overwrite=True)`` and
  ``model.save_weights(filepath, overwrite=True)`` (ModelCheckpoint);
- optionally ``model.metrics`` (entries with a ``metrics`` list, as Keras 3's
  ``CompileMetrics``, are read through it; or a Sequential's ``_metrics``) objects with
  a ``name`` and a ``direction`` (``"up"``/``"down"``): with
  ``mode="auto"``, a monitored name other than ``"loss"`` must be one of
  them, as in Keras 3.

How `fit` drives them: see `CallbackList` (and its `batch_hook_policy`, which
tells `fit` when it may run a whole epoch in C++ without returning to Python).
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from fastnn import _absent
from fastnn.utils.io_utils import print_msg as _print_msg
from fastnn.utils.progbar import Progbar

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
]

_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


def _number(value, name: str) -> float:
    """A real number (an int stays an int), not NaN: a ValueError naming the
    argument otherwise."""
    import numbers

    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or value != value  # NaN
    ):
        raise ValueError(f"`{name}` must be a number, got {value!r}")
    return value


def _learning_rate_of(optimizer) -> float:
    """The rate as Keras's callbacks read it, ``float(convert_to_numpy(lr))``
    of a float32 variable: rounded to float32 (0.9 reads 0.8999999761581421),
    so the `lr` a schedule receives, the `learning_rate` logged in History and
    CSVLogger, and the rates the callbacks print carry Keras's digits."""
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError('Optimizer must have a "learning_rate" attribute.')
    value = optimizer.learning_rate
    try:
        return float(np.asarray(value, dtype=np.float32))
    except (TypeError, ValueError):
        raise TypeError(
            "The optimizer's learning_rate must read as a float; got "
            f"{type(value).__name__}: {value!r:.100}"
        ) from None


def _no_op(*args, **kwargs) -> None:
    """A hook a callback object lacks (`_hook`)."""


def _hook(callback, name: str):
    """`callback`'s hook `name`, for any object with Keras's callback
    interface: its own method, else what Keras's base class would run, the
    ``on_batch_*`` alias for ``on_train_batch_*``, else a no-op."""
    method = getattr(callback, name, None)
    if method is None and name.startswith("on_train_batch_"):
        method = getattr(callback, name.replace("train_", "", 1), None)
    return _no_op if method is None else method


def _refusal(callback) -> str:
    """Why `callback` cannot be a callback, or "" when it can: a
    `Callback`, or an object with Keras's callback interface (a
    ``keras.callbacks.Callback``, or duck-typed: Keras's CallbackList calls
    ``set_model``, ``set_params`` and the hooks on whatever it is given)."""
    if isinstance(callback, Callback):
        return ""
    shown = f"{callback!r:.80} of type {type(callback).__name__}"
    if isinstance(callback, type):
        return f"got the class {callback.__name__}: pass an instance, e.g. {callback.__name__}()"
    if all(callable(getattr(callback, name, None)) for name in ("set_model", "set_params")):
        return ""
    if callable(callback):
        return f"got {shown}: wrap a function in LambdaCallback(on_epoch_end=...) or the like"
    return (
        f"got {shown}, which has no set_model and set_params methods (Keras's callback interface)"
    )


def _implements_batch_hooks(callback, mode: str) -> bool:
    """`Callback._implements_batch_hooks` for any callback object: one
    of `mode`'s batch hooks is there and is not the do-nothing default of
    Keras's base class (marked ``_is_default``)."""
    if isinstance(callback, Callback):
        return callback._implements_batch_hooks(mode)
    for name in _BATCH_HOOKS[mode]:
        method = getattr(callback, name, None)
        if method is not None and not getattr(method, "_is_default", False):
            return True
    return False


class Callback:
    """Base class used to build new callbacks.

    Subclass it and override the hooks you need. Each hook receives `logs`, a
    dict of floats: at the end of a batch, the running means of the loss and
    metrics over the epoch so far; at the end of an epoch, their epoch values
    plus the `val_`-prefixed validation values when there is validation.

    Attributes:
        params: dict of training parameters (`verbose`, `epochs`, `steps`).
        model: the model being trained.

    >>> class Count(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         self.last = epoch
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (0-based `epoch`), in `fit` only."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with its metrics (and `val_` ones)."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called at the beginning of a training batch in `fit`."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called at the end of a training batch in `fit`."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch in `evaluate` (and validation)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch in `evaluate` (and validation)."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch in `predict`."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch in `predict`."""

    def on_train_begin(self, logs=None):
        """Called at the beginning of training."""

    def on_train_end(self, logs=None):
        """Called at the end of training, with the last epoch's logs."""

    def on_test_begin(self, logs=None):
        """Called at the beginning of evaluation or validation."""

    def on_test_end(self, logs=None):
        """Called at the end of evaluation or validation."""

    def on_predict_begin(self, logs=None):
        """Called at the beginning of prediction."""

    def on_predict_end(self, logs=None):
        """Called at the end of prediction."""

    def _implements_batch_hooks(self, mode: str) -> bool:
        """Whether this callback does anything in `mode`'s per-batch hooks.

        True when a batch hook of `mode` ("train", "test" or "predict") is
        overridden by the class or set on the instance (LambdaCallback).
        """
        for name in _BATCH_HOOKS[mode]:
            if name in self.__dict__:
                return True
            if getattr(type(self), name) is not getattr(Callback, name):
                return True
        return False


class CallbackList(Callback):
    """Container abstracting a list of callbacks, called all at once.

    Args:
        callbacks: list of callbacks: `Callback` instances, or any object
            with Keras's callback interface (``set_model``, ``set_params``,
            the ``on_*`` hooks: a ``keras.callbacks.Callback`` of ported
            code, or duck-typed), as Keras's CallbackList runs any object.
            A hook such an object lacks does nothing, or runs its
            ``on_batch_*`` for ``on_train_batch_*``, as Keras's base class
            would; a class, a function or a number is a TypeError.
        add_history: whether to add a `History` if the list has none.
        add_progbar: whether to add a `ProgbarLogger` if the list has none.
        model: the model these callbacks are used with.
        **params: passed to each callback's `set_params` (`fit` passes
            `verbose`, `epochs` and `steps`).

    How `fit` drives it (Keras's order)::

        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                           model=model, verbose=verbose, epochs=epochs, steps=steps)
        model.stop_training = False
        cbs.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            policy = cbs.batch_hook_policy("train")  # may change between epochs
            # "none": one C++ call for the epoch. "progress": C++ runs chunks of
            # steps; after each, cbs.on_train_batch_end(last_batch, running_logs).
            # "every": per batch, cbs.on_train_batch_begin(b), the step,
            # cbs.on_train_batch_end(b, running_logs), then stop if
            # model.stop_training (TerminateOnNaN sets it mid-epoch).
            epoch_logs = {...train metrics, keys sorted...}
            if validating:  # evaluate with the same callbacks, silently
                cbs.on_test_begin(); ...; cbs.on_test_end(val_logs)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        cbs._before_final_overwrite()  # then, with use_ema, the averages replace the weights
        cbs.on_train_end(epoch_logs)
        return cbs.history  # model.history is set too
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        if callbacks is None:
            callbacks = []
        elif not isinstance(callbacks, (list, tuple)):
            if _refusal(callbacks) and not isinstance(callbacks, type):
                raise TypeError(
                    "`callbacks` must be a list of Callback instances, got "
                    f"{type(callbacks).__name__}"
                )
            callbacks = [callbacks]  # one callback alone, as Keras takes it
        for cb in callbacks:
            why = _refusal(cb)
            if why:
                raise TypeError(
                    "Every entry of `callbacks` must be a Callback instance (fastnn's or "
                    "Keras's, or an object with their set_model, set_params and on_* "
                    f"methods); {why}"
                )
        self.callbacks = list(callbacks)
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        self._progbar = None
        self._history = None
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    @property
    def history(self):
        """The `History` callback of the list (None if there is none)."""
        return self._history

    def append(self, callback):
        why = _refusal(callback)
        if why:
            raise TypeError(f"Expected a Callback instance; {why}")
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def batch_hook_policy(self, mode: str = "train") -> str:
        """How often `fit`/`evaluate`/`predict` must call the batch hooks.

        Args:
            mode: "train", "test" or "predict".

        Returns:
            - `"every"`: some callback acts on each batch: call
              `on_{mode}_batch_begin` and `on_{mode}_batch_end` for every batch.
            - `"progress"`: only the progress bar listens: call
              `on_{mode}_batch_end(batch, logs)` whenever convenient, with
              increasing batch indices (e.g. at the end of each chunk of steps
              that C++ ran, about every 0.05 s), never needed per batch; the
              first call may be after batch 0 alone so the bar's time per
              step leaves the first step out, as Keras's does.
            - `"none"`: nobody listens; run the whole epoch without returning.
        """
        if mode not in _BATCH_HOOKS:
            raise ValueError(f"mode must be 'train', 'test' or 'predict', got {mode!r}")
        progress = False
        for cb in self.callbacks:
            if type(cb) is ProgbarLogger:
                progress = progress or cb._wants_progress(mode)
            elif _implements_batch_hooks(cb, mode):
                return "every"
        return "progress" if progress else "none"

    @staticmethod
    def _pythonify_logs(logs):
        result = {}
        for key, value in sorted(logs.items()):
            if isinstance(value, dict):
                result.update(CallbackList._pythonify_logs(value))
            else:
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    pass
                result[key] = value
        return result

    def on_batch_begin(self, batch, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_batch_begin")(batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_batch_end")(batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_epoch_begin")(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        # Keras's pythonify_logs: a copy with the keys sorted. The same copy
        # goes to every callback so that keys a callback adds (e.g.
        # `learning_rate`) reach the ones after it and History.
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_epoch_end")(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_train_batch_begin")(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_train_batch_end")(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_test_batch_begin")(batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_test_batch_end")(batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        logs = logs or {}
        for callback in self.callbacks:
            _hook(callback, "on_predict_batch_begin")(batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        logs = logs or {}
        for callback in self.callbacks:
            _hook(callback, "on_predict_batch_end")(batch, logs=logs)

    def on_train_begin(self, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_train_begin")(logs)

    def on_train_end(self, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_train_end")(logs)

    def on_test_begin(self, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_test_begin")(logs)

    def on_test_end(self, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_test_end")(logs)

    def on_predict_begin(self, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_predict_begin")(logs)

    def on_predict_end(self, logs=None):
        logs = self._pythonify_logs(logs or {})
        for callback in self.callbacks:
            _hook(callback, "on_predict_end")(logs)

    def _before_final_overwrite(self):
        """`fit` calls it when its epochs are over, right before the
        optimizer's final overwrite of the weights by their moving averages
        (`use_ema`) and `on_train_end`: `SwapEMAWeights` readies the averages."""
        for callback in self.callbacks:
            if isinstance(callback, SwapEMAWeights):
                callback._on_fit_finalizing()


class History(Callback):
    """Records each epoch's logs; `fit` returns it.

    Attributes:
        history: dict mapping each log key to the list of its per-epoch
            values (floats), keys in the order they first appeared (Keras's
            sorted train keys, then `val_` keys, then keys callbacks add such
            as `learning_rate`).
        epoch: the list of epoch indices run.
        params: `{"verbose", "epochs", "steps"}` as `fit` passed them.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            try:
                v = float(v)
            except (TypeError, ValueError):
                pass
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints the progress bar and metrics to stdout (added by `fit` when
    `verbose` is not 0).

    Batch logs are the running means over the epoch so far; they are shown as
    given (Keras 3 averages them a second time over steps while an epoch runs;
    the final line of an epoch is the same either way).
    """

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        verbose = params.get("verbose", 1)
        if verbose == "auto":
            verbose = 1
        self.verbose = verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _wants_progress(self, mode: str) -> bool:
        if self.verbose != 1:
            return False
        if mode == "test":
            return not self._called_in_fit
        return True

    def on_train_begin(self, logs=None):
        # Inside fit, validation is silent.
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            _print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        if self.progbar is None:
            self.progbar = Progbar(
                target=self.target,
                verbose=self.verbose,
                unit_name="step",
                stateless_metrics=(),
            )

    def _update_progbar(self, batch, logs=None):
        logs = logs or {}
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize_progbar(self, logs):
        logs = logs or {}
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list(logs.items()), finalize=True)


class _MonitorMixin:
    """mode/min_delta logic shared by EarlyStopping and ModelCheckpoint
    (Keras's MonitorCallback)."""

    def _init_monitor(self, monitor, mode, min_delta):
        if not isinstance(monitor, str):  # else an AttributeError once training ran
            raise TypeError(f"`monitor` must be a metric name (a str), got {monitor!r}")
        min_delta = _number(min_delta, "min_delta")
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _infer_direction(self):
        """'min' or 'max' for mode='auto', as Keras 3's MonitorCallback infers
        it: "loss" (or "val_loss") is minimized; any other name must be the
        name of one of the model's compiled metrics, whose `direction` tells.
        A name that is neither raises ValueError (Keras's message), e.g.
        "val_acc" when the metric was compiled as "accuracy"."""
        name = self.monitor.removeprefix("val_")
        direction = "min" if name == "loss" else None
        model_metrics = getattr(self.model, "metrics", None)
        if model_metrics is None:
            model_metrics = getattr(self.model, "_metrics", None)
        flat = []
        for m in model_metrics or ():  # Keras: a CompileMetrics entry lists the metrics
            inner = getattr(m, "metrics", None)
            flat.extend(inner if isinstance(inner, list) else [m])
        for m in flat:
            if getattr(m, "name", None) == name:
                found = getattr(m, "direction", None) or getattr(m, "_direction", None)
                if found is not None:
                    direction = "max" if found == "up" else "min"
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but fastnn "
                "isn't able to automatically determine whether that metric should be "
                "maximized or minimized. Pass `mode='max'` in order to monitor based on the "
                "highest metric value, or pass `mode='min'` in order to use the lowest value."
            )
        return direction

    def _set_monitor_op(self):
        direction = self.mode if self.mode != "auto" else self._infer_direction()
        if direction == "min":
            self.monitor_op = np.less
            self.min_delta = -abs(self.min_delta)
        else:
            self.monitor_op = np.greater
            self.min_delta = abs(self.min_delta)

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))

    def _check_scalar(self, value) -> None:
        """A ValueError naming the callback, the monitor and the shape when
        the monitored value is not a scalar (F1Score(average=None) logs one
        score per class), which cannot say whether an epoch improved (Keras
        fails there comparing the array: "ambiguous truth value")."""
        shape = np.shape(value)
        if shape != ():
            raise ValueError(
                f"{type(self).__name__} cannot monitor {self.monitor!r}: its value has shape "
                f"{shape} (one score per class or output), not a single number, so whether an "
                "epoch improved is undefined. Monitor a scalar, e.g. compile the metric with "
                "average='macro' (F1Score, FBetaScore) or monitor the loss."
            )


class EarlyStopping(_MonitorMixin, Callback):
    """Stops training when a monitored metric has stopped improving.

    Args:
        monitor: quantity to monitor. Defaults to `"val_loss"`.
        min_delta: minimum change that counts as an improvement. Defaults to `0`.
        patience: epochs without improvement after which training stops.
            Defaults to `0`.
        verbose: 0 (silent) or 1 (messages). Defaults to `0`.
        mode: `"auto"`, `"min"` or `"max"`. Defaults to `"auto"`.
        baseline: training stops unless the monitored value beats it within
            `patience` epochs. Defaults to `None`.
        restore_best_weights: at the end of training, restore the weights of
            the best epoch. Defaults to `False`.
        start_from_epoch: epochs to wait before monitoring. Defaults to `0`.

    >>> callback = EarlyStopping(monitor="loss", patience=3)
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__()
        self._init_monitor(monitor, mode, min_delta)
        # checked here: a bad value failed in on_epoch_end, after epochs had trained
        self.patience = _number(patience, "patience")
        self.verbose = verbose
        self.baseline = None if baseline is None else _number(baseline, "baseline")
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = _number(start_from_epoch, "start_from_epoch")
        self.best = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        # Instances can be reused.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None  # as Keras 3: None until the first monitored epoch
        self.best_weights = None
        self.best_epoch = 0
        self.monitor_op = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is not None:
            self._check_scalar(current)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until something improves, the current weights are the best.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Restart waiting only when beating both the baseline and the best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print_msg(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            # fastnn's models write the copies back NaN or Inf included (a
            # run that diverged from the start): their set_weights refuses them
            restore = getattr(self.model, "_restore_weights", None) or self.model.set_weights
            restore(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(list(logs.keys()))}",
                stacklevel=2,
            )
        return value


class ModelCheckpoint(_MonitorMixin, Callback):
    """Saves the model or its weights at the end of every epoch (or every N batches).

    Args:
        filepath: where to save; may hold `str.format` fields filled with
            `epoch` (1-based) and the epoch's logs, e.g.
            `"ckpt-{epoch:02d}-{val_loss:.4f}.keras"`. It must end in `.keras`
            (or `.h5`: a legacy HDF5 model, as Keras 3 takes it; needs h5py)
            for whole models, in `.weights.h5` (Keras 3's HDF5 layout; needs
            h5py) or `.weights.npz` with `save_weights_only=True`.
        monitor: the metric to monitor. Defaults to `"val_loss"`.
        verbose: 0 (silent) or 1 (messages). Defaults to `0`.
        save_best_only: save only when the monitored value improves.
            Defaults to `False`.
        save_weights_only: call `model.save_weights` instead of `model.save`.
            Defaults to `False`.
        mode: `"auto"`, `"min"` or `"max"`. Defaults to `"auto"`.
        save_freq: `"epoch"`, or an integer number of batches. Defaults to
            `"epoch"`.
        initial_value_threshold: initial "best" value with `save_best_only`.
            Defaults to `None`.
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__()
        self._init_monitor(monitor, mode, 0)
        self.best = initial_value_threshold
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}. "
                "Expected save_freq are 'epoch' or a positive integer"
            )
        if save_weights_only:
            if not self.filepath.endswith((".weights.h5", ".weights.npz")):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (Keras weights format) or "
                    f"`.weights.npz` (NumPy). Received: filepath={self.filepath}"
                )
            if self.filepath.endswith(".weights.h5"):
                from fastnn import saving

                saving._import_h5py("Saving")  # fail now, not after the first epoch
        elif self.filepath.endswith(".h5"):  # a legacy HDF5 model, as Keras 3 allows
            from fastnn import saving

            saving._import_h5py("Saving", saving._LEGACY_H5_FILES)  # now, not after an epoch
        elif not self.filepath.endswith(".keras"):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). "
                f"Received: filepath={self.filepath}"
            )

    def _implements_batch_hooks(self, mode: str) -> bool:
        return mode == "train" and self.save_freq != "epoch"

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                _print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            # a per-output score (F1Score(average=None) ...): Keras saves every time
            warnings.warn(
                "Can save best model only when `monitor` is a scalar value. "
                f"Received: {current}. Falling back to `save_best_only=False`.",
                stacklevel=3,
            )
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print_msg(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            _print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        if not self._should_save_model(epoch, logs, filepath):
            return
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            _print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            # Keras's KeyError for a missing key; a bad format spec ("{loss:d}")
            # stays the ValueError Keras lets through, with the same message
            raise type(e)(
                f'Failed to format this callback filepath: "{self.filepath}". '
                f"Reason: {e!r}. Available keys: epoch, {', '.join(logs)}"
            ) from None


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate at the start of every epoch.

    Args:
        schedule: a function `schedule(epoch, lr) -> new_lr` (epoch is 0-based,
            `lr` the current rate as a float); a one-argument `schedule(epoch)`
            is accepted too.
        verbose: 0 (quiet) or 1 (a message each epoch). Defaults to `0`.

    The epoch's logs get `learning_rate`, the rate in use at its end.

    >>> callback = LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"`schedule` must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        learning_rate = _learning_rate_of(optimizer)
        try:
            learning_rate = self.schedule(epoch, learning_rate)
        except TypeError:  # the older one-argument schedules
            learning_rate = self.schedule(epoch)
        if isinstance(learning_rate, np.ndarray) and learning_rate.shape == ():
            learning_rate = learning_rate[()]
        if isinstance(learning_rate, bool) or not isinstance(
            learning_rate, (float, int, np.floating, np.integer)
        ):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {learning_rate}"
            )
        learning_rate = float(learning_rate)
        if not math.isfinite(learning_rate) or learning_rate < 0:
            raise ValueError(
                "The `schedule` function must return a finite, non-negative learning rate. "
                f"Got: {learning_rate} at epoch {epoch}"
            )
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            _print_msg(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{learning_rate}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate_of(self.model.optimizer)


class ReduceLROnPlateau(_MonitorMixin, Callback):
    """Reduces the learning rate when a metric has stopped improving.

    Args:
        monitor: quantity to monitor. Defaults to `"val_loss"`.
        factor: `new_lr = lr * factor`, below 1. Defaults to `0.1`.
        patience: epochs without improvement before reducing. Defaults to `10`.
        verbose: 0 (quiet) or 1 (messages). Defaults to `0`.
        mode: `"auto"`, `"min"` or `"max"`; auto infers the direction as
            EarlyStopping does (Keras 3's MonitorCallback): "loss" is
            minimized, a compiled metric goes its own way, any other name is
            a ValueError at the first epoch's end. Defaults to `"auto"`.
        min_delta: threshold for a new optimum. Defaults to `1e-4`.
        cooldown: epochs to wait after a reduction. Defaults to `0`.
        min_lr: lower bound on the learning rate. Defaults to `0.0`.
        **kwargs: `epsilon`, tf.keras 2's deprecated name for `min_delta`,
            is taken as `min_delta` with a warning, as tf.keras 2 took it
            (Keras 3 ignores it silently, leaving `min_delta` at its
            default). Other keywords are ignored, as Keras 3 ignores them,
            but with a warning naming them.

    The epoch's logs get `learning_rate`.
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        super().__init__()
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn(
                "`epsilon` argument is deprecated and will be removed, use `min_delta` instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        if kwargs:
            warnings.warn(
                f"ReduceLROnPlateau ignores argument(s) it does not know: {sorted(kwargs)}",
                stacklevel=2,
            )
        self._init_monitor(monitor, mode, min_delta)
        factor = _number(factor, "factor")
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        # checked here: a negative rate (or a bad count) failed in on_epoch_end,
        # after epochs had trained
        if factor < 0:
            raise ValueError(f"ReduceLROnPlateau needs a factor >= 0. Received factor={factor}")
        min_lr = _number(min_lr, "min_lr")
        if min_lr < 0:
            raise ValueError(f"ReduceLROnPlateau needs min_lr >= 0. Received min_lr={min_lr}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = _number(patience, "patience")
        self.verbose = verbose
        self.cooldown = _number(cooldown, "cooldown")
        self.cooldown_counter = 0
        self.wait = 0
        self.best = None

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def _reduce_lr(self, epoch) -> bool:
        old_lr = _learning_rate_of(self.model.optimizer)
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            self.model.optimizer.learning_rate = new_lr
            if self.verbose > 0:
                _print_msg(
                    f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}."
                )
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()  # once the model's metrics are known, as Keras
        logs = {} if logs is None else logs
        logs["learning_rate"] = _learning_rate_of(self.model.optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2,
            )
            return
        self._check_scalar(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0


class CSVLogger(Callback):
    """Streams epoch results to a CSV file.

    The columns are `epoch` then the first epoch's log keys, sorted; as in
    Keras 3, when none of them is a `val_` key a `val_` column is added for
    each (written `NA` while there is no such value).

    Args:
        filename: the CSV file, e.g. `"run/log.csv"`.
        separator: the column separator. Defaults to `","`.
        append: append to an existing file (no second header) instead of
            overwriting it. Defaults to `False`.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        import csv

        logs = logs or {}

        def handle_value(k):
            is_zero_dim_ndarray = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if hasattr(k, "__iter__") and not is_zero_dim_ndarray:
                return f'"[{", ".join(map(str, k))}]"'
            return k

        if self.keys is None:
            # Keras 3.15 (csv_logger.py): without any `val_` key in the first
            # epoch's logs (no validation, or validation_freq > 1), a `val_`
            # column is added for every key, written "NA" when absent.
            self.keys = sorted(logs.keys())
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys.extend([f"val_{key}" for key in self.keys])

        if self.writer is None:
            sep = self.sep

            class CustomDialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch"] + self.keys, dialect=CustomDialect
            )
            if self.append_header:
                self.writer.writeheader()

        row = {"epoch": epoch}
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _check_backup_dir(path: str) -> None:
    """A ValueError naming `path` when it cannot be BackupAndRestore's
    folder: it, or the nearest of its parents that exists, is a file (the
    first backup, after an epoch of training, would fail)."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return
        probe = parent
    if not os.path.isdir(probe):
        which = "it is" if probe == os.path.abspath(path) else f"{probe!r} is"
        raise ValueError(
            f"BackupAndRestore: backup_dir {path!r} must be a folder (or a path where one can "
            f"be made) for the callback's backup files, but {which} a file. Pass a folder's "
            "path, e.g. a new one beside your files"
        )


class BackupAndRestore(Callback):
    """Backs up the training state (weights, optimizer state, epoch) in
    `backup_dir` at the end of each epoch (or every `save_freq` batches),
    and restores it when a `fit` with this callback starts again after an
    interruption: training goes on from the epoch after the last backup, as
    Keras 3's callback does. The backup is deleted when `fit` completes.

    Args:
        backup_dir: the folder for the backup (only this callback's files:
            ``latest.weights.npz`` and ``training_metadata.json``).
        save_freq: ``"epoch"`` or a positive number of batches. Defaults to
            `"epoch"`.
        double_checkpoint: also keep the previous backup (``.bkp``), used
            when the latest cannot be read. Defaults to `False`.
        delete_checkpoint: delete `backup_dir` when `fit` completes.
            Defaults to `True`.

    Unlike Keras, the restored epoch applies to that one `fit` (Keras keeps
    it for later `fit` calls of the model too).
    """

    def __init__(
        self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (
            isinstance(save_freq, (bool, np.bool_))
            or not isinstance(save_freq, (int, np.integer))
            or save_freq < 1
        ):
            raise ValueError(
                "Invalid value for argument `save_freq`. "
                f"Received: save_freq={save_freq}. "
                "Expected either 'epoch' or an integer value."
            )
        self.backup_dir = os.fspath(backup_dir)
        _check_backup_dir(self.backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.npz")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0

    def _implements_batch_hooks(self, mode: str) -> bool:
        return mode == "train" and self.save_freq != "epoch"

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, you model must be built before you call "
                f"`fit()`. Model {self.model.name!r} is unbuilt. You can build it beforehand by "
                "calling it on a batch of data."
            )
        import shutil  # (json and shutil load only where this callback is used)

        _check_backup_dir(self.backup_dir)  # (a file made there since: before any epoch)
        try:
            self._restore()
        except (OSError, ValueError):
            backup = self._weights_path + ".bkp"
            if not os.path.exists(backup):
                raise
            shutil.copyfile(backup, self._weights_path)
            if os.path.exists(self._metadata_path + ".bkp"):
                shutil.copyfile(self._metadata_path + ".bkp", self._metadata_path)
            elif os.path.exists(self._metadata_path):
                os.remove(self._metadata_path)
            self._restore()

    def _restore(self) -> None:
        import json

        if os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        if os.path.exists(self._metadata_path):
            with open(self._metadata_path, encoding="utf-8") as f:
                metadata = json.load(f)
            self.model._initial_epoch = int(metadata["epoch"])
            self._current_epoch = int(metadata["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_since_save += added
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save()

    def _save(self) -> None:
        import json
        import shutil

        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path in (self._weights_path, self._metadata_path):
                if os.path.exists(path):
                    shutil.copyfile(path, path + ".bkp")
        self.model.save_weights(self._weights_path, overwrite=True)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        tmp = self._metadata_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(metadata))
        os.replace(tmp, self._metadata_path)

    def on_train_end(self, logs=None):
        import shutil

        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


class TerminateOnNaN(Callback):
    """Stops training when a batch's loss is NaN or infinite.

    Args:
        raise_error: raise a RuntimeError at once instead of setting
            `model.stop_training` (which lets `on_train_end` run). Defaults to
            `False`.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately."
                )
            _print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's moving averages around
    evaluation, as Keras 3's callback does.

    With an optimizer built with ``use_ema=True``, the weights the optimizer
    trains are exchanged with their exponential moving averages before
    validation (inside `fit`), `evaluate` and `predict`, and exchanged back
    after: the metrics are those of the averaged weights, training goes on
    from the trained ones. The exchange is in place and exact (the bits of
    the weights and of the averages trade places; two exchanges restore
    both). Changing the weights or the averages in other callbacks while
    they are exchanged is undefined, as in Keras.

    With ``swap_on_epoch=True`` the averages are also swapped in at the end
    of every epoch (so the callbacks after this one, e.g. `ModelCheckpoint`,
    see and save them) and out at the start of the next. When `fit` ends the
    model keeps the averaged weights and the averages are set to them, so
    that `fit`'s final overwrite by the averages leaves them.

    Where fastnn differs from Keras 3.15 (whose behaviour there loses or
    misplaces weights):

    - `predict` swaps back at its end (Keras's ``on_predict_end`` tests the
      wrong flag and leaves the averages in the model, the weights in the
      optimizer);
    - with ``swap_on_epoch=True``, a `fit` stopped early (`EarlyStopping`,
      ``model.stop_training``) ends with the averaged weights as one that
      runs all its epochs does (Keras then overwrites them with the trained
      weights it had parked in the averages, and the averages are lost);
    - an optimizer without ``use_ema`` fails when `fit` begins, before any
      step (Keras fails at the first swap: after the first epoch's training
      when validating, never when nothing is swapped);
    - an optimizer that has taken no step (unbuilt, or built by `evaluate`)
      swaps nothing: its averages are not averages of anything yet (Keras
      evaluates with their initial zeros, or fails when unbuilt), as `fit`'s
      final overwrite leaves the weights then.

    The weights swapped are those the optimizer was built for, in its order
    (Keras's ``optimizer._trainable_variables``): a layer frozen before the
    optimizer was built is left alone, one frozen since is swapped too.

    Args:
        swap_on_epoch: also swap at `on_epoch_end` and back at
            `on_epoch_begin`, so that other callbacks (`ModelCheckpoint`
            placed after this one) see the averaged weights. Defaults to
            `False`.

    Raises:
        ValueError: the model's optimizer does not have ``use_ema=True``
            (Keras's message), from `fit`, `evaluate` or `predict` before they
            change anything.

    >>> callback = SwapEMAWeights(swap_on_epoch=True)
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _pairs(self) -> list:
        """``(weight, average)`` of each weight the model's optimizer was
        built for (views: writing changes the model and the optimizer); []
        when it has no averages yet. Raises Keras's ValueError when the
        optimizer has no `use_ema`."""
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # a wrapper's
        if optimizer is None:
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                "Received: a model without an optimizer (compile it with one first)"
            )
        if not getattr(optimizer, "use_ema", False):
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                f"Received: use_ema={getattr(optimizer, 'use_ema', None)}"
            )
        owns = getattr(model, "_owns_optimizer_state", None)
        if owns is None or not owns() or optimizer.iterations == 0:
            return []  # built for nothing (or another model's weights), or no step yet
        weights = model._tensor_weights()
        return list(zip([weights[k] for k in model._optimizer_tensors], optimizer._averages()))

    def _swap_variables(self) -> bool:
        """Exchanges the weights and their averages, bit for bit; False when
        there is nothing to exchange."""
        pairs = self._pairs()
        if not pairs:
            return False
        for weight, average in pairs:
            held = np.array(weight, copy=True)
            weight[...] = average
            average[...] = held
        self._push_borrowed()
        return True

    def _finalize_ema_values(self) -> None:
        """Sets each average to its weight (the averaged value, swapped in),
        so that `fit`'s final overwrite by the averages keeps it."""
        for weight, average in self._pairs():
            average[...] = weight

    def _push_borrowed(self) -> None:
        """A model running layers another model holds copies their weights
        into its network before each engine call; the evaluation that follows
        a swap needs the swapped ones now."""
        if getattr(self.model, "_borrowed", None):
            self.model._borrow_in()

    def _swap_in(self) -> None:
        if not self._ema_weights_in_model and self._swap_variables():
            self._ema_weights_in_model = True

    def _swap_out(self) -> None:
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_train_begin(self, logs=None):
        self._pairs()  # no use_ema: fail before the first step, not after an epoch

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_in()
            # the last epoch: fit then overwrites the weights with the
            # averages, which hold the trained weights now
            if self._ema_weights_in_model and epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def _on_fit_finalizing(self) -> None:
        """`fit`'s loop is over, its final overwrite by the averages next:
        with the averages swapped in (an early stop), the averages take them,
        as after the last epoch."""
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        self._swap_out()


class TensorBoard(Callback):
    """Keras's ``TensorBoard`` callback, accepted so that scripts which
    create one run; fastnn writes no TensorBoard logs, so a `fit`,
    `evaluate` or `predict` given one raises `NotImplementedError` before it
    starts (Keras without TensorFlow installed fails there too). Log with
    `CSVLogger` or the returned `History` instead.

    Args:
        log_dir, histogram_freq, write_graph, write_images,
        write_steps_per_second, update_freq, profile_batch, embeddings_freq,
        embeddings_metadata: Keras 3's arguments, kept as attributes.
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        self.log_dir = str(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata

    def set_model(self, model):
        raise NotImplementedError(
            "fastnn does not write TensorBoard logs: drop the TensorBoard callback, or log "
            "with fastnn.callbacks.CSVLogger or the History that fit returns"
        )


class LambdaCallback(Callback):
    """Builds a callback from plain functions.

    Args:
        on_epoch_begin, on_epoch_end: called as `f(epoch, logs)`.
        on_train_begin, on_train_end: called as `f(logs)`.
        on_train_batch_begin, on_train_batch_end: called as `f(batch, logs)`.
        **kwargs: any other hook, by its name (e.g. `on_test_end=f`).

    >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
        )
        for name, fn in kwargs.items():
            if not (name.startswith("on_") and callable(getattr(Callback, name, None))):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            hooks[name] = fn
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, got {fn!r}")
            setattr(self, name, fn)


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
