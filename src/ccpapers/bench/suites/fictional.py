"""The fictional suite: invented 2030s discoveries with style variants, translations and
keyword-scored questions (``train/suites/fictional.yaml``, schema in the sample docs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccpapers.bench.suites.base import Document, Question, Suite, SuiteError
from ccpapers.config import ConfigError, read_yaml_mapping


def parse_fictional(data: dict[str, Any], origin: str = "fictional suite") -> Suite:
    docs_in = data.get("documents")
    if not isinstance(docs_in, list) or not docs_in:
        raise SuiteError(f"{origin}: needs a non-empty 'documents' list")
    documents: list[Document] = []
    questions: list[Question] = []
    for i, d in enumerate(docs_in):
        if not isinstance(d, dict) or not d.get("id") or not d.get("text"):
            raise SuiteError(f"{origin}: document #{i} needs 'id' and 'text'")
        texts = {"original": str(d["text"]).strip()}
        for key in ("variants", "translations"):
            for name, text in (d.get(key) or {}).items():
                if text and str(text).strip():
                    texts[str(name)] = str(text).strip()
        documents.append(Document(id=str(d["id"]), texts=texts, title=str(d.get("title", ""))))
        for j, q in enumerate(d.get("questions") or []):
            if not q.get("question") or not q.get("keywords"):
                raise SuiteError(
                    f"{origin}: document {d['id']!r} question #{j} needs 'question' and 'keywords'"
                )
            questions.append(
                Question(
                    id=f"{d['id']}/q{j}",
                    doc_id=str(d["id"]),
                    question=str(q["question"]).strip(),
                    answer=str(q.get("answer", "")).strip(),
                    keywords=[str(k) for k in q["keywords"]],
                    scorer="keywords",
                    split=str(q.get("split", "test")),
                )
            )
    return Suite(
        name=str(data.get("name", "fictional")),
        version=str(data.get("version", "1")),
        documents=documents,
        questions=questions,
        description=str(data.get("description", "")),
    )


def load_fictional(path: str | Path | None = None) -> Suite:
    """Load the fictional suite from ``path`` or the shipped ``train/suites/fictional.yaml``."""
    from ccpapers.resources import resolve_recipe

    try:
        p = resolve_recipe("train", path or "suites/fictional.yaml")
    except FileNotFoundError as exc:
        raise SuiteError(f"fictional suite file not found: {exc}") from exc
    try:
        data = read_yaml_mapping(p, "fictional suite file")
    except ConfigError as exc:
        raise SuiteError(str(exc)) from exc
    return parse_fictional(data, origin=str(p))


class FictionalSuite:
    """Registry entry ``fictional``: the file ``suite_file`` (default: the shipped suite)."""

    needs_build = False
    forgetting_check = False

    @classmethod
    def from_config(cls, cfg: Any) -> Suite:
        return load_fictional(cfg.suite_file or None)
