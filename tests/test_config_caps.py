"""fastnn.config.set_max_epochs / set_max_steps_per_epoch: Keras 3's debugging
caps on fit, evaluate and predict, checked against Keras itself where it is
installed (same data, same calls: epochs run, batches seen, rows predicted)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import config

ROWS = 50  # not a multiple of the batch sizes below


@pytest.fixture(autouse=True)
def no_caps():
    config.set_max_epochs(None)
    config.set_max_steps_per_epoch(None)
    yield
    config.set_max_epochs(None)
    config.set_max_steps_per_epoch(None)


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((ROWS, 7)).astype(np.float32), rng.integers(0, 3, ROWS)


def model_of(lib):
    model = lib.Sequential(
        [lib.layers.Input(shape=(7,)), lib.layers.Dense(3, activation="softmax")]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


class Counter:
    """Counts the batches of each kind a callback sees (fastnn's or Keras's base)."""

    def __init__(self, base):
        counts = self.counts = {"train": [], "test": 0, "predict": 0, "epochs": 0}

        class Counting(base):
            def on_epoch_begin(self, epoch, logs=None):
                counts["epochs"] += 1
                counts["train"].append(0)

            def on_train_batch_end(self, batch, logs=None):
                counts["train"][-1] += 1

            def on_test_batch_end(self, batch, logs=None):
                counts["test"] += 1

            def on_predict_batch_end(self, batch, logs=None):
                counts["predict"] += 1

        self.callback = Counting()


def run_fastnn(call, *args, **kwargs):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    return result, sorted({str(w.message) for w in seen if "Limiting" in str(w.message)})


def test_setters_and_getters():
    assert config.max_epochs() is None and config.max_steps_per_epoch() is None
    config.set_max_epochs(3)
    config.set_max_steps_per_epoch(np.int64(5))
    assert config.max_epochs() == 3 and config.max_steps_per_epoch() == 5
    assert type(config.max_steps_per_epoch()) is int
    config.set_max_epochs(0)  # Keras reads 0 as no cap
    assert config.max_epochs() is None


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True, [2]])
@pytest.mark.parametrize("setter", ["set_max_epochs", "set_max_steps_per_epoch"])
def test_bad_caps_are_refused_and_keep_the_old_cap(setter, bad):
    getattr(config, setter)(4)
    with pytest.raises(ValueError, match=r"must be None or an integer >= 0"):
        getattr(config, setter)(bad)
    getter = setter[len("set_") :]
    assert getattr(config, getter)() == 4


def test_max_epochs_caps_fit_with_keras_warning():
    x, y = data()
    model = model_of(fastnn)
    config.set_max_epochs(2)
    history, said = run_fastnn(model.fit, x, y, epochs=5, verbose=0)
    assert history.epoch == [0, 1]
    assert said == ["Limiting epochs to 2"]
    # not more than asked: no warning
    history, said = run_fastnn(model.fit, x, y, epochs=1, verbose=0)
    assert history.epoch == [0] and said == []
    # initial_epoch beyond the cap: no epoch runs, as in Keras (range(3, 2))
    history, said = run_fastnn(model.fit, x, y, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [] and said == ["Limiting epochs to 2"]


def fastnn_counts(call_kwargs):
    x, y = data()
    model = model_of(fastnn)
    counter = Counter(fastnn.callbacks.Callback)
    model.fit(x, y, callbacks=[counter.callback], verbose=0, **call_kwargs["fit"])
    model.evaluate(x, y, callbacks=[counter.callback], verbose=0, **call_kwargs["evaluate"])
    out = model.predict(x, callbacks=[counter.callback], verbose=0, **call_kwargs["predict"])
    return counter.counts, out.shape


CASES = {
    "defaults": {"fit": {"epochs": 2}, "evaluate": {}, "predict": {}},
    "batch_size": {
        "fit": {"epochs": 2, "batch_size": 8, "validation_split": 0.2},
        "evaluate": {"batch_size": 8},
        "predict": {"batch_size": 4},
    },
    "fewer_steps": {
        "fit": {"epochs": 2, "batch_size": 4, "steps_per_epoch": 2},
        "evaluate": {"batch_size": 4, "steps": 2},
        "predict": {"batch_size": 4, "steps": 1},
    },
    "more_steps": {
        "fit": {"epochs": 1, "batch_size": 4, "steps_per_epoch": 9},
        "evaluate": {"batch_size": 4, "steps": 9},
        "predict": {"batch_size": 4, "steps": 9},
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_max_steps_per_epoch_caps_every_loop(case):
    config.set_max_steps_per_epoch(3)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        counts, shape = fastnn_counts(CASES[case])
    limited = [str(w.message) for w in seen if "Limiting" in str(w.message)]
    kwargs = CASES[case]
    asked = kwargs["fit"].get("steps_per_epoch")
    assert counts["epochs"] == kwargs["fit"]["epochs"]
    # the first epoch runs the capped steps; a later one continues the pass
    # over the batches and may run out (test_caps_match_keras: as Keras's)
    assert counts["train"][0] == min(asked or 3, 3)
    assert all(1 <= ran <= 3 for ran in counts["train"])
    evaluate_steps = min(kwargs["evaluate"].get("steps") or 3, 3)
    validation = 0
    if "validation_split" in kwargs["fit"]:  # 10 rows in batches of 8: 2 steps, under the cap
        validation = min(3, -(-10 // kwargs["fit"]["batch_size"])) * kwargs["fit"]["epochs"]
    assert counts["test"] == validation + evaluate_steps
    predict_steps = min(kwargs["predict"].get("steps") or 3, 3)
    assert counts["predict"] == predict_steps
    predict_batch = kwargs["predict"].get("batch_size") or -(-ROWS // predict_steps)
    assert shape == (min(ROWS, predict_steps * predict_batch), 3)
    # one warning per loop the cap shortened: fit, its validation, evaluate, predict
    shortened = [
        asked is None or asked > 3,
        "validation_split" in kwargs["fit"],
        (kwargs["evaluate"].get("steps") or 4) > 3,
        (kwargs["predict"].get("steps") or 4) > 3,
    ]
    assert limited == ["Limiting steps_per_epoch to 3"] * sum(shortened)


@pytest.mark.parametrize("max_epochs", [1, 2])
@pytest.mark.parametrize("case", sorted(CASES))
def test_caps_match_keras(case, max_epochs):
    keras = pytest.importorskip("keras")
    if keras.config.backend() != "torch":
        pytest.skip("Keras runs here with the torch backend")
    config.set_max_steps_per_epoch(3)
    config.set_max_epochs(max_epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = fastnn_counts(CASES[case])
        keras.config.set_max_steps_per_epoch(3)
        keras.config.set_max_epochs(max_epochs)
        try:
            x, y = data()
            model = model_of(keras)
            counter = Counter(keras.callbacks.Callback)
            kwargs = CASES[case]
            model.fit(x, y, callbacks=[counter.callback], verbose=0, **kwargs["fit"])
            model.evaluate(x, y, callbacks=[counter.callback], verbose=0, **kwargs["evaluate"])
            out = model.predict(x, callbacks=[counter.callback], verbose=0, **kwargs["predict"])
        finally:
            keras.config.set_max_steps_per_epoch(None)
            keras.config.set_max_epochs(None)
    assert ours == (counter.counts, tuple(out.shape))


def test_fit_without_validation_does_not_warn_for_it():
    x, y = data()
    config.set_max_steps_per_epoch(100)  # more than the 2 batches: no cap, no warning
    _, said = run_fastnn(model_of(fastnn).fit, x, y, batch_size=32, steps_per_epoch=2, verbose=0)
    assert said == []


def run_python(code: str, **env):
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120
    )


def test_caps_read_from_keras_environment_variables():
    code = "import fastnn; print(fastnn.config.max_epochs(), fastnn.config.max_steps_per_epoch())"
    done = run_python(code, KERAS_MAX_EPOCHS="2", KERAS_MAX_STEPS_PER_EPOCH="7")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "7"]


def test_a_bad_environment_variable_names_itself():
    done = run_python("import fastnn", KERAS_MAX_EPOCHS="two")
    assert done.returncode != 0
    assert "KERAS_MAX_EPOCHS must be an integer" in done.stderr
    assert "'two'" in done.stderr


def source_run(lib):
    """fit (with validation) and predict on a PyDataset of 5 batches of 4
    rows, under caps of 2 epochs and 2 steps: the batches each loop ran."""
    seen = []

    class Batches(lib.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            rng = np.random.default_rng(i)
            return rng.random((4, 7)).astype("float32"), rng.integers(0, 3, 4)

    class Seen(lib.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("train", batch))

        def on_test_batch_end(self, batch, logs=None):
            seen.append(("test", batch))

    model = model_of(lib)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        history = model.fit(
            Batches(), epochs=4, validation_data=Batches(), verbose=0, callbacks=[Seen()]
        )
        out = model.predict(Batches(), verbose=0)
    limited = sorted({str(w.message) for w in said if "Limiting" in str(w.message)})
    return history.epoch, seen, tuple(out.shape), limited


def test_caps_on_a_batch_source():
    config.set_max_epochs(2)
    config.set_max_steps_per_epoch(2)
    epochs, seen, shape, limited = source_run(fastnn)
    assert epochs == [0, 1] and shape == (8, 3)
    assert seen == [("train", 0), ("train", 1), ("test", 0), ("test", 1)] * 2
    assert limited == ["Limiting epochs to 2", "Limiting steps_per_epoch to 2"]
    keras = pytest.importorskip("keras")
    if keras.config.backend() != "torch":
        pytest.skip("Keras runs here with the torch backend")
    keras.config.set_max_epochs(2)
    keras.config.set_max_steps_per_epoch(2)
    try:
        assert source_run(keras) == (epochs, seen, shape, limited)
    finally:
        keras.config.set_max_epochs(None)
        keras.config.set_max_steps_per_epoch(None)
