"""The papers suite: texts and questions from a build folder ``WORK/builds/<spec>/<split>/``.

Target papers' text splits (introduction, abstract, conclusion, rewrite, translation) are
the training texts, grouped by DOI; irrelevant papers' texts are filler; split ``qa`` gives
open questions scored by ROUGE-2, split ``mcq`` multiple choice scored by log-likelihood.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from ccpapers.bench.suites.base import Document, Question, Suite, SuiteError
from ccpapers.types import REPHRASED_SPLITS, TRAINING_TEXT_SPLITS


def _read_split(folder: Path, split: str) -> list:
    from ccpapers.io import read_parquet
    from ccpapers.types import Record

    d = folder / split
    if not d.is_dir():
        return []
    out = []
    for f in sorted(d.glob("*.parquet")):
        out.extend(read_parquet(f, Record))
    for f in sorted(d.glob("*.jsonl")):
        from ccpapers.io import read_jsonl

        out.extend(read_jsonl(f, Record))
    return out


def resolve_build(build: str | Path, work: Path) -> Path:
    p = Path(build)
    if p.is_dir():
        return p
    candidate = work / "builds" / str(build)
    if candidate.is_dir():
        return candidate
    have = (
        sorted(x.name for x in (work / "builds").glob("*") if x.is_dir())
        if (work / "builds").is_dir()
        else []
    )
    raise SuiteError(
        f"papers suite: build {str(build)!r} is neither a folder nor {candidate}; "
        f"run `ccpapers build` first or pass build=PATH (builds here: {', '.join(have) or 'none'})"
    )


def load_papers(
    build: str | Path, work: Path = Path("ccpapers-work"), splits: tuple[str, ...] = TRAINING_TEXT_SPLITS
) -> Suite:
    folder = resolve_build(build, work)
    texts: dict[str, dict[str, str]] = defaultdict(dict)
    irrelevant: list[str] = []
    titles: dict[str, str] = {}
    for split in splits:
        for r in _read_split(folder, split):
            if not r.text:
                continue
            if r.group == "irrelevant":
                irrelevant.append(r.text)
                continue
            key = split if split not in REPHRASED_SPLITS else f"{split}:{r.style or r.lang}:{r.variant}"
            name = key if key not in texts[r.doi] else f"{key}#{r.id}"
            texts[r.doi][name] = r.text
            titles.setdefault(r.doi, r.title or "")
    questions: list[Question] = []
    for r in _read_split(folder, "qa"):
        if r.group == "irrelevant" or not r.question:
            continue
        questions.append(
            Question(id=r.id, doc_id=r.doi, question=r.question, answer=r.answer or "", scorer="rouge2")
        )
    for r in _read_split(folder, "mcq"):
        if r.group == "irrelevant" or not r.question or not r.choices or r.answer_index is None:
            continue
        questions.append(
            Question(
                id=r.id,
                doc_id=r.doi,
                question=r.question,
                answer=r.choices[r.answer_index],
                choices=list(r.choices),
                answer_index=int(r.answer_index),
                scorer="mcq-loglik",
            )
        )
    if not texts or not questions:
        raise SuiteError(
            f"papers suite: {folder} has {len(texts)} target papers with text and {len(questions)} "
            "questions; build the text splits and qa/mcq splits first"
        )
    docs = [Document(id=doi, texts=t, title=titles.get(doi, "")) for doi, t in sorted(texts.items())]
    return Suite(
        name="papers", version=folder.name, documents=docs, questions=questions, irrelevant=irrelevant
    )


class PapersSuite:
    """Registry entry ``papers``: the build ``build`` names (a folder or a spec under WORK/builds/)."""

    needs_build = True
    forgetting_check = False

    @classmethod
    def from_config(cls, cfg: Any) -> Suite:
        return load_papers(cfg.build, work=Path(cfg.work))
