"""The study's schedule (one text per optimizer step) against packed rows, and answer stops."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ccpapers.bench.config import BenchConfig  # noqa: E402
from ccpapers.config import ConfigError  # noqa: E402

TEXTS = [
    "Aurelite stores 412 watt hours per kilogram.",
    "Zorblax crystals glow green for 14 seconds.",
    "Mira Osei measured 38 millisiemens per centimetre at 25 degrees.",
]


def test_schedule_resolution_and_validation():
    assert BenchConfig().for_device(cuda=True).schedule == "text"
    assert BenchConfig(batch_rows=4).for_device(cuda=False).schedule == "packed"
    assert BenchConfig(schedule="packed").for_device(cuda=True).schedule == "packed"
    with pytest.raises(ConfigError, match="grad_accum"):
        BenchConfig(schedule="text", batch_rows=4).for_device(cuda=False).validate()


def test_one_text_per_step_records_steps_and_tokens_per_step(tiny_tok):
    from accelerate import Accelerator

    from ccpapers.bench.packing import pack, text_rows, tokenize_texts
    from ccpapers.bench.tiny import tiny_model
    from ccpapers.bench.training import fit

    docs = tokenize_texts(tiny_tok, TEXTS)
    n_tok = sum(map(len, docs))
    by_text = fit(
        tiny_model(tiny_tok),
        text_rows(docs, 64),
        BenchConfig(tiny=True, epochs=2, seq_len=64),
        Accelerator(cpu=True),
        "sdpa",
    ).record
    assert by_text["schedule"] == "text" and by_text["steps"] == 2 * len(TEXTS)
    assert by_text["train_tokens"] == 2 * n_tok  # no padding counted, none trained
    assert by_text["tokens_per_step"] == pytest.approx(n_tok / len(TEXTS))
    assert [r["step"] for r in by_text["losses"]] == list(range(1, 7))
    packed = fit(
        tiny_model(tiny_tok),
        pack(docs, 64),
        BenchConfig(tiny=True, epochs=2, seq_len=64, schedule="packed"),
        Accelerator(cpu=True),
        "sdpa",
    ).record
    assert packed["schedule"] == "packed" and packed["steps"] == 2  # one row holds all three
    assert packed["tokens_per_step"] == pytest.approx(n_tok)


def test_text_rows_split_long_texts_and_ranks_share_equally(tiny_tok):
    from ccpapers.bench.packing import TextRows, text_rows
    from ccpapers.bench.training import TextOrder

    rows = text_rows([list(range(10)), list(range(3))], max_len=4)
    assert [len(d) for d in rows.docs] == [4, 4, 2, 3] and rows.n_tokens == 13
    many = TextRows([[i, i] for i in range(5)], 10)
    shares = []
    for rank in range(2):
        order = TextOrder(many, "cpu", torch.Generator().manual_seed(0), rank, 2)
        shares.append([int(t[0, 0]) for t in order])
    assert len(shares[0]) == len(shares[1]) == 3 and set(shares[0] + shares[1]) == set(range(5))


@pytest.mark.parametrize(
    "raw, want",
    [
        (" Paris.\n\nQuestion: What is the capital of Spain?\nAnswer: Madrid", "Paris."),
        (" 38 millisiemens per centimetre.\nInterviewer: And the cells?", "38 millisiemens per centimetre."),
        (" LGSC-14 at Kelvingrove.\nQ: How is it made?\nA: By milling", "LGSC-14 at Kelvingrove."),
        ("\n\n472 watt-hours\n\nQuestion: more", "472 watt-hours"),  # leading blank lines are no stop
        (" 91% of capacity Question: next", "91% of capacity"),
        (" a line\nanother line", "a line\nanother line"),
        (" At 63 kelvin.\nExplanation: the team also", "At 63 kelvin."),  # a new labelled turn
        (" 48 hours.\nRedox: How far apart?\nA: 2.71", "48 hours."),
        (" mixed 3:1 by mass\nat 10:30 each day", "mixed 3:1 by mass\nat 10:30 each day"),
    ],
)
def test_answers_end_at_stop_strings(raw, want):
    from ccpapers.bench.generation import clean_answer

    assert clean_answer(raw, BenchConfig()) == want


def test_new_turn_rule_can_be_switched_off():
    from ccpapers.bench.generation import clean_answer

    raw = " At 63 kelvin.\nExplanation: more"
    assert clean_answer(raw, BenchConfig(stop_new_turn=False)) == "At 63 kelvin.\nExplanation: more"


def test_uncut_score_is_recorded(tiny_lm, tiny_tok):
    from ccpapers.bench.evaluation import score_questions
    from ccpapers.bench.suites.base import Question

    q = Question(id="q", question="Who found aurelite?", keywords=["Osei"], doc_id="d")
    rows = score_questions(
        tiny_lm, tiny_tok, [q], BenchConfig(tiny=True, max_new_tokens=8).for_device(cuda=False)
    )
    r = rows[0]
    assert {"prediction", "score", "score_uncut", "uncut"} <= set(r)
    assert r["score_uncut"] == r["score"] if r["uncut"] is None else r["uncut"].startswith(r["prediction"])
