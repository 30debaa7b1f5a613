"""Phase ``lora``: LoRA training the study's way and the ccpapers way, the trial switch (a fresh
adapter gives the base model's logits back exactly), and a profile of the ccpapers steps."""

from __future__ import annotations

import random
import time
from typing import Any

from benchmarks.bench_gpu.ccpapers_path import ccpapers_train
from benchmarks.bench_gpu.measure import log, mfu, peak_gib, reset_peak, sync
from benchmarks.bench_gpu.profiling import first_rows, profile_train
from benchmarks.bench_gpu.results import GpuBenchResults
from benchmarks.bench_gpu.run import GpuRun
from benchmarks.bench_gpu.study_style import study_style_train

Mix = tuple[list[list[int]], list[list[int]], list[list[int]]]  # (all shuffled, short, long)


def phase_lora(run: GpuRun, res: GpuBenchResults, mix: Mix) -> Any:
    """Fill ``res.lora`` and ``res.trial_switch`` (as each part ends); return the LoRA model."""
    import torch

    from ccpapers.bench.models import add_lora
    from ccpapers.bench.packing import pack

    a, lm, dev = run.args, run.lm, run.device
    docs, short, long_ = mix
    n = lm.info["matmul_params"]
    cfg = run.cfg(method="lora")
    base = lm.model
    probe = torch.tensor([short[0][:64]], device=dev)
    base.set_attn_implementation("sdpa")
    with torch.no_grad():
        base_logits = base(input_ids=probe, use_cache=False).logits.float()
    model = add_lora(base, cfg)
    # study-style baseline: sdpa, eager, batch 1, no packing
    reset_peak(dev)
    sample = short[a.warm : a.warm + a.base_short] + long_[1 : 1 + a.base_long]
    random.Random(1).shuffle(sample)
    log(f"LoRA baseline: {len(sample)} texts, batch 1, eager, sdpa")
    b = study_style_train(model, sample, short[: a.warm] + long_[:1], cfg.lr, dev)
    b |= {"mfu": mfu(b["tokens_per_second"], 4, n, dev), "peak_memory_gib": peak_gib(dev)}
    res.lora = result = {"baseline": b}
    log(f"  baseline {b['tokens_per_second']:.0f} tok/s")
    # trial switch: drop the trained adapter, add a fresh one, base outputs must be exact
    sync(dev)
    t0 = time.perf_counter()
    base = model.unload()
    model = add_lora(base, cfg)
    sync(dev)
    switch_s = time.perf_counter() - t0
    with torch.no_grad():
        diff = float((model(input_ids=probe, use_cache=False).logits.float() - base_logits).abs().max())
    res.trial_switch = {
        "seconds": switch_s,
        "max_abs_logit_diff_vs_base": diff,
        "how": "unload() + add_lora()",
    }
    log(f"  trial switch {switch_s:.3f} s, logit diff vs base {diff}")
    # ccpapers path
    base.set_attn_implementation(run.hf_attention())
    packed = pack(docs, cfg.seq_len, 0)
    log(f"LoRA ccpapers: {len(packed)} rows x {cfg.seq_len}, compile={cfg.compile}, attention={lm.attention}")
    c = ccpapers_train(lm, model, packed, cfg, run.acc)
    result["ccpapers"] = c
    log(
        f"  ccpapers {c['tokens_per_second']:.0f} tok/s, epochs {[round(e['seconds'], 2) for e in c['epochs']]}"
    )
    if a.profile:
        sub = first_rows(packed, a.profile_rows)
        profile_cfg = run.cfg(method="lora", epochs=1)
        path = run.out / "profile_lora.txt"
        result["profile"] = profile_train(model, sub, profile_cfg, run.acc, lm.attention, n, path)
        log(f"  profile {result['profile']}")
    return model
