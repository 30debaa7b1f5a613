"""The real anthropic/openai/deepl clients against the fake provider on 127.0.0.1."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ccpapers.builder import run_build
from ccpapers.builder.config import BuildConfig
from ccpapers.io import read_records, write_jsonl
from ccpapers.types import Record
from tests.builder.fake_provider import FakeProvider
from tests.builder.papers_fixture import make_papers


def _build(tmp_path: Path, papers: Path, spec: Path, **kw) -> dict:
    kw.setdefault("progress", False)
    return run_build(BuildConfig(work=tmp_path / "w", papers=papers, spec=str(spec), **kw))


def _rows(tmp_path: Path, split: str) -> list[Record]:
    return list(read_records(tmp_path / "w" / "builds" / "testspec" / split, Record))


def test_anthropic_build_sends_the_passage_and_a_rerun_makes_zero_calls(
    tmp_path: Path, papers_file: Path, spec_file: Path, anthropic_env: FakeProvider
) -> None:
    report = _build(tmp_path, papers_file, spec_file)
    fake = anthropic_env
    assert report["backend"] == "anthropic"
    first_calls = fake.model_calls()
    assert report["calls"] == first_calls > 0
    # every request carries its passage, the structured-output schema, and no temperature
    abstracts = {r.text for r in _rows(tmp_path, "abstract")}
    chats = [b for kind, b in fake.bodies if kind == "anthropic"]
    for body in chats:
        blocks = body["messages"][0]["content"]
        assert blocks[0]["text"].removeprefix("<passage>\n").removesuffix("\n</passage>") in abstracts | {
            r.text for r in _rows(tmp_path, "introduction") + _rows(tmp_path, "conclusion")
        }
        assert blocks[0]["cache_control"] == {"type": "ephemeral"}
        assert body["output_config"]["format"]["type"] == "json_schema"
        assert "temperature" not in body
    for split in ("qa", "mcq", "rewrite", "translation"):
        assert report["splits"][split] > 0, split
    # usage and billed characters were recorded
    assert report["tokens"]["input_tokens"] > 0 and report["tokens"]["cache_read_tokens"] > 0
    assert report["tokens"]["billed_characters"] > 0 and report["cost_usd"] > 0
    # the context-dependent question the fake adds is dropped with its reason
    assert report["drops"]["qa"]["context-dependent"] > 0
    before = {s: _rows(tmp_path, s) for s in ("qa", "mcq", "rewrite", "translation")}
    again = _build(tmp_path, papers_file, spec_file)
    assert fake.model_calls() == first_calls and again["calls"] == 0
    assert again["cache_hits"] == first_calls
    assert {s: _rows(tmp_path, s) for s in before} == before


def test_records_keep_full_provenance(
    tmp_path: Path, papers_file: Path, spec_file: Path, anthropic_env
) -> None:
    _build(tmp_path, papers_file, spec_file)
    for split in ("qa", "mcq", "rewrite", "translation"):
        for r in _rows(tmp_path, split):
            assert r.doi and r.license and r.section and r.source_id and r.generator and r.generator_version
            assert r.backend in ("anthropic", "deepl") and r.model and r.modified and r.modification_note
            if split != "translation":
                assert r.prompt_hash and r.prompt_hash.startswith(f"{split}.v1@")
    rewrites = _rows(tmp_path, "rewrite")
    assert {(r.style, r.variant) for r in rewrites} == {("qa", 0), ("qa", 1), ("article", 0), ("article", 1)}
    texts = Counter(r.text for r in rewrites)
    assert max(texts.values()) == 1  # each variant is its own request, not one reply copied
    sa = [r for r in rewrites + _rows(tmp_path, "translation") if r.doi.endswith("001")]
    assert sa and all(r.license == "cc-by-sa-4.0" for r in sa)


def test_nd_papers_are_absent_from_rewrites_and_translations(
    tmp_path: Path, papers_file: Path, spec_file: Path, anthropic_env
) -> None:
    report = _build(tmp_path, papers_file, spec_file)
    nd = {r.doi for r in _rows(tmp_path, "abstract") if "-nd-" in r.license}
    assert nd
    for split in ("rewrite", "translation", "qa", "mcq"):
        assert not nd & {r.doi for r in _rows(tmp_path, split)}, split
        assert report["drops"][split]["nd-license"] >= 1
    sent = " ".join(str(b) for _, b in anthropic_env.bodies)
    nd_text = [r.text for r in _rows(tmp_path, "abstract") if r.doi in nd][0]
    assert nd_text not in sent  # never even sent to the provider


def test_mcq_answer_positions_are_balanced_and_stored(tmp_path: Path, spec_file: Path, anthropic_env) -> None:
    papers = tmp_path / "many.jsonl"
    write_jsonl(papers, make_papers(6, families=5))
    _build(tmp_path, papers, spec_file)
    rows = _rows(tmp_path, "mcq")
    assert len(rows) >= 30
    counts = Counter(r.answer_index for r in rows)
    assert set(counts) == {0, 1, 2, 3} and max(counts.values()) - min(counts.values()) <= 1
    for r in rows:
        assert r.choices[r.answer_index] == r.answer and len(set(r.choices)) == 4


def test_translation_that_drops_a_number_is_rejected(
    tmp_path: Path, papers_file: Path, spec_file: Path, anthropic_env: FakeProvider
) -> None:
    anthropic_env.translate_hook = lambda text, lang: text.replace("300", "") if lang == "JA" else text
    report = _build(tmp_path, papers_file, spec_file)
    langs = Counter(r.lang for r in _rows(tmp_path, "translation"))
    assert langs["de"] == 5 and langs["ja"] == 0  # every abstract says "300 days"
    assert report["drops"]["translation"]["translation-changed-number"] == 5
    example = report["drop_examples"]["translation"]["translation-changed-number"][0]
    assert "-> ja" in example and "300" in example
    deepl = [b for kind, b in anthropic_env.bodies if kind == "deepl"]
    assert all(len(b["text"]) <= 50 for b in deepl) and {b["target_lang"] for b in deepl} == {"DE", "JA"}


def test_openai_compatible_server_without_key_builds_qa_mcq_rewrite(
    tmp_path: Path, papers_file: Path, spec_file: Path, openai_env: FakeProvider
) -> None:
    openai_env.models = ["served-model"]
    report = _build(tmp_path, papers_file, spec_file, model="")
    assert report["backend"] == "openai"
    for split in ("qa", "mcq", "rewrite"):
        rows = _rows(tmp_path, split)
        # the spec names an OpenAI model, but a compatible server is asked for what it serves
        assert rows and all(r.backend == "openai" and r.model == "served-model" for r in rows), split
    # no DEEPL_AUTH_KEY: translations fall back to the LLM with the preserving prompt
    tr = _rows(tmp_path, "translation")
    assert tr and all(r.backend == "openai" for r in tr) and {r.lang for r in tr} == {"de", "ja"}
    body = [b for kind, b in openai_env.bodies if kind == "openai"][0]
    assert (
        body["response_format"]["type"] == "json_schema" and body["response_format"]["json_schema"]["strict"]
    )
    assert body["frequency_penalty"] == 0.1  # a local server gets a loop brake (api.openai.com does not)


def test_openai_model_defaults_to_the_served_one(
    tmp_path: Path, papers_file: Path, openai_env: FakeProvider
) -> None:
    spec = tmp_path / "testspec.yaml"
    spec.write_text("name: testspec\ngenerate:\n  qa: {generator: qa, sources: [abstract]}\n")
    openai_env.models = ["my-local-llama"]
    report = _build(tmp_path, papers_file, spec, target_fraction=1.0)
    assert report["generators"]["qa"]["model"] == "my-local-llama"
    assert {b["model"] for _, b in openai_env.bodies} == {"my-local-llama"}


def test_server_refusing_every_response_format_gets_prompt_only_json(
    tmp_path: Path, papers_file: Path, spec_file: Path, openai_env: FakeProvider
) -> None:
    openai_env.formats = set()  # a 400 naming response_format for json_schema and json_object alike
    report = _build(tmp_path, papers_file, spec_file, concurrency=1)
    assert openai_env.calls["rejected_schema"] == 3  # each mode refused once, then prompt-only
    assert report["splits"]["qa"] > 0 and report["splits"]["mcq"] > 0
    assert all("response_format" not in b for kind, b in openai_env.bodies if kind == "openai")
    assert report["generators"]["qa"]["structured_output"] == "none"
    assert report["engine"]["retries"] == 0  # switching modes is not retrying


def test_explicit_backend_without_key_is_a_clear_error(
    tmp_path: Path, papers_file: Path, spec_file: Path
) -> None:
    from ccpapers.config import ConfigError

    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        _build(tmp_path, papers_file, spec_file, backend="anthropic")


def test_only_local_servers_get_the_loop_brake() -> None:
    from ccpapers.builder.backends.base import ChatRequest
    from ccpapers.builder.backends.openai_backend import OpenAIBackend

    request = ChatRequest("s", "<passage>\nx\n</passage>", "i", {"type": "object"}, "n", 10)
    official = OpenAIBackend(model="gpt-4.1-mini").payload(request)
    assert "frequency_penalty" not in official and official["max_completion_tokens"] == 10
    local = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1").payload(request)
    assert local["frequency_penalty"] == 0.1 and local["max_tokens"] == 10
