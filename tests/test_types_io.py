from __future__ import annotations

import pytest

from ccpapers.io import read_jsonl, read_records, write_jsonl, write_parquet
from ccpapers.licenses import decide
from ccpapers.types import Paper, PaperRef, Record, Section


def make_paper() -> Paper:
    return Paper(
        doi="10.9999/s99999-031-00001-x",
        title="Room-temperature zorblax crystals",
        journal="Fictional Letters",
        license=decide([("page", "https://creativecommons.org/licenses/by/4.0/"), ("oa", "CC BY")]),
        sections=[
            Section("abstract", "Abstract", "We grow H2O-free zorblax."),
            Section("introduction", "Main", "Intro."),
        ],
        year=2031,
        authors=["A. Author", "B. Author"],
    )


def test_paper_round_trip_jsonl_and_parquet(tmp_path) -> None:
    paper = make_paper()
    assert Paper.from_dict(paper.to_dict()) == paper
    write_jsonl(tmp_path / "p.jsonl", [paper, paper])
    write_parquet(tmp_path / "p.parquet", [paper])
    assert list(read_jsonl(tmp_path / "p.jsonl", Paper)) == [paper, paper]
    assert list(read_records(tmp_path / "p.parquet", Paper)) == [paper]
    assert len(list(read_records(tmp_path, Paper))) == 3
    assert paper.text_of("abstract") == "We grow H2O-free zorblax."


def test_record_and_ref_round_trip() -> None:
    rec = Record(
        id="x#qa-0",
        split="mcq",
        doi="10.1/x",
        license="cc-by-4.0",
        question="Q?",
        choices=["a", "b"],
        answer_index=1,
    )
    assert Record.from_dict(rec.to_dict()) == rec
    ref = PaperRef(doi="10.1/x", journal="j", url="http://x", license_hint=["CC BY"])
    assert PaperRef.from_dict(ref.to_dict()) == ref


def test_bad_inputs_are_named(tmp_path) -> None:
    with pytest.raises(ValueError, match="kind 'preface'"):
        Section("preface", "P", "t")
    with pytest.raises(ValueError, match="unknown field"):
        Record.from_dict({"id": "x", "split": "qa", "doi": "d", "license": "l", "bogus": 1})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        list(read_jsonl(bad))
