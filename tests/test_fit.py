"""Model.fit / evaluate / predict semantics, as Keras 3 defines them."""

from __future__ import annotations

import io
import math
import re
import sys

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers, models, optimizers


def make_data(n=200, features=12, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, features)) * 2.0
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.standard_normal((n, features))).astype(np.float32)
    return x, y


def make_model(features=12, classes=4, seed=1, optimizer=None, metrics=("accuracy",)):
    fastnn.utils.set_random_seed(seed)
    model = models.Sequential(
        [
            layers.Input(shape=(features,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizer or optimizers.SGD(learning_rate=0.1),
        loss="sparse_categorical_crossentropy",
        metrics=list(metrics),
    )
    return model


def weights_equal(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b)) and len(a) == len(b)


def test_fit_returns_history_with_keras_keys_and_learns():
    x, y = make_data()
    model = make_model()
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, validation_split=0.25)
    assert isinstance(history, callbacks.History)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history.params == {"verbose": 0, "epochs": 5, "steps": math.ceil(150 / 16)}
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.5


def test_fit_loss_is_the_batch_size_weighted_mean_of_batch_losses():
    x, y = make_data(n=50)
    model = make_model()
    twin = make_model()
    history = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    losses, sizes = [], []
    for start in range(0, 50, 16):
        result = twin.train_on_batch(x[start : start + 16], y[start : start + 16])
        losses.append(result[0] if isinstance(result, list) else result)
        sizes.append(len(x[start : start + 16]))
    expected = float(np.dot(losses, sizes) / 50)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert weights_equal(model.get_weights(), twin.get_weights())


def test_validation_split_takes_the_tail_before_shuffling():
    x, y = make_data(n=100)
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=10, verbose=0, validation_split=0.2)
    reference = make_model()
    reference.fit(x[:80], y[:80], epochs=1, batch_size=10, verbose=0, shuffle=True)
    # Same seed, same training rows in the same shuffled order: identical weights.
    assert weights_equal(model.get_weights(), reference.get_weights())
    val = model.evaluate(x[80:], y[80:], verbose=0, return_dict=True)
    history = make_model().fit(x, y, epochs=1, batch_size=10, verbose=0, validation_split=0.2)
    assert history.history["val_loss"][0] == pytest.approx(val["loss"], rel=1e-5)


@pytest.mark.parametrize("split", [1.0, 1.5, -0.1])
def test_validation_split_out_of_range_is_an_error(split):
    x, y = make_data(n=20)
    model = make_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=split, verbose=0)
    assert weights_equal(before, model.get_weights())


def test_shuffle_false_keeps_order_and_is_deterministic():
    x, y = make_data(n=64)
    a = make_model()
    a.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    b = make_model()
    for _ in range(2):
        for start in range(0, 64, 8):
            b.train_on_batch(x[start : start + 8], y[start : start + 8])
    assert weights_equal(a.get_weights(), b.get_weights())


def test_same_seed_gives_bit_identical_weights_whatever_the_threads(threads):
    x, y = make_data(n=300)
    results = []
    for n_threads in (1, 2, 1):
        fastnn.set_num_threads(n_threads)
        model = make_model(seed=7, optimizer=optimizers.Adam(learning_rate=1e-2))
        model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        results.append(model.get_weights())
    assert weights_equal(results[0], results[1])
    assert weights_equal(results[0], results[2])


def test_last_partial_batch_is_used():
    x, y = make_data(n=33)
    model = make_model()
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)
    assert history.params["steps"] == 2
    twin = make_model()
    twin.train_on_batch(x[:32], y[:32])
    twin.train_on_batch(x[32:], y[32:])
    assert weights_equal(model.get_weights(), twin.get_weights())


def test_class_weight_and_sample_weight_together_is_an_error():
    x, y = make_data(n=20)
    model = make_model()
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(20), verbose=0)


def test_class_weight_equals_the_matching_sample_weight():
    x, y = make_data(n=40)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0, 3: 3.0}
    a = make_model()
    a.fit(x, y, epochs=2, batch_size=8, shuffle=False, class_weight=class_weight, verbose=0)
    b = make_model()
    sw = np.array([class_weight[int(c)] for c in y])
    b.fit(x, y, epochs=2, batch_size=8, shuffle=False, sample_weight=sw, verbose=0)
    assert weights_equal(a.get_weights(), b.get_weights())
    c = make_model()
    c.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert not weights_equal(a.get_weights(), c.get_weights())


def test_sample_weight_scales_the_loss_like_keras():
    x, y = make_data(n=16)
    model = make_model()
    plain = model.evaluate(x, y, verbose=0, batch_size=16)
    doubled = model.evaluate(x, y, verbose=0, batch_size=16, sample_weight=np.full(16, 2.0))
    assert doubled[0] == pytest.approx(2 * plain[0], rel=1e-5)


def test_initial_epoch_runs_the_remaining_epochs():
    x, y = make_data(n=40)
    model = make_model()
    history = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]


def test_evaluate_returns_loss_then_metrics_and_dict():
    x, y = make_data(n=40)
    model = make_model()
    result = model.evaluate(x, y, verbose=0)
    assert isinstance(result, list) and len(result) == 2
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(as_dict) == ["accuracy", "loss"]
    assert as_dict["loss"] == pytest.approx(result[0])
    predictions = model.predict(x, verbose=0)
    accuracy = float(np.mean(np.argmax(predictions, axis=1) == y))
    assert as_dict["accuracy"] == pytest.approx(accuracy)


def test_validation_data_overrides_validation_split():
    x, y = make_data(n=60)
    xv, yv = make_data(n=30, seed=5)
    model = make_model()
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(xv, yv), validation_split=0.5)
    expected = model.evaluate(xv, yv, verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-5)
    assert history.params["steps"] == math.ceil(60 / 32)


def test_stop_training_from_a_callback_ends_fit():
    x, y = make_data(n=40)
    model = make_model()

    class StopAfterTwo(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert history.epoch == [0, 1]


@pytest.mark.parametrize("hook", ["on_train_begin", "on_epoch_begin"])
@pytest.mark.parametrize("verbose", [0, 1])
def test_stop_training_before_an_epochs_first_batch_still_runs_one_batch(hook, verbose, capsys):
    # Keras 3's fit checks stop_training after each batch only: set before the
    # epoch's first batch, that batch runs, then the epoch and fit end.
    x, y = make_data(n=40)
    model = make_model()

    class StopEarly(callbacks.Callback):
        def on_train_begin(self, logs=None):
            if hook == "on_train_begin":
                self.model.stop_training = True

        def on_epoch_begin(self, epoch, logs=None):
            if hook == "on_epoch_begin" and epoch == 1:
                self.model.stop_training = True

    history = model.fit(x, y, epochs=4, batch_size=8, verbose=verbose, callbacks=[StopEarly()])
    assert history.epoch == ([0] if hook == "on_train_begin" else [0, 1])
    assert int(model.optimizer.iterations) == (1 if hook == "on_train_begin" else 5 + 1)


def test_per_batch_callbacks_see_every_step():
    x, y = make_data(n=50)
    model = make_model()
    seen = []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cb])
    assert seen == [0, 1, 2, 3] * 2


def test_progress_bar_plain_lines_when_not_a_terminal(monkeypatch):
    x, y = make_data(n=64)
    model = make_model()
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    model.fit(x, y, epochs=2, batch_size=16, verbose=1)
    text = out.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    assert "4/4" in text and "accuracy:" in text and "loss:" in text
    assert "\r" not in text and "\b" not in text and "\x1b" not in text


def test_verbose_2_prints_one_line_per_epoch(monkeypatch):
    x, y = make_data(n=64)
    model = make_model()
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    model.fit(x, y, epochs=3, batch_size=16, verbose=2)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("4/4")]
    assert len(lines) == 3


def test_verbose_0_prints_nothing(capsys):
    x, y = make_data(n=64)
    make_model().fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_learning_rate_scheduler_changes_the_rate_and_is_logged():
    x, y = make_data(n=40)
    model = make_model()
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: 0.5 / (epoch + 1))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == pytest.approx([0.5, 0.25, 0.5 / 3])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.5 / 3)


def test_early_stopping_restores_the_best_weights():
    x, y = make_data(n=80)
    model = make_model(optimizer=optimizers.SGD(learning_rate=0.05))
    snapshots = []

    class Snapshot(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["loss"], self.model.get_weights()))

    stopper = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)

    # A learning rate that makes training diverge after the first epochs.
    class Blowup(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                self.model.optimizer.learning_rate = 50.0

    model.fit(x, y, epochs=20, verbose=0, callbacks=[Blowup(), Snapshot(), stopper])
    best_loss, best_weights = min(snapshots, key=lambda s: s[0])
    assert len(snapshots) < 20
    assert weights_equal(model.get_weights(), best_weights)


def test_seed_script_mistake_images_into_dense_says_add_flatten():
    model = models.Sequential(
        [layers.Dense(8, activation="relu", input_shape=(784,)), layers.Dense(10)]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    x = np.zeros((5, 28, 28), np.float32)
    with pytest.raises(ValueError, match="Flatten"):
        model.fit(x, np.zeros(5, np.int64), verbose=0)
    assert weights_equal(before, model.get_weights())


def test_seed_script_mistake_two_classes_for_ten_labels_names_the_label():
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    y = np.array([0, 1, 9, 3])
    with pytest.raises(ValueError, match=r"9.*\[0, 2\)|\[0, 2\).*9"):
        model.fit(np.zeros((4, 4), np.float32), y, verbose=0)
    assert weights_equal(before, model.get_weights())


def test_adam_lr_keyword_works_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="learning_rate"):
        optimizer = optimizers.Adam(lr=0.001)
    assert float(optimizer.learning_rate) == pytest.approx(0.001)


def test_compile_loss_weights_only_one_for_a_single_output():
    model = make_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", loss_weights=[1.0])
    with pytest.raises(ValueError, match="loss_weights"):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", loss_weights=[1, 2])


def test_batch_sources_fastnn_does_not_read_are_a_clear_error():
    # fit/evaluate/predict read generators and PyDatasets (test_fit_generators);
    # an iterable that is neither (a DataLoader's shape), and a generator
    # where only arrays go (train_on_batch), say what is taken instead.
    x, y = make_data(n=20)
    model = make_model()

    class Loader:  # iterable, not an iterator, no __getitem__
        def __iter__(self):
            return iter([(x[:10], y[:10])])

    with pytest.raises(ValueError, match="fit: fastnn takes the data as arrays.*np.concatenate"):
        model.fit(Loader(), verbose=0)
    with pytest.raises(ValueError, match="evaluate: fastnn takes the data as arrays"):
        model.evaluate(Loader(), verbose=0)
    with pytest.raises(ValueError, match="predict: fastnn takes the data as arrays"):
        model.predict(Loader(), verbose=0)
    with pytest.raises(ValueError, match="validation_data: fastnn takes the data as arrays"):
        model.fit(x, y, validation_data=Loader(), verbose=0)
    with pytest.raises(ValueError, match="train_on_batch: fastnn takes the data as arrays"):
        model.train_on_batch((b for b in [x]), y)
    assert model.optimizer.iterations == 0


# -- adversarial re-check: errors name the culprit and change nothing ---------------
def _state(model):
    """Weights, optimizer slots and both step counters, copied."""
    slots = [np.array(v, copy=True) for v in model._optimizer_variables()]
    return model.get_weights(), slots, int(model.optimizer.iterations), model._net.iterations


def _assert_state(model, state):
    weights, slots, iterations, net_iterations = state
    assert weights_equal(weights, model.get_weights())
    assert weights_equal(slots, [np.asarray(v) for v in model._optimizer_variables()])
    assert (int(model.optimizer.iterations), model._net.iterations) == (iterations, net_iterations)


@pytest.mark.parametrize("what", ["compile", "compile_same_optimizer", "add", "pop"])
def test_compile_add_pop_from_a_callback_are_refused_mid_fit(what):
    """They would change the network, loss or optimizer the running steps
    use (was an AttributeError about 'offsets', or 'needs a target array')."""
    x, y = make_data()
    model = make_model(optimizer=optimizers.Adam())
    model.fit(x, y, batch_size=50, epochs=1, verbose=0)
    net, loss, optimizer, layer_list = model._net, model.loss, model.optimizer, model.layers
    calls = {
        "compile": lambda: model.compile("sgd", "categorical_crossentropy"),
        "compile_same_optimizer": lambda: model.compile(model.optimizer, "mse"),
        "add": lambda: model.add(layers.Dense(3)),
        "pop": lambda: model.pop(),
    }
    seen = {}

    class Change(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen["state"] = _state(model)
            calls[what]()

    with pytest.raises(RuntimeError, match=r"cannot run while model .* is training"):
        model.fit(x, y, batch_size=50, epochs=2, verbose=0, callbacks=[Change()])
    _assert_state(model, seen["state"])  # nothing after the step the callback saw
    assert (model._net, model.loss, model.optimizer, model.layers) == (
        net,
        loss,
        optimizer,
        layer_list,
    )
    assert not model._busy.locked()
    history = model.fit(x, y, batch_size=50, epochs=1, verbose=0)  # trains on as before
    assert np.isfinite(history.history["loss"][0])
    calls[what]()  # and after fit it works


class _EndlessBatches:
    """A keras.utils.PyDataset-shaped source: a length and batches by index
    (np.asarray of one ran until memory was gone when __getitem__ never
    raises IndexError; here it yields (x, y) batches)."""

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return np.zeros((4, 12), np.float32), np.zeros(4)


def test_a_batch_source_is_one_clear_error_on_every_array_only_entry_point():
    # fit / evaluate / predict read it (3 batches of 4: test_fit_generators)
    model = make_model()
    assert model.predict(_EndlessBatches(), verbose=0).shape == (12, 4)
    state = _state(model)
    source = _EndlessBatches()
    for call in (
        lambda: model.train_on_batch(source),
        lambda: model.test_on_batch(source),
        lambda: model.predict_on_batch(source),
        lambda: model(source),
    ):
        with pytest.raises(ValueError, match="fastnn takes the data as arrays"):
            call()
    _assert_state(model, state)


def test_plain_arrays_skip_the_input_structure_handling(monkeypatch):
    """predict / predict_on_batch / model(x) / the *_on_batch calls take
    plain arrays as they are: the list/dict unwrapping is for other inputs
    (its Python work doubled batch-1 latency)."""
    x, y = make_data()
    model = make_model()
    expected = model.predict(x[:1], verbose=0)

    def unexpected(*args, **kwargs):
        raise AssertionError("plain arrays went through _single_structures")

    monkeypatch.setattr(fastnn.models, "_single_structures", unexpected)
    np.testing.assert_array_equal(model.predict(x[:1], verbose=0), expected)
    np.testing.assert_array_equal(model.predict_on_batch(x[:1]), expected)
    np.testing.assert_array_equal(model(x[:1]), expected)
    model.test_on_batch(x, y)
    model.train_on_batch(x, y, sample_weight=np.ones(len(x)))


def test_a_dict_for_a_model_without_a_named_input_says_so():
    x, _ = make_data()
    model = models.Sequential([layers.Dense(2, input_shape=(12,))])
    with pytest.raises(ValueError, match="has no name to look up: pass the array itself"):
        model.predict({"features": x}, verbose=0)


def test_on_train_end_may_compile_add_and_pop_as_keras():
    """on_train_end runs after the last step, as Keras's: it may change the
    model (it was refused as 'cannot run while training')."""
    x, y = make_data()
    model = make_model()

    class Rebuild(callbacks.Callback):
        def on_train_end(self, logs=None):
            model.pop()
            model.add(layers.Dense(4, activation="softmax"))
            model.compile("sgd", "sparse_categorical_crossentropy")

    model.fit(x, y, batch_size=50, epochs=1, verbose=0, callbacks=[Rebuild()])
    assert model.loss == "sparse_categorical_crossentropy"
    assert isinstance(model.optimizer, optimizers.SGD)
    assert not model._busy.locked()
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][0])


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({0: float("nan")}, r"class_weight\[0\] = nan"),
        ({0: float("inf")}, r"class_weight\[0\] = inf"),
        ({0: 1e39}, r"float32"),
        ({0: None}, r"class_weight\[0\] = None"),
        ({0: "2"}, r"class_weight\[0\] = '2'"),
        ({"a": 1.0}, r"keys must be class ids.*'a'"),
        ({0.5: 2.0}, r"keys must be class ids.*0\.5"),  # was applied to class 0
        ({float("nan"): 2.0}, r"keys must be class ids"),
    ],
)
def test_bad_class_weight_names_class_weight_and_changes_nothing(class_weight, match):
    x, y = make_data()
    model = make_model()
    state = _state(model)
    for call in (
        lambda: model.fit(x, y, class_weight=class_weight, verbose=0),
        lambda: model.train_on_batch(x, y, class_weight=class_weight),
    ):
        with pytest.raises(ValueError, match=match):
            call()
        _assert_state(model, state)


def test_class_weight_keys_keras_matches_are_accepted():
    """Keras looks labels up as ints: 1.0, np.int64(1) and True are class 1;
    an id beyond int64 matches nothing."""
    x, y = make_data()
    weights = []
    for key in (1, 1.0, np.int64(1), True):
        model = make_model()
        model.fit(x, y, class_weight={key: 3.0, 2**70: 5.0}, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    assert all(weights_equal(weights[0], w) for w in weights[1:])


def test_a_batch_size_beyond_int64_is_one_batch_of_everything():
    """10**30 was pybind11's 'incompatible function arguments' TypeError, and
    as validation_batch_size it raised after the epoch had trained."""
    x, y = make_data()
    a, b = make_model(), make_model()
    huge = 10**30
    ha = a.fit(x, y, batch_size=huge, epochs=2, shuffle=False, verbose=0,
               validation_data=(x, y), validation_batch_size=huge)  # fmt: skip
    hb = b.fit(x, y, batch_size=len(x), epochs=2, shuffle=False, verbose=0,
               validation_data=(x, y))  # fmt: skip
    assert ha.history == hb.history
    assert weights_equal(a.get_weights(), b.get_weights())
    assert a.evaluate(x, y, batch_size=huge, verbose=0) == b.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(a.predict(x, batch_size=huge, verbose=0), b.predict(x, verbose=0))


@pytest.mark.parametrize(
    "validation_data, error, match",
    [
        (lambda x, y: (x, y, np.ones(3)), ValueError, r"^validation_data: sample_weight"),
        (lambda x, y: (x[:, :5], y), ValueError, r"^validation_data: x has samples"),
        (lambda x, y: (x, y[:7]), ValueError, r"^validation_data: x and y"),
        (lambda x, y: (x, y + 10), ValueError, r"^validation_data: label 1[0-3]"),
        (lambda x, y: (x.astype(str), y), TypeError, r"^validation_data: x must hold"),
        (lambda x, y: (x[:0], y[:0]), ValueError, r"^validation_data: empty batch"),
        (lambda x, y: (x, None), ValueError, r"^validation_data needs targets y"),
    ],
)
def test_bad_validation_data_is_named_and_changes_nothing(validation_data, error, match):
    """The errors of the validation arrays said 'sample_weight' or 'x', as if
    the training arrays were wrong."""
    x, y = make_data()
    model = make_model()
    state = _state(model)
    with pytest.raises(error, match=match):
        model.fit(x, y, validation_data=validation_data(x, y), verbose=0)
    _assert_state(model, state)


def test_an_optimizer_assigned_to_model_optimizer_is_built_and_used():
    """Keras's train step uses whatever `model.optimizer` is; fastnn kept the
    old optimizer's state and raised "'NoneType' object has no attribute
    'offsets'"."""
    x, y = make_data()
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0)
    model.optimizer = optimizers.Adam(learning_rate=0.01)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.optimizer.iterations == 7 and model.optimizer.built
    for bad in ("sgd", None):
        model.optimizer = bad
        state = model.get_weights(), model._net.iterations
        with pytest.raises(TypeError, match="model.optimizer must be a fastnn.optimizers"):
            model.fit(x, y, verbose=0)
        with pytest.raises(TypeError, match="model.optimizer must be a fastnn.optimizers"):
            model.train_on_batch(x, y)
        assert weights_equal(state[0], model.get_weights()) and model._net.iterations == state[1]
        model.evaluate(x, y, verbose=0)  # inference needs no optimizer


def test_one_optimizer_instance_for_two_models_is_keras_s_value_error():
    """The second model stepped with the first one's moments (same layout)
    or a size error; Keras 3 refuses an optimizer built for other variables."""
    x, y = make_data()
    shared = optimizers.Adam()
    first, second = make_model(optimizer=shared), make_model(optimizer=shared)
    first.fit(x, y, epochs=1, verbose=0)
    slots = [np.array(v, copy=True) for v in first._optimizer_variables()]
    before = second.get_weights(), second._net.iterations
    with pytest.raises(ValueError, match="can only be called for the variables it was originally"):
        second.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="can only be called for the variables it was originally"):
        second.train_on_batch(x, y)
    assert weights_equal(before[0], second.get_weights()) and second._net.iterations == before[1]
    assert weights_equal(slots, [np.asarray(v) for v in first._optimizer_variables()])
    first.fit(x, y, epochs=1, verbose=0)  # the owner trains on


def test_a_model_given_another_model_s_optimizer_does_not_take_its_slots():
    """A model that had trained with its own optimizer and was then given one
    built for another model saved and counted that model's slots as its own
    (the same layout), or failed reading them."""
    x, y = make_data()
    first, second = make_model(optimizer=optimizers.Adam()), make_model(seed=2)
    first.fit(x, y, epochs=1, verbose=0)
    second.fit(x, y, epochs=1, verbose=0)
    second.optimizer = first.optimizer
    assert len(second._optimizer_variables()) == 2  # iterations, learning rate: no slots
    assert "Optimizer params" not in _summary(second)
    with pytest.raises(ValueError, match="can only be called for the variables"):
        second.fit(x, y, epochs=1, verbose=0)


def _summary(model) -> str:
    lines = []
    model.summary(print_fn=lambda line, **kwargs: lines.append(line))
    return "\n".join(lines)


def test_load_weights_with_another_model_s_optimizer_changes_nothing(tmp_path):
    x, y = make_data()
    shared = optimizers.Adam()
    first, second = make_model(optimizer=shared), make_model(optimizer=shared, seed=2)
    first.fit(x, y, epochs=1, verbose=0)
    first.save_weights(tmp_path / "first.weights.npz")
    before = second.get_weights()
    with pytest.raises(ValueError, match="was built for the weights of model"):
        second.load_weights(tmp_path / "first.weights.npz")
    assert weights_equal(before, second.get_weights())


@pytest.mark.parametrize("value", ["x", 10**400, None], ids=["str", "huge_int", "none"])
def test_a_learning_rate_callable_returning_no_number_is_a_clear_error(value):
    """Was float()'s "could not convert string to float: 'x'" / OverflowError."""
    x, y = make_data()
    model = make_model(optimizer=optimizers.SGD(learning_rate=lambda: value))
    before = model.get_weights()
    with pytest.raises(ValueError, match="The learning rate schedule returned"):
        model.fit(x, y, verbose=0)
    assert weights_equal(before, model.get_weights())


@pytest.mark.parametrize("shape", [(240,), (199,), (160,), (200, 2), ()])
def test_validation_split_checks_sample_weight_before_slicing_it(shape):
    """A wrong length was sliced with x and blamed on the validation part
    ('sample_weight must have shape (40,), got (80,)'); a scalar raised
    NumPy's IndexError."""
    x, y = make_data()
    model = make_model()
    state = _state(model)
    expected = re.escape(f"sample_weight must have shape (200,), got {shape}")
    with pytest.raises(ValueError, match=f"^{expected}$"):
        model.fit(x, y, sample_weight=np.ones(shape), validation_split=0.2, verbose=0)
    _assert_state(model, state)


@pytest.mark.parametrize(
    "make_x, match",
    [
        # generators and iterators are batch sources: Keras's errors for a
        # `y` beside them and for batches that are not tuples
        (lambda x: (row for row in x), "takes the data as arrays|should not be passed|a tuple"),
        (lambda x: iter(x), "takes the data as arrays|should not be passed|a tuple"),
        # a dict is read as inputs by name (Keras's error for an unknown name)
        (lambda x: {"input": x}, 'Missing data for input "input_layer'),
    ],
)
def test_generators_iterators_and_dicts_are_named_as_unsupported(make_x, match):
    """Were 'x must hold real numbers, got dtype object' (np.asarray of them)."""
    x, y = make_data()
    model = make_model()
    state = _state(model)
    for call in (
        lambda: model.fit(make_x(x), y, verbose=0),
        lambda: model.predict(make_x(x), verbose=0),
        lambda: model.evaluate(make_x(x), y, verbose=0),
        lambda: model.train_on_batch(make_x(x), y),
    ):
        with pytest.raises(ValueError, match=match):
            call()
    _assert_state(model, state)


def test_validation_split_of_a_scalar_x_is_a_value_error():
    model = make_model()
    with pytest.raises(ValueError, match="x must have a batch axis"):
        model.fit(3.0, np.zeros(4), validation_split=0.5, verbose=0)


def test_a_callback_may_train_and_evaluate_the_model_fit_is_training():
    # Keras runs train_on_batch / evaluate called from fit's callbacks; so does
    # fastnn (in fit's thread), as if the calls were made between the epochs.
    x, y = make_data(n=40)

    class TrainAtEpochEnd(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.train_on_batch(x[:8], y[:8])
            logs["extra"] = self.model.evaluate(x, y, verbose=0)[0]

    inside = make_model()
    inside.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0,
               callbacks=[TrainAtEpochEnd()])  # fmt: skip
    between = make_model()
    for _ in range(2):
        between.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
        between.train_on_batch(x[:8], y[:8])
    assert weights_equal(inside.get_weights(), between.get_weights())
    assert inside.history.history["extra"][-1] == between.evaluate(x, y, verbose=0)[0]


def test_one_element_lists_of_arrays_are_the_single_input_and_target_as_keras():
    # Keras reads a list of arrays as one array per input / output and unwraps
    # it for a model with one of each: fit([x], [y]), predict([x]) ...
    x, y = make_data(n=24)
    listed, plain = make_model(), make_model()
    history = listed.fit([x], [y], validation_data=([x], [y]), epochs=2, verbose=0, shuffle=False)
    expected = plain.fit(x, y, validation_data=(x, y), epochs=2, verbose=0, shuffle=False)
    assert history.history == expected.history
    np.testing.assert_array_equal(listed.predict([x], verbose=0), plain.predict(x, verbose=0))
    np.testing.assert_array_equal(listed((x,)), plain(x))
    assert listed.evaluate([x], [y], verbose=0) == plain.evaluate(x, y, verbose=0)
    assert listed.test_on_batch([x], [y]) == plain.test_on_batch(x, y)
    # a list of rows is still data: two samples here, one there
    assert listed.predict(x[:2].tolist(), verbose=0).shape == (2, 4)
    assert listed.predict([x[0]], verbose=0).shape == (1, 4)


def test_a_list_holding_one_sample_stays_one_sample():
    # predict([image]) of a model whose samples are 2-D: one sample, as before
    # (Keras would read the list as the input structure and fail).
    model = models.Sequential(
        [layers.Input(shape=(4, 3)), layers.Flatten(), layers.Dense(2, activation="softmax")]
    )
    image = np.ones((4, 3), np.float32)
    assert model.predict([image], verbose=0).shape == (1, 2)
    assert model.predict([np.ones((5, 4, 3))], verbose=0).shape == (5, 2)


@pytest.mark.parametrize("change", ["add", "pop", "compile"])
def test_evaluate_and_predict_finish_on_the_network_they_started_with(change):
    """A callback of evaluate() that added a Dense(100000) made the engine read
    the (n, 2) targets 100000 wide: NaN, or a segfault. They finish on the
    network they validated their arrays for (the model's new one is used by
    the next call); a loss changed under evaluate is a ValueError."""
    x = np.ones((256, 4), np.float32)
    y = np.full((256, 2), 0.5, np.float32)

    def make():
        model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3), layers.Dense(2)])
        model.compile("sgd", "mse")
        return model

    model = make()
    expected_loss = model.evaluate(x, y, verbose=0)
    changes = {
        "add": lambda: model.add(layers.Dense(100_000)),
        "pop": lambda: model.pop(),
        "compile": lambda: model.compile("sgd", "sparse_categorical_crossentropy"),
    }

    class Change(callbacks.Callback):
        def on_test_batch_begin(self, batch, logs=None):
            if batch == 1:
                changes[change]()

        on_predict_batch_begin = on_test_batch_begin

    if change == "compile":  # same network, another loss: the engine refuses the targets
        with pytest.raises(ValueError, match="compiled with another loss"):
            model.evaluate(x, y, batch_size=32, verbose=0, callbacks=[Change()])
    else:
        assert model.evaluate(x, y, batch_size=32, verbose=0, callbacks=[Change()]) == expected_loss
    model = make()
    expected_out = model.predict(x, verbose=0)
    out = model.predict(x, batch_size=32, verbose=0, callbacks=[Change()])
    np.testing.assert_array_equal(out, expected_out)


def test_the_engine_refuses_data_validated_for_another_network():
    """The C++ guard behind the one above (fastnn._core used directly)."""
    from fastnn import _core

    a = _core.nn.Network(4, [{"type": "dense", "units": 2}])
    b = _core.nn.Network(4, [{"type": "dense", "units": 50}])
    a.set_loss("mse")
    b.set_loss("mse")
    data = a.prepare(np.ones((8, 4), np.float32), np.ones((8, 2), np.float32))
    with pytest.raises(ValueError, match="validated for a network with 4 inputs, 2 outputs"):
        b.evaluate(data, 4)
    with pytest.raises(ValueError, match="this network has 4 inputs, 50 outputs"):
        b.evaluate_rows(data, 0, 8)
    b.set_loss("sparse_categorical_crossentropy")
    opt = _core.optim.Optimizer({"kind": "sgd"}, [0, b.buffer_size])
    with pytest.raises(ValueError, match="target arrays"):
        b.train_epoch(data, np.arange(8), 4, 0, 1, opt, np.full(1, 0.1))


def test_a_callback_may_give_the_model_a_new_optimizer_mid_fit():
    """Was pybind11's 'incompatible function arguments' (the new optimizer had
    no state); as in Keras, the next step uses the new optimizer."""
    x, y = make_data()
    model = make_model()
    replacement = optimizers.Adam(learning_rate=0.01)

    class Swap(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                model.optimizer = replacement

    model.fit(x, y, batch_size=20, epochs=1, verbose=0, callbacks=[Swap()])
    assert model.optimizer is replacement and replacement.iterations == 8


@pytest.mark.parametrize("stack", [["relu"], ["dropout"], ["flatten", "softmax"]])
def test_a_model_without_weights_fits_with_keras_s_warning(stack):
    """Raised the engine's 'Optimizer::set_frozen: 0 flags for 1 tensors';
    Keras warns that nothing trains and runs the epochs."""
    make = {
        "relu": lambda: layers.Activation("relu"),
        "softmax": lambda: layers.Activation("softmax"),
        "dropout": lambda: layers.Dropout(0.5),
        "flatten": lambda: layers.Flatten(),
    }
    model = models.Sequential([layers.Input(shape=(3,))] + [make[name]() for name in stack])
    model.compile("adam", "mse")
    x, y = np.ones((4, 3), np.float32), np.full((4, 3), 0.5, np.float32)
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        history = model.fit(x, y, epochs=2, verbose=0)
    # Keras 3.15 applies no optimizer step without trainable weights: iterations stay 0
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations == 0
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        assert np.isfinite(model.train_on_batch(x, y))
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("make_optimizer", [lambda: optimizers.Adam(0.01), lambda: "adam"])
def test_compile_again_with_the_model_s_optimizer_continues_its_training(make_optimizer):
    # Keras keeps a built optimizer's slots and iterations: compiling again with
    # model.optimizer (new metrics, say) and fitting equals one longer fit.
    x, y = make_data(n=50)
    straight = make_model(optimizer=make_optimizer())
    expected = straight.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    model = make_model(optimizer=make_optimizer())
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    optimizer = model.optimizer
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=3, initial_epoch=1, batch_size=16, shuffle=False, verbose=0)
    assert history.history["loss"] == expected.history["loss"][1:]
    assert history.history["acc"] == expected.history["accuracy"][1:]
    assert model.optimizer is optimizer and optimizer.iterations == 12
    assert weights_equal(model.get_weights(), straight.get_weights())


def test_compile_with_another_optimizer_starts_it_afresh():
    x, y = make_data(n=50)
    model = make_model(optimizer=optimizers.Adam(0.01))
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    weights = model.get_weights()
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    fresh = make_model(optimizer=optimizers.Adam(0.01))
    fresh.set_weights(weights)
    fresh.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 4
    assert weights_equal(model.get_weights(), fresh.get_weights())


def test_compile_back_to_an_optimizer_used_before_continues_it():
    # Keras: an optimizer built for these weights stays built. Training with
    # `first`, then `second`, then `first` again continues `first`'s slots.
    x, y = make_data(n=50)
    model = make_model(optimizer=optimizers.Adam(0.01))
    first = model.optimizer
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    slots = [first._kernel.slot(i).copy() for i in range(len(first._kernel.slot_names))]
    second = optimizers.SGD(0.05, momentum=0.9)
    model.compile(optimizer=second, loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    weights = model.get_weights()
    model.compile(optimizer=first, loss="sparse_categorical_crossentropy")
    assert all(np.array_equal(first._kernel.slot(i), s) for i, s in enumerate(slots))
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert (first.iterations, second.iterations) == (8, 4)
    # the same as one optimizer carrying those slots straight on
    other = make_model(optimizer=optimizers.Adam(0.01))
    other.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    other.set_weights(weights)
    other.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert weights_equal(model.get_weights(), other.get_weights())


@pytest.mark.parametrize(
    "verbose, bar, epoch_lines",
    [
        (True, True, True),
        (False, False, False),
        (None, False, False),
        (1.0, True, True),
        (3, False, True),
        (3.0, False, True),
        (-1, False, True),
        (-1.0, False, True),
    ],
)
def test_verbose_as_keras_takes_it(capsys, verbose, bar, epoch_lines):
    """Keras 3: True and False are 1 and 0, None is silent, a whole float is
    its integer; another whole number (3, -1) draws no bar, and fit still
    prints "Epoch i/n" (ProgbarLogger)."""
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    x, y = np.ones((10, 3), np.float32), np.ones((10, 2), np.float32)
    model.fit(x, y, epochs=2, verbose=verbose)
    fit_out = capsys.readouterr().out
    assert ("Epoch 2/2" in fit_out) == epoch_lines
    assert ("1/1" in fit_out) == bar
    model.evaluate(x, y, verbose=verbose)
    model.predict(x, verbose=verbose)
    assert ("1/1" in capsys.readouterr().out) == bar


@pytest.mark.parametrize("verbose", ["1", "yes", 1.5, float("inf"), [1]])
def test_verbose_that_is_no_mode_is_refused(verbose):
    """Deliberate difference: Keras draws no bar for these (and prints fit's
    "Epoch i/n" lines); fastnn names the mistake."""
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    x, y = np.ones((10, 3), np.float32), np.ones((10, 2), np.float32)
    for call in (
        lambda: model.fit(x, y, verbose=verbose),
        lambda: model.evaluate(x, y, verbose=verbose),
        lambda: model.predict(x, verbose=verbose),
    ):
        with pytest.raises(ValueError, match="`verbose` must be 'auto', None or a whole number"):
            call()
