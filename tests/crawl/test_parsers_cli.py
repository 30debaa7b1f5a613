"""``ccpapers parse`` end to end through ccpapers.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccpapers.cli import main
from ccpapers.io import read_jsonl
from ccpapers.types import Paper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HTML = FIXTURES / "pages" / "nc_nd_4_srep2016.html"
XML = FIXTURES / "jats" / "springer_oa_ccby.xml"


def test_parse_both_formats_to_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "papers.jsonl"
    assert main(["parse", str(HTML), str(XML), "--out", str(out)]) == 0
    papers = list(read_jsonl(out, Paper))
    assert [p.doi for p in papers] == ["10.1038/srep93004", "10.1038/s41524-023-90010-3"]
    assert [p.parser for p in papers] == ["nature-html", "jats"]
    assert [p.license.hub_id for p in papers] == ["cc-by-nc-nd-4.0", "cc-by-4.0"]
    assert papers[0].text_of("conclusion").startswith("The invented warbler")


def test_parse_to_stdout_with_keep_math(capsys: pytest.CaptureFixture[str]) -> None:
    eq = FIXTURES / "pages" / "equations_figures_tables_commsmat.html"
    assert main(["parse", str(eq), "--keep-math", "--url", "https://www.nature.com/articles/x"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    paper = Paper.from_dict(json.loads(lines[0]))
    assert paper.url == "https://www.nature.com/articles/x"
    assert "$$" in paper.text_of("discussion")


def test_bad_file_is_named_others_still_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not an article")
    blocked = tmp_path / "blocked.html"
    blocked.write_text("<html><body><h1>403 Forbidden - Blocked</h1></body></html>")
    missing = tmp_path / "missing.html"
    out = tmp_path / "out.jsonl"
    rc = main(["parse", str(bad), str(HTML), str(blocked), str(missing), "--out", str(out)])
    assert rc == 1
    err = capsys.readouterr().err
    assert f"{bad}: neither an HTML article page nor JATS" in err
    assert f"{blocked}: no article body" in err
    assert f"{missing}: cannot read" in err
    assert "3 of 4 file(s) failed" in err
    assert [p.doi for p in read_jsonl(out, Paper)] == ["10.1038/srep93004"]


def test_forced_wrong_format_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--format", "jats", str(HTML)]) == 1
    assert "not a JATS article" in capsys.readouterr().err


def test_springer_api_response_parses_with_auto_and_forced_jats(tmp_path: Path) -> None:
    api = FIXTURES / "real" / "jats" / "springer_oa_api_s11671-021-03631-x.xml"
    for extra in ([], ["--format", "jats"]):
        out = tmp_path / f"api{len(extra)}.jsonl"
        assert main(["parse", *extra, str(api), "--out", str(out)]) == 0
        (paper,) = read_jsonl(out, Paper)
        assert paper.doi == "10.1186/s11671-021-03631-x" and paper.license.hub_id == "cc-by-4.0"
        assert "REDACTED" not in out.read_text()  # the response's <apiKey> never reaches a Paper
