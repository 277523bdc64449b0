"""fit / evaluate / predict on Python generators and PyDataset-shaped
objects, as Keras 3 reads them (keras/src/trainers/epoch_iterator.py and
data_adapters/)."""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers, models, optimizers

RAN_OUT = "Your input ran out of data"
N, BATCH = 10, 4  # batches of 4, 4 and 2 rows


def make_data(n=N, features=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return x, y


def make_model(optimizer=None, input_layer=True):
    fastnn.utils.set_random_seed(1)
    stack = [layers.Input(shape=(3,))] if input_layer else []
    model = models.Sequential(
        stack + [layers.Dense(5, activation="relu"), layers.Dense(2, activation="softmax")]
    )
    model.compile(
        optimizer=optimizer or optimizers.SGD(learning_rate=0.1),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def batches_of(*arrays, batch=BATCH):
    n = len(arrays[0])
    return [tuple(a[i : i + batch] for a in arrays) for i in range(0, n, batch)]


def endless(batches, log=None):
    """An infinite generator cycling over `batches`, recording each index."""
    while True:
        for i, b in enumerate(batches):
            if log is not None:
                log.append(i)
            yield b


def finite(batches, log=None):
    for i, b in enumerate(batches):
        if log is not None:
            log.append(i)
        yield b


class Dataset:
    """The shape of keras.utils.PyDataset: len() batches, dataset[i]."""

    def __init__(self, batches):
        self.batches = list(batches)
        self.calls = []

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        self.calls.append(index)
        return self.batches[index]

    def on_epoch_begin(self):
        self.calls.append("begin")

    def on_epoch_end(self):
        self.calls.append("end")


def state(model):
    slots = [np.array(v, copy=True) for v in model._optimizer_variables()]
    return model.get_weights(), slots, int(model.optimizer.iterations), model._net.iterations


def assert_state(model, before):
    weights, slots, iterations, net_iterations = before
    assert all(np.array_equal(u, v) for u, v in zip(weights, model.get_weights()))
    assert all(
        np.array_equal(u, np.asarray(v)) for u, v in zip(slots, model._optimizer_variables())
    )
    assert (int(model.optimizer.iterations), model._net.iterations) == (iterations, net_iterations)


def assert_same_model(a, b):
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


# -- the same training as arrays ------------------------------------------------------


@pytest.mark.parametrize("source", ["generator", "pydataset"])
def test_a_source_trains_as_the_concatenated_arrays_do(source):
    x, y = make_data()
    reference = make_model(optimizers.Adam(0.01))
    expected = reference.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
    model = make_model(optimizers.Adam(0.01))
    if source == "generator":
        data, extra = endless(batches_of(x, y)), {"steps_per_epoch": 3}
    else:
        data, extra = Dataset(batches_of(x, y)), {}
    history = model.fit(data, epochs=3, shuffle=False, verbose=0, **extra)
    assert_same_model(model, reference)
    assert history.history == expected.history
    assert history.epoch == [0, 1, 2]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 3}
    assert model.optimizer.iterations == 9


def test_sample_weights_in_the_batches_weigh_as_arrays_do():
    x, y = make_data()
    w = np.linspace(0.5, 2.0, N).astype(np.float32)
    reference = make_model()
    model = make_model()
    reference.compile(
        optimizer=optimizers.SGD(0.1),
        loss="sparse_categorical_crossentropy",
        weighted_metrics=["accuracy"],
    )
    model.compile(
        optimizer=optimizers.SGD(0.1),
        loss="sparse_categorical_crossentropy",
        weighted_metrics=["accuracy"],
    )
    expected = reference.fit(x, y, sample_weight=w, batch_size=BATCH, shuffle=False, verbose=0)
    history = model.fit(Dataset(batches_of(x, y, w)), shuffle=False, verbose=0)
    assert history.history == expected.history
    assert_same_model(model, reference)


def test_class_weight_goes_with_a_pydataset_as_with_arrays():
    x, y = make_data()
    weights = {0: 0.5, 1: 3.0}
    reference = make_model()
    expected = reference.fit(x, y, class_weight=weights, batch_size=BATCH, shuffle=False, verbose=0)
    model = make_model()
    history = model.fit(Dataset(batches_of(x, y)), class_weight=weights, shuffle=False, verbose=0)
    assert history.history == expected.history
    assert_same_model(model, reference)


def test_a_model_without_input_is_built_from_the_first_batch():
    x, y = make_data()
    reference = make_model(input_layer=False)
    reference.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0)
    model = make_model(input_layer=False)
    model.fit(Dataset(batches_of(x, y)), shuffle=False, verbose=0)
    assert_same_model(model, reference)


def test_uint8_and_list_batches_are_converted_as_arrays_are():
    x, y = make_data()
    xi = (np.abs(x) * 50).astype(np.uint8)
    reference = make_model()
    reference.fit(xi, y, batch_size=BATCH, shuffle=False, verbose=0)
    model = make_model()
    model.fit(Dataset([list(b) for b in batches_of(xi, y)]), shuffle=False, verbose=0)
    assert_same_model(model, reference)


# -- how many batches an epoch takes -----------------------------------------------------


def test_an_infinite_generator_continues_where_the_last_epoch_stopped():
    x, y = make_data()
    log = []
    model = make_model()
    history = model.fit(
        endless(batches_of(x, y), log), steps_per_epoch=2, epochs=3, shuffle=False, verbose=0
    )
    # the first two batches are read ahead when fit starts (Keras peeks them)
    assert log[:6] == [0, 1, 2, 0, 1, 2]
    assert history.params["steps"] == 2
    assert model.optimizer.iterations == 6
    reference = make_model()
    for bx, by in [b for _ in range(2) for b in batches_of(x, y)]:
        reference.train_on_batch(bx, by)
    assert_same_model(model, reference)


def test_a_finite_generator_runs_out_as_in_keras():
    """Without steps_per_epoch it is read to its end with Keras's warning;
    each later epoch replays the two batches Keras read ahead, and warns."""
    x, y = make_data()
    log = []
    model = make_model()
    with pytest.warns(UserWarning, match=RAN_OUT) as record:
        history = model.fit(finite(batches_of(x, y), log), epochs=3, shuffle=False, verbose=0)
    assert sum(RAN_OUT in str(w.message) for w in record) == 3
    assert log == [0, 1, 2]
    assert history.params["steps"] is None
    assert len(history.history["loss"]) == 3
    b0, b1, b2 = batches_of(x, y)
    reference = make_model()
    for bx, by in [b0, b1, b2, b0, b1, b0, b1]:
        reference.train_on_batch(bx, by)
    assert_same_model(model, reference)


def test_an_epoch_that_gets_no_batch_logs_nothing():
    x, y = make_data()
    model = make_model()
    with pytest.warns(UserWarning, match=RAN_OUT) as record:
        history = model.fit(
            finite(batches_of(x, y)), steps_per_epoch=3, epochs=3, shuffle=False, verbose=0
        )
    # epoch 1 ran out at once; epoch 2 started a new pass: the two batches
    # read ahead, then out again
    assert sum(RAN_OUT in str(w.message) for w in record) == 2
    assert history.epoch == [0, 1, 2]
    assert len(history.history["loss"]) == 2
    assert model.optimizer.iterations == 3 + 2


def test_steps_per_epoch_beyond_a_pydataset_stops_at_its_end_with_a_warning():
    x, y = make_data()
    model = make_model()
    with pytest.warns(UserWarning, match=RAN_OUT):
        history = model.fit(
            Dataset(batches_of(x, y)), steps_per_epoch=5, epochs=2, shuffle=False, verbose=0
        )
    assert history.params["steps"] == 5
    assert model.optimizer.iterations == 3 + 3


def test_pydataset_epoch_hooks_run_once_per_epoch():
    x, y = make_data()
    dataset = Dataset(batches_of(x, y))
    make_model().fit(dataset, epochs=3, shuffle=False, verbose=0)
    assert dataset.calls == ["begin", 0, 1, 2, "end"] * 3


def test_shuffle_permutes_a_pydatasets_batches_each_epoch_reproducibly():
    x, y = make_data(n=40)
    orders = []
    for _ in range(2):
        dataset = Dataset(batches_of(x, y))
        make_model().fit(dataset, epochs=3, verbose=0)
        orders.append([c for c in dataset.calls if isinstance(c, int)])
    assert orders[0] == orders[1]
    epochs = [orders[0][i : i + 10] for i in range(0, 30, 10)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1


def test_a_generator_with_shuffle_warns_as_keras_does():
    x, y = make_data()
    with pytest.warns(UserWarning, match="`shuffle=True` was passed, but will be ignored"):
        make_model().fit(endless(batches_of(x, y)), steps_per_epoch=1, verbose=0)


def test_stop_training_and_batch_hooks_with_a_source():
    x, y = make_data()
    seen = []

    class Stop(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("end", batch, sorted(logs)))
            if batch == 1:
                self.model.stop_training = True

    model = make_model()
    history = model.fit(
        endless(batches_of(x, y)),
        steps_per_epoch=3,
        epochs=4,
        shuffle=False,
        verbose=0,
        callbacks=[Stop()],
    )
    assert seen == [
        ("begin", 0),
        ("end", 0, ["accuracy", "loss"]),
        ("begin", 1),
        ("end", 1, ["accuracy", "loss"]),
    ]
    assert history.epoch == [0]
    assert model.optimizer.iterations == 2


# -- validation, evaluate, predict ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["generator", "pydataset"])
def test_validation_data_as_a_source_with_validation_steps(kind):
    x, y = make_data()
    xv, yv = make_data(seed=5)
    model = make_model()
    reference = make_model()
    val = endless(batches_of(xv, yv)) if kind == "generator" else Dataset(batches_of(xv, yv))
    history = model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=2,
        shuffle=False,
        verbose=0,
        validation_data=val,
        validation_steps=2,
    )
    expected = reference.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=2,
        shuffle=False,
        verbose=0,
        validation_data=(xv[:8], yv[:8]),
    )
    # every validation starts a new pass (a generator: its two read-ahead batches)
    assert history.history == expected.history


def test_a_source_validates_a_source_and_arrays():
    x, y = make_data()
    xv, yv = make_data(seed=5)
    reference = make_model()
    expected = reference.fit(
        x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0, validation_data=(xv, yv)
    )
    for val in ((xv, yv), Dataset(batches_of(xv, yv, batch=5))):
        model = make_model()
        history = model.fit(
            Dataset(batches_of(x, y)), epochs=2, shuffle=False, verbose=0, validation_data=val
        )
        assert history.history.keys() == expected.history.keys()
        for key, values in expected.history.items():
            np.testing.assert_allclose(history.history[key], values, rtol=1e-6)


def test_evaluate_and_predict_read_steps_batches_from_the_start():
    x, y = make_data()
    model = make_model()
    model.fit(x, y, verbose=0)
    expected = model.evaluate(x[:8], y[:8], batch_size=BATCH, verbose=0)
    assert model.evaluate(endless(batches_of(x, y)), steps=2, verbose=0) == expected
    assert model.evaluate(Dataset(batches_of(x, y)), steps=2, verbose=0) == expected
    whole = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
    assert model.evaluate(Dataset(batches_of(x, y)), verbose=0, return_dict=True) == whole
    outputs = model.predict(x, verbose=0)
    np.testing.assert_array_equal(
        model.predict(endless([(b,) for b in batches_of(x)[0]]), steps=1, verbose=0), outputs[:4]
    )
    np.testing.assert_array_equal(
        model.predict(Dataset([b[0] for b in batches_of(x)]), verbose=0), outputs
    )
    with pytest.warns(UserWarning, match=RAN_OUT):
        np.testing.assert_array_equal(model.predict(finite(batches_of(x, y)), verbose=0), outputs)


def test_evaluate_and_predict_progress_bars_count_the_source_steps(capsys):
    x, y = make_data()
    model = make_model()
    model.evaluate(Dataset(batches_of(x, y)), verbose=1)
    model.predict(endless(batches_of(x)), steps=2, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("3/3 ") and out[1].startswith("2/2 ")


def test_an_unknown_total_is_counted_after_the_first_epoch(capsys):
    x, y = make_data()
    model = make_model()
    with pytest.warns(UserWarning, match=RAN_OUT):
        model.fit(finite(batches_of(x, y)), epochs=2, shuffle=False, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("3/3 - ")
    assert lines[2] == "Epoch 2/2" and lines[3].startswith("3/3 - ")  # Keras keeps the target


def test_the_progress_bar_of_an_unknown_total_is_keras_s():
    from fastnn.utils.progbar import Progbar

    bar = Progbar(None)
    assert bar._line(5, bar._start, 0.002, False).startswith("      5/Unknown 0s 2ms/step")


# -- refused ----------------------------------------------------------------------------------


def _refusals(model, x, y):
    """(call, Keras's message) for each refused combination."""

    def fit(data, **kwargs):
        kwargs.setdefault("steps_per_epoch", 2)
        return model.fit(data, shuffle=False, verbose=0, **kwargs)

    gen = lambda: endless(batches_of(x, y))  # noqa: E731
    dataset = lambda: Dataset(batches_of(x, y))  # noqa: E731
    w = np.ones(N)
    return [
        (lambda: fit(gen(), y=y), "as a generator, `y` should not be passed"),
        (lambda: fit(dataset(), y=y), "as a PyDataset, `y` should not be passed"),
        (lambda: fit(gen(), sample_weight=w), "`sample_weights` should not be passed"),
        (lambda: fit(dataset(), sample_weight=w), "`sample_weights` should not be passed"),
        (lambda: fit(gen(), validation_split=0.2), "`validation_split` is only supported"),
        (lambda: fit(gen(), class_weight={0: 1.0}), "`class_weight` is not supported"),
        (
            lambda: fit(Dataset(batches_of(x, y, w)), class_weight={0: 2.0}),
            "`class_weight` and `sample_weight` at the same time",
        ),
        (lambda: fit(finite([])), "Received an empty generator"),
        (lambda: fit(finite([x])), "the generator must return a tuple"),
        (lambda: fit(Dataset([])), "The PyDataset has length 0"),
        (lambda: fit(Dataset([{1, 2}])), "must return a tuple or a dict"),
        (lambda: fit(Dataset([(x,)])), "fit needs targets y"),
        (lambda: model.evaluate(gen(), y, verbose=0), "`y` should not be passed"),
        (lambda: model.evaluate(gen(), sample_weight=w, verbose=0), "`sample_weights`"),
        (lambda: model.predict(finite([x[:4]]), verbose=0), "must return a tuple"),
    ]


def test_every_refused_combination_is_keras_s_value_error_and_changes_nothing():
    x, y = make_data()
    model = make_model()
    model.fit(x, y, verbose=0)
    before = state(model)
    for call, match in _refusals(model, x, y):
        with pytest.raises(ValueError, match=re.escape(match)):
            call()
        assert_state(model, before)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (lambda b: (b[0] * np.nan, b[1]), ValueError, "NaN"),
        (lambda b: (b[0][:, :2], b[1]), ValueError, r"samples of shape \(n, 2\)"),
        (lambda b: (b[0].astype(str), b[1]), TypeError, "real numbers"),
        (lambda b: (b[0], b[1][:2]), ValueError, "batch"),
    ],
)
def test_a_bad_batch_names_itself_and_is_not_trained_on(bad, error, match):
    x, y = make_data()
    batches = batches_of(x, y)
    model = make_model()
    reference = make_model()
    reference.train_on_batch(*batches[0])
    source = Dataset([batches[0], bad(batches[1]), batches[2]])
    with pytest.raises(error, match=match) as info:
        model.fit(source, shuffle=False, verbose=0)
    assert "fit: batch 1 of the batch source" in str(info.value)
    assert_state(model, state(reference))


def test_a_bad_first_batch_changes_nothing():
    x, y = make_data()
    model = make_model()
    model.fit(x, y, verbose=0)
    before = state(model)
    with pytest.raises(ValueError, match="fit: batch 0 of the batch source.*NaN"):
        model.fit(endless([(x * np.nan, y)]), steps_per_epoch=1, shuffle=False, verbose=0)
    assert_state(model, before)


# -- Keras 3 itself ---------------------------------------------------------------------------


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def test_history_matches_keras_on_a_pydataset_and_a_finite_generator():
    keras = _keras()
    x, y = make_data()
    xv, yv = make_data(seed=5)

    def pair():
        keras.utils.set_random_seed(0)
        theirs = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Dense(5, activation="relu"),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        theirs.compile(
            optimizer=keras.optimizers.SGD(0.1),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        ours = make_model()
        ours.set_weights([w.value.detach().numpy() for w in theirs.weights])
        return theirs, ours

    class KerasDataset(keras.utils.PyDataset):
        def __init__(self, batches):
            super().__init__()
            self.batches = batches

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, index):
            return self.batches[index]

    theirs, ours = pair()
    kwargs = dict(epochs=2, shuffle=False, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch's __array__ under NumPy 2
        expected = theirs.fit(
            KerasDataset(batches_of(x, y)),
            validation_data=KerasDataset(batches_of(xv, yv)),
            **kwargs,
        ).history
    got = ours.fit(
        KerasDataset(batches_of(x, y)), validation_data=KerasDataset(batches_of(xv, yv)), **kwargs
    ).history
    assert got.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-6)

    theirs, ours = pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.fit(finite(batches_of(x, y)), epochs=3, shuffle=False, verbose=0)
    with pytest.warns(UserWarning, match=RAN_OUT):
        got = ours.fit(finite(batches_of(x, y)), epochs=3, shuffle=False, verbose=0)
    assert got.params == expected.params
    for key in expected.history:
        np.testing.assert_allclose(got.history[key], expected.history[key], rtol=1e-5, atol=1e-6)

    # steps_per_epoch on a finite generator: an epoch with no batch, then replays
    theirs, ours = pair()
    kwargs = dict(steps_per_epoch=3, epochs=4, shuffle=False, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.fit(finite(batches_of(x, y)), **kwargs)
    with pytest.warns(UserWarning, match=RAN_OUT):
        got = ours.fit(finite(batches_of(x, y)), **kwargs)
    assert got.epoch == expected.epoch
    assert {k: len(v) for k, v in got.history.items()} == {
        k: len(v) for k, v in expected.history.items()
    }
    for key in expected.history:
        np.testing.assert_allclose(got.history[key], expected.history[key], rtol=1e-5, atol=1e-6)


def _batches_class(base):
    """A PyDataset subclass on `base` (fastnn's or Keras's), as Keras's docs write one."""

    class Batches(base):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return -(-len(self.x) // self.batch_size)

        def __getitem__(self, index):
            rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return self.x[rows], self.y[rows]

    return Batches


def test_py_dataset_base_class_trains_as_keras():
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    x, y = make_data(n=30)
    model = make_model()
    with keras_quiet():
        kmodel = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Dense(5, activation="relu"),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        kmodel.set_weights(model.get_weights())
        kmodel.compile(
            keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        kdata = _batches_class(keras.utils.PyDataset)(x, y, 8)
        expected = kmodel.fit(kdata, epochs=3, shuffle=False, verbose=0).history
    data = _batches_class(fastnn.utils.PyDataset)(x, y, 8, workers=2, use_multiprocessing=True)
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (2, True, 10)
    history = model.fit(data, epochs=3, shuffle=False, verbose=0).history
    assert sorted(history) == sorted(expected)
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-5)
    with keras_quiet():
        for ours, theirs in zip(model.get_weights(), kmodel.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    assert model.predict(data, verbose=0).shape == (30, 2)
    assert fastnn.utils.Sequence is fastnn.utils.PyDataset
    assert [len(b[0]) for b in data] == [8, 8, 8, 6]


def test_py_dataset_without_super_init_warns_and_infinite_needs_steps():
    x, y = make_data(n=12)

    class NoSuper(fastnn.utils.PyDataset):
        def __init__(self):
            pass  # no super().__init__()

        def __len__(self):
            return 3

        def __getitem__(self, index):
            return x[index * 4 : (index + 1) * 4], y[index * 4 : (index + 1) * 4]

    with pytest.warns(UserWarning, match=r"should call `super\(\).__init__\(\*\*kwargs\)`"):
        make_model().fit(NoSuper(), epochs=1, verbose=0, shuffle=False)

    class Endless(fastnn.utils.PyDataset):
        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            return x[:4], y[:4]

    model = make_model()
    history = model.fit(Endless(), steps_per_epoch=2, epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2

    class Nothing(fastnn.utils.PyDataset):
        def __getitem__(self, index):
            return x, y

    with pytest.raises(NotImplementedError, match="num_batches"):
        _ = Nothing().num_batches
