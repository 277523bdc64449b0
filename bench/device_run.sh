#!/usr/bin/env bash
# Quiet-machine benchmark run (e.g. a lent many-core machine): builds fastnn,
# then prints, on two pinned cores (like the 2-core development machine) and
# unpinned, the peer comparisons and thread scaling. Output: $OUT or ./bench-out.
set -uo pipefail
out=${OUT:-bench-out}; mkdir -p "$out"
export PYTHONUNBUFFERED=1 FASTNN_DATA=${FASTNN_DATA:-$PWD/.devdata}
python3 -m pip install -q --no-build-isolation --no-deps -Cbuild-dir=/tmp/fastnn-build \
  --target /tmp/site . > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
export PYTHONPATH=/tmp/site
python3 -c "import fastnn, json; print(json.dumps(fastnn.runtime_info()))"
lscpu | grep -E "Model name|^CPU\(s\)|MHz|L2|L3" || true
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
run() { echo "## $*"; "$@" 2>&1; }
{
  run taskset -c 0,1 python3 bench/compare.py --only nn --repeats 5
  run taskset -c 0,1 python3 bench/compare.py --only fit
  run taskset -c 0,1 python3 bench/compare.py --only gemm --quick
  run taskset -c 0,1 python3 bench/wait_policy.py --repeats 2
  run taskset -c 0,1 python3 bench/wait_policy.py --repeats 2 --compete
  run python3 bench/scaling.py
} | tee "$out/bench.md"
