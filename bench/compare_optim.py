"""Optimizer steps: fastnn.optimizers vs torch.optim, in the same process.

Each case updates the same parameter list (float32, gradients set once) with
one optimizer step per call: fastnn through ``Optimizer.apply_gradients`` on
NumPy arrays (the Keras-style API, Python overhead included), PyTorch through
``opt.step()`` in its default mode and in its fastest CPU mode (``fused=True``
where PyTorch has it, else ``foreach=True``). Parameter sets: the issue's MLP
784-128-128-10 (118 282 parameters in 6 tensors) and one tensor of 1M and 16M
parameters. The ratio column is torch time / fastnn time (above 1: fastnn
faster).

    python bench/compare.py --only optim
"""

from __future__ import annotations

import numpy as np

import fastnn
from fastnn import optimizers

from compare import paired_medians, row

MLP_SHAPES = [(784, 128), (128,), (128, 128), (128,), (128, 10), (10,)]


def _param_sets(quick: bool):
    sets = [("mlp 784-128-128-10", MLP_SHAPES), ("1M params", [(1 << 20,)])]
    if not quick:
        sets.append(("16M params", [(1 << 24,)]))
    return sets


def _cases(torch):
    """(name, fastnn factory, [(torch label, torch factory)]) per optimizer."""
    t = torch.optim
    return [
        (
            "Adam",
            lambda: optimizers.Adam(learning_rate=1e-3),
            [
                ("torch Adam(fused=True)", lambda p: t.Adam(p, lr=1e-3, fused=True)),
                ("torch Adam (default)", lambda p: t.Adam(p, lr=1e-3)),
            ],
        ),
        (
            "AdamW",
            lambda: optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01),
            [("torch AdamW(fused=True)", lambda p: t.AdamW(p, lr=1e-3, fused=True))],
        ),
        (
            "RMSprop",
            lambda: optimizers.RMSprop(learning_rate=1e-3),
            [
                ("torch RMSprop(foreach=True)", lambda p: t.RMSprop(p, lr=1e-3, foreach=True)),
                ("torch RMSprop (default)", lambda p: t.RMSprop(p, lr=1e-3)),
            ],
        ),
        (
            "SGD momentum=0.9",
            lambda: optimizers.SGD(learning_rate=1e-2, momentum=0.9),
            [
                ("torch SGD(fused=True)", lambda p: t.SGD(p, lr=1e-2, momentum=0.9, fused=True)),
                (
                    "torch SGD(foreach=True)",
                    lambda p: t.SGD(p, lr=1e-2, momentum=0.9, foreach=True),
                ),
            ],
        ),
    ]


def run(args) -> list:
    try:
        import torch
    except ImportError:
        print("compare_optim: torch not installed, section skipped")
        return []
    rows = []
    rng = np.random.default_rng(0)
    for set_name, shapes in _param_sets(args.quick):
        n = sum(int(np.prod(s)) for s in shapes)
        init = [rng.standard_normal(s).astype(np.float32) * 0.1 for s in shapes]
        grads = [rng.standard_normal(s).astype(np.float32) * 0.1 for s in shapes]
        for name, make_fastnn, peers in _cases(torch):
            for threads in args.thread_counts:
                fastnn.set_num_threads(threads)
                torch.set_num_threads(threads)
                variables = [w.copy() for w in init]
                opt = make_fastnn()
                pairs = list(zip(grads, variables))
                for label, make_torch in peers:
                    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in init]
                    for p, g in zip(params, grads):
                        p.grad = torch.from_numpy(g.copy())
                    topt = make_torch(params)
                    t_fast, t_peer = paired_medians(
                        lambda o=opt, p=pairs: o.apply_gradients(p), topt.step, args.repeats
                    )
                    gbs = 28 * n / t_fast / 1e9 if name.startswith("Adam") else None
                    rows.append(
                        row(
                            f"{name}, {set_name}",
                            threads,
                            t_fast,
                            label,
                            t_peer,
                            f"{gbs:.1f} GB/s" if gbs else f"{n} params",
                        )
                    )
    return rows
