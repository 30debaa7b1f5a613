"""Optional LLM judge of generated question-answer pairs, in the manner of SciQAG's RACAR.

SciQAG (Wan et al. 2024, arXiv:2405.09939) has GPT-4 grade each pair 1-3 on Relevance,
Agnosticism (stands alone), Completeness, Accuracy and Reasonableness, with the source passage
in view, and keeps pairs scoring at least 3 on every criterion for its test set. Here any chat
backend can be the judge (``judge: {min_score: 2, backend: openai}`` in a qa/mcq split of the
spec); one request grades up to ``per_request`` pairs of one passage, requests are cached and
budgeted like every other, each scored row carries a ``racar:R-A-C-Ac-Re`` flag, and a row with
any criterion below ``min_score`` is dropped as ``judge-low-score``. Rows the judge did not
score (no reply, malformed reply) are kept and flagged ``judge-unscored``.
"""

from __future__ import annotations

from typing import Any

from ccpapers.builder.backend_choice import BackendPool, has_credentials, supports
from ccpapers.builder.backends.base import Reply
from ccpapers.builder.checks import parse_json_reply
from ccpapers.builder.generators.base import (
    GenContext,
    Outcome,
    Task,
    paper_meta,
    passage_request,
    reply_text,
)
from ccpapers.builder.prompts_loader import load_prompt
from ccpapers.builder.spec import SplitSpec
from ccpapers.config import ConfigError
from ccpapers.types import QUESTION_SPLITS, Record

CRITERIA = ("relevance", "agnosticism", "completeness", "accuracy", "reasonableness")


class RacarJudge:
    name = "judge"
    version = "1"

    def __init__(self, min_score: int = 2, per_request: int = 10, max_tokens: int = 1200, **_: Any) -> None:
        if min_score not in (1, 2, 3):
            raise ConfigError(f"judge.min_score={min_score}: choose 1, 2 or 3 (SciQAG's test set keeps 3)")
        self.min_score = min_score
        self.per_request = max(1, int(per_request))
        self.max_tokens = max_tokens
        self.prompt = load_prompt("judge.v1")

    @classmethod
    def from_option(cls, value: Any) -> RacarJudge | None:
        """The judge a split's ``judge:`` option asks for (``true`` or a mapping), or None."""
        if not value:
            return None
        opts = dict(value) if isinstance(value, dict) else {}
        opts.pop("backend", None)
        return cls(**opts)

    def plan(self, records: list[Record], sources: dict[str, Record], ctx: GenContext) -> list[Task]:
        by_source: dict[str, list[Record]] = {}
        for rec in sorted(records, key=lambda r: r.id):
            by_source.setdefault(rec.source_id or "", []).append(rec)
        tasks = []
        for source_id, group in by_source.items():
            src = sources.get(source_id)
            if src is None:
                continue
            meta = paper_meta(ctx.papers.get(src.doi))
            for i in range(0, len(group), self.per_request):
                chunk = group[i : i + self.per_request]
                pairs = "\n\n".join(
                    f"Pair {n}\nQuestion: {r.question}\nAnswer: {r.answer}" for n, r in enumerate(chunk, 1)
                )
                instruction = self.prompt.render(pairs=pairs, **meta)
                request = passage_request(self.prompt, src, instruction, self.max_tokens)
                tasks.append(Task(request, [src], 0, {"ids": [r.id for r in chunk]}, 30 * len(chunk)))
        return tasks

    def parse(self, task: Task, reply: Reply) -> dict[str, tuple[int, ...]]:
        """Record id -> the five scores, for every pair the reply graded completely."""
        obj, _ = parse_json_reply(reply_text(reply))
        items = obj.get("scores") if isinstance(obj, dict) else None
        ids = task.meta["ids"]
        out: dict[str, tuple[int, ...]] = {}
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("pair"), int):
                continue
            n = item["pair"]
            scores = [item.get(c) for c in CRITERIA]
            if 1 <= n <= len(ids) and all(isinstance(s, int) and 1 <= s <= 3 for s in scores):
                out[ids[n - 1]] = tuple(scores)  # type: ignore[arg-type]
        return out

    def apply(self, records: list[Record], scores: dict[str, tuple[int, ...]], out: Outcome) -> list[Record]:
        kept = []
        for rec in records:
            got = scores.get(rec.id)
            if got is None:
                rec.flags.append("judge-unscored")
                kept.append(rec)
                continue
            rec.flags.append("racar:" + "-".join(map(str, got)))
            if min(got) < self.min_score:
                low = ", ".join(f"{c} {s}" for c, s in zip(CRITERIA, got, strict=True) if s < self.min_score)
                out.drop("judge-low-score", f"{(rec.question or '')[:100]} ({low})")
                continue
            kept.append(rec)
        return kept


def judge_for(split: SplitSpec, main: str, pool: BackendPool) -> tuple[RacarJudge | None, Any, str | None]:
    """(judge, its backend, why not) for a qa/mcq split whose options ask for ``judge:``; the
    judge's backend is ``judge.backend`` of the spec, else the build's chat backend."""
    option = split.options.get("judge")
    judge = RacarJudge.from_option(option) if split.split in QUESTION_SPLITS else None
    if judge is None:
        return None, None, None
    name = (option.get("backend") if isinstance(option, dict) else None) or main
    if not supports(name, "chat") or not has_credentials(name):
        return None, None, f"the judge needs a language model backend (now {name})"
    return judge, pool.get(name), None


def summary(records: list[Record], judged: int) -> dict[str, Any]:
    """Scored rows, their mean per criterion, and how many went unscored."""
    scored = [r for r in records if any(f.startswith("racar:") for f in r.flags)]
    means = {}
    if scored:
        values = [tuple(int(x) for x in next(f for f in r.flags if f.startswith("racar:"))[6:].split("-"))
                  for r in scored]  # fmt: skip
        means = {c: round(sum(v[i] for v in values) / len(values), 3) for i, c in enumerate(CRITERIA)}
    return {"judged": judged, "kept_scored": len(scored), "unscored": sum("judge-unscored" in r.flags
            for r in records), "mean_kept": means}  # fmt: skip
