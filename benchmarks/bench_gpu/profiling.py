"""A few compiled training steps under ``torch.profiler``: GPU time by kernel category."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_gpu.measure import sync


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

    from ccpapers.bench.training import fit

    sync(acc.device)
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fit(model, packed, cfg, acc, attention, 0, n_params)
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


def first_rows(packed: Any, k: int) -> Any:
    """The first ``k`` rows of a packed set: the steps the profile times."""
    from ccpapers.bench.packing import Packed

    k = min(k, len(packed))
    real = int((packed.doc_ids[:k] > 0).sum())
    return Packed(
        packed.input_ids[:k], packed.position_ids[:k], packed.labels[:k], packed.doc_ids[:k], real, 0
    )
