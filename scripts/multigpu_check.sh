#!/usr/bin/env bash
# Issue 16 on a two-GPU machine (nvidia-h100-x2 / nvidia-h200-x2) in one command, about 9 minutes:
#   bash scripts/multigpu_check.sh [benchmarks.multigpu_check args...]     # e.g. --phases 7b,13b
# Wheels carried in .whl/ (peft, optuna and its needs, gguf: scripts/multigpu_wheels.sh makes the
# folder) are installed into /tmp/site first (skipped when /tmp/site already has them). The real
# model: SMOLLM2 = a registry name, a .gguf or a Hugging Face folder (default smollm2-135m, found in
# $CCPAPERS_MODEL_CACHE, default /tmp/ccpapers-models; the real-model phase is skipped without it).
# JSON files and multigpu.log go to $OUT.
# NVLink multicast stays off in every process (NCCL, PyTorch symmetric memory, NVSHMEM).
set -o pipefail
T0=$(date +%s)
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 PYTORCH_ALLOC_CONF=${PYTORCH_ALLOC_CONF:-expandable_segments:True}
export CCPAPERS_MODEL_CACHE=${CCPAPERS_MODEL_CACHE:-/tmp/ccpapers-models}
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/inductor-cache}
OUT=${OUT:-multigpu-out}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null && [ ! -d /tmp/site/peft ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    >"$OUT/multigpu.log" 2>&1 || { echo "wheel install failed (see $OUT/multigpu.log)"; exit 1; }
fi
[ -d /tmp/site ] && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
# SMOLLM2_PARTS="A B": the SmolLM2 GGUF carried in two halves (one device call carries 64 MiB at
# most), joined into the model cache and checked against the registry's sha256
if [ -n "$SMOLLM2_PARTS" ]; then
  dest=$CCPAPERS_MODEL_CACHE/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf
  mkdir -p "$(dirname "$dest")"
  # shellcheck disable=SC2086
  cat $SMOLLM2_PARTS >"$dest" &&
    echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  $dest" | sha256sum -c - \
    >>"$OUT/multigpu.log" 2>&1 || { echo "SMOLLM2_PARTS: joined GGUF is wrong"; rm -f "$dest"; }
fi
python3 - <<'PY' 2>&1 | tee -a "$OUT/multigpu.log" || exit 1
import importlib.util, sys
missing = [m for m in ("torch", "transformers", "accelerate", "peft", "optuna", "yaml", "sqlalchemy") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing packages {missing}: carry their wheels in .whl/ (scripts/multigpu_wheels.sh)")
import torch
print("torch", torch.__version__, "GPUs", torch.cuda.device_count())
PY
PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} python3 -m benchmarks.multigpu_check --out "$OUT" --t0 "$T0" "$@"
