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


def compile_for_training(model: Any, enabled: bool = True) -> tuple[Any, Callable[[], None]]:
    """``(forward, undo)``: ``forward`` is ``model`` with its blocks compiled (or the whole
    model compiled when no block class is recognised); ``undo()`` restores eager blocks."""
    if not enabled:
        return model, lambda: None
    import torch

    _raise_cache_limits()
    blocks = transformer_blocks(model)
    if not blocks:
        return torch.compile(model), lambda: None
    for b in blocks:
        b.compile()

    def undo() -> None:
        for b in blocks:
            b._compiled_call_impl = None

    return model, undo


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
