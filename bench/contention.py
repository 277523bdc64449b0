"""Training beside a busy process: seconds per epoch of the seed network
(784-128-128-10, Adam) on 2 threads while another process keeps a core busy,
fastnn with and without the team sessions' straggler back-off
(cpp/runtime/team.cpp), fastnn on 1 thread, and a PyTorch loop
(Adam(fused=True)) on 2 threads.

When a third runnable thread shares two cores, a 2-thread team's worker
loses its core for a scheduler slice at a time and every join waits for it;
the back-off narrows the session's tasks while that happens. Each
configuration runs in its own process (the scheduler places threads anew),
in rotation, `--repeats` times; medians.

    python bench/contention.py [--batch-size 128] [--busy 1] [--repeats 7] [--samples 12800]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

MODES = {
    "fastnn 2 threads, back-off on": ("fastnn", 2, True),
    "fastnn 2 threads, back-off off": ("fastnn", 2, False),
    "fastnn 1 thread": ("fastnn", 1, True),
    "PyTorch loop 2 threads": ("torch", 2, True),
}


def child(mode: str, batch: int, samples: int) -> float:
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import compare_fit

    lib, threads, backoff = MODES[mode]
    rng = np.random.default_rng(0)
    x = rng.random((samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, samples)
    compare_fit.BATCH = batch
    if lib == "torch":
        run = compare_fit.torch_epoch(x, y, threads)
    else:
        import fastnn
        from fastnn import _core

        fastnn.set_num_threads(threads)
        _core._set_straggler_backoff(backoff)
        fastnn.utils.set_random_seed(0)
        run = compare_fit.fastnn_epoch(x, y, verbose=0)

    run()  # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def burn():
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--busy", type=int, default=1, help="busy-looping processes")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--samples", type=int, default=12800)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(child(args.child, args.batch_size, args.samples))
        return 0
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.busy)]
    for p in burners:
        p.start()
    runs = {mode: [] for mode in MODES}
    try:
        for _ in range(args.repeats):
            for mode in MODES:
                out = subprocess.run(
                    [
                        sys.executable,
                        os.path.abspath(__file__),
                        "--child",
                        mode,
                        "--batch-size",
                        str(args.batch_size),
                        "--samples",
                        str(args.samples),
                    ],
                    capture_output=True,
                    text=True,
                )
                if out.returncode != 0:
                    if "No module named 'torch'" in out.stderr:
                        continue  # torch not installed: its row is skipped
                    raise RuntimeError(out.stderr[-2000:])
                runs[mode].append(float(out.stdout.strip().splitlines()[-1]))
    finally:
        for p in burners:
            p.terminate()
    print(
        f"batch={args.batch_size} samples={args.samples} busy processes={args.busy} "
        f"repeats={args.repeats} (medians; ratio = the row's time / back-off on)"
    )
    print("| configuration | s/epoch | vs fastnn 2 threads, back-off on |")
    print("|---|---|---|")
    base = statistics.median(runs["fastnn 2 threads, back-off on"])
    for mode, times in runs.items():
        if times:
            t = statistics.median(times)
            print(f"| {mode} | {t:.3f} | {t / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
