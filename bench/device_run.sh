#!/usr/bin/env bash
# Benchmark run on a lent many-core machine (shared: compare within a run): builds fastnn, then
# prints, on two pinned cores (like the 2-core development machine), the fit
# and training-step comparisons with the peers, the GEMM per kernel level and
# the optimizer rooflines, then thread scaling on all cores. Output: $OUT or ./bench-out.
#
# Optional folders beside the checkout's root (git-ignored, carried along):
#   .whl/     wheels to install first (e.g. Keras and its missing dependencies)
#   .devdata/ FASTNN_DATA (fashion-mnist/ with the four IDX files)
#   .devlib/  fastnn_bench built elsewhere, with the shared libraries it needs
set -uo pipefail
out=${OUT:-bench-out}; mkdir -p "$out"
export PYTHONUNBUFFERED=1 FASTNN_DATA=${FASTNN_DATA:-$PWD/.devdata} KERAS_BACKEND=torch
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl > "$out/wheels.log" 2>&1 || tail -5 "$out/wheels.log"
fi
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) python3 -m pip install -q --no-build-isolation --no-deps \
  -Cbuild-dir=/tmp/fastnn-build --target /tmp/site . > "$out/build.log" 2>&1 \
  || { tail -30 "$out/build.log"; exit 1; }
export PYTHONPATH=/tmp/site
python3 -c "import fastnn, json; print(json.dumps(fastnn.runtime_info()))"
python3 -c "import torch, sklearn, numpy; print('torch', torch.__version__, 'sklearn', sklearn.__version__, 'numpy', numpy.__version__)"
lscpu | grep -E "Model name|^CPU\(s\)|MHz|L2|L3|Thread" || true
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
run() { echo "## $*"; "$@" 2>&1; }
{
  run taskset -c 0,1 python3 bench/compare.py --only fit --threads 1,2
  run taskset -c 0,1 python3 bench/compare.py --only nn --threads 1,2 --repeats 5
  run taskset -c 0 python3 bench/isa_levels.py
  if [ -x .devlib/fastnn_bench ]; then
    LD_LIBRARY_PATH=$PWD/.devlib run taskset -c 0,1 .devlib/fastnn_bench --benchmark_min_time=0.2 \
      --benchmark_filter='BM_optim_(sgd_momentum|adam|rmsprop|adagrad)/(1048576|16777216)/'
  fi
  run python3 bench/scaling.py
} | tee "$out/bench.md"
