"""Phase ``fictional`` (issue 6): ``run_bench`` end to end on the fictional suite with the
resident model, LoRA then full fine-tuning; peak memory and time per epoch."""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.bench_gpu.measure import log, peak_gib, reset_peak
from benchmarks.bench_gpu.results import GpuBenchResults
from benchmarks.bench_gpu.run import GpuRun


def phase_fictional(run: GpuRun, res: GpuBenchResults) -> None:
    """Issue 6: ``run_bench`` on the fictional suite, LoRA then full FT, resident base model."""
    import tempfile

    from ccpapers.bench.models import is_peft
    from ccpapers.bench.runner import run_bench

    a, lm, acc = run.args, run.lm, run.acc
    if is_peft(lm.model):
        lm.model = lm.model.unload()
    work = Path(tempfile.mkdtemp(prefix="ccpapers-gpu-"))
    res.fictional = {}
    for method in ("lora", "full"):
        cfg = run.cfg(
            method=method,
            suite="fictional",
            epochs=a.fict_epochs,
            lr=2e-4 if method == "lora" else 1e-5,
            seq_len=a.seq_len if method == "lora" else a.full_seq_len,
            grad_accum=1 if method == "lora" else a.full_grad_accum,
            run_name=f"gpu-fictional-{method}",
        )
        cfg.work = work
        reset_peak(acc.device)
        log(f"fictional {method}: run_bench (epochs={cfg.epochs}, seq_len={cfg.seq_len})")
        t0 = time.perf_counter()
        s = run_bench(cfg, acc, resident=lm)
        wall = time.perf_counter() - t0
        seed = json.loads((Path(s["out_dir"]) / "seed-0.json").read_text())
        res.fictional[method] = {
            "wall_seconds": wall,
            "peak_memory_gib": peak_gib(acc.device),
            "train_peak_memory_gib": seed.get("peak_memory_gib"),
            "epochs": seed.get("epochs"),
            "n_texts": s["n_texts"],
            "n_rows": seed.get("n_rows"),
            "train_tokens": seed.get("train_tokens"),
            "tokens_per_second": seed.get("tokens_per_second"),
            "eval_seconds": s["eval_seconds"],
            "baseline_seconds": s["baseline_seconds"],
            "n_questions": s["n_questions"],
            "base_score": s["base_score"],
            "score": s["score"]["mean"],
        }
        log(f"  {method}: {json.dumps(res.fictional[method])[:400]}")
    (run.out / "fictional.json").write_text(json.dumps(res.fictional, indent=1))


# --------------------------------------------------------------------------- report
