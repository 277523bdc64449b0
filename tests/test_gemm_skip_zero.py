"""sgemm_skip_zero_a (the first layer's weight gradient X^T dY skips the steps
where a panel of X's columns is all zero) against the dense sgemm, bit for
bit, and against NumPy float64, on every ISA, layout and thread count."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_gemm_small_m import ACTIVATIONS, op_a, path_override, reference, tol

import fastnn
from fastnn import _core

# The microkernel's tile per ISA (gemm_kernels.h: 4 x 8, 6 x 16, 8 x 32).
PANEL_ROWS = {"generic": 4, "avx2": 6, "avx512": 8}
PANEL_COLS = {"generic": 8, "avx2": 16, "avx512": 32}
NARROW_N_MAX_COLS = 12  # C's last partial panel up to this wide: the narrow-N path


def skip_zero(mode):
    """Forces the compacted panels on (1: sgemm compacts too) or off (0:
    sgemm_skip_zero_a runs sgemm) inside the block."""
    return path_override(_core.ops._sgemm_set_skip_zero, mode)


def sparse_op_a(rng, m, k, ta, zero_fraction, layout="C"):
    """op(A) (m x k, stored k x m when ta) with about zero_fraction of its
    values exact zeros, half of them -0.0, in runs along m as an image's
    pixels are."""
    a = op_a(rng, m, k, ta, layout)
    rows, cols = a.shape
    # Zero whole runs of 3 consecutive values of op(A)'s columns (image rows).
    keep = rng.random((rows, cols)) >= zero_fraction
    if ta:
        keep = np.repeat(keep[:, ::3], 3, axis=1)[:, :cols]
    else:
        keep = np.repeat(keep[::3], 3, axis=0)[:rows]
    a[~keep] = 0.0
    a[~keep & (rng.random((rows, cols)) < 0.5)] = -0.0
    return a


def run(a, b, ta, tb, *, alpha=1.0, beta=0.0, c=None, bias=None, act=None, skip=False):
    """(C, pre-activation, kept fraction or None) of the private full sgemm."""
    m = a.shape[1] if ta else a.shape[0]
    n = b.shape[0] if tb else b.shape[1]
    out = np.full((m, n), np.nan, np.float32) if c is None else c.copy()
    z = np.full((m, n), np.nan, np.float32)
    kept = _core.ops._sgemm(
        a,
        b,
        out,
        alpha,
        beta,
        ta,
        tb,
        bias=bias,
        activation=act,
        pre_activation=z,
        skip_zero_a=skip,
    )
    return out, z, kept


def bits(x):
    return np.ascontiguousarray(x).view(np.uint32)


def expected_kept(a, ta, isa, n):
    """The fraction of (panel, k) steps with a value that is not +-0: panels
    of the ISA's tile height of op(A), the last one padded with zeros; 1 when
    all of C's n columns go to the narrow-N path (no panel compacted)."""
    edge = n % PANEL_COLS[isa]
    if isa != "generic" and n == edge and edge <= NARROW_N_MAX_COLS:
        return 1.0
    rows_per_panel = PANEL_ROWS[isa]
    op = np.asarray(a, np.float32).T if ta else np.asarray(a, np.float32)
    m, k = op.shape
    panels = -(-m // rows_per_panel)
    padded = np.zeros((panels * rows_per_panel, k), bool)
    padded[:m] = op != 0
    return padded.reshape(panels, rows_per_panel, k).any(axis=1).mean()


SHAPES = [
    (1, 1, 1),
    (5, 3, 2),
    (8, 32, 128),
    (9, 33, 17),
    (31, 17, 97),
    (97, 130, 64),
    (784, 128, 128),
    (130, 47, 513),  # two K blocks (KC = 512)
    (61, 200, 1100),  # three
]


@pytest.mark.parametrize("zero_fraction", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_skip_zero_is_bit_identical_to_sgemm(isa, rng, m, n, k, ta, tb, zero_fraction):
    a = sparse_op_a(rng, m, k, ta, zero_fraction)
    b = op_a(rng, k, n, tb)
    dense, _, none = run(a, b, ta, tb)
    skipped, _, kept = run(a, b, ta, tb, skip=True)
    assert none is None
    np.testing.assert_array_equal(bits(skipped), bits(dense))
    assert kept == pytest.approx(expected_kept(a, ta, isa, n), abs=1e-12)
    want, _ = reference(a, b, ta, tb)
    np.testing.assert_allclose(skipped, want, rtol=0, atol=tol(k))


@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 1.0), (2.0, -0.5)])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("m,n,k", [(23, 40, 130), (128, 10, 784), (7, 129, 600)])
def test_skip_zero_epilogue_is_bit_identical(isa, rng, m, n, k, ta, alpha, beta, act):
    a = sparse_op_a(rng, m, k, ta, 0.6)
    b = op_a(rng, k, n, False)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    kwargs = dict(alpha=alpha, beta=beta, c=c0, bias=bias, act=act)
    c_dense, z_dense, _ = run(a, b, ta, False, **kwargs)
    c_skip, z_skip, _ = run(a, b, ta, False, skip=True, **kwargs)
    np.testing.assert_array_equal(bits(z_skip), bits(z_dense))
    np.testing.assert_array_equal(bits(c_skip), bits(c_dense))
    want, z_want = reference(a, b, ta, False, alpha, beta, c0, bias, act)
    np.testing.assert_allclose(z_skip, z_want, rtol=0, atol=2 * tol(k) + 1e-6)
    np.testing.assert_allclose(c_skip, want, rtol=0, atol=2 * tol(k) + 1e-6)


@pytest.mark.parametrize("la,lb", [("F", "C"), ("wide", "wide"), ("C", "F"), ("F", "F")])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(37, 33, 130), (784, 128, 64)])
def test_skip_zero_any_layout(isa, rng, m, n, k, ta, tb, la, lb):
    a = sparse_op_a(rng, m, k, ta, 0.5, la)
    b = op_a(rng, k, n, tb, lb)
    dense, _, _ = run(a, b, ta, tb)
    skipped, _, kept = run(a, b, ta, tb, skip=True)
    np.testing.assert_array_equal(bits(skipped), bits(dense))
    # A Fortran-ordered A is the transposed other layout: op(A) is the same.
    assert kept == pytest.approx(expected_kept(a, ta, isa, n), abs=1e-12)


@pytest.mark.parametrize("m,n,k", [(784, 128, 128), (1000, 300, 256), (50, 4100, 30)])
def test_skip_zero_threads_give_bit_identical_results(isa, threads, rng, m, n, k):
    a = sparse_op_a(rng, m, k, True, 0.5)
    b = op_a(rng, k, n, False)
    bias = rng.standard_normal(n).astype(np.float32)
    results = []
    for t in (1, 2, 3, 4):
        fastnn.set_num_threads(t)
        results.append(run(a, b, True, False, bias=bias, act="relu", skip=True)[0])
    fastnn.set_num_threads(1)
    results.append(run(a, b, True, False, bias=bias, act="relu")[0])
    for r in results[1:]:
        np.testing.assert_array_equal(bits(r), bits(results[0]))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_b_runs_the_dense_product(isa, rng, bad):
    """0 * inf is NaN: a B with an infinity or a NaN gives sgemm's result
    (NaN where a row of A is all zero), and reports every step kept."""
    m, n, k = 17, 40, 30
    a = sparse_op_a(rng, m, k, True, 0.7)
    a[:, 3] = 0.0  # op(A) row 3 all zero: only 0 * bad reaches C there
    b = op_a(rng, k, n, False)
    b[5, 7] = bad
    dense, _, _ = run(a, b, True, False)
    skipped, _, kept = run(a, b, True, False, skip=True)
    assert kept == 1.0
    assert np.isnan(dense[3, 7])
    np.testing.assert_array_equal(bits(skipped), bits(dense))


def test_nan_and_inf_in_a_are_kept(isa, rng):
    m, n, k = 9, 20, 40
    a = np.zeros((k, m), np.float32)
    a[4, 2], a[11, 8], a[30, 0] = np.nan, np.inf, -np.inf
    b = op_a(rng, k, n, False)
    dense, _, _ = run(a, b, True, False)
    skipped, _, kept = run(a, b, True, False, skip=True)
    np.testing.assert_array_equal(bits(skipped), bits(dense))
    assert np.isnan(skipped[2]).all() and np.isnan(skipped[3:8]).sum() == 0
    assert kept == pytest.approx(expected_kept(a, True, isa, n), abs=1e-12)


@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (4, 0, 3), (4, 5, 0)])
def test_empty_products(isa, rng, m, n, k):
    a = op_a(rng, m, k, True)
    b = op_a(rng, k, n, False)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    dense, _, _ = run(a, b, True, False, beta=0.5, c=c0)
    skipped, _, kept = run(a, b, True, False, beta=0.5, c=c0, skip=True)
    assert kept == 1.0
    np.testing.assert_array_equal(bits(skipped), bits(dense))


def test_override_off_runs_sgemm(rng):
    a = sparse_op_a(rng, 64, 50, True, 0.8)
    b = op_a(rng, 50, 40, False)
    with skip_zero(0):
        c, _, kept = run(a, b, True, False, skip=True)
    assert kept == 1.0
    np.testing.assert_array_equal(bits(c), bits(run(a, b, True, False)[0]))


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(1, 1000, 7), (17, 31, 97), (128, 10, 784), (300, 129, 40)])
def test_override_on_compacts_every_sgemm(isa, rng, m, n, k, ta, tb):
    """With the override on, matmul itself takes the compacted panels (also
    where the small-M and narrow-N paths would run): the same bits."""
    a = sparse_op_a(rng, m, k, ta, 0.5)
    b = op_a(rng, k, n, tb)
    plain = fastnn.ops.matmul(a, b, ta, tb)
    with skip_zero(1):
        forced = fastnn.ops.matmul(a, b, ta, tb)
    np.testing.assert_array_equal(bits(forced), bits(plain))


def test_skip_zero_refuses_a_prologue(rng):
    a = op_a(rng, 4, 5, False)
    b = op_a(rng, 5, 6, False)
    c = np.zeros((4, 6), np.float32)
    with pytest.raises(ValueError, match="skip_zero_a takes no prologue"):
        _core.ops._sgemm(a, b, c, 1.0, 0.0, prologue_a="relu", y_a=a, skip_zero_a=True)
