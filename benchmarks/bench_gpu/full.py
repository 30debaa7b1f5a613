"""Phase ``full``: full fine-tuning the study's way and the ccpapers way, in the precision that
learns (float32 master weights where 16 bytes/parameter fit, else bf16 with stochastic rounding)."""

from __future__ import annotations

import random
from typing import Any

from benchmarks.bench_gpu.ccpapers_path import ccpapers_train
from benchmarks.bench_gpu.lora import Mix
from benchmarks.bench_gpu.measure import log, mfu, peak_gib, reset_peak
from benchmarks.bench_gpu.profiling import first_rows, profile_train
from benchmarks.bench_gpu.results import GpuBenchResults
from benchmarks.bench_gpu.run import GpuRun
from benchmarks.bench_gpu.study_style import study_style_train


def full_precision(base: Any, dev: Any) -> str:
    """Put ``base`` in the precision full fine-tuning learns in (issue 11): float32 master weights
    (bf16 autocast) where 16 bytes/parameter fit the GPU, else bf16 weights with the
    stochastic-rounding AdamW; never pure bf16 AdamW."""
    import torch

    from ccpapers.bench.models import full_ft_fits_fp32

    n = sum(p.numel() for p in base.parameters())
    total = torch.cuda.get_device_properties(dev).total_memory if dev.type == "cuda" else float("inf")
    if full_ft_fits_fp32(n, total):
        base.float()
        return "float32 master weights, bf16 autocast, AdamW" if dev.type == "cuda" else "float32, AdamW"
    return "bf16 weights and matmuls, AdamW with stochastic rounding (adamw-sr)"


def phase_full(run: GpuRun, res: GpuBenchResults, model: Any, mix: Mix) -> None:
    """Fill ``res.full``: full fine-tuning the study's way, ccpapers one text per step, and
    ccpapers on packed rows (each retried with gradient checkpointing when memory runs out)."""
    import torch

    from ccpapers.bench.models import enable_checkpointing, is_peft
    from ccpapers.bench.packing import pack, text_rows

    a, lm, acc, dev = run.args, run.lm, run.acc, run.device
    docs, short, long_ = mix
    n = lm.info["matmul_params"]
    base = model.unload() if is_peft(model) else model
    lm.model = base
    precision = full_precision(base, dev)
    for p in base.parameters():
        p.requires_grad_(True)
    base.set_attn_implementation("sdpa")
    reset_peak(dev)
    sample = short[a.warm : a.warm + a.base_short_full] + long_[1 : 1 + a.base_long_full]
    random.Random(1).shuffle(sample)
    log(f"full FT baseline: {len(sample)} texts, batch 1, eager, sdpa, {precision}")
    try:
        b = study_style_train(base, sample, short[: a.warm] + long_[:1], 1e-5, dev)
    except torch.OutOfMemoryError as exc:
        log(f"  out of memory ({str(exc)[:200]}); baseline again with gradient checkpointing")
        for p in base.parameters():
            p.grad = None
        acc.free_memory()
        enable_checkpointing(base)
        b = study_style_train(base, sample, short[: a.warm] + long_[:1], 1e-5, dev) | {
            "gradient_checkpointing": True
        }
        base.gradient_checkpointing_disable()
    b |= {"mfu": mfu(b["tokens_per_second"], 6, n, dev), "peak_memory_gib": peak_gib(dev)}
    res.full = {"baseline": b, "precision": precision}
    log(f"  baseline {b['tokens_per_second']:.0f} tok/s")
    for p in base.parameters():
        p.grad = None
    acc.free_memory()
    # ccpapers, the study's schedule: the same texts, one per optimizer step, compiled (the first
    # epoch compiles; the last is timed)
    cfg_t = run.cfg(method="full", lr=1e-5, schedule="text", seq_len=4096, epochs=a.full_text_epochs)
    rows = text_rows(sample, cfg_t.seq_len)
    log(f"full FT ccpapers, one text per step: {len(rows)} texts x {cfg_t.epochs} epochs")
    try:
        res.full["ccpapers_text"] = ccpapers_train(lm, base, rows, cfg_t, acc)
        log(f"  ccpapers one text/step {res.full['ccpapers_text']['tokens_per_second']:.0f} tok/s")
    except torch.OutOfMemoryError as exc:
        log(f"  one text/step: out of memory ({str(exc)[:200]})")
        res.full["ccpapers_text_error"] = "out of memory"
        for p in base.parameters():
            p.grad = None
        acc.free_memory()
    base.set_attn_implementation(run.hf_attention())
    cfg = run.cfg(
        method="full", lr=1e-5, seq_len=a.full_seq_len, grad_accum=a.full_grad_accum, epochs=a.full_epochs
    )
    packed = pack(docs, cfg.seq_len, 0)
    log(f"full FT ccpapers: {len(packed)} rows x {cfg.seq_len}, grad_accum {cfg.grad_accum}")
    try:
        c = ccpapers_train(lm, base, packed, cfg, acc)
    except torch.OutOfMemoryError as exc:
        log(f"  out of memory ({exc}); again with gradient checkpointing")
        acc.free_memory()
        for p in base.parameters():
            p.grad = None
        cfg.gradient_checkpointing = True
        enable_checkpointing(base)
        c = ccpapers_train(lm, base, packed, cfg, acc) | {"gradient_checkpointing": True}
        base.gradient_checkpointing_disable()
    res.full["ccpapers"] = c
    log(
        f"  ccpapers {c['tokens_per_second']:.0f} tok/s, epochs {[round(e['seconds'], 2) for e in c['epochs']]}"
    )
    if a.profile:
        cfg1 = run.cfg(method="full", lr=1e-5, seq_len=a.full_seq_len, grad_accum=a.full_grad_accum, epochs=1)
        cfg1.gradient_checkpointing = cfg.gradient_checkpointing
        res.full["profile"] = profile_train(
            base, first_rows(packed, a.profile_rows), cfg1, acc, lm.attention, n, run.out / "profile_full.txt"
        )
        log(f"  profile {res.full['profile']}")
    for p in base.parameters():
        p.grad = None
