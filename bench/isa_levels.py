"""GEMM GFLOP/s on one thread for each of fastnn's x86 kernel levels (avx2,
avx512) beside numpy, in one process, switching the level between timings.

    python bench/isa_levels.py

On Zen 4 (512-bit FMAs double-pumped) the two levels run at about the same
peak; on an Intel core with two 512-bit FMA units the avx512 level has twice
avx2's.
"""

from __future__ import annotations

import statistics

import numpy as np
from threadpoolctl import threadpool_limits

import fastnn
from fastnn import _core

from compare import median_seconds

SHAPES = [
    (2048, 2048, 2048),
    (1024, 1024, 1024),
    (128, 784, 128),
    (1024, 784, 128),
    (128, 128, 128),
    (128, 128, 784),
]


def main() -> None:
    fastnn.set_num_threads(1)
    rng = np.random.default_rng(0)
    available = fastnn.runtime_info()["isa_available"]
    levels = [level for level in ("avx2", "avx512") if level in available]
    active = fastnn.runtime_info()["isa"]
    print("| m×k×n | numpy GFLOP/s | " + " | ".join(f"fastnn {lv}" for lv in levels) + " |")
    print("|---|---|" + "---|" * len(levels))
    try:
        with threadpool_limits(limits=1):
            for m, k, n in SHAPES:
                a = rng.standard_normal((m, k), dtype=np.float32)
                b = rng.standard_normal((k, n), dtype=np.float32)
                gflop = 2 * m * k * n / 1e9
                rates: dict[str, list[float]] = {"numpy": []}
                for _ in range(3):  # rounds, each level in turn
                    rates["numpy"].append(gflop / median_seconds(lambda: a @ b, 5))
                    for level in levels:
                        _core.set_isa(level)
                        t = median_seconds(lambda: fastnn.ops.matmul(a, b), 5)
                        rates.setdefault(level, []).append(gflop / t)
                cells = [f"{statistics.median(rates[name]):.1f}" for name in ["numpy", *levels]]
                print(f"| {m}×{k}×{n} | " + " | ".join(cells) + " |")
    finally:
        _core.set_isa(active)


if __name__ == "__main__":
    main()
