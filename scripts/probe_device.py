"""Print what the borrowed GPU machine offers (versions, flex_attention, compile)."""

import importlib
import time

import torch
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
for mod in (
    "transformers",
    "peft",
    "accelerate",
    "optuna",
    "rouge_score",
    "datasets",
    "bitsandbytes",
    "liger_kernel",
    "pyarrow",
    "yaml",
    "tokenizers",
    "matplotlib",
):
    try:
        m = importlib.import_module(mod)
        print(mod, getattr(m, "__version__", "?"))
    except Exception as exc:  # noqa: BLE001
        print(mod, "MISSING", type(exc).__name__)
doc = torch.repeat_interleave(torch.arange(8, device="cuda"), 512)


def mask_mod(b, h, q, kv):
    return (doc[q] == doc[kv]) & (q >= kv)


bm = create_block_mask(mask_mod, 1, None, 4096, 4096, device="cuda")
q = torch.randn(1, 32, 4096, 128, device="cuda", dtype=torch.bfloat16)
f = torch.compile(flex_attention)
t = time.perf_counter()
out = f(q, q, q, block_mask=bm)
torch.cuda.synchronize()
print("flex_attention compiled ok", out.shape, f"{time.perf_counter() - t:.1f}s first call")
