"""The ``transformers`` backend with a tiny random Llama saved to disk (no download).

A random model cannot write JSON, so its replies are dropped as ``malformed-json``: the
test checks the machinery (batched local generation, cache, usage, drop reasons).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.builder import run_build
from ccpapers.builder.config import BuildConfig

pytest.importorskip("torch")
tiny = pytest.importorskip("ccpapers.bench.tiny")


def test_transformers_backend_generates_in_batches_and_caches(tmp_path: Path, papers_file: Path) -> None:
    model, tok = tiny.tiny_model_and_tokenizer()
    model_dir = tmp_path / "tiny-llama"
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    spec = tmp_path / "testspec.yaml"
    spec.write_text(
        "name: testspec\ntarget_fraction: 1.0\ngenerate:\n"
        "  rewrite: {generator: rewrite, sources: [abstract], styles: [article], max_tokens: 8}\n"
    )
    cfg = BuildConfig(work=tmp_path / "w", papers=papers_file, spec=str(spec), backend="transformers",
                      model=str(model_dir), progress=False)  # fmt: skip
    report = run_build(cfg)
    assert report["backend"] == "transformers" and report["calls"] == 5  # 6 papers, one ND
    assert report["tokens"]["input_tokens"] > 0 and report["tokens"]["output_tokens"] > 0
    dropped = sum(report["drops"]["rewrite"].get(r, 0) for r in ("malformed-json", "empty"))
    assert dropped + report["splits"]["rewrite"] == 5
    again = run_build(cfg)
    assert again["calls"] == 0 and again["cache_hits"] == 5
