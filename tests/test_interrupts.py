"""Ctrl-C during fit, and NaN losses."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers, models, optimizers


def seed_network(optimizer="adam"):
    fastnn.utils.set_random_seed(0)
    model = models.Sequential(
        [
            layers.Input(shape=(784,)),
            layers.Dense(128, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler for the test. A process started in the
    background by a non-interactive shell (``cmd &``) inherits SIGINT ignored,
    and Python then leaves it ignored: Ctrl-C could not reach the test."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
@pytest.mark.parametrize("verbose", [0, 1])
def test_sigint_during_fit_stops_promptly_and_leaves_a_usable_model(
    verbose, capsys, python_sigint_handler
):
    rng = np.random.default_rng(0)
    x = rng.random((20000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 20000)
    model = seed_network()
    sent = {}

    def interrupt():
        sent["t"] = time.perf_counter()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.5, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(x, y, batch_size=128, epochs=1000, verbose=verbose)
        latency = time.perf_counter() - sent["t"]
    finally:
        timer.cancel()
    print(f"interrupt latency: {latency * 1e3:.1f} ms")
    assert latency < 2.0  # measured ~0.1 s here; generous so a loaded machine cannot flake
    # Weights are those of the last completed step: optimizer and network agree,
    # every value is finite, and the model trains and predicts again.
    assert model.optimizer.iterations == model._net.iterations > 0
    assert all(np.isfinite(w).all() for w in model.get_weights())
    before = model.optimizer.iterations
    model.fit(x[:256], y[:256], batch_size=128, epochs=1, verbose=0)
    assert model.optimizer.iterations == before + 2
    assert model.predict(x[:3], verbose=0).shape == (3, 10)


def test_terminate_on_nan_stops_at_the_step_the_loss_became_nan(capsys):
    rng = np.random.default_rng(1)
    x = rng.random((512, 784), dtype=np.float32) * 100
    y = rng.integers(0, 10, 512)
    model = seed_network(optimizer=optimizers.SGD(learning_rate=1e6))
    history = model.fit(
        x, y, batch_size=32, epochs=5, verbose=0, callbacks=[callbacks.TerminateOnNaN()]
    )
    out = capsys.readouterr().out
    assert "Invalid loss" in out and "Batch" in out
    assert len(history.epoch) <= 1
    assert not np.isfinite(history.history["loss"][-1])
