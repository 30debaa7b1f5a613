"""The seed study's way, the baseline: one text per optimizer step, one question per
``generate`` call, and greedy decoding one prompt at a time as the reference answers."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.bench_gpu.measure import sync


def study_style_train(
    model: Any, docs: list[list[int]], warm: list[list[int]], lr: float, device: Any
) -> dict:
    """The seed study's loop: one unpacked text per optimizer step (Trainer, batch 1), eager,
    loss over the text, gradient clipping 1.0, AdamW."""
    import torch

    from ccpapers.bench.optim import make_optimizer

    params = [p for p in model.parameters() if p.requires_grad]
    opt, _ = make_optimizer(params, "auto", lr, 0.0)  # the optimizer that learns, as ccpapers uses
    model.train()

    from ccpapers.bench.compiled import autocast_dtype

    amp = autocast_dtype(model)  # Trainer(bf16=True) autocasts the float32 LoRA adapters too

    def step(d: list[int]) -> None:
        ids = torch.tensor([d], device=device)
        with torch.autocast("cuda", dtype=amp, enabled=amp is not None):
            out = model(input_ids=ids, labels=ids, use_cache=False)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for d in warm:
        step(d)
    sync(device)
    t0 = time.perf_counter()
    for d in docs:
        step(d)
    sync(device)
    dt = time.perf_counter() - t0
    n = sum(len(d) for d in docs)
    return {"tokens": n, "seconds": dt, "tokens_per_second": n / dt, "texts": len(docs)}


def study_style_answers(
    model: Any, tok: Any, prompts: list[list[int]], max_new: int, device: Any, time_box: float = 20.0
) -> dict:
    """One question at a time through ``generate`` on the un-merged (PEFT) model."""
    import torch

    model.eval()
    sync(device)
    t0 = time.perf_counter()
    n_new, done = 0, 0
    for p in prompts:
        if done >= 2 and time.perf_counter() - t0 > time_box:
            break
        done += 1
        with torch.no_grad():
            g = model.generate(
                input_ids=torch.tensor([p], device=device),
                attention_mask=torch.ones(1, len(p), dtype=torch.long, device=device),
                max_new_tokens=max_new,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
                use_cache=True,
            )
        n_new += g.shape[1] - len(p)
    sync(device)
    dt = time.perf_counter() - t0
    return {"questions": done, "seconds": dt, "new_tokens": n_new, "tokens_per_second": n_new / dt}


def unbatched_reference(model: Any, tok: Any, prompts: list[list[int]], cfg: Any, device: Any) -> list[dict]:
    """Greedy decoding one prompt at a time (no padding), with the merged weights the ccpapers
    path answers with; also the smallest top-1/top-2 logit gap met on the way (near-ties are
    where bf16 rounding differences between batch shapes can flip a greedy choice)."""
    import torch

    from ccpapers.bench.fastgen import generation_ready
    from ccpapers.bench.generation import clean_answer
    from ccpapers.bench.models import merged_lora

    out = []
    with merged_lora(model, cfg.merge_for_eval), generation_ready(model), torch.no_grad():
        model.eval()
        for p in prompts:
            g = model.generate(
                input_ids=torch.tensor([p], device=device),
                attention_mask=torch.ones(1, len(p), dtype=torch.long, device=device),
                max_new_tokens=cfg.max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
                use_cache=True,
                output_scores=True,
                return_dict_in_generate=True,
            )
            gaps = [float(s[0].float().topk(2).values.diff().abs()) for s in g.scores]
            text = tok.decode(g.sequences[0, len(p) :], skip_special_tokens=True)
            out.append(
                {
                    "answer": clean_answer(text, cfg),
                    "min_gap": min(gaps) if gaps else None,
                    "new_tokens": len(gaps),
                }
            )
    return out
