"""Optimizers for full fine-tuning, and the choice between them.

Pure bf16 AdamW (bf16 weights updated in place) loses every update smaller than half a bf16
step of the weight it is added to: bf16 keeps 8 significant bits, so a weight of 0.02 moves
only by steps of about 1e-4, and at the study's learning rates (1e-5 .. 3e-5; an Adam update is
about lr in size) nearly nothing changes. Measured on SmolLM2-135M: identical answers to the
base model after ten epochs at 3e-5 (issue 11). Two ways out, in order of preference:

* float32 master weights (``dtype=auto`` where 16 bytes/parameter fit the GPU), with the matmuls
  under bf16 autocast: what ``Trainer(bf16=True)`` does with a float32 model;
* :class:`StochasticRoundingAdamW` for bf16 weights that must stay bf16 (7B on one 80 GB GPU):
  the update is computed in float32 and written back with stochastic rounding, whose expected
  value is the exact float32 result, so small updates count on average (moments are bf16 with
  stochastic rounding too: 8 bytes/parameter with bf16 gradients, as pure bf16 AdamW).
"""

from __future__ import annotations

import logging
from typing import Any

import torch

log = logging.getLogger(__name__)

PURE_16BIT_WARNING = (
    "optimizer=adamw on 16-bit trainable weights: pure 16-bit AdamW loses every update below the "
    "weights' 16-bit resolution (at lr 1e-5..3e-5 nearly all of them); use optimizer=auto "
    "(stochastic rounding) or dtype=fp32 master weights"
)


def stochastic_round_(dst: Any, src: Any) -> None:
    """Write float32 ``src`` into ``dst``: exact for float32, stochastically rounded for bf16
    (add uniform noise below the 16 bits bf16 drops, then truncate: E[result] = src)."""
    if dst.dtype == torch.float32:
        dst.copy_(src)
        return
    if dst.dtype != torch.bfloat16:
        raise ValueError(f"stochastic rounding supports bfloat16 and float32 weights, not {dst.dtype}")
    bits = src.contiguous().view(torch.int32)
    noise = torch.randint_like(bits, 0, 1 << 16)
    dst.copy_(((bits + noise) & -65536).view(torch.float32))  # low 16 bits zero: exact in bf16


class StochasticRoundingAdamW(torch.optim.Optimizer):
    """AdamW (decoupled weight decay, bias correction) for bf16 or float32 parameters with
    float32 update math and stochastic rounding into the stored dtype."""

    def __init__(
        self,
        params: Any,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                t = st["step"]
                g = p.grad.float()
                m = st["exp_avg"].float().lerp_(g, 1 - b1)
                v = st["exp_avg_sq"].float().mul_(b2).addcmul_(g, g, value=1 - b2)
                w = p.float()
                if wd:
                    w.mul_(1 - lr * wd)
                denom = (v / (1 - b2**t)).sqrt_().add_(eps)
                w.addcdiv_(m, denom, value=-lr / (1 - b1**t))
                stochastic_round_(p, w)
                stochastic_round_(st["exp_avg"], m)
                stochastic_round_(st["exp_avg_sq"], v)
        return loss


def resolve_optimizer(name: str, params: list[Any]) -> str:
    """``auto`` -> ``adamw`` when every trainable weight is float32, else ``adamw-sr``."""
    low = any(p.dtype in (torch.bfloat16, torch.float16) for p in params)
    if name == "auto":
        return "adamw-sr" if low else "adamw"
    if name == "adamw" and low:
        log.warning(PURE_16BIT_WARNING)
    return name


def make_optimizer(params: list[Any], name: str, lr: float, weight_decay: float) -> tuple[Any, str]:
    """``(optimizer, resolved name)`` for the trainable ``params``."""
    if not params:
        raise RuntimeError("no trainable parameters: LoRA targets matched nothing or the model is frozen")
    name = resolve_optimizer(name, params)
    if name == "adamw-sr":
        if any(p.dtype == torch.float16 for p in params):
            from ccpapers.config import ConfigError

            raise ConfigError("optimizer=adamw-sr needs bf16 or fp32 weights (fp16 given): use dtype=bf16")
        return StochasticRoundingAdamW(params, lr=lr, weight_decay=weight_decay), name
    fused = all(p.is_cuda for p in params)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused or None), name
