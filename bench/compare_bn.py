"""Seconds per epoch of `fit` on Fashion-MNIST for the seed network with
BatchNormalization after each hidden Dense, vs peers.

784-128(BN, relu)-128(BN, relu)-10(softmax), Adam 1e-3, batch 128: fastnn
`fit` (verbose=0) against a hand-written PyTorch loop over pre-made float32
tensors (BatchNorm1d with Keras's epsilon 1e-3 and momentum, Adam(fused=True))
and Keras 3 `fit` (torch backend). The `work` column gives what the two
BatchNormalization layers cost fastnn: its epoch against the same network
without them, in the same process.
"""

from __future__ import annotations

import contextlib
import io
import os

from compare_fit import BATCH, fastnn_epoch, load_data, median_epoch

import fastnn

from compare import format_time


def layers_with_bn(layers):
    return [
        layers.Input(shape=(784,)),
        layers.Dense(128),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.Dense(128),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.Dense(10, activation="softmax"),
    ]


def fastnn_bn_epoch(x, y):
    model = fastnn.Sequential(layers_with_bn(fastnn.layers))
    model.compile(
        optimizer=fastnn.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    def run():
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)

    return run


def torch_bn_epoch(x, y, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    nn = torch.nn
    model = nn.Sequential(
        nn.Linear(784, 128),
        nn.BatchNorm1d(128, eps=1e-3, momentum=0.01),  # Keras's momentum 0.99
        nn.ReLU(),
        nn.Linear(128, 128),
        nn.BatchNorm1d(128, eps=1e-3, momentum=0.01),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=True)
    loss_fn = nn.CrossEntropyLoss()

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


def keras_bn_epoch(x, y, threads: int):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    torch.set_num_threads(threads)
    model = keras.Sequential(layers_with_bn(keras.layers))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    def run():
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)

    return run


def run(args) -> list:
    from threadpoolctl import threadpool_limits

    x, y = load_data(args.quick)
    epochs = 2 if args.quick else 3
    rows = []
    for threads in args.thread_counts:
        fastnn.set_num_threads(threads)
        t_bn = median_epoch(fastnn_bn_epoch(x, y), epochs)
        t_plain = median_epoch(fastnn_epoch(x, y, 0), epochs)
        peers = {}
        with threadpool_limits(limits=threads):
            with contextlib.suppress(ImportError):
                peers["PyTorch loop, BatchNorm1d, Adam(fused=True)"] = median_epoch(
                    torch_bn_epoch(x, y, threads), epochs
                )
            with contextlib.suppress(ImportError):
                peers["Keras 3 fit (torch backend)"] = median_epoch(
                    keras_bn_epoch(x, y, threads), epochs
                )
        work = (
            f"{len(x)} samples; without BatchNormalization {format_time(t_plain)} "
            f"(BN costs {t_bn / t_plain - 1:+.1%})"
        )
        for peer, t_peer in peers.items():
            rows.append(
                {
                    "case": "fit epoch, 784-128(BN)-128(BN)-10, batch 128",
                    "threads": threads,
                    "fastnn": format_time(t_bn),
                    "peer": peer,
                    "peer time": format_time(t_peer),
                    "ratio": f"{t_peer / t_bn:.2f}x",
                    "work": work,
                }
            )
    return rows
