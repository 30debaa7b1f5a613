"""Score a model on a suite's questions: open questions by greedy generation and a text
scorer, multiple choice by log-likelihood. Under several processes each rank answers its
share and the results are gathered (FSDP ranks generate in lock-step, ``synced_gpus``)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.suites.base import Question

_SCORERS: dict[str, Any] = {}


def scorer(name: str) -> Any:
    if name not in _SCORERS:
        from ccpapers.registry import SCORERS

        _SCORERS[name] = SCORERS.create(name)
    return _SCORERS[name]


def _shard(items: list[Any], accelerator: Any) -> tuple[list[Any], int]:
    """This rank's slice of ``items``, padded so every rank has the same count."""
    if accelerator is None or accelerator.num_processes == 1:
        return items, len(items)
    n = accelerator.num_processes
    per = -(-len(items) // n) if items else 0
    padded = items + [items[-1]] * (per * n - len(items)) if items else []
    return padded[accelerator.process_index * per : (accelerator.process_index + 1) * per], len(items)


def _gather(rows: list[Any], total: int, accelerator: Any) -> list[Any]:
    if accelerator is None or accelerator.num_processes == 1:
        return rows
    from accelerate.utils import gather_object

    return list(gather_object(rows))[:total]


def score_questions(
    model: Any,
    tokenizer: Any,
    questions: list[Question],
    cfg: BenchConfig,
    accelerator: Any = None,
    shots: dict[str, list[Question]] | None = None,
    n_shots: int = 0,
) -> list[dict[str, Any]]:
    """One row per question: id, prediction, score (0..1) and scorer name, in input order."""
    from ccpapers.bench.generation import answer_questions
    from ccpapers.bench.mcq import choose
    from ccpapers.bench.models import merged_lora

    open_q = [q for q in questions if not q.is_mcq]
    mcq_q = [q for q in questions if q.is_mcq]
    # FSDP ranks hold shards: they must step through generate() together. Adapters are not
    # merged into FSDP's flattened weights, and the forward runs under the launch's autocast
    # (FSDP-managed weights and the activations feeding them may differ in dtype).
    fsdp = accelerator is not None and accelerator.distributed_type.name == "FSDP"
    synced = fsdp and accelerator.num_processes > 1
    precision = accelerator.autocast if fsdp else nullcontext
    rows: dict[str, dict[str, Any]] = {}
    if open_q:
        mine, total = _shard(open_q, accelerator)
        with merged_lora(model, cfg.merge_for_eval and not fsdp), precision():
            answers = answer_questions(model, tokenizer, mine, cfg, synced_gpus=synced) if mine else []
        pairs = _gather(list(zip([q.id for q in mine], answers, strict=True)), total, accelerator)
        by_id = dict(pairs)
        for q in open_q:
            pred, raw = by_id[q.id]
            ref = q.keywords if q.scorer == "keywords" else q.answer
            score = scorer(q.scorer)(pred, ref)
            rows[q.id] = {
                "id": q.id,
                "doc_id": q.doc_id,
                "scorer": q.scorer,
                "prediction": pred,
                "score": score,
                "split": q.split,
                # the continuation without stop strings: how much an invented continuation would earn
                "uncut": raw if raw != pred else None,
                "score_uncut": scorer(q.scorer)(raw, ref) if raw != pred else score,
            }
    if mcq_q:
        mine, total = _shard(mcq_q, accelerator)
        with precision():
            res = choose(model, tokenizer, mine, shots, n_shots, cfg.mcq_batch_size) if mine else []
        got = _gather([(q.id, r) for q, r in zip(mine, res, strict=True)], total, accelerator)
        by_id = dict(got)
        for q in mcq_q:
            r = by_id[q.id]
            rows[q.id] = {
                "id": q.id,
                "doc_id": q.doc_id,
                "scorer": "mcq-loglik",
                "prediction": "ABCDEFGHIJ"[r["choice"]],
                "score": scorer("mcq-loglik")(r["choice"], q.answer_index),
                "loglik": r["loglik"],
                "subject": q.subject,
                "split": q.split,
            }
    return [rows[q.id] for q in questions]


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def mean_ci(xs: list[float], level: float = 0.95) -> dict[str, float]:
    """Mean, sample SD and a t-based confidence interval (half-width 0 for one value)."""
    import math

    n = len(xs)
    m = mean(xs)
    if n < 2:
        return {"mean": m, "sd": 0.0, "ci_low": m, "ci_high": m, "n": n}
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    try:
        from scipy.stats import t

        q = float(t.ppf(0.5 + level / 2, n - 1))
    except ImportError:  # t quantiles for 95 %, n-1 = 1..10, else normal
        q = (
            [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228][n - 2]
            if n <= 11
            else 1.96
        )
    h = q * sd / math.sqrt(n)
    return {"mean": m, "sd": sd, "ci_low": m - h, "ci_high": m + h, "n": n}


def paired_bootstrap(
    after: list[float], before: list[float], n: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Item-level paired bootstrap of mean(after - before): a CI for the gain of one seed
    (questions resampled with replacement, both scores of an item kept together)."""
    import random

    diffs = [a - b for a, b in zip(after, before, strict=True)]
    if not diffs:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    rng = random.Random(seed)
    k = len(diffs)
    means = sorted(sum(diffs[rng.randrange(k)] for _ in range(k)) / k for _ in range(n))
    lo = means[int((1 - level) / 2 * n)]
    hi = means[min(n - 1, int((1 + level) / 2 * n))]
    return {"mean": sum(diffs) / k, "ci_low": lo, "ci_high": hi}
