"""One seed of a bench run: pick and pack the training texts, train, answer again, score the gain.

A finished seed leaves ``seed-<n>.json`` in the run folder; a re-run reads it back instead of
training again (a damaged file is set aside and the seed recomputed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.evaluation import mean, paired_bootstrap, score_questions
from ccpapers.bench.inputs import BenchInputs
from ccpapers.bench.results import EventLog, gather_all, read_result, trainable_checksum
from ccpapers.config import ConfigError


@dataclass
class BenchRun:
    """What every seed of one run shares."""

    cfg: BenchConfig
    acc: Any
    inputs: BenchInputs
    out_dir: Path
    events: EventLog
    lm: Any  # LoadedModel
    sharded: Any  # under FSDP: the wrapped model every seed trains
    snapshot: Any  # under FSDP with full fine-tuning and several seeds: the base shards
    base: dict[str, Any]  # the base model's answers (baseline_answers)
    epoch_hook: Callable[[int, float], None] | None = None
    trained_before: bool = False

    @property
    def main(self) -> bool:
        return bool(self.acc.is_main_process)


def run_seed(run: BenchRun, seed: int) -> dict[str, Any]:
    """The seed's result (read back when an earlier run finished it)."""
    from accelerate.utils import set_seed

    from ccpapers.bench import progress

    seed_file = run.out_dir / f"seed-{seed}.json"
    done = read_result(seed_file, ("seed", "score", "gain"), f"seed {seed}") if seed_file.is_file() else None
    if done is not None:
        progress.say(f"seed {seed}: finished earlier ({seed_file.name}), skipped")
        return done
    set_seed(seed)
    cfg = run.cfg
    texts, packed = training_rows(run, seed)
    train_now = bool(cfg.epochs and packed)
    if train_now:
        progress.say(
            f"seed {seed}: training on {len(texts)} texts ({packed.n_tokens:,} tokens in {len(packed)} rows "
            f"of {cfg.seq_len})"
        )
    if run.sharded is not None and run.trained_before:
        from ccpapers.bench.distributed import reset_between_seeds

        reset_between_seeds(run.sharded, cfg, seed, run.snapshot)
    run.trained_before = run.trained_before or train_now
    with _model_for_seed(run, train_now) as model:
        t0 = time.perf_counter()
        model, record = _train(run, model, packed, seed) if train_now else (model, _untrained())
        checksums = gather_all(run.acc, trainable_checksum(model)) if train_now else []
        _save_adapter(run, model, seed, train_now)
        train_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        rows, mm_rows = _answer(run, model)
        eval_s = time.perf_counter() - t1
        if cfg.judge and run.main:
            from ccpapers.bench.judge import judge_rows

            run.events("judge_usage", seed=seed, **judge_rows(cfg, run.inputs.questions, rows))
        _log_predictions(run, seed, rows, mm_rows)
        res = seed_result(run, seed, texts, packed, rows, mm_rows, checksums, record, train_s, eval_s)
        run.events("seed_result", **res)
        if run.main:
            from ccpapers.io import write_json

            write_json(seed_file, res)
    run.acc.free_memory()
    return res


def _untrained() -> dict[str, Any]:
    """What an untrained seed reports in place of the training record."""
    return {"losses": [], "epochs": [], "steps": 0, "train_tokens": 0, "tokens_per_second": 0.0}


def training_rows(run: BenchRun, seed: int) -> tuple[list[Any], Any]:
    """(the texts this seed trains on, their rows: one per text or packed to ``seq_len``)."""
    from ccpapers.bench.packing import pack, select_texts, text_rows, tokenize_texts

    cfg, inputs = run.cfg, run.inputs
    texts = select_texts(inputs.suite, cfg.texts_per_fact, cfg.variants, cfg.n_irrelevant, inputs.pool, seed)
    if not texts and cfg.epochs:
        raise ConfigError(f"suite {cfg.suite!r} gives no training texts with this config")
    if not texts:
        return texts, None
    docs = tokenize_texts(run.lm.tokenizer, [t.text for t in texts])
    if cfg.schedule == "text":
        return texts, text_rows(docs, cfg.seq_len)
    return texts, pack(docs, cfg.seq_len, run.lm.tokenizer.pad_token_id or 0)


def _model_for_seed(run: BenchRun, train_now: bool) -> Any:
    """The model this seed trains and answers with, as a context (LoRA adapters are removed and
    full fine-tuning restored on leaving; under FSDP the wrapped model, reset between seeds)."""
    from ccpapers.bench.models import trainable_model

    if run.sharded is not None:
        return nullcontext(run.sharded)
    return trainable_model(run.lm, run.cfg, train_now)


def _train(run: BenchRun, model: Any, packed: Any, seed: int) -> tuple[Any, dict[str, Any]]:
    from ccpapers.bench.training import fit

    res = fit(
        model,
        packed,
        run.cfg,
        run.acc,
        run.lm.attention,
        seed,
        run.lm.info["matmul_params"],
        _epoch_eval(run, seed),
        lambda rec: run.events("loss", seed=seed, **rec),
    )
    return res.model, res.record


def _epoch_eval(run: BenchRun, seed: int) -> Callable[[int, Any], float | None]:
    """After each epoch: the dev score (dev questions, or all with ``eval_each_epoch``), logged
    and passed to the sweep's pruning hook; None when nothing is evaluated per epoch."""
    cfg, questions = run.cfg, run.inputs.questions
    dev_q = [q for q in questions if q.split == "dev"] or (questions if cfg.eval_each_epoch else [])

    def on_epoch(epoch: int, model: Any) -> float | None:
        if not dev_q or not (cfg.eval_each_epoch or cfg.early_stopping):
            return None
        rows = score_questions(model, run.lm.tokenizer, dev_q, cfg, run.acc)
        s = mean([r["score"] for r in rows])
        split = "dev" if cfg.dev_questions else "all"
        run.events("epoch_eval", seed=seed, epoch=epoch, dev_score=s, split=split)
        if run.epoch_hook is not None:
            run.epoch_hook(epoch, s)
        return s

    return on_epoch


def _save_adapter(run: BenchRun, model: Any, seed: int, train_now: bool) -> None:
    from ccpapers.bench.models import is_peft

    if run.cfg.save_adapter and train_now and is_peft(model) and run.main:
        # the vocabulary is unchanged: do not write a copy of the base lm_head/embeddings
        model.save_pretrained(run.out_dir / f"adapter-seed{seed}", save_embedding_layers=False)


def _answer(run: BenchRun, model: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the suite's questions answered and scored, the MMLU check's items scored)."""
    cfg, tok, mmlu = run.cfg, run.lm.tokenizer, run.inputs.mmlu
    rows = score_questions(model, tok, run.inputs.questions, cfg, run.acc)
    mm_rows = (
        score_questions(model, tok, mmlu.questions, cfg, run.acc, mmlu.shots, cfg.mmlu_shots) if mmlu else []
    )
    return rows, mm_rows


def _log_predictions(
    run: BenchRun, seed: int, rows: list[dict[str, Any]], mm_rows: list[dict[str, Any]]
) -> None:
    base_by_id = {r["id"]: r for r in run.base["rows"]}
    for r in rows:
        b = base_by_id[r["id"]]
        run.events(
            "prediction",
            seed=seed,
            **r,
            base_prediction=b["prediction"],
            base_score=b["score"],
            gain=r["score"] - b["score"],
        )
    base_mm = {r["id"]: r for r in run.base["mmlu"]}
    for r in mm_rows:
        b = base_mm[r["id"]]
        run.events("mmlu_prediction", seed=seed, **r, base_prediction=b["prediction"], base_score=b["score"])


def seed_result(
    run: BenchRun,
    seed: int,
    texts: list[Any],
    packed: Any,
    rows: list[dict[str, Any]],
    mm_rows: list[dict[str, Any]],
    checksums: list[Any],
    record: dict[str, Any],
    train_s: float,
    eval_s: float,
) -> dict[str, Any]:
    """The seed's scores against the base model's, with what it trained on and how fast."""
    cfg, base, mmlu = run.cfg, run.base, run.inputs.mmlu
    base_by_id = {r["id"]: r for r in base["rows"]}
    base_test = [r["score"] for r in base["rows"] if r["split"] == "test"]
    test = [r["score"] for r in rows if r["split"] == "test"]
    test_base = [base_by_id[r["id"]]["score"] for r in rows if r["split"] == "test"]
    uncut = [r.get("score_uncut", r["score"]) for r in rows if r["split"] == "test"]
    res = {
        "seed": seed,
        "score": mean(test),
        "gain": mean(test) - mean(base_test),
        "score_uncut": mean(uncut),  # answers not cut at the stop strings (issue 11)
        "dev_score": mean([r["score"] for r in rows if r["split"] == "dev"]) if cfg.dev_questions else None,
        "mmlu": mean([r["score"] for r in mm_rows]) if mmlu else None,
        "test_scores": test,
        "n_texts": len(texts),
        "n_target_texts": sum(t.group == "target" for t in texts),
        "n_documents": len(run.inputs.suite.documents),
        "gain_items_ci": paired_bootstrap(test, test_base, seed=seed),
        "data_hash": hashlib.sha256("\x00".join(t.text for t in texts).encode()).hexdigest()[:16],
        "trainable_checksums": checksums,
        "judge": mean([r["judge_rating"] for r in rows if r.get("judge_rating") is not None])
        if cfg.judge
        else None,
        "n_rows": len(packed) if packed else 0,
        "train_seconds": train_s,
        "eval_seconds": eval_s,
        **{k: v for k, v in record.items() if k not in ("losses",)},
    }
    if mmlu:
        base_mmlu = mean([r["score"] for r in base["mmlu"]])
        res["mmlu_gain"] = res["mmlu"] - base_mmlu
        res["mmlu_gain_items_ci"] = paired_bootstrap(
            [r["score"] for r in mm_rows], [r["score"] for r in base["mmlu"]], seed=seed
        )
    return res
