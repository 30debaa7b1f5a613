"""Servers that echo the key back in error bodies, and credentials in URLs, never reach the user's screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.builder import run_build
from ccpapers.builder.config import BuildConfig
from ccpapers.builder.limits import Fatal
from ccpapers.cli import main as cli_main
from tests.builder.fake_provider import FakeProvider

OPENAI_KEY = "openai-opaque-key-55e1d0c9aa7f"  # no well-known shape: only the env scrubber can catch it
DEEPL_KEY = "deepl-opaque-key-91bb20c7e4d2"
QA_ONLY = "name: testspec\ntarget_fraction: 1.0\ngenerate:\n  qa: {generator: qa, sources: [abstract]}\n"
TRANSLATE_ONLY = (
    "name: testspec\ntarget_fraction: 1.0\ngenerate:\n"
    "  translation: {generator: translate, sources: [abstract], languages: [de], backend: deepl}\n"
)


def _cli(tmp_path: Path, papers: Path, spec_text: str, *extra: str) -> int:
    spec = tmp_path / "testspec.yaml"
    spec.write_text(spec_text)
    argv = ["build", "--work", str(tmp_path / "w"), "--papers", str(papers), "--spec", str(spec)]
    return cli_main([*argv, "--no-progress", "--concurrency", "1", *extra])


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (402, "Payment required: the account of key {key} has no credit left"),
        (404, "The model `fake-model-1` does not exist or key {key} has no access to it"),
    ],
)
def test_openai_error_bodies_echoing_the_key_are_scrubbed(
    tmp_path: Path, papers_file: Path, provider: FakeProvider, monkeypatch, capsys, status: int, message: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", provider.url + "/v1")
    provider.errors = [(status, message)] * 20
    rc = _cli(tmp_path, papers_file, QA_ONLY, "--backend", "openai", "--model", "fake-model-1")
    out, err = capsys.readouterr()
    assert rc == 1 and f"HTTP {status}" in err  # the server's message is still shown ...
    assert OPENAI_KEY not in out + err and "[redacted]" in err  # ... without the key
    with pytest.raises(Fatal) as exc:  # library callers get a clean message too
        run_build(BuildConfig(work=tmp_path / "w2", papers=papers_file, spec=str(tmp_path / "testspec.yaml"),
                              backend="openai", model="fake-model-1", progress=False, concurrency=1))  # fmt: skip
    assert OPENAI_KEY not in str(exc.value)


@pytest.mark.parametrize(
    ("status", "message"), [(403, "Wrong key {key}"), (456, "Character limit of key {key} reached")]
)
def test_deepl_error_bodies_echoing_the_key_are_scrubbed(
    tmp_path: Path, papers_file: Path, provider: FakeProvider, monkeypatch, capsys, status: int, message: str
) -> None:
    monkeypatch.setenv("DEEPL_AUTH_KEY", DEEPL_KEY)
    monkeypatch.setenv("DEEPL_SERVER_URL", provider.url)
    provider.errors = [(status, message)] * 20
    rc = _cli(tmp_path, papers_file, TRANSLATE_ONLY)
    out, err = capsys.readouterr()
    assert rc == 1 and "DeepL" in err
    assert DEEPL_KEY not in out + err and "[redacted]" in err


def test_url_credentials_in_openai_base_url_are_scrubbed(
    tmp_path: Path, papers_file: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://alice:hunter2-pw-7731@127.0.0.1:9/v1")  # nothing listens
    rc = _cli(tmp_path, papers_file, QA_ONLY)
    out, err = capsys.readouterr()
    assert rc == 1 and "could not be listed" in err and "127.0.0.1:9/v1" in err
    assert "hunter2-pw-7731" not in out + err and "alice" not in out + err
