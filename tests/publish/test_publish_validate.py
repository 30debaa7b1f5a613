"""Validation runs before any upload; a failure stops the push with a clear message."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ccpapers.publish import run_publish, shards, write_repo_folder
from ccpapers.publish.config import PublishConfig
from ccpapers.publish.validate import ValidationError, check_card, validate_repo_folder

from .conftest import write_build


def test_licence_tier_violation_blocks_the_push(fake_hub, work, monkeypatch):
    real = shards.plan_configs

    def leaky(tables):  # a routing bug: one NC row slips into qa-by
        plans, drops = real(tables)
        qa_by = next(p for p in plans if p.name == "qa-by")
        nc = next(p for p in plans if p.name == "qa-nc").table
        bad = nc.filter(pa.compute.equal(nc.column("license"), "cc-by-nc-sa-3.0")).slice(0, 1)
        qa_by.table = pa.concat_tables([qa_by.table, bad])
        return plans, drops

    monkeypatch.setattr(shards, "plan_configs", leaky)
    cfg = PublishConfig(work=work, spec="demo", repo="tester/leaky", push=True, tag="v1.0.0")
    with pytest.raises(ValidationError) as err:
        run_publish(cfg)
    msg = str(err.value)
    assert "config `qa-by` (tier by) holds 1 row(s) licensed `cc-by-nc-sa-3.0`, outside its tier" in msg
    assert "nothing was uploaded" in msg
    assert fake_hub.state.repos == {} and fake_hub.state.requests == []


def test_row_counts_must_match_the_build_report(work):
    build = work / "builds" / "demo"
    import json

    report = json.loads((build / "report.json").read_text())
    report["splits"]["qa"] += 3
    (build / "report.json").write_text(json.dumps(report))
    with pytest.raises(
        ValidationError, match="split `qa`: the build report says 11 rows, the configs hold 8"
    ):
        run_publish(PublishConfig(work=work, spec="demo"))


def test_tampered_folder_fails_every_relevant_check(work, tmp_path):
    repo = tmp_path / "repo"
    m = write_repo_folder(work / "builds" / "demo", repo, "me/ds")
    validate_repo_folder(repo, m["expected_rows"], m["report_splits"], m["drops_per_split"])  # passes
    (repo / "data" / "orphan").mkdir()
    (repo / "data" / "abstract-by" / "train-00000-of-00001.parquet").rename(
        repo / "data" / "orphan" / "x.parquet"
    )
    readme = repo / "README.md"
    readme.write_text(
        readme.read_text().replace("  default: true\n", "  default: true\n  license: cc-by-4.0\n", 1)
    )
    with pytest.raises(ValidationError) as err:
        validate_repo_folder(repo, m["expected_rows"], m["report_splits"], m["drops_per_split"])
    problems = err.value.problems
    assert "config `abstract-by` matches no data file" in problems
    assert "data/orphan/x.parquet belongs to no config" in problems
    assert "config `abstract-by` has non-builder keys ['license']" in problems


def test_card_checks_catch_bad_licence_ids_and_missing_keys(tmp_path):
    (tmp_path / "README.md").write_text("---\nlicense: [cc-by-nd-3.0]\npretty_name: x\n---\n# x\n")
    _, problems = check_card(tmp_path)
    assert "README.md license `cc-by-nd-3.0` is not a Hugging Face licence id" in problems
    assert "README.md YAML lacks `configs`" in problems


def test_fake_hub_validator_rejects_what_the_hub_would(fake_hub, tmp_path):
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo("tester/bad", repo_type="dataset")
    (tmp_path / "README.md").write_text("---\nlicense: [cc-by-nd-3.0]\n---\n")
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.upload_file(
            path_or_fileobj=str(tmp_path / "README.md"),
            path_in_repo="README.md",
            repo_id="tester/bad",
            repo_type="dataset",
        )


def test_pushed_card_passes_the_hub_yaml_check(fake_hub, work):
    from huggingface_hub import DatasetCard

    run_publish(PublishConfig(work=work, spec="demo"))
    card = DatasetCard.load(work / "hub" / "local" / "ccpapers-demo" / "README.md")
    card.validate(repo_type="dataset")  # POSTs to /api/validate-yaml of the fake Hub
    assert ("POST", "/api/validate-yaml") in fake_hub.state.requests


def test_same_columns_across_splits_even_when_build_columns_are_all_null(tmp_path):
    """A split whose optional columns are all empty still gets the shared schema."""
    from .conftest import make_records

    recs = make_records(3)
    for r in recs["abstract"]:
        r.title = None
        r.year = None
    write_build(tmp_path / "builds" / "demo", recs)
    summary = run_publish(PublishConfig(work=tmp_path, spec="demo"))
    assert summary["validated"] and summary["configs"]["abstract-all"] == 3
