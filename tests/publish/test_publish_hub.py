"""Push to the fake Hub with the real huggingface_hub/datasets code, tag, load back by revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.publish import run_publish
from ccpapers.publish.config import PublishConfig
from ccpapers.publish.hub import PushError

from .conftest import make_records, write_build

REPO = "tester/ccpapers-demo"
# huggingface_hub's legacy LFS upload passes a file object as `data=`; httpx2 warns about it
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def _cfg(work: Path, **kw) -> PublishConfig:
    return PublishConfig(work=work, spec="demo", repo=REPO, **kw)


def _commits(api) -> list[str]:
    return [c.commit_id for c in api.list_repo_commits(REPO, repo_type="dataset")]


def test_push_tag_repush_noop_fewer_shards_and_load_by_revision(fake_hub, work, records):
    import datasets
    from huggingface_hub import DatasetCard, HfApi

    api = HfApi()
    # 1. first push: many small shards, tagged
    first = run_publish(_cfg(work, push=True, tag="v1.0.0", max_shard_mb=0.0005, private=True))
    assert first["push"]["commit"] and first["push"]["tag"] == "v1.0.0"
    assert fake_hub.state.repos[("dataset", REPO)].private
    files_v1 = set(api.list_repo_files(REPO, repo_type="dataset"))
    shards_v1 = sorted(f for f in files_v1 if f.startswith("data/abstract-all/"))
    assert len(shards_v1) > 1
    assert {"README.md", "LICENSE.md"} <= files_v1
    assert not any(f.startswith(".ccpapers") for f in files_v1), "local state must not be uploaded"
    refs = api.list_repo_refs(REPO, repo_type="dataset")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0.0", first["push"]["commit"])]

    # 2. re-pushing the same build is a no-op: no commit, tag already right
    n_commits = len(_commits(api))
    again = run_publish(_cfg(work, push=True, tag="v1.0.0", max_shard_mb=0.0005))
    assert again["push"]["commit"] is None
    assert len(_commits(api)) == n_commits

    # 3. a new build (two more papers), fewer shards: one commit, stale shards removed
    write_build(work / "builds" / "demo", make_records(12))
    second = run_publish(_cfg(work, push=True, tag="v2.0.0"))
    assert len(_commits(api)) == n_commits + 1
    files_v2 = set(api.list_repo_files(REPO, repo_type="dataset"))
    assert sorted(f for f in files_v2 if f.startswith("data/abstract-all/")) == [
        "data/abstract-all/train-00000-of-00001.parquet"
    ]
    assert second["push"]["plan"]["delete"], "stale shards must be deleted in the same commit"

    # 4. load both releases back through the Hub API
    old = datasets.load_dataset(REPO, "abstract-all", split="train", revision="v1.0.0")
    new = datasets.load_dataset(REPO, "abstract-all", split="train", revision="v2.0.0")
    assert old.num_rows == len(records["abstract"]) == 10
    assert new.num_rows == 12
    assert datasets.get_dataset_config_names(REPO, revision="v2.0.0")[0] == "abstract-by"
    qa = datasets.load_dataset(REPO, "qa-by", split="train", revision="v2.0.0")
    assert set(qa["license"]) <= {"cc-by-4.0", "cc0-1.0"}
    default = datasets.load_dataset(REPO, split="train", revision="v2.0.0")
    assert default.num_rows == second["configs"]["abstract-by"]

    # 5. the card round-trips through DatasetCard.load from the Hub
    card = DatasetCard.load(REPO, repo_type="dataset")
    assert card.data.pretty_name == "ccpapers demo"
    assert "**v2.0.0**" in card.text and "**v1.0.0**" in card.text
    assert "hf_fake_test_token" not in card.content


def test_dry_run_shows_changes_and_uploads_nothing(fake_hub, work, capsys):
    summary = run_publish(_cfg(work, dry_run=True, push=True))
    plan = summary["push"]["plan"]
    assert summary["push"]["dry_run"] and not plan["repo_exists"]
    assert "README.md" in plan["add"] and len(plan["add"]) == 2 + len(summary["configs"])
    assert fake_hub.state.repos == {}, "a dry run must not create the repo"
    run_publish(_cfg(work, push=True))
    write_build(work / "builds" / "demo", make_records(12))
    plan = run_publish(_cfg(work, dry_run=True))["push"]["plan"]
    assert plan["repo_exists"] and plan["update"] and not plan["add"]
    assert ("POST", f"/api/datasets/{REPO}/commit/main") in fake_hub.state.requests
    n_commits = sum(1 for m, p in fake_hub.state.requests if p.endswith("/commit/main"))
    assert n_commits == 1


def test_existing_tag_on_other_commit_is_refused_before_upload(fake_hub, work):
    run_publish(_cfg(work, push=True, tag="v1.0.0"))
    write_build(work / "builds" / "demo", make_records(12))
    before = len(fake_hub.state.repos[("dataset", REPO)].commits)
    with pytest.raises(PushError, match="tag v1.0.0 already exists.*choose a new version"):
        run_publish(_cfg(work, push=True, tag="v1.0.0"))
    assert len(fake_hub.state.repos[("dataset", REPO)].commits) == before


def test_missing_token_is_a_clear_error(fake_hub, work, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(PushError, match="no Hugging Face token: set HF_TOKEN"):
        run_publish(_cfg(work, push=True, validate=False))
    assert fake_hub.state.repos == {}


def test_rejected_token_is_reported_without_the_token(fake_hub, work):
    fake_hub.state.valid_tokens = {"hf_some_other_token"}
    with pytest.raises(PushError) as err:
        run_publish(_cfg(work, push=True, validate=False))
    assert "the Hub rejected the token" in str(err.value) and "hf auth login" in str(err.value)
    assert "hf_fake_test_token" not in str(err.value)
    assert fake_hub.state.repos == {}
