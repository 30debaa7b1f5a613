"""CPU threads for the tiny model: one, unless ``OMP_NUM_THREADS`` says otherwise.

The tiny model's tensors (hidden size 64, a 2k vocabulary) are too small for intra-op
parallelism to pay: every operator forks and joins torch's OpenMP team, and on a machine
whose cores are busy with other work a team member that is not scheduled stalls every
operator of the step (measured in ``benchmarks/bench_tiny_overhead.py``). Real models keep
torch's default (one thread per physical core).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def tiny_cpu_threads(cfg: Any) -> int | None:
    """Threads to use for this run, or None to keep torch's setting."""
    import torch

    if not getattr(cfg, "tiny", False) or os.environ.get("OMP_NUM_THREADS") or torch.cuda.is_available():
        return None
    return 1


@contextmanager
def cpu_threads(cfg: Any) -> Iterator[None]:
    """Run the block with :func:`tiny_cpu_threads` threads, then restore torch's setting."""
    import torch

    want = tiny_cpu_threads(cfg)
    before = torch.get_num_threads()
    if want is not None:
        torch.set_num_threads(want)
    try:
        yield
    finally:
        if want is not None:
            torch.set_num_threads(before)
