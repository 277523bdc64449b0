"""A call that builds an unbuilt model from its data (Keras's build on first
use) and then fails before any training step leaves the model unbuilt, as it
was: the next, correct call builds it from its own data, with the weights and
seeds it would have had without the failed call. A call that trained before
failing keeps what it built and trained."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import callbacks, layers, models, optimizers, utils
from fastnn.utils import seeding


@pytest.fixture(autouse=True)
def _forget_the_seed():
    yield
    seeding._reset_for_tests()


def _unbuilt(compiled=True):
    model = models.Sequential([layers.Dense(5, activation="relu"), layers.Dense(3, "softmax")])
    if compiled:
        model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    return model


def _data(rows=23, width=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((rows, width), dtype=np.float32), rng.integers(0, 3, rows)


def _narrow_x_bad_labels():
    x, _ = _data(width=2)
    return x, np.full(len(x), 9)


def _nan_x():
    x, y = _data(width=2)
    x[3, 1] = np.nan
    return x, y


FAILING_CALLS = {
    "fit": lambda m, x, y: m.fit(x, y, verbose=0),
    "evaluate": lambda m, x, y: m.evaluate(x, y, verbose=0),
    "train_on_batch": lambda m, x, y: m.train_on_batch(x, y),
    "test_on_batch": lambda m, x, y: m.test_on_batch(x, y),
}


@pytest.mark.parametrize("call", sorted(FAILING_CALLS))
@pytest.mark.parametrize("bad", [_narrow_x_bad_labels, _nan_x])
def test_a_failed_first_call_leaves_the_model_unbuilt(call, bad):
    model = _unbuilt()
    x, y = bad()
    with pytest.raises(ValueError, match="label 9|NaN"):
        FAILING_CALLS[call](model, x, y)
    assert not model.built and not any(layer.built for layer in model.layers)
    assert model.optimizer.iterations == 0
    assert len(model.optimizer.variables) == len(optimizers.Adam(0.01).variables)  # no slots
    x, y = _data(width=4)
    FAILING_CALLS[call](model, x, y)  # the correct call builds from its own x
    assert model.built and model.input_shape == (None, 4)
    assert model.layers[0].kernel.shape == (4, 5)


@pytest.mark.parametrize("predict", ["predict", "predict_on_batch"])
def test_a_failed_first_predict_leaves_the_model_unbuilt(predict):
    model = _unbuilt(compiled=False)
    x, _ = _nan_x()
    run = getattr(model, predict)
    with pytest.raises(ValueError, match="NaN"):
        run(x) if predict == "predict_on_batch" else run(x, verbose=0)
    assert not model.built
    good, _ = _data(rows=7, width=6)
    out = run(good) if predict == "predict_on_batch" else run(good, verbose=0)
    assert out.shape == (7, 3) and model.input_shape == (None, 6)


def test_the_failed_call_draws_no_seeds():
    """With a global seed, a failed first fit followed by a correct one trains
    to the same bits as the correct fit alone: the failed call's initial
    weights and shuffle seeds are drawn again."""
    x, y = _data(rows=61)

    def train(fail_first):
        utils.set_random_seed(11)
        model = _unbuilt()
        if fail_first:
            with pytest.raises(ValueError, match="label 9"):
                model.fit(*_narrow_x_bad_labels(), verbose=0)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(train(True), train(False)):
        np.testing.assert_array_equal(a, b)


def test_a_callback_failing_before_the_first_step_unbuilds():
    class Refuse(callbacks.Callback):
        def on_train_begin(self, logs=None):
            raise RuntimeError("no")

    model = _unbuilt()
    with pytest.raises(RuntimeError, match="no"):
        model.fit(*_data(), verbose=0, callbacks=[Refuse()])
    assert not model.built


def test_a_call_that_trained_before_failing_keeps_its_build_and_steps():
    class StopInEpoch2(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = _unbuilt()
    x, y = _data(rows=40)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[StopInEpoch2()])
    assert model.built and model.optimizer.iterations == 3
    trained = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model.optimizer.iterations == 6
    assert not np.array_equal(trained[0], model.layers[0].kernel)


def test_a_built_model_is_left_as_it_is():
    """The undo concerns the build only: a built model's failed call was
    refused before it touched anything, and stays built."""
    model = _unbuilt()
    x, y = _data()
    model.fit(x, y, verbose=0)
    before = model.get_weights()
    with pytest.raises(ValueError, match="label 9"):
        model.fit(x, np.full(len(x), 9), verbose=0)
    assert model.built
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
