"""Seconds per epoch of `fit` on Fashion-MNIST, the seed network, vs peers.

fastnn `fit` (verbose=0 and verbose=1) against a hand-written PyTorch loop over
pre-made float32 tensors (Adam(fused=True), its fastest CPU mode), Keras 3
`fit` (torch backend) and scikit-learn's MLPClassifier (one `partial_fit` is
one epoch). Same data, network, batch 128, threads set equal for all.

A last row per thread count is the epoch's floor: its matrix products alone
(forward, weight gradients, input gradients of all but the first layer) at
the machine's sgemm peak, measured in the same process as the faster of
numpy's and fastnn's 2048^3 products at the same thread count. An
implementation that does these products densely cannot beat it, so t_peer /
floor bounds the ratio it can reach. (fastnn's first-layer weight gradient
skips pixel panels that are zero across the batch rows, 0.75 of that
product's steps kept on Fashion-MNIST, AVX-512 tiles: its own floor is about
a tenth lower.)
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import time
import warnings

import numpy as np

import fastnn

from compare import format_time

BATCH = 128


def load_data(quick: bool):
    from fastnn.datasets import fashion_mnist

    (x, y), _ = fashion_mnist.load_data()
    x = x.reshape(-1, 784).astype(np.float32) / 255.0
    y = y.astype(np.int64)
    if quick:
        x, y = x[:6000], y[:6000]
    return x, y


def median_epoch(run_epoch, epochs: int) -> float:
    run_epoch()  # warm-up epoch (allocations, thread pools, JIT of peers)
    samples = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        run_epoch()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def alternated_medians(run_a, run_b, epochs: int) -> tuple:
    """Median epochs of two runs timed alternately (a, b, a, b, ...) after a
    warm-up epoch of each: a shared machine's slow spells then fall on both,
    where timing all of a before all of b put one spell on one side (session
    19: the progress bar's cost read +21 % one run, -6 % the next)."""
    run_a()
    run_b()
    samples_a, samples_b = [], []
    for _ in range(epochs):
        for run, samples in ((run_a, samples_a), (run_b, samples_b)):
            t0 = time.perf_counter()
            run()
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples_a), statistics.median(samples_b)


def seed_layers(layers):
    """The seed network in a Keras-like `layers` module (fastnn's or Keras's)."""
    return [
        layers.Input(shape=(784,)),
        layers.Dense(128, activation="relu"),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]


def compiled(model, optimizers):
    model.compile(
        optimizer=optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def fastnn_epoch(x, y, verbose: int, make_layers=seed_layers):
    model = compiled(fastnn.Sequential(make_layers(fastnn.layers)), fastnn.optimizers)

    def run():
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=verbose)

    return run


def torch_loop_epoch(model, x, y):
    """One epoch of a hand-written PyTorch loop over pre-made float32 tensors
    (a reshuffled order each epoch, Adam(fused=True), cross-entropy)."""
    import torch

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()

    def run():
        model.train()
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), BATCH):
            idx = order[start : start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return run


def torch_epoch(x, y, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    return torch_loop_epoch(model, x, y)


def keras_epoch(x, y, threads: int, make_layers=seed_layers):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    torch.set_num_threads(threads)
    model = compiled(keras.Sequential(make_layers(keras.layers)), keras.optimizers)

    def run():
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)

    return run


def sklearn_epoch(x, y):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(128, 128), batch_size=BATCH, learning_rate_init=1e-3)
    classes = np.arange(10)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(x, y, classes=classes)

    return run


def peer_epochs(threads: int, epochs: int, makers: dict) -> dict:
    """Median epoch of each installed peer (name -> maker of its epoch), with
    the BLAS pools of numpy/PyTorch limited to `threads`."""
    from threadpoolctl import threadpool_limits

    peers = {}
    with threadpool_limits(limits=threads):
        for name, make in makers.items():
            with contextlib.suppress(ImportError):
                peers[name] = median_epoch(make(), epochs)
    return peers


def fit_rows(case: str, threads: int, t_fast: float, peers: dict, work: str) -> list:
    """One table row per peer: fastnn's epoch against the peer's."""
    return [
        {
            "case": case,
            "threads": threads,
            "fastnn": format_time(t_fast),
            "peer": peer,
            "peer time": format_time(t_peer),
            "ratio": f"{t_peer / t_fast:.2f}x",
            "work": work,
        }
        for peer, t_peer in peers.items()
    ]


def thread_sweep(args):
    """(x, y, epochs, threads) for each of `args.thread_counts`, fastnn set to
    that many threads: the data set loaded once, epochs per timing."""
    x, y = load_data(args.quick)
    epochs = 2 if args.quick else 3
    for threads in args.thread_counts:
        fastnn.set_num_threads(threads)
        yield x, y, epochs, threads


def epoch_gemm_flops(sizes: list, samples: int) -> float:
    """Flops of one epoch's matrix products for a dense network of widths
    `sizes` (inputs first): forward and weight gradient of every layer, input
    gradient of every layer but the first (its input needs none)."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    per_sample = sum(2 * 2 * n_in * n_out for n_in, n_out in layers)
    per_sample += sum(2 * n_in * n_out for n_in, n_out in layers[1:])
    return float(per_sample) * samples


def sgemm_peak(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """Flop/s of the faster of numpy's and fastnn's n^3 float32 products,
    best of `repeats`, at `threads` threads (fastnn's already set)."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    best = float("inf")
    with threadpool_limits(limits=threads):
        for product in (np.matmul, fastnn.ops.matmul):
            product(a, a)
            for _ in range(repeats):
                t0 = time.perf_counter()
                product(a, a)
                best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best


def floor_row(threads: int, t_fast: float, samples: int, peers: dict) -> dict:
    """The epoch's GEMM-only floor at the measured sgemm peak, fastnn's share
    of it, and the largest ratio over each peer that the floor allows."""
    flops = epoch_gemm_flops([784, 128, 128, 10], samples)
    peak = sgemm_peak(threads)
    floor = flops / peak
    ceilings = ", ".join(f"{name.split()[0]} <= {t / floor:.2f}x" for name, t in peers.items())
    return {
        "case": "fit epoch, 784-128-128-10, batch 128",
        "threads": threads,
        "fastnn": format_time(t_fast),
        "peer": "floor: dense GEMM flops at sgemm peak",
        "peer time": format_time(floor),
        "ratio": f"{floor / t_fast:.2f}x",
        "work": f"{flops / 1e9:.1f} GFLOP at {peak / 1e9:.0f} GFLOP/s; ratio ceilings: {ceilings}",
    }


def run(args) -> list:
    rows = []
    for x, y, epochs, threads in thread_sweep(args):
        t_fast, t_fast_bar = alternated_medians(
            fastnn_epoch(x, y, 0), fastnn_epoch(x, y, 1), 2 * epochs + 1
        )
        makers = {
            "PyTorch loop, Adam(fused=True)": lambda: torch_epoch(x, y, threads),
            "Keras 3 fit (torch backend)": lambda: keras_epoch(x, y, threads),
            "sklearn MLPClassifier": lambda: sklearn_epoch(x, y),
        }
        peers = peer_epochs(threads, epochs, makers)
        bar_cost = t_fast_bar / t_fast - 1
        work = f"{len(x)} samples; verbose=1: {format_time(t_fast_bar)} ({bar_cost:+.1%})"
        rows += fit_rows("fit epoch, 784-128-128-10, batch 128", threads, t_fast, peers, work)
        rows.append(floor_row(threads, t_fast, len(x), peers))
    return rows
