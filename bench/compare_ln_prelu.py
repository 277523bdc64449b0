"""Seconds per epoch of `fit` on Fashion-MNIST for the seed network with
LayerNormalization, or PReLU, in its hidden layers, vs peers.

784-128(LN, relu)-128(LN, relu)-10(softmax) and 784-128(PReLU)-128(PReLU)-10
(softmax), Adam 1e-3, batch 128: fastnn `fit` (verbose=0) against a
hand-written PyTorch loop over pre-made float32 tensors (LayerNorm with
Keras's epsilon 1e-3; PReLU with one alpha per feature starting at 0, as
Keras's; Adam(fused=True)) and Keras 3 `fit` (torch backend). The `work`
column gives what the two layers cost fastnn against the plain network.
"""

from __future__ import annotations

from compare_bn import variant_rows
from compare_fit import torch_loop_epoch


def layers_with_ln(layers):
    return [
        layers.Input(shape=(784,)),
        layers.Dense(128),
        layers.LayerNormalization(),
        layers.Activation("relu"),
        layers.Dense(128),
        layers.LayerNormalization(),
        layers.Activation("relu"),
        layers.Dense(10, activation="softmax"),
    ]


def layers_with_prelu(layers):
    return [
        layers.Input(shape=(784,)),
        layers.Dense(128),
        layers.PReLU(),
        layers.Dense(128),
        layers.PReLU(),
        layers.Dense(10, activation="softmax"),
    ]


def torch_epoch(hidden):
    """A PyTorch loop over Linear(784, 128), hidden(), Linear(128, 128),
    hidden(), Linear(128, 10)."""

    def epoch(x, y, threads: int):
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        nn = torch.nn
        model = nn.Sequential(
            nn.Linear(784, 128), *hidden(nn), nn.Linear(128, 128), *hidden(nn), nn.Linear(128, 10)
        )
        return torch_loop_epoch(model, x, y)

    return epoch


def run(args) -> list:
    rows = variant_rows(
        args,
        "fit epoch, 784-128(LN)-128(LN)-10, batch 128",
        "LayerNormalization",
        layers_with_ln,
        torch_epoch(lambda nn: [nn.LayerNorm(128, eps=1e-3), nn.ReLU()]),
        "PyTorch loop, LayerNorm, Adam(fused=True)",
    )
    rows += variant_rows(
        args,
        "fit epoch, 784-128(PReLU)-128(PReLU)-10, batch 128",
        "PReLU",
        layers_with_prelu,
        torch_epoch(lambda nn: [nn.PReLU(128, init=0.0)]),
        "PyTorch loop, PReLU, Adam(fused=True)",
    )
    return rows
