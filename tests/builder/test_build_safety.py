"""Paths, licence permissions, --estimate without keys, and builds that cannot make a split."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ccpapers.builder import run_build
from ccpapers.builder.cache import ReplyCache
from ccpapers.builder.config import BuildConfig
from ccpapers.cli import main as cli_main
from ccpapers.io import read_records, write_jsonl
from ccpapers.types import Record
from tests.builder.fake_provider import FakeProvider
from tests.builder.papers_fixture import make_paper
from tests.builder.runs import build

QA_SPEC = "name: testspec\ntarget_fraction: 1.0\ngenerate:\n  qa: {generator: qa, sources: [abstract]}\n"


def _rows(tmp_path: Path, split: str) -> list[Record]:
    return list(read_records(tmp_path / "w" / "builds" / "testspec" / split, Record))


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# -- paths -----------------------------------------------------------------------------------------
def test_a_batch_id_with_dot_dot_stays_inside_the_cache(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "w" / "cache" / "llm")
    bid = "../" * 6 + "escaped"
    naive = (cache.root / "batches" / f"openai-{bid}.json").resolve()
    assert not naive.is_relative_to((tmp_path / "w").resolve())  # the old file name would escape
    cache.save_batch("openai", bid, ["k1"], {})
    assert all(p.is_relative_to(cache.root) for p in _files(tmp_path))
    assert [b["batch_id"] for b in cache.pending_batches("openai")] == [bid]
    cache.finish_batch("openai", bid)
    assert cache.pending_batches("openai") == []


def test_a_provider_batch_id_of_dot_dot_writes_nothing_outside_the_work_dir(
    tmp_path: Path, papers_file: Path, provider: FakeProvider, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", provider.url + "/v1")
    provider.batch_id = "../" * 6 + "escaped"
    spec = tmp_path / "testspec.yaml"
    spec.write_text(QA_SPEC)
    outside = _files(tmp_path)
    report = build(tmp_path, papers_file, spec, backend="openai", model="fake-model-1", batch=True,
                    batch_poll=0.01)  # fmt: skip
    assert report["splits"]["qa"] > 0 and report["engine"]["batches"] == [provider.batch_id]
    new = _files(tmp_path) - outside
    assert new and all(p.is_relative_to(tmp_path / "w") for p in new), sorted(new)


# -- licence permissions come from the licence id only -------------------------------------------------
def test_nd_licence_id_wins_over_a_derivatives_ok_flag(
    tmp_path: Path, spec_file: Path, anthropic_env: FakeProvider
) -> None:
    liar = make_paper(0, "cc-by-4.0")
    lic = dataclasses.replace(liar.license, hub_id="cc-by-nc-nd-4.0", tier="by", commercial_ok=True,
                              derivatives_ok=True, url="https://creativecommons.org/licenses/by-nc-nd/4.0/")  # fmt: skip
    liar = dataclasses.replace(liar, license=lic)
    papers = tmp_path / "papers.jsonl"
    write_jsonl(papers, [liar, make_paper(1, "cc-by-4.0")])
    report = build(tmp_path, papers, spec_file)
    for split in ("rewrite", "translation", "qa", "mcq"):
        assert liar.doi not in {r.doi for r in _rows(tmp_path, split)}, split
        assert report["drops"][split]["nd-license"] >= 1, split
    assert report["splits"]["rewrite"] > 0 and report["splits"]["translation"] > 0  # the honest paper
    sent = json.dumps([b for _, b in anthropic_env.bodies], ensure_ascii=False)
    assert liar.text_of("abstract") not in sent  # nothing was paid for rows publish would drop


# -- --estimate without keys ---------------------------------------------------------------------------
def test_estimate_without_keys_prices_the_backends_the_spec_would_use(
    tmp_path: Path, papers_file: Path, spec_file: Path, capsys
) -> None:
    rc = cli_main(["build", "--work", str(tmp_path / "w"), "--papers", str(papers_file), "--spec", str(spec_file),
                   "--estimate", "--no-progress"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "backend anthropic" in out and "ANTHROPIC_API_KEY" in out and "DEEPL_AUTH_KEY" in out
    assert "as if" in out  # says that no key is set and what it assumed
    report = run_build(BuildConfig(work=tmp_path / "w", papers=papers_file, spec=str(spec_file), progress=False,
                                   estimate=True))  # fmt: skip
    assert report["backend"] == "anthropic" and report["assumed_keys"] == [
        "ANTHROPIC_API_KEY",
        "DEEPL_AUTH_KEY",
    ]
    assert set(report["by_split"]) == {"qa", "mcq", "rewrite", "translation"}
    assert report["by_split"]["translation"]["characters"] > 0  # DeepL, as the spec asks
    assert report["total"]["cost_usd"] > 0 and not report["cannot_make"]


def test_estimate_with_keys_present_assumes_nothing(
    tmp_path: Path, papers_file: Path, spec_file: Path, anthropic_env: FakeProvider
) -> None:
    report = build(tmp_path, papers_file, spec_file, estimate=True)
    assert report["backend"] == "anthropic" and report["assumed_keys"] == []
    assert anthropic_env.model_calls() == 0


# -- a build that cannot make a split says so loudly ----------------------------------------------------
def test_missing_splits_exit_nonzero_and_are_listed_in_the_summary_and_the_card(
    tmp_path: Path, papers_file: Path, spec_file: Path, capsys
) -> None:
    argv = [
        "--work",
        str(tmp_path / "w"),
        "--papers",
        str(papers_file),
        "--spec",
        str(spec_file),
        "--no-progress",
    ]
    rc = cli_main(["build", *argv])
    out, err = capsys.readouterr()
    assert rc == 3
    assert "NOT BUILT" in out and "rewrite" in out and "translation" in out
    assert "build incomplete: 2 of the spec's splits were not built (rewrite, translation)" in err
    assert "offline cloze" in out  # qa/mcq were made without a model: said, not hidden
    assert cli_main(["publish", "--work", str(tmp_path / "w"), "--spec", "testspec"]) == 0
    card = (tmp_path / "w" / "hub" / "local" / "ccpapers-testspec" / "README.md").read_text()
    assert "Missing splits" in card and "`rewrite`" in card and "`translation`" in card


def test_a_complete_build_exits_zero(
    tmp_path: Path, papers_file: Path, spec_file: Path, anthropic_env
) -> None:
    argv = [
        "--work",
        str(tmp_path / "w"),
        "--papers",
        str(papers_file),
        "--spec",
        str(spec_file),
        "--no-progress",
    ]
    assert cli_main(["build", *argv]) == 0
    assert not json.loads((tmp_path / "w" / "builds" / "testspec" / "report.json").read_text())["cannot_make"]


def test_a_paper_whose_licence_id_and_url_disagree_is_not_used(tmp_path: Path) -> None:
    liar = make_paper(0, "cc-by-4.0")
    liar = dataclasses.replace(
        liar,
        license=dataclasses.replace(liar.license, url="https://creativecommons.org/licenses/by-nc-sa/3.0/"),
    )
    papers = tmp_path / "papers.jsonl"
    write_jsonl(papers, [liar, make_paper(1, "cc-by-4.0")])
    report = build(tmp_path, papers, "demo")
    assert report["papers_used"] == 1 and report["drops"]["papers"] == {"license-url-mismatch": 1}
    assert "by-nc-sa/3.0" in report["drop_examples"]["papers"]["license-url-mismatch"][0]
