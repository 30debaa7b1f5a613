"""The suite data model: documents to train on, questions to ask, irrelevant filler texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ccpapers.errors import CcpapersError

# order in which a document's texts are taken when fewer than all are used per fact
DEFAULT_VARIANT_ORDER = (
    "original",
    "qa",
    "article",
    "interview",
    "textbook",
    "de",
    "es",
    "it",
    "ko",
    "ja",
)


@dataclass
class Question:
    id: str
    question: str
    answer: str = ""
    doc_id: str | None = None
    keywords: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    answer_index: int | None = None
    scorer: str = "keywords"  # open questions: keywords | rouge2; choices: mcq-loglik
    subject: str | None = None
    split: str = "test"  # test | dev (dev questions drive early stopping)

    @property
    def is_mcq(self) -> bool:
        return bool(self.choices)


@dataclass
class Document:
    id: str
    texts: dict[str, str]  # variant name -> text ("original" first)
    title: str = ""

    def ordered_texts(
        self, order: list[str] | tuple[str, ...] = DEFAULT_VARIANT_ORDER
    ) -> list[tuple[str, str]]:
        known = [(v, self.texts[v]) for v in order if v in self.texts]
        rest = [(v, t) for v, t in self.texts.items() if v not in order]
        return known + rest


@dataclass
class Suite:
    name: str
    version: str
    documents: list[Document]
    questions: list[Question]
    irrelevant: list[str] = field(default_factory=list)
    description: str = ""
    shots: dict[str, list[Question]] = field(default_factory=dict)  # MCQ few-shot examples by subject
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "documents": len(self.documents),
            "texts": sum(len(d.texts) for d in self.documents),
            "questions": len(self.questions),
            "irrelevant_available": len(self.irrelevant),
        }


class SuiteError(CcpapersError, ValueError):
    """A suite file or build folder that cannot be used (message names it and the fix)."""


class SuiteEntry(Protocol):
    """What ``ccpapers.registry.SUITES`` holds: a suite that builds itself from a ``BenchConfig``
    and declares what it needs and is, so callers test these and never a suite's name:

    - ``needs_build``: reads a ``ccpapers build`` output, named by the config's ``build``.
    - ``forgetting_check``: its questions are the MMLU-format check itself (read from ``mmlu``),
      so ``forgetting=true`` adds no second copy of them.
    """

    needs_build: ClassVar[bool]
    forgetting_check: ClassVar[bool]

    @classmethod
    def from_config(cls, cfg: Any) -> Suite: ...
