"""Resident memory stays flat over many calls and model builds, and data of
more than 2^31 elements is indexed with 64-bit offsets.

RSS is read from /proc/self/statm (Linux), after a warm-up that lets the
allocators and workspaces reach their steady size, and after gc.collect() and
malloc_trim(0) (freed memory returned to the system, so a leak is what stays).
"""

from __future__ import annotations

import ctypes
import gc
import mmap
import os
import sys

import numpy as np
import pytest

from fastnn import initializers, layers, models, optimizers

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/self/statm"
)

LIMIT_MIB = 5.0


def _rss_mib():
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture
def report(request):
    """Writes a line to the terminal, outside output capture."""
    lines = []
    yield lines.append
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            for line in lines:
                reporter.write_line(f"\n{request.node.name}: {line}")


def _model(seed=0, dropout=True):
    stack = [
        layers.Input(shape=(20,)),
        layers.Dense(32, activation="relu", kernel_initializer=initializers.GlorotUniform(seed)),
    ]
    if dropout:
        stack.append(layers.Dropout(0.2, seed=seed))
    stack.append(layers.Dense(5, activation="softmax"))
    model = models.Sequential(stack)
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_the_meter_sees_a_deliberate_8_mib_leak():
    before = _rss_mib()
    # 8 MiB written to fresh pages: an anonymous map of its own (np.ones(1 << 20)
    # comes from the heap once glibc's mmap threshold has risen above 8 MiB,
    # which freed arrays of earlier tests can do, and may reuse resident pages)
    kept = mmap.mmap(-1, 8 << 20)
    for offset in range(0, 8 << 20, mmap.PAGESIZE):  # one byte a page: no 8 MiB temporary
        kept[offset] = 1
    grown = _rss_mib() - before
    assert 7.5 < grown < 9.5 + LIMIT_MIB, grown
    del kept


def _rss_growth(call, warm_up, calls):
    """RSS growth (MiB) over `calls` calls of call(i), after `warm_up` calls
    that let allocators and workspaces reach their steady size."""
    for i in range(warm_up):
        call(i)
    before = _rss_mib()
    for i in range(calls):
        call(warm_up + i)
    return _rss_mib() - before


def test_thousand_train_and_predict_calls_keep_rss_flat(rng, report):
    model = _model()
    x = rng.standard_normal((64, 20))  # float64: converted on every call
    y = rng.integers(0, 5, 64)
    sw = rng.uniform(0.5, 1.5, 64)
    x_odd = np.asfortranarray(x[:37])

    def round_trip(_):
        model.train_on_batch(x, y, sample_weight=sw)
        model.predict(x_odd, batch_size=16)

    growth = _rss_growth(round_trip, 100, 1000)
    report(f"RSS growth over 1000 train_on_batch + 1000 predict calls: {growth:+.2f} MiB")
    assert growth < LIMIT_MIB


def test_thousand_fit_and_predict_calls_keep_rss_flat(rng, report):
    """fit's own path (data handle, shuffled epoch in C++, History, callbacks)
    and predict, 1,000 calls each."""
    model = _model()
    x = rng.standard_normal((48, 20)).astype(np.float32)
    y = rng.integers(0, 5, 48)
    x_val, y_val = x[:9], y[:9]

    def round_trip(_):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(x_val, y_val))
        model.predict(x[:13], batch_size=8, verbose=0)

    growth = _rss_growth(round_trip, 100, 1000)
    report(f"RSS growth over 1000 fit + 1000 predict calls: {growth:+.2f} MiB")
    assert growth < LIMIT_MIB


def test_fifty_model_builds_and_deletions_keep_rss_flat(rng, report):
    x = rng.standard_normal((32, 20)).astype(np.float32)
    y = rng.integers(0, 5, 32)

    def build_use_delete(seed):
        model = _model(seed)
        model.train_on_batch(x, y)
        model.predict(x)
        weights = model.get_weights()
        del model
        return weights

    growth = _rss_growth(build_use_delete, 5, 50)
    report(f"RSS growth over 50 model builds and deletions: {growth:+.2f} MiB")
    assert growth < LIMIT_MIB


def test_a_deleted_model_frees_its_buffers(report):
    """A model with a 64 MiB parameter buffer returns it when deleted, also
    when views of its weights were handed out and dropped."""
    before = _rss_mib()
    model = models.Sequential([layers.Input(shape=(4096,)), layers.Dense(4096)])
    views = model.weights
    held = _rss_mib() - before
    del model, views
    freed = held - (_rss_mib() - before)
    report(f"4096x4096 Dense: {held:.1f} MiB while alive, {freed:.1f} MiB freed on deletion")
    assert held > 60 and freed > 60


# More than 2^31 elements: a float32 x of (2^31 / 64 + 1000, 64) is 8.6 GB of
# address space, but np.zeros maps it lazily and reading untouched pages maps
# the shared zero page, so it costs only the rows written (RSS stays small).
# Rows past element 2^31 hold values whose outputs are checked.

_COLS = 64
_ROWS = (1 << 31) // _COLS + 1000


def _big_x():
    try:
        x = np.zeros((_ROWS, _COLS), np.float32)
    except MemoryError:
        pytest.skip("cannot map 8.6 GB of address space")
    marked = {
        0: 1.0,
        (1 << 31) // _COLS - 1: 2.0,  # last row below element 2^31
        (1 << 31) // _COLS: -3.0,  # first row at element 2^31
        _ROWS - 1: 0.5,
    }
    for r, v in marked.items():
        x[r] = v * (1 + np.arange(_COLS, dtype=np.float32) / _COLS)
    return x, marked


def _linear_model():
    model = models.Sequential(
        [
            layers.Input(shape=(_COLS,)),
            layers.Dense(
                2,
                kernel_initializer=initializers.RandomUniform(-1, 1, seed=7),
                bias_initializer=initializers.RandomUniform(-1, 1, seed=8),
            ),
        ]
    )
    model.compile(optimizer=optimizers.SGD(learning_rate=1.0), loss="mean_squared_error")
    return model


@pytest.mark.slow
def test_predict_on_more_than_2_31_elements(report):
    x, marked = _big_x()
    model = _linear_model()
    w, b = (v.astype(np.float64) for v in model.get_weights())
    before = _rss_mib()
    out = model.predict(x, batch_size=1 << 16)
    report(
        f"predict on {x.size} elements ({x.nbytes / 2**30:.1f} GiB mapped): "
        f"RSS {_rss_mib() - before:+.0f} MiB"
    )
    assert out.shape == (_ROWS, 2)
    for r in marked:
        np.testing.assert_allclose(out[r], x[r].astype(np.float64) @ w + b, rtol=1e-5, atol=1e-5)
    zero_rows = [1, (1 << 31) // _COLS + 1, _ROWS - 2]
    np.testing.assert_allclose(out[zero_rows], np.broadcast_to(b, (3, 2)), atol=1e-6)


@pytest.mark.slow
def test_train_on_batch_over_more_than_2_31_elements(report):
    """The weight gradient sums x^T d over all rows (K > 2^31 / 64)."""
    x, marked = _big_x()
    model = _linear_model()
    w, b = (v.astype(np.float64) for v in model.get_weights())
    y = np.zeros((_ROWS, 2), np.float32)
    model.train_on_batch(x, y)
    # mse: d = 2 (x w + b) / (rows * 2); only marked rows have x != 0, so the
    # weight gradient x^T d reads rows on both sides of element 2^31
    xs = np.stack([x[r].astype(np.float64) for r in marked])
    d_marked = (xs @ w + b) / _ROWS
    new_w, _ = model.get_weights()
    np.testing.assert_allclose(new_w, w - xs.T @ d_marked, rtol=1e-5, atol=1e-6)
    report(f"train_on_batch on {x.size} elements: kernel gradient ok")


@pytest.mark.slow
def test_fit_over_more_than_2_31_elements(report):
    """fit gathers rows through 64-bit offsets: an epoch in order over all rows
    (batches of 2^16 rows; the rows on both sides of element 2^31 fall in
    different steps) moves the weights exactly as a float64 replay of the same
    SGD steps does."""
    x, marked = _big_x()
    model = _linear_model()
    w, b = (v.astype(np.float64) for v in model.get_weights())
    y = np.zeros((_ROWS, 2), np.float32)
    batch = 1 << 16
    history = model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    # Replay: only marked rows are non-zero; a zero row's output is b, its
    # mse gradient b / rows_in_step, and it adds nothing to the weight gradient.
    rows_marked = sorted(marked)
    for start in range(0, _ROWS, batch):
        stop = min(_ROWS, start + batch)
        here = [r for r in rows_marked if start <= r < stop]
        xs = np.stack([x[r].astype(np.float64) for r in here]) if here else np.zeros((0, _COLS))
        d = (xs @ w + b) / (stop - start)
        grad_b = d.sum(axis=0) + (stop - start - len(here)) * b / (stop - start)
        w, b = w - xs.T @ d, b - grad_b
    new_w, new_b = model.get_weights()
    np.testing.assert_allclose(new_w, w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(new_b, b, rtol=1e-4, atol=1e-6)
    assert model.optimizer.iterations == -(-_ROWS // batch)
    report(f"fit on {x.size} elements, {len(history.history['loss'])} epoch: weights ok")


def test_bias_gradient_of_a_batch_of_2_25_rows():
    rows = 1 << 25  # 128 MiB of zeros, mapped lazily
    x = np.zeros((rows, 1), np.float32)
    model = models.Sequential([layers.Input(shape=(1,)), layers.Dense(1, bias_initializer="ones")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="mean_squared_error")
    model.train_on_batch(x, np.zeros((rows, 1), np.float32))
    # d = 2 * (0 * w + 1) / rows per row; db = 2; b = 1 - 0.5 * 2 = 0
    assert abs(float(model.get_weights()[1][0])) < 1e-4
