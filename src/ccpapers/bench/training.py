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
from dataclasses import dataclass, field
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


@dataclass
class TrainResult:
    """What :func:`fit` gives back: the trained model (under FSDP the wrapped one, which is what
    evaluates) and the JSON-able record of the run (losses, epochs, steps, throughput, precision)."""

    model: Any
    record: dict[str, Any]


@dataclass
class _Run:
    """The training state one :func:`fit` call carries from step to step."""

    model: Any
    optimizer: Any
    scheduler: Any
    loader: Any
    forward: Any
    by_text: bool
    dtype: Any
    shown: Any
    step: int = 0
    tokens: int = 0  # this process's real tokens so far
    tokens_all: int = 0  # every process's, summed per epoch
    seconds: float = 0.0
    stopped: str = ""
    losses: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)


def fit(
    model: Any,
    packed: Packed | TextRows,
    cfg: BenchConfig,
    accelerator: Any,
    attention: str,
    seed: int = 0,
    matmul_params: int = 0,
    on_epoch_end: Callable[[int, Any], float | None] | None = None,
    on_loss: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place on packed rows (:class:`Packed`) or one text per micro-step
    (:class:`TextRows`, the study's schedule); the record holds losses, per-epoch records,
    optimizer steps, tokens per step, tokens/s, MFU and the precision used."""
    import torch

    from ccpapers.bench.compiled import compile_for_training
    from ccpapers.bench.distributed import is_fsdp
    from ccpapers.bench.fastgen import attention_switched
    from ccpapers.bench.progress import TrainProgress

    gen = torch.Generator().manual_seed(seed)
    by_text = isinstance(packed, TextRows)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer, opt_name = _optimizer(model, trainable, cfg, accelerator)
    loader, micro_per_epoch = _loader(packed, cfg, accelerator, gen)
    total = _total_steps(micro_per_epoch, cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total, int(cfg.warmup_ratio * total)))
    model, optimizer, loader = _prepare(model, optimizer, loader, accelerator, cfg, by_text)
    use_amp = cfg.autocast is not False  # unset = on (autocast_dtype is None off CUDA)
    forward, uncompile = compile_for_training(model, bool(cfg.compile), use_amp)  # regional
    inner = accelerator.unwrap_model(model)
    precision, dtype = _precision(model, inner, trainable, accelerator, use_amp, opt_name)
    # under FSDP the wrapped model is what evaluates (its inner module holds sharded weights)
    trained = model if is_fsdp(accelerator) else None
    run = _Run(
        model, optimizer, scheduler, loader, forward, by_text, dtype, TrainProgress(total, cfg.epochs, seed)
    )
    # one causal text per row: plain causal attention (sdpa), no block masks to build
    switch = attention_switched(inner, "sdpa") if by_text else nullcontext()
    model.train()
    try:
        with switch:
            for epoch in range(1, cfg.epochs + 1):
                rec = _train_epoch(run, epoch, cfg, accelerator, attention, on_loss)
                if on_epoch_end is not None:
                    rec["dev_score"] = on_epoch_end(epoch, trained or inner)
                    run.stopped = _early_stop(run.epochs + [rec], cfg) or run.stopped
                    model.train()
                run.epochs.append(rec)
                run.shown.epoch(rec)
                if run.stopped:
                    break
    finally:
        run.shown.close()
        uncompile()
    record = _record(run, cfg, accelerator, precision, matmul_params)
    return TrainResult(trained or accelerator.unwrap_model(model), record)


def _optimizer(model: Any, trainable: list[Any], cfg: BenchConfig, accelerator: Any) -> tuple[Any, str]:
    from ccpapers.bench.distributed import is_fsdp, master_torch_dtypes
    from ccpapers.bench.optim import make_optimizer

    # under FSDP the flat parameters hold the master weights' dtype (float32 with mixed precision)
    masters = master_torch_dtypes(model) if is_fsdp(accelerator) else None
    return make_optimizer(trainable, cfg.optimizer, cfg.lr, cfg.weight_decay, masters)


def _loader(packed: Packed | TextRows, cfg: BenchConfig, accelerator: Any, gen: Any) -> tuple[Any, int]:
    """(what one epoch iterates, micro-steps per epoch on this process)."""
    from torch.utils.data import DataLoader, TensorDataset

    if isinstance(packed, TextRows):
        order = TextOrder(
            packed, accelerator.device, gen, accelerator.process_index, accelerator.num_processes
        )
        return order, len(order)
    ds = TensorDataset(packed.input_ids, packed.position_ids, packed.labels, packed.doc_ids)
    loader = DataLoader(ds, batch_size=cfg.batch_rows, shuffle=True, generator=gen)
    return loader, math.ceil(len(ds) / cfg.batch_rows / accelerator.num_processes)


def _total_steps(micro_per_epoch: int, cfg: BenchConfig) -> int:
    total = max(1, math.ceil(micro_per_epoch / cfg.grad_accum) * cfg.epochs)
    return min(total, cfg.max_steps) if cfg.max_steps else total


def _prepare(
    model: Any, optimizer: Any, loader: Any, accelerator: Any, cfg: BenchConfig, by_text: bool
) -> tuple[Any, Any, Any]:
    """Hand model, optimizer (and the packed rows' loader) to accelerate. The scheduler is not
    handed over: it is stepped here, once per optimizer step (accelerate's prepared scheduler steps
    once per process, so on 2 GPUs the decay reached 0 halfway)."""
    from ccpapers.bench.distributed import is_fsdp

    if by_text:  # the texts are on the device already; each rank iterates its own share
        model, optimizer = accelerator.prepare(model, optimizer)
    else:
        model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    accelerator.gradient_accumulation_steps = cfg.grad_accum  # else accumulate() steps every micro-batch
    if is_fsdp(accelerator):
        # FSDP's no_sync() would hold full-size unsharded gradients on every GPU between micro-steps:
        # reduce-scatter each micro-step instead (the shards accumulate)
        accelerator.gradient_state.plugin_kwargs["sync_each_batch"] = True
    return model, optimizer, loader


def _precision(
    model: Any, inner: Any, trainable: list[Any], accelerator: Any, use_amp: bool, opt_name: str
) -> tuple[dict[str, Any], Any]:
    """(the precision record, the dtype dense attention masks are built in)."""
    from ccpapers.bench.compiled import autocast_dtype
    from ccpapers.bench.distributed import compute_dtype, precision_record

    amp = autocast_dtype(inner, use_amp)
    precision = {
        "weights": str(trainable[0].dtype).replace("torch.", ""),
        "autocast": str(amp).replace("torch.", "") if amp is not None else None,
        "optimizer": opt_name,
    } | precision_record(model, accelerator, amp)
    if precision["sharding"]:  # FSDP keeps the trainable weights in its flat parameters
        precision["weights"] = "+".join(precision["master_dtypes"])
    return precision, compute_dtype(inner, accelerator, amp)  # dense masks match the activations


def _micro_step(run: _Run, batch: Any, cfg: BenchConfig, accelerator: Any, attention: str) -> tuple[Any, int]:
    """One forward/backward (the optimizer steps when accumulation is complete): (loss, real tokens)."""
    with accelerator.accumulate(run.model):
        if run.by_text:
            n_tok = int(batch.shape[-1])
            out = run.forward(input_ids=batch, labels=batch, use_cache=False)
        else:
            input_ids, position_ids, labels, doc_ids = batch
            n_tok = int((doc_ids > 0).sum())  # real tokens (padding has doc id 0)
            mask = attention_mask_for(doc_ids, attention, run.dtype)
            out = run.forward(
                input_ids=input_ids,
                position_ids=position_ids,
                attention_mask=mask,
                labels=labels,
                use_cache=False,
            )
        accelerator.backward(out.loss)
        if accelerator.sync_gradients and cfg.max_grad_norm:
            accelerator.clip_grad_norm_(run.model.parameters(), cfg.max_grad_norm)
        run.optimizer.step()
        if accelerator.sync_gradients and not run.optimizer.step_was_skipped:
            run.scheduler.step()
        run.optimizer.zero_grad(set_to_none=True)
    return out.loss.detach(), n_tok


def _train_epoch(
    run: _Run,
    epoch: int,
    cfg: BenchConfig,
    accelerator: Any,
    attention: str,
    on_loss: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    """One pass over the loader; returns the epoch's record (loss, steps, seconds, tokens)."""
    import torch

    from ccpapers.bench.distributed import sum_over_processes

    t0 = time.perf_counter()
    ep_tok0, pending = run.tokens, []
    for batch in run.loader:
        loss, n_tok = _micro_step(run, batch, cfg, accelerator, attention)
        run.tokens += n_tok
        # the loss stays on the device until the epoch ends: no host sync per step
        rec = None
        if accelerator.sync_gradients:
            run.step += 1
            rec = {"epoch": epoch, "step": run.step, "lr": run.scheduler.get_last_lr()[0]}
            run.shown.tick(run.tokens * accelerator.num_processes)
        pending.append((rec, loss))
        if cfg.max_steps and run.step >= cfg.max_steps:
            run.stopped = f"max_steps={cfg.max_steps}"
            break
    values = torch.stack([x for _, x in pending]).float().tolist() if pending else []
    for (rec, _), loss in zip(pending, values, strict=True):
        if rec is not None:
            rec["loss"] = loss
            run.losses.append(rec)
            if on_loss:
                on_loss(rec)
            run.shown.step(rec["step"], loss, rec["lr"], epoch)
    if accelerator.device.type == "cuda":
        torch.cuda.synchronize()
    ep_s = time.perf_counter() - t0
    run.seconds += ep_s
    # over every process: each rank trains on its own rows (their lengths and losses differ)
    loss_sum, n_sum, tok_sum = sum_over_processes(
        accelerator, [sum(values), len(values), run.tokens - ep_tok0]
    )
    rec = {"epoch": epoch, "loss": loss_sum / max(1.0, n_sum), "steps": run.step, "seconds": ep_s}
    rec["tokens"] = int(tok_sum)
    run.tokens_all += rec["tokens"]
    return rec


def _early_stop(epochs: list[dict[str, Any]], cfg: BenchConfig) -> str:
    """Why to stop after the last of ``epochs`` ("" = go on): ``early_stopping`` epochs in a row
    without a better dev score than the best before them."""
    if not cfg.early_stopping:
        return ""
    best, since_best = -math.inf, 0
    for rec in epochs:
        dev = rec.get("dev_score")
        if dev is None:
            continue
        if dev > best:
            best, since_best = dev, 0
        else:
            since_best += 1
    if since_best >= cfg.early_stopping:
        return f"early stopping after epoch {epochs[-1]['epoch']} (no dev gain for {since_best} epochs)"
    return ""


def _record(
    run: _Run, cfg: BenchConfig, accelerator: Any, precision: dict[str, Any], matmul_params: int
) -> dict[str, Any]:
    """The run's record: losses, epochs, throughput (tokens/s, MFU on a known GPU), peak memory."""
    import torch

    k = 4 if cfg.method == "lora" else 6
    peak = peak_flops(accelerator.device)
    tps = run.tokens_all / run.seconds if run.seconds else 0.0
    result: dict[str, Any] = {
        "losses": run.losses,
        "epochs": run.epochs,
        "steps": run.step,
        "schedule": "text" if run.by_text else "packed",
        "tokens_per_step": run.tokens_all / run.step if run.step else 0.0,
        "precision": precision,
        "stopped": run.stopped,
        "train_tokens": run.tokens_all,
        "train_seconds": run.seconds,
        "tokens_per_second": tps,
        "flops_basis": f"{k}N (N={matmul_params} matmul params)",
        "mfu": (tps * k * matmul_params / (peak * accelerator.num_processes))
        if peak and matmul_params
        else None,
    }
    peak_gib = torch.cuda.max_memory_allocated() / 2**30 if accelerator.device.type == "cuda" else None
    if peak_gib is not None:
        result["peak_memory_gib"] = peak_gib
    result["tokens_per_second_per_process"] = tps / accelerator.num_processes
    if accelerator.num_processes > 1:
        from ccpapers.bench.results import gather_all

        result["peak_memory_gib_per_process"] = gather_all(accelerator, peak_gib)
    else:
        result["peak_memory_gib_per_process"] = [peak_gib]
    return result
