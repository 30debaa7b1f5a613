"""What every phase shares: the flags, the accelerator, the resident model, the output folder,
and the one way a phase gets a ``BenchConfig``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class GpuRun:
    args: argparse.Namespace  # options.parse's flags, with the derived sizes
    acc: Any  # accelerate.Accelerator
    out: Path
    attention: str  # flex on CUDA, sdpa elsewhere
    lm: Any = None  # the resident ccpapers.bench.models.LoadedModel, once built

    @property
    def device(self) -> Any:
        return self.acc.device

    def cfg(self, **kw: Any) -> Any:
        """The benchmark's BenchConfig (the study's LoRA settings), with ``kw`` on top, validated."""
        from ccpapers.bench.config import BenchConfig

        a = self.args
        base = dict(
            tiny=a.tiny,
            model="" if a.tiny else f"random-init-{a.shape}-shape",
            dtype="fp32" if a.tiny else "bf16",
            attention=self.attention,
            compile=not a.no_compile and self.device.type == "cuda",
            lora_r=100,
            lora_alpha=300.0,
            lr=2e-4,
            epochs=a.epochs,
            seq_len=a.seq_len,
            batch_rows=1,
            max_new_tokens=a.max_new,
            gen_batch_size=a.gen_batch_size,
            merge_for_eval=True,
        )
        base.update(kw)
        c = BenchConfig(**base)
        c.validate()
        return c

    def hf_attention(self) -> str:
        """The transformers name of the attention the ccpapers path trains and answers with."""
        from ccpapers.bench.models import hf_attn_name

        return hf_attn_name(self.attention)
