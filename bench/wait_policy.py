"""Seconds per epoch of the seed network for each OpenMP wait policy.

Each policy runs in a fresh process (libgomp reads its environment when it
loads). Run it on a quiet machine and again with a competing process
(`--compete`: one busy-looping process per core it may run on) to see how each policy
degrades when cores are shared (DESIGN.md, principle 9).

    python bench/wait_policy.py [--threads 2] [--batch-size 128] [--compete] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys

POLICIES = {
    "1 thread (no waiting)": {"OMP_NUM_THREADS": "1"},
    "default (spin, then sleep)": {},
    "GOMP_SPINCOUNT=100000": {"GOMP_SPINCOUNT": "100000"},
    "GOMP_SPINCOUNT=30000": {"GOMP_SPINCOUNT": "30000"},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
    "GOMP_SPINCOUNT=3000": {"GOMP_SPINCOUNT": "3000"},
    "GOMP_SPINCOUNT=1000": {"GOMP_SPINCOUNT": "1000"},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "OMP_WAIT_POLICY=ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"},
}

CHILD = r"""
import sys, time, numpy as np, fastnn
from fastnn import layers, models
threads, samples, epochs, batch = (int(a) for a in sys.argv[1:5])
fastnn.set_num_threads(threads)
rng = np.random.default_rng(0)
x = rng.random((samples, 784), dtype=np.float32)
y = rng.integers(0, 10, samples)
fastnn.utils.set_random_seed(0)
model = models.Sequential([
    layers.Input(shape=(784,)),
    layers.Dense(128, activation="relu"),
    layers.Dense(128, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
times = []
for _ in range(epochs):
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    times.append(time.perf_counter() - t0)
print(sorted(times)[len(times) // 2])
"""


def burn():
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--compete", action="store_true", help="one busy process per core")
    args = parser.parse_args()
    burners = []
    if args.compete:
        for _ in range(len(os.sched_getaffinity(0))):
            p = multiprocessing.Process(target=burn, daemon=True)
            p.start()
            burners.append(p)
    try:
        print(
            f"threads={args.threads} samples={args.samples} batch={args.batch_size} "
            f"compete={args.compete}"
        )
        print("| policy | s/epoch (median) | vs default |")
        print("|---|---|---|")
        base = None
        for name, extra in POLICIES.items():
            env = {
                k: v
                for k, v in os.environ.items()
                if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
            }
            env.update(extra)
            env["FASTNN_WAIT_POLICY"] = "libgomp"  # fastnn would otherwise choose PASSIVE
            runs = []
            for _ in range(args.repeats):
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        CHILD,
                        env.get("OMP_NUM_THREADS", str(args.threads)),
                        str(args.samples),
                        "3",
                        str(args.batch_size),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(float(out.stdout.strip().splitlines()[-1]))
            t = statistics.median(runs)
            base = t if base is None and "1 thread" not in name else base
            ratio = f"{t / base:.2f}x" if base else "-"
            print(f"| {name} | {t:.3f} | {ratio} |", flush=True)
    finally:
        for p in burners:
            p.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
