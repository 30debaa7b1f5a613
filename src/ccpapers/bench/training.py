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
from contextlib import nullcontext
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.packing import Packed, TextRows, attention_mask_for

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


class TextOrder:
    """The study's schedule: each epoch a seeded permutation of the texts, one ``[1, L]`` tensor
    per micro-step (labels = input ids; the model shifts them). The texts are moved to the
    device once, so a step never waits on a host copy; under several processes each rank takes
    an equal share (wrapping around)."""

    def __init__(self, rows: TextRows, device: Any, gen: Any, rank: int = 0, world: int = 1) -> None:
        import torch

        self.tensors = [torch.tensor(d, dtype=torch.long, device=device)[None] for d in rows.docs]
        self.gen, self.rank, self.world = gen, rank, world

    def __len__(self) -> int:
        return math.ceil(len(self.tensors) / self.world)

    def __iter__(self) -> Any:
        import torch

        n = len(self.tensors)
        perm = torch.randperm(n, generator=self.gen).tolist()
        per = len(self)
        perm = (perm * (1 + per * self.world // max(1, n)))[: per * self.world]
        for i in perm[self.rank * per : (self.rank + 1) * per]:
            yield self.tensors[i]


def lr_lambda(total_steps: int, warmup: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return f


def train(
    model: Any,
    packed: Packed | TextRows,
    cfg: BenchConfig,
    accelerator: Any,
    attention: str,
    seed: int = 0,
    matmul_params: int = 0,
    on_epoch_end: Callable[[int, Any], float | None] | None = None,
    on_loss: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place on packed rows (:class:`Packed`) or one text per micro-step
    (:class:`TextRows`, the study's schedule); returns losses, per-epoch records, optimizer
    steps, tokens per step, tokens/s, MFU and the precision used."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from ccpapers.bench.compiled import autocast_dtype
    from ccpapers.bench.fastgen import attention_switched
    from ccpapers.bench.optim import make_optimizer

    gen = torch.Generator().manual_seed(seed)
    by_text = isinstance(packed, TextRows)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer, opt_name = make_optimizer(trainable, cfg.optimizer, cfg.lr, cfg.weight_decay)
    if by_text:
        loader: Any = TextOrder(
            packed, accelerator.device, gen, accelerator.process_index, accelerator.num_processes
        )
        micro_per_epoch = len(loader)
    else:
        ds = TensorDataset(packed.input_ids, packed.position_ids, packed.labels, packed.doc_ids)
        loader = DataLoader(ds, batch_size=cfg.batch_rows, shuffle=True, generator=gen)
        micro_per_epoch = math.ceil(len(ds) / cfg.batch_rows / accelerator.num_processes)
    total = max(1, math.ceil(micro_per_epoch / cfg.grad_accum) * cfg.epochs)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total, int(cfg.warmup_ratio * total)))
    if by_text:  # the texts are on the device already; each rank iterates its own share
        model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    else:
        model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    accelerator.gradient_accumulation_steps = cfg.grad_accum  # else accumulate() steps every micro-batch
    from ccpapers.bench.compiled import compile_for_training

    use_amp = cfg.autocast is not False  # unset = on (autocast_dtype is None off CUDA)
    forward, uncompile = compile_for_training(model, bool(cfg.compile), use_amp)  # regional
    inner = accelerator.unwrap_model(model)
    dtype = next(p for p in inner.parameters()).dtype
    amp = autocast_dtype(inner, use_amp)
    precision = {
        "weights": str(trainable[0].dtype).replace("torch.", ""),
        "autocast": str(amp).replace("torch.", "") if amp is not None else None,
        "optimizer": opt_name,
    }
    # one causal text per row: plain causal attention (sdpa), no block masks to build
    switch = attention_switched(inner, "sdpa") if by_text else nullcontext()
    k = 4 if cfg.method == "lora" else 6
    peak = peak_flops(accelerator.device)
    losses: list[dict[str, Any]] = []
    epochs: list[dict[str, Any]] = []
    step, tokens, train_time = 0, 0, 0.0
    best, since_best, stopped = -math.inf, 0, ""
    from ccpapers.bench.progress import TrainProgress

    shown = TrainProgress(total, cfg.epochs, seed)
    model.train()
    try:
        with switch:
            for epoch in range(1, cfg.epochs + 1):
                t0 = time.perf_counter()
                ep_tok0, pending = tokens, []
                for batch in loader:
                    with accelerator.accumulate(model):
                        if by_text:
                            n_tok = int(batch.shape[-1])
                            out = forward(input_ids=batch, labels=batch, use_cache=False)
                        else:
                            input_ids, position_ids, labels, doc_ids = batch
                            n_tok = int((doc_ids > 0).sum())  # real tokens (padding has doc id 0)
                            mask = attention_mask_for(doc_ids, attention, dtype)
                            out = forward(
                                input_ids=input_ids,
                                position_ids=position_ids,
                                attention_mask=mask,
                                labels=labels,
                                use_cache=False,
                            )
                        accelerator.backward(out.loss)
                        if accelerator.sync_gradients and cfg.max_grad_norm:
                            accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                        optimizer.step()
                        scheduler.step()
                        optimizer.zero_grad(set_to_none=True)
                    tokens += n_tok
                    # the loss stays on the device until the epoch ends: no host sync per step
                    rec = None
                    if accelerator.sync_gradients:
                        step += 1
                        rec = {"epoch": epoch, "step": step, "lr": scheduler.get_last_lr()[0]}
                        shown.tick(tokens * accelerator.num_processes)
                    pending.append((rec, out.loss.detach()))
                    if cfg.max_steps and step >= cfg.max_steps:
                        stopped = f"max_steps={cfg.max_steps}"
                        break
                values = torch.stack([x for _, x in pending]).float().tolist() if pending else []
                for (rec, _), loss in zip(pending, values, strict=True):
                    if rec is not None:
                        rec["loss"] = loss
                        losses.append(rec)
                        if on_loss:
                            on_loss(rec)
                        shown.step(rec["step"], loss, rec["lr"], epoch)
                if accelerator.device.type == "cuda":
                    torch.cuda.synchronize()
                ep_s = time.perf_counter() - t0
                train_time += ep_s
                ep_loss = sum(values) / max(1, len(values))
                rec = {"epoch": epoch, "loss": ep_loss, "steps": step, "seconds": ep_s}
                rec["tokens"] = (tokens - ep_tok0) * accelerator.num_processes
                if on_epoch_end is not None:
                    dev = on_epoch_end(epoch, inner)
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
    finally:
        shown.close()
        uncompile()
    tokens_all = tokens * accelerator.num_processes
    tps = tokens_all / train_time if train_time else 0.0
    result: dict[str, Any] = {
        "losses": losses,
        "epochs": epochs,
        "steps": step,
        "schedule": "text" if by_text else "packed",
        "tokens_per_step": tokens_all / step if step else 0.0,
        "precision": precision,
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
