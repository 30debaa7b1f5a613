#!/usr/bin/env bash
# One command for the borrowed GPU (issue 7 benchmark + issue 6 fictional check, one process).
#   bash scripts/gpu_check.sh [benchmarks.bench_gpu args...]
# Installs the wheels carried in .carry/wheels (optuna, rouge_score, liger_kernel, ...) when
# present, then runs python -m benchmarks.bench_gpu; JSON, log and profiles go to $OUT (default gpu-out).
set -o pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
if compgen -G ".carry/wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-deps --no-index .carry/wheels/*.whl || exit 1
fi
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv >"$OUT/nvidia-smi.csv" 2>&1 || true
PYTHONUNBUFFERED=1 PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} \
  python3 -m benchmarks.bench_gpu --out "$OUT" "$@" 2>&1 | tee "$OUT/bench_gpu.log"
