"""Findings of a review of callbacks and saving against Keras 3.15 (torch
backend), each fixed:

1. a diverged run's NaN or Inf weights round-trip: every file fastnn writes
   (`save`, `save_weights`, ModelCheckpoint, BackupAndRestore) loads back,
   with a warning naming the file and the first such weight, and
   EarlyStopping's ``restore_best_weights`` and BackupAndRestore's resume
   work with them, as in Keras; `set_weights` and `Variable.assign` still
   refuse them from the user;
2. EarlyStopping and ReduceLROnPlateau monitoring a per-class metric
   (``F1Score(average=None)``) raise a ValueError saying so, not NumPy's
   "truth value ... is ambiguous";
3. a Keras archive compiled with an optimizer or loss option fastnn lacks
   (Adafactor, Muon, LossScaleOptimizer, ``ignore_class``) fails with
   an error that says ``load_model(path, compile=False)`` loads the model;
4. any object with Keras's callback interface is a callback (duck-typed, or
   a ``keras.callbacks.Callback``), its hooks called in Keras's order with
   Keras's logs; `1`, a class or a function are still refused;
5. ``metadata.json`` has Keras's ``keras_version`` beside ``fastnn_version``;
6. a bad format spec in ModelCheckpoint's filepath is Keras's ValueError.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
import zipfile

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import callbacks, layers, models, optimizers, saving

# -- 1. NaN or Inf weights ----------------------------------------------------------


def regression_data(rows=40):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 5)).astype("float32")
    y = (rng.normal(size=(rows, 1)) * 1e3).astype("float32")
    return x, y


def diverging(lib, momentum=0.0):
    """A model whose SGD (learning rate 1e3) turns its weights to NaN in one
    epoch of `regression_data`."""
    model = lib.Sequential(
        [lib.layers.Input((5,)), lib.layers.Dense(8, activation="relu"), lib.layers.Dense(1)]
    )
    model.compile(optimizer=lib.optimizers.SGD(learning_rate=1e3, momentum=momentum), loss="mse")
    return model


def diverged(momentum=0.0):
    fastnn.utils.set_random_seed(1)
    model = diverging(fastnn, momentum)
    model.fit(*regression_data(), epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert not all(np.isfinite(w).all() for w in model.get_weights())
    return model


def first_non_finite(source, target) -> str:
    """The path in `target` of the first weight of `source` holding NaN or Inf."""
    weights = source.get_weights()
    return next(t.path for t, w in zip(target.weights, weights) if not np.isfinite(w).all())


def assert_same_weights(a, b):
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)  # (NaN equals NaN here)


def nan_warning(path, source, target):
    where = first_non_finite(source, target)
    return rf"^'{re.escape(path)}' holds NaN or Inf values .*first in weight {where}; they are"


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_load_model_of_a_diverged_model_loads_it_with_a_warning(tmp_path, suffix):
    """Was "weight 0 contains NaN or Inf": a file fastnn wrote that fastnn
    could not load (Keras loads it)."""
    if suffix == ".h5":
        pytest.importorskip("h5py")
    model = diverged()
    path = str(tmp_path / f"m{suffix}")
    if suffix == ".h5":
        with pytest.warns(UserWarning, match="HDF5 file .* legacy"):
            model.save(path)
    else:
        model.save(path)
    with pytest.warns(UserWarning) as caught:
        loaded = models.load_model(path)
    (message,) = [str(w.message) for w in caught]
    assert re.match(nan_warning(path, model, loaded), message), message
    assert message.endswith(f"as Keras loads them: model {loaded.name!r} will predict NaN.")
    assert_same_weights(loaded.get_weights(), model.get_weights())
    x, y = regression_data()
    assert np.isnan(loaded.predict(x[:4], verbose=0)).all()
    loaded.fit(x, y, epochs=1, verbose=0)  # trains on, as Keras's (NaN losses)


@pytest.mark.parametrize("suffix", [".weights.npz", ".weights.h5"])
def test_load_weights_of_a_diverged_model_loads_them_with_a_warning(tmp_path, suffix):
    if suffix == ".weights.h5":
        pytest.importorskip("h5py")
    model = diverged()
    path = str(tmp_path / f"m{suffix}")
    model.save_weights(path)
    fastnn.utils.set_random_seed(2)
    other = diverging(fastnn)
    other.fit(*regression_data(8), epochs=1, verbose=0)  # (built, its optimizer too)
    with pytest.warns(UserWarning, match=nan_warning(path, model, other)):
        other.load_weights(path)
    assert_same_weights(other.get_weights(), model.get_weights())


def test_momentum_slots_of_a_diverged_run_load_with_the_model(tmp_path):
    """The optimizer's NaN slots load too (a diverged run's checkpoint
    resumes as it was); the other checks of the optimizer state stay."""
    model = diverged(momentum=0.9)
    slots = [np.array(v) for v in model.optimizer.variables[2:]]
    assert any(not np.isfinite(s).all() for s in slots)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.warns(UserWarning, match="NaN or Inf"):
        loaded = models.load_model(path)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations)
    assert_same_weights([np.array(v) for v in loaded.optimizer.variables[2:]], slots)


def test_a_checkpoint_of_a_diverging_fit_loads(tmp_path):
    fastnn.utils.set_random_seed(1)
    model = diverging(fastnn)
    path = str(tmp_path / "ckpt-{epoch}.keras")
    model.fit(
        *regression_data(),
        epochs=2,
        batch_size=8,
        shuffle=False,
        verbose=0,
        callbacks=[callbacks.ModelCheckpoint(path, monitor="loss")],
    )
    with pytest.warns(UserWarning, match=r"ckpt-2\.keras' holds NaN or Inf"):
        loaded = models.load_model(path.format(epoch=2))
    assert_same_weights(loaded.get_weights(), model.get_weights())


def test_fastnn_loads_a_diverged_archive_keras_wrote(tmp_path):
    keras = keras_or_skip()
    x, y = regression_data()
    with keras_quiet():
        theirs = diverging(keras)
        theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        weights = theirs.get_weights()
        theirs.save(tmp_path / "k.keras")
    assert not all(np.isfinite(w).all() for w in weights)
    with pytest.warns(UserWarning, match="k.keras' holds NaN or Inf"):
        ours = models.load_model(tmp_path / "k.keras")
    assert_same_weights(ours.get_weights(), weights)


def test_a_diverged_model_pickles_and_deep_copies_silently():
    """Was the loader's ValueError: a pickle (an archive inside) is a copy
    of a model in memory, so no warning either (the suite fails on one)."""
    model = diverged()
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert_same_weights(twin.get_weights(), model.get_weights())


def early_stopping_history(lib):
    model = diverging(lib)
    stop = lib.callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(
        *regression_data(), epochs=4, batch_size=8, shuffle=False, verbose=0, callbacks=[stop]
    )
    return model, history, stop


def test_early_stopping_restores_non_finite_best_weights_as_keras():
    """Was a ValueError from on_train_end: a finished fit turned into an
    exception when the best epoch's weights were NaN."""
    keras = keras_or_skip()
    fastnn.utils.set_random_seed(1)
    ours, history, stop = early_stopping_history(fastnn)
    with keras_quiet():
        theirs, their_history, their_stop = early_stopping_history(keras)
    assert history.epoch == their_history.epoch == [0, 1]
    assert np.isnan(history.history["loss"]).all() and np.isnan(their_history.history["loss"]).all()
    assert stop.best_epoch == their_stop.best_epoch == 0
    assert not all(np.isfinite(w).all() for w in ours.get_weights())
    assert_same_weights(ours.get_weights(), stop.best_weights)


class Boom:
    """A callback (of `lib`) that interrupts fit at the end of epoch 1."""

    def __new__(cls, lib):
        class _Boom(lib.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 1:
                    raise RuntimeError("boom")

        return _Boom()


def backup_resume(lib, folder):
    model = diverging(lib)
    x, y = regression_data()
    kwargs = dict(epochs=4, batch_size=8, shuffle=False, verbose=0)
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, callbacks=[lib.callbacks.BackupAndRestore(folder), Boom(lib)], **kwargs)
    return model.fit(x, y, callbacks=[lib.callbacks.BackupAndRestore(folder)], **kwargs)


def test_backup_and_restore_resumes_after_a_divergence_as_keras(tmp_path):
    """Was a ValueError at the next fit's start: the backup of the diverged
    weights could not be read back."""
    keras = keras_or_skip()
    fastnn.utils.set_random_seed(1)
    folder = tmp_path / "ours"
    with pytest.warns(UserWarning, match=r"latest\.weights\.npz' holds NaN or Inf"):
        history = backup_resume(fastnn, str(folder))
    with keras_quiet():
        their_history = backup_resume(keras, str(tmp_path / "theirs"))
    assert history.epoch == their_history.epoch == [2, 3]
    assert not folder.exists()


def test_set_weights_and_assign_still_refuse_non_finite_arrays():
    """A deliberate check kept: the user's arrays (not a file's) must be
    finite; the model is left as it was."""
    model = diverging(fastnn)
    before = model.get_weights()
    bad = [np.full_like(w, np.nan) for w in before]
    with pytest.raises(ValueError, match="weight 0 contains NaN or Inf"):
        model.set_weights(bad)
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.layers[0].kernel.assign(np.full((5, 8), np.inf))
    assert_same_weights(model.get_weights(), before)


# -- 2. a vector-valued monitor ---------------------------------------------------------


def f1_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(24, 5)).astype("float32"), np.eye(3, dtype="float32")[
        rng.integers(0, 3, 24)
    ]


def f1_fit(lib, callback, average=None):
    """A model compiled with F1Score (one batch an epoch), and its fit."""
    x, y = f1_data()
    model = lib.Sequential([lib.layers.Input((5,)), lib.layers.Dense(3, activation="softmax")])
    model.compile(
        optimizer="adam",
        loss="categorical_crossentropy",
        metrics=[lib.metrics.F1Score(average=average)],
    )
    return model, lambda: model.fit(x, y, epochs=3, verbose=0, callbacks=[callback])


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_monitoring_a_per_class_metric_is_a_clear_value_error(name):
    """Was NumPy's "The truth value of an array with more than one element
    is ambiguous" (Keras on torch: "Boolean value of Tensor with more than
    one value is ambiguous", a RuntimeError)."""
    callback = getattr(callbacks, name)(monitor="f1_score", mode="max")
    model, fit = f1_fit(fastnn, callback)
    message = (
        rf"^{name} cannot monitor 'f1_score': its value has shape \(3,\) .*Monitor a scalar, "
        r"e\.g\. compile the metric with average='macro'"
    )
    with pytest.raises(ValueError, match=message):
        fit()
    # the model is left usable: it fits and predicts again
    weights = model.get_weights()
    assert model.optimizer.iterations == 1  # the one epoch (one batch) before the error
    history = model.fit(*f1_data(), epochs=1, verbose=0)
    assert history.epoch == [0] and not model.stop_training
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_keras_fails_there_too(name):
    keras = keras_or_skip()
    with keras_quiet():
        callback = getattr(keras.callbacks, name)(monitor="f1_score", mode="max")
        _, fit = f1_fit(keras, callback)
        with pytest.raises(RuntimeError, match="ambiguous"):
            fit()


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_a_scalar_f1_score_is_monitored(name):
    callback = getattr(callbacks, name)(monitor="f1_score", mode="max", patience=5)
    _, fit = f1_fit(fastnn, callback, average="macro")
    assert fit().epoch == [0, 1, 2]


# -- 3. compile options fastnn lacks ---------------------------------------------------


KERAS_COMPILES = {
    "adafactor": lambda k: (k.optimizers.Adafactor(), "sparse_categorical_crossentropy"),
    "muon": lambda k: (k.optimizers.Muon(), "sparse_categorical_crossentropy"),
    "loss_scale": lambda k: (
        k.optimizers.LossScaleOptimizer(k.optimizers.SGD()),
        "sparse_categorical_crossentropy",
    ),
    "ignore_class": lambda k: ("adam", k.losses.SparseCategoricalCrossentropy(ignore_class=1)),
}


@pytest.mark.parametrize("case", sorted(KERAS_COMPILES))
def test_an_archive_compiled_with_what_fastnn_lacks_says_compile_false_loads_it(tmp_path, case):
    keras = keras_or_skip()
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    path = str(tmp_path / f"{case}.keras")
    with keras_quiet():
        theirs = keras.Sequential([keras.layers.Input((5,)), keras.layers.Dense(3)])
        theirs.compile(*KERAS_COMPILES[case](keras))
        theirs.save(path)
        expected = theirs.predict(x, verbose=0)
    quoted = re.escape(f"'{path}'")
    message = (
        rf"^{quoted} has a config fastnn cannot rebuild: .*\. That is in the compile config "
        rf"it was saved with: load_model\({quoted}, compile=False\) loads the model uncompiled"
    )
    with pytest.raises(ValueError, match=message):
        models.load_model(path)
    ours = models.load_model(path, compile=False)
    assert not ours.compiled
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_a_layer_fastnn_lacks_does_not_point_to_compile_false(tmp_path):
    keras = keras_or_skip()
    path = str(tmp_path / "conv.keras")
    with keras_quiet():
        theirs = keras.Sequential(
            [keras.layers.Input((5, 5, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten()]
        )
        theirs.compile(keras.optimizers.Adafactor(), "mse")
        theirs.save(path)
    with pytest.raises(ValueError, match="Conv2D") as caught:
        models.load_model(path)
    assert "compile=False" not in str(caught.value)


@pytest.mark.parametrize(
    "compile_config, match",
    [
        ({"optimizer": "adafactor", "loss": "mse"}, "Could not interpret optimizer identifier"),
        ({"optimizer": "sgd", "loss": "no_such_loss"}, "no_such_loss"),
    ],
)
def test_a_fastnn_archive_edited_to_a_bad_compile_config(tmp_path, compile_config, match):
    """The archives fastnn writes too (here edited), and legacy .h5 files."""
    model = models.Sequential([layers.Input((4,)), layers.Dense(2)])
    model.compile(optimizers.SGD(), "mse")
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(members["config.json"])
    config["compile_config"] = compile_config
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match=rf"{match}.*compile=False\) loads the model"):
        models.load_model(path)
    assert not models.load_model(path, compile=False).compiled


def test_a_legacy_h5_compiled_with_adafactor_says_compile_false_loads_it(tmp_path):
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    path = str(tmp_path / "adafactor.h5")
    with keras_quiet():
        theirs = keras.Sequential([keras.layers.Input((5,)), keras.layers.Dense(3)])
        theirs.compile(keras.optimizers.Adafactor(), "mse")
        theirs.save(path)
    with pytest.raises(
        ValueError, match=r"'Adafactor'.*compile=False\) loads the model uncompiled"
    ):
        models.load_model(path)
    assert not models.load_model(path, compile=False).compiled


# -- 4. callbacks that are not fastnn's --------------------------------------------------


class Duck:
    """Keras's callback interface without its base class: every hook
    (through `__getattr__`) records its call."""

    async_safe = False  # (Keras would otherwise run the batch-end hooks in threads)

    def __init__(self):
        self.calls = []

    def set_model(self, model):
        self.calls.append(("set_model",))

    def set_params(self, params):
        self.calls.append(("set_params", sorted(params.items())))

    def __getattr__(self, name):
        if not name.startswith("on_"):
            raise AttributeError(name)

        def hook(*args, logs=None):
            if args and isinstance(args[-1], dict):  # (epoch hooks take logs positionally)
                args, logs = args[:-1], args[-1]
            self.calls.append((name, *args, sorted(logs or {})))

        return hook


def classification(lib, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(10, 4)).astype("float32")
    y = rng.integers(0, 3, 10)
    model = lib.Sequential([lib.layers.Input((4,)), lib.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, x, y


def drive(lib, callback):
    """fit (with validation), evaluate and predict with `callback`."""
    model, x, y = classification(lib)
    history = model.fit(
        x,
        y,
        batch_size=4,
        epochs=2,
        verbose=0,
        validation_data=(x[:6], y[:6]),
        callbacks=[callback],
    )
    model.evaluate(x, y, batch_size=5, verbose=0, callbacks=[callback])
    model.predict(x, batch_size=5, verbose=0, callbacks=[callback])
    return model, history


def test_a_duck_typed_callback_sees_keras_hooks_in_keras_order():
    """Was "Every entry of `callbacks` must be a fastnn.callbacks.Callback
    instance"; Keras's CallbackList runs any object with the methods."""
    keras = keras_or_skip()
    ours, theirs = Duck(), Duck()
    drive(fastnn, ours)
    with keras_quiet():
        drive(keras, theirs)
    assert ours.calls == theirs.calls
    assert ("on_epoch_end", 1, ["accuracy", "loss", "val_accuracy", "val_loss"]) in ours.calls
    assert len(ours.calls) == 48


def test_a_keras_callback_subclass_runs_on_a_fastnn_model():
    keras = keras_or_skip()

    def recorder():
        class Recorder(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.calls = []

            def on_train_begin(self, logs=None):
                self.calls.append(("on_train_begin", type(self.model).__module__))

            def on_epoch_end(self, epoch, logs=None):
                self.calls.append(("on_epoch_end", epoch, sorted(logs)))

            def on_train_batch_end(self, batch, logs=None):
                self.calls.append(("on_train_batch_end", batch, sorted(logs)))

            def on_test_end(self, logs=None):
                self.calls.append(("on_test_end", sorted(logs)))

            def on_predict_batch_end(self, batch, logs=None):
                self.calls.append(("on_predict_batch_end", batch, sorted(logs)))

        return Recorder()

    ours = recorder()
    model, history = drive(fastnn, ours)
    with keras_quiet():
        theirs = recorder()
        drive(keras, theirs)
    assert ours.model is model
    assert ours.calls[0] == ("on_train_begin", "fastnn.models")
    assert theirs.calls[0][0] == "on_train_begin"
    assert ours.calls[1:] == theirs.calls[1:]
    assert ours.params == theirs.params == {"verbose": 0, "epochs": 1, "steps": 2}
    assert model.history is history  # (fastnn's History, not a Keras one)


def test_a_keras_lambda_callback_gets_the_logs_and_can_stop_training():
    keras = keras_or_skip()
    with keras_quiet():
        model, x, y = classification(fastnn)
        seen = []

        def on_epoch_end(epoch, logs):
            seen.append((epoch, dict(logs)))
            model.stop_training = epoch == 1

        history = model.fit(
            x,
            y,
            epochs=5,
            verbose=0,
            callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)],
        )
    assert history.epoch == [0, 1]
    assert [logs for _, logs in seen] == [
        {k: v[i] for k, v in history.history.items()} for i in range(2)
    ]


def test_batch_hooks_a_foreign_callback_leaves_at_keras_defaults_keep_the_fast_path():
    """A keras.callbacks.Callback that overrides only epoch hooks leaves fit
    its whole-epoch C++ path, as fastnn's own callbacks do."""
    keras = keras_or_skip()

    class EpochOnly(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    class BatchToo(EpochOnly):
        def on_batch_end(self, batch, logs=None):  # (train_batch_end calls it)
            pass

    assert callbacks.CallbackList([EpochOnly()]).batch_hook_policy("train") == "none"
    assert callbacks.CallbackList([BatchToo()]).batch_hook_policy("train") == "every"
    assert callbacks.CallbackList([BatchToo()]).batch_hook_policy("test") == "none"
    assert callbacks.CallbackList([Duck()]).batch_hook_policy("predict") == "every"


def test_a_partial_duck_gets_keras_base_class_defaults():
    """Missing hooks do nothing, and on_batch_end stands for
    on_train_batch_end, as Keras's base class runs them."""

    class Partial:
        def __init__(self):
            self.batches, self.epochs = [], []

        def set_model(self, model):
            self.model = model

        def set_params(self, params):
            self.params = params

        def on_batch_end(self, batch, logs=None):
            self.batches.append((batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(epoch)

    partial = Partial()
    model, x, y = classification(fastnn)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[partial])
    model.predict(x, verbose=0, callbacks=[partial])
    assert partial.batches == [(b, ["accuracy", "loss"]) for b in (0, 1, 2)] * 2
    assert partial.epochs == [0, 1] and partial.model is model


@pytest.mark.parametrize(
    "bad, match",
    [
        (1, "got 1 of type int, which has no set_model and set_params"),
        (callbacks.EarlyStopping, r"got the class EarlyStopping: pass an instance"),
        (print, r"wrap a function in LambdaCallback"),
        (lambda epoch, logs: None, r"wrap a function in LambdaCallback"),
        (object(), "which has no set_model and set_params"),
    ],
)
def test_what_is_no_callback_is_still_refused_before_training(bad, match):
    model, x, y = classification(fastnn)
    weights = model.get_weights()
    with pytest.raises(TypeError, match=match):
        model.fit(x, y, verbose=0, callbacks=[bad])
    with pytest.raises(TypeError, match=match):
        callbacks.CallbackList([]).append(bad)
    assert_same_weights(model.get_weights(), weights)
    assert model.optimizer.iterations == 0


def test_a_keras_callback_class_is_refused_as_a_class():
    keras = keras_or_skip()
    model, x, y = classification(fastnn)
    with pytest.raises(TypeError, match="got the class History: pass an instance"):
        model.fit(x, y, verbose=0, callbacks=[keras.callbacks.History])
    with pytest.raises(TypeError, match="got the class History: pass an instance"):
        model.fit(x, y, verbose=0, callbacks=keras.callbacks.History)


def test_one_callback_object_alone_is_taken_as_keras_takes_it():
    duck = Duck()
    model, x, y = classification(fastnn)
    model.fit(x, y, epochs=1, verbose=0, callbacks=duck)
    assert duck.calls[-1][0] == "on_train_end"


# -- 5. metadata.json ---------------------------------------------------------------------


def test_metadata_has_keras_version_as_keras_writes_it(tmp_path):
    keras = keras_or_skip()
    model = models.Sequential([layers.Input((5,)), layers.Dense(3)])
    model.save(tmp_path / "f.keras")
    with keras_quiet():
        theirs = keras.Sequential([keras.layers.Input((5,)), keras.layers.Dense(3)])
        theirs.save(tmp_path / "k.keras")
    ours, keras_metadata = (
        json.loads(zipfile.ZipFile(tmp_path / name).read("metadata.json"))
        for name in ("f.keras", "k.keras")
    )
    assert list(ours) == [*keras_metadata, "fastnn_version"]
    assert ours["keras_version"] == saving.KERAS_FORMAT_VERSION == "3.15.1"
    assert ours["fastnn_version"] == fastnn.__version__
    assert saving.LEGACY_H5_KERAS_VERSION == saving.KERAS_FORMAT_VERSION


# -- 6. ModelCheckpoint's filepath format -----------------------------------------------


@pytest.mark.parametrize(
    "filepath, error",
    [("{loss:d}.keras", ValueError), ("{0}.keras", IndexError), ("{nope}.keras", KeyError)],
)
def test_checkpoint_filepath_format_errors_are_keras_types(tmp_path, filepath, error):
    """`{loss:d}` was a KeyError (Keras: ValueError); the message names the
    filepath and the keys."""
    keras = keras_or_skip()
    x, y = regression_data(8)
    for lib in (fastnn, keras):
        model = lib.Sequential([lib.layers.Input((5,)), lib.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        checkpoint = lib.callbacks.ModelCheckpoint(str(tmp_path / filepath), monitor="loss")
        with keras_quiet(), pytest.raises(error) as caught:
            model.fit(x, y, verbose=0, callbacks=[checkpoint])
        if lib is fastnn:
            assert "Failed to format this callback filepath" in str(caught.value)
            assert "Available keys: epoch, loss" in str(caught.value)
