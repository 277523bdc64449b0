"""The Dropout layer's kernel against a NumPy transcription of its generator.

mask[e] = uniform01(key + e) >= rate ? 1 / (1 - rate) : 0 and y = x * mask,
where uniform01 takes the top 24 bits of mix64 (cpp/nn/initializers.cpp): the
AVX2 path builds its 64-bit products from 32-bit multiplies, so every ISA is
checked bit for bit against the same reference, over odd lengths, start
offsets, keys whose counters wrap past 2^64, and rates at the ends.
"""

from __future__ import annotations

import numpy as np
import pytest
from counter_rng import MASK64, mix64

import fastnn
from fastnn import _core, layers, models


def reference(x: np.ndarray, key: int, rate: float, begin: int = 0):
    n = len(x)
    counters = (np.arange(begin, n, dtype=np.uint64) + np.uint64(key & MASK64)) & np.uint64(MASK64)
    u = (mix64(counters) >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    scale = np.float32(1.0) / np.float32(1.0 - np.float32(rate))
    mask = np.zeros(n, np.float32)
    mask[begin:] = np.where(u >= np.float32(rate), scale, np.float32(0.0))
    y = np.zeros(n, np.float32)
    with np.errstate(invalid="ignore"):
        y[begin:] = x[begin:] * mask[begin:]
    return y, mask


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 31, 100, 1021, 40_000])
@pytest.mark.parametrize("key", [0, 12345, 2**64 - 5, 0xD1B54A32D192ED03])
@pytest.mark.parametrize("rate", [0.0, 0.3, 0.5, 0.999])
def test_dropout_kernel_matches_reference(isa, rng, n, key, rate):
    x = rng.standard_normal(n).astype(np.float32)
    y, mask = _core.nn._dropout_forward(x, key, rate)
    y_ref, mask_ref = reference(x, key, rate)
    np.testing.assert_array_equal(mask, mask_ref)
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("begin", [1, 3, 8, 13])
def test_dropout_kernel_from_an_offset(isa, rng, begin):
    """Chunks start anywhere: element e's mask depends on key + e only."""
    x = rng.standard_normal(101).astype(np.float32)
    y, mask = _core.nn._dropout_forward(x, 2**64 - 50, 0.25, begin)
    y_ref, mask_ref = reference(x, 2**64 - 50, 0.25, begin)
    np.testing.assert_array_equal(mask, mask_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_dropout_kernel_keeps_the_rate(isa):
    x = np.ones(200_000, np.float32)
    _, mask = _core.nn._dropout_forward(x, 7, 0.3)
    assert np.count_nonzero(mask) / len(mask) == pytest.approx(0.7, abs=0.005)
    assert set(np.unique(mask)) == {np.float32(0), np.float32(1) / np.float32(0.7)}


def test_dropout_kernel_propagates_nan_and_inf(isa):
    x = np.array([np.nan, np.inf, -np.inf, 1.0] * 4, np.float32)
    y, mask = _core.nn._dropout_forward(x, 3, 0.5)
    y_ref, _ = reference(x, 3, 0.5)
    np.testing.assert_array_equal(y, y_ref)  # NaN * 0 = NaN, inf * 0 = NaN, as x * mask


@pytest.mark.parametrize("kwargs", [{"rate": 1.0}, {"rate": -0.1}, {"begin": -1}, {"begin": 9}])
def test_dropout_kernel_bad_arguments(kwargs):
    args = {"x": np.ones(8, np.float32), "key": 1, "rate": 0.5} | kwargs
    with pytest.raises(ValueError):
        _core.nn._dropout_forward(**args)


def test_dropout_layer_masks_are_the_same_on_every_isa_and_thread_count(rng):
    """A training run with Dropout gives the same weights on each ISA and 1 or 2
    threads (masks keyed by seed, step and layer only)."""
    x = rng.standard_normal((300, 40)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    results = []
    previous_isa, previous_threads = _core.active_isa(), fastnn.get_num_threads()
    try:
        for isa_name in _core.available_isas():
            for threads in (1, 2):
                _core.set_isa(isa_name)
                fastnn.set_num_threads(threads)
                fastnn.utils.set_random_seed(4)
                model = models.Sequential(
                    [
                        layers.Input(shape=(40,)),
                        layers.Dense(64, activation="relu"),
                        layers.Dropout(0.4, seed=9),
                        layers.Dense(3, activation="softmax"),
                    ]
                )
                model.compile("sgd", "sparse_categorical_crossentropy")
                model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
                results.append((isa_name, threads, model.get_weights()))
    finally:
        _core.set_isa(previous_isa)
        fastnn.set_num_threads(previous_threads)
    first = results[0][2]
    for isa_name, _threads, weights in results[1:]:
        same_isa = next(w for i, t, w in results if i == isa_name and t == 1)
        for a, b, c in zip(weights, same_isa, first):
            np.testing.assert_array_equal(a, b)  # thread counts: bit for bit
            # ISAs differ in GEMM rounding only; another mask would move
            # weights by ~1e-3
            np.testing.assert_allclose(a, c, rtol=2e-5, atol=1e-6)
