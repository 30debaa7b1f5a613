"""``run_bench``: score the base model, train (LoRA or full) per seed, score again, report gains.

Output folder ``WORK/bench/<run>/``: ``config.resolved.yaml``, ``results.jsonl`` (events
written as they happen: config, baseline answers, losses, epochs, predictions, timings,
summary), ``seed-<n>.json`` per finished seed (a re-run skips finished seeds) and
``summary.json``. Baseline answers are cached by content under ``WORK/bench/.baselines/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.evaluation import mean, paired_bootstrap, score_questions
from ccpapers.bench.results import (
    EventLog,
    environment_info,
    gather_all,
    read_result,
    summarize,
    trainable_checksum,
)
from ccpapers.bench.suites.base import Suite
from ccpapers.config import config_to_dict, write_resolved_config

log = logging.getLogger(__name__)


def make_accelerator() -> Any:
    """Single device, or the distributed setup of ``accelerate launch`` / ``torchrun``
    (on machines without CUDA: gloo over CPU processes)."""
    import torch
    from accelerate import Accelerator

    return Accelerator(cpu=not torch.cuda.is_available())


def _judge_rows(cfg: BenchConfig, questions: list, rows: list[dict[str, Any]]) -> None:
    """Add the optional LLM judge's 1-10 rating to open-question rows (parse failures: None)."""
    from ccpapers.bench.judge import Judge, backend_call

    judge = Judge(
        backend_call(cfg.judge, cfg.judge_model),
        cfg.judge_model or cfg.judge,
        Path(cfg.work) / "bench" / ".judge_cache",
    )
    by_id = {q.id: q for q in questions}
    for r in rows:
        q = by_id[r["id"]]
        if not q.is_mcq and q.answer:
            r.update(judge.rate(q.question, q.answer, r["prediction"]))


def load_suite(cfg: BenchConfig) -> Suite:
    from ccpapers.registry import SUITES

    if cfg.suite == "fictional":
        return SUITES.create("fictional", path=cfg.suite_file or None)
    if cfg.suite == "papers":
        return SUITES.create("papers", build=cfg.build, work=Path(cfg.work))
    if cfg.suite == "mmlu":
        return SUITES.create("mmlu", source=cfg.mmlu, subjects=cfg.mmlu_subjects, limit=cfg.mmlu_limit)
    return SUITES.create(cfg.suite)


def config_hash(cfg: BenchConfig, drop: tuple[str, ...] = ("run_name", "seeds", "work", "report_to")) -> str:
    d = {k: v for k, v in config_to_dict(cfg).items() if k not in drop}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


def default_run_name(cfg: BenchConfig) -> str:
    model = "tiny" if cfg.tiny else cfg.model_id().rstrip("/").split("/")[-1]
    return f"{cfg.suite}-{model}-{cfg.method}-t{cfg.texts_per_fact or 'all'}-i{cfg.n_irrelevant}-{config_hash(cfg)}"


def _mark_dev(questions: list, n_dev: int) -> list:
    """Hold out ``n_dev`` questions spread evenly over the list as the dev set."""
    if not n_dev:
        return questions
    step = max(1, len(questions) // n_dev)
    dev_idx = set(list(range(0, len(questions), step))[:n_dev])
    return [replace(q, split="dev") if i in dev_idx else q for i, q in enumerate(questions)]


def _tiny_texts(suite: Suite) -> list[str]:
    return [t for d in suite.documents for t in d.texts.values()] + [
        f"{q.question} {q.answer} {' '.join(q.keywords)}" for q in suite.questions
    ]


def _baseline(
    lm: Any, questions: list, mmlu: Suite | None, cfg: BenchConfig, acc: Any, cache: Path
) -> dict[str, Any]:
    from ccpapers.bench import progress

    key_data = {
        "model": lm.info,
        "prompt": [cfg.prompt, cfg.prompt_template, cfg.system_prompt],
        "max_new": cfg.max_new_tokens,
        "stop": [cfg.stop, cfg.stop_new_turn],
        "gen_batch": cfg.gen_batch_size,
        "q": [(q.id, q.question, q.answer, q.keywords, q.choices) for q in questions],
        "mmlu": [(q.id, q.question) for q in mmlu.questions] if mmlu else None,
        "shots": cfg.mmlu_shots,
        "tiny_vocab": len(lm.tokenizer) if cfg.tiny else None,
        "world": acc.num_processes,
    }
    path = cache / (
        hashlib.sha256(json.dumps(key_data, sort_keys=True, default=str).encode()).hexdigest()[:24] + ".json"
    )
    cached = read_result(path, ("rows", "mmlu"), "cached baseline answers") if path.is_file() else None
    if cached is not None:
        progress.say(f"baseline: cached answers ({path.name})")
        return cached | {"cached": True}
    progress.say("baseline: the base model answers every question")
    t0 = time.perf_counter()
    rows = score_questions(lm.model, lm.tokenizer, questions, cfg, acc)
    mm = (
        score_questions(lm.model, lm.tokenizer, mmlu.questions, cfg, acc, mmlu.shots, cfg.mmlu_shots)
        if mmlu
        else []
    )
    out = {"rows": rows, "mmlu": mm, "seconds": time.perf_counter() - t0}
    if acc.is_main_process:
        from ccpapers.io import write_json

        write_json(path, out)
    return out | {"cached": False}


def run_bench(
    cfg: BenchConfig, accelerator: Any = None, resident: Any = None, epoch_hook: Any = None
) -> dict[str, Any]:
    """Run one benchmark configuration (all seeds); returns the summary dict.

    ``resident``: an already loaded :class:`~ccpapers.bench.models.LoadedModel` to reuse
    (sweeps keep the base in memory; LoRA is removed and full fine-tuning restored after).
    ``epoch_hook(epoch, dev_score)``: called after each per-epoch evaluation (sweep pruning;
    it may raise to stop the run, the base model is restored all the same)."""
    from ccpapers.bench import progress
    from ccpapers.bench.threads import cpu_threads

    try:
        with cpu_threads(cfg):
            return _run_bench(cfg, accelerator, resident, epoch_hook)
    finally:
        progress.close_trackers()


def _run_bench(cfg: BenchConfig, accelerator: Any, resident: Any, epoch_hook: Any) -> dict[str, Any]:
    from accelerate.utils import set_seed

    from ccpapers.bench import progress
    from ccpapers.bench.models import is_peft, load_model, trainable_model
    from ccpapers.bench.packing import (
        drop_overlapping,
        load_irrelevant,
        pack,
        select_texts,
        text_rows,
        tokenize_texts,
    )
    from ccpapers.bench.training import train

    acc = accelerator or make_accelerator()
    cfg = cfg.for_device(cuda=acc.device.type == "cuda")
    cfg.validate()
    main = acc.is_main_process
    if not main:
        progress.configure(enabled=False)  # one process prints
    suite = load_suite(cfg)
    cfg.check_questions(len(suite.questions[: cfg.max_questions or None]))
    questions = _mark_dev(suite.questions[: cfg.max_questions or None], cfg.dev_questions)
    mmlu = None
    if cfg.forgetting and cfg.suite != "mmlu":
        from ccpapers.bench.suites.mmlu import load_mmlu

        mmlu = load_mmlu(cfg.mmlu, cfg.mmlu_subjects, cfg.mmlu_limit)
    pool = None
    if cfg.n_irrelevant:
        pool = (
            suite.irrelevant
            if (suite.irrelevant and not cfg.irrelevant)
            else load_irrelevant(cfg.irrelevant, Path(cfg.work))
        )
        clean = drop_overlapping(pool, suite)
        if len(clean) < len(pool):
            log.warning(
                "irrelevant texts: dropped %d of %d that name a keyword of the suite's questions",
                len(pool) - len(clean),
                len(pool),
            )
        pool = clean
    out_dir = Path(cfg.work) / "bench" / (cfg.run_name or default_run_name(cfg))
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_resolved_config(cfg, out_dir)
    events = EventLog(out_dir / "results.jsonl", main)
    progress.open_trackers(cfg, out_dir)
    if cfg.tiny and main:
        from ccpapers.bench.tiny import TINY_WARNING

        log.warning(TINY_WARNING)
    t_load = time.perf_counter()
    # under FSDP, accelerator.prepare shards and places the model; elsewhere load it on the device
    device = None if acc.distributed_type.name == "FSDP" else acc.device
    lm = resident or load_model(cfg, _tiny_texts(suite) if cfg.tiny else None, device=device)
    load_s = time.perf_counter() - t_load
    progress.say(
        f"run {out_dir.name}: suite {cfg.suite} ({len(questions)} questions), model {cfg.model_id()} "
        f"({lm.info['params']:,} params, {lm.info['dtype']}), {cfg.method}, {cfg.epochs} epochs, "
        f"seeds {list(cfg.seeds)}; loaded in {progress.duration(load_s)}"
    )
    events(
        "config",
        config=config_to_dict(cfg),
        suite=suite.summary(),
        model=lm.info,
        world_size=acc.num_processes,
        tiny_warning=cfg.tiny,
        environment=environment_info(),
        mcq_protocol=f"lm-eval-harness style: plain prompt, {cfg.mmlu_shots}-shot (MMLU), argmax loglik of ' A'..",
    )
    base = _baseline(lm, questions, mmlu, cfg, acc, Path(cfg.work) / "bench" / ".baselines")
    base_by_id = {r["id"]: r for r in base["rows"]}
    for r in base["rows"]:
        events("baseline", **r)
    for r in base["mmlu"]:
        events("baseline_mmlu", **r)
    base_test = [r["score"] for r in base["rows"] if r["split"] == "test"]
    base_mmlu = mean([r["score"] for r in base["mmlu"]]) if mmlu else None

    seed_results: list[dict[str, Any]] = []
    for seed in cfg.seeds:
        seed_file = out_dir / f"seed-{seed}.json"
        done = (
            read_result(seed_file, ("seed", "score", "gain"), f"seed {seed}") if seed_file.is_file() else None
        )
        if done is not None:
            progress.say(f"seed {seed}: finished earlier ({seed_file.name}), skipped")
            seed_results.append(done)
            continue
        set_seed(seed)
        texts = select_texts(suite, cfg.texts_per_fact, cfg.variants, cfg.n_irrelevant, pool, seed)
        if not texts and cfg.epochs:
            from ccpapers.config import ConfigError

            raise ConfigError(f"suite {cfg.suite!r} gives no training texts with this config")
        packed = None
        if texts:
            docs = tokenize_texts(lm.tokenizer, [t.text for t in texts])
            packed = (
                text_rows(docs, cfg.seq_len)
                if cfg.schedule == "text"
                else pack(docs, cfg.seq_len, lm.tokenizer.pad_token_id or 0)
            )
        train_now = bool(cfg.epochs and packed)
        if train_now:
            progress.say(
                f"seed {seed}: training on {len(texts)} texts ({packed.n_tokens:,} tokens in {len(packed)} rows "
                f"of {cfg.seq_len})"
            )
        with trainable_model(lm, cfg, train_now) as model:
            dev_q = [q for q in questions if q.split == "dev"] or (questions if cfg.eval_each_epoch else [])

            def on_epoch(epoch: int, m: Any, seed: int = seed, dev_q: list = dev_q) -> float | None:
                if not dev_q or not (cfg.eval_each_epoch or cfg.early_stopping):
                    return None
                rows = score_questions(m, lm.tokenizer, dev_q, cfg, acc)
                s = mean([r["score"] for r in rows])
                events(
                    "epoch_eval",
                    seed=seed,
                    epoch=epoch,
                    dev_score=s,
                    split="dev" if cfg.dev_questions else "all",
                )
                if epoch_hook is not None:
                    epoch_hook(epoch, s)
                return s

            t0 = time.perf_counter()
            hist = {
                "losses": [],
                "epochs": [],
                "steps": 0,
                "train_tokens": 0,
                "tokens_per_second": 0.0,
                "model": model,
            }
            if train_now:
                hist = train(
                    model,
                    packed,
                    cfg,
                    acc,
                    lm.attention,
                    seed,
                    lm.info["matmul_params"],
                    on_epoch,
                    lambda rec, seed=seed: events("loss", seed=seed, **rec),
                )
            model = hist.pop("model")
            checksums = gather_all(acc, trainable_checksum(model)) if train_now else []
            if cfg.save_adapter and train_now and is_peft(model) and main:
                # the vocabulary is unchanged: do not write a copy of the base lm_head/embeddings
                model.save_pretrained(out_dir / f"adapter-seed{seed}", save_embedding_layers=False)
            train_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            rows = score_questions(model, lm.tokenizer, questions, cfg, acc)
            mm_rows = (
                score_questions(model, lm.tokenizer, mmlu.questions, cfg, acc, mmlu.shots, cfg.mmlu_shots)
                if mmlu
                else []
            )
            eval_s = time.perf_counter() - t1
            if cfg.judge and main:
                _judge_rows(cfg, questions, rows)
            for r in rows:
                b = base_by_id[r["id"]]
                events(
                    "prediction",
                    seed=seed,
                    **r,
                    base_prediction=b["prediction"],
                    base_score=b["score"],
                    gain=r["score"] - b["score"],
                )
            base_mm = {r["id"]: r for r in base["mmlu"]}
            for r in mm_rows:
                b = base_mm[r["id"]]
                events(
                    "mmlu_prediction", seed=seed, **r, base_prediction=b["prediction"], base_score=b["score"]
                )
            test = [r["score"] for r in rows if r["split"] == "test"]
            test_base = [base_by_id[r["id"]]["score"] for r in rows if r["split"] == "test"]
            uncut = [r.get("score_uncut", r["score"]) for r in rows if r["split"] == "test"]
            res = {
                "seed": seed,
                "score": mean(test),
                "gain": mean(test) - mean(base_test),
                "score_uncut": mean(uncut),  # answers not cut at the stop strings (issue 11)
                "dev_score": mean([r["score"] for r in rows if r["split"] == "dev"])
                if cfg.dev_questions
                else None,
                "mmlu": mean([r["score"] for r in mm_rows]) if mmlu else None,
                "test_scores": test,
                "n_texts": len(texts),
                "n_target_texts": sum(t.group == "target" for t in texts),
                "n_documents": len(suite.documents),
                "gain_items_ci": paired_bootstrap(test, test_base, seed=seed),
                "data_hash": hashlib.sha256("\x00".join(t.text for t in texts).encode()).hexdigest()[:16],
                "trainable_checksums": checksums,
                "judge": mean([r["judge_rating"] for r in rows if r.get("judge_rating") is not None])
                if cfg.judge
                else None,
                "n_rows": len(packed) if packed else 0,
                "train_seconds": train_s,
                "eval_seconds": eval_s,
                **{k: v for k, v in hist.items() if k not in ("losses",)},
            }
            if mmlu:
                res["mmlu_gain"] = res["mmlu"] - base_mmlu
                res["mmlu_gain_items_ci"] = paired_bootstrap(
                    [r["score"] for r in mm_rows], [r["score"] for r in base["mmlu"]], seed=seed
                )
            events("seed_result", **res)
            if main:
                from ccpapers.io import write_json

                write_json(seed_file, res)
            seed_results.append(res)
        acc.free_memory()

    summary = summarize(cfg, seed_results, base_test, base_mmlu, base, load_s, lm.info)
    events("summary", **summary)
    events.close()
    progress.track_summary(summary)
    if main:
        from ccpapers.bench.export import write_lm_eval_results
        from ccpapers.io import write_json

        write_json(out_dir / "summary.json", summary)
        write_lm_eval_results(out_dir, cfg, summary, suite, seed_results, base_test)
    summary["out_dir"] = str(out_dir)
    return summary
