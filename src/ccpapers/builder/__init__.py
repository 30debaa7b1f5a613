"""Build stage: papers -> text splits, Q&A, MCQ, rewrites, translations (``run_build``)."""

from __future__ import annotations

from typing import Any


def run_build(cfg: Any) -> dict[str, Any]:
    """Build the splits of ``cfg.spec`` (a :class:`ccpapers.builder.config.BuildConfig`); returns the report."""
    from ccpapers.builder.pipeline import run_build as _run

    return _run(cfg)


__all__ = ["run_build"]
