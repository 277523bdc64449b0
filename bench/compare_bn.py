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

from compare_fit import (
    fastnn_epoch,
    fit_rows,
    keras_epoch,
    median_epoch,
    peer_epochs,
    thread_sweep,
    torch_loop_epoch,
)

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


def torch_bn_epoch(x, y, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
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
    return torch_loop_epoch(model, x, y)


def variant_rows(args, case: str, what: str, make_layers, torch_epoch, torch_name: str) -> list:
    """Rows of fastnn's epoch with `make_layers` (a Keras-like `layers`
    module -> the layer list) against the PyTorch loop `torch_epoch(x, y,
    threads)` and Keras 3 `fit` of the same layers; the `work` column gives
    what `what` costs fastnn against the plain seed network."""
    rows = []
    for x, y, epochs, threads in thread_sweep(args):
        t_variant = median_epoch(fastnn_epoch(x, y, 0, make_layers), epochs)
        t_plain = median_epoch(fastnn_epoch(x, y, 0), epochs)
        makers = {
            torch_name: lambda: torch_epoch(x, y, threads),
            "Keras 3 fit (torch backend)": lambda: keras_epoch(x, y, threads, make_layers),
        }
        peers = peer_epochs(threads, epochs, makers)
        work = (
            f"{len(x)} samples; without {what} {format_time(t_plain)} "
            f"({what} costs {t_variant / t_plain - 1:+.1%})"
        )
        rows += fit_rows(case, threads, t_variant, peers, work)
    return rows


def run(args) -> list:
    return variant_rows(
        args,
        "fit epoch, 784-128(BN)-128(BN)-10, batch 128",
        "BatchNormalization",
        layers_with_bn,
        torch_bn_epoch,
        "PyTorch loop, BatchNorm1d, Adam(fused=True)",
    )
