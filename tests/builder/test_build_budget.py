"""--max-cost is a budget for the whole build: a ledger across runs, conservative when usage is
missing, and input-token bounds that hold for CJK text."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ccpapers.cli import main as cli_main
from ccpapers.io import write_jsonl
from ccpapers.types import Section
from tests.builder.fake_provider import FakeProvider
from tests.builder.papers_fixture import make_paper
from tests.builder.runs import build

PRICE = 1000.0  # USD per million tokens: a request costs about a dollar
JA = (
    "層状のゾルブラックス結晶は京都で気相法により初めて合成された。結晶は410 °Cで焼きなますと厚さ3.5 nmに達する。"
    "湿った空気中では数日で劣化したが、ZrB2を用いた保護膜がこの状況を変えた。"
)


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(f"fake-model-1: {{input: {PRICE}, output: {PRICE}}}\n")
    return path


def _billed_usd(fake: FakeProvider) -> float:
    return sum(p + c for p, c in fake.billed) * PRICE / 1e6


def _ledger(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "w" / "spend.jsonl").read_text().splitlines()]


def test_max_cost_is_a_budget_for_the_whole_build_across_runs(
    tmp_path: Path, papers_file: Path, qa_spec: Path, prices: Path, openai_env: FakeProvider, capsys
) -> None:
    cap = 5.0
    first = build(tmp_path, papers_file, qa_spec, prices=prices, max_cost=cap, concurrency=2)
    assert 0 < first["calls"] < 30 and first["engine"]["stopped"].startswith("max-cost")
    for _ in range(2):  # re-running with the same cap must not spend the cap again
        again = build(tmp_path, papers_file, qa_spec, prices=prices, max_cost=cap, concurrency=2)
        assert again["calls"] == 0 and again["budget"]["spent_before_usd"] == pytest.approx(first["cost_usd"])
    assert _billed_usd(openai_env) <= cap
    assert sum(e["cost_usd"] for e in _ledger(tmp_path)) == pytest.approx(first["cost_usd"])
    argv = ["build", "--work", str(tmp_path / "w"), "--papers", str(papers_file), "--spec", str(qa_spec),
            "--prices", str(prices), "--max-cost", str(cap), "--no-progress"]  # fmt: skip
    assert cli_main(argv) == 3  # a stopped build is incomplete (it exited 0 before)
    err = capsys.readouterr().err
    assert "across runs" in err and "--reset-budget" in err and str(tmp_path / "w" / "spend.jsonl") in err
    reset = build(tmp_path, papers_file, qa_spec, prices=prices, max_cost=cap, reset_budget=True)
    assert reset["calls"] > 0 and reset["budget"]["spent_before_usd"] == 0
    assert any(e.get("reset") for e in _ledger(tmp_path))  # the history is kept, a reset is a line


def test_replies_without_usage_are_booked_conservatively(
    tmp_path: Path, papers_file: Path, qa_spec: Path, prices: Path, openai_env: FakeProvider
) -> None:
    openai_env.omit_usage = True
    cap = 5.0
    report = build(tmp_path, papers_file, qa_spec, prices=prices, max_cost=cap, concurrency=2)
    assert 0 < report["calls"] < 30 and report["engine"]["stopped"].startswith("max-cost")
    assert report["engine"]["usage_estimated"] == report["calls"]
    assert _billed_usd(openai_env) <= report["cost_usd"] <= cap  # booked at least what was billed
    assert all(e["usage_estimated"] for e in _ledger(tmp_path))


def test_japanese_passages_stay_under_the_cap(
    tmp_path: Path, qa_spec: Path, prices: Path, openai_env: FakeProvider
) -> None:
    papers = []
    for i in range(6):
        p = make_paper(i, "cc-by-4.0")
        sections = [Section(s.kind, s.title, JA * 8) for s in p.sections]
        papers.append(dataclasses.replace(p, sections=sections))
    path = tmp_path / "ja.jsonl"
    write_jsonl(path, papers)
    cap = 20.0
    report = build(tmp_path, path, qa_spec, prices=prices, max_cost=cap, concurrency=4)
    assert 0 < report["calls"] < 30 and report["engine"]["stopped"].startswith("max-cost")
    assert _billed_usd(openai_env) <= cap


@pytest.mark.parametrize(
    "text",
    [
        JA,
        "리튬 이온 전도도는 25 °C에서 38 mS/cm이다. 산화 티타늄(TiO2) 피막이 안정성을 높였다.",
        "Die Filme aus TiO2 wachsen bei 1.000 K in 12 h auf 3,5 nm; ß-Phase, Übergänge, Straße.",
        "Layered Zorblax crystals made from LiFePO4 were first grown in Kyoto by a vapour route.",
        '0123456789 3.14159 2.71828 6.02214076e23 {"items": [{"q": "?"}]} <passage>\n\n</passage>',
    ],
)
def test_input_token_bound_is_above_byte_level_counts_and_the_estimate(text: str) -> None:
    from ccpapers.builder.tokens import typical_tokens, upper_bound_tokens

    bound = upper_bound_tokens(text)
    non_ascii = sum(len(ch.encode("utf-8")) for ch in text if ord(ch) > 127)
    assert bound >= non_ascii  # a byte-level BPE token covers at least one byte
    assert bound >= sum(ch.isdigit() for ch in text)  # some tokenizers split every digit
    assert bound >= typical_tokens(text) >= 1
    assert bound > len(text) // 3  # the old estimate, which Japanese text overran fourfold
