"""``rewrite``: style rewrites (qa, article, interview, textbook), N variants per style.

Each (source, style, variant) is its own request: the variant number is in the
prompt and in the cache key, so variants are really different texts.
"""

from __future__ import annotations

from typing import Any

from ccpapers.builder.backends.base import Reply
from ccpapers.builder.checks import parse_json_reply, preservation_problem
from ccpapers.builder.generators.base import (
    ChatGenerator,
    GenContext,
    Outcome,
    Task,
    derived,
    output_budget,
    paper_meta,
    passage_request,
    reply_text,
    unusable_reason,
)
from ccpapers.builder.prompts_loader import load_prompt
from ccpapers.builder.quality import rewrite_problem
from ccpapers.types import Record

STYLES = ("qa", "article", "interview", "textbook")


class RewriteGenerator(ChatGenerator):
    name = "rewrite"
    version = "1"
    split = "rewrite"
    stand_in = None

    def __init__(
        self, styles: list[str] | None = None, variants: int = 1, max_tokens: int = 4000, **_: Any
    ) -> None:
        self.prompt = load_prompt("rewrite.v1")
        known = self.prompt.extra["styles"]
        self.styles = list(styles or STYLES)
        bad = [s for s in self.styles if s not in known]
        if bad:
            raise ValueError(f"rewrite styles {bad} unknown; choose from {', '.join(known)}")
        self.variants = max(1, int(variants))
        self.max_tokens = max_tokens

    def plan(self, sources: list[Record], ctx: GenContext) -> list[Task]:
        tasks = []
        for src in sources:
            meta = paper_meta(ctx.papers.get(src.doi))
            for style in self.styles:
                for v in range(self.variants):
                    instruction = self.prompt.render(
                        style_description=self.prompt.extra["styles"][style],
                        variant_no=v + 1,
                        variants=self.variants,
                        **meta,
                    )
                    budget = self.max_tokens or output_budget(src.text or "", 2.2)
                    request = passage_request(self.prompt, src, instruction, budget)
                    expected = int(len((src.text or "").split()) * 1.6) + 50
                    tasks.append(Task(request, [src], v, {"style": style}, expected_output_tokens=expected))
        return tasks

    def parse(self, task: Task, reply: Reply, ctx: GenContext) -> Outcome:
        out = Outcome()
        src = task.sources[0]
        obj, status = parse_json_reply(reply_text(reply))
        text = obj.get("text") if isinstance(obj, dict) else None
        if not isinstance(text, str) or not text.strip():
            out.drop(unusable_reason(reply, False) if obj is None else "empty", reply_text(reply)[:120])
            return out
        problem = rewrite_problem(src.text or "", text)
        if problem:  # "{", "{% length %}", "This study": never a rewrite
            out.drop(*problem)
            return out
        style = task.meta["style"]
        rec = derived(
            src, "rewrite", f"{style}-{task.variant}", self.name, self.version, ctx, self.prompt.version_tag,
            task.variant, f"{src.section} rewritten in the '{style}' style by {ctx.model}",
            text=text.strip(), style=style,
        )  # fmt: skip
        if status == "repaired":
            rec.flags.append("json-repaired")
        problem = preservation_problem(src.text or "", text)
        if problem:  # rewrites (e.g. the qa style) may legitimately regroup facts: flag, do not drop
            rec.flags.append(problem[0])
        out.records.append(rec)
        return out

    def finalize(self, records: list[Record], ctx: GenContext) -> Outcome:
        return Outcome(records=records)
