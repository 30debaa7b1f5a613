"""Timing and memory helpers: synchronised clocks, peak memory, model FLOPs utilisation."""

from __future__ import annotations

import gc
import time
from typing import Any


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


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
