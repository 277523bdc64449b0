"""sgemm beyond the seed network: fastnn.ops.matmul vs numpy.matmul (OpenBLAS)
over a sweep of shapes a user's MLP meets (widths 10-784, batches 32-1000,
widths that are not multiples of 16), each as X*W, dY*W^T and X^T*dY.

Timed like the gemm section (alternating batches, medians); run with
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/compare.py --only shapes``.
"""

from __future__ import annotations

import numpy as np
from compare_gemm import operands

import fastnn

from compare import paired_medians, row

# (m, n, k) of C = op(A) op(B): batch x width x fan-in.
SHAPES = [
    (32, 128, 784), (60, 128, 784), (64, 100, 784), (100, 100, 784), (128, 64, 784),
    (128, 32, 784), (128, 300, 784), (256, 256, 784), (128, 784, 128), (128, 784, 100),
    (64, 512, 512), (500, 500, 500), (128, 200, 200), (200, 50, 300), (1000, 100, 50),
    (128, 10, 256), (256, 10, 64), (128, 13, 128), (128, 16, 128), (128, 20, 128),
    (128, 24, 128), (128, 128, 1),
]  # fmt: skip
FORMS = [("X*W", False, False), ("dY*W^T", False, True), ("X^T*dY", True, False)]


def run(args) -> list:
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(1)
    shapes = SHAPES[::4] if args.quick else SHAPES
    rows = []
    for threads in args.thread_counts:
        fastnn.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api="blas"):
            for m, n, k in shapes:
                for form, ta, tb in FORMS:
                    a, b = operands(rng, m, n, k, ta, tb)
                    out = np.empty((m, n), np.float32)
                    np_out = np.empty((m, n), np.float32)
                    a_op = a.T if ta else a
                    b_op = b.T if tb else b
                    t_fast, t_np = paired_medians(
                        lambda a=a, b=b, ta=ta, tb=tb, out=out: fastnn.ops.matmul(
                            a, b, ta, tb, out=out
                        ),
                        lambda a_op=a_op, b_op=b_op, o=np_out: np.matmul(a_op, b_op, out=o),
                        args.repeats,
                        min_time=0.02,
                    )
                    gflops = 2 * m * n * k / t_fast / 1e9
                    rows.append(
                        row(
                            f"{form} {m}x{n}x{k}",
                            threads,
                            t_fast,
                            "numpy.matmul",
                            t_np,
                            f"{gflops:.1f} GFLOP/s",
                        )
                    )
    return rows
