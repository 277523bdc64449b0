"""model.predict's fast path (a C-contiguous float32 array, verbose=0): the
same outputs and the same validation as every other input form."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import _core, layers, models


def build(width=37):
    model = models.Sequential(
        [
            layers.Input(shape=(width,)),
            layers.Dense(53, activation="relu"),
            layers.Dense(19, activation="tanh"),
            layers.Dense(7, activation="softmax"),
        ]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_every_input_form_gives_the_fast_path_output(isa, rng):
    model = build()
    x64 = rng.standard_normal((9, 37))
    x = x64.astype(np.float32)
    want = model.predict(x, verbose=0)
    assert want.dtype == np.float32 and want.shape == (9, 7)
    wide = np.zeros((9, 74), np.float32)
    wide[:, ::2] = x
    forms = [
        x64,  # float64: converted once
        np.asfortranarray(x),
        wide[:, ::2],  # non-contiguous view
        x.tolist(),
        x.astype(">f4"),  # float32, but not the native byte order
    ]
    for form in forms:
        np.testing.assert_array_equal(model.predict(form, verbose=0), want)
    np.testing.assert_array_equal(model.predict(x, batch_size=2, verbose=np.int64(0)), want)
    np.testing.assert_array_equal(model.predict_on_batch(x), want)
    np.testing.assert_array_equal(model(x), want)
    for i in (0, 4, 8):  # batch 1 (small-M GEMMs) equals the row of the batch
        np.testing.assert_array_equal(model.predict(x[i : i + 1], verbose=0), want[i : i + 1])
    xi = (x64 * 3).astype(np.int64)
    np.testing.assert_array_equal(
        model.predict(xi, verbose=0), model.predict(xi.astype(np.float32), verbose=0)
    )


@pytest.mark.parametrize("threads", [1, 2])
def test_a_large_batch_equals_small_batches(isa, rng, threads):
    """predict computes large batches 1,024 rows at a time; each output row is
    the one any batch size gives (2,500 rows: two full pieces and a short one)."""
    previous = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        model = build(width=300)
        x = rng.standard_normal((2500, 300)).astype(np.float32)
        whole = model.predict(x, batch_size=2500, verbose=0)
        np.testing.assert_array_equal(model.predict(x, batch_size=97, verbose=0), whole)
        np.testing.assert_array_equal(model.predict(x, verbose=0), whole)
        np.testing.assert_array_equal(model.predict_on_batch(x), whole)
        tail = model.predict(x[1500:], batch_size=1000, verbose=0)
        np.testing.assert_array_equal(tail, whole[1500:])
    finally:
        fastnn.set_num_threads(previous)


def test_fast_path_returns_a_new_array_and_leaves_x_alone(rng):
    model = build()
    x = rng.standard_normal((3, 37)).astype(np.float32)
    before = x.copy()
    out = model.predict(x, verbose=0)
    assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("rows,row,col", [(1, 0, 0), (1, 0, 36), (50, 49, 36), (50, 17, 5)])
def test_nan_or_inf_anywhere_raises_and_names_it(rng, rows, row, col, bad):
    model = build()
    x = rng.standard_normal((rows, 37)).astype(np.float32)
    x[row, col] = bad
    what = "NaN" if np.isnan(bad) else "Inf"
    with pytest.raises(ValueError, match=rf"x contains {what} at row {row}, column {col}"):
        model.predict(x, verbose=0)
    x[row, col] = 0.0
    assert np.all(np.isfinite(model.predict(x, verbose=0)))


def _non_finite(kind):
    bits = {"nan": 0x7FC00000, "-nan": 0xFFC00000, "snan": 0x7F800001, "inf": 0x7F800000}
    if kind == "-inf":
        return np.float32(-np.inf)
    return np.array(bits[kind], np.uint32).view(np.float32)


# Flat positions in every part of the AVX2 check: the vector body (32 floats
# a step), the 8-float steps after it, the scalar tail; and at 9,000 rows
# (333,000 floats: 11 chunks of 32,768, checked on 2 threads as chunks 0-5 and
# 6-10) both ends of each thread's share (196,607 | 196,608) and positions
# inside them. (test_all_finite_kernel below sweeps every length and offset.)
@pytest.mark.parametrize(
    "rows,positions",
    [
        (1, [0, 7, 31, 32, 36]),  # 37 floats: body, tail
        (2, [0, 63, 64, 71, 72, 73]),  # 74: body, one 8-step, tail
        (3, [0, 95, 96, 103, 104, 110]),  # 111
        (9000, [0, 32767, 32768, 163839, 163840, 196607, 196608, 332967, 332999]),
    ],
)
@pytest.mark.parametrize("kind", ["nan", "-nan", "snan", "inf", "-inf"])
def test_non_finite_found_at_every_position_of_the_check(isa, threads, rng, rows, positions, kind):
    model = build()
    x = rng.standard_normal((rows, 37)).astype(np.float32)
    what = "Inf" if "inf" in kind else "NaN"
    for nt in (1, 2):
        fastnn.set_num_threads(nt)
        for p in positions:
            x.flat[p] = _non_finite(kind)
            with pytest.raises(
                ValueError, match=rf"x contains {what} at row {p // 37}, column {p % 37}$"
            ):
                model.predict(x, verbose=0)
            x.flat[p] = 0.0
    assert np.isfinite(model.predict(x, verbose=0)).all()


def test_extreme_finite_values_pass_the_check_everywhere(isa, threads):
    # a check that refused finite data would raise (RuntimeError: internal
    # error) once the binding's own scan found no culprit
    model = build()
    tiny = np.array(1, np.uint32).view(np.float32)  # the smallest subnormal
    values = np.array([np.finfo(np.float32).max, -np.finfo(np.float32).max, tiny, -0.0], np.float32)
    x = np.resize(values, (9000, 37))  # every part of the check, threads included
    for nt in (1, 2):
        fastnn.set_num_threads(nt)
        assert model.predict(x, verbose=0).shape == (9000, 7)
        assert _core.ops._all_finite(x.ravel(), 0, x.size)


@pytest.mark.parametrize("offset", range(8))
def test_all_finite_kernel_every_length_and_offset(isa, offset):
    # NaN on both sides of the range: the check must read exactly n floats
    buf = np.full(offset + 260 + 8, np.nan, np.float32)
    for n in list(range(0, 140)) + [255, 256, 257, 260]:
        buf[offset : offset + n] = 1.5
        assert _core.ops._all_finite(buf, offset, n), n
        for p in range(n):
            buf[offset + p] = _non_finite("inf" if p % 2 else "nan")
            assert not _core.ops._all_finite(buf, offset, n), (n, p)
            buf[offset + p] = 1.5
        buf[offset : offset + n] = np.nan


@pytest.mark.parametrize("n", [7 * 32768, 7 * 32768 + 1, 8 * 32768, 333000])
@pytest.mark.parametrize("kind", ["nan", "-nan", "snan", "inf", "-inf"])
def test_all_finite_threaded_split(isa, threads, n, kind):
    buf = np.full(n + 2, np.nan, np.float32)  # NaN just past each end
    x = buf[1:-1]
    x[:] = 0.25
    edges = sorted({0, n - 1} | {c * 32768 + d for c in range(1, n // 32768 + 1) for d in (-1, 0)})
    for nt in (1, 2):
        fastnn.set_num_threads(nt)
        assert _core.ops._all_finite(buf, 1, n)
        for p in [e for e in edges if 0 <= e < n]:
            x[p] = _non_finite(kind)
            assert not _core.ops._all_finite(buf, 1, n), (nt, p)
            x[p] = 0.25


def test_largest_finite_values_are_accepted():
    model = build()
    x = np.full((2, 37), np.finfo(np.float32).max, np.float32)
    x[1] = -np.finfo(np.float32).tiny
    out = model.predict(x, verbose=0)
    assert out.shape == (2, 7)


@pytest.mark.parametrize(
    "x,error,match",
    [
        (np.zeros((4, 36), np.float32), ValueError, r"\(n, 36\) but the model takes \(n, 37\)"),
        (np.zeros((4, 1, 37), np.float32), ValueError, r"add a Flatten layer or reshape"),
        (
            np.zeros(37, np.float32),
            ValueError,
            r"x has shape \(37,\), no batch axis, but the model takes \(n, 37\): one sample "
            r"needs a batch axis, x\[None\]",
        ),
        (np.zeros(5, np.float32), ValueError, r"x has shape \(5,\), no batch axis, but the model"),
        (np.zeros((4, 37), np.complex64), TypeError, r"real numbers"),
    ],
)
def test_bad_x_raises(x, error, match):
    model = build()
    with pytest.raises(error, match=match):
        model.predict(x, verbose=0)


def test_one_image_without_a_batch_axis_is_named_with_its_shape():
    model = models.Sequential([layers.Input(shape=(4, 3)), layers.Flatten(), layers.Dense(2)])
    with pytest.raises(
        ValueError,
        match=r"^x has shape \(4, 3\), no batch axis, but the model takes \(n, 4, 3\): one "
        r"sample needs a batch axis",
    ):
        model.predict(np.zeros((4, 3), np.float32), verbose=0)
    assert model.predict(np.zeros((1, 4, 3), np.float32), verbose=0).shape == (1, 2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"verbose": "0"}, r"`verbose` must be"),
        ({"verbose": 0.5}, r"`verbose` must be"),
        ({"batch_size": 0}, r"`batch_size` must be an integer >= 1"),
        ({"batch_size": 2.0}, r"`batch_size` must be an integer >= 1"),
        ({"steps": 0}, r"`steps` must be an integer >= 1"),
    ],
)
def test_bad_arguments_raise(rng, kwargs, match):
    model = build()
    with pytest.raises(ValueError, match=match):
        model.predict(rng.standard_normal((2, 37)).astype(np.float32), **kwargs)


@pytest.mark.parametrize("verbose", [None, 0.0, np.float32(0.0), False])
def test_silent_verbose_values_keras_takes_keep_the_fast_path_bits(rng, verbose, capsys):
    model = build()
    x = rng.standard_normal((5, 37)).astype(np.float32)
    want = model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=verbose), want)
    assert capsys.readouterr().out == ""
