"""Small ccpapers builds written with ccpapers.io.write_parquet, for the publish tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.io import write_json, write_parquet
from ccpapers.types import Record

LICENCES = ["cc-by-4.0", "cc0-1.0", "cc-by-sa-4.0", "cc-by-nc-sa-3.0", "cc-by-nc-nd-4.0"]
JOURNALS = ["Scientific Reports", "Nature Communications", "Communications Chemistry"]
VERBATIM = ("abstract", "introduction")
DERIVED = ("qa", "mcq", "translation")


def make_records(n_papers: int = 10) -> dict[str, list[Record]]:
    """Rows of five splits; paper i has licence LICENCES[i % 5]. ND papers get no derived rows,
    as the build stage does."""
    out: dict[str, list[Record]] = {s: [] for s in VERBATIM + DERIVED}
    for i in range(n_papers):
        lic = LICENCES[i % len(LICENCES)]
        doi = f"10.1038/s41598-023-{i:05d}-x"
        common = dict(
            doi=doi,
            license=lic,
            title=f"Fictional paper {i} on perovskite catalysts",
            journal=JOURNALS[i % len(JOURNALS)],
            year=2021 + i % 3,
            group="target" if i % 2 == 0 else "irrelevant",
        )
        for split in VERBATIM:
            out[split].append(
                Record(
                    id=f"{doi}#{split}",
                    split=split,
                    section=split,
                    text=f"{split.title()} of paper {i}: the catalyst X{i} converts CO2 at {300 + i} K.",
                    source_id=f"{doi}#{split}",
                    generator="text-splits",
                    generator_version="1",
                    backend="none",
                    **common,
                )
            )
        if lic.startswith("cc-by-nc-nd"):
            continue
        gen = dict(backend="offline", model="offline-echo", prompt_hash="p-qa-1a2b", modified=True)
        out["qa"].append(
            Record(
                id=f"{doi}#qa-0",
                split="qa",
                question=f"At what temperature does catalyst X{i} convert CO2?",
                answer=f"{300 + i} K",
                source_id=f"{doi}#abstract",
                generator="qa",
                generator_version="1",
                modification_note="question generated from the abstract",
                **gen,
                **common,
            )
        )
        out["mcq"].append(
            Record(
                id=f"{doi}#mcq-0",
                split="mcq",
                question=f"Which temperature fits catalyst X{i}?",
                answer=f"{300 + i} K",
                choices=[f"{300 + i} K", "12 K", "900 K", "1500 K"],
                answer_index=0,
                source_id=f"{doi}#abstract",
                generator="mcq",
                generator_version="1",
                modification_note="multiple-choice question generated from the abstract",
                **{**gen, "prompt_hash": "p-mcq-9f8e"},
                **common,
            )
        )
        out["translation"].append(
            Record(
                id=f"{doi}#translation-ja",
                split="translation",
                text=f"論文{i}の要旨: 触媒X{i}は{300 + i} KでCO2を変換する。",
                lang="ja",
                source_id=f"{doi}#abstract",
                generator="translate",
                generator_version="1",
                modification_note="machine translation to ja",
                **{**gen, "backend": "deepl", "model": "deepl-default", "prompt_hash": None},
                **common,
            )
        )
    return out


def write_build(folder: Path, records: dict[str, list[Record]], report_extra: dict | None = None) -> Path:
    for split, rows in records.items():
        write_parquet(folder / split / "part-00000.parquet", rows)
    report = {
        "spec": folder.name,
        "splits": {s: len(r) for s, r in records.items()},
        "backends": ["offline", "deepl"],
        "cost_usd": 0.0,
        **(report_extra or {}),
    }
    write_json(folder / "report.json", report)
    (folder / "config.resolved.yaml").write_text(
        "ccpapers_version: 0.1.0\ncommand: BuildConfig\nwork: /home/alice/w\nspec: demo\nbackend: offline\n"
        "api_key_env: secret\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def records() -> dict[str, list[Record]]:
    return make_records()


@pytest.fixture
def work(tmp_path: Path, records) -> Path:
    """A work directory holding WORK/builds/demo/."""
    write_build(tmp_path / "builds" / "demo", records)
    return tmp_path
