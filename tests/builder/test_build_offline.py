from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from ccpapers.builder import run_build
from ccpapers.builder.config import BuildConfig
from ccpapers.cli import main as cli_main
from ccpapers.io import read_records, write_jsonl
from ccpapers.types import Record
from tests.builder.papers_fixture import make_papers


def _build(tmp_path: Path, papers: Path, work: str = "w", **kw) -> dict:
    cfg = BuildConfig(work=tmp_path / work, papers=papers, spec="demo", progress=False, **kw)
    return run_build(cfg)


def _rows(tmp_path: Path, split: str, work: str = "w", spec: str = "demo") -> list[Record]:
    return list(read_records(tmp_path / work / "builds" / spec / split, Record))


def test_offline_build_makes_text_qa_and_mcq_splits(tmp_path: Path, papers_file: Path) -> None:
    report = _build(tmp_path, papers_file, target_fraction=1.0)
    assert report["backend"] == "offline" and report["calls"] == 0
    resolved = yaml.safe_load((tmp_path / "w" / "builds" / "demo" / "config.resolved.yaml").read_text())
    assert resolved["backend"] == "offline"  # the backend used, not the empty default
    for split in ("introduction", "abstract", "conclusion", "qa", "mcq"):
        rows = _rows(tmp_path, split)
        assert rows, split
        assert report["splits"][split] == len(rows)
        assert all(r.split == split for r in rows)
    for r in _rows(tmp_path, "qa"):
        assert r.question and "_____" in r.question and r.answer
        assert r.answer.lower() not in r.question.lower()  # the blank hides the answer
        assert r.generator == "offline" and r.backend == "offline" and r.source_id
    for r in _rows(tmp_path, "mcq"):
        assert len(r.choices) == 4 and len(set(r.choices)) == 4
        assert r.choices[r.answer_index] == r.answer
        others = [c for c in r.choices if c != r.answer]
        # distractors come from other papers (or are flagged scaled variants of the key)
        assert "synthetic-distractors" in r.flags or all(
            o not in (p.text or "") for o in others for p in _rows(tmp_path, "abstract") if p.doi == r.doi
        )
    data = json.loads((tmp_path / "w" / "builds" / "demo" / "report.json").read_text())
    assert data["splits"] == report["splits"]
    assert (tmp_path / "w" / "builds" / "demo" / "config.resolved.yaml").is_file()


def test_offline_build_is_deterministic(tmp_path: Path, papers_file: Path) -> None:
    _build(tmp_path, papers_file, "a", target_fraction=1.0)
    _build(tmp_path, papers_file, "b", target_fraction=1.0)
    for split in ("qa", "mcq"):
        assert _rows(tmp_path, split, "a") == _rows(tmp_path, split, "b")


def test_questions_come_from_target_papers_only(tmp_path: Path, papers_file: Path) -> None:
    report = _build(tmp_path, papers_file, target_fraction=0.5)
    groups = {r.doi: r.group for r in _rows(tmp_path, "abstract")}
    assert set(groups.values()) == {"target", "irrelevant"}  # the fixture DOIs fall in both groups
    assert {r.group for r in _rows(tmp_path, "qa")} == {"target"}
    assert all(groups[r.doi] == "target" for r in _rows(tmp_path, "mcq"))
    assert report["groups"]["target"] + report["groups"]["irrelevant"] == 6


def test_nd_papers_are_not_used_for_questions_by_default(tmp_path: Path, papers_file: Path) -> None:
    report = _build(tmp_path, papers_file, target_fraction=1.0)
    nd = {r.doi for r in _rows(tmp_path, "abstract") if "-nd-" in r.license}
    assert nd  # the fixture has an ND paper, and its verbatim text is kept
    assert not nd & {r.doi for r in _rows(tmp_path, "qa") + _rows(tmp_path, "mcq")}
    assert report["drops"]["qa"]["nd-license"] >= 1


def test_offline_mcq_answer_positions_are_balanced(tmp_path: Path) -> None:
    papers = tmp_path / "many.jsonl"
    write_jsonl(papers, make_papers(6, families=4))
    _build(tmp_path, papers, target_fraction=1.0)
    rows = _rows(tmp_path, "mcq")
    counts = Counter(r.answer_index for r in rows)
    assert len(rows) >= 20 and set(counts) == {0, 1, 2, 3}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_no_key_build_says_which_splits_it_cannot_make(
    tmp_path: Path, papers_file: Path, spec_file: Path, capsys
) -> None:
    rc = cli_main(["build", "--work", str(tmp_path / "w"), "--papers", str(papers_file), "--spec", str(spec_file),
                   "--no-progress"])  # fmt: skip
    assert rc == 3  # an incomplete build is not a success
    err = capsys.readouterr().err
    assert "not built: rewrite" in err and "not built: translation" in err
    report = json.loads((tmp_path / "w" / "builds" / "testspec" / "report.json").read_text())
    assert set(report["cannot_make"]) == {"rewrite", "translation"}
    assert report["splits"]["qa"] > 0 and report["generators"]["qa"]["generator"] == "offline"


def test_missing_papers_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    rc = cli_main(["build", "--work", str(tmp_path / "w"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "papers.parquet" in err and "ccpapers crawl" in err


def test_a_split_no_longer_built_does_not_linger(tmp_path: Path, papers_file: Path, spec_file: Path) -> None:
    stale = tmp_path / "w" / "builds" / "testspec" / "rewrite"
    stale.mkdir(parents=True)
    (stale / "part-00000.parquet").write_bytes(b"old")
    report = run_build(
        BuildConfig(work=tmp_path / "w", papers=papers_file, spec=str(spec_file), progress=False)
    )
    assert "rewrite" in report["cannot_make"] and not stale.exists()


def test_estimate_needs_no_key(tmp_path: Path, papers_file: Path, spec_file: Path) -> None:
    report = run_build(BuildConfig(work=tmp_path / "w", papers=papers_file, spec=str(spec_file), progress=False,
                                   backend="anthropic", estimate=True))  # fmt: skip
    assert report["estimate"] and report["total"]["calls"] > 0 and report["total"]["cost_usd"] > 0
    assert report["by_split"]["translation"]["calls"] > 0  # the LLM would translate without DEEPL_AUTH_KEY
