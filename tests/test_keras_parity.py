"""Small Keras 3 API behaviours fastnn matches, each checked side by side
with Keras 3.15 (PyTorch backend); the sections are numbered as the audit
listed them."""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers, models, optimizers
from fastnn.optimizers import schedules

RAN_OUT = "Your input ran out of data"


def regression_model(dropout=0.0):
    fastnn.utils.set_random_seed(0)
    stack = [layers.Input(shape=(3,)), layers.Dense(4, activation="relu")]
    if dropout:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(2))
    return models.Sequential(stack)


def classifier():
    fastnn.utils.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(6, activation="softmax")])
    model.compile(
        "sgd",
        "sparse_categorical_crossentropy",
        metrics=["accuracy", "sparse_top_k_categorical_accuracy"],
        weighted_metrics=["accuracy"],
    )
    return model


def data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return x, rng.standard_normal((n, 2)).astype(np.float32)


class Recorder(callbacks.Callback):
    """Records hook calls, their logs' keys and the params."""

    def __init__(self):
        super().__init__()
        self.calls = []
        self.params_seen = []

    def _record(self, name, logs):
        self.calls.append((name, None if logs is None else list(logs)))

    def on_train_begin(self, logs=None):
        self.params_seen.append(("train", dict(self.params)))

    def on_test_begin(self, logs=None):
        self.params_seen.append(("test", dict(self.params)))

    def on_predict_begin(self, logs=None):
        self.params_seen.append(("predict", dict(self.params)))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("train_batch", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("test_batch", batch))

    def on_epoch_end(self, epoch, logs=None):
        self._record("epoch_end", logs)

    def on_test_end(self, logs=None):
        self._record("test_end", logs)

    def on_train_end(self, logs=None):
        self._record("train_end", logs)


# -- 1. compile's run_eagerly, steps_per_execution, jit_compile, auto_scale_loss --
@pytest.mark.parametrize(
    "kwargs,recorded",
    [
        ({}, (False, 1, False)),
        ({"run_eagerly": True}, (True, 1, False)),
        ({"jit_compile": True}, (False, 1, True)),
        ({"jit_compile": "auto"}, (False, 1, False)),
        ({"steps_per_execution": 4}, (False, 4, False)),
        ({"auto_scale_loss": False}, (False, 1, False)),
    ],
)
def test_compile_records_keras_options_as_keras_does(kwargs, recorded):
    model = regression_model()
    model.compile("sgd", "mse", **kwargs)
    config = model.get_compile_config()
    assert (config["run_eagerly"], config["steps_per_execution"], config["jit_compile"]) == recorded
    assert (model.run_eagerly, model.steps_per_execution, model.jit_compile) == recorded
    assert "auto_scale_loss" not in config  # Keras does not record it either
    x, y = data()
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    reference = regression_model()
    reference.set_weights(before)
    reference.compile("sgd", "mse")
    reference.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)  # the options change nothing


def test_compile_run_eagerly_disables_jit_compile_with_keras_warning():
    model = regression_model()
    with pytest.warns(UserWarning, match="`jit_compile` cannot also be True"):
        model.compile("sgd", "mse", run_eagerly=True, jit_compile=True)
    assert model.get_compile_config()["jit_compile"] is False


@pytest.mark.parametrize(
    "value,error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError)]
)
def test_compile_steps_per_execution_must_be_a_positive_int(value, error):
    model = regression_model()
    with pytest.raises(error, match="`steps_per_execution` must be an integer >= 1"):
        model.compile("sgd", "mse", steps_per_execution=value)
    assert not model.compiled


def test_compile_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="foo"):
        regression_model().compile("sgd", "mse", foo=1)


def test_compile_options_round_trip_through_compile_config(tmp_path):
    model = regression_model()
    model.compile("sgd", "mse", run_eagerly=True, steps_per_execution=3)
    clone = regression_model()
    clone.compile_from_config(model.get_compile_config())
    assert clone.get_compile_config() == model.get_compile_config()
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = models.load_model(path)
    assert loaded.get_compile_config()["steps_per_execution"] == 3
    assert loaded.get_compile_config()["run_eagerly"] is True


# -- 2. model(x, training=..., mask=...) ------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"training": False}, {"training": None}, {"mask": None}])
def test_call_accepts_training_and_mask(kwargs):
    model = regression_model(dropout=0.5)
    x, _ = data()
    out = model(x, **kwargs)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (10, 2)
    np.testing.assert_array_equal(out, model.predict(x, verbose=0))
    # Keras returns a backend tensor; tutorials call numpy() on it (TF's Overfit
    # and underfit, keras-io's customizing-fit guide)
    plain = out.numpy()
    assert type(plain) is np.ndarray and type(out * 2) is np.ndarray
    np.testing.assert_array_equal(plain, out)


def test_call_training_true_without_dropout_is_inference():
    model = regression_model(dropout=0.0)
    x, _ = data()
    np.testing.assert_array_equal(model(x, training=True), model(x))


def test_call_training_true_with_dropout_draws_masks():
    model = regression_model(dropout=0.5)
    x = data()[0]
    first, second = model(x, training=True), model(x, training=True)
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, model(x))


def test_call_training_is_keyword_only():
    with pytest.raises(TypeError):
        regression_model()(data()[0], False)


# -- 3. steps_per_epoch / validation_steps / steps with arrays ---------------------
def tracking_model(n):
    """A linear model on one-hot inputs: the kernel row k changes only in
    the steps whose batch holds sample k."""
    model = models.Sequential([layers.Input(shape=(n,)), layers.Dense(1, use_bias=False)])
    model.set_weights([np.zeros((n, 1), np.float32)])
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    return model


class StepRows(callbacks.Callback):
    """Per epoch, the samples each step trained on (rows whose kernel entry moved)."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append([])
        self.last = self.model.get_weights()[0][:, 0].copy()

    def on_train_batch_end(self, batch, logs=None):
        now = self.model.get_weights()[0][:, 0].copy()
        self.epochs[-1].append(np.flatnonzero(now != self.last).tolist())
        self.last = now


def fit_rows(n, batch_size, steps_per_epoch, epochs, **kwargs):
    model = tracking_model(n)
    x = np.eye(n, dtype=np.float32)
    y = np.ones((n, 1), np.float32)
    rows = StepRows()
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,
        verbose=0,
        callbacks=[rows],
        **kwargs,
    )
    return rows.epochs, history


def test_steps_per_epoch_below_batches_continues_the_pass_across_epochs():
    # Keras 3: 10 samples, batch 3 (4 batches), steps_per_epoch=2, 3 epochs
    epochs, history = fit_rows(10, 3, 2, 3)
    assert epochs == [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9]], [[0, 1, 2], [3, 4, 5]]]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 2}


def test_steps_per_epoch_not_dividing_the_batches_ends_epochs_early_with_keras_warning():
    # Keras 3: steps_per_epoch=3 of 4 batches -> epochs of 3, 1, 3, 1 steps
    with pytest.warns(UserWarning, match=RAN_OUT) as record:
        epochs, history = fit_rows(10, 3, 3, 4)
    assert [len(e) for e in epochs] == [3, 1, 3, 1]
    assert epochs[1] == [[9]] and epochs[2][0] == [0, 1, 2]
    assert len([w for w in record if RAN_OUT in str(w.message)]) == 2
    assert history.params["steps"] == 3 and history.epoch == [0, 1, 2, 3]


def test_steps_per_epoch_equal_to_batches_is_an_ordinary_epoch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        epochs, _ = fit_rows(10, 3, 4, 2)
    assert epochs[0] == epochs[1] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_steps_per_epoch_above_batches_runs_every_batch_and_warns():
    with pytest.warns(UserWarning, match=RAN_OUT):
        epochs, history = fit_rows(10, 3, 6, 2)
    assert [len(e) for e in epochs] == [4, 4]
    assert history.params["steps"] == 6


def test_steps_per_epoch_without_batch_size_takes_ceil_n_over_steps():
    epochs, _ = fit_rows(10, None, 3, 1)  # Keras: batch size ceil(10 / 3) = 4
    assert epochs == [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]]


def test_steps_per_epoch_reshuffles_only_when_a_pass_ends():
    model = tracking_model(12)
    x, y = np.eye(12, dtype=np.float32), np.ones((12, 1), np.float32)
    rows = StepRows()
    fastnn.utils.set_random_seed(3)
    model.fit(x, y, batch_size=3, epochs=4, steps_per_epoch=2, verbose=0, callbacks=[rows])
    for first, second in (rows.epochs[0:2], rows.epochs[2:4]):
        seen = sorted(r for step in first + second for r in step)
        assert seen == list(range(12))  # two epochs = one pass over all samples


def test_steps_per_epoch_matches_the_same_batches_run_directly():
    x, y = data(12)
    model = regression_model()
    model.compile("sgd", "mse")
    start = model.get_weights()
    history = model.fit(x, y, batch_size=4, epochs=2, steps_per_epoch=1, shuffle=False, verbose=0)
    reference = regression_model()
    reference.set_weights(start)
    reference.compile("sgd", "mse")
    first = reference.train_on_batch(x[0:4], y[0:4])
    second = reference.train_on_batch(x[4:8], y[4:8])
    np.testing.assert_allclose(history.history["loss"], [first, second], rtol=1e-6)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_steps_per_epoch_progress_bar_targets_the_steps(capsys):
    x, y = data()
    model = regression_model()
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match=RAN_OUT):
        model.fit(x, y, batch_size=3, epochs=2, steps_per_epoch=3, shuffle=False, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("3/3")]
    assert len(lines) == 2  # Keras: "3/3 - 0s - ..." also for the 1-step epoch


def test_validation_steps_evaluates_the_first_batches_every_time():
    x, y = data(10)
    model = regression_model()
    model.compile("sgd", "mse")
    rec = Recorder()
    history = model.fit(
        x,
        y,
        batch_size=4,
        epochs=2,
        validation_data=(x, y),
        validation_steps=2,
        shuffle=False,
        verbose=0,
        callbacks=[rec],
    )
    model2 = regression_model()
    model2.set_weights(model.get_weights())
    model2.compile("sgd", "mse")
    expected = model2.evaluate(x[:8], y[:8], batch_size=4, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(expected, rel=1e-6)
    test_batches = [c for c in rec.calls if c[0] == "test_batch"]
    assert test_batches == [("test_batch", 0), ("test_batch", 1)] * 2  # as in Keras


def test_validation_steps_without_batch_size_takes_ceil_n_val_over_steps():
    x, y = data(10)
    model = regression_model()
    model.compile("sgd", "mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, epochs=1, validation_data=(x, y), validation_steps=2, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x, y, verbose=0), rel=1e-6
    )  # 2 batches of 5: every validation sample


def test_evaluate_steps_takes_the_first_batches():
    x, y = data(10)
    model = regression_model()
    model.compile("sgd", "mse", metrics=["mae"])
    rec = Recorder()
    logs = model.evaluate(x, y, batch_size=3, steps=2, verbose=0, callbacks=[rec], return_dict=True)
    assert logs == pytest.approx(model.evaluate(x[:6], y[:6], verbose=0, return_dict=True))
    assert rec.params_seen == [("test", {"verbose": 0, "epochs": 1, "steps": 2})]
    assert [c for c in rec.calls if c[0] == "test_batch"] == [("test_batch", 0), ("test_batch", 1)]


def test_evaluate_steps_without_batch_size_and_beyond_the_data():
    x, y = data(10)
    model = regression_model()
    model.compile("sgd", "mse")
    whole = model.evaluate(x, y, verbose=0)
    assert model.evaluate(x, y, steps=3, verbose=0) == pytest.approx(whole, rel=1e-6)
    with pytest.warns(UserWarning, match=RAN_OUT):
        assert model.evaluate(x, y, batch_size=3, steps=6, verbose=0) == pytest.approx(whole)


def test_predict_steps_takes_the_first_batches():
    x, _ = data(10)
    model = regression_model()
    full = model.predict(x, verbose=0)
    out = model.predict(x, batch_size=3, steps=2, verbose=0)
    np.testing.assert_array_equal(out, full[:6])
    assert model.predict(x, steps=3, verbose=0).shape == (10, 2)  # batches of ceil(10 / 3)
    rec = Recorder()
    out = model.predict(x, batch_size=3, steps=2, verbose=0, callbacks=[rec])
    assert out.shape == (6, 2)
    assert rec.params_seen == [("predict", {"verbose": 0, "epochs": 1, "steps": 2})]
    with pytest.warns(UserWarning, match=RAN_OUT):
        np.testing.assert_array_equal(model.predict(x, batch_size=3, steps=6, verbose=0), full)


@pytest.mark.parametrize("value", [0, -1, 2.0, "2", True])
def test_steps_arguments_must_be_positive_ints(value):
    x, y = data()
    model = regression_model()
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="`steps_per_epoch` must be an integer >= 1"):
        model.fit(x, y, steps_per_epoch=value, verbose=0)
    with pytest.raises(ValueError, match="`validation_steps` must be an integer >= 1"):
        model.fit(x, y, validation_data=(x, y), validation_steps=value, verbose=0)
    with pytest.raises(ValueError, match="`steps` must be an integer >= 1"):
        model.evaluate(x, y, steps=value, verbose=0)
    with pytest.raises(ValueError, match="`steps` must be an integer >= 1"):
        model.predict(x, steps=value, verbose=0)


# -- 4. / 5. layer names and pop --------------------------------------------------
KERAS_UNIQUE_NAMES = (
    "All layers added to a Sequential model should have unique names. Name 'hidden' is "
    "already the name of a layer in this model. Update the `name` argument to pass a "
    "unique name."
)


def test_duplicate_layer_name_in_constructor_raises_keras_error():
    with pytest.raises(ValueError) as info:
        models.Sequential(
            [
                layers.Input(shape=(3,)),
                layers.Dense(2, name="hidden"),
                layers.Dense(2, name="hidden"),
            ]
        )
    assert str(info.value) == KERAS_UNIQUE_NAMES


def test_duplicate_layer_name_on_add_raises_and_leaves_the_model():
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2, name="hidden")])
    with pytest.raises(ValueError) as info:
        model.add(layers.Dense(2, name="hidden"))
    assert str(info.value) == KERAS_UNIQUE_NAMES
    assert [layer.name for layer in model.layers] == ["hidden"]
    model.add(layers.Dense(2, name="other"))  # still usable


def test_pop_on_empty_model_raises_index_error():
    with pytest.raises(IndexError, match="pop from empty list"):
        models.Sequential().pop()
    with pytest.raises(IndexError):
        models.Sequential([layers.Input(shape=(3,))]).pop()


# -- 6. / 7. log order and callback params ----------------------------------------
SORTED_KEYS = ["accuracy", "loss", "sparse_top_k_categorical_accuracy", "weighted_accuracy"]


def test_logs_reach_callbacks_with_keys_sorted_as_in_keras():
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    y = np.array([0, 1] * 5)
    model = classifier()
    rec = Recorder()
    history = model.fit(x, y, batch_size=4, validation_data=(x, y), verbose=0, callbacks=[rec])
    everything = sorted(SORTED_KEYS + ["val_" + k for k in SORTED_KEYS])
    ends = {
        name: keys for name, keys in rec.calls if name in ("epoch_end", "test_end", "train_end")
    }
    assert ends == {"test_end": SORTED_KEYS, "epoch_end": everything, "train_end": everything}
    assert list(history.history) == everything
    rec = Recorder()
    model.evaluate(x, y, verbose=0, callbacks=[rec])
    assert rec.calls[-1] == ("test_end", SORTED_KEYS)


def test_evaluate_verbose_2_prints_metrics_sorted(capsys):
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    classifier().evaluate(x, np.array([0, 1] * 5), verbose=2)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    names = [part.split(":")[0] for part in line.split(" - ")[3:]]
    assert names == SORTED_KEYS  # Keras: accuracy, loss, ..., weighted_accuracy


def test_callback_params_for_fit_evaluate_and_predict_match_keras():
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    y = np.array([0, 1] * 5)
    model = classifier()
    rec = Recorder()
    model.fit(x, y, batch_size=4, epochs=2, validation_data=(x, y), verbose=0, callbacks=[rec])
    model.evaluate(x, y, verbose=0, callbacks=[rec])
    model.predict(x, verbose=0, callbacks=[rec])
    model.predict(x, verbose=2, callbacks=[rec])
    assert rec.params_seen == [
        ("train", {"verbose": 0, "epochs": 2, "steps": 3}),
        ("test", {"verbose": 0, "epochs": 2, "steps": 3}),  # validation: fit's params
        ("test", {"verbose": 0, "epochs": 2, "steps": 3}),
        ("test", {"verbose": 0, "epochs": 1, "steps": 1}),
        ("predict", {"verbose": 0, "epochs": 1, "steps": 1}),
        ("predict", {"verbose": 2, "epochs": 1, "steps": 1}),
    ]


# -- 8. sample weights of shape (n, 1) ---------------------------------------------
def weighted_model():
    fastnn.utils.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    return model


def test_sample_weight_column_is_taken_as_a_vector():
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    y = np.array([0, 1] * 4)
    w = np.linspace(0.1, 2.0, 8).astype(np.float32)
    column = w[:, None]
    a, b = weighted_model(), weighted_model()
    assert a.evaluate(x, y, sample_weight=column, verbose=0) == b.evaluate(
        x, y, sample_weight=w, verbose=0
    )
    assert a.test_on_batch(x, y, sample_weight=column) == b.test_on_batch(x, y, sample_weight=w)
    assert a.train_on_batch(x, y, sample_weight=column) == b.train_on_batch(x, y, sample_weight=w)
    ha = a.fit(x, y, sample_weight=column, validation_data=(x, y, column), verbose=0, shuffle=False)
    hb = b.fit(x, y, sample_weight=w, validation_data=(x, y, w), verbose=0, shuffle=False)
    assert ha.history == hb.history
    ha = a.fit(x, y, sample_weight=column, validation_split=0.25, verbose=0, shuffle=False)
    hb = b.fit(x, y, sample_weight=w, validation_split=0.25, verbose=0, shuffle=False)
    assert ha.history == hb.history


@pytest.mark.parametrize("shape", [(8, 2), (8, 1, 1), (1, 8)])
def test_sample_weight_of_other_shapes_is_still_refused(shape):
    x = np.ones((8, 3), np.float32)
    with pytest.raises(ValueError):
        weighted_model().evaluate(x, np.zeros(8), sample_weight=np.ones(shape), verbose=0)


# -- 9. using a model before compile ---------------------------------------------
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_training_calls_before_compile_raise_keras_value_error(method):
    x, y = data()
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model"):
        getattr(regression_model(), method)(x, y)


def test_predict_before_compile_works():
    x, _ = data()
    assert regression_model().predict(x, verbose=0).shape == (10, 2)


# -- 10. EarlyStopping's auto mode ---------------------------------------------------
def early_stopping_fit(metrics, monitor, mode="auto"):
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    y = np.array([0, 1] * 4)
    fastnn.utils.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=metrics)
    rec = Recorder()
    stop = callbacks.EarlyStopping(monitor=monitor, mode=mode)
    history = model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0, callbacks=[rec, stop])
    return history, rec


@pytest.mark.parametrize(
    "metrics,monitor",
    [(["accuracy"], "val_acc"), ([], "val_accuracy"), (["accuracy"], "acc"), (["accuracy"], "foo")],
)
def test_early_stopping_auto_mode_on_an_unknown_direction_raises_after_the_first_epoch(
    metrics, monitor
):
    # Keras 3: the ValueError comes from the first on_epoch_end, after epoch 0 trained
    events = []
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=metrics)
    seen = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: events.append(epoch))
    stop = callbacks.EarlyStopping(monitor=monitor)
    with pytest.raises(ValueError, match=f"received monitor={monitor}, but fastnn isn't able"):
        model.fit(x, np.array([0, 1] * 4), epochs=2, verbose=0, callbacks=[seen, stop])
    assert events == [0]


@pytest.mark.parametrize(
    "metrics,monitor",
    [
        (["acc"], "val_acc"),
        (["sparse_categorical_accuracy"], "val_sparse_categorical_accuracy"),
        ([], "loss"),
        ([], "val_loss"),
    ],
)
def test_early_stopping_auto_mode_on_a_compiled_metric_or_loss_works(metrics, monitor):
    history, _ = early_stopping_fit(metrics, monitor)
    assert history.epoch[0] == 0


def test_early_stopping_explicit_mode_on_a_missing_metric_warns_as_keras():
    with pytest.warns(UserWarning, match="Early stopping conditioned on metric `val_acc`"):
        history, _ = early_stopping_fit(["accuracy"], "val_acc", mode="max")
    assert history.epoch == [0, 1]


# -- 11. optimizer.learning_rate / iterations ---------------------------------------
def test_learning_rate_assign_and_numpy():
    opt = optimizers.Adam(learning_rate=0.5)
    assert opt.learning_rate.numpy().dtype == np.float32 and opt.learning_rate.numpy() == 0.5
    assert opt.learning_rate.assign(0.25) is None
    assert opt.learning_rate == 0.25 and opt.get_config()["learning_rate"] == 0.25
    opt.learning_rate = 0.125  # plain assignment still works
    assert opt.learning_rate == 0.125
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate.assign(-1.0)  # checked as the setter checks it


def test_learning_rate_value_behaves_as_the_float_it_is():
    opt = optimizers.SGD(learning_rate=0.001)
    lr = opt.learning_rate
    rate = 0.0010000000474974513  # float32's 0.001, Keras 3's float(optimizer.learning_rate)
    assert isinstance(lr, float) and float(lr) == rate
    assert repr(lr) == str(lr) == repr(rate) and f"{lr:.2e}" == "1.00e-03"
    assert lr * 2 == rate * 2 and type(lr * 2) is float and lr < 0.01 and hash(lr) == hash(rate)
    assert json.dumps({"lr": lr}) == '{"lr": 0.0010000000474974513}'
    assert json.dumps(opt.get_config())  # unaffected
    assert type(pickle.loads(pickle.dumps(lr))) is float and copy.deepcopy(lr) == rate
    assert np.asarray(lr).dtype == np.float64 and np.float32(lr) == np.float32(0.001)
    assert optimizers.SGD(learning_rate=lr).get_config()["learning_rate"] == rate


def test_learning_rate_assign_changes_training_like_setting_it():
    x, y = data()
    a, b = regression_model(), regression_model()
    a.compile(optimizers.SGD(learning_rate=0.1), "mse")
    b.compile(optimizers.SGD(learning_rate=0.1), "mse")
    a.optimizer.learning_rate.assign(1e-4)
    b.optimizer.learning_rate = 1e-4
    a.fit(x, y, verbose=0, shuffle=False)
    b.fit(x, y, verbose=0, shuffle=False)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_scheduled_learning_rate_reads_but_cannot_be_assigned():
    opt = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    assert opt.learning_rate.numpy() == np.float32(0.1)
    with pytest.raises(AttributeError, match="cannot be assigned"):
        opt.learning_rate.assign(0.3)  # Keras 3: a tensor, without `assign`
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.3


def test_iterations_numpy_assign_and_int_behaviour():
    x, y = data()
    model = regression_model()
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=5, verbose=0)
    its = model.optimizer.iterations
    assert its == 2 and isinstance(its, int) and its + 1 == 3 and repr(its) == "2"
    assert its.numpy() == 2 and its.numpy().dtype == np.int64
    assert json.dumps(its) == "2" and type(pickle.loads(pickle.dumps(its))) is int
    its.assign(7)
    assert model.optimizer.iterations == 7
    model.optimizer.iterations = 3
    assert model.optimizer.iterations.numpy() == 3
