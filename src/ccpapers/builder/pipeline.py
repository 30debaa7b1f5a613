"""``run_build(cfg)``: papers -> text splits -> generated splits -> Parquet + report.

Read top to bottom: keep the licensed papers, cut their text splits, plan each generated split
(:mod:`ccpapers.builder.plan`), have the engine answer the requests (each reply cached as it
comes, so an interrupted build resumes without paying twice), then collect, judge and write each
split, and the report last.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from ccpapers.builder.backend_choice import BackendPool, estimate_backend, keys_assumed, main_backend_name
from ccpapers.builder.cache import ReplyCache
from ccpapers.builder.config import BuildConfig
from ccpapers.builder.cost import PriceTable
from ccpapers.builder.engine import Engine
from ccpapers.builder.estimate import estimate_report, judge_estimates
from ccpapers.builder.generators.base import GenContext, Outcome
from ccpapers.builder.judge import RacarJudge, judge_for
from ccpapers.builder.judge import summary as judge_summary
from ccpapers.builder.ledger import SpendLedger
from ccpapers.builder.limits import RetryPolicy
from ccpapers.builder.plan import BuildPlan, Drops, SplitPlan, make_job, model_name, plan_splits
from ccpapers.builder.records_io import write_split
from ccpapers.builder.spec import BuildSpec, load_spec
from ccpapers.builder.splits import group_of, text_records
from ccpapers.config import ConfigError, write_resolved_config
from ccpapers.io import read_records, write_json
from ccpapers.licenses import LicensePolicy, id_url_conflict
from ccpapers.types import GENERATED_SPLITS, TEXT_SPLITS, Paper, Record

log = logging.getLogger(__name__)
ALL_SPLITS = TEXT_SPLITS + GENERATED_SPLITS
PART = "part-00000.parquet"


def load_papers(cfg: BuildConfig) -> list[Paper]:
    path = Path(cfg.papers) if cfg.papers else Path(cfg.work) / "papers" / "papers.parquet"
    if not path.exists():
        raise ConfigError(
            f"papers file {path} not found: run `ccpapers crawl` first, or pass --papers FILE (.jsonl/.parquet)"
        )
    try:
        papers = list(read_records(path, Paper))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"papers file {path} could not be read as Paper records: {exc}") from exc
    return papers[: cfg.limit] if cfg.limit else papers


def licensed_papers(papers: list[Paper], drops: Drops) -> list[Paper]:
    """The papers under a known CC licence whose licence URL agrees with it (the others counted)."""
    policy = LicensePolicy("all")
    kept: list[Paper] = []
    for p in papers:
        ok, reason = policy.check(p)
        conflict = id_url_conflict(p.license.hub_id, p.license.url) if ok else None
        if ok and not conflict:
            kept.append(p)
        else:
            drops.add("papers", "license-url-mismatch" if conflict else reason, f"{p.doi}: {conflict or ''}")
    return kept


def text_splits(papers: list[Paper], fraction: float, spec: BuildSpec, drops: Drops) -> list[Record]:
    text: list[Record] = []
    for p in papers:
        text.extend(text_records(p, fraction, spec.max_words, tuple(spec.text_splits), drops.counts))
    return text


def main_backend(cfg: BuildConfig, spec: BuildSpec) -> str:
    """The build's backend; ``--estimate`` prices what the spec would use once its keys are set."""
    if cfg.estimate:
        return estimate_backend(cfg.backend, spec.backend, spec.models)
    return main_backend_name(cfg.backend, spec.backend)[0]


def make_engine(cfg: BuildConfig, spec: BuildSpec) -> tuple[Engine, SpendLedger]:
    ledger = SpendLedger(cfg.work, spec.name)
    if cfg.reset_budget and not cfg.estimate:
        ledger.reset()
    engine = Engine(
        ReplyCache(Path(cfg.work) / "cache" / "llm"),
        PriceTable.load(cfg.prices),
        concurrency=cfg.concurrency,
        rpm=cfg.rpm or spec.rpm,
        tpm=cfg.tpm or spec.tpm,
        max_cost=cfg.max_cost,
        retry=RetryPolicy(retries=cfg.retries),
        batch=cfg.batch,
        batch_poll=cfg.batch_poll,
        progress=cfg.progress,
        timeout=cfg.timeout,
        ledger=ledger,
    )
    return engine, ledger


def estimate(
    cfg: BuildConfig, spec: BuildSpec, planned: BuildPlan, engine: Engine, main: str, pool: BackendPool
) -> dict[str, Any]:
    """``--estimate``: what the uncached requests (and their judging) would cost; nothing is sent."""
    jobs = planned.jobs + judge_estimates(planned.plans, main, pool)
    assumed = keys_assumed({j.backend.name for j in jobs} | ({main} - {"offline"}))
    spent = {"spent_usd": round(engine.spent_before, 6), "max_cost_usd": cfg.max_cost}
    return {
        **estimate_report(engine, jobs, spec, main, planned.cannot),
        "assumed_keys": assumed,
        "budget": spent,
    }


def write_text_splits(
    out_dir: Path, spec: BuildSpec, text: list[Record], planned: BuildPlan
) -> dict[str, int]:
    """Write the text splits; a split this run does not make must not linger from an older run."""
    by_split: dict[str, list[Record]] = {}
    for r in text:
        by_split.setdefault(r.split, []).append(r)
    written = {name: write_split(out_dir / name / PART, by_split.get(name, [])) for name in spec.text_splits}
    for stale in ALL_SPLITS:
        if stale not in spec.text_splits and stale not in planned.splits:
            shutil.rmtree(out_dir / stale, ignore_errors=True)
    return written


def collect(plan: SplitPlan, results: dict[str, Any], engine: Engine) -> Outcome:
    """The split's rows from its replies (a task without a reply is counted as dropped)."""
    outcome = Outcome()
    parsed: list[Record] = []
    jobs = plan.jobs if plan.generator.needs_backend else [None] * len(plan.tasks)
    for task, job in zip(plan.tasks, jobs, strict=True):
        reply = None
        if job is not None:
            entry = results.get(job.key)
            if entry is None:
                outcome.drop(f"no-reply:{engine.failed_keys.get(job.key, 'unknown')}", task.sources[0].id)
                continue
            reply = plan.backend.parse(entry["raw"])
        part = plan.generator.parse(task, reply, plan.ctx)
        parsed.extend(part.records)
        outcome.drops.extend(part.drops)
    final = plan.generator.finalize(parsed, None)
    outcome.records = final.records
    outcome.drops.extend(final.drops)
    return outcome


def judge_split(
    plan: SplitPlan, outcome: Outcome, main: str, pool: BackendPool, text: list[Record],
    by_doi: dict[str, Paper], spec: BuildSpec, engine: Engine,
) -> dict[str, Any] | None:  # fmt: skip
    """Have the judge the split asks for grade its rows (the low ones leave ``outcome``); what it
    did for the report, or why it could not, or None when no judge was asked for."""
    judge, backend, why = judge_for(plan.split, main, pool)
    if judge is not None and outcome.records:
        outcome.records, info = _run_judge(judge, backend, outcome, text, by_doi, spec, engine)
        return info
    if why and plan.split.options.get("judge"):
        return {"skipped": why}
    return None


def generator_info(plan: SplitPlan) -> dict[str, Any]:
    """What made the split, for the report (and the dataset card)."""
    gen, backend = plan.generator, plan.backend
    prompt = getattr(gen, "prompt", None)
    return {
        "generator": gen.name,
        "version": gen.version,
        "prompt": prompt.version_tag if prompt is not None and backend is not None else None,
        "backend": backend.name if backend else "offline",
        "model": model_name(backend) if backend else "none",
        "requests": len(plan.jobs),
        "structured_output": getattr(backend, "structured_output", None),
        "structured_output_changes": list(getattr(backend, "mode_changes", [])),
    }


def run_build(cfg: BuildConfig) -> dict[str, Any]:
    """Build every split of ``cfg.spec``; returns the report (also written as report.json)."""
    started = time.time()
    spec: BuildSpec = load_spec(cfg.spec)
    papers = load_papers(cfg)
    fraction = cfg.target_fraction if cfg.target_fraction >= 0 else spec.target_fraction
    drops = Drops()
    kept = licensed_papers(papers, drops)
    by_doi = {p.doi: p for p in kept}
    text = text_splits(kept, fraction, spec, drops)
    main = main_backend(cfg, spec)
    pool = BackendPool(main, cfg.model, spec.models, cfg.timeout, state_dir=Path(cfg.work) / "cache" / "llm")
    planned = plan_splits(spec, cfg, text, by_doi, main, pool, drops)
    engine, ledger = make_engine(cfg, spec)
    if cfg.estimate:
        return estimate(cfg, spec, planned, engine, main, pool)

    results = engine.run(planned.jobs)
    out_dir = Path(cfg.work) / "builds" / spec.name
    written = write_text_splits(out_dir, spec, text, planned)
    generators: dict[str, Any] = {}
    judged: dict[str, Any] = {}
    for plan in planned.plans:
        name = plan.split.split
        outcome = collect(plan, results, engine)
        verdict = judge_split(plan, outcome, main, pool, text, by_doi, spec, engine)
        if verdict is not None:
            judged[name] = verdict
        drops.merge(name, outcome)
        written[name] = write_split(out_dir / name / PART, outcome.records)
        generators[name] = generator_info(plan)

    stats = engine.stats.to_dict()
    report = {
        "spec": spec.name,
        "spec_path": str(spec.path),
        "papers": len(papers),
        "papers_used": len(kept),
        "groups": {
            g: sum(1 for p in kept if group_of(p.doi, fraction) == g) for g in ("target", "irrelevant")
        },
        "target_fraction": fraction,
        "backend": main,
        "splits": written,
        "drops": drops.counts,
        "drop_examples": drops.examples,
        "cannot_make": planned.cannot,
        "empty_splits": empty_splits(written, generators, drops.counts, stats["failure_messages"]),
        "substituted": planned.substituted,
        "generators": generators,
        "judge": judged,
        "calls": stats["calls"],
        "cache_hits": stats["cache_hits"],
        "tokens": stats["tokens"],
        "cost_usd": stats["cost_usd"],
        "budget": {
            "max_cost_usd": cfg.max_cost,
            "spent_before_usd": round(engine.spent_before, 6),
            "spent_total_usd": round(engine.spent_before + engine.stats.cost_usd, 6),
            "ledger": str(ledger.path),
        },
        "engine": stats,
        "elapsed_s": round(time.time() - started, 2),
    }
    write_json(out_dir / "report.json", report)
    write_resolved_config(dataclasses.replace(cfg, backend=main), out_dir)  # the backend used, not ""
    if cfg.push:
        missing = incomplete(report)
        # a partial build is never published: the Hub would serve it as the dataset
        report["push"] = {"skipped": "; ".join(missing)} if missing else _push(cfg, spec.name)
        write_json(out_dir / "report.json", report)
    return report


def incomplete(report: dict[str, Any]) -> list[str]:
    """Why a finished build is not the whole build its spec asks for (empty when it is)."""
    why = [f"{split} not built ({reason})" for split, reason in report.get("cannot_make", {}).items()]
    why += [f"{split} came out empty" for split in report.get("empty_splits") or {}]
    stopped = report.get("engine", {}).get("stopped")
    if stopped:
        why.append(f"stopped early: {stopped}")
    return why


def empty_splits(
    written: dict[str, int],
    generators: dict[str, dict[str, Any]],
    drops: dict[str, dict[str, int]],
    messages: dict[str, str],
) -> dict[str, str]:
    """Why each generated split that sent requests has no rows (a stop at --max-cost is no failure)."""
    out: dict[str, str] = {}
    for split, info in generators.items():
        if written.get(split, 0) or not info.get("requests"):
            continue
        counts = {r: n for r, n in drops.get(split, {}).items() if r != "nd-license"}
        if counts and set(counts) == {"no-reply:max-cost"}:
            continue
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        why = ", ".join(f"{reason} {n}" for reason, n in top) or "no reason recorded"
        said = next((messages[r[9:]] for r, _ in top if r.startswith("no-reply:") and r[9:] in messages), "")
        out[split] = f"0 rows from {info['requests']} requests ({why})" + (
            f"; the server said: {said}" if said else ""
        )
    return out


def _run_judge(
    judge: RacarJudge, backend: Any, outcome: Outcome, text: list[Record], by_doi: dict[str, Paper],
    spec: BuildSpec, engine: Engine,
) -> tuple[list[Record], dict[str, Any]]:  # fmt: skip
    """Grade the split's rows (cached and budgeted like every request); drop the low ones."""
    ctx = GenContext(backend.name, model_name(backend), by_doi, {}, spec.seed)
    tasks = judge.plan(outcome.records, {r.id: r for r in text}, ctx)
    jobs = [make_job(t, judge, backend, "judge") for t in tasks]
    results = engine.run(jobs)
    scores: dict[str, tuple[int, ...]] = {}
    for task, job in zip(tasks, jobs, strict=True):
        entry = results.get(job.key)
        if entry is not None:
            scores.update(judge.parse(task, backend.parse(entry["raw"])))
    kept = judge.apply(outcome.records, scores, outcome)
    info = judge_summary(kept, len(scores))
    info.update(backend=backend.name, model=model_name(backend), prompt=judge.prompt.version_tag,
                min_score=judge.min_score, requests=len(jobs))  # fmt: skip
    return kept, info


def _push(cfg: BuildConfig, spec_name: str) -> Any:
    """``build --push``: hand the fresh build to the publish stage (which validates, then uploads)."""
    from ccpapers.publish import publish_after_build

    result = publish_after_build(cfg, spec_name)
    return json.loads(json.dumps(result, default=str))
