"""What several build tests share: the two-generator Q&A/MCQ spec and a quiet build call."""

from __future__ import annotations

from pathlib import Path

from ccpapers.builder import run_build
from ccpapers.builder.config import BuildConfig

QA_SPEC = """name: testspec
target_fraction: 1.0
generate:
  qa: {generator: qa, sources: [abstract, introduction, conclusion], per_passage: 3}
  mcq: {generator: mcq, sources: [abstract, introduction, conclusion], per_passage: 3}
"""


def build(tmp_path: Path, papers: Path, spec: Path | str, **kw) -> dict:
    """``run_build`` into ``tmp_path/w`` without a progress bar."""
    kw.setdefault("progress", False)
    return run_build(BuildConfig(work=tmp_path / "w", papers=papers, spec=str(spec), **kw))
