"""Prints how much `import fastnn` adds to `import numpy` (median of 7 runs).

Reads `python -X importtime` (cumulative microseconds of the top-level
`fastnn` entry, numpy already imported). Fails above the 50 ms budget.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

BUDGET_MS = 50.0


def fastnn_import_ms() -> float:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import numpy; import fastnn"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    for line in result.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "fastnn":
            return int(parts[1]) / 1000.0
    raise RuntimeError("no 'fastnn' entry in -X importtime output")


def main() -> int:
    samples = [fastnn_import_ms() for _ in range(7)]
    median = statistics.median(samples)
    print(
        f"import fastnn after numpy: median {median:.1f} ms over {len(samples)} runs "
        f"(min {min(samples):.1f}, max {max(samples):.1f}); budget {BUDGET_MS:.0f} ms"
    )
    return 0 if median < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
