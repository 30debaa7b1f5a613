#!/usr/bin/env python3
"""One ``fictional`` run of ``ccpapers bench`` on a random-initialised Llama-2 shape, under
``accelerate launch`` (FSDP over several GPUs) or in one process (one GPU).

The run is ``ccpapers.bench.runner.run_bench`` itself, given the random model as its
``resident`` (no download, no checkpoint on disk): baseline answers, packed training, answers
after training. Under FSDP the model is built on each process's GPU from one seed, FSDP shards
it (``sync_module_states`` makes rank 0's copy the reference) and accelerate keeps the trainable
shards in float32 (``mixed_precision: bf16``: bf16 compute). Rank 0 writes one JSON file:
tokens/s (total and per GPU, the last epoch = steady state; the first one compiles), MFU per GPU,
peak memory of every process, the precision record, losses, scores and timings.

    accelerate launch --config_file train/accelerate/fsdp-full.yaml --num_processes 2 \\
        -m benchmarks.multigpu_bench --shape 7b --method full --out-json out/7b.json
    python -m benchmarks.multigpu_bench --shape 13b --method lora --out-json out/13b-1gpu.json
    # CPU smoke run (numbers mean nothing): --shape tiny
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

SHAPES: dict[str, dict[str, Any]] = {
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32),
    "13b": dict(hidden_size=5120, intermediate_size=13824, num_hidden_layers=40, num_attention_heads=40),
}
NCCL_SAFETY = ("NCCL_NVLS_ENABLE", "TORCH_SYMM_MEM_DISABLE_MULTICAST", "NVSHMEM_DISABLE_NVLS")


def llama_params(shape: str, vocab: int = 32000) -> int:
    """Parameter count of a Llama-2 shape (untied embeddings), without building it."""
    s = SHAPES[shape]
    h, f, n = s["hidden_size"], s["intermediate_size"], s["num_hidden_layers"]
    return 2 * vocab * h + n * (4 * h * h + 3 * h * f + 2 * h) + h


def build(shape: str, texts: list[str], device: Any, dtype: Any = None) -> Any:
    """(LoadedModel) random-initialised model of ``shape`` on ``device`` (``dtype``: default bf16
    on CUDA, float32 elsewhere) and a tokenizer that covers its vocabulary; every process builds
    the same weights (one seed)."""
    import torch
    from transformers import LlamaConfig

    from benchmarks.bench_gpu.workload import random_model

    cuda = device.type == "cuda"
    attention = "flex" if cuda else "sdpa"
    if shape == "tiny":
        from ccpapers.bench.tiny import tiny_config, tiny_tokenizer

        tok = tiny_tokenizer(texts)
        cfg = tiny_config(len(tok))
    else:
        from benchmarks.bench_gpu.shapes import LLAMA2_7B
        from benchmarks.bench_gpu.workload import padded_tokenizer

        tok = padded_tokenizer(texts, 32000)
        cfg = LlamaConfig(
            **(LLAMA2_7B | SHAPES[shape] | {"num_key_value_heads": SHAPES[shape]["num_attention_heads"]})
        )
    dtype = dtype or (torch.bfloat16 if cuda else torch.float32)
    return random_model(cfg, tok, device, dtype, attention, f"random-init Llama-2-{shape} shape")


def _versions() -> dict[str, str | None]:
    import importlib.metadata as md

    out: dict[str, str | None] = {}
    for pkg in ("torch", "transformers", "accelerate", "peft"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", choices=["tiny", "7b", "13b"], default="7b")
    p.add_argument("--method", choices=["full", "lora"], default="full")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seq-len", type=int, default=0, help="0 = 2048 for full FT, 4096 for LoRA (tiny: 128)")
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.0, help="0 = 1e-5 full FT, 2e-4 LoRA")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--max-questions", type=int, default=0)
    p.add_argument("--compile", choices=["auto", "on", "off"], default="auto")
    p.add_argument(
        "--dtype",
        choices=["bf16", "auto", "fp32"],
        default="bf16",
        help="weights as built (CUDA); auto = what ccpapers picks on one GPU: float32 master weights for "
        "full fine-tuning where 16 bytes/parameter fit, else bf16 (then the stochastic-rounding AdamW)",
    )
    p.add_argument("--suite-file", default="")
    p.add_argument("--work", default="multigpu-work")
    p.add_argument("--label", default="")
    p.add_argument("--out-json", required=True)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    t_start = time.perf_counter()
    import torch

    from ccpapers.bench.config import BenchConfig
    from ccpapers.bench.inputs import load_suite, tiny_texts
    from ccpapers.bench.runner import make_accelerator, run_bench
    from ccpapers.bench.training import peak_flops

    acc = make_accelerator()
    tiny = a.shape == "tiny"
    full = a.method == "full"
    cfg = BenchConfig(
        suite="fictional",
        suite_file=a.suite_file,
        model=f"random-init-llama-2-{a.shape}-shape",
        method=a.method,
        schedule="packed",  # the throughput configuration (issue 11: packed 2048 x 2 on one GPU)
        epochs=a.epochs,
        seq_len=a.seq_len or (128 if tiny else 2048 if full else 4096),
        grad_accum=a.grad_accum,
        lr=a.lr or (1e-5 if full else 2e-4),
        lora_r=4 if tiny else 100,
        lora_alpha=8.0 if tiny else 300.0,
        max_new_tokens=a.max_new_tokens,
        max_questions=a.max_questions,
        compile={"auto": None, "on": True, "off": False}[a.compile],
        work=a.work,
        run_name=a.label or f"{a.shape}-{a.method}-w{acc.num_processes}",
    )
    suite = load_suite(cfg)
    dtype = None
    if acc.device.type == "cuda" and a.dtype != "bf16":
        from ccpapers.bench.models import resolve_device_options

        n = llama_params(a.shape) if a.shape in SHAPES else None
        dtype = resolve_device_options(replace(cfg, dtype=a.dtype), n)[0]
    t0 = time.perf_counter()
    lm = build(a.shape, tiny_texts(suite), acc.device, dtype)
    build_s = time.perf_counter() - t0
    if acc.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    summary = run_bench(cfg, accelerator=acc, resident=lm)
    if not acc.is_main_process:
        return 0
    out_dir = Path(summary["out_dir"])
    seed = json.loads((out_dir / "seed-0.json").read_text(encoding="utf-8"))
    last = seed["epochs"][-1]
    tps = last["tokens"] / last["seconds"] if last["seconds"] else 0.0
    world = acc.num_processes
    k = 4 if a.method == "lora" else 6
    n = lm.info["matmul_params"]
    peak = peak_flops(acc.device)
    rec = {
        "label": cfg.run_name,
        "shape": a.shape,
        "method": a.method,
        "world_size": world,
        "distributed_type": acc.distributed_type.name,
        "device": torch.cuda.get_device_name(acc.device) if acc.device.type == "cuda" else "cpu",
        "gpu_memory_gib": torch.cuda.get_device_properties(acc.device).total_memory / 2**30
        if acc.device.type == "cuda"
        else None,
        "versions": _versions(),
        "params": lm.info["params"],
        "matmul_params": n,
        "config": {
            "seq_len": cfg.seq_len,
            "grad_accum": cfg.grad_accum,
            "lr": cfg.lr,
            "epochs": cfg.epochs,
            "max_new_tokens": cfg.max_new_tokens,
            "compile": cfg.compile,
            "lora_r": cfg.lora_r if a.method == "lora" else None,
        },
        "precision": seed.get("precision"),
        "epochs": seed["epochs"],
        "steady_tokens_per_second": tps,
        "steady_tokens_per_second_per_gpu": tps / world,
        "mfu_per_gpu": (tps / world) * k * n / peak if peak else None,
        "flops_basis": f"{k}N",
        "tokens_per_second_incl_compile": seed.get("tokens_per_second"),
        "peak_memory_gib_per_process": seed.get("peak_memory_gib_per_process"),
        "n_questions": summary["n_questions"],
        "base_score": summary["base_score"],
        "score": summary["score"]["mean"],
        "loss_first_last_epoch": [seed["epochs"][0]["loss"], last["loss"]],
        "build_seconds": build_s,
        "baseline_seconds": summary["baseline_seconds"],
        "train_seconds": summary["train_seconds"],
        "eval_seconds": summary["eval_seconds"],
        "wall_seconds": time.perf_counter() - t_start,
        "nccl_safety_env": {v: os.environ.get(v) for v in NCCL_SAFETY},
        "out_dir": str(out_dir),
    }
    path = Path(a.out_json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=1, default=str), encoding="utf-8")
    print(json.dumps({k: rec[k] for k in ("label", "steady_tokens_per_second_per_gpu", "mfu_per_gpu")}))
    return 0


if __name__ == "__main__":
    from ccpapers.bench.distributed import end_process_group

    rc = main()
    end_process_group()  # every rank, after rank 0 has written its JSON
    raise SystemExit(rc)
