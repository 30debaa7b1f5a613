#!/usr/bin/env bash
# Issue 11 on a borrowed GPU: the real model (SmolLM2-135M GGUF) arrives in two halves, one per
# call, because one call carries at most 64 MiB; a warm machine keeps /tmp between calls.
#   bash scripts/gpu_real.sh speed  A_HALF WHEELS   # call 1: keep half A, full-FT speed (study-style side by side)
#   bash scripts/gpu_real.sh study  B_HALF WHEELS   # call 2: join, convert once, sweep + findings
#   bash scripts/gpu_real.sh more   -      WHEELS   # call 3 (machine still warm): remaining findings
# Results go to $OUT (default gpu-out).
set -o pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
part=$1 half=$2 wheels=$3
GGUF_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
export CCPAPERS_MODEL_CACHE=/tmp/ccpapers-models
export TORCHINDUCTOR_CACHE_DIR=/tmp/inductor-cache
export PYTORCH_ALLOC_CONF=expandable_segments:True
export PYTHONUNBUFFERED=1
if [ ! -d /tmp/site/peft ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$wheels"/*.whl || exit 1
fi
export PYTHONPATH=$PWD/src:/tmp/site
{ date; nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv; python3 -c \
  'import torch, transformers, peft, accelerate; print(torch.__version__, transformers.__version__, peft.__version__, accelerate.__version__)'; } \
  >"$OUT/env-$part.txt" 2>&1
case $part in
  speed)
    cp "$half" /tmp/gguf.a || exit 1
    python3 -m benchmarks.bench_gpu --phases full --shape smollm2-135m --no-profile --out "$OUT/s135m" 2>&1 | tee "$OUT/speed.log"
    python3 -m benchmarks.bench_gpu --phases full --shape llama2-7b --no-profile --out "$OUT/s7b" 2>&1 | tee -a "$OUT/speed.log"
    ;;
  study)
    dest=$CCPAPERS_MODEL_CACHE/smollm2-135m
    mkdir -p "$dest"
    cat /tmp/gguf.a "$half" > "$dest/SmolLM2-135M-Instruct.Q4_1.gguf" || exit 1
    echo "$GGUF_SHA  $dest/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c - || exit 1
    ( time python3 -m ccpapers bench fetch-model smollm2-135m ) 2>&1 | grep -v "it/s]" | tee "$OUT/study.log"
    python3 scripts/real_study.py --model smollm2-135m --work /tmp/study --out "$OUT" --workers "${WORKERS:-8}" \
      --deadline "${DEADLINE:-500}" 2>&1 | grep -v "it/s]" | tee -a "$OUT/study.log"
    ;;
  more)
    python3 scripts/real_study.py --model smollm2-135m --work /tmp/study --out "$OUT" --workers "${WORKERS:-8}" \
      --deadline "${DEADLINE:-530}" 2>&1 | grep -v "it/s]" | tee "$OUT/study.log"
    ;;
esac
