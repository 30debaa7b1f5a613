"""The one scrubber: env keys, URL credentials and Authorization-looking values never get out."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest

from ccpapers.errors import CcpapersError
from ccpapers.io import write_json
from ccpapers.secrets import MASK, ScrubFilter, install_log_filter, scrub, scrub_obj, scrubbed_output

KEYS = {
    "ANTHROPIC_API_KEY": "anthropic-opaque-7f3a9c2e1b",
    "OPENAI_API_KEY": "openai-opaque-55e1d0c9aa",
    "DEEPL_AUTH_KEY": "deepl-opaque-91bb20c7",
    "HF_TOKEN": "hub-opaque-d41d8cd98f",
    "MY_SERVICE_PASSWORD": "pw-opaque-0b9e6c",
}


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    return KEYS


def test_env_key_values_are_masked_wherever_they_appear(keys: dict[str, str]) -> None:
    text = " | ".join(f"echo of {v} in a body" for v in keys.values())
    out = scrub(text)
    assert not any(v in out for v in keys.values())
    assert out.count(MASK) == len(keys)


def test_short_and_non_secret_env_values_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_DISABLE_TOKEN", "1")  # a flag, not a secret
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-ish-value")  # TOKEN is not a part of the name
    assert scrub("1 token, false-ish-value") == "1 token, false-ish-value"


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("GET http://alice:s3cr3t-pw@127.0.0.1:8000/v1/models failed", "s3cr3t-pw"),
        ("base_url=https://tok-only-123@example.org/v1", "tok-only-123"),
        ("headers: {'Authorization': 'Bearer abcdefgh12345678'}", "abcdefgh12345678"),
        ("Authorization: DeepL-Auth-Key 0f9e8d7c-1111-2222-3333-444455556666:fx", "0f9e8d7c"),
        ('{"x-api-key": "zzzz-yyyy-xxxx-wwww"}', "zzzz-yyyy-xxxx-wwww"),
        ("request with api_key=kkkk1111jjjj2222 was refused", "kkkk1111jjjj2222"),
        ("Incorrect API key provided: sk-proj-ABCDEFGHIJKLMNOPQRSTUV", "ABCDEFGHIJKLMNOP"),
        ("token hf_abcdefghijklmnopqrstuvwx is invalid", "hf_abcdefghijklmnop"),
    ],
)
def test_url_credentials_auth_headers_and_key_shapes_are_masked(text: str, leak: str) -> None:
    out = scrub(text)
    assert leak not in out and MASK in out


def test_ordinary_messages_pass_unchanged() -> None:
    text = "split qa: 12 rows, max_tokens=1500, 3 tokens; see https://example.org/docs and 10.1038/x"
    assert scrub(text) == text


def test_scrub_obj_cleans_nested_reports_and_write_json_uses_it(keys: dict[str, str], tmp_path: Path) -> None:
    report = {"engine": {"stopped": f"quota for {keys['OPENAI_API_KEY']}"}, "examples": [keys["HF_TOKEN"], 3]}
    assert keys["OPENAI_API_KEY"] not in json.dumps(scrub_obj(report))
    write_json(tmp_path / "r.json", report)
    written = (tmp_path / "r.json").read_text()
    assert not any(v in written for v in keys.values()) and MASK in written


def test_log_filter_scrubs_messages_args_and_tracebacks(keys: dict[str, str]) -> None:
    stream = io.StringIO()
    logger = logging.getLogger("ccpapers.test_secrets")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    install_log_filter(logger)
    try:
        logger.warning("server said %s", f"bad key {keys['DEEPL_AUTH_KEY']}")
        try:
            raise RuntimeError(f"body echoes {keys['ANTHROPIC_API_KEY']}")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "server said bad key" in text and "RuntimeError" in text
    assert not any(v in text for v in keys.values())
    assert any(isinstance(f, ScrubFilter) for f in handler.filters)


def test_scrubbed_output_covers_print_and_restores_the_streams(keys: dict[str, str], capsys) -> None:
    before = sys.stdout, sys.stderr
    with scrubbed_output():
        print("stdout", keys["OPENAI_API_KEY"])
        print(f"stderr http://u:{keys['MY_SERVICE_PASSWORD']}@h/", file=sys.stderr)
    assert (sys.stdout, sys.stderr) == before
    out, err = capsys.readouterr()
    assert keys["OPENAI_API_KEY"] not in out and MASK in out
    assert keys["MY_SERVICE_PASSWORD"] not in err and "http://[redacted]@h/" in err


def test_user_errors_scrub_their_own_message(keys: dict[str, str]) -> None:
    err = CcpapersError(f"the server echoed {keys['HF_TOKEN']}")
    assert keys["HF_TOKEN"] not in str(err) and MASK in str(err)


def test_cli_error_line_is_scrubbed(keys: dict[str, str], tmp_path: Path, capsys) -> None:
    from ccpapers.cli import main

    missing = tmp_path / f"papers-{keys['OPENAI_API_KEY']}.jsonl"
    rc = main(["build", "--work", str(tmp_path / "w"), "--papers", str(missing), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "not found" in err
    assert keys["OPENAI_API_KEY"] not in err
