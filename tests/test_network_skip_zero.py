"""The first dense layer's weight gradient skips the steps where a panel of
the input's columns is all zero (gemm sgemm_skip_zero_a): training gives the
same bits with it on or off, on every ISA and thread count, and the network
turns it off on data with few zeros and back on when the data changes."""

from __future__ import annotations

import numpy as np
import pytest
from test_gemm_skip_zero import skip_zero

import fastnn
from fastnn import layers


def image_like(rng, rows, side):
    """rows x side*side float32 "images": a bright blob on a zero background
    (about 60 % exact zeros, in runs along each image row)."""
    yy, xx = np.mgrid[:side, :side]
    cy = rng.uniform(side * 0.3, side * 0.7, (rows, 1, 1))
    cx = rng.uniform(side * 0.3, side * 0.7, (rows, 1, 1))
    r = rng.uniform(side * 0.2, side * 0.4, (rows, 1, 1))
    inside = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    x = np.where(inside, rng.uniform(0.1, 1.0, (rows, side, side)), 0.0)
    return x.reshape(rows, side * side).astype(np.float32)


def seed_like_model(inputs, seed=3, hidden=(32, 16)):
    fastnn.utils.set_random_seed(seed)
    model = fastnn.Sequential(
        [layers.Input((inputs,))]
        + [layers.Dense(h, activation="relu") for h in hidden]
        + [layers.Dense(10, activation="softmax")]
    )
    model.compile(
        optimizer=fastnn.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train(x, y, mode, threads, epochs=2, batch_size=32):
    fastnn.set_num_threads(threads)
    model = seed_like_model(x.shape[1])
    with skip_zero(mode):
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return model, history.history


@pytest.mark.parametrize("threads_used", [1, 2, 3])
def test_training_is_bit_identical_with_and_without_skipping(isa, threads, rng, threads_used):
    x = image_like(rng, 300, 20)
    y = rng.integers(0, 10, 300)
    auto, auto_history = train(x, y, -1, threads_used)
    assert auto._net._input_kept < 0.85  # the compacted product ran
    dense, dense_history = train(x, y, 0, threads_used)
    assert dense._net._input_kept == 1.0
    forced, _ = train(x, y, 1, threads_used)  # every product compacted
    assert auto_history == dense_history
    for a, b, c in zip(auto.get_weights(), dense.get_weights(), forced.get_weights()):
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
        np.testing.assert_array_equal(c.view(np.uint32), b.view(np.uint32))


def test_thread_counts_agree_while_skipping(threads, rng):
    x = image_like(rng, 200, 28)
    y = rng.integers(0, 10, 200)
    one, _ = train(x, y, -1, 1)
    for n in (2, 4):
        other, _ = train(x, y, -1, n)
        for a, b in zip(one.get_weights(), other.get_weights()):
            np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_dense_data_turns_skipping_off_and_sparse_data_back_on(rng):
    """Few zeros: the compacted product keeps every step and the network
    stops asking for it; it retries every 200 steps and picks it up again
    once the data has zeros."""
    inputs = 64
    model = seed_like_model(inputs)
    dense_x = rng.uniform(0.5, 1.0, (64, inputs)).astype(np.float32)
    labels = rng.integers(0, 10, 64)
    model.fit(dense_x, labels, batch_size=8, epochs=1, verbose=0)  # 8 steps
    assert model._net._input_kept == 1.0
    sparse_x = image_like(rng, 64, 8)
    model.fit(sparse_x, labels, batch_size=8, epochs=20, verbose=0)  # 160 steps
    assert model._net._input_kept == 1.0  # not retried yet
    model.fit(sparse_x, labels, batch_size=8, epochs=5, verbose=0)  # past 200
    assert model._net._input_kept < 0.85


def test_frozen_first_layer_trains_as_before(rng):
    """A frozen first layer has no weight gradient to compact: the model
    trains to the same bits with the override off, and nothing was kept."""
    x = image_like(rng, 100, 12)
    y = rng.integers(0, 10, 100)
    results = []
    for mode in (-1, 0):
        fastnn.utils.set_random_seed(4)
        model = fastnn.Sequential(
            [
                layers.Input((144,)),
                layers.Dense(20, activation="relu", trainable=False),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        with skip_zero(mode):
            model.fit(x, y, batch_size=25, epochs=2, verbose=0)
        assert model._net._input_kept == 0.0  # never measured
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
