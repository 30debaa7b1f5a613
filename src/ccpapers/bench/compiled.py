"""Regional ``torch.compile`` for training: compile each transformer block, not the whole model.

The decoder layers of a Llama-style model are identical modules, so compiling each one
(``module.compile()``) makes Dynamo/Inductor build one graph that all layers reuse: compile
time is that of a single layer (seconds, not the minute a whole 7B model takes), and a
LoRA re-add between trials or a switch to full fine-tuning recompiles one layer, not the
model. The embedding, the final norm, ``lm_head`` and the loss run eagerly.

``compile_for_training`` returns the callable to use for forward passes and an ``undo``
function that puts the layers back to eager (generation must not run through graphs
compiled for fixed-length packed training rows; see :mod:`ccpapers.bench.fastgen`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# names of the repeated block classes (transformers' Llama/Mistral/Qwen/Gemma: *DecoderLayer)
BLOCK_SUFFIXES = ("DecoderLayer", "TransformerBlock")


def transformer_blocks(model: Any) -> list[Any]:
    """The repeated transformer blocks of ``model`` (empty if none are recognised)."""
    return [m for m in model.modules() if type(m).__name__.endswith(BLOCK_SUFFIXES)]


def _raise_cache_limits() -> None:
    import torch._dynamo

    # every compiled block shares Module._call_impl's code object: LoRA vs full FT and
    # train vs eval each add an entry, so the default limit of 8 is too tight for sweeps
    cfg = torch._dynamo.config
    cfg.cache_size_limit = max(cfg.cache_size_limit, 64)
    if hasattr(cfg, "accumulated_cache_size_limit"):
        cfg.accumulated_cache_size_limit = max(cfg.accumulated_cache_size_limit, 512)


def autocast_dtype(model: Any, enabled: bool = True) -> Any:
    """The 16-bit dtype to autocast the matmuls to when float32 parameters train on CUDA, else
    ``None``: the base's dtype for float32 LoRA adapters on a 16-bit model (peft's default;
    without autocast their matmuls run as float32 SIMT GEMMs, measured at a third of a 7B LoRA
    step on an H100), bf16 for a float32 model (float32 master weights, full fine-tuning)."""
    import torch

    params = list(model.parameters())
    if not enabled or not params or params[0].device.type != "cuda":
        return None
    if not any(p.requires_grad and p.dtype == torch.float32 for p in params):
        return None
    low = {p.dtype for p in params} & {torch.bfloat16, torch.float16}
    if len(low) == 1:
        return next(iter(low))
    if not low and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def compile_for_training(
    model: Any, enabled: bool = True, autocast: bool = True
) -> tuple[Any, Callable[[], None]]:
    """``(forward, undo)``: ``forward`` calls ``model`` with its blocks compiled (or the whole
    model compiled when no block class is recognised), under bf16/fp16 autocast when float32
    parameters train on CUDA and ``autocast`` is on (float32 master weights, 16-bit matmuls, as
    Trainer's ``bf16=True``); ``undo()`` restores eager blocks."""
    import torch

    forward, undo = model, lambda: None
    if enabled:
        _raise_cache_limits()
        blocks = transformer_blocks(model)
        if not blocks:
            forward = torch.compile(model)
        else:
            for b in blocks:
                b.compile()

            def undo() -> None:
                for b in blocks:
                    b._compiled_call_impl = None

    dtype = autocast_dtype(model, autocast)
    if dtype is None:
        return forward, undo
    inner = forward

    def autocast_forward(*args: Any, **kwargs: Any) -> Any:
        with torch.autocast("cuda", dtype=dtype):
            return inner(*args, **kwargs)

    return autocast_forward, undo


@contextmanager
def eager_blocks(model: Any) -> Iterator[None]:
    """Temporarily run every compiled submodule of ``model`` eagerly (restored on exit)."""
    saved = [
        (m, m._compiled_call_impl)
        for m in model.modules()
        if getattr(m, "_compiled_call_impl", None) is not None
    ]
    for m, _ in saved:
        m._compiled_call_impl = None
    try:
        yield
    finally:
        for m, impl in saved:
            m._compiled_call_impl = impl
