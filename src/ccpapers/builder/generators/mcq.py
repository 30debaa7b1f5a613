"""``mcq``: multiple choice with distractors written for each stem; positions assigned in code.

The model never places the key: every item is stored with the key first, and
:func:`assign_positions` gives the split a seeded, balanced set of answer positions
(each position used ``n/k`` times, +-1), storing ``answer_index``.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from ccpapers.builder.backends.base import Reply
from ccpapers.builder.checks import units
from ccpapers.builder.generators.base import (
    ChatGenerator,
    GenContext,
    Outcome,
    Task,
    bounded_lists,
    derived,
    paper_meta,
    passage_request,
)
from ccpapers.builder.generators.qa import check_question, json_items, remove_near_duplicates
from ccpapers.builder.prompts_loader import load_prompt
from ccpapers.builder.quality import remove_duplicate_answers
from ccpapers.types import Record

MAX_OPTIONS = 10


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def assign_positions(records: list[Record], seed: int = 0) -> list[Record]:
    """Records arrive with ``choices[0]`` the key; place keys at balanced, seeded positions."""
    by_k: dict[int, list[Record]] = {}
    for rec in sorted(records, key=lambda r: r.id):
        by_k.setdefault(len(rec.choices), []).append(rec)
    for k, group in by_k.items():
        positions = [i % k for i in range(len(group))]
        random.Random(_seed(seed, "positions", k, len(group))).shuffle(positions)
        for rec, pos in zip(group, positions, strict=True):
            key, distractors = rec.choices[0], list(rec.choices[1:])
            random.Random(_seed(seed, rec.id)).shuffle(distractors)
            rec.choices = distractors[:pos] + [key] + distractors[pos:]
            rec.answer_index = pos
    return records


def clean_distractors(
    answer: str, distractors: list[Any], other_answers: set[str], out: Outcome
) -> list[str]:
    """Distinct distractors that are not the key, not another question's answer, and look like the key."""
    key_low = answer.strip().lower()
    key_units = sorted(set(units(answer)))
    kept: list[str] = []
    for d in distractors:
        if not isinstance(d, str) or not d.strip():
            continue
        d = d.strip()
        low = d.lower()
        if low == key_low or low in (k.lower() for k in kept):
            out.drop("distractor-duplicate", d[:80])
            continue
        if low in other_answers:
            out.drop("distractor-is-other-answer", d[:80])
            continue
        ratio = len(d) / max(1, len(answer))
        if not 0.33 <= ratio <= 3.0 and abs(len(d) - len(answer)) > 12:
            out.drop("distractor-length", d[:80])
            continue
        if key_units and sorted(set(units(d))) != key_units:
            out.drop("distractor-unit", d[:80])
            continue
        kept.append(d)
    return kept


class MCQGenerator(ChatGenerator):
    name = "mcq"
    version = "1"
    split = "mcq"
    stand_in = "offline"  # offline cloze questions when the build has no model

    def __init__(
        self, per_passage: int = 3, options: int = 4, max_tokens: int = 2000, seed: int = 0, **_: Any
    ) -> None:
        if not 2 <= options <= MAX_OPTIONS:
            raise ValueError(f"mcq options={options}: choose 2..{MAX_OPTIONS}")
        self.per_passage = per_passage
        self.options = options
        self.max_tokens = max_tokens
        self.seed = seed
        self.prompt = load_prompt("mcq.v1")

    def plan(self, sources: list[Record], ctx: GenContext) -> list[Task]:
        tasks = []
        k = self.options - 1
        schema = bounded_lists(self.prompt.schema, items=(1, self.per_passage), distractors=(k, k))
        for src in sources:
            meta = paper_meta(ctx.papers.get(src.doi))
            instruction = self.prompt.render(n=self.per_passage, k=k, **meta)
            request = passage_request(self.prompt, src, instruction, self.max_tokens, schema)
            tasks.append(Task(request, [src], expected_output_tokens=90 * self.per_passage))
        return tasks

    def parse(self, task: Task, reply: Reply, ctx: GenContext) -> Outcome:
        out = Outcome()
        src = task.sources[0]
        items, flags = json_items(reply, out)
        answers = [i["answer"].strip().lower() for i in items]
        for j, item in enumerate(items):
            q, a = item["question"].strip(), item["answer"].strip()
            if not check_question(q, a, src.text or "", out):
                continue
            others = {x for n, x in enumerate(answers) if n != j}
            raw = item.get("distractors") if isinstance(item.get("distractors"), list) else []
            kept = clean_distractors(a, raw, others, out)
            if len(kept) < self.options - 1:
                out.drop("too-few-distractors", q[:120])
                continue
            rec = derived(
                src, "mcq", f"{task.variant}-{j}", self.name, self.version, ctx, self.prompt.version_tag,
                task.variant, f"multiple-choice question generated from the {src.section} by {ctx.model}",
                question=q, answer=a, choices=[a, *kept[: self.options - 1]], answer_index=0,
            )  # fmt: skip
            rec.flags = list(flags)
            out.records.append(rec)
        return out

    def finalize(self, records: list[Record], ctx: GenContext) -> Outcome:
        out = Outcome()
        kept = remove_duplicate_answers(remove_near_duplicates(records, 0.8, out), 0.8, out)
        out.records = assign_positions(kept, self.seed)
        return out
