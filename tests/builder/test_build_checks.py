from __future__ import annotations

import pytest

from ccpapers.builder.checks import (
    context_dependent,
    formulas,
    grounded,
    parse_json_reply,
    preservation_problem,
)


@pytest.mark.parametrize(
    "question",
    [
        "What did this study find about TiO2?",
        "Which phase is shown in Fig. 2?",
        "What do the authors propose?",
        "Why did we anneal the sample?",
        "What is listed in Table 3?",
    ],  # fmt: skip
)
def test_context_dependent_questions_are_caught(question: str) -> None:
    assert context_dependent(question)


def test_stand_alone_question_passes() -> None:
    assert not context_dependent("At what temperature is LGSC-14 annealed during synthesis?")


def test_grounding_requires_the_answer_numbers_in_the_passage() -> None:
    passage = "LGSC-14 conducts lithium ions at 38 mS per centimetre at 25 °C."
    assert grounded("It conducts at 38 mS per centimetre.", passage)
    assert not grounded("It conducts at 45 mS per centimetre.", passage)
    assert not grounded("Bananas are yellow fruit grown in tropical plantations.", passage)


def test_json_repair() -> None:
    assert parse_json_reply('{"items": []}') == ({"items": []}, "ok")
    fenced = '```json\n{"items": [{"question": "q", "answer": "a"},]}\n```'
    assert parse_json_reply(fenced) == ({"items": [{"question": "q", "answer": "a"}]}, "repaired")
    truncated = 'Here you go: {"items": [{"question": "q1", "answer": "a1"}, {"question": "q2", "ans'
    obj, status = parse_json_reply(truncated)
    assert status == "repaired" and obj == {"items": [{"question": "q1", "answer": "a1"}]}
    assert parse_json_reply("I cannot help with that.") == (None, "malformed-json")


def test_translation_checks_numbers_units_and_formulas() -> None:
    src = "Films of TiO2 grow 3.5 nm thick at 1,000 K within 12 h."
    assert preservation_problem(src, "Filme aus TiO2 wachsen 3,5 nm dick bei 1.000 K in 12 h.") is None
    reason, detail = preservation_problem(src, "Filme aus TiO2 wachsen nm dick bei 1.000 K in 12 h.")
    assert reason == "changed-number" and "35" in detail
    assert preservation_problem(src, "Filme aus TiO2 wachsen 3,5 dick bei 1.000 K in 12 h.")[0] == "lost-unit"
    assert preservation_problem(src, "Filme aus Titandioxid wachsen 3,5 nm dick bei 1.000 K in 12 h.") == (
        "lost-formula",
        "missing formula(s): TiO2",
    )


def test_formula_detection_ignores_acronyms() -> None:
    assert formulas("DNA, NMR and the US but H2O, NaCl and LiFePO4") == ["H2O", "NaCl", "LiFePO4"]
