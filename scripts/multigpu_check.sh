#!/usr/bin/env bash
# Issue 16 on a two-GPU machine (nvidia-h100-x2 / nvidia-h200-x2) in one command, about 9 minutes:
#   bash scripts/multigpu_check.sh [multigpu_check.py args...]     # e.g. --phases 7b,13b
# Wheels carried in .whl/ (peft, optuna and its needs: scripts/multigpu_wheels.sh makes the folder)
# are installed into /tmp/site first. SMOLLM2_DIR: a converted SmolLM2-135M Hugging Face folder
# (the real-model phase is skipped without it). JSON files and multigpu.log go to $OUT.
# NVLink multicast stays off in every process (NCCL, PyTorch symmetric memory, NVSHMEM).
set -o pipefail
T0=$(date +%s)
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 PYTORCH_ALLOC_CONF=${PYTORCH_ALLOC_CONF:-expandable_segments:True}
OUT=${OUT:-multigpu-out}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    >"$OUT/multigpu.log" 2>&1 || { echo "wheel install failed (see $OUT/multigpu.log)"; exit 1; }
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
python3 - <<'PY' 2>&1 | tee -a "$OUT/multigpu.log" || exit 1
import importlib, sys
missing = [m for m in ("torch", "transformers", "accelerate", "peft", "optuna", "yaml", "sqlalchemy") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing packages {missing}: carry their wheels in .whl/ (scripts/multigpu_wheels.sh)")
import torch
print("torch", torch.__version__, "GPUs", torch.cuda.device_count())
PY
PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} python3 benchmarks/multigpu_check.py --out "$OUT" --t0 "$T0" "$@"
