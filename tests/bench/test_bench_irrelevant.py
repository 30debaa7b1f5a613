"""Irrelevant texts must not teach the answers (the bundled sample journal does, for fictional)."""

from __future__ import annotations

from pathlib import Path

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.inputs import load_suite
from ccpapers.bench.packing import drop_overlapping, load_irrelevant


def test_real_pool_is_default_and_shares_no_keyword_with_the_suite(tmp_path):
    suite = load_suite(BenchConfig())
    real = load_irrelevant("", Path(tmp_path))
    assert len(real) == 101 and drop_overlapping(real, suite) == real
    sample = load_irrelevant("sample", Path(tmp_path))
    kept = drop_overlapping(sample, suite)
    assert len(sample) - len(kept) >= 40  # the sample journal describes the suite's discoveries
    assert not any("LGSC-14" in t or "Kelvingrove" in t for t in kept)
