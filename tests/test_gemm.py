"""sgemm (fastnn.ops.matmul / dense / the private _sgemm) against NumPy float64."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fastnn
from fastnn import _core

SIZES = [0, 1, 2, 7, 9, 15, 16, 17, 31, 33, 97, 128, 257, 1000]

# Mixed (m, n, k) triples over SIZES: every size appears in each position, with
# tile edges (15, 16, 17), primes, and at least one large dimension per case.
SHAPES = sorted(
    {(m, n, k) for m, n, k in zip(SIZES, SIZES[::-1], SIZES[3:] + SIZES[:3])}
    | {(m, n, k) for m, n, k in zip(SIZES, SIZES[5:] + SIZES[:5], SIZES[::-1])}
    | {(s, s, s) for s in SIZES if s <= 257}
    | {(97, 31, 1000), (1000, 17, 128), (17, 1000, 257), (128, 128, 784), (257, 7, 1)}
)


def tol(k):
    """Float32 accumulation error bound, scaled by K (inputs are O(1))."""
    return 1e-5 * (k + 1) ** 0.5 * 4 + 1e-6 * k


def operand(rng, rows, cols, layout):
    """A rows x cols float32 matrix in the given memory layout."""
    if layout == "C":
        return rng.standard_normal((rows, cols)).astype(np.float32)
    if layout == "F":
        return np.asfortranarray(rng.standard_normal((rows, cols)).astype(np.float32))
    # "strided": a view with steps in both dimensions (no unit stride at all).
    big = rng.standard_normal((2 * rows + 1, 3 * cols + 1)).astype(np.float32)
    return big[1::2, ::3][:rows, :cols]


def reference(a, b, ta, tb, alpha=1.0, beta=0.0, c=None):
    a64 = a.astype(np.float64).T if ta else a.astype(np.float64)
    b64 = b.astype(np.float64).T if tb else b.astype(np.float64)
    r = alpha * (a64 @ b64)
    if beta != 0.0:
        r = r + beta * c.astype(np.float64)
    return r


@pytest.mark.parametrize("m,n,k", SHAPES)
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
def test_matmul_matches_float64_reference(isa, rng, m, n, k, ta, tb):
    a = operand(rng, k if ta else m, m if ta else k, "C")
    b = operand(rng, n if tb else k, k if tb else n, "C")
    got = fastnn.ops.matmul(a, b, transpose_a=ta, transpose_b=tb)
    assert got.dtype == np.float32 and got.shape == (m, n) and got.flags.c_contiguous
    np.testing.assert_allclose(got, reference(a, b, ta, tb), rtol=0, atol=tol(k))


@pytest.mark.parametrize(
    "la,lb",
    [
        ("F", "C"),
        ("C", "F"),
        ("F", "F"),
        ("strided", "F"),
        ("C", "strided"),
        ("strided", "strided"),
    ],
)
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(17, 31, 97), (128, 15, 257), (1, 1000, 7), (97, 2, 16)])
def test_matmul_any_layout(isa, rng, m, n, k, ta, tb, la, lb):
    a = operand(rng, k if ta else m, m if ta else k, la)
    b = operand(rng, n if tb else k, k if tb else n, lb)
    got = fastnn.ops.matmul(a, b, transpose_a=ta, transpose_b=tb)
    np.testing.assert_allclose(got, reference(a, b, ta, tb), rtol=0, atol=tol(k))


def test_matmul_transposed_views_need_no_flag(rng):
    a = rng.standard_normal((31, 17)).astype(np.float32)
    b = rng.standard_normal((40, 31)).astype(np.float32)
    np.testing.assert_allclose(
        fastnn.ops.matmul(a.T, b.T), reference(a.T, b.T, False, False), rtol=0, atol=tol(31)
    )


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.uint8, np.bool_, np.float16])
def test_matmul_converts_real_dtypes(rng, dtype):
    a = (rng.standard_normal((9, 13)) * 3).astype(dtype)
    b = np.asfortranarray((rng.standard_normal((13, 5)) * 3).astype(dtype))
    got = fastnn.ops.matmul(a, b)
    ref = a.astype(np.float32).astype(np.float64) @ b.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


def test_matmul_out_is_written(rng):
    a = rng.standard_normal((20, 30)).astype(np.float32)
    b = rng.standard_normal((30, 40)).astype(np.float32)
    out = np.full((20, 40), np.nan, np.float32)
    res = fastnn.ops.matmul(a, b, out=out)
    assert res is out or np.shares_memory(res, out)
    np.testing.assert_allclose(out, reference(a, b, False, False), rtol=0, atol=tol(30))


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.5])
@pytest.mark.parametrize("beta", [0.0, 1.0, -0.5])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (7, 0, 2), (5, 6, 0), (31, 17, 97), (257, 97, 300)])
def test_sgemm_alpha_beta(isa, rng, m, n, k, ta, tb, alpha, beta):
    a = operand(rng, k if ta else m, m if ta else k, "C")
    b = operand(rng, n if tb else k, k if tb else n, "F")
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    c = c0.copy()
    if beta == 0.0:
        c[...] = np.nan  # beta == 0 must never read C
    _core.ops._sgemm(a, b, c, alpha, beta, ta, tb)
    expected = reference(a, b, ta, tb, alpha, beta, c0)
    np.testing.assert_allclose(c, expected, rtol=0, atol=tol(k) + 1e-6)


@pytest.mark.parametrize("pack_a,pack_b", [(0, 0), (1, 1), (0, 1), (1, 0)])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(128, 128, 784), (131, 47, 300), (13, 300, 17), (600, 20, 520)])
def test_packing_paths_are_bit_identical(isa, rng, m, n, k, ta, tb, pack_a, pack_b):
    a = operand(rng, k if ta else m, m if ta else k, "C")
    b = operand(rng, n if tb else k, k if tb else n, "C")
    try:
        auto = fastnn.ops.matmul(a, b, ta, tb)
        _core.ops._sgemm_set_packing(pack_a, pack_b)
        forced = fastnn.ops.matmul(a, b, ta, tb)
    finally:
        _core.ops._sgemm_set_packing(-1, -1)
    np.testing.assert_array_equal(forced, auto)
    np.testing.assert_allclose(auto, reference(a, b, ta, tb), rtol=0, atol=tol(k))


@pytest.mark.parametrize(
    "m,n,k", [(1000, 1000, 600), (128, 784, 128), (784, 128, 128), (50, 4100, 30)]
)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True)])
def test_threads_give_bit_identical_results(isa, threads, rng, m, n, k, ta, tb):
    a = operand(rng, k if ta else m, m if ta else k, "C")
    b = operand(rng, n if tb else k, k if tb else n, "C")
    bias = rng.standard_normal(n).astype(np.float32)
    results = []
    for t in (1, 2, 3, 4):
        fastnn.set_num_threads(t)
        c = np.empty((m, n), np.float32)
        _core.ops._sgemm(a, b, c, 1.0, 0.0, ta, tb, bias=bias, activation="relu")
        results.append(c)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize("activation", [None, "linear", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (17, 31, 97), (128, 128, 784), (257, 10, 128)])
def test_dense_equals_unfused(isa, rng, m, n, k, activation):
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    y, z = fastnn.ops.dense(x, w, b, activation=activation, return_pre_activation=True)
    z_ref = fastnn.ops.matmul(x, w) + b  # the unfused sequence, float32
    np.testing.assert_allclose(z, z_ref, rtol=1e-6, atol=1e-6)
    act = {
        None: lambda v: v,
        "linear": lambda v: v,
        "relu": lambda v: np.maximum(v, 0),
        "sigmoid": lambda v: 1 / (1 + np.exp(-v.astype(np.float64))),
        "tanh": lambda v: np.tanh(v.astype(np.float64)),
    }[activation]
    np.testing.assert_allclose(y, act(z_ref), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fastnn.ops.dense(x, w, b, activation=activation), y)
    if activation in (None, "linear"):
        np.testing.assert_array_equal(fastnn.ops.dense(x, w), fastnn.ops.matmul(x, w))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize(
    "m,n,k",
    # tiled (with and without edge columns), small-M (m <= 4), narrow-N
    # (n <= 12), K = 0 (no product: bias and activation only)
    [(128, 128, 784), (37, 53, 19), (3, 40, 33), (257, 10, 128), (9, 5, 0), (1, 1, 1)],
)
def test_fused_activation_equals_the_activation_kernel(isa, rng, m, n, k, activation):
    """The epilogue applies the ISA's vectorized activation kernel, the one
    fastnn.ops.activation runs: a fused layer equals GEMM + bias, then the
    activation, bit for bit, on every path."""
    x = (3 * rng.standard_normal((m, k))).astype(np.float32)
    w = (rng.standard_normal((k, n)) / np.sqrt(max(k, 1))).astype(np.float32)
    b = (3 * rng.standard_normal(n)).astype(np.float32)
    y, z = fastnn.ops.dense(x, w, b, activation=activation, return_pre_activation=True)
    np.testing.assert_array_equal(y, fastnn.ops.activation(z, activation))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("side", ["a", "b"])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,n,k", [(17, 31, 97), (128, 10, 128), (300, 129, 40)])
def test_prologue_equals_unfused(isa, rng, m, n, k, ta, tb, side, activation):
    a = operand(rng, k if ta else m, m if ta else k, "C")
    b = operand(rng, n if tb else k, k if tb else n, "C")
    shape = (m, k) if side == "a" else (k, n)
    y = {
        "relu": lambda v: np.maximum(v, 0),
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "tanh": np.tanh,
    }[activation](rng.standard_normal(shape)).astype(np.float32)
    deriv = {"relu": (y > 0), "sigmoid": y * (1 - y), "tanh": 1 - y * y}[activation]
    deriv = deriv.astype(np.float32)
    op_a = a.T if ta else a
    op_b = b.T if tb else b
    if side == "a":
        op_a = op_a * deriv
        kwargs = {"prologue_a": activation, "y_a": y}
    else:
        op_b = op_b * deriv
        kwargs = {"prologue_b": activation, "y_b": y}
    c = np.full((m, n), np.nan, np.float32)
    _core.ops._sgemm(a, b, c, 1.0, 0.0, ta, tb, **kwargs)
    expected = fastnn.ops.matmul(op_a, op_b)  # unfused: multiply, then GEMM
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=tol(k))


@pytest.mark.parametrize("m,n,k", [(1, 9, 5), (3, 40, 17), (37, 10, 64), (130, 70, 300)])
def test_fused_relu_propagates_nan_as_torch(isa, rng, m, n, k):
    """relu in the epilogue is torch.relu (NaN stays NaN), and the relu prologue
    is torch's backward (y <= 0 ? 0 : dy: a NaN y passes dy), on every GEMM path
    (small M, unpacked, packed)."""
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    b[n // 2] = np.nan  # a NaN column
    x[m - 1, 0] = np.nan  # a NaN row
    y, z = fastnn.ops.dense(x, w, b, activation="relu", return_pre_activation=True)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(z))
    assert np.isnan(y[:, n // 2]).all() and np.isnan(y[m - 1]).all()
    finite = ~np.isnan(z)
    np.testing.assert_array_equal(y[finite], np.maximum(z[finite], 0))

    # prologue on A: op(A) * relu'(Y) with Y holding NaN, -0, 0 and signs
    a = rng.standard_normal((m, k)).astype(np.float32)
    y_a = rng.standard_normal((m, k)).astype(np.float32)
    y_a.flat[::3] = np.nan
    y_a.flat[1::7] = -0.0
    y_a = np.maximum(y_a, 0)  # NaN stays NaN
    c = np.empty((m, n), np.float32)
    _core.ops._sgemm(a, w, c, 1.0, 0.0, False, False, prologue_a="relu", y_a=y_a)
    masked = np.where(y_a <= 0, np.float32(0), a)  # torch: y <= 0 ? 0 : dy
    np.testing.assert_allclose(c, fastnn.ops.matmul(masked, w), rtol=1e-5, atol=tol(k))


def test_beta_zero_ignores_nan_in_out(isa, rng):
    a = rng.standard_normal((33, 20)).astype(np.float32)
    b = rng.standard_normal((20, 45)).astype(np.float32)
    out = np.full((33, 45), np.nan, np.float32)
    fastnn.ops.matmul(a, b, out=out)
    assert np.isfinite(out).all()


X86_LEVELS = [level for level in ("avx2", "avx512") if level in _core.available_isas()]


@pytest.mark.skipif(len(X86_LEVELS) < 2, reason="needs a CPU with both AVX2 and AVX-512")
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("threads_used", [1, 2])
def test_avx512_gemm_is_bit_identical_to_avx2(threads, seed, threads_used):
    """The 8 x 32 AVX-512 tiles run each element's FMA chain and epilogue as
    the AVX2 6 x 16 tiles do, so every product of the full contract (alpha,
    beta, bias, pre-activation, fused activations, prologues, any layout) is
    the same bit for bit, over tile edges of both (7-9, 15-17, 31-33)."""
    rng = np.random.default_rng(seed)
    fastnn.set_num_threads(threads_used)
    sizes = [0, 1, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 97, 128, 200, 513]
    previous = _core.active_isa()
    try:
        for _ in range(25):
            m, n, k = (int(rng.choice(sizes)) for _ in range(3))
            ta, tb = bool(rng.integers(2)), bool(rng.integers(2))
            a = operand(rng, k if ta else m, m if ta else k, str(rng.choice(["C", "F", "strided"])))
            b = operand(rng, n if tb else k, k if tb else n, str(rng.choice(["C", "F", "strided"])))
            c0 = rng.standard_normal((m, n)).astype(np.float32)
            alpha = float(rng.choice([1.0, -0.7, 1.3]))
            beta = float(rng.choice([0.0, 1.0, 0.3]))
            kwargs = {"activation": rng.choice([None, "relu", "sigmoid", "tanh"])}
            if rng.integers(2):
                kwargs["bias"] = rng.standard_normal(n).astype(np.float32)
            side = int(rng.integers(3))
            if side < 2:
                name = "a" if side == 0 else "b"
                kwargs[f"prologue_{name}"] = str(rng.choice(["relu", "tanh", "sigmoid"]))
                shape = (m, k) if side == 0 else (k, n)
                kwargs[f"y_{name}"] = rng.standard_normal(shape).astype(np.float32)
            results = []
            for level in X86_LEVELS:
                _core.set_isa(level)
                c = c0.copy()
                pre = np.full((m, n), np.nan, np.float32)
                _core.ops._sgemm(a, b, c, alpha, beta, ta, tb, pre_activation=pre, **kwargs)
                results.append((c.view(np.uint32), pre.view(np.uint32)))
            (c2, pre2), (c512, pre512) = results
            where = f"m={m} n={n} k={k} ta={ta} tb={tb} {kwargs.keys()}"
            np.testing.assert_array_equal(c512, c2, err_msg=where)
            np.testing.assert_array_equal(pre512, pre2, err_msg=where)
    finally:
        _core.set_isa(previous)


@pytest.mark.parametrize(
    "a, b, kwargs, error, match",
    [
        (np.ones(3), np.ones((3, 2)), {}, ValueError, r"2-D.*\(3,\)"),
        (np.ones((2, 3, 4)), np.ones((4, 2)), {}, ValueError, r"2-D.*\(2, 3, 4\)"),
        (np.ones((2, 3)), np.ones((4, 2)), {}, ValueError, r"\(2, 3\).*\(4, 2\)"),
        (np.ones((2, 3)), np.ones((2, 3)), {"transpose_b": False}, ValueError, "inner"),
        (np.ones((2, 3), np.complex64), np.ones((3, 2)), {}, TypeError, "complex"),
        (np.array([[object()]]), np.ones((1, 1)), {}, TypeError, "object"),
        (
            np.ones((2, 3)),
            np.ones((3, 2)),
            {"out": np.empty((2, 2), np.float64)},
            TypeError,
            "float32",
        ),
        (
            np.ones((2, 3)),
            np.ones((3, 2)),
            {"out": np.empty((3, 2), np.float32)},
            ValueError,
            r"\(2, 2\)",
        ),
        (
            np.ones((2, 3)),
            np.ones((3, 2)),
            {"out": np.empty((2, 2), np.float32, order="F")},
            ValueError,
            "C-contiguous",
        ),
        (np.ones((2, 3)), np.ones((3, 2)), {"out": [[0.0, 0.0], [0.0, 0.0]]}, TypeError, "ndarray"),
    ],
)
def test_matmul_bad_inputs(a, b, kwargs, error, match):
    with pytest.raises(error, match=match):
        fastnn.ops.matmul(a, b, **kwargs)


def test_matmul_out_overlapping_input_is_rejected():
    a = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="share memory"):
        fastnn.ops.matmul(a, np.ones((4, 4), np.float32), out=a)


def test_matmul_readonly_out_is_rejected():
    out = np.empty((2, 2), np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        fastnn.ops.matmul(np.ones((2, 3)), np.ones((3, 2)), out=out)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"b": np.ones(3)}, ValueError, r"\(4,\).*\(3,\)"),
        ({"b": np.ones((1, 4))}, ValueError, r"\(4,\)"),
        ({"activation": "softmax"}, ValueError, "cannot be fused"),
        ({"activation": "nope"}, ValueError, "nope"),
        ({"activation": 3}, TypeError, "string"),
    ],
)
def test_dense_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        fastnn.ops.dense(np.ones((2, 3)), np.ones((3, 4)), **kwargs)


def test_dense_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(5, 4\)"):
        fastnn.ops.dense(np.ones((2, 3)), np.ones((5, 4)))
