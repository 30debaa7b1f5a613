"""Licence cross-checks at publish: id vs URL, versionless ids, public-domain marks, corrupt files."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from ccpapers.cli import main
from ccpapers.publish import run_publish
from ccpapers.publish.config import PublishConfig

from .conftest import make_records, write_build

MISMATCH_URL = "https://creativecommons.org/licenses/by-nc-sa/3.0/"


def _config_rows(work: Path, config: str) -> list[dict]:
    folder = work / "hub" / "local" / "ccpapers-demo" / "data" / config
    return [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_a_row_whose_license_and_license_url_disagree_is_refused(tmp_path: Path, capsys) -> None:
    recs = make_records(5)
    liar = recs["qa"][0]
    assert liar.license == "cc-by-4.0"
    liar.license_url = MISMATCH_URL
    write_build(tmp_path / "builds" / "demo", recs)
    summary = run_publish(PublishConfig(work=tmp_path, spec="demo"))
    for tier in ("by", "sa", "nc"):
        assert liar.id not in {r["id"] for r in _config_rows(tmp_path, f"qa-{tier}")}, tier
    assert summary["configs"]["qa-by"] == 1  # papers 0 (the liar) and 1 are by; paper 1 stays
    assert summary["drops"] == {"qa: license-url-mismatch": 1}
    assert main(["publish", "--work", str(tmp_path)]) == 0
    assert "qa: license-url-mismatch (1)" in capsys.readouterr().out
    card = (tmp_path / "hub" / "local" / "ccpapers-demo" / "README.md").read_text()
    assert "license-url-mismatch" in card


def test_versionless_cc_by_is_published_under_by_with_the_family_url(tmp_path: Path) -> None:
    recs = make_records(5)
    for split in recs.values():
        for r in split:
            if r.license == "cc-by-4.0":
                r.license = "cc-by"  # "Creative Commons Attribution License", no version
    write_build(tmp_path / "builds" / "demo", recs)
    summary = run_publish(PublishConfig(work=tmp_path, spec="demo"))
    assert summary["validated"] and not summary["drops"]
    rows = [r for r in _config_rows(tmp_path, "abstract-by") if r["license"] == "cc-by"]
    assert len(rows) == 1 and rows[0]["license_url"] == "https://creativecommons.org/licenses/by/"


def test_public_domain_mark_rows_are_kept(tmp_path: Path) -> None:
    recs = make_records(5)
    for split in recs.values():
        for r in split:
            if r.license == "cc0-1.0":
                r.license = "pdm-1.0"
    write_build(tmp_path / "builds" / "demo", recs)
    summary = run_publish(PublishConfig(work=tmp_path, spec="demo"))
    assert not summary["drops"]
    rows = [r for r in _config_rows(tmp_path, "qa-by") if r["license"] == "pdm-1.0"]
    assert len(rows) == 1 and rows[0]["license_url"] == "https://creativecommons.org/publicdomain/mark/1.0/"


def test_a_corrupt_parquet_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    write_build(tmp_path / "builds" / "demo", make_records(3))
    bad = tmp_path / "builds" / "demo" / "qa" / "part-00000.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    rc = main(["publish", "--work", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and str(bad) in err and "re-run `ccpapers build`" in err
    assert "Traceback" not in err
