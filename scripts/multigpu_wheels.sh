#!/usr/bin/env bash
# Run HERE (not on the GPU machine): the wheels scripts/multigpu_check.sh needs there (its image has
# torch, transformers, accelerate, tokenizers, safetensors, numpy, PyYAML; not peft, optuna or
# gguf), pinned as in requirements/lock.txt, for CPython 3.12 on x86-64 Linux, into .whl/
# (git-ignored through .git/info/exclude). About 6 MB; carry ".whl" with the device run.
set -e
ex=$(git rev-parse --git-path info/exclude)
grep -qx '/.whl/' "$ex" 2>/dev/null || echo /.whl/ >> "$ex"
pin() { grep -i "^$1==" requirements/lock.txt; }
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "$(pin peft)" "$(pin optuna)" "$(pin alembic)" "$(pin mako)" "$(pin sqlalchemy)" "$(pin colorlog)" "$(pin gguf)"
ls -l .whl
