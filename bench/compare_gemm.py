"""sgemm: fastnn.ops.matmul / dense vs numpy.matmul (OpenBLAS), 1 and 2 threads.

The two are timed in alternating batches (fastnn, numpy, numpy, fastnn, ...)
and each side's median batch is reported, so a burst of load from other jobs
on this shared machine hits both sides alike.

NumPy's BLAS is limited with threadpoolctl to the same thread count as
fastnn. OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE at import: run
this with both unset, e.g. ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
python bench/compare.py --only gemm``; the kernel OpenBLAS picked is printed.
"""

from __future__ import annotations

import numpy as np

import fastnn

from compare import paired_medians, row

# (name, m, n, k, transpose_a, transpose_b) for a 784-128-128-10 MLP.
LAYERS = [(784, 128), (128, 128), (128, 10)]


def mlp_cases(batch):
    cases = []
    for fan_in, fan_out in LAYERS:
        tag = f"{fan_in}x{fan_out} b{batch}"
        cases.append((f"X*W {tag}", batch, fan_out, fan_in, False, False))
        cases.append((f"dY*W^T {tag}", batch, fan_in, fan_out, False, True))
        cases.append((f"X^T*dY {tag}", fan_in, fan_out, batch, True, False))
    return cases


def operands(rng, m, n, k, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    return a, b


def run(args) -> list:
    from threadpoolctl import threadpool_info, threadpool_limits

    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    for info in blas:
        print(
            f"numpy BLAS: {info.get('internal_api')} {info.get('version')} "
            f"kernel={info.get('architecture')}"
        )
    rng = np.random.default_rng(0)
    squares = [256, 512, 1024, 2048, 4096] if not args.quick else [256, 1024]
    cases = [(f"square {s}", s, s, s, False, False) for s in squares]
    cases += mlp_cases(128) + mlp_cases(1024)
    rows = []
    for threads in args.thread_counts:
        fastnn.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api="blas"):
            for name, m, n, k, ta, tb in cases:
                a, b = operands(rng, m, n, k, ta, tb)
                out = np.empty((m, n), np.float32)
                np_out = np.empty((m, n), np.float32)
                a_op = a.T if ta else a
                b_op = b.T if tb else b
                reps = args.repeats if m * n * k < 1 << 30 else 5
                t_fast, t_np = paired_medians(
                    lambda a=a, b=b, ta=ta, tb=tb, out=out: fastnn.ops.matmul(
                        a, b, ta, tb, out=out
                    ),
                    lambda a_op=a_op, b_op=b_op, o=np_out: np.matmul(a_op, b_op, out=o),
                    reps,
                    min_time=0.02,
                )
                gflops = 2 * m * n * k / t_fast / 1e9
                rows.append(
                    row(name, threads, t_fast, "numpy.matmul", t_np, f"{gflops:.1f} GFLOP/s")
                )
            for batch in (128, 1024):
                for fan_in, fan_out in LAYERS:
                    x = rng.standard_normal((batch, fan_in), dtype=np.float32)
                    w = rng.standard_normal((fan_in, fan_out), dtype=np.float32)
                    bias = rng.standard_normal(fan_out, dtype=np.float32)

                    def numpy_dense(x=x, w=w, bias=bias):
                        y = np.matmul(x, w)
                        y += bias
                        return np.maximum(y, 0, out=y)

                    t_fast, t_np = paired_medians(
                        lambda x=x, w=w, bias=bias: fastnn.ops.dense(x, w, bias, "relu"),
                        numpy_dense,
                        args.repeats,
                        min_time=0.02,
                    )
                    rows.append(
                        row(
                            f"dense+bias+relu {fan_in}x{fan_out} b{batch}",
                            threads,
                            t_fast,
                            "numpy matmul+bias+relu",
                            t_np,
                        )
                    )
    return rows
