"""Suites (fictional, papers from Records, MMLU fixture), text selection and packing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.bench.packing import pack, select_texts
from ccpapers.bench.suites.base import SuiteError
from ccpapers.bench.suites.fictional import load_fictional
from ccpapers.bench.suites.mmlu import load_mmlu
from ccpapers.bench.suites.papers import load_papers
from ccpapers.registry import SUITES

FIX = Path(__file__).parent / "fixtures"


def test_registry_names():
    assert {"fictional", "papers", "mmlu"} <= set(SUITES.names())


def test_fixture_suite_loads():
    s = load_fictional(FIX / "fictional_mini.yaml")
    assert [d.id for d in s.documents] == ["aurelite-battery", "zorblax-flux"]
    assert len(s.documents[0].texts) == 10 and len(s.questions) == 10
    assert s.questions[0].keywords == ["Mira Osei"] and s.questions[0].doc_id == "aurelite-battery"


def test_shipped_fictional_suite_follows_schema():
    s = load_fictional()
    assert s.documents, "train/suites/fictional.yaml has no documents"
    for d in s.documents:
        assert "original" in d.texts
        qs = [q for q in s.questions if q.doc_id == d.id]
        assert len(qs) == 5, d.id
        assert all(1 <= len(q.keywords) <= 3 for q in qs), d.id


def test_bad_suite_names_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("documents:\n  - id: x\n    text: hello\n    questions:\n      - question: q?\n")
    with pytest.raises(SuiteError, match="keywords"):
        load_fictional(bad)


def test_select_texts_per_fact_and_irrelevant():
    s = load_fictional(FIX / "fictional_mini.yaml")
    one = select_texts(s, texts_per_fact=1)
    assert [(t.doc_id, t.variant) for t in one] == [
        ("aurelite-battery", "original"),
        ("zorblax-flux", "original"),
    ]
    three = select_texts(s, texts_per_fact=3)
    assert [t.variant for t in three[:3]] == ["original", "qa", "article"]
    assert len(select_texts(s)) == 20
    assert [t.variant for t in select_texts(s, variants=["de", "ja"])] == ["de", "ja", "de", "ja"]
    pool = [f"filler text {i}" for i in range(10)]
    a = select_texts(s, 1, n_irrelevant=4, irrelevant_pool=pool, seed=1)
    b = select_texts(s, 1, n_irrelevant=4, irrelevant_pool=pool, seed=1)
    assert [t.text for t in a] == [t.text for t in b] and sum(t.group == "irrelevant" for t in a) == 4
    with pytest.raises(SuiteError, match="irrelevant"):
        select_texts(s, 1, n_irrelevant=11, irrelevant_pool=pool)


def test_mmlu_fixture():
    s = load_mmlu(subjects=["college_chemistry", "college_physics"])
    assert len(s.questions) == 20
    assert {k: len(v) for k, v in s.shots.items()} == {"college_chemistry": 5, "college_physics": 5}
    assert all(q.answer == q.choices[q.answer_index] for q in s.questions)
    assert len(load_mmlu(subjects=["college_physics"]).questions) == 10
    with pytest.raises(SuiteError, match="astronomy"):
        load_mmlu(subjects=["astronomy"])


def _write_build(root: Path) -> Path:
    from ccpapers.io import write_parquet
    from ccpapers.types import Record

    b = root / "builds" / "mini"
    rec = lambda **kw: Record(license="cc-by-4.0", **kw)  # noqa: E731
    write_parquet(
        b / "abstract" / "part-00000.parquet",
        [
            rec(
                id="a1",
                split="abstract",
                doi="10.1/t1",
                text="Target one abstract about aurelite.",
                group="target",
            ),
            rec(
                id="a2",
                split="abstract",
                doi="10.1/t2",
                text="Target two abstract about zorblax.",
                group="target",
            ),
            rec(
                id="a3",
                split="abstract",
                doi="10.1/x",
                text="An irrelevant abstract about soils.",
                group="irrelevant",
            ),
        ],
    )
    write_parquet(
        b / "introduction" / "part-00000.parquet",
        [
            rec(id="i1", split="introduction", doi="10.1/t1", text="Intro of target one.", group="target"),
            rec(
                id="i3",
                split="introduction",
                doi="10.1/x",
                text="Irrelevant intro on rivers.",
                group="irrelevant",
            ),
        ],
    )
    write_parquet(
        b / "qa" / "part-00000.parquet",
        [
            rec(
                id="q1",
                split="qa",
                doi="10.1/t1",
                question="What is aurelite?",
                answer="Aurelite is a violet crystal.",
                group="target",
            ),
            rec(id="q2", split="qa", doi="10.1/x", question="Irrelevant?", answer="Yes.", group="irrelevant"),
        ],
    )
    write_parquet(
        b / "mcq" / "part-00000.parquet",
        [
            rec(
                id="m1",
                split="mcq",
                doi="10.1/t2",
                question="Zorblax glows?",
                choices=["red", "green", "blue", "none"],
                answer_index=1,
                group="target",
            ),
        ],
    )
    return b


def test_papers_suite_from_records(tmp_path):
    _write_build(tmp_path)
    s = load_papers("mini", work=tmp_path)
    assert [d.id for d in s.documents] == ["10.1/t1", "10.1/t2"]
    assert set(s.documents[0].texts) == {"abstract", "introduction"}
    assert sorted(s.irrelevant) == ["An irrelevant abstract about soils.", "Irrelevant intro on rivers."]
    kinds = {q.id: (q.scorer, q.answer_index) for q in s.questions}
    assert kinds == {"q1": ("rouge2", None), "m1": ("mcq-loglik", 1)}
    with pytest.raises(SuiteError, match="ccpapers build"):
        load_papers("nope", work=tmp_path)


def test_pack_rows_positions_labels():
    docs = [[1, 10, 11, 12, 2], [1, 20, 21, 2], [1] + list(range(30, 40)) + [2]]  # 5, 4, 12 tokens
    p = pack(docs, seq_len=8, pad_id=0)
    assert p.input_ids.shape[1] == 8 and p.n_tokens == 21 and p.n_docs == 4  # 12-token doc split 8 + 4
    for r in range(len(p)):
        ids, pos, lab, doc = (
            p.input_ids[r].tolist(),
            p.position_ids[r].tolist(),
            p.labels[r].tolist(),
            p.doc_ids[r].tolist(),
        )
        for i in range(8):
            if doc[i] == 0:
                assert lab[i] == -100 and ids[i] == 0
            elif i == 0 or doc[i - 1] != doc[i]:
                assert pos[i] == 0 and lab[i] == -100  # document start: no loss, position restarts
            else:
                assert pos[i] == pos[i - 1] + 1 and lab[i] == ids[i]
    # every real token survives packing exactly once
    real = sorted(
        t
        for r in range(len(p))
        for t, d in zip(p.input_ids[r].tolist(), p.doc_ids[r].tolist(), strict=True)
        if d
    )
    assert real == sorted(t for d in docs for t in d)


def test_irrelevant_pool_from_sample_and_jsonl(tmp_path):
    from ccpapers.bench.packing import load_irrelevant
    from ccpapers.io import write_jsonl

    sample = load_irrelevant("sample", tmp_path)
    assert len(sample) >= 20 and all(len(t) > 80 for t in sample)
    write_jsonl(tmp_path / "irr.jsonl", [{"text": "one filler"}, {"text": ""}, {"text": "two filler"}])
    assert load_irrelevant(str(tmp_path / "irr.jsonl"), tmp_path) == ["one filler", "two filler"]


def test_a_registered_suite_is_built_from_the_config_and_asked_for_its_capabilities(monkeypatch):
    """No caller tests a suite's name: a new entry that needs a build gets the same check as
    ``papers``, and ``load_suite`` builds it through its ``from_config``."""
    from ccpapers.bench.config import BenchConfig
    from ccpapers.bench.inputs import load_suite
    from ccpapers.config import ConfigError

    class BuiltSuite:
        needs_build = True
        forgetting_check = False

        @classmethod
        def from_config(cls, cfg):
            return load_fictional(FIX / "fictional_mini.yaml") if cfg.build == "b" else None

    SUITES.names()  # the built-in entries first
    monkeypatch.setitem(SUITES._targets, "built", BuiltSuite)
    with pytest.raises(ConfigError, match="suite=built needs build="):
        BenchConfig(suite="built").validate()
    cfg = BenchConfig(suite="built", build="b")
    cfg.validate()
    assert len(load_suite(cfg).questions) == 10
    assert not cfg.suite_is_forgetting_check() and BenchConfig(suite="mmlu").suite_is_forgetting_check()
