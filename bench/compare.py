"""Side-by-side comparison of fastnn with its peers, in one process.

Runs every ``bench/compare_*.py`` section (each defines ``run(args) -> list of
rows``) and prints one markdown table of medians and ratios.

    python bench/compare.py              # all sections, 1 and 2 threads
    python bench/compare.py --only ops   # sections whose name contains "ops"
    python bench/compare.py --quick      # fewer repeats (smoke test)

Each section runs in its own Python process per thread count: a section's
peers (PyTorch's and OpenBLAS's thread pools, Keras) would otherwise stay
loaded and slow the next section's fastnn timings (seen: single-thread sgemm
15 % slower after the fit section had run PyTorch and Keras). The 1-thread
processes are pinned to one core (fastnn and the peer alike): unpinned, the
first second of a process and migrations between the cores made single-thread
times of either side swing by up to 25 %.
"""

from __future__ import annotations

import os

# OpenBLAS's worker threads spin for a while after each numpy call and would
# hold the cores during the next fastnn timing; a short timeout lets them
# sleep. numpy's own times are unchanged by it (1024^3 sgemm, 2 threads:
# 11.1 ms either way), fastnn's 2-thread times are no longer halved.
# Set before numpy is first imported (it is read when OpenBLAS loads).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable, Optional  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def calls_for(fn: Callable[[], object], min_time: float = 0.05) -> int:
    """How many calls of `fn` (after one warm-up call) last at least min_time."""
    fn()
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - t0 >= min_time or calls >= 1 << 20:
            return calls
        calls *= 2


def median_seconds(fn: Callable[[], object], repeats: int, min_time: float = 0.05) -> float:
    """Median wall time of one call of `fn`, over `repeats` timed batches of calls."""
    calls = calls_for(fn, min_time)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls)
    return statistics.median(samples)


def paired_medians(
    fa: Callable[[], object],
    fb: Callable[[], object],
    repeats: int,
    min_time: float = 0.05,
    settle: float = 0.0,
) -> tuple:
    """Median seconds per call of fa and of fb, timed in alternating batches
    (fa, fb, fb, fa, ...), so a burst of load from other jobs on a shared
    machine hits both sides alike. `settle`: seconds slept, untimed, after
    each batch (a peer whose idle threads spin would otherwise hold the cores
    during the next batch)."""
    ca, cb = calls_for(fa, min_time), calls_for(fb, min_time)
    ta: list = []
    tb: list = []
    for r in range(repeats):
        order = ((fa, ca, ta), (fb, cb, tb)) if r % 2 == 0 else ((fb, cb, tb), (fa, ca, ta))
        for fn, calls, out in order:
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            out.append((time.perf_counter() - t0) / calls)
            if settle:
                time.sleep(settle)
    return statistics.median(ta), statistics.median(tb)


def format_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} us"


def row(
    name: str,
    threads: int,
    fastnn_s: float,
    peer: str,
    peer_s: Optional[float],
    work: Optional[str] = None,
) -> dict:
    """One table row: `ratio` is peer time / fastnn time (above 1: fastnn faster)."""
    return {
        "case": name,
        "threads": threads,
        "fastnn": format_time(fastnn_s),
        "peer": peer,
        "peer time": format_time(peer_s) if peer_s is not None else "n/a",
        "ratio": f"{peer_s / fastnn_s:.2f}x" if peer_s is not None else "n/a",
        "work": work or "",
    }


def print_table(rows: list) -> None:
    if not rows:
        print("(no rows)")
        return
    keys = list(rows[0].keys())
    print("| " + " | ".join(keys) + " |")
    print("|" + "|".join("---" for _ in keys) + "|")
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")


def section_paths(only: Optional[str]) -> list:
    return [p for p in sorted(HERE.glob("compare_*.py")) if not only or only in p.stem]


def load_section(path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


ROWS_TAG = "compare.py rows: "


def run_in_child(path: pathlib.Path, threads: int, args) -> list:
    """Runs one section at one thread count in a fresh interpreter; returns its
    rows (its other output, e.g. which BLAS kernel numpy uses, is passed
    through)."""
    cmd = [sys.executable, __file__, "--section", path.stem, "--threads", str(threads)]
    cmd += ["--repeats", str(args.repeats)] + (["--quick"] if args.quick else [])
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    rows = []
    for line in done.stdout.splitlines():
        if line.startswith(ROWS_TAG):
            rows = json.loads(line[len(ROWS_TAG) :])
        elif not line.startswith("fastnn "):
            print(line)
    return rows


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="run sections whose name contains this")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per case")
    parser.add_argument("--quick", action="store_true", help="few repeats, small sizes")
    parser.add_argument("--section", default=None, help=argparse.SUPPRESS)  # one, in-process
    args = parser.parse_args(argv)
    args.thread_counts = [int(t) for t in args.threads.split(",")]
    if args.section and args.thread_counts == [1] and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # before any pool starts
    quick = args.quick
    if quick:
        args.repeats = 3
    sys.path.insert(0, str(HERE))
    import fastnn

    info = fastnn.runtime_info()
    print(f"fastnn {info['version']} isa={info['isa']} compiler={info['compiler']}", flush=True)
    if args.section:
        rows = load_section(HERE / f"{args.section}.py").run(args)
        print(ROWS_TAG + json.dumps(rows), flush=True)
        return 0
    args.quick = quick
    rows: list = []
    for path in section_paths(args.only):
        for threads in args.thread_counts:
            rows.extend(run_in_child(path, threads, args))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
