"""Scorers, judge parsing and statistics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from ccpapers.bench.evaluation import mean_ci
from ccpapers.bench.judge import Judge, judge_prompt, parse_rating
from ccpapers.bench.scorers.text import KeywordScorer, McqLetterScorer, Rouge2Scorer, extract_letter
from ccpapers.registry import SCORERS


def test_registry_has_scorers():
    assert {"keywords", "rouge2", "mcq-letter", "mcq-loglik"} <= set(SCORERS.names())


def test_keywords_share_after_normalisation():
    s = KeywordScorer()
    # 2 of 3 keywords: case, NFKC full-width digits and thousands separator are normalised
    assert s("AURELITE stores ４,120 Wh", ["aurelite", "4120", "violet"]) == pytest.approx(2 / 3)
    # whole tokens only: "aurelites" does not contain the keyword "aurelite"; "Mira Osei" is a phrase
    assert s("aurelites by Mira  Osei", ["aurelite", "Mira Osei"]) == 0.5
    assert s("Osei Mira", ["Mira Osei"]) == 0.0
    assert s("3.5 GeV", ["3.5"]) == 1.0 and s("35 GeV", ["3.5"]) == 0.0
    assert s("", ["x"]) == 0.0
    # CJK keyword matched as a substring
    assert s("それはオーレライトです", ["オーレライト"]) == 1.0
    with pytest.raises(ValueError):
        s("anything", [])


def test_rouge2_stemmed_matches_reference_value():
    r = Rouge2Scorer()
    ref = "The Zorblax crystals glow violet under neutrino flux."
    pred = "Zorblax crystal glows violet when exposed to neutrino fluxes."
    # stemmed bigrams: ref 7, pred 8; shared {zorblax crystal, crystal glow, glow violet,
    # neutrino flux} = 4; P = 4/8, R = 4/7, F = 2PR/(P+R) = 0.5333
    assert r(pred, ref) == pytest.approx(2 * (4 / 8) * (4 / 7) / (4 / 8 + 4 / 7))
    assert r(pred, ref) == pytest.approx(0.533, abs=1e-3)
    assert Rouge2Scorer(use_stemmer=False)(pred, ref) == 0.0
    assert r("", ref) == 0.0
    d = r.detail(pred, ref)
    assert d["precision"] == pytest.approx(4 / 8) and d["recall"] == pytest.approx(4 / 7)


def test_rouge2_non_ascii_and_cjk():
    r = Rouge2Scorer()
    assert r("研究者は新しい材料を発見した", "研究者は新しい材料を発見した") == 1.0
    assert r("naïve café", "naïve café") == 1.0


@pytest.mark.parametrize(
    "text,idx",
    [
        ("Answer: B", 1),
        ("The answer is (C).", 2),
        ("D. Momentum", 3),
        ("A", 0),
        ("(b) because", None),
        ("I think it is a test", None),
        ("", None),
    ],
)
def test_extract_letter(text, idx):
    assert extract_letter(text) == idx


def test_mcq_letter_scorer():
    assert McqLetterScorer()("Answer: C", 2) == 1.0
    assert McqLetterScorer()("Answer: C", 1) == 0.0


class PromptBackend:
    """A build backend (payload -> send -> parse) answering with ``fn(prompt)``."""

    name = "prompt-fn"
    model = "fn"
    supports = frozenset({"chat"})

    def __init__(self, fn):
        self.fn = fn

    def payload(self, request):
        return {"prompt": request.instruction}

    def send(self, payload, timeout=None):
        return {"text": self.fn(payload["prompt"])}

    def parse(self, raw):
        from ccpapers.builder.backends.base import Reply

        return Reply(texts=[raw["text"]])


def test_judge_prompt_parse_and_cache(tmp_path):
    calls = []

    def fake(prompt: str) -> str:
        calls.append(prompt)
        return "The answer misses the year. Rating: [[6]]"

    p = judge_prompt("Who?", "Mira Osei in 2031.", "Mira Osei")
    assert (
        "[The Start of Reference Answer]\nMira Osei in 2031." in p and "Mira Osei\n[The End of Assistant" in p
    )
    j = Judge(PromptBackend(fake), model="fake-judge", cache_dir=tmp_path)
    assert j.rate("Who?", "Mira Osei in 2031.", "Mira Osei")["judge_rating"] == 6.0
    assert j.rate("Who?", "Mira Osei in 2031.", "Mira Osei")["judge_rating"] == 6.0
    assert len(calls) == 1  # second answer came from the cache
    assert parse_rating("no rating here") is None
    assert parse_rating("Rating: [[11]]") is None
    assert parse_rating("[[3]] then [[9]]") == 3.0


def test_mean_ci_hand_computed():
    r = mean_ci([0.2, 0.4, 0.6])
    # mean 0.4, sd 0.2, t(0.975, 2) = 4.303, half-width 4.303 * 0.2 / sqrt(3)
    assert r["mean"] == pytest.approx(0.4) and r["sd"] == pytest.approx(0.2)
    assert r["ci_high"] - r["mean"] == pytest.approx(4.303 * 0.2 / math.sqrt(3), rel=1e-3)
    one = mean_ci([0.5])  # one value has no interval (issue 15: not a zero-width one)
    assert one["mean"] == 0.5 and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])


def test_judge_backend_json_reply_is_parsed():
    from ccpapers.bench.judge import reply_to_text

    assert parse_rating(reply_to_text('{"explanation": "misses the year", "rating": 7}')) == 7.0
    assert parse_rating(reply_to_text("plain text [[4]]")) == 4.0


def test_paired_bootstrap():
    from ccpapers.bench.evaluation import paired_bootstrap

    same = paired_bootstrap([1, 0, 1, 0], [1, 0, 1, 0])
    assert same == {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    up = paired_bootstrap([1.0] * 10, [0.0] * 5 + [1.0] * 5)
    assert up["mean"] == 0.5 and 0.1 < up["ci_low"] <= 0.5 <= up["ci_high"] <= 0.9
    assert paired_bootstrap([1, 1], [0, 0], seed=3) == paired_bootstrap([1, 1], [0, 0], seed=3)
