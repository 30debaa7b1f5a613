"""Phase ``eval``: answering questions the ccpapers way (merged LoRA, large length-sorted
batches) against the study's (one ``generate`` per question), and whether batched answers are
exactly the unbatched greedy ones."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.bench_gpu.measure import log, peak_gib, reset_peak, sync
from benchmarks.bench_gpu.results import GpuBenchResults
from benchmarks.bench_gpu.run import GpuRun
from benchmarks.bench_gpu.study_style import study_style_answers, unbatched_reference
from benchmarks.bench_gpu.workload import make_questions


def phase_eval(run: GpuRun, res: GpuBenchResults, model: Any, texts: list[str]) -> None:
    """Fill ``res.eval``: ``score_questions`` twice (the first call warms up) and on other
    questions, answers against unbatched greedy, the study-style baseline on a few questions."""
    from ccpapers.bench.evaluation import score_questions
    from ccpapers.bench.generation import prompt_ids

    a, lm, acc, dev = run.args, run.lm, run.acc, run.device
    cfg = run.cfg(method="lora")
    qs = make_questions(texts, a.questions, seed=2, tok=lm.tokenizer)
    tok = lm.tokenizer
    prompts = [prompt_ids(tok, q.question, cfg) for q in qs]
    model.get_base_model().set_attn_implementation(run.hf_attention())  # as left by training
    calls: list[int] = []
    hook = model.get_output_embeddings().register_forward_hook(lambda *_: calls.append(1))
    times = []
    for _ in range(2):  # first call includes one-off warm-up
        reset_peak(dev)
        sync(dev)
        t0 = time.perf_counter()
        rows = score_questions(model, tok, qs, cfg, acc)
        sync(dev)
        times.append(time.perf_counter() - t0)
    steps = len(calls) // 2
    hook.remove()
    log(f"eval ccpapers: {len(qs)} questions x {cfg.max_new_tokens} new tokens: {times}")
    fresh = make_questions(texts, a.questions, seed=3, tok=tok)
    sync(dev)
    t0 = time.perf_counter()
    score_questions(model, tok, fresh, cfg, acc)
    sync(dev)
    fresh_s = time.perf_counter() - t0
    log(f"  other {len(fresh)} questions: {fresh_s:.2f} s; forward passes per call {steps}")
    pick = sorted(range(len(qs)), key=lambda i: len(prompts[i]))
    step = max(1, len(pick) // max(1, a.ref_questions))
    pick = pick[::step][: a.ref_questions]
    ref = unbatched_reference(model, tok, [prompts[i] for i in pick], cfg, dev)
    same = [rows[i]["prediction"] == r["answer"] for i, r in zip(pick, ref, strict=True)]
    log(f"  identical to unbatched greedy: {sum(same)}/{len(same)}")
    model.get_base_model().set_attn_implementation("sdpa")
    bq = [prompts[i] for i in pick]
    b = study_style_answers(model, tok, bq, cfg.max_new_tokens, dev)
    b["extrapolated_seconds"] = b["seconds"] / b["questions"] * len(qs)
    model.get_base_model().set_attn_implementation(run.hf_attention())
    res.eval = {
        "questions": len(qs),
        "max_new_tokens": cfg.max_new_tokens,
        "gen_batch_size": cfg.gen_batch_size,
        "prompt_tokens": [min(map(len, prompts)), max(map(len, prompts))],
        "ccpapers": {
            "seconds": times[-1],
            "first_call_seconds": times[0],
            "other_questions_seconds": fresh_s,
            "forward_passes": steps,
            "peak_memory_gib": peak_gib(dev),
        },
        "reference_new_tokens": [r["new_tokens"] for r in ref],
        "identity": {
            "checked": len(same),
            "identical": sum(same),
            "all_identical": all(same),
            "min_gap_identical": [r["min_gap"] for r, s in zip(ref, same, strict=True) if s],
            "min_gap_different": [r["min_gap"] for r, s in zip(ref, same, strict=True) if not s],
            "mismatches": [
                {"id": qs[i].id, "batched": rows[i]["prediction"][:120], "unbatched": r["answer"][:120]}
                for i, r, s in zip(pick, ref, same, strict=True)
                if not s
            ][:3],
        },
        "baseline": b,
    }
    log(f"  baseline {b['tokens_per_second']:.1f} tok/s -> {b['extrapolated_seconds']:.0f} s for {len(qs)}")
    if dev.type == "cuda" and a.fp32_identity:
        res.eval["identity_fp32"] = fp32_identity(model, tok, qs, prompts, pick, cfg, acc)
        log(f"  fp32 identity: {res.eval['identity_fp32']}")


def fp32_identity(model: Any, tok: Any, qs: list, prompts: list, pick: list[int], cfg: Any, acc: Any) -> dict:
    """The same comparison in float32 (batch of 64 that holds the checked questions): shows
    that the batched path (length sorting, left padding, masks, positions) is exact, and
    that bf16 differences come from rounding at near-tied logits."""
    import torch

    from ccpapers.bench.evaluation import score_questions

    sub = pick + [i for i in range(len(qs)) if i not in pick][: 64 - len(pick)]
    model.float()
    try:
        rows = score_questions(model, tok, [qs[i] for i in sub], cfg, acc)
        ref = unbatched_reference(model, tok, [prompts[i] for i in pick], cfg, acc.device)
    finally:
        model.to(torch.bfloat16)
    same = [rows[k]["prediction"] == r["answer"] for k, r in enumerate(ref)]
    return {
        "checked": len(same),
        "identical": sum(same),
        "all_identical": all(same),
        "batch": len(sub),
        "min_gap_different": [r["min_gap"] for r, s in zip(ref, same, strict=True) if not s],
        "reference_new_tokens": [r["new_tokens"] for r in ref],
    }
