"""The repo folder: layout, tier configs, shards, card; every config loads with load_dataset."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from ccpapers.publish import write_repo_folder
from ccpapers.publish.shards import BuildError, licence_info
from ccpapers.types import TIERS

from .conftest import make_records, write_build


def _write(work: Path, **kw) -> tuple[Path, dict]:
    repo_dir = work / "hub" / "me" / "ds"
    manifest = write_repo_folder(work / "builds" / "demo", repo_dir, "me/ds", **kw)
    return repo_dir, manifest


def test_layout_configs_and_tiers(work, records):
    repo_dir, manifest = _write(work)
    assert (repo_dir / "README.md").is_file() and (repo_dir / "LICENSE.md").is_file()
    names = list(manifest["configs"])
    # verbatim kinds get all four tiers, derived kinds no `all`
    for kind in ("abstract", "introduction"):
        assert [n for n in names if n.startswith(kind + "-")] == [f"{kind}-{t}" for t in TIERS]
    for kind in ("qa", "mcq", "translation"):
        assert [n for n in names if n.startswith(kind + "-")] == [f"{kind}-{t}" for t in ("by", "sa", "nc")]
    assert manifest["default_config"] == "abstract-by"
    for name, cfg in manifest["configs"].items():
        assert cfg["files"] == [f"data/{name}/train-00000-of-00001.parquet"]
        tier_index = TIERS.index(cfg["tier"])
        for lic in cfg["licences"]:
            assert TIERS.index(licence_info(lic)[0]) <= tier_index
    # the widest tier of each kind holds every row of that build split
    assert manifest["configs"]["abstract-all"]["rows"] == len(records["abstract"])
    assert manifest["configs"]["qa-nc"]["rows"] == len(records["qa"])
    by = sum(1 for r in records["abstract"] if licence_info(r.license)[0] == "by")
    assert manifest["configs"]["abstract-by"]["rows"] == by
    assert not list(repo_dir.parent.glob(".ds.tmp-*")), "temporary folder left behind"


def test_every_config_loads_with_load_dataset_and_shares_one_schema(work):
    import datasets

    repo_dir, manifest = _write(work)
    loaded = {}
    for name, cfg in manifest["configs"].items():
        ds = datasets.load_dataset(str(repo_dir), name, split="train")
        assert ds.num_rows == cfg["rows"]
        assert Counter(ds["license"]) == Counter(cfg["licences"])
        assert all(ds["doi"]) and all(ds["license_url"]) and all(ds["license"])
        loaded[name] = ds
    # same columns across configs and splits: concatenation works without schema errors
    merged = datasets.concatenate_datasets([loaded["abstract-by"], loaded["qa-by"], loaded["mcq-nc"]])
    assert merged.num_rows == sum(manifest["configs"][n]["rows"] for n in ("abstract-by", "qa-by", "mcq-nc"))
    default = datasets.load_dataset(str(repo_dir), split="train")  # no config: the default one
    assert default.num_rows == manifest["configs"]["abstract-by"]["rows"]
    mcq = loaded["mcq-nc"]
    row = mcq[0]
    assert row["choices"][row["answer_index"]] == row["answer"]


def test_shards_by_size_and_rewrite_is_byte_identical(work):
    repo_dir, manifest = _write(work, max_shard_mb=0.0005)  # ~500 bytes: several shards
    files = manifest["configs"]["abstract-all"]["files"]
    assert len(files) > 1
    n = len(files)
    assert files == [f"data/abstract-all/train-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    import pyarrow.parquet as pq

    assert (
        sum(pq.read_metadata(repo_dir / f).num_rows for f in files)
        == manifest["configs"]["abstract-all"]["rows"]
    )
    before = {p.relative_to(repo_dir): p.read_bytes() for p in repo_dir.rglob("*") if p.is_file()}
    _write(work, max_shard_mb=0.0005)
    after = {p.relative_to(repo_dir): p.read_bytes() for p in repo_dir.rglob("*") if p.is_file()}
    assert before.keys() == after.keys()
    changed = [str(p) for p in before if before[p] != after[p]]
    assert changed == [], "same build must give the same bytes (re-push must be a no-op)"
    _write(work)  # default shard size: the old multi-shard files disappear
    assert len(list((repo_dir / "data" / "abstract-all").glob("*.parquet"))) == 1


def test_card_round_trips_and_says_what_users_need(work):
    from huggingface_hub import DatasetCard

    repo_dir, manifest = _write(work, version="v1.0.0")
    card = DatasetCard.load(repo_dir / "README.md")
    data = card.data.to_dict()
    assert DatasetCard(str(card)).data.to_dict() == data
    assert data["license"] == sorted({lic for c in manifest["configs"].values() for lic in c["licences"]})
    assert [c["config_name"] for c in data["configs"]] == list(manifest["configs"])
    assert [c["config_name"] for c in data["configs"] if c.get("default")] == ["abstract-by"]
    assert all(set(c) <= {"config_name", "default", "data_files"} for c in data["configs"])
    infos = {i["config_name"]: i for i in data["dataset_info"]}
    assert infos["qa-sa"]["splits"][0]["num_examples"] == manifest["configs"]["qa-sa"]["rows"]
    assert set(data["task_categories"]) == {
        "text-generation",
        "question-answering",
        "multiple-choice",
        "translation",
    }
    assert data["language"] == ["en", "ja"]
    body = card.text
    for needle in (
        "arXiv:2312.03360",
        "Hatakeyama-Sato",
        'load_dataset("me/ds", "qa-by")',
        "## Licence tiers",
        "Papers per journal",
        "Papers per year",
        "p-mcq-9f8e",  # prompt version
        "offline-echo",  # model
        "cost_usd",
        "## Changelog",
        "**v1.0.0**",
        "Resolved build configuration",
    ):
        assert needle in body, needle
    # licence table: config -> licences -> count
    assert re.search(r"\| `abstract-by` \| `cc-by-4.0` \(2\), `cc0-1.0` \(2\) \| 4 \|", body)
    assert "secret" not in body and "<redacted>" in body  # secret-looking keys never shown
    assert "/home/alice" not in body and "work: <local path>" in body
    licence_md = (repo_dir / "LICENSE.md").read_text()
    assert "https://creativecommons.org/licenses/by-nc-nd/4.0/" in licence_md


def test_changelog_keeps_one_entry_per_build(work, tmp_path):
    repo_dir, _ = _write(work)
    _write(work)  # same build again: no new entry
    assert (repo_dir / "README.md").read_text().count("(44 rows)") == 1
    recs = make_records(12)
    write_build(work / "builds" / "demo", recs)
    _write(work, version="v2.0.0", changelog_note="two more papers")
    body = (repo_dir / "README.md").read_text()
    assert "**v2.0.0**" in body and "two more papers" in body and "**unreleased**" in body


def test_nd_rows_in_derived_split_and_unknown_licences_are_dropped_and_counted(tmp_path):
    recs = make_records(5)
    bad_qa = recs["qa"][0].__class__(**{**recs["qa"][0].to_dict(), "id": "nd#qa", "license": "cc-by-nd-4.0"})
    recs["qa"].append(bad_qa)
    odd = recs["abstract"][0].__class__(**{**recs["abstract"][0].to_dict(), "id": "x#a", "license": "weird"})
    recs["abstract"].append(odd)
    write_build(tmp_path / "builds" / "demo", recs)
    manifest = write_repo_folder(tmp_path / "builds" / "demo", tmp_path / "hub" / "me" / "ds", "me/ds")
    assert manifest["drops"] == {
        "abstract: unknown-license weird": 1,
        "qa: no-derivatives licence in a derived split": 1,
    }
    assert manifest["configs"]["qa-nc"]["rows"] == len(recs["qa"]) - 1
    assert "cc-by-nd-4.0" not in str(manifest["configs"]["qa-nc"]["licences"])
    body = (tmp_path / "hub" / "me" / "ds" / "README.md").read_text()
    assert "no-derivatives licence in a derived split" in body


def test_missing_build_and_report_give_clear_errors(tmp_path, work):
    with pytest.raises(BuildError, match="does not exist: run `ccpapers build`"):
        write_repo_folder(tmp_path / "nope", tmp_path / "out", "me/ds")
    (work / "builds" / "demo" / "report.json").unlink()
    with pytest.raises(BuildError, match="report.json is missing"):
        write_repo_folder(work / "builds" / "demo", tmp_path / "out", "me/ds")
    assert not (tmp_path / "out").exists()


def test_rows_that_are_not_records_are_refused(tmp_path):
    from ccpapers.io import write_parquet

    write_parquet(tmp_path / "b" / "qa" / "part-00000.parquet", [{"id": "1", "split": "qa", "bogus": 1}])
    (tmp_path / "b" / "report.json").write_text('{"splits": {"qa": 1}}')
    with pytest.raises(BuildError, match=r"qa/part-00000.parquet row 0: not a ccpapers Record"):
        write_repo_folder(tmp_path / "b", tmp_path / "out", "me/ds")
