"""Thread scaling: sgemm 2048 GFLOP/s and seed-network fit epoch time for
1, 2, 4, ... threads (up to the machine's cores), fastnn beside numpy/PyTorch.

    python bench/scaling.py [--max-threads 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

# the seed network's fastnn fit epoch and PyTorch loop epoch, as compare.py times them
from compare_fit import fastnn_epoch, torch_epoch

import fastnn


def median_time(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    counts = [t for t in (1, 2, 4, 8, 16, 32) if t <= args.max_threads]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.standard_normal((2048, 2048), dtype=np.float32)
    flop = 2 * 2048**3
    x = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    try:
        import torch
    except ImportError:
        torch = None
    print(
        "| threads | fastnn sgemm 2048 GFLOP/s | numpy GFLOP/s | fastnn fit epoch | "
        "PyTorch loop epoch | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for t in counts:
        fastnn.set_num_threads(t)
        t_fast = median_time(lambda: fastnn.ops.matmul(a, b))
        with threadpool_limits(limits=t):
            t_np = median_time(lambda: a @ b)
        fastnn.utils.set_random_seed(0)
        t_fit = median_time(fastnn_epoch(x, y, 0), repeats=3)
        t_torch = float("nan")
        if torch is not None:
            torch.set_num_threads(t)
            t_torch = median_time(torch_epoch(x, y, t), repeats=3)
        print(
            f"| {t} | {flop / t_fast / 1e9:.1f} | {flop / t_np / 1e9:.1f} | {t_fit:.3f} s | "
            f"{t_torch:.3f} s | {t_torch / t_fit:.2f}x |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
