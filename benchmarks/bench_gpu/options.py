"""The benchmark's flags and the run sizes derived from them."""

from __future__ import annotations

import argparse

from benchmarks.bench_gpu.shapes import SHAPES


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The flags, plus the sizes they imply (smaller everywhere under ``--tiny``)."""
    from benchmarks import bench_gpu

    p = argparse.ArgumentParser(description=(bench_gpu.__doc__ or "").split("\n\n")[0])
    p.add_argument(
        "--tiny", action="store_true", help="tiny model on CPU (CI smoke run; numbers mean nothing)"
    )
    p.add_argument("--out", default="bench-gpu-out", help="folder for bench_gpu.json and profiles")
    p.add_argument(
        "--phases", default="lora,eval,full,fictional", help="comma-separated: lora,eval,full,fictional"
    )
    p.add_argument(
        "--seq-len", type=int, default=None, help="packed row length for LoRA (default 4096; tiny 256)"
    )
    p.add_argument(
        "--full-seq-len", type=int, default=None, help="packed row length for full FT (default 2048)"
    )
    p.add_argument("--full-grad-accum", type=int, default=2, help="micro-steps per optimizer step, full FT")
    p.add_argument(
        "--epochs", type=int, default=3, help="LoRA epochs (the last one is timed; the first compiles)"
    )
    p.add_argument("--full-epochs", type=int, default=2)
    p.add_argument("--full-text-epochs", type=int, default=3, help="epochs of the one-text-per-step run")
    p.add_argument(
        "--shape", choices=sorted(SHAPES), default="llama2-7b", help="random-initialised model shape"
    )
    p.add_argument("--fict-epochs", type=int, default=3)
    p.add_argument("--questions", type=int, default=250)
    p.add_argument("--gen-batch-size", type=int, default=256)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument(
        "--no-fp32-identity", action="store_true", help="skip the float32 batched-vs-unbatched check"
    )
    a = p.parse_args(argv)
    a.profile = not a.no_profile
    a.fp32_identity = not a.no_fp32_identity
    t = a.tiny
    a.seq_len = a.seq_len or (256 if t else 4096)
    a.full_seq_len = a.full_seq_len or (256 if t else 2048)
    a.max_new = 20 if t else 100
    a.questions = min(a.questions, 24) if t else a.questions
    a.ref_questions = a.questions if t else 8
    a.base_questions = 4 if t else 3
    a.warm = 3
    a.base_short, a.base_long = (12, 1) if t else (60, 2)
    a.base_short_full, a.base_long_full = (8, 1) if t else (30, 1)
    a.profile_rows = 2 if t else 4
    return a
