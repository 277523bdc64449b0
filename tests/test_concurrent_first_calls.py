"""Threads and the session-12 machinery that rebuilds or un-builds a model:
a failed first call undone while another thread's first call runs, a layer
argument changed while another thread predicts, and the seeds another
thread draws while a failed call is undone. The thread switch interval is
made tiny so that the threads interleave within each call."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from fastnn import callbacks, layers, models, utils
from fastnn.utils import seeding


@pytest.fixture(autouse=True)
def _interleave():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)
    seeding._reset_for_tests()


def test_a_failed_first_call_never_unbuilds_a_model_another_threads_call_uses():
    good_x = np.ones((4, 3), np.float32)
    bad_x = np.full((4, 3), np.nan, np.float32)
    failures, left_unbuilt = [], 0
    for _ in range(60):
        model = models.Sequential([layers.Dense(4), layers.Dense(2)])  # built by its first call
        barrier = threading.Barrier(2)

        def good(model=model, barrier=barrier):
            barrier.wait()
            try:
                assert model.predict(good_x, verbose=0).shape == (4, 2)
            except Exception as e:  # noqa: BLE001 (collected for the assertion below)
                failures.append(repr(e))

        def bad(model=model, barrier=barrier):
            barrier.wait()
            with pytest.raises(ValueError, match="NaN"):
                model.predict(bad_x, verbose=0)

        threads = [threading.Thread(target=good), threading.Thread(target=bad)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        left_unbuilt += not model.built
    assert failures == []
    assert left_unbuilt == 0  # the good call's build stays, whichever ran first


def test_changing_a_layer_argument_while_another_thread_predicts_keeps_the_weights():
    dropout = layers.Dropout(0.1)
    model = models.Sequential(
        [layers.Input((64,)), layers.Dense(256, activation="relu"), dropout, layers.Dense(4)]
    )
    model.compile("adam", "mse")
    x = np.ones((8, 64), np.float32)
    weights = [w.copy() for w in model.get_weights()]
    expected = model.predict(x, verbose=0)
    stop, wrong = threading.Event(), []

    def predictor():
        while not stop.is_set():
            out = model.predict(x, verbose=0)  # Dropout is the identity in inference
            if not np.array_equal(out, expected):
                wrong.append(out)

    thread = threading.Thread(target=predictor)
    thread.start()
    try:
        for i in range(200):
            dropout.rate = 0.2 if i % 2 else 0.3
    finally:
        stop.set()
        thread.join()
    assert wrong == []
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_an_undone_call_rewinds_only_its_own_seeds():
    """While a failed first fit waits in a callback, another thread draws
    seeds; the undo must not hand those out again (it leaves the sequence
    where it is), and without another thread it rewinds (the next fit draws
    what the failed one drew)."""
    utils.set_random_seed(123)
    model = models.Sequential([layers.Dense(8), layers.Dense(1)])
    model.compile("sgd", "mse")
    started, drawn = threading.Event(), threading.Event()
    others = []

    class WaitThenFail(callbacks.Callback):
        def on_train_begin(self, logs=None):
            started.set()
            drawn.wait()
            raise RuntimeError("callback refuses")

    def other_thread():
        started.wait()
        others.extend(utils.next_seed() for _ in range(3))
        drawn.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    x, y = np.ones((4, 4), np.float32), np.ones((4, 1), np.float32)
    with pytest.raises(RuntimeError, match="callback refuses"):
        model.fit(x, y, verbose=0, callbacks=[WaitThenFail()])
    thread.join()
    assert not model.built
    later = [utils.next_seed() for _ in range(20)]
    assert not set(others) & set(later)

    mark = seeding._mark()
    first = [utils.next_seed() for _ in range(2)]
    assert seeding._rewind_if_alone(mark)
    assert [utils.next_seed() for _ in range(2)] == first
