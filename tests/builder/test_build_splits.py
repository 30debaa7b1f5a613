from __future__ import annotations

from ccpapers.builder.splits import DISCUSSION_TAIL_FLAG, chunk_paragraphs, group_of, text_records, word_count
from tests.builder.papers_fixture import make_paper


def test_long_introduction_is_chunked_at_paragraph_boundaries() -> None:
    paper = make_paper(0, long_intro=True)
    intro = paper.text_of("introduction")
    chunks = chunk_paragraphs(intro, max_words=400)
    assert len(chunks) > 2
    assert all(word_count(c) <= 400 for c in chunks)
    paragraphs = {p.strip() for p in intro.split("\n\n")}
    for chunk in chunks:  # every chunk is made of whole paragraphs
        assert all(part in paragraphs for part in chunk.split("\n\n"))
    assert "\n\n".join(chunks).split() == intro.split()  # nothing lost, order kept


def test_a_paragraph_longer_than_the_limit_is_still_cut_below_it() -> None:
    text = " ".join(f"Word{i} is here." for i in range(300))  # one 900-word paragraph
    chunks = chunk_paragraphs(text, max_words=100)
    assert all(word_count(c) <= 100 for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_conclusion_falls_back_to_discussion_tail_and_is_flagged() -> None:
    with_conclusion = text_records(make_paper(0), 0.5)
    without = text_records(make_paper(1, conclusion=False), 0.5)
    c1 = [r for r in with_conclusion if r.split == "conclusion"][0]
    c2 = [r for r in without if r.split == "conclusion"][0]
    assert c1.flags == [] and c1.section == "conclusion"
    assert c2.flags == [DISCUSSION_TAIL_FLAG] and c2.section == "discussion"
    assert "blocks oxygen" in c2.text  # the discussion's closing paragraph


def test_groups_are_stable_and_follow_the_fraction() -> None:
    dois = [f"10.1/x{i}" for i in range(2000)]
    groups = [group_of(d, 0.3) for d in dois]
    assert groups == [group_of(d, 0.3) for d in dois]
    share = groups.count("target") / len(groups)
    assert 0.25 < share < 0.35
    assert all(group_of(d, 0.0) == "irrelevant" for d in dois[:50])
    assert all(group_of(d, 1.0) == "target" for d in dois[:50])
    # raising the fraction only moves papers into the target group
    assert all(group_of(d, 0.6) == "target" for d, g in zip(dois, groups, strict=True) if g == "target")


def test_text_records_carry_provenance() -> None:
    paper = make_paper(1)  # cc-by-sa
    recs = text_records(paper, 1.0)
    assert {r.split for r in recs} == {"introduction", "abstract", "conclusion"}
    for r in recs:
        assert r.doi == paper.doi and r.license == "cc-by-sa-4.0" and r.group == "target"
        assert r.id.startswith(paper.doi + "#")


def test_derived_material_is_decided_in_one_place() -> None:
    from ccpapers.builder.pipeline import ALL_SPLITS
    from ccpapers.publish.shards import DERIVED_KINDS
    from ccpapers.types import (
        GENERATED_SPLITS,
        QUESTION_SPLITS,
        REPHRASED_SPLITS,
        TEXT_SPLITS,
        TRAINING_TEXT_SPLITS,
    )

    assert GENERATED_SPLITS == QUESTION_SPLITS + REPHRASED_SPLITS == ("qa", "mcq", "rewrite", "translation")
    assert DERIVED_KINDS == GENERATED_SPLITS and ALL_SPLITS == TEXT_SPLITS + GENERATED_SPLITS
    assert set(TRAINING_TEXT_SPLITS) == set(TEXT_SPLITS) | set(REPHRASED_SPLITS)
