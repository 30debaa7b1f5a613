"""The one data model shared by every stage: PaperRef -> Paper -> Record.

Every class round-trips through plain JSON-compatible dicts (``to_dict`` /
``from_dict``); :mod:`ccpapers.io` reads and writes them as JSONL or Parquet.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from ccpapers.errors import InputError

SectionKind = Literal["abstract", "introduction", "results", "discussion", "conclusion", "methods", "other"]
SECTION_KINDS: tuple[str, ...] = get_args(SectionKind)
TIERS: tuple[str, ...] = ("by", "sa", "nc", "all")

# The split vocabulary, shared by build, publish and bench. What counts as derived material is
# decided here: every generated split derives from the paper text (machine-generated; publish
# keeps no-derivatives rows out of it), and the rephrased splits are adaptations of the text
# itself (never made from a no-derivatives paper, whatever the spec allows).
TEXT_SPLITS: tuple[str, ...] = ("introduction", "abstract", "conclusion")  # verbatim paper text
QUESTION_SPLITS: tuple[str, ...] = ("qa", "mcq")  # rows with a question (bench test items)
REPHRASED_SPLITS: tuple[str, ...] = ("rewrite", "translation")  # the text itself, rephrased
GENERATED_SPLITS: tuple[str, ...] = QUESTION_SPLITS + REPHRASED_SPLITS  # derived from the text
# rows whose ``text`` a model is trained on in the bench (verbatim and rephrased text), in bench order
TRAINING_TEXT_SPLITS: tuple[str, ...] = ("abstract", "introduction", "conclusion", *REPHRASED_SPLITS)

T = TypeVar("T", bound="Serializable")


class Serializable:
    """Mixin giving dataclasses a lossless dict round trip (nested dataclasses included)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        hints = _hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - names
        if unknown:
            raise InputError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
        kwargs = {k: _convert(hints[k], v) for k, v in data.items()}
        return cls(**kwargs)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _convert(hint: Any, value: Any) -> Any:
    """Turn JSON values back into dataclasses according to a type hint."""
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(hint):
            if arg is type(None):
                continue
            return _convert(arg, value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return hint.from_dict(value)  # type: ignore[attr-defined]
    if origin is list:
        (item,) = get_args(hint) or (Any,)
        return [_convert(item, v) for v in value]
    if origin is dict:
        return dict(value)
    return value


@dataclass
class License(Serializable):
    """A normalised licence decision with everything that led to it.

    ``hub_id`` is the lower-case Creative Commons id as the Hugging Face Hub spells
    it (``cc-by-4.0``, ``cc0-1.0``); ids the Hub does not list (``cc-by-nd-3.0``,
    ``pdm-1.0``, a licence without version such as ``cc-by``) keep the same style and
    ``on_hub`` is False. Anything unrecognised is ``unknown`` and is never kept.
    """

    hub_id: str = "unknown"
    url: str | None = None
    commercial_ok: bool = False
    derivatives_ok: bool = False
    share_alike: bool = False
    tier: str | None = None  # by < sa < nc < all; None when unknown
    statement: str | None = None  # verbatim licence statement as printed
    evidence: list[str] = field(default_factory=list)  # "source: text" per signal
    conflict: str | None = None  # set when evidence disagrees

    @property
    def known(self) -> bool:
        return self.hub_id != "unknown" and self.conflict is None

    @property
    def on_hub(self) -> bool:
        from ccpapers.licenses import HUB_LICENSE_IDS

        return self.hub_id in HUB_LICENSE_IDS


@dataclass
class PaperRef(Serializable):
    """A paper discovered by a Source, before anything is fetched."""

    doi: str
    journal: str
    url: str
    published: str | None = None  # ISO date
    license_hint: list[str] = field(default_factory=list)  # licence evidence from discovery
    title: str | None = None
    source: str | None = None  # name of the Source that found it


@dataclass
class Section(Serializable):
    kind: str  # one of SECTION_KINDS
    title: str
    text: str

    def __post_init__(self) -> None:
        if self.kind not in SECTION_KINDS:
            raise InputError(f"Section kind {self.kind!r} is not one of {SECTION_KINDS}")


@dataclass
class Paper(Serializable):
    """A parsed paper: metadata, licence decision and ordered sections."""

    doi: str
    title: str
    journal: str
    license: License
    sections: list[Section] = field(default_factory=list)
    issn: str | None = None
    year: int | None = None
    published: str | None = None  # ISO date
    article_type: str | None = None
    authors: list[str] = field(default_factory=list)
    url: str | None = None
    fetched_at: str | None = None  # ISO timestamp
    parser: str | None = None
    parser_version: str | None = None
    paywalled: bool = False

    def sections_of(self, kind: str) -> list[Section]:
        return [s for s in self.sections if s.kind == kind]

    def text_of(self, kind: str) -> str:
        return "\n\n".join(s.text for s in self.sections_of(kind))


@dataclass
class Record(Serializable):
    """One row of a built split, with the provenance needed to publish it.

    Text splits fill ``text``; Q&A fills ``question``/``answer``; multiple choice also
    fills ``choices`` and ``answer_index``.
    """

    id: str
    split: str  # introduction, abstract, conclusion, qa, mcq, rewrite, translation, ...
    doi: str
    license: str  # Hub licence id of this row (SA-forced where derived)
    license_url: str | None = None
    section: str | None = None
    text: str | None = None
    question: str | None = None
    answer: str | None = None
    choices: list[str] = field(default_factory=list)
    answer_index: int | None = None
    lang: str = "en"
    title: str | None = None
    journal: str | None = None
    year: int | None = None
    group: str | None = None  # "target" or "irrelevant"
    source_id: str | None = None  # parent record or paper section id
    source_span: str | None = None
    generator: str | None = None
    generator_version: str | None = None
    backend: str | None = None
    model: str | None = None
    prompt_hash: str | None = None
    variant: int = 0
    style: str | None = None
    modified: bool = False
    modification_note: str | None = None
    flags: list[str] = field(default_factory=list)
