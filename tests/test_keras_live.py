"""fastnn against a Keras 3 run of the same script (same initial weights,
shuffle=False): the results a user sees when changing ``from keras import``
to ``from fastnn import``. Skipped when Keras (torch backend) is missing."""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastnn

# torch's tensors under NumPy 2 (Keras's get_weights, History values)
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _data(n, seed=0, features=4, classes=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    return x, rng.integers(0, classes, n)


def _twins(keras, outputs, activation, loss, learning_rate=0.1, metrics=lambda lib: ["accuracy"]):
    """The same 4-5-`outputs` network in Keras and fastnn, compiled with SGD,
    `loss` and `metrics(lib)`, fastnn's holding Keras's initial weights."""

    def build(lib):
        model = lib.Sequential(
            [
                lib.Input((4,)),
                lib.layers.Dense(5, activation="relu"),
                lib.layers.Dense(outputs, activation=activation),
            ]
        )
        model.compile(optimizer=lib.optimizers.SGD(learning_rate), loss=loss, metrics=metrics(lib))
        return model

    keras.utils.set_random_seed(0)
    theirs = build(keras)
    ours = build(fastnn)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _pair(keras, learning_rate=0.1):
    """A 3-class softmax network in both."""
    return _twins(keras, 3, "softmax", "sparse_categorical_crossentropy", learning_rate)


def _fit_both(keras, make_callbacks, learning_rate=0.1, **kwargs):
    x, y = _data(37)
    results = []
    for lib, model in zip((keras, fastnn), _pair(keras, learning_rate)):
        history = model.fit(
            x, y, batch_size=8, verbose=0, shuffle=False, callbacks=make_callbacks(lib), **kwargs
        )
        results.append(history)
    return results


@pytest.mark.parametrize("callback", ["scheduler", "plateau"])
def test_logged_learning_rate_is_keras_s_float32_reading(callback, tmp_path):
    keras = _keras()
    seen = {}

    def make_callbacks(lib):
        seen[lib] = []

        def schedule(epoch, lr):
            seen[lib].append(lr)
            return lr * 0.3

        path = tmp_path / f"{lib.__name__}.csv"
        if callback == "scheduler":
            first = lib.callbacks.LearningRateScheduler(schedule)
        else:
            first = lib.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.3, patience=0)
        return [first, lib.callbacks.CSVLogger(str(path))]

    theirs, ours = _fit_both(keras, make_callbacks, learning_rate=3.0, epochs=4)
    assert ours.history["learning_rate"] == theirs.history["learning_rate"]
    assert seen[fastnn] == seen[keras]
    column = {
        lib: [row.split(",")[2] for row in (tmp_path / f"{lib.__name__}.csv").read_text().split()]
        for lib in (keras, fastnn)
    }
    assert column[fastnn] == column[keras]
    assert column[fastnn][0] == "learning_rate"


@pytest.mark.parametrize("detour", [False, True])
def test_compiling_again_with_the_same_optimizer_keeps_its_state_as_keras(detour):
    keras = _keras()
    x, y = _data(37)
    results = []
    for lib, model in zip((keras, fastnn), _pair(keras)):
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, verbose=0, shuffle=False)
        if detour:  # an epoch with another optimizer, then back to the first
            first = model.optimizer
            model.compile(
                optimizer=lib.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy"
            )
            model.fit(x, y, batch_size=8, verbose=0, shuffle=False)
            model.compile(optimizer=first, loss="sparse_categorical_crossentropy")
        # the fine-tuning idiom: new metrics, the optimizer it trained with
        model.compile(
            optimizer=model.optimizer,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        results.append((history.history, int(np.asarray(model.optimizer.iterations))))
    (theirs, their_steps), (ours, our_steps) = results
    assert our_steps == their_steps == 15
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-5, atol=1e-6)


def _binary_pair(keras, metrics):
    """A one-sigmoid-output network in both, compiled with `metrics(lib)`."""
    return _twins(keras, 1, "sigmoid", "binary_crossentropy", metrics=metrics)


def _assert_same_values(ours, theirs):
    """Equal structure and types (float or float32 array), close values."""
    assert type(ours) is type(theirs), (ours, theirs)
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for key in theirs:
            _assert_same_values(ours[key], theirs[key])
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same_values(a, b)
    elif isinstance(theirs, np.ndarray):
        assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
        np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)
    else:
        assert ours == pytest.approx(theirs, rel=2e-5, abs=1e-6)


def test_metric_aliases_and_per_output_vectors_log_as_keras(tmp_path):
    keras = _keras()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 4)).astype(np.float32)
    y = rng.integers(0, 2, (37, 1)).astype(np.float32)
    results = []
    for lib, model in zip(
        (keras, fastnn),
        _binary_pair(keras, lambda lib: ["bce", "BCE", lib.metrics.F1Score(threshold=0.5)]),
    ):
        path = tmp_path / f"{lib.__name__}.csv"
        history = model.fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            shuffle=False,
            verbose=0,
            validation_data=(x[:11], y[:11]),
            callbacks=[lib.callbacks.CSVLogger(str(path))],
        )
        results.append(
            (
                history.history,
                model.evaluate(x, y, verbose=0),
                model.evaluate(x, y, verbose=0, return_dict=True),
                model.train_on_batch(x, y, return_dict=True),
                path.read_text().splitlines()[0],
            )
        )
    theirs, ours = results
    # F1Score() of one output: whatever Keras's float() makes of array([f1])
    # under this NumPy (an array with NumPy 2.4.6); 'bce' is Keras's alias
    _assert_same_values(list(ours[:4]), list(theirs[:4]))
    assert (
        ours[4] == theirs[4] == "epoch,BCE,bce,f1_score,loss,val_BCE,val_bce,val_f1_score,val_loss"
    )


@pytest.mark.parametrize("identifier", ["normal", "uniform", "zero", "one", "he_normal"])
def test_initializer_ids_resolve_as_keras(identifier):
    keras = _keras()
    theirs = keras.initializers.get(identifier)
    ours = fastnn.initializers.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__
    expected = {k: v for k, v in theirs.get_config().items() if v is not None}
    assert {k: v for k, v in ours.get_config().items() if v is not None} == expected


def test_model_loss_and_compile_config_keep_the_loss_as_given_as_keras():
    keras = _keras()
    seen = []
    for lib in (keras, fastnn):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(2)])
        before = model.get_compile_config()
        model.compile("sgd", "mse")
        by_name = (model.loss, model.get_compile_config()["loss"])
        instance = lib.losses.MeanAbsoluteError(name="distance")
        model.compile("sgd", instance)
        config = model.get_compile_config()["loss"]
        seen.append(
            (
                before,
                by_name,
                model.loss is instance,
                config["class_name"],
                config["config"]["name"],
            )
        )
    assert seen[1] == seen[0] == ({}, ("mse", "mse"), True, "MeanAbsoluteError", "distance")
