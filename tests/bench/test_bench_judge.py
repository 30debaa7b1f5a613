"""The bench judge goes through the build engine (retries, pacing, cost, spend ledger) against the
fake provider speaking Anthropic's wire format, and reads judge caches written before it did."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ccpapers.bench.judge import JUDGE_PROMPT_VERSION, Judge, judge_prompt, make_backend
from ccpapers.io import write_json
from tests.builder.conftest import KEY_ENVS
from tests.builder.fake_provider import FakeProvider

QUESTION, REFERENCE, ANSWER = "Who discovered aurelite?", "Mira Osei, in 2031.", "Mira Osei"


@pytest.fixture
def anthropic(monkeypatch: pytest.MonkeyPatch):
    for name in KEY_ENVS:
        monkeypatch.delenv(name, raising=False)
    fake = FakeProvider()
    fake.retry_after = "0"
    fake.chat = lambda body: json.dumps({"explanation": "names the discoverer, not the year", "rating": 7})
    fake.start()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    yield fake
    fake.stop()


def test_judge_retries_prices_and_books_through_the_engine(anthropic: FakeProvider, tmp_path: Path) -> None:
    anthropic.fail_429 = 2  # the judge used to call the backend once and crash on a 429
    judge = Judge(
        make_backend("anthropic", "claude-sonnet-4-6"), "claude-sonnet-4-6", tmp_path / "cache", tmp_path
    )
    out = judge.rate_all([(QUESTION, REFERENCE, ANSWER), (QUESTION, REFERENCE, "Someone else")])
    assert [r["judge_rating"] for r in out] == [7.0, 7.0]
    stats = judge.stats.to_dict()
    assert stats["calls"] == 2 and stats["rate_limited"] == 2 and stats["cost_usd"] > 0
    ledger = [json.loads(line) for line in (tmp_path / "spend.jsonl").read_text().splitlines()]
    assert len(ledger) == 2 and all(e["cost_usd"] > 0 for e in ledger)
    # a second judge asks nothing: every reply is a cache hit
    again = Judge(make_backend("anthropic", "claude-sonnet-4-6"), "claude-sonnet-4-6", tmp_path / "cache")
    assert again.rate(QUESTION, REFERENCE, ANSWER)["judge_rating"] == 7.0
    assert again.stats.calls == 0 and again.stats.cache_hits == 1


def test_judge_cache_written_by_the_old_judge_is_a_hit(tmp_path: Path) -> None:
    """The first judge wrote ``<sha256([model, version, prompt])[:32]>.json`` holding the reply as
    text (``io.write_json``); the same file answers the engine-backed judge, nothing is asked."""
    model = "old-judge-model"
    prompt = judge_prompt(QUESTION, REFERENCE, ANSWER)
    key = hashlib.sha256(json.dumps([model, JUDGE_PROMPT_VERSION, prompt]).encode()).hexdigest()[:32]
    old = tmp_path / f"{key}.json"
    write_json(old, {"model": model, "version": JUDGE_PROMPT_VERSION, "reply": "Close. Rating: [[4]]"})
    before = old.read_bytes()

    class Unreachable:
        name, model, supports = "unreachable", "old-judge-model", frozenset({"chat"})

        def payload(self, request):
            return {"prompt": request.instruction}

        def send(self, payload, **_):
            raise AssertionError("a cached judgement was asked again")

    judge = Judge(Unreachable(), model, tmp_path)
    assert judge.rate(QUESTION, REFERENCE, ANSWER)["judge_rating"] == 4.0
    assert judge.stats.cache_hits == 1 and judge.stats.calls == 0
    assert old.read_bytes() == before
