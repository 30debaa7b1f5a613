"""MMLU-format multiple choice (forgetting check), scored like lm-evaluation-harness.

Source: a local ``.jsonl`` (rows ``subject, split (test|dev), question, choices[4], answer``
with ``answer`` an index or a letter) or a Hub id in ``cais/mmlu`` layout (one config per
subject, ``test`` and ``dev`` splits). Few-shot examples are the first k dev items per subject.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccpapers.bench.suites.base import Question, Suite, SuiteError

LETTERS = "ABCDEFGHIJ"


def _answer_index(value: Any, n: int, origin: str) -> int:
    if isinstance(value, str) and value.strip().upper() in LETTERS[:n]:
        return LETTERS.index(value.strip().upper())
    try:
        idx = int(value)
    except (TypeError, ValueError) as exc:
        raise SuiteError(f"{origin}: answer {value!r} is neither a letter nor an index") from exc
    if not 0 <= idx < n:
        raise SuiteError(f"{origin}: answer index {idx} out of range for {n} choices")
    return idx


def _rows_local(path: Path) -> list[dict[str, Any]]:
    from ccpapers.io import read_jsonl

    return list(read_jsonl(path))


def _rows_hub(repo: str, subjects: list[str]) -> list[dict[str, Any]]:
    from datasets import load_dataset

    rows = []
    for subject in subjects:
        for split in ("dev", "test"):
            for r in load_dataset(repo, subject, split=split):
                rows.append({**r, "subject": subject, "split": split})
    return rows


def load_mmlu(source: str | Path | None = None, subjects: list[str] | None = None, limit: int = 0) -> Suite:
    """Load MMLU-format items for ``subjects`` (all in the file when empty)."""
    from ccpapers.resources import resolve_recipe

    src = str(source or "mmlu/mini.jsonl")
    try:
        path: Path | None = resolve_recipe("train", src, suffixes=(".jsonl",))
    except FileNotFoundError:
        path = None
    if path is not None:
        rows = _rows_local(path)
    elif "/" in src and not src.endswith(".jsonl"):
        if not subjects:
            raise SuiteError(f"mmlu: Hub source {src!r} needs mmlu_subjects (e.g. college_chemistry)")
        rows = _rows_hub(src, subjects)
    else:
        raise SuiteError(f"mmlu: {src!r} is neither a .jsonl file nor a Hub dataset id")
    wanted = set(subjects or [])
    questions: list[Question] = []
    shots: dict[str, list[Question]] = {}
    for i, r in enumerate(rows):
        subject = str(r.get("subject", "unknown"))
        if wanted and subject not in wanted:
            continue
        choices = [str(c) for c in r.get("choices", [])]
        if len(choices) < 2 or not r.get("question"):
            raise SuiteError(f"{src} row {i + 1}: needs 'question' and at least 2 'choices'")
        idx = _answer_index(r.get("answer"), len(choices), f"{src} row {i + 1}")
        q = Question(
            id=str(r.get("id") or f"{subject}/{r.get('split', 'test')}/{i}"),
            question=str(r["question"]).strip(),
            answer=choices[idx],
            choices=choices,
            answer_index=idx,
            scorer="mcq-loglik",
            subject=subject,
        )
        if r.get("split") == "dev":
            shots.setdefault(subject, []).append(q)
        else:
            questions.append(q)
    if wanted - {q.subject for q in questions}:
        raise SuiteError(
            f"mmlu: no test items for subject(s) {sorted(wanted - {q.subject for q in questions})} in {src}"
        )
    if limit:
        questions = questions[:limit]
    return Suite(name="mmlu", version=Path(src).name, documents=[], questions=questions, shots=shots)


class MmluSuite:
    """Registry entry ``mmlu``: MMLU-format items from ``mmlu`` (the forgetting check as the suite)."""

    needs_build = False
    forgetting_check = True

    @classmethod
    def from_config(cls, cfg: Any) -> Suite:
        return load_mmlu(cfg.mmlu, cfg.mmlu_subjects, cfg.mmlu_limit)
