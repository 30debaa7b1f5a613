"""429/Retry-After, malformed replies, --max-cost, kill and resume, batches, --estimate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccpapers.builder import run_build
from ccpapers.builder.config import BuildConfig
from ccpapers.builder.limits import Fatal
from ccpapers.cli import main as cli_main
from ccpapers.io import read_records
from ccpapers.types import Record
from tests.builder.fake_provider import FakeProvider
from tests.builder.runs import build

QA_SPEC = """name: testspec
target_fraction: 1.0
models: {anthropic: claude-sonnet-4-6, openai: fake-model-1}
generate:
  qa: {generator: qa, sources: [abstract, introduction, conclusion], per_passage: 3}
  mcq: {generator: mcq, sources: [abstract, introduction, conclusion], per_passage: 3}
"""


@pytest.fixture
def qa_spec(tmp_path: Path) -> Path:
    path = tmp_path / "testspec.yaml"
    path.write_text(QA_SPEC)
    return path


def _cache_files(tmp_path: Path) -> set[str]:
    root = tmp_path / "w" / "cache" / "llm"
    return {p.stem for p in root.glob("??/*.json")}


def test_429_with_retry_after_is_honoured(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env
) -> None:
    fake: FakeProvider = openai_env
    fake.fail_429 = 1
    fake.retry_after = "1"
    report = build(tmp_path, papers_file, qa_spec, concurrency=1)
    assert fake.calls["429"] == 1
    assert report["engine"]["rate_limited"] == 1 and report["engine"]["failed"] == {}
    t_429 = next(t for t, path, status in fake.events if status == 429)
    later = [t for t in fake.arrivals if t > t_429]
    assert later and min(later) - t_429 >= 0.9  # waited the server's Retry-After before asking again
    assert report["calls"] == 30 and report["splits"]["qa"] > 0  # every request answered in the end


def test_malformed_json_is_repaired_or_dropped_with_a_reason(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env
) -> None:
    openai_env.malformed = ["truncate", "garbage"]
    report = build(tmp_path, papers_file, qa_spec, concurrency=1)
    assert report["drops"]["qa"]["malformed-json"] == 1
    assert "Sorry" in report["drop_examples"]["qa"]["malformed-json"][0]
    rows = list(read_records(tmp_path / "w" / "builds" / "testspec" / "qa", Record))
    repaired = [r for r in rows if "json-repaired" in r.flags]
    assert repaired and all(r.question and r.answer for r in repaired)


def test_max_cost_stops_before_the_limit_and_a_rerun_resumes(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("fake-model-1: {input: 1000, output: 1000}\n")  # USD per million tokens
    first = build(tmp_path, papers_file, qa_spec, prices=prices, max_cost=5.0, concurrency=4)
    assert 0 < first["calls"] < 30
    assert first["cost_usd"] <= 5.0
    assert first["engine"]["stopped"].startswith("max-cost")
    assert (
        first["drops"]["qa"].get("no-reply:max-cost", 0) + first["drops"]["mcq"].get("no-reply:max-cost", 0)
        > 0
    )
    done = len(_cache_files(tmp_path))
    assert done == first["calls"]
    second = build(tmp_path, papers_file, qa_spec, prices=prices)
    assert second["calls"] == 30 - done and second["cache_hits"] == done
    assert openai_env.calls["openai"] == 30  # nothing asked twice


def test_killed_build_resumes_without_repeating_finished_requests(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env
) -> None:
    fake: FakeProvider = openai_env
    fake.latency = 0.25
    env = {**os.environ, "OPENAI_BASE_URL": fake.url + "/v1"}
    cmd = [sys.executable, "-m", "ccpapers", "build", "--work", str(tmp_path / "w"), "--papers", str(papers_file),
           "--spec", str(qa_spec), "--concurrency", "2", "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while fake.calls["openai"] < 8 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no cleanup, no atexit
    proc.wait()
    time.sleep(fake.latency + 0.5)  # let the server finish the handlers of requests cut off by the kill
    finished = _cache_files(tmp_path)
    assert 4 <= len(finished) < 30
    sent_before = fake.calls["openai"]
    fake.latency = 0.0
    report = build(tmp_path, papers_file, qa_spec)
    assert report["cache_hits"] == len(finished)
    assert report["calls"] == 30 - len(finished)
    assert fake.calls["openai"] - sent_before == 30 - len(finished)
    assert len(_cache_files(tmp_path)) == 30
    # at most the requests in flight at the kill (concurrency 2) were sent twice
    assert fake.calls["openai"] <= 30 + 2


@pytest.mark.parametrize("backend", ["anthropic", "openai"])
def test_batch_mode_submits_once_and_resumes_from_stored_batch_ids(
    tmp_path: Path, papers_file: Path, qa_spec: Path, provider: FakeProvider, monkeypatch, backend: str
) -> None:
    if backend == "anthropic":
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", provider.url)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("OPENAI_BASE_URL", provider.url + "/v1")
    provider.batch_pending_polls = 10**6  # the batch stays in progress
    import ccpapers.builder.engine as engine_mod

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine_mod.time, "sleep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path, papers_file, qa_spec, backend=backend, batch=True, batch_poll=0.01)
    monkeypatch.undo()
    if backend == "anthropic":
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", provider.url)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("OPENAI_BASE_URL", provider.url + "/v1")
    assert provider.calls[f"{backend}_batch_create"] == 1
    assert not _cache_files(tmp_path)  # nothing answered yet
    provider.batch_pending_polls = 0
    report = build(tmp_path, papers_file, qa_spec, backend=backend, batch=True, batch_poll=0.01)
    assert provider.calls[f"{backend}_batch_create"] == 1  # resumed the stored batch, no resubmission
    assert provider.calls[backend] == 0  # no single requests either
    assert report["calls"] == 30 and report["splits"]["qa"] > 0 and report["splits"]["mcq"] > 0
    again = build(tmp_path, papers_file, qa_spec, backend=backend, batch=True, batch_poll=0.01)
    assert again["calls"] == 0 and provider.calls[f"{backend}_batch_create"] == 1


def test_estimate_prints_calls_tokens_and_cost_without_calling(
    tmp_path: Path, papers_file: Path, qa_spec: Path, anthropic_env: FakeProvider, capsys
) -> None:
    rc = cli_main(["build", "--work", str(tmp_path / "w"), "--papers", str(papers_file), "--spec", str(qa_spec),
                   "--estimate", "--no-progress"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and anthropic_env.model_calls() == 0
    assert "calls=    15" in out and "total        calls=30" in out and "$" in out
    assert not (tmp_path / "w" / "builds").exists()
    build(tmp_path, papers_file, qa_spec)
    rc = cli_main(["build", "--work", str(tmp_path / "w"), "--papers", str(papers_file), "--spec", str(qa_spec),
                   "--estimate", "--no-progress"])  # fmt: skip
    assert "30 requests cached" in capsys.readouterr().out


def test_auth_error_stops_with_a_clear_message(
    tmp_path: Path, papers_file: Path, qa_spec: Path, anthropic_env: FakeProvider, capsys
) -> None:
    anthropic_env.auth_fail = True
    with pytest.raises(Fatal, match="ANTHROPIC_API_KEY"):
        build(tmp_path, papers_file, qa_spec, concurrency=2)
    assert anthropic_env.model_calls() == 0 and len(anthropic_env.arrivals) <= 2  # stopped at once
    rc = cli_main(["build", "--work", str(tmp_path / "w"), "--papers", str(papers_file), "--spec", str(qa_spec),
                   "--no-progress", "--concurrency", "1"])  # fmt: skip
    assert rc == 1 and "rejected the API key" in capsys.readouterr().err


def test_report_counts_calls_tokens_and_cache_hits(
    tmp_path: Path, papers_file: Path, qa_spec: Path, anthropic_env
):
    report = build(tmp_path, papers_file, qa_spec)
    data = json.loads((tmp_path / "w" / "builds" / "testspec" / "report.json").read_text())
    assert data["calls"] == report["calls"] == 30 and data["cache_hits"] == 0
    per_model = data["engine"]["usage_by_model"]["anthropic/claude-sonnet-4-6"]
    assert per_model["calls"] == 30 and per_model["input_tokens"] == data["tokens"]["input_tokens"]


def test_context_length_error_drops_that_request_only(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env: FakeProvider
) -> None:
    openai_env.errors = [(400, "This model's maximum context length is 4096 tokens")]
    report = build(tmp_path, papers_file, qa_spec, concurrency=1)
    assert report["engine"]["failed"] == {"context-length": 1}
    assert (
        report["drops"]["qa"].get("no-reply:context-length", 0)
        + report["drops"]["mcq"].get("no-reply:context-length", 0)
        == 1
    )
    assert report["calls"] == 29


def test_quota_error_stops_the_build(tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env) -> None:
    openai_env.errors = [(429, "You exceeded your current quota: insufficient_quota")]
    with pytest.raises(Fatal, match="quota"):
        build(tmp_path, papers_file, qa_spec, concurrency=1)


def test_push_publishes_the_build_to_the_hub(tmp_path: Path, papers_file: Path, fake_hub) -> None:
    """`build --push --repo` goes through the real publish stage to the fake Hub on 127.0.0.1."""
    from huggingface_hub import HfApi

    report = run_build(BuildConfig(work=tmp_path / "w", papers=papers_file, spec="demo", progress=False, push=True,
                                   repo="me/data", tag="v1"))  # fmt: skip
    assert report["push"]["push"]["commit"] and report["push"]["push"]["tag"] == "v1"
    files = set(HfApi().list_repo_files("me/data", repo_type="dataset"))
    assert "README.md" in files and any(f.startswith("data/abstract-") for f in files)


def test_push_without_repo_is_refused(tmp_path: Path, papers_file: Path) -> None:
    from ccpapers.config import ConfigError

    with pytest.raises(ConfigError, match="--repo"):
        run_build(
            BuildConfig(work=tmp_path / "w", papers=papers_file, spec="demo", progress=False, push=True)
        )


def test_a_max_cost_stop_exits_3_and_is_not_pushed(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env, fake_hub, capsys
) -> None:
    """A build cut short by --max-cost is incomplete: status 3, and --push publishes nothing
    (before, it exited 0 and pushed the partial splits as the dataset)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    prices = tmp_path / "prices.yaml"
    prices.write_text("fake-model-1: {input: 1000, output: 1000}\n")
    rc = cli_main(["build", "--work", str(tmp_path / "w"), "--papers", str(papers_file), "--spec", str(qa_spec),
                   "--prices", str(prices), "--max-cost", "5", "--concurrency", "4", "--no-progress",
                   "--push", "--repo", "me/partial"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 3
    assert "not pushed, the build is incomplete: stopped early: max-cost" in err
    report = json.loads((tmp_path / "w" / "builds" / "testspec" / "report.json").read_text())
    assert report["push"]["skipped"].startswith("stopped early: max-cost")
    with pytest.raises(RepositoryNotFoundError):
        HfApi().list_repo_files("me/partial", repo_type="dataset")
