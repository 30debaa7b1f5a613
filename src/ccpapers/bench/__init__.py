"""``ccpapers bench``: inject knowledge by training, ask before/after, score the gain.

Entry points for Python callers (the demo): :func:`run_bench` and :func:`write_report`.
Heavy imports (torch, transformers) happen only inside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig

__all__ = ["BenchConfig", "run_bench", "write_report"]


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Run one configuration (all its seeds); returns the summary (also in WORK/bench/<run>/)."""
    from ccpapers.bench.runner import run_bench as _run

    return _run(cfg)


def write_report(runs_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Write report.md, runs.csv and PNG plots for every run under ``runs_dir``."""
    from ccpapers.bench.report import write_report as _write

    return _write(runs_dir, out_dir)
