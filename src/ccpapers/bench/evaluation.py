"""Score a model on a suite's questions: open questions by greedy generation and a text
scorer, multiple choice by log-likelihood. Under several processes each rank answers its
share and the results are gathered (FSDP ranks generate in lock-step, ``synced_gpus``)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.stats import mean, mean_ci, paired_bootstrap  # noqa: F401 - re-exported
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
    import time

    from ccpapers.bench import progress
    from ccpapers.bench.generation import answer_questions
    from ccpapers.bench.mcq import choose
    from ccpapers.bench.models import merged_lora

    t0 = time.perf_counter()

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
        with (
            progress.task(len(mine), "answer", "q"),
            merged_lora(model, cfg.merge_for_eval and not fsdp),
            precision(),
        ):
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
        with progress.task(len(mine), "multiple choice", "q"), precision():
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
    out = [rows[q.id] for q in questions]
    kinds = sorted({r["scorer"] for r in out})
    progress.say(
        f"  scored {len(out)} questions ({', '.join(kinds)}) in {progress.duration(time.perf_counter() - t0)}: "
        f"mean {mean([r['score'] for r in out]):.3f}"
    )
    for r in out:
        progress.say(f"    {r['id']}: {r['prediction']!r} -> {r['score']:.3f}", level=2)
    return out
