"""Elementwise kernels against NumPy on every ISA path."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn

SIZES = [0, 1, 7, 8, 9, 31, 1000, 65537, 100003]


@pytest.mark.parametrize("n", SIZES)
def test_relu_matches_numpy(isa, rng, n):
    x = rng.standard_normal(n).astype(np.float32)
    np.testing.assert_array_equal(fastnn.ops.relu(x), np.maximum(x, 0))


@pytest.mark.parametrize("n", SIZES)
def test_relu_grad_matches_numpy(isa, rng, n):
    x = rng.standard_normal(n).astype(np.float32)
    dy = rng.standard_normal(n).astype(np.float32)
    np.testing.assert_array_equal(fastnn.ops.relu_grad(dy, x), np.where(x > 0, dy, 0))


def test_relu_special_values(isa):
    x = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -1e-45, 3e38] * 3, np.float32)
    y = fastnn.ops.relu(x)
    # torch.relu: NaN stays NaN (np.maximum propagates it too)
    np.testing.assert_array_equal(y, np.maximum(x, np.float32(0)))
    assert np.isnan(y[0]) and np.isnan(y[8])
    dy = np.arange(1, x.size + 1, dtype=np.float32)
    dx = fastnn.ops.relu_grad(dy, x)
    # torch's relu backward, threshold_backward: x <= 0 ? 0 : dy (a NaN x passes dy)
    np.testing.assert_array_equal(dx, np.where(x <= 0, np.float32(0), dy))
    assert dx[0] == 1.0 and dx[8] == 9.0


@pytest.mark.parametrize("order", ["C", "F"])
def test_relu_accepts_any_layout_and_dtype(isa, rng, order):
    x64 = np.asarray(rng.standard_normal((17, 13)), order=order)
    np.testing.assert_array_equal(fastnn.ops.relu(x64), np.maximum(x64, 0).astype(np.float32))
    strided = x64[::2, ::3]
    np.testing.assert_array_equal(
        fastnn.ops.relu(strided), np.maximum(strided, 0).astype(np.float32)
    )
    ints = np.arange(-5, 6, dtype=np.int64)
    np.testing.assert_array_equal(fastnn.ops.relu(ints), np.maximum(ints, 0).astype(np.float32))


def test_relu_threads_give_identical_results(threads, rng):
    x = rng.standard_normal(1_000_003).astype(np.float32)
    fastnn.set_num_threads(1)
    one = fastnn.ops.relu(x)
    fastnn.set_num_threads(2)
    np.testing.assert_array_equal(fastnn.ops.relu(x), one)


@pytest.mark.parametrize(
    "bad, error",
    [
        (np.array([1 + 2j], np.complex64), TypeError),
        (np.array(["a"], object), TypeError),
        (np.array(["a", "b"]), TypeError),
    ],
)
def test_relu_rejects_non_numeric(bad, error):
    with pytest.raises(error, match="dtype"):
        fastnn.ops.relu(bad)


def test_relu_grad_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        fastnn.ops.relu_grad(np.zeros(3, np.float32), np.zeros(4, np.float32))


def test_float32_or_overflow_casts_as_numpy_and_finds_the_first_overflow():
    largest = float(np.finfo(np.float32).max)
    halfway = 2.0**128 - 2.0**103  # from here up the cast gives Inf
    edges = [0.0, -0.0, 1e-46, 1.5, -2.5e38, largest, np.nextafter(largest, np.inf)]
    edges += [np.nextafter(halfway, 0), -np.nextafter(halfway, 0), np.nan, np.inf, -np.inf]
    rng = np.random.default_rng(7)
    for shape in [(0,), (1,), (13,), (3, 7), (2, 3, 5)]:
        values = rng.choice(np.array(edges), size=shape) * rng.choice([1.0, -1.0], size=shape)
        cast, first = fastnn._core.ops._float32_or_overflow(np.ascontiguousarray(values))
        with np.errstate(over="ignore"):
            expected = values.astype(np.float32)
        np.testing.assert_array_equal(cast, expected)
        assert cast.dtype == np.float32 and cast.shape == shape and first == -1
    for beyond in (halfway, -halfway, 1e39, -1e300, np.finfo(np.float64).max):
        values = np.zeros(11)
        values[[4, 9]] = beyond
        cast, first = fastnn._core.ops._float32_or_overflow(values)
        assert first == 4 and np.isinf(cast[4]) and np.sign(cast[4]) == np.sign(beyond)
