"""One benchmark run, top to bottom: set up, build the model and the texts, run the phases asked
for (saving ``bench_gpu.json`` after each), print the table."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_gpu.evaluation import phase_eval
from benchmarks.bench_gpu.fictional import phase_fictional
from benchmarks.bench_gpu.full import phase_full
from benchmarks.bench_gpu.lora import Mix, phase_lora
from benchmarks.bench_gpu.measure import log
from benchmarks.bench_gpu.options import parse
from benchmarks.bench_gpu.report import table
from benchmarks.bench_gpu.results import GpuBenchResults
from benchmarks.bench_gpu.run import GpuRun
from benchmarks.bench_gpu.shapes import SHAPES
from benchmarks.bench_gpu.workload import build_model, padded_tokenizer, text_mix


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    os.environ.setdefault("PYTORCH_ALLOC_CONF", "expandable_segments:True")
    import torch
    import transformers
    from accelerate import Accelerator

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    phases = [x for x in a.phases.split(",") if x]
    acc = Accelerator(cpu=not torch.cuda.is_available())
    if not a.tiny and acc.device.type != "cuda":
        print("no CUDA device: run with --tiny for the CPU smoke run", file=sys.stderr)
        return 2
    run = GpuRun(args=a, acc=acc, out=out, attention="sdpa" if acc.device.type != "cuda" else "flex")
    res = GpuBenchResults(
        device=torch.cuda.get_device_name(acc.device) if acc.device.type == "cuda" else "cpu",
        versions={"torch": torch.__version__, "transformers": transformers.__version__},
        tiny=a.tiny,
        args=dict(vars(a)),
    )
    texts, english = suite_texts(run)
    mix = setup_model_and_mix(run, res, texts)
    try:
        run_phases(run, res, phases, mix, english)
    finally:
        res.save(out)
        print("\n" + table(res), flush=True)
    return 0


def suite_texts(run: GpuRun) -> tuple[list[str], list[str]]:
    """The fictional suite's texts and questions (the tokenizer's corpus) and its English originals
    (where the eval phase cuts its questions from)."""
    from ccpapers.bench.inputs import load_suite

    suite = load_suite(run.cfg(suite="fictional"))
    texts = [t for d in suite.documents for t in d.texts.values()]
    english = [d.texts["original"] for d in suite.documents if "original" in d.texts]
    return texts + [q.question for q in suite.questions], english


def setup_model_and_mix(run: GpuRun, res: GpuBenchResults, corpus: list[str]) -> Mix:
    """Build the resident model (``run.lm``) and the training texts; record both in ``res``."""
    import torch

    a = run.args
    vocab_size = 4096 if a.tiny else SHAPES[a.shape]["vocab_size"]
    tok = padded_tokenizer(corpus, vocab_size)
    dtype = torch.float32 if a.tiny else torch.bfloat16
    t0 = time.perf_counter()
    run.lm = build_model(a.tiny, tok, run.device, dtype, run.attention, a.shape)
    res.model = run.lm.info | {"build_seconds": time.perf_counter() - t0}
    log(f"model: {run.lm.info}")
    vocab = len(tok)
    mix = (
        text_mix(40, (20, 120), 3, (300, 500), vocab, 0)
        if a.tiny
        else text_mix(400, (40, 250), 16, (2600, 2900), vocab, 0)
    )
    res.mix = {
        "short_texts": len(mix[1]),
        "long_texts": len(mix[2]),
        "tokens": sum(map(len, mix[0])),
        "short_token_share": sum(map(len, mix[1])) / sum(map(len, mix[0])),
    }
    return mix


def run_phases(run: GpuRun, res: GpuBenchResults, phases: list[str], mix: Mix, english: list[str]) -> None:
    """lora and eval share the LoRA model; full unloads it; fictional runs on the base model."""
    model: Any = run.lm.model
    if "lora" in phases or "eval" in phases:
        if "lora" in phases:
            model = phase_lora(run, res, mix)
        else:
            from ccpapers.bench.models import add_lora

            model = add_lora(run.lm.model, run.cfg())
        res.save(run.out)
        if "eval" in phases:
            phase_eval(run, res, model, english)
            res.save(run.out)
    if "full" in phases:
        phase_full(run, res, model, mix)
        res.save(run.out)
    elif "fictional" in phases and hasattr(model, "unload"):
        run.lm.model = model.unload()
    if "fictional" in phases:
        phase_fictional(run, res)
        res.save(run.out)
