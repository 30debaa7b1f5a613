"""Shared pieces of generators: the Generator shape, tasks, outcomes, derived-record construction.

Every generator has one shape: ``plan`` (source records -> tasks), ``parse`` (a task and its
reply -> records), ``finalize`` (the split's records -> kept records). One that ``needs_backend``
has each task's request answered by a model; one that does not (``offline``) makes its records
by rule and is handed ``None`` for a reply. Each builds itself for a split of the spec
(``for_split``): with the backend that will answer it, or with the reason it cannot be made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ccpapers.builder.backend_choice import supports
from ccpapers.builder.backends.base import ChatRequest, Reply, TranslateRequest
from ccpapers.builder.prompts_loader import Prompt
from ccpapers.types import Paper, Record

if TYPE_CHECKING:
    from ccpapers.builder.backend_choice import BackendPool
    from ccpapers.builder.spec import SplitSpec

NEEDS_MODEL = "needs a language model: set ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL, or --backend (now {main})"


@dataclass
class Choice:
    """What a generated split is made with: a generator and the backend answering it (None for
    one that needs none), or why the split cannot be made."""

    generator: Generator | None
    backend: Any = None
    why_not: str | None = None


@dataclass
class Task:
    """One request a generator wants answered (``None``: made by rule, nothing is sent), with
    what it needs to parse the reply."""

    request: ChatRequest | TranslateRequest | None
    sources: list[Record]
    variant: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    expected_output_tokens: int = 400


@dataclass
class Outcome:
    records: list[Record] = field(default_factory=list)
    drops: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail)

    def drop(self, reason: str, detail: str = "") -> None:
        self.drops.append((reason, detail))


@dataclass
class GenContext:
    """What every generator may use: the backend's identity and the papers by DOI."""

    backend: str
    model: str
    papers: dict[str, Paper]
    options: dict[str, Any]
    seed: int = 0
    texts: list[Record] = field(default_factory=list)  # every text record of the build


class Generator(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]
    needs_backend: ClassVar[bool]
    stand_in: ClassVar[str | None]  # generator made instead when the build has no model at all

    @classmethod
    def for_split(
        cls, split: SplitSpec, main: str, pool: BackendPool, assume_keys: bool = False
    ) -> Choice: ...

    def plan(self, sources: list[Record], ctx: GenContext) -> list[Task]: ...

    def parse(self, task: Task, reply: Reply | None, ctx: GenContext) -> Outcome: ...

    def finalize(self, records: list[Record], ctx: GenContext | None) -> Outcome: ...


class ChatGenerator:
    """Base of the generators the build's chat backend answers (qa, mcq, rewrite)."""

    needs_backend: ClassVar[bool] = True

    @classmethod
    def for_split(cls, split: SplitSpec, main: str, pool: BackendPool, assume_keys: bool = False) -> Choice:
        """The generator with the build's chat backend, or why there is none."""
        if not supports(main, "chat"):
            return Choice(None, why_not=NEEDS_MODEL.format(main=main))
        return Choice(cls(**split.options), pool.get(main))


def passage_block(text: str) -> str:
    return f"<passage>\n{text}\n</passage>"


def passage_request(
    prompt: Prompt, src: Record, instruction: str, max_tokens: int, schema: dict[str, Any] | None = None
) -> ChatRequest:
    """What every LLM generator sends: the passage first (a prefix shared by all of one
    passage's requests, so providers can cache it), then the task's instruction."""
    return ChatRequest(
        system=prompt.system,
        context=passage_block(src.text or ""),
        instruction=instruction,
        schema=schema if schema is not None else prompt.schema,
        schema_name=prompt.schema_name,
        max_tokens=max_tokens,
    )


def bounded_lists(schema: dict[str, Any], **bounds: tuple[int, int]) -> dict[str, Any]:
    """A copy of ``schema`` in which each array property named in ``bounds`` (at any depth)
    carries ``minItems``/``maxItems``: a grammar-constrained server then cannot return one
    distractor instead of three, or a runaway list that ends only at the token cap."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            props = {}
            for name, sub in value.items():
                sub = bounded_lists(sub, **bounds) if isinstance(sub, dict) else sub
                if name in bounds and isinstance(sub, dict) and sub.get("type") == "array":
                    lo, hi = bounds[name]
                    sub = {**sub, "minItems": lo, "maxItems": hi}
                props[name] = sub
            out[key] = props
        elif isinstance(value, dict):
            out[key] = bounded_lists(value, **bounds)
        else:
            out[key] = value
    return out


def paper_meta(paper: Paper | None) -> dict[str, Any]:
    if paper is None:
        return {"title": "unknown", "journal": "unknown", "year": "n.d."}
    return {"title": paper.title, "journal": paper.journal, "year": paper.year or "n.d."}


def derived(
    source: Record,
    split: str,
    idx: str,
    generator: str,
    version: str,
    ctx: GenContext,
    prompt_tag: str | None,
    variant: int,
    note: str,
    **fields: Any,
) -> Record:
    """A record derived from ``source``: provenance filled, licence inherited (SA stays SA)."""
    rec = dataclasses.replace(
        source,
        id=f"{source.id}#{split}-{idx}",
        split=split,
        text=None,
        question=None,
        answer=None,
        choices=[],
        answer_index=None,
        lang="en",
        source_id=source.id,
        generator=generator,
        generator_version=version,
        backend=ctx.backend,
        model=ctx.model,
        prompt_hash=prompt_tag,
        variant=variant,
        style=None,
        modified=True,
        modification_note=note,
        flags=[],
    )
    for key, value in fields.items():
        setattr(rec, key, value)
    return rec


def reply_text(reply: Reply) -> str:
    return reply.texts[0] if reply.texts else ""


TRUNCATED = ("max_tokens", "length", "model_context_window_exceeded", "loop")  # "loop": transformers backend


def unusable_reason(reply: Reply, parsed_ok: bool) -> str:
    """Why a reply that did not parse is unusable: refused, cut off, or malformed JSON."""
    if reply.finish == "refusal":
        return "refusal"
    if reply.finish == "loop" and not parsed_ok:
        return "reply-looped"
    if reply.finish in TRUNCATED and not parsed_ok:
        return "reply-truncated"
    return "malformed-json"


def output_budget(text: str, per_word: float, floor: int = 1000, cap: int = 16000) -> int:
    """max_tokens for a reply about as long as ``text`` (rewrites, translations)."""
    return min(cap, max(floor, int(len(text.split()) * per_word) + 400))
