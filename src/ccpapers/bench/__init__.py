"""``ccpapers bench``: inject knowledge by training, ask before/after, score the gain.

Entry points for Python callers (the demo): :func:`run_bench` and :func:`write_report`.
Heavy imports (torch, transformers) happen only inside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig

__all__ = ["BenchConfig", "demo_config", "run_bench", "write_report"]


def demo_config(work: str | Path, **overrides: Any) -> BenchConfig:
    """The demo's tiny-model run of the fictional suite with the MMLU forgetting check (CPU, about
    a minute on a busy 2-core machine; see benchmarks/bench_tiny_overhead.py).

    Its numbers mean nothing: it shows the pipeline end to end."""
    kw: dict[str, Any] = dict(
        work=Path(work),
        suite="fictional",
        tiny=True,
        method="lora",
        lora_r=16,
        lora_alpha=32,
        lr=5e-3,
        epochs=2,
        seq_len=512,
        batch_rows=4,
        max_new_tokens=24,
        forgetting=True,
        mmlu_limit=20,
        mmlu_shots=2,
        run_name="demo-tiny",
    )
    kw.update(overrides)
    return BenchConfig(**kw)


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Run one configuration (all its seeds); returns the summary (also in WORK/bench/<run>/)."""
    from ccpapers.bench.runner import run_bench as _run

    return _run(cfg)


def write_report(runs_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Write report.md, runs.csv and PNG plots for every run under ``runs_dir``."""
    from ccpapers.bench.report import write_report as _write

    return _write(runs_dir, out_dir)
