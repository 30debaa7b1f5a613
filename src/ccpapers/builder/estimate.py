"""``ccpapers build --estimate``: calls, tokens and cost of the uncached requests, per split."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccpapers.builder.backend_choice import BackendPool
from ccpapers.builder.engine import Engine, Job
from ccpapers.builder.judge import judge_for
from ccpapers.builder.spec import BuildSpec
from ccpapers.builder.tokens import typical_tokens, upper_bound_tokens

if TYPE_CHECKING:
    from ccpapers.builder.plan import SplitPlan

FIELDS = ("calls", "input_tokens", "output_tokens", "characters", "cost_usd")


def judge_estimates(plans: list[SplitPlan], main: str, pool: BackendPool) -> list[Job]:
    """One judge request per generation request of each judged split (the pairs are not known
    yet, so sizes come from the passage and the number of pairs the generator asks for)."""
    out = []
    for plan in plans:
        split = plan.split
        judge, backend, _ = judge_for(split, main, pool)
        if judge is None or not plan.generator.needs_backend:  # rows made by rule: not estimated
            continue
        pairs = int(getattr(plan.generator, "per_passage", 5))
        for i, task in enumerate(plan.tasks):
            passage = getattr(task.request, "context", "") or ""
            out.append(Job(key=f"judge-estimate-{split.split}-{i}", backend=backend, payload={},
                           est_input=typical_tokens(passage) + 400 + 60 * pairs, est_output=30 * pairs,
                           max_output=judge.max_tokens, label=f"{split.split}/judge",
                           max_input=upper_bound_tokens(passage) + 1200 + 200 * pairs))  # fmt: skip
    return out


def estimate_report(
    engine: Engine, jobs: list[Job], spec: BuildSpec, main: str, cannot: dict[str, str]
) -> dict[str, Any]:
    cached, todo = engine.split_cached(jobs)
    by_split: dict[str, dict[str, float]] = {}
    for j in todo:
        row = by_split.setdefault(j.label, dict.fromkeys(FIELDS, 0))
        row["calls"] += 1
        row["input_tokens"] += j.est_input
        row["output_tokens"] += j.est_output
        row["characters"] += j.est_chars
        row["cost_usd"] += engine.expected_cost(j)
    total = {k: sum(r[k] for r in by_split.values()) for k in FIELDS}
    unpriced = sorted({j.backend.model for j in todo if not engine.prices.known(j.backend.model)})
    return {
        "spec": spec.name,
        "estimate": True,
        "backend": main,
        "cached": len(cached),
        "by_split": by_split,
        "total": total,
        "max_cost_bound_usd": round(sum(engine.upper_cost(j) for j in todo), 6),
        "unpriced_models": unpriced,
        "cannot_make": cannot,
    }
