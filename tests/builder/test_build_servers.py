"""Builds against fakes that behave like the servers users run (one slot, no /v1/models,
failing requests) and the CLI's answers: exit codes, messages, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccpapers.builder.command import server_lines
from ccpapers.builder.limits import Fatal
from ccpapers.cli import main as cli_main
from ccpapers.io import read_records
from ccpapers.types import Record
from tests.builder.fake_provider import FakeProvider, imitate
from tests.builder.runs import build

REQUESTS = 30  # 5 papers (one is ND) x 3 sections x 2 generators


def _cli(tmp_path: Path, papers: Path, spec: Path, *extra: str) -> int:
    argv = [
        "build",
        "--work",
        str(tmp_path / "w"),
        "--papers",
        str(papers),
        "--spec",
        str(spec),
        "--no-progress",
    ]
    return cli_main([*argv, *extra])


def _default_sigint() -> None:
    """A test run from a background job inherits SIGINT ignored; the build must see Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cache_files(tmp_path: Path) -> set[str]:
    return {p.stem for p in (tmp_path / "w" / "cache" / "llm").glob("??/*.json")}


def test_one_slot_server_is_neither_flooded_nor_left_idle(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env: FakeProvider
) -> None:
    """A CPU server computing one reply at a time, and a timeout that 8 queued requests overrun:
    no reply is computed for a client that had given up, none twice, and the server stays busy."""
    fake = openai_env
    fake.slots, fake.latency = 1, 0.2
    report = build(tmp_path, papers_file, qa_spec, concurrency=8, timeout=1.0)
    wall = fake.events[-1][0] - fake.arrivals[0]  # first request in to last reply out
    assert report["calls"] == REQUESTS and report["engine"]["failed"] == {}
    assert fake.abandoned == 0 and fake.computed == REQUESTS  # nothing thrown away, nothing redone
    assert report["engine"]["retries"] == 0
    assert fake.busy / wall > 0.6  # computing most of the time, not waiting for the client
    pacing = report["engine"]["pacing"]["openai"]
    # one more in line hides the client's own gap between requests; more than that gains nothing
    assert pacing["concurrency"] <= 2 and pacing["peak_concurrency"] <= 3


def test_server_slots_from_props_are_used_from_the_start(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env: FakeProvider
) -> None:
    fake = openai_env
    fake.props = {"total_slots": 4}  # what llama.cpp's llama-server reports at GET /props
    fake.slots, fake.latency = 4, 0.2
    report = build(tmp_path, papers_file, qa_spec, timeout=5.0)
    assert report["calls"] == REQUESTS
    assert fake.max_active == 4 and report["engine"]["pacing"]["openai"]["peak_concurrency"] >= 4


def test_ctrl_c_stops_within_seconds_and_keeps_every_finished_reply(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env: FakeProvider
) -> None:
    fake = openai_env
    fake.latency = 0.2
    env = {**os.environ, "OPENAI_BASE_URL": fake.url + "/v1"}
    cmd = [sys.executable, "-m", "ccpapers", "build", "--work", str(tmp_path / "w"), "--papers", str(papers_file),
           "--spec", str(qa_spec), "--concurrency", "4", "--timeout", "600", "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)  # fmt: skip
    deadline = time.time() + 60
    while len(_cache_files(tmp_path)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    fake.latency = 120.0  # the requests now in flight will not be answered for minutes
    time.sleep(1.0)
    answered = sum(1 for _, path, status in fake.events if path == "/v1/chat/completions" and status == 200)
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert time.monotonic() - interrupted < 6.0
    assert proc.returncode == 130 and "interrupted" in err
    assert len(_cache_files(tmp_path)) == answered >= 3  # every reply that arrived is on disk


def test_fully_cached_rerun_needs_no_server_and_rows_name_the_model_not_its_path(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env: FakeProvider
) -> None:
    fake = openai_env
    fake.models = ["/home/me/models/SmolLM2-135M-Instruct.Q4_1.gguf"]  # llama-cpp-python lists the path
    first = build(tmp_path, papers_file, qa_spec)
    rows = list(read_records(tmp_path / "w" / "builds" / "testspec" / "qa", Record))
    assert rows and {r.model for r in rows} == {"SmolLM2-135M-Instruct.Q4_1"}
    assert first["generators"]["qa"]["model"] == "SmolLM2-135M-Instruct.Q4_1"
    assert {b["model"] for _, b in fake.bodies} == {fake.models[0]}  # the server gets its own id
    fake.stop()
    again = build(tmp_path, papers_file, qa_spec)
    assert again["calls"] == 0 and again["cache_hits"] == REQUESTS
    assert again["generators"]["qa"]["structured_output"] is None  # nothing was sent, nothing was learnt
    assert list(read_records(tmp_path / "w" / "builds" / "testspec" / "qa", Record)) == rows


def test_server_down_with_nothing_cached_is_a_clear_error(
    tmp_path: Path, papers_file: Path, qa_spec: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on port 9
    assert _cli(tmp_path, papers_file, qa_spec) == 1
    err = capsys.readouterr().err
    assert "127.0.0.1:9/v1/models could not be listed" in err and "Start the server" in err


def test_a_server_failing_every_request_stops_the_build_with_its_own_message(
    tmp_path: Path, papers_file: Path, qa_spec: Path, openai_env: FakeProvider, capsys
) -> None:
    openai_env.refuse = lambda body: (500, "llama_decode returned -3: KV cache is full")
    with pytest.raises(Fatal, match="KV cache is full"):
        build(tmp_path, papers_file, qa_spec, retries=1)
    # the requests already started (concurrency 8) try twice each, then the build stops
    assert len(openai_env.arrivals) <= 8 * 2
    assert _cli(tmp_path, papers_file, qa_spec, "--retries", "1") == 1
    assert "KV cache is full" in capsys.readouterr().err


def test_a_split_left_empty_by_server_errors_exits_3_with_the_servers_message(
    tmp_path: Path, papers_file: Path, openai_env: FakeProvider, capsys
) -> None:
    spec = tmp_path / "testspec.yaml"
    spec.write_text(
        "name: testspec\ntarget_fraction: 1.0\ngenerate:\n"
        "  qa: {generator: qa, sources: [abstract], per_passage: 2}\n"
        "  rewrite: {generator: rewrite, sources: [introduction], styles: [article]}\n"
    )
    too_long = "Requested tokens (4532) exceed context window of 2048"  # llama-cpp-python's words
    openai_env.refuse = lambda body: (500, too_long) if "ccpapers_rewrite" in str(body) else None
    assert _cli(tmp_path, papers_file, spec) == 3  # an incomplete build
    err = capsys.readouterr().err
    assert "rewrite: 0 rows from 5 requests (no-reply:context-length 5)" in err and too_long in err
    assert "qa:" not in err.split("came out empty")[1]  # the split that has rows is not blamed
    report = (tmp_path / "w" / "builds" / "testspec" / "report.json").read_text()
    assert '"empty_splits"' in report and openai_env.calls["openai"] == 5  # no retries of a hopeless request


def test_transformers_serve_as_recorded_builds_every_split_with_default_flags(
    tmp_path: Path, papers_file: Path, spec_file: Path, openai_env: FakeProvider
) -> None:
    """No /v1/models (500), pinned to one model, response_format ignored (free-form replies),
    one request at a time: the model is found, replies are repaired, every split gets rows."""
    fake = imitate(openai_env, "transformers-serve")
    report = build(tmp_path, papers_file, spec_file)
    for split in ("qa", "mcq", "rewrite", "translation"):
        assert report["splits"][split] > 0, split
        assert report["generators"][split]["model"] == "SmolLM2-135M-Instruct"
    assert {b["model"] for _, b in fake.bodies} == {"/models/SmolLM2-135M-Instruct"}
    rows = list(read_records(tmp_path / "w" / "builds" / "testspec" / "qa", Record))
    assert all("json-repaired" in r.flags for r in rows)  # the JSON came inside a ```json fence
    assert fake.abandoned == 0 and fake.max_active == 1


def test_llama_cpp_python_as_recorded_builds_every_split_after_one_500(
    tmp_path: Path, papers_file: Path, spec_file: Path, openai_env: FakeProvider
) -> None:
    """json_schema answered by HTTP 500 naming response_format: one refusal, then json_object
    with the schema (bounded lists included) for every request; no retries, rows everywhere."""
    fake = imitate(openai_env, "llama-cpp-python")
    report = build(tmp_path, papers_file, spec_file, retries=1)
    assert fake.calls["rejected_schema"] == 1 and report["engine"]["retries"] == 0
    for split in ("qa", "mcq", "rewrite", "translation"):
        assert report["splits"][split] > 0, split
        assert report["generators"][split]["structured_output"] == "json_object_schema"
        assert report["generators"][split]["model"] == "SmolLM2-135M-Instruct.Q4_1"
    change = report["generators"]["qa"]["structured_output_changes"][0]
    assert (
        change.startswith("json_schema refused (HTTP 500")
        and "Input should be 'text' or 'json_object'" in change
    )
    shown = server_lines(report)  # what `ccpapers build` prints under its table
    assert shown[0].startswith("structured output: json_object_schema; json_schema refused (HTTP 500")
    assert shown[1].startswith("openai: ") and "request(s) in flight (peak" in shown[1]
    formats = [b["response_format"] for _, b in fake.bodies]
    assert all(f["type"] == "json_object" and f["schema"]["type"] == "object" for f in formats)
    mcq = next(f["schema"] for f in formats if "distractors" in str(f["schema"]))
    assert mcq["properties"]["items"]["items"]["properties"]["distractors"]["maxItems"] == 3
