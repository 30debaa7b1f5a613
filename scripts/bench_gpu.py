#!/usr/bin/env python3
"""GPU benchmark of `ccpapers bench` against the study's loop, in one process on one machine.

Issue 7 (speed) and the GPU check of issue 6 (a ``fictional`` run end to end). Both paths run on
a random-initialised model of the Llama-2-7b shape (bf16; no download) with the study's LoRA
settings (r=100, alpha=300, v,o,gate,up,lm_head):

* study-style baseline: one text per step (batch 1, no packing), eager PEFT model, sdpa,
  AdamW; answers one question at a time with ``generate`` on the un-merged LoRA model;
* ccpapers: the code ``ccpapers bench`` runs (``bench.packing.pack`` -> ``bench.training.train``
  -> ``bench.evaluation.score_questions``): packed rows with document masks (FlexAttention),
  regional ``torch.compile``, merged LoRA and large length-sorted generation batches.

Phases (``--phases``): ``lora`` (train both ways, trial switch, profile), ``eval`` (250 questions),
``full`` (full fine-tuning both ways, in the precision that learns: float32 master weights with
bf16 autocast where 16 bytes/parameter fit the GPU, else bf16 weights with stochastic-rounding
AdamW; also ccpapers' one-text-per-step schedule on the baseline's texts), ``fictional`` (issue 6: ``run_bench`` on the fictional
suite with LoRA and with full FT; peak memory and time per epoch). Prints a table at the end and
writes ``bench_gpu.json`` (+ ``profile_*.txt``, ``fictional.json``) into ``--out``.

    python scripts/bench_gpu.py --out OUT            # GPU (H100: about 7-8 minutes)
    python scripts/bench_gpu.py --tiny --out OUT     # CPU smoke run (CI), numbers mean nothing
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("PYTORCH_ALLOC_CONF", "expandable_segments:True")

LLAMA2_7B = dict(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=32,
    max_position_embeddings=4096,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
)
SMOLLM2_135M = dict(  # HuggingFaceTB/SmolLM2-135M(-Instruct): the real model of issue 11
    vocab_size=49152,
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    max_position_embeddings=8192,
    rms_norm_eps=1e-5,
    rope_theta=100000.0,
    tie_word_embeddings=True,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=2,
)
SHAPES = {"llama2-7b": LLAMA2_7B, "smollm2-135m": SMOLLM2_135M}
TARGETS = {"lora_tps": 15000.0, "lora_mfu": 0.40, "full_mfu": 0.35, "eval_s": 10.0}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- setup


def padded_tokenizer(texts: list[str], vocab_size: int) -> Any:
    """The tiny Llama-2-like tokenizer trained on ``texts``, its vocabulary padded with
    filler tokens to ``vocab_size`` so every id a 32000-vocab model emits decodes."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    from ccpapers.bench.tiny import LLAMA2_CHAT_TEMPLATE, tiny_tokenizer

    spec = json.loads(tiny_tokenizer(texts).backend_tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    for i in range(max(vocab.values()) + 1, vocab_size):
        vocab[f"▁w{i}"] = i
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<unk>",
    )
    tok.chat_template = LLAMA2_CHAT_TEMPLATE
    if len(tok) != vocab_size:
        raise RuntimeError(f"padded tokenizer has {len(tok)} tokens, wanted {vocab_size}")
    return tok


def build_model(
    tiny: bool, tok: Any, device: Any, dtype: Any, attention: str, shape: str = "llama2-7b"
) -> Any:
    """Random-initialised model (Llama-2-7b shape, or the tiny test shape) and its info,
    wrapped as the ``LoadedModel`` ``run_bench`` accepts as ``resident``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from ccpapers.bench.models import LoadedModel, hf_attn_name
    from ccpapers.bench.tiny import tiny_config

    cfg = tiny_config(len(tok)) if tiny else LlamaConfig(**SHAPES[shape])
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(cfg, attn_implementation=hf_attn_name(attention), dtype=dtype)
    gc_ = model.generation_config
    gc_.do_sample, gc_.temperature, gc_.top_p, gc_.top_k = False, None, None, None
    gc_.pad_token_id = tok.pad_token_id
    model.config.use_cache = False
    info = {
        "model": "random-init " + ("tiny" if tiny else f"{shape} shape"),
        "dtype": str(dtype).replace("torch.", ""),
        "attention": attention,
        "params": sum(p.numel() for p in model.parameters()),
        "matmul_params": sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear)),
        "quant": "none",
    }
    return LoadedModel(model, tok, info["model"], dtype, attention, info)


def text_mix(n_short: int, short: tuple[int, int], n_long: int, long: tuple[int, int], vocab: int, seed: int):
    """Token-id documents: many short Q&A-sized texts and some introduction-sized ones
    (2000 words are about 2600-2900 Llama-2 tokens). Returns (all shuffled, short, long)."""
    rng = random.Random(seed)

    def doc(n: int) -> list[int]:
        return [1] + [rng.randrange(3, vocab) for _ in range(n - 2)] + [2]

    s = [doc(rng.randint(*short)) for _ in range(n_short)]
    lg = [doc(rng.randint(*long)) for _ in range(n_long)]
    mix = s + lg
    rng.shuffle(mix)
    return mix, s, lg


def make_questions(texts: list[str], n: int, seed: int, tok: Any, max_tokens: int = 60) -> list[Any]:
    """Question-like prompts cut from English texts, at most ``max_tokens`` tokens each
    (Llama-2 tokenises real quiz questions to about 15-60 tokens)."""
    from ccpapers.bench.suites.base import Question

    words = [w for w in " ".join(texts).split() if w.isascii()]
    rng = random.Random(seed)
    out: list[Any] = []
    while len(out) < n:
        k = rng.randint(4, 24)
        at = rng.randrange(0, max(1, len(words) - k))
        q = " ".join(words[at : at + k]).rstrip(".,;:") + "?"
        if len(tok(q)["input_ids"]) <= max_tokens:
            out.append(Question(id=f"q{len(out)}", question=q, answer="x", keywords=["x"], scorer="keywords"))
    return out


def sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def reset_peak(device: Any) -> None:
    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: Any) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None


def mfu(tps: float, k: int, n: int, device: Any) -> float | None:
    from ccpapers.bench.training import peak_flops

    peak = peak_flops(device)
    return tps * k * n / peak if peak else None


# --------------------------------------------------------------------------- study-style baseline


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


# --------------------------------------------------------------------------- profile


def categorize(name: str) -> str:
    n = name.lower()
    if "flex" in n or n.startswith("triton_tem"):
        return "attention (flex)"
    if any(s in n for s in ("gemm", "nvjet", "cutlass", "xmma", "cublas", "sm90_", "ampere_", "matmul")):
        return "matmul (cuBLAS)"
    if "adam" in n or "multi_tensor" in n or "foreach" in n:
        return "optimizer/clip"
    if any(s in n for s in ("softmax", "nll", "cross_entropy", "log_softmax")):
        return "loss (eager)"
    if n.startswith("triton_"):
        return "fused elementwise (triton)"
    if "memcpy" in n or "memset" in n:
        return "copies"
    return "other eager kernels"


def profile_train(
    model: Any, packed: Any, cfg: Any, acc: Any, attention: str, n_params: int, path: Path
) -> dict:
    """A few compiled training steps under torch.profiler: GPU time by kernel category."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from ccpapers.bench.training import train

    sync(acc.device)
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        train(model, packed, cfg, acc, attention, 0, n_params)
        sync(acc.device)
    wall = time.perf_counter() - t0
    acc.free_memory()
    cats: dict[str, float] = {}
    for e in prof.key_averages():
        if getattr(e, "device_type", None) != torch.autograd.DeviceType.CUDA:
            continue
        us = getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0)
        cats[categorize(e.key)] = cats.get(categorize(e.key), 0.0) + us / 1e6
    try:
        table = prof.key_averages().table(sort_by="self_device_time_total", row_limit=40)
    except Exception:  # older profilers name it after CUDA
        table = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=40)
    path.write_text(table + "\n\ncategories (s): " + json.dumps(cats, indent=1) + f"\nwall (s): {wall}\n")
    return {"wall_seconds": wall, "gpu_seconds_by_category": cats, "steps": len(packed)}


# --------------------------------------------------------------------------- phases


def ccpapers_train(lm: Any, model: Any, packed: Any, cfg: Any, acc: Any) -> dict:
    from ccpapers.bench.training import train

    reset_peak(acc.device)
    res = train(model, packed, cfg, acc, lm.attention, 0, lm.info["matmul_params"])
    res.pop("model")
    acc.free_memory()
    last = res["epochs"][-1]
    k = 4 if cfg.method == "lora" else 6
    steady = last["tokens"] / last["seconds"]
    by_text = res.get("schedule") == "text"
    return {
        "tokens_per_second": steady,
        "mfu": mfu(steady, k, lm.info["matmul_params"], acc.device),
        "tokens_per_second_incl_compile": res["tokens_per_second"],
        "peak_memory_gib": peak_gib(acc.device),
        "epochs": res["epochs"],
        "schedule": res.get("schedule"),
        "optimizer_steps": res.get("steps"),
        "tokens_per_step": res.get("tokens_per_step"),
        "precision": res.get("precision"),
        "rows": len(packed),
        "row_tokens": None if by_text else cfg.seq_len,
        "real_tokens_per_epoch": packed.n_tokens,
        "padding_share": 0.0 if by_text else 1 - packed.n_tokens / (len(packed) * cfg.seq_len),
        "compile": cfg.compile,
        "loss_first_last": [res["losses"][0]["loss"], res["losses"][-1]["loss"]] if res["losses"] else None,
    }


def phase_lora(lm: Any, a: argparse.Namespace, R: dict, acc: Any, out: Path, mix: tuple) -> Any:
    import torch

    from ccpapers.bench.models import add_lora
    from ccpapers.bench.packing import pack

    dev = acc.device
    docs, short, long_ = mix
    n = lm.info["matmul_params"]
    cfg = a.cfg(method="lora")
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
    R["lora"] = {"baseline": b}
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
    R["trial_switch"] = {
        "seconds": switch_s,
        "max_abs_logit_diff_vs_base": diff,
        "how": "unload() + add_lora()",
    }
    log(f"  trial switch {switch_s:.3f} s, logit diff vs base {diff}")
    # ccpapers path
    base.set_attn_implementation(_hf(lm.attention))
    packed = pack(docs, cfg.seq_len, 0)
    log(f"LoRA ccpapers: {len(packed)} rows x {cfg.seq_len}, compile={cfg.compile}, attention={lm.attention}")
    c = ccpapers_train(lm, model, packed, cfg, acc)
    R["lora"]["ccpapers"] = c
    log(
        f"  ccpapers {c['tokens_per_second']:.0f} tok/s, epochs {[round(e['seconds'], 2) for e in c['epochs']]}"
    )
    if a.profile:
        sub = _rows(packed, a.profile_rows)
        R["lora"]["profile"] = profile_train(
            model, sub, a.cfg(method="lora", epochs=1), acc, lm.attention, n, out / "profile_lora.txt"
        )
        log(f"  profile {R['lora']['profile']}")
    return model


def _hf(attention: str) -> str:
    from ccpapers.bench.models import hf_attn_name

    return hf_attn_name(attention)


def _rows(packed: Any, k: int) -> Any:
    from ccpapers.bench.packing import Packed

    k = min(k, len(packed))
    real = int((packed.doc_ids[:k] > 0).sum())
    return Packed(
        packed.input_ids[:k], packed.position_ids[:k], packed.labels[:k], packed.doc_ids[:k], real, 0
    )


def phase_eval(lm: Any, model: Any, a: argparse.Namespace, R: dict, acc: Any, texts: list[str]) -> None:
    from ccpapers.bench.evaluation import score_questions
    from ccpapers.bench.generation import prompt_ids

    dev = acc.device
    cfg = a.cfg(method="lora")
    qs = make_questions(texts, a.questions, seed=2, tok=lm.tokenizer)
    tok = lm.tokenizer
    prompts = [prompt_ids(tok, q.question, cfg) for q in qs]
    model.get_base_model().set_attn_implementation(_hf(lm.attention))  # as left by training
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
    model.get_base_model().set_attn_implementation(_hf(lm.attention))
    R["eval"] = {
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
        R["eval"]["identity_fp32"] = fp32_identity(model, tok, qs, prompts, pick, cfg, acc)
        log(f"  fp32 identity: {R['eval']['identity_fp32']}")


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


def phase_full(lm: Any, model: Any, a: argparse.Namespace, R: dict, acc: Any, out: Path, mix: tuple) -> None:
    import torch

    from ccpapers.bench.models import enable_checkpointing, is_peft
    from ccpapers.bench.packing import pack, text_rows

    dev = acc.device
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
    R["full"] = {"baseline": b, "precision": precision}
    log(f"  baseline {b['tokens_per_second']:.0f} tok/s")
    for p in base.parameters():
        p.grad = None
    acc.free_memory()
    # ccpapers, the study's schedule: the same texts, one per optimizer step, compiled (the first
    # epoch compiles; the last is timed)
    cfg_t = a.cfg(method="full", lr=1e-5, schedule="text", seq_len=4096, epochs=a.full_text_epochs)
    rows = text_rows(sample, cfg_t.seq_len)
    log(f"full FT ccpapers, one text per step: {len(rows)} texts x {cfg_t.epochs} epochs")
    try:
        R["full"]["ccpapers_text"] = ccpapers_train(lm, base, rows, cfg_t, acc)
        log(f"  ccpapers one text/step {R['full']['ccpapers_text']['tokens_per_second']:.0f} tok/s")
    except torch.OutOfMemoryError as exc:
        log(f"  one text/step: out of memory ({str(exc)[:200]})")
        R["full"]["ccpapers_text_error"] = "out of memory"
        for p in base.parameters():
            p.grad = None
        acc.free_memory()
    base.set_attn_implementation(_hf(lm.attention))
    cfg = a.cfg(
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
    R["full"]["ccpapers"] = c
    log(
        f"  ccpapers {c['tokens_per_second']:.0f} tok/s, epochs {[round(e['seconds'], 2) for e in c['epochs']]}"
    )
    if a.profile:
        cfg1 = a.cfg(method="full", lr=1e-5, seq_len=a.full_seq_len, grad_accum=a.full_grad_accum, epochs=1)
        cfg1.gradient_checkpointing = cfg.gradient_checkpointing
        R["full"]["profile"] = profile_train(
            base, _rows(packed, a.profile_rows), cfg1, acc, lm.attention, n, out / "profile_full.txt"
        )
        log(f"  profile {R['full']['profile']}")
    for p in base.parameters():
        p.grad = None


def phase_fictional(lm: Any, a: argparse.Namespace, R: dict, acc: Any, out: Path) -> None:
    """Issue 6: ``run_bench`` on the fictional suite, LoRA then full FT, resident base model."""
    import tempfile

    from ccpapers.bench.models import is_peft
    from ccpapers.bench.runner import run_bench

    if is_peft(lm.model):
        lm.model = lm.model.unload()
    work = Path(tempfile.mkdtemp(prefix="ccpapers-gpu-"))
    R["fictional"] = {}
    for method in ("lora", "full"):
        cfg = a.cfg(
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
        R["fictional"][method] = {
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
        log(f"  {method}: {json.dumps(R['fictional'][method])[:400]}")
    (out / "fictional.json").write_text(json.dumps(R["fictional"], indent=1))


# --------------------------------------------------------------------------- report


def fmt(x: Any, spec: str = ",.0f") -> str:
    if x is None:
        return "-"
    return format(x, spec)


def ratio(a: Any, b: Any) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def table(R: dict) -> str:
    L = [
        f"device: {R['device']}  torch {R['versions']['torch']}  transformers {R['versions']['transformers']}"
    ]
    L.append(f"{'':34}{'study-style':>14}{'ccpapers':>14}{'ratio':>9}")

    def row(name: str, b: Any, c: Any, spec: str = ",.0f", r: str | None = None) -> None:
        L.append(f"{name:34}{fmt(b, spec):>14}{fmt(c, spec):>14}{(r if r is not None else ratio(c, b)):>9}")

    for key, label, k in (("lora", "LoRA", "4N"), ("full", "full FT", "6N")):
        if key not in R or "ccpapers" not in R[key]:
            continue
        b, c = R[key]["baseline"], R[key]["ccpapers"]
        if "ccpapers_text" in R[key]:
            t = R[key]["ccpapers_text"]
            row(f"{label} one text/step tokens/s", b["tokens_per_second"], t["tokens_per_second"])
        row(f"{label} train tokens/s", b["tokens_per_second"], c["tokens_per_second"])
        row(f"{label} MFU ({k}, 989 TFLOP/s)", b["mfu"], c["mfu"], ".1%")
        row(f"{label} peak memory (GiB)", b["peak_memory_gib"], c["peak_memory_gib"], ".1f", "")
    if "eval" in R:
        e = R["eval"]
        b, c = e["baseline"]["extrapolated_seconds"], e["ccpapers"]["seconds"]
        row(f"eval {e['questions']} q x {e['max_new_tokens']} tok (s)", b, c, ",.1f", ratio(b, c))
        L.append(
            f"  (baseline timed on {e['baseline']['questions']} questions and scaled; ccpapers first call "
            f"{e['ccpapers']['first_call_seconds']:.1f} s)"
        )
        c = e["ccpapers"]
        L.append(
            f"  (other {e['questions']} questions {c['other_questions_seconds']:.1f} s; "
            f"{c['forward_passes']} forward passes per call = batches x (prefill + decode steps))"
        )
        if "identity_fp32" in e:
            f = e["identity_fp32"]
            L.append(
                f"  float32: identical to unbatched greedy {f['identical']}/{f['checked']} (batch {f['batch']})"
            )
        i = e["identity"]
        L.append(
            f"  answers identical to unbatched greedy: {i['identical']}/{i['checked']}"
            + (
                f" (differing ones had min top-2 logit gap {i['min_gap_different']})"
                if not i["all_identical"]
                else ""
            )
        )
    if "trial_switch" in R:
        t = R["trial_switch"]
        L.append(
            f"trial switch (unload + fresh adapter): {t['seconds']:.3f} s, base logits max diff {t['max_abs_logit_diff_vs_base']}"
        )
    if "fictional" in R:
        for m, f in R["fictional"].items():
            ep = ", ".join(f"{e['seconds']:.1f}" for e in f.get("epochs") or [])
            L.append(
                f"fictional {m}: peak {fmt(f['peak_memory_gib'], '.1f')} GiB, s/epoch [{ep}], "
                f"{fmt(f['tokens_per_second'])} tok/s, eval {f['eval_seconds']:.1f} s"
            )
    if R.get("targets"):
        L.append("targets: " + ", ".join(f"{k} {'MET' if v else 'missed'}" for k, v in R["targets"].items()))
    return "\n".join(L)


def targets(R: dict) -> dict[str, bool]:
    t: dict[str, bool] = {}
    if "lora" in R and "ccpapers" in R["lora"] and R["lora"]["ccpapers"]["mfu"] is not None:
        c = R["lora"]["ccpapers"]
        t["LoRA >= 15k tok/s"] = c["tokens_per_second"] >= TARGETS["lora_tps"]
        t["LoRA MFU >= 40%"] = c["mfu"] >= TARGETS["lora_mfu"]
    if "full" in R and "ccpapers" in R["full"] and R["full"]["ccpapers"]["mfu"] is not None:
        t["full FT MFU >= 35%"] = R["full"]["ccpapers"]["mfu"] >= TARGETS["full_mfu"]
    if "eval" in R:
        t["eval < 10 s"] = R["eval"]["ccpapers"]["seconds"] < TARGETS["eval_s"]
        t["answers identical"] = R["eval"]["identity"]["all_identical"]
    return t


# --------------------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--tiny", action="store_true", help="tiny model on CPU (CI smoke run; numbers mean nothing)"
    )
    p.add_argument("--out", default="bench-gpu-out", help="folder for bench_gpu.json and profiles")
    p.add_argument(
        "--phases", default="lora,eval,full,fictional", help="comma-separated: lora,eval,full,fictional"
    )
    p.add_argument(
        "--seq-len", type=int, default=None, help="packed row length for LoRA (default 4096; tiny 256)"
    )
    p.add_argument(
        "--full-seq-len", type=int, default=None, help="packed row length for full FT (default 2048)"
    )
    p.add_argument("--full-grad-accum", type=int, default=2, help="micro-steps per optimizer step, full FT")
    p.add_argument(
        "--epochs", type=int, default=3, help="LoRA epochs (the last one is timed; the first compiles)"
    )
    p.add_argument("--full-epochs", type=int, default=2)
    p.add_argument("--full-text-epochs", type=int, default=3, help="epochs of the one-text-per-step run")
    p.add_argument(
        "--shape", choices=sorted(SHAPES), default="llama2-7b", help="random-initialised model shape"
    )
    p.add_argument("--fict-epochs", type=int, default=3)
    p.add_argument("--questions", type=int, default=250)
    p.add_argument("--gen-batch-size", type=int, default=256)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument(
        "--no-fp32-identity", action="store_true", help="skip the float32 batched-vs-unbatched check"
    )
    a = p.parse_args(argv)
    a.profile = not a.no_profile
    a.fp32_identity = not a.no_fp32_identity
    t = a.tiny
    a.seq_len = a.seq_len or (256 if t else 4096)
    a.full_seq_len = a.full_seq_len or (256 if t else 2048)
    a.max_new = 20 if t else 100
    a.questions = min(a.questions, 24) if t else a.questions
    a.ref_questions = a.questions if t else 8
    a.base_questions = 4 if t else 3
    a.warm = 3
    a.base_short, a.base_long = (12, 1) if t else (60, 2)
    a.base_short_full, a.base_long_full = (8, 1) if t else (30, 1)
    a.profile_rows = 2 if t else 4
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    import torch
    import transformers
    from accelerate import Accelerator

    from ccpapers.bench.config import BenchConfig
    from ccpapers.bench.runner import load_suite

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    phases = [x for x in a.phases.split(",") if x]
    acc = Accelerator(cpu=not torch.cuda.is_available())
    dev = acc.device
    if not a.tiny and dev.type != "cuda":
        print("no CUDA device: run with --tiny for the CPU smoke run", file=sys.stderr)
        return 2
    dtype = torch.float32 if a.tiny else torch.bfloat16
    attention = "sdpa" if dev.type != "cuda" else "flex"

    def cfg(**kw: Any) -> BenchConfig:
        base = dict(
            tiny=a.tiny,
            model="" if a.tiny else f"random-init-{a.shape}-shape",
            dtype="fp32" if a.tiny else "bf16",
            attention=attention,
            compile=not a.no_compile and dev.type == "cuda",
            lora_r=100,
            lora_alpha=300.0,
            lr=2e-4,
            epochs=a.epochs,
            seq_len=a.seq_len,
            batch_rows=1,
            max_new_tokens=a.max_new,
            gen_batch_size=a.gen_batch_size,
            merge_for_eval=True,
        )
        base.update(kw)
        c = BenchConfig(**base)
        c.validate()
        return c

    a.cfg = cfg
    suite = load_suite(cfg(suite="fictional"))
    texts = [t for d in suite.documents for t in d.texts.values()]
    english = [d.texts["original"] for d in suite.documents if "original" in d.texts]
    vocab_size = 4096 if a.tiny else SHAPES[a.shape]["vocab_size"]
    tok = padded_tokenizer(texts + [q.question for q in suite.questions], vocab_size)
    R: dict[str, Any] = {
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "tiny": a.tiny,
        "args": {k: v for k, v in vars(a).items() if k != "cfg"},
    }
    t0 = time.perf_counter()
    lm = build_model(a.tiny, tok, dev, dtype, attention, a.shape)
    R["model"] = lm.info | {"build_seconds": time.perf_counter() - t0}
    log(f"model: {lm.info}")
    vocab = len(tok)
    mix = (
        text_mix(40, (20, 120), 3, (300, 500), vocab, 0)
        if a.tiny
        else text_mix(400, (40, 250), 16, (2600, 2900), vocab, 0)
    )
    R["mix"] = {
        "short_texts": len(mix[1]),
        "long_texts": len(mix[2]),
        "tokens": sum(map(len, mix[0])),
        "short_token_share": sum(map(len, mix[1])) / sum(map(len, mix[0])),
    }

    def save() -> None:
        R["targets"] = targets(R)
        (out / "bench_gpu.json").write_text(json.dumps(R, indent=1, default=str))

    model = lm.model
    try:
        if "lora" in phases or "eval" in phases:
            if "lora" in phases:
                model = phase_lora(lm, a, R, acc, out, mix)
            else:
                from ccpapers.bench.models import add_lora

                model = add_lora(lm.model, cfg())
            save()
            if "eval" in phases:
                phase_eval(lm, model, a, R, acc, english)
                save()
        if "full" in phases:
            phase_full(lm, model, a, R, acc, out, mix)
            save()
        elif "fictional" in phases and hasattr(model, "unload"):
            lm.model = model.unload()
        if "fictional" in phases:
            phase_fictional(lm, a, R, acc, out)
            save()
    finally:
        save()
        print("\n" + table(R), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
