"""Fixtures for the build tests: hand-made papers, a fake provider on 127.0.0.1, clean env."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ccpapers.io import write_jsonl
from tests.builder.fake_provider import FakeProvider
from tests.builder.papers_fixture import make_papers
from tests.builder.runs import QA_SPEC

KEY_ENVS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY",
            "OPENAI_BASE_URL", "DEEPL_AUTH_KEY", "DEEPL_SERVER_URL")  # fmt: skip

FULL_SPEC = """
name: testspec
target_fraction: 1.0
max_words: 2000
backend: auto
models: {anthropic: claude-sonnet-4-6, openai: fake-model-1}
generate:
  qa: {generator: qa, sources: [abstract, conclusion], per_passage: 3}
  mcq: {generator: mcq, sources: [abstract, introduction, conclusion], per_passage: 3, options: 4}
  rewrite: {generator: rewrite, sources: [abstract], styles: [qa, article], variants: 2}
  translation: {generator: translate, sources: [abstract], languages: [de, ja], backend: deepl}
"""


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees a real key or endpoint from the developer's environment."""
    for name in KEY_ENVS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def papers_file(tmp_path: Path) -> Path:
    path = tmp_path / "papers.jsonl"
    write_jsonl(path, make_papers(6))
    return path


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "testspec.yaml"
    path.write_text(textwrap.dedent(FULL_SPEC), encoding="utf-8")
    return path


@pytest.fixture
def qa_spec(tmp_path: Path) -> Path:
    """A spec of Q&A and MCQ over three sections: 30 requests for the six papers (one is ND)."""
    path = tmp_path / "testspec.yaml"
    path.write_text(QA_SPEC)
    return path


@pytest.fixture
def provider():
    fake = FakeProvider()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def anthropic_env(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", provider.url)
    monkeypatch.setenv("DEEPL_AUTH_KEY", "test-deepl-key")
    monkeypatch.setenv("DEEPL_SERVER_URL", provider.url)
    return provider


@pytest.fixture
def openai_env(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    monkeypatch.setenv("OPENAI_BASE_URL", provider.url + "/v1")
    return provider
