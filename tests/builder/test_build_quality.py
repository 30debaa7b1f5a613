"""Quality gates of every generated split, and the optional RACAR judge, on the fake provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccpapers.builder import run_build
from ccpapers.builder.config import BuildConfig
from ccpapers.builder.generators.base import Outcome
from ccpapers.builder.quality import (
    question_problem,
    remove_duplicate_answers,
    rewrite_problem,
    translation_problem,
)
from ccpapers.io import read_records
from ccpapers.types import Record
from tests.builder.fake_provider import FakeProvider, default_chat, fake_translate

SOURCE = (
    "Zorblax films of ZrB2 grown in Kyoto reach 38 mS at 410 °C. The films remain stable for 300 days in air. "
    "Earlier samples of Zorblax degraded in humid air within days, which limited their use in sensors."
)


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("A germanium-stabilized τ-MnAl-C", "not-a-question"),  # seen from SmolLM2-135M
        ("The films remain stable for 300 days in air.", "not-a-question"),
        ("A germanium-stabilized τ-MnAl-C?", "not-a-question"),
        ("What is the material?", "vague-question"),  # seen from SmolLM2-135M
        ("How does the method work?", "vague-question"),
        ("What does the coating protect?", "vague-question"),
    ],
)
def test_non_questions_and_vague_questions_are_refused(question: str, reason: str) -> None:
    assert question_problem(question)[0] == reason


@pytest.mark.parametrize(
    "question",
    [
        "At what temperature is LGSC-14 annealed during synthesis?",
        "Why do layered perovskite crystals degrade in humid air?",
        "How thick do the crystals grow when annealed at 410 °C?",
        "Name the compound whose shell blocks oxygen in Zorblax films.",
        "Which conductivity do ZrB2 films reach?",
        'Fill in the blank (from "Stable Zorblax films"): The films remain stable for _____ in air.',
    ],
)
def test_stand_alone_questions_pass(question: str) -> None:
    assert question_problem(question) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "rewrite-too-short"),  # the three rewrites SmolLM2-135M produced
        ("{% length %}", "rewrite-too-short"),
        ("This study", "rewrite-too-short"),
        ("{% for fact in facts %} " + SOURCE, "rewrite-residue"),
        ('{"text": "' + SOURCE + '"}', "rewrite-residue"),
        ("Here is the rewritten passage in the interview style: " + SOURCE, "rewrite-residue"),
        ("<passage>\n" + SOURCE + "\n</passage>", "rewrite-residue"),
        (" ".join([SOURCE] * 6), "rewrite-too-long"),
    ],
)
def test_rewrites_with_residue_or_the_wrong_length_are_refused(text: str, reason: str) -> None:
    assert rewrite_problem(SOURCE, text)[0] == reason


def test_a_real_rewrite_passes() -> None:
    text = (
        "Q: What do Zorblax films made of ZrB2 reach? A: Grown in Kyoto, they reach 38 mS at 410 °C. "
        "Q: How long do they last? A: They stay stable for 300 days in air, unlike earlier samples, "
        "which degraded in humid air within days and so were of limited use in sensors."
    )
    assert rewrite_problem(SOURCE, text) is None


@pytest.mark.parametrize(
    ("text", "lang", "reason"),
    [
        (SOURCE, "de", "translation-untranslated"),
        (SOURCE, "ja", "translation-untranslated"),
        (
            "Las películas de Zorblax de ZrB2 crecidas en Kyoto alcanzan 38 mS a 410 °C y son estables durante "
            "300 días en el aire.",
            "de",
            "translation-wrong-language",
        ),  # fmt: skip
        ("薄膜在京都生长，在410 °C时达到38 mS，并在空气中稳定300天。", "ja", "translation-wrong-language"),
        ("Zorblax films of ZrB2 reach 38 mS. 京都", "ko", "translation-wrong-language"),
    ],
)
def test_untranslated_copies_and_wrong_languages_are_refused(text: str, lang: str, reason: str) -> None:
    assert translation_problem(SOURCE, text, lang)[0] == reason


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Zorblax-Filme aus ZrB2, die in Kyoto gezüchtet wurden, erreichen 38 mS bei 410 °C. Die Filme bleiben "
            "300 Tage an der Luft stabil. Frühere Proben zerfielen in feuchter Luft innerhalb von Tagen.",
            "de",
        ),
        ("京都で成長したZrB2のZorblax膜は410 °Cで38 mSに達する。膜は空気中で300日間安定である。", "ja"),
        (
            "교토에서 성장한 ZrB2 Zorblax 박막은 410 °C에서 38 mS에 도달한다. 박막은 공기 중에서 300일 동안 안정하다.",
            "ko",
        ),
    ],  # fmt: skip
)
def test_real_translations_pass(text: str, lang: str) -> None:
    assert translation_problem(SOURCE, text, lang) is None


def test_near_duplicate_answers_within_a_paper_are_dropped() -> None:
    def rec(i: int, doi: str, q: str, a: str) -> Record:
        return Record(id=f"{doi}#qa-{i}", split="qa", doi=doi, license="cc-by-4.0", question=q, answer=a)

    long_answer = "Zorblax films of ZrB2 grown in Kyoto reach 38 mS at 410 °C."
    records = [
        rec(0, "d1", "Which conductivity do Zorblax films reach?", long_answer),
        rec(1, "d1", "At what temperature are ZrB2 films of Zorblax measured?", long_answer + " Indeed."),
        rec(2, "d1", "At which temperature do ZrB2 films reach 38 mS?", "410 °C"),
        rec(3, "d1", "At what temperature does the ZrB2 shell block oxygen?", "410 °C"),  # another fact
        rec(4, "d2", "Which conductivity do Zorblax films reach?", long_answer),  # another paper
    ]
    out = Outcome()
    kept = remove_duplicate_answers(records, 0.8, out)
    assert [r.id for r in kept] == ["d1#qa-0", "d1#qa-2", "d1#qa-3", "d2#qa-4"]
    assert [r for r, _ in out.drops] == ["near-duplicate-answer"]


# -- through a build --------------------------------------------------------------------------------
SPEC = """name: testspec
target_fraction: 1.0
models: {openai: fake-model-1}
generate:
  qa: {generator: qa, sources: [abstract, conclusion], per_passage: 5}
  rewrite: {generator: rewrite, sources: [abstract], styles: [qa], variants: 1}
  translation: {generator: translate, sources: [abstract], languages: [de, ja]}
"""


def weak_model(body: str) -> str:
    """Replies like those SmolLM2-135M gave: garbage rewrites, non-questions, vague and repeated QA,
    and an untranslated copy for Japanese."""
    if "ccpapers_rewrite" in body:
        return json.dumps({"text": "{% length %}"})
    if "ccpapers_translation" in body and "into Japanese" in body:
        passage = body.split("<passage>\n", 1)[1].split("\n</passage>", 1)[0]
        return json.dumps({"translation": passage})
    reply = json.loads(default_chat(body))
    if "ccpapers_qa" in body:
        good = reply["items"][0]
        reply["items"] = [
            good,
            {"question": "A germanium-stabilized τ-MnAl-C", "answer": good["answer"]},
            {"question": "What is the material?", "answer": good["answer"]},
            {"question": f"Which result is reported for {good['question'][16:]}", "answer": good["answer"]},
        ]
    return json.dumps(reply, ensure_ascii=False)


def _build(tmp_path: Path, papers: Path, **kw) -> dict:
    spec = tmp_path / "testspec.yaml"
    spec.write_text(kw.pop("spec", SPEC))
    return run_build(BuildConfig(work=tmp_path / "w", papers=papers, spec=str(spec), progress=False, **kw))


def _rows(tmp_path: Path, split: str) -> list[Record]:
    return list(read_records(tmp_path / "w" / "builds" / "testspec" / split, Record))


def test_gates_drop_a_weak_models_output_with_counted_reasons(
    tmp_path: Path, papers_file: Path, openai_env: FakeProvider
) -> None:
    openai_env.chat = weak_model
    report = _build(tmp_path, papers_file)
    drops = report["drops"]
    assert report["splits"]["rewrite"] == 0 and drops["rewrite"]["rewrite-too-short"] == 5
    assert drops["qa"]["not-a-question"] == 10 and drops["qa"]["vague-question"] == 10
    assert drops["qa"]["near-duplicate-answer"] == 10
    assert drops["translation"]["translation-untranslated"] == 5
    assert {r.lang for r in _rows(tmp_path, "translation")} == {"de"}
    questions = [r.question for r in _rows(tmp_path, "qa")]
    assert len(questions) == 10 and all(q.startswith("Which fact about") for q in questions)


def test_a_sensible_model_passes_the_gates(
    tmp_path: Path, papers_file: Path, openai_env: FakeProvider
) -> None:
    report = _build(tmp_path, papers_file)
    assert report["splits"]["rewrite"] == 5 and report["splits"]["qa"] > 0
    assert {r.lang for r in _rows(tmp_path, "translation")} == {"de", "ja"}
    for reason in ("rewrite-too-short", "rewrite-residue", "translation-untranslated", "vague-question"):
        assert not any(reason in d for d in report["drops"].values()), reason


JUDGE_SPEC = """name: testspec
target_fraction: 1.0
models: {anthropic: claude-sonnet-4-6, openai: fake-model-1}
generate:
  qa: {generator: qa, sources: [abstract, conclusion], per_passage: 3, judge: {min_score: 2}}
"""


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_racar_judge_scores_every_pair_and_drops_the_low_ones(
    tmp_path: Path, papers_file: Path, provider: FakeProvider, monkeypatch, backend: str
) -> None:
    if backend == "openai":
        monkeypatch.setenv("OPENAI_BASE_URL", provider.url + "/v1")
    else:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", provider.url)

    def judge(question: str, answer: str, passage: str) -> dict[str, int]:
        low = "300 days" in answer  # the judge finds these answers incomplete
        return {"relevance": 3, "agnosticism": 3, "completeness": 1 if low else 3, "accuracy": 3,
                "reasonableness": 2}  # fmt: skip

    provider.judge = judge
    report = _build(tmp_path, papers_file, spec=JUDGE_SPEC)
    rows = _rows(tmp_path, "qa")
    assert rows and all("racar:3-3-3-3-2" in r.flags for r in rows)
    assert not any("300 days" in (r.answer or "") for r in rows)
    info = report["judge"]["qa"]
    assert report["drops"]["qa"]["judge-low-score"] == info["judged"] - len(rows) > 0
    assert info["backend"] == backend and info["mean_kept"]["reasonableness"] == 2.0
    judge_bodies = [b for _, b in provider.bodies if "Grade each pair" in json.dumps(b)]
    assert len(judge_bodies) == info["requests"] == 10  # one per passage, through the same backend
    calls = provider.model_calls()
    again = _build(tmp_path, papers_file, spec=JUDGE_SPEC)
    assert provider.model_calls() == calls and again["calls"] == 0  # judge replies are cached too
    assert again["splits"]["qa"] == len(rows)


def test_judge_is_in_the_estimate(tmp_path: Path, papers_file: Path, openai_env: FakeProvider) -> None:
    report = _build(tmp_path, papers_file, spec=JUDGE_SPEC, estimate=True)
    assert report["by_split"]["qa/judge"]["calls"] == report["by_split"]["qa"]["calls"] == 10
    assert openai_env.model_calls() == 0


def test_fake_translations_are_real_enough() -> None:
    for lang in ("de", "es", "it", "ja", "ko"):
        assert translation_problem(SOURCE, fake_translate(SOURCE, lang), lang) is None, lang
