"""fastnn.callbacks, driven the way `fit` drives them, on a duck-typed model."""

from __future__ import annotations

import csv
import math
import os

import numpy as np
import pytest

import fastnn
from fastnn import callbacks as cb_module
from fastnn.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

CELL = "\u2501"


class FakeOptimizer:
    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate


class FakeMetric:
    def __init__(self, name, direction):
        self.name = name
        self.direction = direction


class FakeModel:
    """What callbacks need from a model, and a record of what they did."""

    def __init__(self, learning_rate=0.01, metrics=()):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.weights = [np.zeros(2), np.zeros(1)]
        self.metrics = list(metrics)
        self.saved = []
        self.history = None

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, filepath, overwrite=True):
        self.saved.append(("model", filepath))
        with open(filepath, "w") as f:
            f.write(f"model {self.weights[0][0]}")

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("weights", filepath))
        with open(filepath, "w") as f:
            f.write(f"weights {self.weights[0][0]}")


def simulate_fit(model, callbacks, epoch_logs, steps=3, verbose=0, batch_loss=None):
    """Drives callbacks like fit: after epoch e the weights are all e."""
    cbs = CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=len(epoch_logs),
        steps=steps,
    )
    model.stop_training = False
    cbs.on_train_begin()
    logs = {}
    for epoch, given in enumerate(epoch_logs):
        cbs.on_epoch_begin(epoch)
        policy = cbs.batch_hook_policy("train")
        for batch in range(steps):
            if policy == "every":
                cbs.on_train_batch_begin(batch)
            batch_logs = {k: np.float32(v) for k, v in given.items() if not k.startswith("val_")}
            if batch_loss:
                batch_logs["loss"] = np.float32(batch_loss(epoch, batch))
            if policy != "none":
                cbs.on_train_batch_end(batch, batch_logs)
            if model.stop_training:
                break
        model.weights = [np.full(2, float(epoch)), np.full(1, float(epoch))]
        logs = dict(given)
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return cbs.history


# -- Callback, CallbackList, History ---------------------------------------------


def test_base_callback_has_keras_hooks_and_batch_aliases():
    seen = []

    class Old(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch))

    cb = Old()
    cb.on_train_batch_begin(3)
    cb.on_train_batch_end(3, {})
    assert seen == [("begin", 3), ("end", 3)]
    base = Callback()
    for hook in (
        "on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_test_begin",
        "on_test_end", "on_predict_begin", "on_predict_end", "on_test_batch_begin",
        "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
    ):  # fmt: skip
        assert callable(getattr(base, hook))
    base.set_params({"epochs": 2})
    assert base.params == {"epochs": 2} and base.model is None


def test_callback_list_adds_history_and_progbar_once():
    model = FakeModel()
    cbs = CallbackList(None, add_history=True, add_progbar=True, model=model, verbose=1,
                       epochs=3, steps=10)  # fmt: skip
    kinds = [type(c) for c in cbs.callbacks]
    assert kinds == [History, ProgbarLogger]
    assert model.history is cbs.history
    assert all(c.model is model for c in cbs.callbacks)
    assert cbs.callbacks[0].params == {"verbose": 1, "epochs": 3, "steps": 10}
    mine = History()
    cbs = CallbackList([mine], add_history=True, add_progbar=False, model=model)
    assert cbs.callbacks == [mine] and cbs.history is mine


@pytest.mark.parametrize("bad", [[1], ["EarlyStopping"], [None], 3, "x"])
def test_callback_list_rejects_non_callbacks(bad):
    with pytest.raises(TypeError, match="Callback"):
        CallbackList(bad)


def test_batch_logs_are_python_floats_sorted():
    got = []
    cbs = CallbackList([LambdaCallback(on_train_batch_end=lambda b, logs: got.append(logs))])
    cbs.on_train_batch_end(0, {"loss": np.float32(0.5), "accuracy": np.float64(0.25)})
    assert list(got[0]) == ["accuracy", "loss"]
    assert all(type(v) is float for v in got[0].values())


def test_epoch_end_shares_one_logs_dict_so_added_keys_reach_history():
    model = FakeModel(learning_rate=0.1)
    history = simulate_fit(
        model,
        [LearningRateScheduler(lambda epoch, lr: lr / 2)],
        [{"loss": 1.0, "accuracy": 0.5}, {"loss": 0.5, "accuracy": 0.75}],
    )
    assert history.history == {
        "loss": [1.0, 0.5],
        "accuracy": [0.5, 0.75],
        # the float32 rate read back as Keras 3.15.1's History logs it
        "learning_rate": [0.05000000074505806, 0.02500000037252903],
    }
    assert history.epoch == [0, 1]
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 3}
    assert model.history is history
    assert all(type(v) is float for vs in history.history.values() for v in vs)


def test_history_restarts_its_epoch_list_each_fit():
    model = FakeModel()
    history = History()
    simulate_fit(model, [history], [{"loss": 1.0}])
    simulate_fit(model, [history], [{"loss": 0.5}, {"loss": 0.25}])
    assert history.epoch == [0, 1]
    assert history.history["loss"] == [1.0, 0.5, 0.25]  # Keras keeps appending


@pytest.mark.parametrize(
    "callbacks, verbose, expected",
    [
        ([], 0, "none"),
        ([], 1, "progress"),
        ([], 2, "none"),
        ([EarlyStopping(monitor="loss")], 1, "progress"),
        ([LambdaCallback(on_epoch_end=lambda e, logs: None)], 0, "none"),
        ([LambdaCallback(on_train_batch_end=lambda b, logs: None)], 0, "every"),
        ([LambdaCallback(on_train_batch_begin=lambda b, logs: None)], 1, "every"),
        ([TerminateOnNaN()], 0, "every"),
        ([ModelCheckpoint("m.keras")], 0, "none"),
        ([ModelCheckpoint("m.keras", save_freq=5)], 0, "every"),
        ([CSVLogger("log.csv"), ReduceLROnPlateau()], 0, "none"),
    ],
)
def test_batch_hook_policy_train(callbacks, verbose, expected):
    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                       model=FakeModel(), verbose=verbose, epochs=1, steps=4)  # fmt: skip
    assert cbs.batch_hook_policy("train") == expected


def test_batch_hook_policy_subclass_overrides():
    class OnBatch(Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    class OnTest(Callback):
        def on_test_batch_end(self, batch, logs=None):
            pass

    class MyBar(ProgbarLogger):
        def on_train_batch_end(self, batch, logs=None):
            pass

    assert CallbackList([OnBatch()]).batch_hook_policy("train") == "every"
    assert CallbackList([OnBatch()]).batch_hook_policy("test") == "none"
    assert CallbackList([OnTest()]).batch_hook_policy("test") == "every"
    assert CallbackList([OnTest()]).batch_hook_policy("predict") == "none"
    assert CallbackList([MyBar()]).batch_hook_policy("train") == "every"
    with pytest.raises(ValueError, match="mode"):
        CallbackList([]).batch_hook_policy("validate")


def test_progbar_is_silent_for_validation_inside_fit():
    cbs = CallbackList([], add_progbar=True, model=FakeModel(), verbose=1, epochs=1, steps=2)
    assert cbs.batch_hook_policy("test") == "progress"  # evaluate() shows a bar
    cbs.on_train_begin()
    assert cbs.batch_hook_policy("test") == "none"  # validation does not
    cbs.on_train_end()
    assert cbs.batch_hook_policy("test") == "progress"


# -- ProgbarLogger ------------------------------------------------------------


def test_progbar_logger_prints_epochs_and_final_lines(capsys):
    simulate_fit(
        FakeModel(),
        [],
        [
            {"accuracy": 0.5, "loss": 1.0, "val_accuracy": 0.25, "val_loss": 2.0},
            {"accuracy": 0.75, "loss": 0.5, "val_accuracy": 0.5, "val_loss": 1.5},
        ],
        steps=3,
        verbose=1,
    )
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert lines[1].startswith(f"3/3 {CELL * 20} 0s ")
    assert lines[1].endswith(
        " - accuracy: 0.5000 - loss: 1.0000 - val_accuracy: 0.2500 - val_loss: 2.0000"
    )
    assert lines[2] == "Epoch 2/2"
    assert lines[3].endswith(
        " - accuracy: 0.7500 - loss: 0.5000 - val_accuracy: 0.5000 - val_loss: 1.5000"
    )
    assert len(lines) == 4


def test_progbar_logger_verbose_2_and_single_epoch(capsys):
    simulate_fit(FakeModel(), [], [{"loss": 0.25}], steps=7, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1  # no "Epoch 1/1" line for a single epoch
    assert lines[0].startswith("7/7 - 0s - ") and lines[0].endswith(" - loss: 0.2500")


def test_progbar_logger_auto_verbose_is_1_and_evaluate_draws_a_bar(capsys):
    logger = ProgbarLogger()
    cbs = CallbackList([logger], model=FakeModel(), verbose="auto", epochs=1, steps=2)
    assert logger.verbose == 1
    cbs.on_test_begin()
    cbs.on_test_batch_end(0, {"loss": 1.0})
    cbs.on_test_batch_end(1, {"loss": 0.5})
    cbs.on_test_end({"loss": 0.5})
    assert capsys.readouterr().out.splitlines()[-1].endswith(" - loss: 0.5000")


def test_progbar_logger_learns_unknown_target_from_batches(capsys):
    logger = ProgbarLogger()
    cbs = CallbackList([logger], model=FakeModel(), verbose=1, epochs=1, steps=None)
    cbs.on_predict_begin()
    for b in range(4):
        cbs.on_predict_batch_end(b, {"outputs": None})
    cbs.on_predict_end()
    assert capsys.readouterr().out.startswith(f"4/4 {CELL * 20} ")


# -- EarlyStopping --------------------------------------------------------------


def losses(*values, key="loss"):
    return [{key: v} for v in values]


def test_early_stopping_patience_and_restore_best_weights(capsys):
    model = FakeModel()
    es = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True, verbose=1)
    history = simulate_fit(model, [es], losses(1.0, 0.9, 0.95, 0.96, 0.97, 0.5))
    assert history.epoch == [0, 1, 2, 3]
    assert es.stopped_epoch == 3 and es.best == 0.9 and es.best_epoch == 1
    assert model.stop_training is True
    assert model.weights[0].tolist() == [1.0, 1.0]  # epoch 1's weights
    out = capsys.readouterr().out
    assert "Epoch 4: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out


def test_early_stopping_without_restore_keeps_last_weights():
    model = FakeModel()
    simulate_fit(model, [EarlyStopping(monitor="loss", patience=1)], losses(1.0, 2.0, 3.0))
    assert model.weights[0].tolist() == [1.0, 1.0]


def test_early_stopping_patience_0_stops_at_first_non_improvement():
    history = simulate_fit(FakeModel(), [EarlyStopping(monitor="loss")], losses(3, 2, 2, 1))
    assert history.epoch == [0, 1, 2]


def test_early_stopping_min_delta():
    es = EarlyStopping(monitor="loss", min_delta=0.2, patience=1)
    history = simulate_fit(FakeModel(), [es], losses(1.0, 0.9, 0.85, 0.1))
    assert history.epoch == [0, 1]  # 0.9 is not 0.2 better than 1.0
    assert es.best == 1.0


@pytest.mark.parametrize("mode", ["auto", "max"])
def test_early_stopping_accuracy_is_maximized(mode):
    es = EarlyStopping(monitor="val_accuracy", patience=1, mode=mode)
    model = FakeModel(metrics=[FakeMetric("accuracy", "up")])  # auto mode reads its direction
    history = simulate_fit(model, [es], losses(0.5, 0.6, 0.55, 0.54, 0.9, key="val_accuracy"))
    assert history.epoch == [0, 1, 2] and es.best == 0.6


def test_early_stopping_mode_min_on_accuracy_is_honoured():
    es = EarlyStopping(monitor="accuracy", patience=0, mode="min")
    history = simulate_fit(FakeModel(), [es], losses(0.5, 0.6, 0.4, key="accuracy"))
    assert history.epoch == [0, 1]


def test_early_stopping_auto_reads_the_model_metric_direction():
    model = FakeModel(metrics=[FakeMetric("my_score", "up")])
    es = EarlyStopping(monitor="val_my_score", patience=0)
    history = simulate_fit(model, [es], losses(1.0, 2.0, 1.5, key="val_my_score"))
    assert history.epoch == [0, 1, 2] and es.best == 2.0


def test_early_stopping_auto_on_unknown_metric_is_a_clear_error():
    with pytest.raises(ValueError, match="mode='max'"):
        simulate_fit(FakeModel(), [EarlyStopping(monitor="wiggle")], losses(1.0, key="wiggle"))


def test_early_stopping_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="mode 'best' is unknown"):
        es = EarlyStopping(mode="best")
    assert es.mode == "auto"


def test_early_stopping_baseline():
    # Without a baseline the first epoch sets the best and resets the wait.
    plain = simulate_fit(FakeModel(), [EarlyStopping("loss", patience=2)], losses(1, 1, 1, 1))
    assert plain.epoch == [0, 1, 2]
    # Never beating the baseline, the wait is not reset: stops one epoch earlier.
    es = EarlyStopping("loss", patience=2, baseline=0.5)
    below = simulate_fit(FakeModel(), [es], losses(1, 1, 1, 1))
    assert below.epoch == [0, 1]


def test_early_stopping_start_from_epoch():
    es = EarlyStopping(monitor="loss", patience=0, start_from_epoch=2)
    history = simulate_fit(FakeModel(), [es], losses(1, 2, 3, 4, 5))
    assert history.epoch == [0, 1, 2, 3]  # epochs 0 and 1 are not monitored


def test_early_stopping_missing_monitor_warns_and_never_stops():
    with pytest.warns(UserWarning, match="val_loss.*not available.*Available metrics are: loss"):
        history = simulate_fit(FakeModel(), [EarlyStopping()], losses(3, 2, 1))
    assert history.epoch == [0, 1, 2]


def test_early_stopping_is_reusable():
    es = EarlyStopping(monitor="loss", patience=0)
    simulate_fit(FakeModel(), [es], losses(0.1, 0.2))
    assert es.stopped_epoch == 1
    history = simulate_fit(FakeModel(), [es], losses(5.0, 4.0, 3.0))
    assert history.epoch == [0, 1, 2] and es.best == 3.0 and es.stopped_epoch == 0


# -- ModelCheckpoint -----------------------------------------------------------


def test_checkpoint_saves_every_epoch_with_formatted_names(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.4f}.keras")
    simulate_fit(model, [ModelCheckpoint(path)], losses(0.5, 0.25, key="val_loss"))
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01-0.5000.keras", "ckpt-02-0.2500.keras"]
    assert [kind for kind, _ in model.saved] == ["model", "model"]


def test_checkpoint_save_best_only_writes_only_on_improvement(tmp_path, capsys):
    model = FakeModel()
    path = str(tmp_path / "best.keras")
    mc = ModelCheckpoint(path, save_best_only=True, verbose=1)
    simulate_fit(model, [mc], losses(1.0, 0.8, 0.9, 0.7, 0.75, key="val_loss"))
    assert [os.path.basename(p) for _, p in model.saved] == ["best.keras"] * 3
    with open(path) as f:
        assert f.read() == "model 3.0"  # from epoch 3, the last improvement
    out = capsys.readouterr().out
    # Keras 3.15 (model_checkpoint.py) starts from best=None and prints it so.
    assert "Epoch 1: val_loss improved from None to 1.00000, saving model to" in out
    assert "Epoch 3: val_loss did not improve from 0.80000" in out


def test_checkpoint_best_only_of_a_per_output_score_saves_every_epoch_as_keras(tmp_path):
    # Keras 3.15 (model_checkpoint.py): a monitored array falls back to
    # save_best_only=False with this warning; the name shows the array.
    model = FakeModel()
    epochs = [{"val_f1": np.array([v], np.float32)} for v in (0.5, 0.25, 0.75)]
    path = str(tmp_path / "m{epoch}-{val_f1}.keras")
    mc = ModelCheckpoint(path, monitor="val_f1", mode="max", save_best_only=True)
    with pytest.warns(UserWarning) as caught:
        simulate_fit(model, [mc], epochs)
    assert [str(w.message) for w in caught] == [
        "Can save best model only when `monitor` is a scalar value. "
        f"Received: [{v}]. Falling back to `save_best_only=False`."
        for v in (0.5, 0.25, 0.75)
    ]
    assert sorted(os.listdir(tmp_path)) == ["m1-[0.5].keras", "m2-[0.25].keras", "m3-[0.75].keras"]
    assert mc.best is None


def test_checkpoint_and_early_stopping_best_is_none_until_a_monitored_epoch(tmp_path):
    # As Keras 3: `best` starts as None (not ±inf), so the first monitored value
    # always counts as an improvement, even NaN.
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "b.keras"), save_best_only=True)
    es = EarlyStopping(monitor="loss", start_from_epoch=5)
    simulate_fit(model, [mc, es], [{"loss": 1.0, "val_loss": float("nan")}])
    assert len(model.saved) == 1 and math.isnan(mc.best)
    assert es.best is None


def test_checkpoint_best_only_with_epoch_in_name(tmp_path):
    model = FakeModel(metrics=[FakeMetric("accuracy", "up")])
    path = str(tmp_path / "m-{epoch}.keras")
    mc = ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True)
    simulate_fit(model, [mc], losses(0.5, 0.4, 0.6, key="val_accuracy"))
    assert sorted(os.listdir(tmp_path)) == ["m-1.keras", "m-3.keras"]


def test_checkpoint_initial_value_threshold(tmp_path):
    model = FakeModel()
    mc = ModelCheckpoint(str(tmp_path / "b.keras"), save_best_only=True,
                         initial_value_threshold=0.6)  # fmt: skip
    simulate_fit(model, [mc], losses(0.9, 0.7, 0.5, key="val_loss"))
    assert len(model.saved) == 1


def test_checkpoint_weights_only_and_creates_directories(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "deep" / "er" / "w-{epoch}.weights.npz")
    simulate_fit(model, [ModelCheckpoint(path, save_weights_only=True)], losses(1, 1))
    assert [kind for kind, _ in model.saved] == ["weights", "weights"]
    assert sorted(os.listdir(tmp_path / "deep" / "er")) == ["w-1.weights.npz", "w-2.weights.npz"]


def test_checkpoint_save_freq_in_batches(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "e{epoch}-b{batch}.keras")
    simulate_fit(model, [ModelCheckpoint(path, save_freq=2)], losses(1, 1), steps=3)
    # batches seen: 1 2 | 3 4 | 5 6 -> saves after epoch 1 batch 2, epoch 2 batches 1 and 3
    assert sorted(os.listdir(tmp_path)) == ["e1-b2.keras", "e2-b1.keras", "e2-b3.keras"]


def test_checkpoint_missing_key_in_filepath_is_a_clear_error(tmp_path):
    mc = ModelCheckpoint(str(tmp_path / "{val_acc:.2f}.keras"))
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        simulate_fit(FakeModel(), [mc], losses(1.0))


def test_checkpoint_directory_as_filepath_is_a_clear_error(tmp_path):
    (tmp_path / "x.keras").mkdir()
    mc = ModelCheckpoint(str(tmp_path / "x.keras"))
    with pytest.raises(OSError, match="non-directory"):
        simulate_fit(FakeModel(), [mc], losses(1.0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(filepath="m.hdf5"), "must end in `.keras`"),
        (dict(filepath="m.weights.npz"), "must end in `.keras`"),
        (dict(filepath="m.keras", save_weights_only=True), r"\.weights\.h5.*\.weights\.npz"),
        (dict(filepath="m.h5", save_weights_only=True), r"must end in `\.weights\.h5`"),
        (dict(filepath="m.keras", save_freq="batch"), "save_freq"),
        (dict(filepath="m.keras", save_freq=0), "save_freq"),
        (dict(filepath="m.keras", save_freq=True), "save_freq"),
    ],
)
def test_checkpoint_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelCheckpoint(**kwargs)


def test_checkpoint_accepts_pathlike(tmp_path):
    mc = ModelCheckpoint(tmp_path / "m.keras")
    assert mc.filepath == str(tmp_path / "m.keras")


# -- LearningRateScheduler, ReduceLROnPlateau -------------------------------------


def test_lr_scheduler_sets_rate_each_epoch_and_logs_it():
    model = FakeModel(learning_rate=0.01)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.01 if epoch < 2 else lr * 0.5

    history = simulate_fit(model, [LearningRateScheduler(schedule)], losses(1, 1, 1, 1))
    # Keras reads the rate from its float32 variable: schedules see, and
    # History logs, float32 values
    f32 = float(np.float32(0.01))
    assert seen == [(0, f32), (1, f32), (2, f32), (3, f32 / 2)]
    assert model.optimizer.learning_rate == f32 / 4
    assert history.history["learning_rate"] == [f32, f32, f32 / 2, f32 / 4]


def test_lr_scheduler_one_argument_schedule_and_numpy_values(capsys):
    model = FakeModel(learning_rate=1.0)
    cb = LearningRateScheduler(lambda epoch: np.float32(0.5**epoch), verbose=1)
    simulate_fit(model, [cb], losses(1, 1))
    assert model.optimizer.learning_rate == 0.5
    assert type(model.optimizer.learning_rate) is float
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.5." in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["0.1", None, [0.1], float("nan"), -1.0, True])
def test_lr_scheduler_bad_schedule_output(bad):
    model = FakeModel()
    with pytest.raises(ValueError, match="schedule"):
        simulate_fit(model, [LearningRateScheduler(lambda e, lr: bad)], losses(1))
    assert model.optimizer.learning_rate == 0.01  # unchanged


def test_lr_scheduler_not_a_float_message_is_keras():
    # Keras 3.15 (learning_rate_scheduler.py) prints the value with str().
    expected = "The output of the `schedule` function should be a float. Got: x$"
    with pytest.raises(ValueError, match=expected):
        simulate_fit(FakeModel(), [LearningRateScheduler(lambda e, lr: "x")], losses(1))


def test_lr_scheduler_needs_a_callable_and_an_optimizer_rate():
    with pytest.raises(TypeError, match="callable"):
        LearningRateScheduler(0.1)
    model = FakeModel()
    model.optimizer = object()
    with pytest.raises(ValueError, match="learning_rate"):
        simulate_fit(model, [LearningRateScheduler(lambda e, lr: lr)], losses(1))
    model.optimizer = FakeOptimizer(learning_rate=lambda step: 0.1)
    with pytest.raises(TypeError, match="must read as a float; got function"):
        simulate_fit(model, [ReduceLROnPlateau(monitor="loss")], losses(1))


def test_reduce_lr_on_plateau(capsys):
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_lr=0.2, verbose=1)
    history = simulate_fit(model, [cb], losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    # plateau from epoch 1: reduce at epochs 2, 4, 6; 0.25 -> max(0.125, 0.2)
    assert history.history["learning_rate"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert model.optimizer.learning_rate == 0.2
    assert "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.5." in capsys.readouterr().out


def test_reduce_lr_on_plateau_cooldown_and_min_delta():
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.1, patience=1, cooldown=2, min_delta=0.1)
    simulate_fit(model, [cb], losses(1.0, 0.95, 0.9, 0.85, 0.8, 0.75))
    # reduce at epoch 1 (0.95 is not 0.1 better); cooldown epochs 2-3; reduce again at 4
    assert model.optimizer.learning_rate == pytest.approx(0.01)


def test_reduce_lr_on_plateau_infers_the_direction_as_keras_3():
    """Keras 3's ReduceLROnPlateau is a MonitorCallback: auto mode maximizes a
    compiled metric whose direction is up, and cannot guess for a name that
    is neither "loss" nor a compiled metric (Keras 2 looked for "acc")."""
    model = FakeModel(learning_rate=1.0, metrics=[FakeMetric("acc", "up")])
    cb = ReduceLROnPlateau(monitor="val_acc", patience=1, factor=0.5)
    simulate_fit(model, [cb], losses(0.1, 0.2, 0.3, key="val_acc"))
    assert model.optimizer.learning_rate == 1.0
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="val_acc", patience=1, factor=0.5)
    with pytest.raises(ValueError, match="monitor=val_acc.*mode='max'"):
        simulate_fit(model, [cb], losses(0.1, 0.2, 0.3, key="val_acc"))
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="val_acc", patience=1, factor=0.5, mode="max")
    simulate_fit(model, [cb], losses(0.3, 0.2, 0.1, key="val_acc"))
    assert model.optimizer.learning_rate == 0.25


def test_reduce_lr_on_plateau_keeps_waiting_at_min_lr():
    """As Keras: no reduction (already at min_lr) resets neither wait nor cooldown."""
    model = FakeModel(learning_rate=0.5)
    cb = ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_lr=0.5)
    simulate_fit(model, [cb], losses(1.0, 2.0, 3.0, key="loss"))
    assert model.optimizer.learning_rate == 0.5 and cb.wait == 2


def test_reduce_lr_on_plateau_bad_arguments():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.warns(UserWarning, match="unknown"):
        ReduceLROnPlateau(mode="lowest")


def test_reduce_lr_on_plateau_takes_tf_keras_2_epsilon_as_min_delta():
    """A tf.keras 2 script's `epsilon=` is its min_delta (with tf.keras 2's
    deprecation warning): with 0.5, a gain of 0.4 is no improvement."""
    model = FakeModel(learning_rate=1.0)
    with pytest.warns(DeprecationWarning, match="`epsilon` argument is deprecated"):
        cb = ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, epsilon=0.5)
    simulate_fit(model, [cb], losses(3.0, 2.6, 2.2, key="loss"))
    assert model.optimizer.learning_rate == 0.5
    model = FakeModel(learning_rate=1.0)
    simulate_fit(model, [ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5)],
                 losses(3.0, 2.6, 2.2, key="loss"))  # fmt: skip
    assert model.optimizer.learning_rate == 1.0


def test_reduce_lr_on_plateau_ignores_unknown_keywords_with_a_warning():
    """Keras 3 swallows unknown keywords silently; fastnn names them."""
    with pytest.warns(UserWarning, match=r"does not know: \['lr', 'verbosity'\]"):
        cb = ReduceLROnPlateau(monitor="loss", lr=0.1, verbosity=1)
    assert abs(cb.min_delta) == 1e-4 and cb.factor == 0.1


# -- CSVLogger, TerminateOnNaN, LambdaCallback ---------------------------------------


def read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_without_validation_adds_na_val_columns_as_keras(tmp_path):
    # Keras 3.15 (csv_logger.py): no `val_` key in the first epoch's logs, so
    # a `val_` column for every key, "NA" while absent.
    path = tmp_path / "log.csv"
    simulate_fit(FakeModel(), [CSVLogger(path)], [{"loss": 1.5, "accuracy": 0.25}, {"loss": 0.5}])
    rows = read_csv(path)
    assert rows == [
        ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"],
        ["0", "0.25", "1.5", "NA", "NA"],
        ["1", "NA", "0.5", "NA", "NA"],
    ]


def test_csv_logger_with_validation_keeps_the_first_epochs_keys(tmp_path):
    path = tmp_path / "log.csv"
    epochs = [{"loss": 1.5, "val_loss": 2.0, "learning_rate": 0.5}, {"loss": 0.5, "val_loss": 1.0}]
    simulate_fit(FakeModel(), [CSVLogger(path)], epochs)
    assert read_csv(path) == [
        ["epoch", "learning_rate", "loss", "val_loss"],
        ["0", "0.5", "1.5", "2.0"],
        ["1", "NA", "0.5", "1.0"],
    ]


def test_csv_logger_append_and_separator(tmp_path):
    path = str(tmp_path / "log.tsv")
    simulate_fit(FakeModel(), [CSVLogger(path, separator="\t")], losses(1.0))
    simulate_fit(FakeModel(), [CSVLogger(path, separator="\t", append=True)], losses(2.0, 3.0))
    assert read_csv(path, "\t") == [
        ["epoch", "loss", "val_loss"],
        ["0", "1.0", "NA"],
        ["0", "2.0", "NA"],
        ["1", "3.0", "NA"],
    ]
    simulate_fit(FakeModel(), [CSVLogger(path, separator="\t")], losses(4.0))
    assert read_csv(path, "\t") == [["epoch", "loss", "val_loss"], ["0", "4.0", "NA"]]


def test_terminate_on_nan_stops_after_the_bad_batch(capsys):
    model = FakeModel()
    history = simulate_fit(
        model,
        [TerminateOnNaN()],
        losses(1.0, 1.0, 1.0),
        steps=4,
        batch_loss=lambda e, b: float("nan") if (e, b) == (1, 2) else 1.0,
    )
    assert model.stop_training is True
    assert history.epoch == [0, 1]
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_terminate_on_nan_raise_error(bad):
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        simulate_fit(FakeModel(), [TerminateOnNaN(raise_error=True)], losses(1.0),
                     batch_loss=lambda e, b: bad)  # fmt: skip


def test_lambda_callback_calls_the_given_functions():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["loss"])),
        on_train_batch_end=lambda batch, logs: calls.append(("batch", batch)),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_end=lambda logs: calls.append("test_end"),
    )
    simulate_fit(FakeModel(), [cb], losses(0.5), steps=2)
    CallbackList([cb]).on_test_end()
    assert calls == [
        "train_begin",
        ("epoch_begin", 0),
        ("batch", 0),
        ("batch", 1),
        ("epoch_end", 0, 0.5),
        "train_end",
        "test_end",
    ]


def test_lambda_callback_bad_arguments():
    with pytest.raises(ValueError, match="unknown hook 'on_epoch_finish'"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match="must be callable"):
        LambdaCallback(on_epoch_end=3)


def test_module_exports():
    for name in cb_module.__all__:
        assert isinstance(getattr(cb_module, name), type)
    assert math.isclose(cb_module._learning_rate_of(FakeOptimizer(np.float32(0.5))), 0.5)


def test_callback_list_dispatches_every_hook_and_append_wires_new_callbacks():
    calls = []

    class Recorder(Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                return lambda *args, **kwargs: calls.append((name, args[:1]))
            return super().__getattribute__(name)

    model = FakeModel()
    cbs = CallbackList([], model=model, verbose=0, epochs=1, steps=1)
    rec = Recorder()
    cbs.append(rec)
    assert rec.model is model and rec.params == {"verbose": 0, "epochs": 1, "steps": 1}
    with pytest.raises(TypeError, match="Callback"):
        cbs.append(print)
    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                 "on_predict_begin", "on_predict_end"):  # fmt: skip
        getattr(cbs, hook)()
    batch_hooks = (
        "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
        "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
        "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
    )  # fmt: skip
    for hook in batch_hooks:
        getattr(cbs, hook)(4)
    names = [name for name, _ in calls]
    assert names == [
        "on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
        "on_predict_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
        "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
        "on_predict_batch_begin", "on_predict_batch_end",
    ]  # fmt: skip
    assert calls[-1][1] == (4,)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: EarlyStopping(patience="a"), ValueError, "`patience` must be a number"),
        (lambda: EarlyStopping(min_delta="x"), ValueError, "`min_delta` must be a number"),
        (lambda: EarlyStopping(baseline="x"), ValueError, "`baseline` must be a number"),
        (lambda: EarlyStopping(start_from_epoch=None), ValueError, "`start_from_epoch`"),
        (lambda: EarlyStopping(monitor=3), TypeError, "`monitor` must be a metric name"),
        (lambda: ReduceLROnPlateau(factor=-1.0), ValueError, "factor >= 0"),
        (lambda: ReduceLROnPlateau(factor=float("nan")), ValueError, "`factor` must be"),
        (lambda: ReduceLROnPlateau(min_lr=-1.0), ValueError, "min_lr >= 0"),
        (lambda: ReduceLROnPlateau(cooldown="x"), ValueError, "`cooldown` must be a number"),
        (lambda: ReduceLROnPlateau(patience=None), ValueError, "`patience` must be a number"),
    ],
)
def test_monitor_callbacks_check_their_arguments_before_training(make, error, match):
    """These were accepted, then failed in on_epoch_end after the model had
    trained epochs (patience='a': a TypeError comparing 'a' with an int once
    the metric stopped improving; monitor=3: an AttributeError), or silently
    set the learning rate to min_lr (factor=-1: max(-lr, min_lr))."""
    with pytest.raises(error, match=match):
        make()


def test_monitor_callbacks_keep_keras_s_accepted_values():
    assert EarlyStopping(patience=2.5, min_delta=-0.1, baseline=np.float32(0.5)).min_delta == 0.1
    assert ReduceLROnPlateau(factor=0.0, min_lr=0, cooldown=np.int64(2)).factor == 0.0


def test_tensorboard_is_accepted_and_refused_before_fit_changes_anything():
    """keras-io's "Training & evaluation with the built-in methods" creates a
    TensorBoard callback; Keras 3 takes the same arguments (and, without
    TensorFlow, fails when fit starts). fastnn writes no TensorBoard logs."""
    cb = fastnn.callbacks.TensorBoard(
        log_dir="/full_path_to_your_logs",
        histogram_freq=0,
        embeddings_freq=0,
        update_freq="batch",
    )
    assert (cb.log_dir, cb.update_freq, cb.write_graph) == ("/full_path_to_your_logs", 1, True)
    model = fastnn.Sequential([fastnn.Input((2,)), fastnn.layers.Dense(1)])
    model.compile("sgd", "mse")
    before = model.get_weights()
    x = np.ones((4, 2), np.float32)
    for run in (
        lambda: model.fit(x, np.ones(4), verbose=0, callbacks=[cb]),
        lambda: model.evaluate(x, np.ones(4), verbose=0, callbacks=[cb]),
        lambda: model.predict(x, verbose=0, callbacks=[cb]),
    ):
        with pytest.raises(NotImplementedError, match="TensorBoard"):
            run()
    assert int(model.optimizer.iterations) == 0
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    assert not os.path.exists("/full_path_to_your_logs")
