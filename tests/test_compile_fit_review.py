"""Two Keras 3 behaviors of compile and fit that a review found missing,
checked against Keras 3.15 (torch backend) in this process:

1. ``compile(loss="crossentropy")`` / ``"ce"``: Keras's CompileLoss decides
   binary, categorical or sparse categorical cross-entropy from the first
   labels' and predictions' shapes (``compile_utils.get_loss``), once.
2. ``verbose``: None and whole floats (``2.0``) are accepted, as Keras's
   ProgbarLogger compares them; its callbacks see the value as given.
"""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import layers, models
from fastnn.callbacks import Callback, ProgbarLogger

ROWS, FEATURES, CLASSES = 40, 7, 3


def data(rows=ROWS, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, FEATURES)).astype(np.float32)
    ids = rng.integers(0, CLASSES, rows)
    return x, ids


def labels(kind, ids):
    """The labels of each case: class ids, one-hot rows, 0/1 for a sigmoid."""
    if kind == "sparse":
        return ids
    if kind == "sparse_column":
        return ids[:, None]
    if kind == "one_hot":
        return np.eye(CLASSES, dtype=np.float32)[ids]
    return (ids > 0).astype(np.float32)  # "binary"


def units_of(kind):
    return 1 if kind == "binary" else CLASSES


def pair(keras, units, seed=1):
    """A Keras model and a fastnn one with the same initial weights."""
    activation = "sigmoid" if units == 1 else "softmax"
    keras.utils.set_random_seed(seed)
    theirs = keras.Sequential(
        [keras.layers.Input((FEATURES,)), keras.layers.Dense(units, activation=activation)]
    )
    ours = models.Sequential(
        [layers.Input((FEATURES,)), layers.Dense(units, activation=activation)]
    )
    with keras_quiet():
        ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    return theirs, ours


def assert_history_close(ours, theirs):
    assert list(ours) == list(theirs)
    for key, values in theirs.items():
        np.testing.assert_allclose(ours[key], values, rtol=2e-5, atol=1e-6, err_msg=key)


# -- 1. loss="crossentropy" / "ce" ----------------------------------------------------
@pytest.mark.parametrize(
    "kind, alias",
    [
        ("sparse", "crossentropy"),
        ("one_hot", "ce"),
        ("binary", "CE"),
        ("sparse_column", "CrossEntropy"),
    ],
)
def test_crossentropy_is_decided_by_the_label_shapes_as_keras_decides_it(kind, alias):
    keras = keras_or_skip()
    x, ids = data()
    xv, idv = data(12, seed=2)
    y, yv = labels(kind, ids), labels(kind, idv)
    theirs, ours = pair(keras, units_of(kind))
    fit = dict(batch_size=5, epochs=3, shuffle=False, validation_data=(xv, yv), verbose=0)
    for model in (theirs, ours):
        model.compile("sgd", alias, metrics=["accuracy"])
    with keras_quiet():
        k_history = theirs.fit(x, y, **fit).history
        k_eval = theirs.evaluate(xv, yv, verbose=0, return_dict=True)
        k_config = theirs.get_compile_config()
    history = ours.fit(x, y, **fit).history
    assert_history_close(history, k_history)  # the History key is "loss", as Keras's
    np.testing.assert_allclose(
        list(ours.evaluate(xv, yv, verbose=0, return_dict=True).values()),
        list(k_eval.values()),
        rtol=2e-5,
        atol=1e-6,
    )
    # model.loss and the compile config keep the string, as Keras keeps it
    assert ours.loss == theirs.loss == alias
    assert ours.get_compile_config()["loss"] == k_config["loss"] == alias
    # ... and the loss trained is the one Keras chose, bit for bit
    explicit = {
        "binary": "binary_crossentropy",
        "one_hot": "categorical_crossentropy",
    }.get(kind, "sparse_categorical_crossentropy")
    _, reference = pair(keras, units_of(kind))
    reference.compile("sgd", explicit, metrics=["accuracy"])
    assert reference.fit(x, y, **fit).history == history


def test_evaluate_decides_and_later_calls_keep_the_decision_as_in_keras():
    """Keras's CompileLoss is built once: labels of another shape later fail
    (both refuse sparse labels for the categorical loss evaluate chose);
    compile without a loss keeps it, compile with "ce" decides anew."""
    keras = keras_or_skip()
    x, ids = data()
    one_hot, sparse = labels("one_hot", ids), labels("sparse", ids)
    theirs, ours = pair(keras, CLASSES)
    for model in (theirs, ours):
        model.compile("sgd", "ce")
    with keras_quiet():
        k_loss = theirs.evaluate(x, one_hot, verbose=0)
        with pytest.raises(ValueError):
            theirs.fit(x, sparse, batch_size=8, verbose=0)
    assert ours.evaluate(x, one_hot, verbose=0) == pytest.approx(k_loss, rel=2e-5)
    with pytest.raises(ValueError, match="became categorical_crossentropy"):
        ours.fit(x, sparse, batch_size=8, verbose=0)
    for model in (theirs, ours):
        model.compile("sgd")  # no loss: the decided one stays
    with keras_quiet(), pytest.raises(ValueError):
        theirs.fit(x, sparse, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        ours.fit(x, sparse, batch_size=8, verbose=0)
    assert ours.loss == theirs.loss == "ce"
    for model in (theirs, ours):
        model.compile("sgd", "ce")  # decided again by the next labels
    with keras_quiet():
        k_history = theirs.fit(x, sparse, batch_size=8, shuffle=False, verbose=0).history
    history = ours.fit(x, sparse, batch_size=8, shuffle=False, verbose=0).history
    assert_history_close(history, k_history)


def test_train_on_batch_and_test_on_batch_decide_as_keras():
    keras = keras_or_skip()
    x, ids = data()
    one_hot, sparse = labels("one_hot", ids), labels("sparse", ids)
    theirs, ours = pair(keras, CLASSES)
    for model in (theirs, ours):
        model.compile("sgd", "crossentropy", metrics=["accuracy"])
    with keras_quiet():
        k_test = theirs.test_on_batch(x, sparse)
        k_train = theirs.train_on_batch(x, sparse)
        with pytest.raises(ValueError):
            theirs.train_on_batch(x, one_hot)
        k_weights = theirs.get_weights()
    np.testing.assert_allclose(ours.test_on_batch(x, sparse), k_test, rtol=2e-5)
    np.testing.assert_allclose(ours.train_on_batch(x, sparse), k_train, rtol=2e-5)
    with pytest.raises(ValueError, match="became sparse_categorical_crossentropy"):
        ours.train_on_batch(x, one_hot)
    for a, b in zip(ours.get_weights(), k_weights):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-7)

    theirs, ours = pair(keras, CLASSES)  # train_on_batch first
    for model in (theirs, ours):
        model.compile("sgd", "crossentropy")
    with keras_quiet():
        k_train = theirs.train_on_batch(x, one_hot)
    assert ours.train_on_batch(x, one_hot) == pytest.approx(k_train, rel=2e-5)


def test_predict_decides_nothing_as_in_keras():
    keras = keras_or_skip()
    x, ids = data()
    theirs, ours = pair(keras, CLASSES)
    for model in (theirs, ours):
        model.compile("sgd", "crossentropy")
    with keras_quiet():
        theirs.predict(x, verbose=0)
        k_loss = theirs.evaluate(x, ids, verbose=0)  # sparse: decided here
    ours.predict(x, verbose=0)
    assert ours.evaluate(x, ids, verbose=0) == pytest.approx(k_loss, rel=2e-5)


def test_unbuilt_model_builds_then_decides():
    """A model without an Input builds from the first x, then the labels
    decide; a first call that fails on its data leaves it unbuilt and
    undecided (fastnn's first calls undo their build), so the next labels
    decide afresh."""
    x, ids = data()
    model = models.Sequential([layers.Dense(CLASSES, activation="softmax")])
    model.compile("sgd", "ce", metrics=["accuracy"])
    with pytest.raises(ValueError, match="class id"):
        model.fit(x, ids + CLASSES, verbose=0)  # sparse labels out of range
    assert not model.built
    history = model.fit(x, labels("one_hot", ids), verbose=0).history
    assert list(history) == ["accuracy", "loss"]
    with pytest.raises(ValueError, match="became categorical_crossentropy"):
        model.evaluate(x, ids, verbose=0)


def test_saved_crossentropy_loads_undecided_in_fastnn_and_keras(tmp_path):
    """The archive keeps "crossentropy" (Keras's compile_config); fastnn and
    Keras load it compiled with that string, and its next labels decide,
    whatever decided the saved model's loss."""
    keras = keras_or_skip()
    x, ids = data()
    _, ours = pair(keras, CLASSES)
    ours.compile("sgd", "crossentropy", metrics=["accuracy"])
    ours.fit(x, labels("one_hot", ids), batch_size=8, verbose=0)  # categorical
    path = str(tmp_path / "ce.keras")
    ours.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    assert config["compile_config"]["loss"] == "crossentropy"

    loaded = models.load_model(path)
    with keras_quiet():
        k_loaded = keras.models.load_model(path)
        k_eval = k_loaded.evaluate(x, ids, verbose=0, return_dict=True)  # sparse now
    assert loaded.loss == k_loaded.loss == "crossentropy"
    np.testing.assert_allclose(
        list(loaded.evaluate(x, ids, verbose=0, return_dict=True).values()),
        list(k_eval.values()),
        rtol=2e-5,
    )

    # Keras's archive of such a model loads here the same way
    k_path = str(tmp_path / "keras_ce.keras")
    theirs, _ = pair(keras, 1)
    theirs.compile("adam", "ce")
    with keras_quiet():
        theirs.fit(x, labels("binary", ids), batch_size=8, verbose=0)
        theirs.save(k_path)
        k_eval = theirs.evaluate(x, labels("binary", ids), verbose=0)
    from_keras = models.load_model(k_path)
    assert from_keras.loss == "ce"
    assert from_keras.evaluate(x, labels("binary", ids), verbose=0) == pytest.approx(
        k_eval, rel=2e-5
    )


# -- 2. verbose ----------------------------------------------------------------------
def shown(text):
    """What a terminal shows of fit / evaluate / predict's output, times
    replaced: per line, the text after its last carriage return (Keras
    redraws the bar in place), colour codes and backspaces removed."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\b", "")
    lines = [line.split("\r")[-1].rstrip() for line in text.split("\n")]
    return [re.sub(r"\b\d+(?:s|ms|us)\b", "T", line) for line in lines if line]


def run_all(model, x, y, verbose, callbacks=()):
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=verbose, callbacks=callbacks)
    model.evaluate(x, y, batch_size=16, verbose=verbose, callbacks=callbacks)
    model.predict(x, batch_size=16, verbose=verbose, callbacks=callbacks)


def keras_printed(capsys, verbose):
    """fastnn's compiled twin of a Keras model, the data, and the lines Keras
    printed running fit, evaluate and predict with `verbose`."""
    keras = keras_or_skip()
    x, ids = data()
    theirs, ours = pair(keras, CLASSES)
    for model in (theirs, ours):
        model.compile("sgd", "sparse_categorical_crossentropy")
    capsys.readouterr()
    with keras_quiet():
        run_all(theirs, x, ids, verbose)
    return ours, x, ids, shown(capsys.readouterr().out)


@pytest.mark.parametrize(
    "verbose", [None, 0.0, 1.0, 2.0, np.float32(2.0), 3.0], ids=lambda v: repr(v)
)
def test_verbose_prints_what_keras_prints(capsys, verbose):
    """None and 0.0 are silent, 1.0 the bar, 2.0 a line per epoch, 3.0 only
    fit's "Epoch i/n" lines: Keras's ProgbarLogger compares the value."""
    ours, x, ids, expected = keras_printed(capsys, verbose)
    run_all(ours, x, ids, verbose)
    assert shown(capsys.readouterr().out) == expected
    assert bool(expected) == (verbose not in (None, 0))


class ParamsSeen(Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_begin(self, logs=None):
        self.seen.append(("train", dict(self.params)))

    def on_test_begin(self, logs=None):
        self.seen.append(("test", dict(self.params)))

    def on_predict_begin(self, logs=None):
        self.seen.append(("predict", dict(self.params)))


@pytest.mark.parametrize("verbose", [None, 2.0], ids=repr)
def test_callbacks_see_verbose_as_given_as_in_keras(capsys, verbose):
    keras = keras_or_skip()
    x, ids = data()
    theirs, ours = pair(keras, CLASSES)
    for model in (theirs, ours):
        model.compile("sgd", "sparse_categorical_crossentropy")

    class KerasParamsSeen(keras.callbacks.Callback):
        on_train_begin = ParamsSeen.on_train_begin
        on_test_begin = ParamsSeen.on_test_begin
        on_predict_begin = ParamsSeen.on_predict_begin

    theirs_seen = KerasParamsSeen()
    theirs_seen.seen = []
    ours_seen = ParamsSeen()
    with keras_quiet():
        run_all(theirs, x, ids, verbose, [theirs_seen])
    run_all(ours, x, ids, verbose, [ours_seen])
    assert ours_seen.seen == theirs_seen.seen
    assert all(type(p["verbose"]) is type(verbose) for _, p in ours_seen.seen)


def test_a_progbar_logger_given_with_verbose_none_stays_silent(capsys):
    """Keras adds its own ProgbarLogger for verbose=None (None != 0) and
    prints nothing; one passed in callbacks is silent too."""
    x, ids = data()
    model = models.Sequential([layers.Input((FEATURES,)), layers.Dense(CLASSES)])
    model.compile("sgd", "mse")
    run_all(model, x, labels("one_hot", ids), None, [ProgbarLogger()])
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("verbose", [2.0, None])
def test_progbar_takes_whole_floats_and_none_as_keras(capsys, verbose):
    keras = keras_or_skip()
    for module in (keras.utils, fastnn.utils):
        bar = module.Progbar(3, verbose=verbose)
        for step in (1, 2, 3):
            bar.update(step, [("loss", 0.5)])
    theirs_then_ours = shown(capsys.readouterr().out)
    half = len(theirs_then_ours) // 2
    assert theirs_then_ours[:half] == theirs_then_ours[half:]
    assert (theirs_then_ours == []) == (verbose is None)


@pytest.mark.parametrize("verbose", ["2", "yes", 1.5, float("nan")], ids=lambda v: repr(v))
def test_verbose_mistakes_are_refused_where_keras_only_prints_epoch_lines(capsys, verbose):
    """Deliberate difference: Keras draws no bar for these and prints only
    fit's "Epoch i/n" lines (a string or a fractional number is none of its
    modes); fastnn names the mistake."""
    ours, x, ids, printed = keras_printed(capsys, verbose)
    assert printed == ["Epoch 1/2", "Epoch 2/2"]
    message = "`verbose` must be 'auto', None or a whole number"
    with pytest.raises(ValueError, match=message):
        ours.fit(x, ids, epochs=2, verbose=verbose)
    with pytest.raises(ValueError, match=message):
        ours.evaluate(x, ids, verbose=verbose)
    with pytest.raises(ValueError, match=message):
        ours.predict(x, verbose=verbose)
