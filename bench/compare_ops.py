"""Elementwise kernels: fastnn.ops vs NumPy (and PyTorch when installed)."""

from __future__ import annotations

import numpy as np

import fastnn

from compare import median_seconds, row


def run(args) -> list:
    rows = []
    sizes = [1 << 16, 1 << 22] if not args.quick else [1 << 16]
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.standard_normal(n, dtype=np.float32)
        for threads in args.thread_counts:
            fastnn.set_num_threads(threads)
            t_fast = median_seconds(lambda x=x: fastnn.ops.relu(x), args.repeats)
            t_np = median_seconds(lambda x=x: np.maximum(x, np.float32(0)), args.repeats)
            gbs = 8 * n / t_fast / 1e9
            rows.append(
                row(f"relu n={n}", threads, t_fast, "numpy.maximum", t_np, f"{gbs:.1f} GB/s")
            )
    return rows
