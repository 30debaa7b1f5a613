"""Put a training-ready model into a state that generates fast and exactly.

Training uses FlexAttention (block-diagonal masks over packed rows) and compiled blocks;
neither suits autoregressive decoding, where every step has a new key length: FlexAttention
would build a ``BlockMask`` and possibly recompile per step, and compiled training graphs
would recompile for every new shape. While generating, :func:`generation_ready` switches the
attention kernel to sdpa and runs the blocks eagerly; both are restored on exit. Combined with
merged LoRA weights (:func:`ccpapers.bench.models.merged_lora`) and large length-sorted batches
(``gen_batch_size``) this is what makes evaluation fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from ccpapers.bench.compiled import eager_blocks

GENERATION_ATTENTION = "sdpa"


def _base(model: Any) -> Any:
    get = getattr(model, "get_base_model", None)
    return get() if callable(get) else model


def attention_impl(model: Any) -> str | None:
    return getattr(getattr(_base(model), "config", None), "_attn_implementation", None)


def _sdpa_backends(model: Any) -> Any:
    """On CUDA, decode with sdpa's flash / memory-efficient kernels, not cuDNN attention
    (cuDNN builds an execution plan per new shape, and every decoding step has a new key
    length; see docs/gpu.md for the measured first-call cost)."""

    try:
        on_cuda = next(model.parameters()).is_cuda
    except (StopIteration, AttributeError, TypeError):
        on_cuda = False
    if not on_cuda:
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])


@contextmanager
def attention_switched(model: Any, impl: str = GENERATION_ATTENTION) -> Iterator[Any]:
    """Run FlexAttention models with ``impl`` (sdpa) inside the block; others are left alone."""
    base = _base(model)
    before = attention_impl(model)
    switch = before == "flex_attention" and hasattr(base, "set_attn_implementation")
    if switch:
        base.set_attn_implementation(impl)
    try:
        yield model
    finally:
        if switch:
            base.set_attn_implementation(before)


@contextmanager
def generation_ready(model: Any) -> Iterator[Any]:
    """sdpa attention (instead of flex) and eager blocks for the duration of the block."""
    with (
        attention_switched(model),
        eager_blocks(model) if hasattr(model, "modules") else nullcontext(),
        _sdpa_backends(model),
    ):
        yield model
