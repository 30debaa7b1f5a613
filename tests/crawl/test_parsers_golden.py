"""Golden tests: every fixture page / JATS file parses to its reviewed golden Paper.

Goldens live in tests/fixtures/golden/<fixture name>.json. To regenerate after an
intended parser change: ``CCPAPERS_UPDATE_GOLDEN=1 pytest tests/crawl/test_parsers_golden.py``
and review the diff before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ccpapers.crawl.parsers import detect_format, parse_bytes
from ccpapers.types import Paper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = FIXTURES / "golden"
CASES = sorted((FIXTURES / "pages").glob("*.html")) + sorted((FIXTURES / "jats").glob("*.xml"))


def _as_golden(paper: Paper) -> dict:
    data = paper.to_dict()
    data.pop("fetched_at")
    return data


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_fixture_matches_golden(path: Path) -> None:
    paper = parse_bytes(path.read_bytes(), url=None)
    got = _as_golden(paper)
    golden_path = GOLDEN / f"{path.stem}.json"
    if os.environ.get("CCPAPERS_UPDATE_GOLDEN"):
        golden_path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(golden_path.read_text(encoding="utf-8"))
    # Compare section by section first so a failure names the section.
    got_sections = [(s["kind"], s["title"]) for s in got["sections"]]
    exp_sections = [(s["kind"], s["title"]) for s in expected["sections"]]
    assert got_sections == exp_sections
    for g, e in zip(got["sections"], expected["sections"], strict=True):
        assert g["text"] == e["text"], f"text of section {e['title']!r} differs"
    assert got["license"]["hub_id"] == expected["license"]["hub_id"]
    assert got == expected


def test_at_least_ten_pages_and_two_jats() -> None:
    assert len([p for p in CASES if p.suffix == ".html"]) >= 10
    assert len([p for p in CASES if p.suffix == ".xml"]) >= 2
    assert {detect_format(p.read_bytes()) for p in CASES} == {"nature-html", "jats"}


@pytest.mark.parametrize(
    "name, hub_id, paywalled",
    [
        ("current_intro_ccby4", "cc-by-4.0", False),
        ("current_main_natcomputsci", "cc-by-4.0", False),
        ("transition_2019_npj", "cc-by-4.0", False),
        ("nc_sa_3_ncomms2014", "cc-by-nc-sa-3.0", False),
        ("nc_nd_4_srep2016", "cc-by-nc-nd-4.0", False),
        ("ccby3_srep2013_older_wording", "cc-by-3.0", False),
        ("paywalled_preview_nature2021", "unknown", True),
        ("closed_no_licence_natcomputsci", "unknown", False),
        ("equations_figures_tables_commsmat", "cc-by-4.0", False),
        ("truncated_download", "cc-by-4.0", False),
        ("springer_oa_ccby", "cc-by-4.0", False),
        ("pmc_ali_ccbync", "cc-by-nc-4.0", False),
    ],
)
def test_goldens_hold_the_intended_licence(name: str, hub_id: str, paywalled: bool) -> None:
    """Pins the licence of each golden independently of the regenerated files."""
    golden = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert golden["license"]["hub_id"] == hub_id
    assert golden["paywalled"] is paywalled
    assert golden["license"]["conflict"] is None
