"""A plain PyTorch training loop over packed rows, driven through ``accelerate.Accelerator``
so the same code runs on one device and under ``accelerate launch`` (DDP or FSDP).

Per step: the attention mask is built from ``doc_ids`` (FlexAttention BlockMask or dense
block-diagonal mask), ``use_cache=False`` is passed (a cache would let packed documents
attend to each other), loss is HF's shifted cross-entropy over labelled tokens.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.packing import Packed, attention_mask_for

# dense bf16 peak (TFLOP/s) for the MFU basis; unknown devices get no MFU
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def peak_flops(device: Any) -> float | None:
    import torch

    if getattr(device, "type", str(device)) != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, tf in PEAK_TFLOPS.items():
        if key in name:
            return tf * 1e12
    return None


def make_optimizer(model: Any, cfg: BenchConfig) -> Any:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise RuntimeError("no trainable parameters: LoRA targets matched nothing or the model is frozen")
    fused = all(p.is_cuda for p in params)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused or None)


def lr_lambda(total_steps: int, warmup: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return f


def train(
    model: Any,
    packed: Packed,
    cfg: BenchConfig,
    accelerator: Any,
    attention: str,
    seed: int = 0,
    matmul_params: int = 0,
    on_epoch_end: Callable[[int, Any], float | None] | None = None,
    on_loss: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place; returns losses, per-epoch records, tokens/s and MFU."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(packed.input_ids, packed.position_ids, packed.labels, packed.doc_ids)
    gen = torch.Generator().manual_seed(seed)
    loader = DataLoader(ds, batch_size=cfg.batch_rows, shuffle=True, generator=gen)
    optimizer = make_optimizer(model, cfg)
    steps_per_epoch = math.ceil(
        math.ceil(len(ds) / cfg.batch_rows / accelerator.num_processes) / cfg.grad_accum
    )
    total = max(1, steps_per_epoch * cfg.epochs)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total, int(cfg.warmup_ratio * total)))
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    accelerator.gradient_accumulation_steps = cfg.grad_accum  # else accumulate() steps every micro-batch
    from ccpapers.bench.compiled import compile_for_training

    forward, uncompile = compile_for_training(model, bool(cfg.compile))  # regional: one block graph
    dtype = next(p for p in accelerator.unwrap_model(model).parameters()).dtype
    k = 4 if cfg.method == "lora" else 6
    peak = peak_flops(accelerator.device)
    losses: list[dict[str, Any]] = []
    epochs: list[dict[str, Any]] = []
    step, tokens, train_time = 0, 0, 0.0
    best, since_best, stopped = -math.inf, 0, ""
    from ccpapers.bench.progress import TrainProgress

    shown = TrainProgress(total, cfg.epochs, seed)
    model.train()
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        ep_loss, ep_n, ep_tok0 = 0.0, 0, tokens
        for input_ids, position_ids, labels, doc_ids in loader:
            with accelerator.accumulate(model):
                mask = attention_mask_for(doc_ids, attention, dtype)
                out = forward(
                    input_ids=input_ids,
                    position_ids=position_ids,
                    attention_mask=mask,
                    labels=labels,
                    use_cache=False,
                )
                accelerator.backward(out.loss)
                if accelerator.sync_gradients:
                    if cfg.max_grad_norm:
                        accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            tokens += int((doc_ids > 0).sum())  # real tokens (padding has doc id 0)
            loss = float(out.loss.detach())
            ep_loss += loss
            ep_n += 1
            if accelerator.sync_gradients:
                step += 1
                rec = {"epoch": epoch, "step": step, "loss": loss, "lr": scheduler.get_last_lr()[0]}
                losses.append(rec)
                if on_loss:
                    on_loss(rec)
                shown.step(step, loss, tokens * accelerator.num_processes, rec["lr"], epoch)
                if cfg.max_steps and step >= cfg.max_steps:
                    stopped = f"max_steps={cfg.max_steps}"
                    break
        if accelerator.device.type == "cuda":
            torch.cuda.synchronize()
        ep_s = time.perf_counter() - t0
        train_time += ep_s
        rec = {"epoch": epoch, "loss": ep_loss / max(1, ep_n), "steps": step, "seconds": ep_s}
        rec["tokens"] = (tokens - ep_tok0) * accelerator.num_processes
        if on_epoch_end is not None:
            dev = on_epoch_end(epoch, accelerator.unwrap_model(model))
            rec["dev_score"] = dev
            if dev is not None and cfg.early_stopping:
                if dev > best:
                    best, since_best = dev, 0
                else:
                    since_best += 1
                    if since_best >= cfg.early_stopping:
                        stopped = f"early stopping after epoch {epoch} (no dev gain for {since_best} epochs)"
            model.train()
        epochs.append(rec)
        shown.epoch(rec)
        if stopped:
            break
    shown.close()
    uncompile()
    tokens_all = tokens * accelerator.num_processes
    tps = tokens_all / train_time if train_time else 0.0
    result: dict[str, Any] = {
        "losses": losses,
        "epochs": epochs,
        "steps": step,
        "stopped": stopped,
        "train_tokens": tokens_all,
        "train_seconds": train_time,
        "tokens_per_second": tps,
        "flops_basis": f"{k}N (N={matmul_params} matmul params)",
        "mfu": (tps * k * matmul_params / (peak * accelerator.num_processes))
        if peak and matmul_params
        else None,
    }
    if accelerator.device.type == "cuda":
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result | {"model": accelerator.unwrap_model(model)}
