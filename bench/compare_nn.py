"""Network engine: one training step (forward + loss + backward, no optimizer)
of 784-128(relu)-128(relu)-10(softmax) with sparse categorical cross-entropy,
fastnn vs PyTorch (same threads, zero_grad(set_to_none=True)) and vs a
hand-written NumPy implementation (its BLAS limited to the same threads with
threadpoolctl); and predict latency at batch 1 vs PyTorch under
inference_mode. The step is also timed with other hidden activations
(tanh, sigmoid, gelu, silu) against the same torch network.
"""

from __future__ import annotations

import numpy as np

import fastnn
from fastnn import layers, models, optimizers

from compare import median_seconds, paired_medians, row

WIDTHS = (784, 128, 128, 10)


def step_flops(batch: int) -> float:
    """Multiply-adds x 2 of the three GEMMs per layer (forward, dW, dX; no dX
    for the first layer)."""
    total = 0.0
    for i, (a, b) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:])):
        total += 2 * batch * a * b * (3 if i > 0 else 2)
    return total


# Hidden activations of the extra rows: fastnn name -> torch module factory
# (torch's GELU with approximate="tanh" is Keras's default gelu).
OTHER_ACTIVATIONS = ("tanh", "sigmoid", "gelu", "silu")


def torch_activation(torch, name: str):
    return {
        "relu": torch.nn.ReLU,
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
        "gelu": lambda: torch.nn.GELU(approximate="tanh"),
        "silu": torch.nn.SiLU,
    }[name]()


def torch_model(torch, activation: str = "relu"):
    return torch.nn.Sequential(
        torch.nn.Linear(WIDTHS[0], WIDTHS[1]),
        torch_activation(torch, activation),
        torch.nn.Linear(WIDTHS[1], WIDTHS[2]),
        torch_activation(torch, activation),
        torch.nn.Linear(WIDTHS[2], WIDTHS[3]),
    )


def fastnn_model(activation: str = "relu"):
    model = models.Sequential(
        [
            layers.Input(shape=(WIDTHS[0],)),
            layers.Dense(WIDTHS[1], activation=activation),
            layers.Dense(WIDTHS[2], activation=activation),
            layers.Dense(WIDTHS[3], activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    return model


class NumpyMLP:
    """The same step written with numpy matmul and elementwise ops (float32)."""

    def __init__(self, weights):
        self.w = [w.copy() for w in weights]

    def step(self, x, y):
        w1, b1, w2, b2, w3, b3 = self.w
        z1 = x @ w1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2 + b2
        h2 = np.maximum(z2, 0)
        z3 = h2 @ w3 + b3
        z3 -= z3.max(axis=1, keepdims=True)
        e = np.exp(z3)
        p = e / e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        loss = -np.log(p[np.arange(n), y]).mean()
        d3 = p
        d3[np.arange(n), y] -= 1
        d3 /= n
        g = [None] * 6
        g[4] = h2.T @ d3
        g[5] = d3.sum(0)
        d2 = (d3 @ w3.T) * (z2 > 0)
        g[2] = h1.T @ d2
        g[3] = d2.sum(0)
        d1 = (d2 @ w2.T) * (z1 > 0)
        g[0] = x.T @ d1
        g[1] = d1.sum(0)
        return loss, g


def run(args) -> list:
    rows = []
    rng = np.random.default_rng(0)
    batches = [32, 128, 1024] if not args.quick else [32, 128]
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional
        torch = None
    model = fastnn_model()
    net = model._net
    npm = NumpyMLP(model.get_weights())
    if torch is not None:
        tmodel = torch_model(torch)
        loss_fn = torch.nn.CrossEntropyLoss()
    from threadpoolctl import threadpool_limits

    for threads in args.thread_counts:
        fastnn.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        limits = threadpool_limits(limits=threads, user_api="blas")
        for batch in batches:
            x = rng.standard_normal((batch, WIDTHS[0])).astype(np.float32)
            y = rng.integers(0, WIDTHS[-1], batch).astype(np.int32)

            def fast_step(x=x, y=y):
                net.train_batch(x, y, None, check_finite=False)

            if torch is not None:
                xt = torch.from_numpy(x)
                yt = torch.from_numpy(y.astype(np.int64))

                def torch_step(xt=xt, yt=yt):
                    tmodel.zero_grad(set_to_none=True)
                    loss_fn(tmodel(xt), yt).backward()

                t_fast, t_torch = paired_medians(fast_step, torch_step, args.repeats)
                work = f"{step_flops(batch) / t_fast / 1e9:.1f} GFLOP/s"
                rows.append(row(f"train step b={batch}", threads, t_fast, "torch", t_torch, work))
            t_fast, t_np = paired_medians(fast_step, lambda x=x, y=y: npm.step(x, y), args.repeats)
            work = f"{step_flops(batch) / t_fast / 1e9:.1f} GFLOP/s"
            rows.append(row(f"train step b={batch}", threads, t_fast, "numpy", t_np, work))
        x1 = rng.standard_normal((1, WIDTHS[0])).astype(np.float32)
        t_pred = median_seconds(lambda x1=x1: model.predict(x1, verbose=0), args.repeats)
        t_raw = median_seconds(lambda x1=x1: net.predict(x1, 1, False), args.repeats)
        if torch is not None:
            x1t = torch.from_numpy(x1)

            def torch_predict(x1t=x1t):
                with torch.inference_mode():
                    return torch.softmax(tmodel(x1t), -1).numpy()

            t_tp = median_seconds(torch_predict, args.repeats)
            rows.append(row("predict b=1 (model.predict)", threads, t_pred, "torch", t_tp))
            rows.append(row("predict b=1 (engine call)", threads, t_raw, "torch", t_tp))
            rows += other_activations(args, torch, rng, threads)
        limits.restore_original_limits()
    return rows


def other_activations(args, torch, rng, threads: int) -> list:
    """The batch-128 step with other hidden activations, fastnn vs torch."""
    rows = []
    batch = 128
    x = rng.standard_normal((batch, WIDTHS[0])).astype(np.float32)
    y = rng.integers(0, WIDTHS[-1], batch).astype(np.int32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    loss_fn = torch.nn.CrossEntropyLoss()
    for name in OTHER_ACTIVATIONS:
        net = fastnn_model(name)._net
        tmodel = torch_model(torch, name)

        def fast_step(net=net):
            net.train_batch(x, y, None, check_finite=False)

        def torch_step(tmodel=tmodel):
            tmodel.zero_grad(set_to_none=True)
            loss_fn(tmodel(xt), yt).backward()

        t_fast, t_torch = paired_medians(fast_step, torch_step, args.repeats)
        work = f"{step_flops(batch) / t_fast / 1e9:.1f} GFLOP/s"
        rows.append(row(f"train step b={batch}, {name}", threads, t_fast, "torch", t_torch, work))
    return rows
