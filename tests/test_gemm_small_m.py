"""The small-M sgemm path (a few rows of C, no packing) against NumPy float64,
and bit-identical to the tiled driver, for any thread count."""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest

import fastnn
from fastnn import _core

M_SIZES = [1, 2, 3, 4, 5]
N_SIZES = [1, 7, 10, 16, 17, 128, 129, 1000]
K_SIZES = [0, 1, 7, 784]
ACTIVATIONS = {
    None: lambda v: v,
    "linear": lambda v: v,
    "relu": lambda v: np.maximum(v, 0.0),
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "tanh": np.tanh,
}


def tol(k):
    """Float32 accumulation error bound, scaled by K (inputs are O(1))."""
    return 1e-5 * (k + 1) ** 0.5 * 4 + 1e-6 * k


@contextlib.contextmanager
def path_override(setter, mode):
    """Forces a GEMM path on (1) or off (0) inside the block, through one of
    the private _sgemm_set_* hooks; back to the automatic choice after."""
    setter(mode)
    try:
        yield
    finally:
        setter(-1)


def small_m(mode):
    """Forces the small-M path on (1) or off (0) inside the block."""
    return path_override(_core.ops._sgemm_set_small_m, mode)


def op_a(rng, m, k, ta, layout="C"):
    """A matrix whose op() is m x k: stored k x m when ta; "wide" is a view
    with a leading dimension larger than its row (columns of a wider array)."""
    rows, cols = (k, m) if ta else (m, k)
    if layout == "wide":
        return rng.standard_normal((rows, cols + 5)).astype(np.float32)[:, 3 : 3 + cols]
    if layout == "F":
        return np.asfortranarray(rng.standard_normal((rows, cols)).astype(np.float32))
    return rng.standard_normal((rows, cols)).astype(np.float32)


def sgemm(a, b, ta=False, tb=False, alpha=1.0, beta=0.0, c=None, bias=None, act=None, pre=False):
    """Runs the private full-contract sgemm; returns (c, pre_activation or None)."""
    m = a.shape[1] if ta else a.shape[0]
    n = b.shape[0] if tb else b.shape[1]
    out = np.full((m, n), np.nan, np.float32) if c is None else c.copy()
    z = np.full((m, n), np.nan, np.float32) if pre else None
    _core.ops._sgemm(a, b, out, alpha, beta, ta, tb, bias=bias, activation=act, pre_activation=z)
    return out, z


def reference(a, b, ta, tb, alpha=1.0, beta=0.0, c=None, bias=None, act=None):
    """(activation(z), z) in float64, z = alpha op(A) op(B) + beta C + bias."""
    a64 = a.astype(np.float64).T if ta else a.astype(np.float64)
    b64 = b.astype(np.float64).T if tb else b.astype(np.float64)
    z = alpha * (a64 @ b64)
    if beta != 0.0:
        z = z + beta * c.astype(np.float64)
    if bias is not None:
        z = z + bias.astype(np.float64)
    return ACTIVATIONS[act](z), z


@pytest.mark.parametrize("k", K_SIZES)
@pytest.mark.parametrize("n", N_SIZES)
@pytest.mark.parametrize("m", M_SIZES)
@pytest.mark.parametrize("ta", [False, True])
def test_small_m_matches_float64(isa, rng, m, n, k, ta):
    a = op_a(rng, m, k, ta)
    b = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    got, z = sgemm(a, b, ta, bias=bias, act="relu", pre=True)
    want, z_want = reference(a, b, ta, False, bias=bias, act="relu")
    np.testing.assert_allclose(z, z_want, rtol=0, atol=tol(k))
    np.testing.assert_allclose(got, want, rtol=0, atol=tol(k))
    assert np.all(got >= 0)


@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 0.0), (1.0, 1.0), (0.75, -0.5)])
@pytest.mark.parametrize("m,n,k", [(1, 129, 784), (2, 17, 7), (3, 1000, 1), (4, 10, 128)])
def test_small_m_epilogue_alpha_beta(isa, rng, m, n, k, alpha, beta, act):
    a = op_a(rng, m, k, False)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    # beta == 0 must never read C: the NaN-filled default output proves it.
    got, z = sgemm(
        a, b, alpha=alpha, beta=beta, c=None if beta == 0 else c0, bias=bias, act=act, pre=True
    )
    want, z_want = reference(a, b, False, False, alpha, beta, c0, bias, act)
    np.testing.assert_allclose(z, z_want, rtol=0, atol=tol(k) + 1e-6)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol(k) + 1e-6)


@pytest.mark.parametrize("m,n", [(1, 7), (3, 129)])
def test_small_m_k_zero_is_beta_c_plus_bias(isa, rng, m, n):
    a = np.zeros((m, 0), np.float32)
    b = np.zeros((0, n), np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    got, _ = sgemm(a, b, beta=0.5, c=c0, bias=bias, act="relu")
    np.testing.assert_allclose(got, np.maximum(0.5 * c0 + bias, 0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("la,lb", [("wide", "wide"), ("F", "C"), ("wide", "F"), ("C", "F")])
@pytest.mark.parametrize("m,n,k", [(1, 129, 784), (2, 10, 128), (4, 17, 7), (5, 1000, 31)])
def test_small_m_strided_and_transposed_operands(isa, rng, m, n, k, la, lb):
    a = op_a(rng, m, k, False, la)
    b = op_a(rng, k, n, False, lb)  # "F": op(B) transposed in memory (tiled path)
    bias = rng.standard_normal(n).astype(np.float32)
    got, _ = sgemm(a, b, bias=bias, act="tanh")
    want, _ = reference(a, b, False, False, bias=bias, act="tanh")
    np.testing.assert_allclose(got, want, rtol=0, atol=tol(k))


@pytest.mark.parametrize("act", [None, "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 1.0), (0.75, -0.5)])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize(
    "m,n,k",
    # KC = 512: k = 513, 784 and 1100 are sums in two and three K blocks;
    # m = 6, 9, 13 cover row groups of 4 plus 1, 2, 3 (forced on).
    [(1, 128, 784), (2, 129, 513), (3, 10, 1100), (4, 1000, 7), (5, 17, 784), (6, 33, 1)]
    + [(9, 47, 520), (13, 16, 100)],
)
def test_small_m_bit_identical_to_tiled_path(isa, rng, m, n, k, ta, alpha, beta, act):
    a = op_a(rng, m, k, ta)
    b = rng.standard_normal((k, n)).astype(np.float32)
    assert_path_matches_tiled(small_m, rng, a, b, ta, False, alpha, beta, act, tol(k) + 1e-6)


def assert_path_matches_tiled(path, rng, a, b, ta, tb, alpha, beta, act, atol):
    """C and the pre-activation with a direct path forced on and off
    (path(mode): a context manager such as small_m): the same bits, and
    within atol of float64."""
    m, n = a.shape[1 if ta else 0], b.shape[0 if tb else 1]
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    results = []
    for mode in (1, 0):
        with path(mode):
            results.append(
                sgemm(a, b, ta, tb, alpha=alpha, beta=beta, c=c0, bias=bias, act=act, pre=True)
            )
    (c_path, z_path), (c_tiled, z_tiled) = results
    np.testing.assert_array_equal(z_path, z_tiled)
    np.testing.assert_array_equal(c_path, c_tiled)
    want, _ = reference(a, b, ta, tb, alpha, beta, c0, bias, act)
    np.testing.assert_allclose(c_path, want, rtol=0, atol=atol)


@pytest.mark.parametrize("m,n,k", [(1, 5000, 300), (2, 1000, 784), (3, 4100, 130), (4, 700, 600)])
def test_small_m_threads_give_bit_identical_results(isa, threads, rng, m, n, k):
    a = op_a(rng, m, k, False)
    b = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    results = []
    for t in (1, 2, 3, 4):
        fastnn.set_num_threads(t)
        results.append(sgemm(a, b, bias=bias, act="sigmoid", pre=True))
    for c, z in results[1:]:
        np.testing.assert_array_equal(c, results[0][0])
        np.testing.assert_array_equal(z, results[0][1])
    with small_m(0):
        np.testing.assert_array_equal(sgemm(a, b, bias=bias, act="sigmoid")[0], results[0][0])


@pytest.mark.parametrize("side", ["a", "b"])
@pytest.mark.parametrize("m,n,k", [(1, 129, 784), (3, 10, 17)])
def test_small_m_with_prologue_uses_tiled_path(isa, rng, m, n, k, side):
    a = op_a(rng, m, k, False)
    b = rng.standard_normal((k, n)).astype(np.float32)
    shape = (m, k) if side == "a" else (k, n)
    y = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    c = np.full((m, n), np.nan, np.float32)
    kwargs = {"prologue_a": "relu", "y_a": y} if side == "a" else {"prologue_b": "relu", "y_b": y}
    _core.ops._sgemm(a, b, c, 1.0, 0.0, False, False, **kwargs)
    op_a_ = a * (y > 0) if side == "a" else a
    op_b_ = b * (y > 0) if side == "b" else b
    np.testing.assert_allclose(c, reference(op_a_, op_b_, False, False)[0], rtol=0, atol=tol(k))


def test_dense_batch_one_equals_batched_rows(isa, rng):
    """A row computed alone (small-M path) equals the same row inside a large
    batch (tiled path): batch size never changes a sample's output."""
    x = rng.standard_normal((200, 784)).astype(np.float32)
    w = (rng.standard_normal((784, 128)) / 28).astype(np.float32)
    bias = rng.standard_normal(128).astype(np.float32)
    full = fastnn.ops.dense(x, w, bias, activation="relu")
    for i in itertools.chain(range(4), [101, 199]):
        np.testing.assert_array_equal(
            fastnn.ops.dense(x[i : i + 1], w, bias, activation="relu"), full[i : i + 1]
        )
