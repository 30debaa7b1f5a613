"""``qa``: closed-book question/answer pairs, stand-alone and grounded in the passage."""

from __future__ import annotations

from typing import Any

from ccpapers.builder.backends.base import Reply
from ccpapers.builder.checks import context_dependent, grounded, normalised, parse_json_reply, similarity
from ccpapers.builder.generators.base import (
    TRUNCATED,
    ChatGenerator,
    GenContext,
    Outcome,
    Task,
    bounded_lists,
    derived,
    paper_meta,
    passage_request,
    reply_text,
    unusable_reason,
)
from ccpapers.builder.prompts_loader import load_prompt
from ccpapers.builder.quality import question_problem, remove_duplicate_answers
from ccpapers.types import Record


def json_items(reply: Reply, out: Outcome) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``items`` list of a JSON reply (repaired if needed), or [] with a counted drop."""
    obj, status = parse_json_reply(reply_text(reply))
    if obj is None:
        out.drop(unusable_reason(reply, False), reply_text(reply)[:120])
        return [], []
    items = obj.get("items")
    if not isinstance(items, list):
        out.drop("malformed-json", "no 'items' list in the reply")
        return [], []
    flags = []
    if status == "repaired":
        flags.append("json-repaired")
    if reply.finish in TRUNCATED:
        flags.append("reply-truncated")
    good = []
    for item in items:
        if (
            isinstance(item, dict)
            and isinstance(item.get("question"), str)
            and isinstance(item.get("answer"), str)
        ):
            good.append(item)
        else:
            out.drop("malformed-item", str(item)[:120])
    return good, flags


def check_question(question: str, answer: str, passage: str, out: Outcome) -> bool:
    if len(question.strip()) < 10 or len(answer.strip()) < 1:
        out.drop("too-short", question[:80])
        return False
    if context_dependent(question):
        out.drop("context-dependent", question[:120])
        return False
    problem = question_problem(question)
    if problem:
        out.drop(*problem)
        return False
    if not grounded(answer, passage):
        out.drop("ungrounded", answer[:120])
        return False
    return True


def remove_near_duplicates(records: list[Record], threshold: float, out: Outcome) -> list[Record]:
    """Drop questions that repeat another one: exact (normalised) across the split,
    token-Jaccard >= ``threshold`` within a paper."""
    seen: set[str] = set()
    by_paper: dict[str, list[str]] = {}
    kept = []
    for rec in sorted(records, key=lambda r: r.id):
        q = rec.question or ""
        norm = normalised(q)
        if norm in seen or any(similarity(q, other) >= threshold for other in by_paper.get(rec.doi, [])):
            out.drop("near-duplicate", q[:120])
            continue
        seen.add(norm)
        by_paper.setdefault(rec.doi, []).append(q)
        kept.append(rec)
    return kept


class QAGenerator(ChatGenerator):
    name = "qa"
    version = "1"
    split = "qa"
    stand_in = "offline"  # offline cloze questions when the build has no model

    def __init__(
        self, per_passage: int = 5, max_tokens: int = 1500, dedup_threshold: float = 0.8, **_: Any
    ) -> None:
        self.per_passage = per_passage
        self.max_tokens = max_tokens
        self.dedup_threshold = dedup_threshold
        self.prompt = load_prompt("qa.v1")

    def plan(self, sources: list[Record], ctx: GenContext) -> list[Task]:
        tasks = []
        schema = bounded_lists(self.prompt.schema, items=(1, self.per_passage))
        for src in sources:
            meta = paper_meta(ctx.papers.get(src.doi))
            instruction = self.prompt.render(n=self.per_passage, **meta)
            request = passage_request(self.prompt, src, instruction, self.max_tokens, schema)
            tasks.append(Task(request, [src], expected_output_tokens=60 * self.per_passage))
        return tasks

    def parse(self, task: Task, reply: Reply, ctx: GenContext) -> Outcome:
        out = Outcome()
        src = task.sources[0]
        items, flags = json_items(reply, out)
        for j, item in enumerate(items):
            q, a = item["question"].strip(), item["answer"].strip()
            if not check_question(q, a, src.text or "", out):
                continue
            rec = derived(
                src, "qa", f"{task.variant}-{j}", self.name, self.version, ctx, self.prompt.version_tag,
                task.variant, f"question and answer generated from the {src.section} by {ctx.model}",
                question=q, answer=a,
            )  # fmt: skip
            rec.flags = list(flags)
            out.records.append(rec)
        return out

    def finalize(self, records: list[Record], ctx: GenContext) -> Outcome:
        out = Outcome()
        kept = remove_near_duplicates(records, self.dedup_threshold, out)
        out.records = remove_duplicate_answers(kept, self.dedup_threshold, out)
        return out
