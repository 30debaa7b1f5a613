"""``offline``: cloze questions without any model, deterministic for a given seed.

A sentence holding a number with a unit, a chemical formula or a named entity becomes
"Fill in the blank: ..." with that span as the answer. Multiple-choice distractors are
spans of the same type (same unit for numbers) drawn from *other* papers; when too few
exist, numbers get scaled variants of the key (flagged ``synthetic-distractors``).
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ccpapers.builder.backends.base import Reply
from ccpapers.builder.checks import context_dependent, formulas
from ccpapers.builder.generators.base import Choice, GenContext, Outcome, Task, derived
from ccpapers.builder.generators.mcq import assign_positions
from ccpapers.builder.generators.qa import remove_near_duplicates
from ccpapers.types import QUESTION_SPLITS, Record

if TYPE_CHECKING:
    from ccpapers.builder.backend_choice import BackendPool
    from ccpapers.builder.spec import SplitSpec

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_UNITS = (
    r"nm|µm|μm|mm|cm|km|m|K|°C|%|eV|meV|GPa|MPa|kPa|Pa|mV|V|mA|W|mW|Hz|kHz|MHz|GHz|THz|ms|ns|ps|fs|s|h|min|"
    r"mol|mM|µM|μM|nM|mg|kg|g|mL|µL|L|mT|T|Å|J|kJ|dB|ppm|days|years|hours|weeks|samples|patients|cells|species"
)
_NUM_UNIT = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)\s?({_UNITS})(?![A-Za-z])")
_ENTITY = re.compile(r"(?<=[a-z,;:(] )([A-Z][a-z]+(?:[ -][A-Z][a-z]+)*)")
_OPENERS = re.compile(r"^(It|This|These|They|Its|Such|Here|Those|That|There)\b")
_MIN, _MAX = 40, 400


@dataclass(frozen=True)
class Cloze:
    sentence: str
    span: str
    kind: str  # "number:<unit>", "chemical", "entity"
    doi: str


def _candidates(sentence: str, doi: str) -> list[Cloze]:
    out = [Cloze(sentence, m.group(0), f"number:{m.group(2)}", doi) for m in _NUM_UNIT.finditer(sentence)]
    out += [Cloze(sentence, f, "chemical", doi) for f in formulas(sentence)]
    out += [
        Cloze(sentence, m.group(1), "entity", doi) for m in _ENTITY.finditer(sentence) if len(m.group(1)) > 3
    ]
    return out


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.replace("\n", " ")) if _MIN <= len(s.strip()) <= _MAX]


def cloze_candidates(record: Record) -> list[Cloze]:
    """The best cloze span of each usable sentence (number > chemical > entity)."""
    out = []
    for sent in sentences(record.text or ""):
        if context_dependent(sent) or _OPENERS.match(sent):
            continue
        cands = _candidates(sent, record.doi)
        if cands:
            out.append(cands[0])
    return out


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(
        int.from_bytes(hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()[:8], "big")
    )


def _scaled(span: str, need: int) -> list[str]:
    m = _NUM_UNIT.fullmatch(span)
    if not m:
        return []
    value, unit = float(m.group(1)), m.group(2)
    decimals = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
    sep = " " if " " in span else ""
    out = []
    for factor in (0.5, 2.0, 1.5, 0.25, 3.0, 0.75, 4.0, 10.0, 0.1):
        v = value * factor
        text = f"{v:.{decimals}f}" if decimals else str(round(v))
        cand = f"{text}{sep}{unit}"
        if cand != span and cand not in out and v != value:
            out.append(cand)
        if len(out) >= need:
            break
    return out


def _question(c: Cloze, ctx: GenContext) -> str:
    """The blanked sentence, anchored to its paper's title so that it stands alone."""
    paper = ctx.papers.get(c.doi)
    title = (paper.title if paper else "").replace(c.span, "_____")
    about = f' (from "{title}")' if title else ""
    return f"Fill in the blank{about}: " + c.sentence.replace(c.span, "_____", 1)


class OfflineGenerator:
    name = "offline"
    version = "1"
    needs_backend = False
    stand_in = None

    def __init__(
        self, mode: str = "qa", per_passage: int = 3, options: int = 4, seed: int = 0, **_: Any
    ) -> None:
        if mode not in QUESTION_SPLITS:
            raise ValueError(f"offline generator mode {mode!r}: choose qa or mcq")
        self.mode = mode
        self.split = mode
        self.per_passage = per_passage
        self.options = options
        self.seed = seed

    @classmethod
    def for_split(cls, split: SplitSpec, main: str, pool: BackendPool, assume_keys: bool = False) -> Choice:
        mode = split.split if split.split in QUESTION_SPLITS else "qa"
        return Choice(cls(mode=mode, **dict(split.options)))

    def plan(self, sources: list[Record], ctx: GenContext) -> list[Task]:
        """One task per passage (nothing to send); distractors come from every text of the build."""
        by_kind: dict[str, list[Cloze]] = {}
        for rec in sorted(ctx.texts, key=lambda r: r.id):
            for c in cloze_candidates(rec):
                by_kind.setdefault(c.kind, []).append(c)
        return [Task(None, [src], meta={"by_kind": by_kind}) for src in sorted(sources, key=lambda r: r.id)]

    def parse(self, task: Task, reply: Reply | None, ctx: GenContext) -> Outcome:
        """Cloze questions on the task's passage (``reply`` is None: no model is asked)."""
        out = Outcome()
        src = task.sources[0]
        cands = cloze_candidates(src)
        if not cands:
            out.drop("no-cloze-candidate", src.id)
            return out
        _rng(self.seed, src.id).shuffle(cands)
        for j, c in enumerate(cands[: self.per_passage]):
            question = _question(c, ctx)
            rec = derived(
                src, self.mode, f"cloze-{j}", self.name, self.version, ctx, None, 0,
                f"cloze question made by rule from the {src.section} (no model)",
                question=question, answer=c.span, backend="offline", model="none",
            )  # fmt: skip
            rec.flags = [f"answer-type:{c.kind.split(':')[0]}"]
            if self.mode == "mcq":
                choices = self._distractors(c, task.meta["by_kind"], rec, out)
                if choices is None:
                    continue
                rec.choices = [c.span, *choices]
                rec.answer_index = 0
            out.records.append(rec)
        return out

    def _distractors(
        self, c: Cloze, by_kind: dict[str, list[Cloze]], rec: Record, out: Outcome
    ) -> list[str] | None:
        need = self.options - 1
        pool = sorted(
            {o.span for o in by_kind.get(c.kind, []) if o.doi != c.doi and o.span.lower() != c.span.lower()}
        )
        _rng(self.seed, rec.id, "distractors").shuffle(pool)
        chosen = pool[:need]
        if len(chosen) < need and c.kind.startswith("number:"):
            chosen += [s for s in _scaled(c.span, need) if s not in chosen][: need - len(chosen)]
            rec.flags.append("synthetic-distractors")
        if len(chosen) < need:
            out.drop("too-few-distractors", f"{c.kind}: {c.span}")
            return None
        return chosen

    def finalize(self, records: list[Record], ctx: GenContext | None, out: Outcome | None = None) -> Outcome:
        out = out or Outcome()
        kept = remove_near_duplicates(records, 0.8, out)
        out.records = assign_positions(kept, self.seed) if self.mode == "mcq" else kept
        return out
