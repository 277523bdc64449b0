"""The narrow-N sgemm path (C with at most 12 columns, vectors down M) against
NumPy float64, bit-identical to the tiled driver and the small-M path, for any
thread count. On the generic ISA the path does not exist and the same tests
check the tiled driver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_gemm_small_m import (
    assert_path_matches_tiled,
    op_a,
    path_override,
    reference,
    sgemm,
    small_m,
    tol,
)

import fastnn
from fastnn import _core

M_SIZES = [5, 8, 9, 16, 17, 31, 130]
N_SIZES = list(range(1, 13))
K_SIZES = [1, 7, 8, 97, 513]


def narrow_n(mode):
    """Forces the narrow-N path on (1) or off (0) inside the block."""
    return path_override(_core.ops._sgemm_set_narrow_n, mode)


def op_b(rng, k, n, tb, layout="C"):
    """A matrix whose op() is k x n (stored n x k when tb)."""
    return op_a(rng, k, n, tb, layout)


def assert_narrow_matches_tiled(rng, m, n, k, ta, tb, alpha, beta, act):
    """The narrow-N path on (the whole of a narrow C, or a wider C's edge
    columns) and off: the same bits."""
    a, b = op_a(rng, m, k, ta), op_b(rng, k, n, tb)
    assert_path_matches_tiled(narrow_n, rng, a, b, ta, tb, alpha, beta, act, 2 * tol(k) + 1e-6)


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("k", K_SIZES)
@pytest.mark.parametrize("n", N_SIZES)
@pytest.mark.parametrize("m", M_SIZES)
def test_narrow_n_matches_float64(isa, rng, m, n, k, ta, tb):
    a = op_a(rng, m, k, ta)
    b = op_b(rng, k, n, tb)
    c, _ = sgemm(a, b, ta, tb)
    want, _ = reference(a, b, ta, tb)
    np.testing.assert_allclose(c, want, rtol=0, atol=tol(k))


@pytest.mark.parametrize("la,lb", [("F", "C"), ("wide", "wide"), ("C", "F")])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(23, 10, 130), (128, 3, 784), (9, 12, 17)])
def test_narrow_n_any_layout(isa, rng, m, n, k, ta, tb, la, lb):
    a = op_a(rng, m, k, ta, la)
    b = op_b(rng, k, n, tb, lb)
    out = fastnn.ops.matmul(a, b, transpose_a=ta, transpose_b=tb)
    want, _ = reference(a, b, ta, tb)
    np.testing.assert_allclose(out, want, rtol=0, atol=tol(k))


@pytest.mark.parametrize("act", [None, "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 1.0), (2.0, -0.5)])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize(
    # KC = 512: k = 513, 1100 and 1600 are sums in two to four K blocks.
    "m,n,k",
    [(5, 10, 128), (17, 1, 513), (64, 6, 1100), (130, 10, 97), (33, 12, 1600), (8, 7, 3)],
)
def test_narrow_n_bit_identical_to_tiled_path(isa, rng, m, n, k, ta, tb, alpha, beta, act):
    assert_narrow_matches_tiled(rng, m, n, k, ta, tb, alpha, beta, act)


@pytest.mark.parametrize("m,n,k", [(1, 10, 784), (3, 12, 513), (4, 1, 7)])
def test_narrow_n_bit_identical_to_small_m_path(isa, rng, m, n, k):
    """A few rows: the small-M path and the narrow-N path give the same bits,
    so a sample's output never depends on the batch it is in."""
    a = op_a(rng, m, k, False)
    b = op_b(rng, k, n, False)
    bias = rng.standard_normal(n).astype(np.float32)
    with small_m(1):
        want = sgemm(a, b, bias=bias, act="relu", pre=True)
    with small_m(0), narrow_n(1):
        got = sgemm(a, b, bias=bias, act="relu", pre=True)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(128, 10, 128), (37, 7, 600), (9, 1, 5)])
def test_narrow_n_prologue_on_b(isa, rng, m, n, k, ta, tb, act):
    """dW = X^T (dY * f'(Y)) of a narrow layer: the prologue on B is applied
    while B is copied, bit-identical to the tiled path's packing."""
    a = op_a(rng, m, k, ta)
    b = op_b(rng, k, n, tb)
    f = {"relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v))}
    y = f.get(act, np.tanh)(rng.standard_normal((k, n))).astype(np.float32)
    y[0, 0] = np.nan if act == "relu" else y[0, 0]  # relu' passes dy where y is NaN
    results = []
    for mode in (1, 0):
        with narrow_n(mode):
            c = np.full((m, n), np.nan, np.float32)
            _core.ops._sgemm(a, b, c, 1.0, 0.0, ta, tb, prologue_b=act, y_b=y)
            results.append(c)
    np.testing.assert_array_equal(results[0], results[1])
    deriv = {
        "relu": np.where(y <= 0, 0.0, 1.0),
        "sigmoid": y * (1 - y),
        "tanh": 1 - y * y,
    }[act].astype(np.float32)
    op_b_ = (b.T if tb else b) * deriv
    want, _ = reference(a, op_b_, ta, False)
    np.testing.assert_allclose(results[0], want, rtol=0, atol=tol(k))


def test_narrow_n_prologue_on_a_uses_tiled_path(isa, rng):
    a = op_a(rng, 40, 30, False)
    b = op_b(rng, 30, 10, False)
    y = np.maximum(rng.standard_normal((40, 30)), 0).astype(np.float32)
    c = np.full((40, 10), np.nan, np.float32)
    _core.ops._sgemm(a, b, c, 1.0, 0.0, False, False, prologue_a="relu", y_a=y)
    want, _ = reference(a * (y > 0), b, False, False)
    np.testing.assert_allclose(c, want, rtol=0, atol=tol(30))


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("m,n,k", [(1000, 10, 300), (4099, 3, 128), (517, 12, 1030)])
def test_narrow_n_threads_give_bit_identical_results(isa, threads, rng, m, n, k, ta):
    a = op_a(rng, m, k, ta)
    b = op_b(rng, k, n, False)
    bias = rng.standard_normal(n).astype(np.float32)
    results = []
    for t in (1, 2, 3, 4):
        fastnn.set_num_threads(t)
        results.append(sgemm(a, b, ta, bias=bias, act="tanh", pre=True))
    for c, z in results[1:]:
        np.testing.assert_array_equal(c, results[0][0])
        np.testing.assert_array_equal(z, results[0][1])


@pytest.mark.parametrize(
    # n = 10: the whole of C on the narrow-N path; n = 40: its last 8 columns.
    "m,n",
    [(21, 10), (16, 10), (5, 10), (29, 40)],
)
@pytest.mark.parametrize("ta", [False, True])
def test_narrow_n_touches_only_its_window(isa, rng, ta, m, n):
    """C and the pre-activation are the first rows of larger arrays (a write
    past a row's last column would land in the next row, past the last row in
    the sentinel rows), the bias a window of a longer one: the path writes
    exactly the m x n block and reads no bias past its n values."""
    k = 37
    a = op_a(rng, m, k, ta, "wide")
    b = op_b(rng, k, n, False, "wide")
    big_c = np.full((m + 3, n), 7.0, np.float32)
    big_z = np.full((m + 3, n), 7.0, np.float32)
    c, z = big_c[:m], big_z[:m]
    bias_buf = np.full(n + 4, np.nan, np.float32)
    bias_buf[2 : n + 2] = rng.standard_normal(n)
    bias = bias_buf[2 : n + 2]
    with small_m(0):
        _core.ops._sgemm(
            a, b, c, 1.0, 0.0, ta, False, bias=bias, activation="relu", pre_activation=z
        )
    want_c, want_z = reference(a, b, ta, False, bias=bias, act="relu")
    np.testing.assert_allclose(c, want_c, rtol=0, atol=tol(k))
    np.testing.assert_allclose(z, want_z, rtol=0, atol=tol(k))
    assert (big_c[m:] == 7.0).all() and (big_z[m:] == 7.0).all()


# The last partial 16-column panel of a wider C (n = 16 q + e, e <= 12) goes
# to the narrow-N path, the full panels to the tiled driver.
EDGE_SHAPES = [(37, 17, 130), (130, 26, 97), (9, 44, 513), (64, 100, 64), (23, 50, 1100)]


@pytest.mark.parametrize("act", [None, "relu", "sigmoid"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 1.0)])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", EDGE_SHAPES)
def test_edge_columns_bit_identical_to_tiled_path(isa, rng, m, n, k, ta, tb, alpha, beta, act):
    assert_narrow_matches_tiled(rng, m, n, k, ta, tb, alpha, beta, act)


@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("m,n,k", [(128, 100, 128), (37, 23, 600)])
def test_edge_columns_prologue_on_b(isa, rng, m, n, k, tb):
    """dW = X^T (dY * relu'(Y)) for a 100-unit layer: the edge columns read
    their own columns of Y."""
    a = op_a(rng, m, k, True)
    b = op_b(rng, k, n, tb)
    y = np.maximum(rng.standard_normal((k, n)), 0).astype(np.float32)
    results = []
    for mode in (1, 0):
        with narrow_n(mode):
            c = np.full((m, n), np.nan, np.float32)
            _core.ops._sgemm(a, b, c, 1.0, 0.0, True, tb, prologue_b="relu", y_b=y)
            results.append(c)
    np.testing.assert_array_equal(results[0], results[1])
    want, _ = reference(a, (b.T if tb else b) * (y > 0), True, False)
    np.testing.assert_allclose(results[0], want, rtol=0, atol=tol(k))


@pytest.mark.parametrize("m,n,k", [(1000, 100, 300), (517, 27, 1030)])
def test_edge_columns_threads_give_bit_identical_results(isa, threads, rng, m, n, k):
    a = op_a(rng, m, k, False)
    b = op_b(rng, k, n, False)
    bias = rng.standard_normal(n).astype(np.float32)
    results = []
    for t in (1, 2, 3):
        fastnn.set_num_threads(t)
        results.append(sgemm(a, b, bias=bias, act="tanh", pre=True))
    for c, z in results[1:]:
        np.testing.assert_array_equal(c, results[0][0])
        np.testing.assert_array_equal(z, results[0][1])
