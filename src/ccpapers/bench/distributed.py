"""Runs under ``accelerate launch`` (several processes): the launch's device, FSDP set up once
per run, and evaluation through sharded weights.

NCCL reduces only tensors on the launch's GPU. Every collective a run issues (generation's
``synced_gpus`` flag, FSDP's all-gathers, ``gather_object``) therefore needs its tensors on
``accelerator.device``, and so does the model they are derived from. Under FSDP the model is
loaded unplaced (rank 0 on the CPU, the other ranks on the meta device with
``fsdp_cpu_ram_efficient_loading``), so nothing may run on it before FSDP has wrapped it:
:func:`prepare_sharded` adds the adapters (or unfreezes every weight) and wraps the model once,
and the baseline, training and evaluation of every seed all use that one sharded model.

Precision under FSDP: with ``mixed_precision: bf16`` in the accelerate config, accelerate keeps
each trainable flat parameter in float32 (sharded master weights; AdamW states float32 as well)
and FSDP computes in bf16. Frozen weights stay in their load dtype: LoRA adapters are wrapped as
their own FSDP units (peft's wrap policy) so a frozen block is not upcast with them. The
optimizer is chosen from the flat parameters' dtype (``optimizer=auto``: AdamW for float32
masters, the stochastic-rounding AdamW for bf16 ones, as on one GPU; never pure bf16 AdamW).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.config import ConfigError

log = logging.getLogger(__name__)


def is_fsdp(accelerator: Any) -> bool:
    return accelerator is not None and accelerator.distributed_type.name == "FSDP"


def launch_device(accelerator: Any, model: Any = None) -> Any:
    """The device every input, mask and collective tensor of this process belongs on:
    ``accelerator.device``; without an accelerator, the device of ``model``'s parameters."""
    if accelerator is not None:
        return accelerator.device
    return next(model.parameters()).device


def sum_over_processes(accelerator: Any, values: list[float]) -> list[float]:
    """Each of ``values`` summed over every process (one all-reduce of a float64 tensor on the
    launch's device)."""
    if accelerator is None or accelerator.num_processes == 1:
        return [float(v) for v in values]
    import torch

    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=launch_device(accelerator))
    return [float(x) for x in accelerator.reduce(t, reduction="sum").tolist()]


def _fsdp_class() -> Any:
    from torch.distributed.fsdp import FullyShardedDataParallel

    return FullyShardedDataParallel


def fsdp_units(model: Any) -> list[Any]:
    if model is None or not hasattr(model, "modules"):
        return []
    FSDP = _fsdp_class()  # noqa: N806
    return [m for m in model.modules() if isinstance(m, FSDP)]


def compute_dtype(model: Any, accelerator: Any = None, autocast: Any = None) -> Any:
    """The dtype activations have in the forward pass (dense attention masks must match it):
    the launch's mixed precision where one is set, else ``autocast`` (the dtype
    ``bench.compiled`` autocasts to, if any), else the dtype of the first parameter."""
    import torch

    mp = getattr(accelerator, "mixed_precision", "no") if accelerator is not None else "no"
    if mp in ("bf16", "fp16"):
        return torch.bfloat16 if mp == "bf16" else torch.float16
    return autocast or next(model.parameters()).dtype


def master_torch_dtypes(model: Any) -> list[Any]:
    """Dtypes of the weights the optimizer updates. Under FSDP: those of the trainable flat
    parameters (accelerate upcasts them to float32 after wrapping; the parameters' views show the
    new dtype only after the first forward)."""
    units = fsdp_units(model)
    if units:
        flats = [u._handle.flat_param for u in units if getattr(u, "_handle", None) is not None]
        dts = {f.dtype for f in flats if f.requires_grad}
    else:
        dts = {p.dtype for p in model.parameters() if p.requires_grad}
    return sorted(dts, key=str)


def master_dtypes(model: Any) -> list[str]:
    return [str(d).replace("torch.", "") for d in master_torch_dtypes(model)]


def precision_record(model: Any, accelerator: Any, autocast: Any = None) -> dict[str, Any]:
    """What trains in which precision, for the results (``seed-<n>.json``)."""
    rec: dict[str, Any] = {
        "master_dtypes": master_dtypes(model),
        "compute_dtype": str(compute_dtype(model, accelerator, autocast)).replace("torch.", ""),
        "mixed_precision": getattr(accelerator, "mixed_precision", "no"),
        "sharding": None,
    }
    if is_fsdp(accelerator):
        plugin = accelerator.state.fsdp_plugin
        strategy = getattr(plugin, "sharding_strategy", None)
        rec["sharding"] = getattr(strategy, "name", str(strategy))
    return rec


def prepare_sharded(lm: Any, cfg: BenchConfig, accelerator: Any, seed: int) -> Any:
    """Make ``lm.model`` trainable for ``cfg.method`` and wrap it with FSDP once (placed on the
    launch device, sharded across the processes); returns the wrapped model. LoRA adapters are
    created after ``set_seed(seed)``, as the one-device path creates them for its seed."""
    from accelerate.utils import set_seed

    from ccpapers.bench.models import add_lora, enable_checkpointing

    if cfg.save_adapter:
        raise ConfigError(
            "save_adapter is not supported under FSDP yet: run LoRA on one GPU to save adapters"
        )
    set_seed(seed)
    model = lm.model
    if cfg.method == "lora":
        model = add_lora(model, cfg)
        from peft.utils.other import fsdp_auto_wrap_policy

        # adapters as their own FSDP units: frozen blocks keep their dtype (no float32 copy of
        # the base), adapters are float32 master weights
        accelerator.state.fsdp_plugin.auto_wrap_policy = fsdp_auto_wrap_policy(model)
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    if cfg.gradient_checkpointing:
        enable_checkpointing(model)
    wrapped = accelerator.prepare_model(model)
    lm.model = wrapped
    return wrapped


@contextmanager
def generation_view(model: Any) -> Iterator[Any]:
    """The module to call ``generate`` (or a forward) on. An FSDP root wrapper has no
    ``generate``: its inner module is used with the root's own parameters (embeddings, final
    norm, ``lm_head``) gathered for the duration; the nested units gather theirs in their forward."""
    FSDP = _fsdp_class()  # noqa: N806
    if not isinstance(model, FSDP):
        yield model
        return
    with FSDP.summon_full_params(model, recurse=False, writeback=False):
        yield model.module


def snapshot_shards(model: Any) -> list[Any]:
    """CPU copies of this process's shard of every trainable parameter (to undo full
    fine-tuning before the next seed; each process keeps only its own shard)."""
    return [p.detach().to("cpu", copy=True) for p in model.parameters() if p.requires_grad]


def restore_shards(model: Any, snapshot: list[Any]) -> None:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    with torch.no_grad():
        for p, saved in zip(params, snapshot, strict=True):
            p.copy_(saved.to(p.device))


def reset_lora(model: Any, seed: int) -> None:
    """Fresh adapters for the next seed (LoRA A re-drawn from ``seed``, B zero) in place in the
    sharded model: every process draws the same full values and keeps its shard."""
    import torch
    from peft.tuners.lora import LoraLayer

    FSDP = _fsdp_class()  # noqa: N806
    with FSDP.summon_full_params(model, writeback=True):
        torch.manual_seed(seed)
        for m in model.modules():
            if isinstance(m, LoraLayer):
                for name in m.active_adapters:
                    m.reset_lora_parameters(name, True)


def reset_between_seeds(model: Any, cfg: BenchConfig, seed: int, snapshot: list[Any] | None) -> None:
    """Put the sharded model back to the base (full fine-tuning) or fresh adapters (LoRA)."""
    if cfg.method == "lora":
        reset_lora(model, seed)
    elif snapshot is not None:
        restore_shards(model, snapshot)
    model.zero_grad(set_to_none=True)


def end_process_group() -> None:
    """Leave ``accelerate launch`` / ``torchrun`` cleanly: without it NCCL warns at exit and the
    launcher can wait seconds for the ranks to go."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
