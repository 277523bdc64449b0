"""Threads: the kernels release the GIL, so Python threads really run them at
once. predict from 4 threads on one model, and training one model while
another predicts, give the serial results bit for bit; training one model
from two threads at once must never silently apply the wrong gradients."""

from __future__ import annotations

import threading

import numpy as np

from fastnn import initializers, layers, models, optimizers


def _mlp(seed=1, widths=(64, 96, 10), lr=0.05):
    stack = [layers.Input(shape=(widths[0],))]
    for i, w in enumerate(widths[1:]):
        last = i == len(widths) - 2
        stack.append(
            layers.Dense(
                w,
                activation="softmax" if last else "relu",
                kernel_initializer=initializers.GlorotUniform(seed + i),
                bias_initializer=initializers.RandomUniform(-0.1, 0.1, seed=seed + 50 + i),
            )
        )
    model = models.Sequential(stack)
    model.compile(
        optimizer=optimizers.SGD(learning_rate=lr), loss="sparse_categorical_crossentropy"
    )
    return model


def _run_threads(targets):
    """Starts one thread per callable at the same moment; re-raises the first
    exception a thread raised."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def wrap(fn):
        def run():
            try:
                barrier.wait()
                fn()
            except BaseException as e:  # noqa: BLE001 - handed to the main thread
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def test_predict_from_four_threads_equals_serial(rng):
    model = _mlp()
    xs = [rng.standard_normal((1500 + 37 * i, 64)).astype(np.float32) for i in range(4)]
    batch_sizes = [32, 7, 1500, None]
    serial = [model.predict(x, batch_size=b) for x, b in zip(xs, batch_sizes)]
    results = [[None] * 6 for _ in range(4)]

    def worker(i):
        def run():
            for k in range(6):
                results[i][k] = model.predict(xs[i], batch_size=batch_sizes[i])

        return run

    _run_threads([worker(i) for i in range(4)])
    for i in range(4):
        for k in range(6):
            np.testing.assert_array_equal(results[i][k], serial[i])


def test_train_one_model_while_another_predicts(rng):
    steps = 60
    x_train = rng.standard_normal((steps, 128, 64)).astype(np.float32)
    y_train = rng.integers(0, 10, (steps, 128))
    x_pred = rng.standard_normal((2000, 64)).astype(np.float32)

    # serial references
    ref_trained = _mlp(seed=3)
    ref_losses = [ref_trained.train_on_batch(x, y) for x, y in zip(x_train, y_train)]
    ref_pred = _mlp(seed=7).predict(x_pred)

    trained, predictor = _mlp(seed=3), _mlp(seed=7)
    losses, preds = [], []

    def train():
        for x, y in zip(x_train, y_train):
            losses.append(trained.train_on_batch(x, y))

    def predict():
        for _ in range(25):
            preds.append(predictor.predict(x_pred, batch_size=64))

    _run_threads([train, predict])
    assert losses == ref_losses
    for got, want in zip(trained.get_weights(), ref_trained.get_weights()):
        np.testing.assert_array_equal(got, want)
    for p in preds:
        np.testing.assert_array_equal(p, ref_pred)


def test_predict_on_a_model_another_thread_trains_gives_some_step_s_output(rng):
    """predict during training sees the weights between two steps, never half
    of an update: each output equals the serial output after some step k."""
    steps = 30
    x_train = rng.standard_normal((steps, 64, 64)).astype(np.float32)
    y_train = rng.integers(0, 10, (steps, 64))
    x_pred = rng.standard_normal((50, 64)).astype(np.float32)
    ref = _mlp(seed=5)
    snapshots = [ref.predict(x_pred)]
    for x, y in zip(x_train, y_train):
        ref.train_on_batch(x, y)
        snapshots.append(ref.predict(x_pred))
    model, seen = _mlp(seed=5), []

    def train():
        for x, y in zip(x_train, y_train):
            model.train_on_batch(x, y)

    def predict():
        for _ in range(60):
            seen.append(model.predict(x_pred))

    _run_threads([train, predict])
    for out in seen:
        assert any(np.array_equal(out, s) for s in snapshots), "predict saw a torn update"


# Two threads training the SAME model. Oracle with exact float32 arithmetic:
# one Dense(1) unit without bias, mean absolute error against targets far
# away (|t| = 1e6), so the gradient of a batch is a constant (-sign(t) * x's
# column mean) whatever the weights; with lr = 1/16 and small integer inputs
# every update is exact. Any serialization of whole steps therefore ends at
#     w = lr * (n_a * mean(x_a) - n_b * mean(x_b))
# with n_a, n_b the calls that returned normally (a call may instead raise a
# clear error saying the model is in use).


def _exact_oracle_model():
    model = models.Sequential(
        [
            layers.Input(shape=(256,)),
            layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
        ]
    )
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0625), loss="mean_absolute_error")
    return model


def test_train_on_batch_from_two_threads_on_one_model_is_serialized_or_refused():
    rng = np.random.default_rng(0)
    rows, steps = 1024, 150
    xa = np.repeat(rng.integers(1, 5, (1, 256)).astype(np.float32), rows, axis=0)
    xb = np.repeat(rng.integers(1, 5, (1, 256)).astype(np.float32), rows, axis=0)
    ya = np.full((rows, 1), 1e6, np.float32)
    for _trial in range(12):  # a lost update shows up in most trials
        model = _exact_oracle_model()
        done = {"a": 0, "b": 0}
        refused = []

        def worker(key, x, y, model=model, done=done, refused=refused):
            def run():
                for _ in range(steps):
                    try:
                        model.train_on_batch(x, y)
                        done[key] += 1
                    except RuntimeError as e:
                        assert "thread" in str(e) or "in use" in str(e), e
                        refused.append(e)

            return run

        _run_threads([worker("a", xa, ya), worker("b", xb, -ya)])
        expected = 0.0625 * (done["a"] * xa[0] - done["b"] * xb[0])
        got = model.get_weights()[0][:, 0]
        assert model._net.iterations == done["a"] + done["b"]
        np.testing.assert_array_equal(got, expected)


def test_exact_oracle_holds_serially():
    """The oracle of the two-thread test is exact when the steps run serially."""
    rng = np.random.default_rng(0)
    xa = np.repeat(rng.integers(1, 5, (1, 256)).astype(np.float32), 1024, axis=0)
    xb = np.repeat(rng.integers(1, 5, (1, 256)).astype(np.float32), 1024, axis=0)
    ya = np.full((1024, 1), 1e6, np.float32)
    model = _exact_oracle_model()
    order = rng.permutation([0] * 40 + [1] * 25)
    for k in order:
        model.train_on_batch(*((xa, ya) if k == 0 else (xb, -ya)))
    np.testing.assert_array_equal(model.get_weights()[0][:, 0], 0.0625 * (40 * xa[0] - 25 * xb[0]))
