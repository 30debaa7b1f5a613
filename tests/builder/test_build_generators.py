"""Pure generator logic: request planning, distractor checks, answer positions."""

from __future__ import annotations

import dataclasses
from collections import Counter

from ccpapers.builder.backends.base import Reply
from ccpapers.builder.backends.deepl_backend import DeepLBackend
from ccpapers.builder.generators.base import GenContext, Outcome
from ccpapers.builder.generators.mcq import MCQGenerator, assign_positions, clean_distractors
from ccpapers.builder.generators.rewrite import RewriteGenerator
from ccpapers.builder.generators.translate import TranslateGenerator
from ccpapers.builder.splits import text_records
from ccpapers.types import Record
from tests.builder.papers_fixture import make_paper


def _ctx(*papers) -> GenContext:
    return GenContext("fake", "fake-model", {p.doi: p for p in papers}, {})


def test_deepl_requests_hold_at_most_50_texts_of_one_paper_with_its_context() -> None:
    p1, p2 = make_paper(0), make_paper(1)
    base = text_records(p1, 1.0)[0]
    many = [
        dataclasses.replace(base, id=f"{p1.doi}#introduction-{i:03d}", text=f"Text {i}.") for i in range(120)
    ]
    gen = TranslateGenerator(languages=["de"], mode="deepl")
    tasks = gen.plan(many, _ctx(p1, p2))
    assert [len(t.request.texts) for t in tasks] == [50, 50, 20]
    assert all(p1.title in t.request.context for t in tasks)
    backend = DeepLBackend()
    payloads = [backend.payload(t.request) for t in tasks]
    assert payloads[0]["target_lang"] == "DE" and payloads[0]["formality"] == "prefer_more"
    # another paper's texts do not shift this paper's requests (cache keys stay valid)
    other = text_records(p2, 1.0)
    assert [backend.payload(t.request) for t in gen.plan(many + other, _ctx(p1, p2))][:3] == payloads


def test_rewrite_plans_one_request_per_style_and_variant() -> None:
    src = text_records(make_paper(0), 1.0)[0]
    tasks = RewriteGenerator(styles=["qa", "interview"], variants=3).plan([src], _ctx(make_paper(0)))
    assert len(tasks) == 6
    assert len({t.request.instruction for t in tasks}) == 6  # variant number is in the prompt
    assert {(t.meta["style"], t.variant) for t in tasks} == {
        (s, v) for s in ("qa", "interview") for v in range(3)
    }


def test_distractors_must_fit_the_key_and_not_answer_other_questions() -> None:
    out = Outcome()
    kept = clean_distractors(
        "410 °C",
        [
            "820 °C",
            "410 °C",
            "205 K",
            "38 mS",
            "1230 °C",
            "820 °C",
            "a very long answer that is nothing like the key",
        ],
        {"38 ms"},
        out,
    )
    assert kept == ["820 °C", "1230 °C"]
    reasons = Counter(r for r, _ in out.drops)
    assert reasons == {"distractor-duplicate": 2, "distractor-unit": 1, "distractor-is-other-answer": 1,
                       "distractor-length": 1}  # fmt: skip


def test_mcq_item_with_too_few_distractors_is_dropped() -> None:
    paper = make_paper(0)
    src = text_records(paper, 1.0)[1]  # abstract
    gen = MCQGenerator(options=4)
    task = gen.plan([src], _ctx(paper))[0]
    reply = Reply(['{"items": [{"question": "At what temperature are Zorblax films of ZrB2 grown?", '
                   '"answer": "410 °C", "distractors": ["820 °C", "38 mS"]}]}'])  # fmt: skip
    out = gen.parse(task, reply, _ctx(paper))
    assert (
        not out.records
        and ("too-few-distractors", "At what temperature are Zorblax films of ZrB2 grown?") in out.drops
    )


def test_assign_positions_balances_every_option_count() -> None:
    recs = [
        Record(id=f"r{i:03d}", split="mcq", doi="d", license="cc-by-4.0", answer=f"k{i}",
               choices=[f"k{i}"] + [f"d{i}-{j}" for j in range(k - 1)], answer_index=0)
        for i, k in enumerate([4] * 41 + [5] * 23)
    ]  # fmt: skip
    assign_positions(recs, seed=3)
    for k in (4, 5):
        group = [r for r in recs if len(r.choices) == k]
        counts = Counter(r.answer_index for r in group)
        assert set(counts) == set(range(k)) and max(counts.values()) - min(counts.values()) <= 1
    assert all(r.choices[r.answer_index] == r.answer for r in recs)


def test_schemas_bound_list_sizes_and_anthropic_gets_only_what_it_accepts() -> None:
    from ccpapers.builder.backends.anthropic_backend import AnthropicBackend
    from ccpapers.builder.generators.qa import QAGenerator

    paper = make_paper(0)
    src = text_records(paper, 1.0)[0]
    qa = QAGenerator(per_passage=4).plan([src], _ctx(paper))[0].request.schema
    assert qa["properties"]["items"]["minItems"] == 1 and qa["properties"]["items"]["maxItems"] == 4
    mcq = MCQGenerator(per_passage=2, options=4).plan([src], _ctx(paper))[0].request
    items = mcq.schema["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 2)
    distractors = items["items"]["properties"]["distractors"]
    assert (distractors["minItems"], distractors["maxItems"]) == (3, 3)
    # the shipped prompt's schema itself is untouched (other generators share it)
    assert "maxItems" not in MCQGenerator().prompt.schema["properties"]["items"]
    # Anthropic refuses maxItems and minItems > 1: they move into the description
    sent = AnthropicBackend(model="claude-sonnet-4-6").payload(mcq)["output_config"]["format"]["schema"]
    d = sent["properties"]["items"]["items"]["properties"]["distractors"]
    assert "maxItems" not in d and "minItems" not in d and "maxItems: 3" in d["description"]
    assert sent["properties"]["items"]["minItems"] == 1
