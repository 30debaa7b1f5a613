"""``run_build(cfg)``: papers -> text splits -> generated splits -> Parquet + report."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from ccpapers.builder.backend_choice import (
    BackendPool,
    estimate_backend,
    keys_assumed,
    main_backend_name,
)
from ccpapers.builder.cache import ReplyCache, canonical, request_key
from ccpapers.builder.config import BuildConfig
from ccpapers.builder.cost import PriceTable
from ccpapers.builder.engine import Engine, Job
from ccpapers.builder.estimate import estimate_report, judge_estimates
from ccpapers.builder.generators.base import Choice, GenContext, Outcome, Task
from ccpapers.builder.judge import RacarJudge, judge_for
from ccpapers.builder.judge import summary as judge_summary
from ccpapers.builder.ledger import SpendLedger
from ccpapers.builder.limits import RetryPolicy
from ccpapers.builder.records_io import write_split
from ccpapers.builder.spec import BuildSpec, SplitSpec, load_spec
from ccpapers.builder.splits import text_records
from ccpapers.builder.tokens import input_bound, tokenizer_for, typical_tokens
from ccpapers.config import ConfigError, write_resolved_config
from ccpapers.io import read_records, write_json
from ccpapers.licenses import LicensePolicy, id_url_conflict, license_from_id
from ccpapers.registry import GENERATORS
from ccpapers.types import GENERATED_SPLITS, REPHRASED_SPLITS, TEXT_SPLITS, Paper, Record

log = logging.getLogger(__name__)
ALL_SPLITS = TEXT_SPLITS + GENERATED_SPLITS
EXAMPLES_PER_REASON = 3


class Drops:
    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.examples: dict[str, dict[str, list[str]]] = {}

    def add(self, split: str, reason: str, detail: str = "", n: int = 1) -> None:
        bucket = self.counts.setdefault(split, {})
        bucket[reason] = bucket.get(reason, 0) + n
        if detail:
            ex = self.examples.setdefault(split, {}).setdefault(reason, [])
            if len(ex) < EXAMPLES_PER_REASON:
                ex.append(detail)

    def merge(self, split: str, outcome: Outcome) -> None:
        for reason, detail in outcome.drops:
            self.add(split, reason, detail)


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


def _licence_ok(split: SplitSpec, rec: Record, paper: Paper, drops: Drops) -> bool:
    """Permissions come from the licence id alone: a papers file whose ``derivatives_ok`` says
    otherwise must not make us pay for rewrites that publish would have to drop."""
    derivative = split.split in REPHRASED_SPLITS
    named = license_from_id(paper.license.hub_id)
    if not (named and named.derivatives_ok) and (derivative or not split.allow_nd):
        drops.add(split.split, "nd-license", rec.id)
        return False
    return True


def choose_generator(split: SplitSpec, main: str, pool: BackendPool, assume_keys: bool = False) -> Choice:
    """The generator (and its backend) the registry builds for one generated split, or why none.
    A generator with a ``stand_in`` is replaced by it when the build has no model at all
    (``main`` supports nothing: the offline backend). ``assume_keys`` (``--estimate``): choose
    as if every key the spec needs were set."""
    if split.generator not in GENERATORS:
        raise ConfigError(f"generate.{split.split}: unknown generator {split.generator!r}")
    cls = GENERATORS.get(split.generator)
    if cls.stand_in and not pool.get(main).supports:
        cls = GENERATORS.get(cls.stand_in)
    return cls.for_split(split, main, pool, assume_keys)


def _job(task: Task, gen: Any, backend: Any, label: str) -> Job:
    payload = backend.payload(task.request)
    key = request_key(backend.name, backend.model, payload, f"{gen.name}/{gen.version}", task.variant)
    text = canonical(payload)
    chars = sum(len(t) for t in getattr(task.request, "texts", []))
    chat = hasattr(task.request, "max_tokens")
    return Job(
        key=key,
        backend=backend,
        payload=payload,
        est_input=typical_tokens(text) if chat else 0,
        est_output=task.expected_output_tokens if chat else 0,
        max_output=task.request.max_tokens if chat else 0,  # type: ignore[union-attr]
        est_chars=chars,
        label=label,
        max_input=input_bound(text, tokenizer_for(backend.name, backend.model)) if chat else 0,
    )


def run_build(cfg: BuildConfig) -> dict[str, Any]:
    """Build every split of ``cfg.spec``; returns the report (also written as report.json)."""
    started = time.time()
    spec: BuildSpec = load_spec(cfg.spec)
    papers = load_papers(cfg)
    fraction = cfg.target_fraction if cfg.target_fraction >= 0 else spec.target_fraction
    drops = Drops()
    policy = LicensePolicy("all")
    kept: list[Paper] = []
    for p in papers:
        ok, reason = policy.check(p)
        conflict = id_url_conflict(p.license.hub_id, p.license.url) if ok else None
        if ok and not conflict:
            kept.append(p)
        else:
            drops.add("papers", "license-url-mismatch" if conflict else reason, f"{p.doi}: {conflict or ''}")
    by_doi = {p.doi: p for p in kept}
    text: list[Record] = []
    for p in kept:
        text.extend(text_records(p, fraction, spec.max_words, tuple(spec.text_splits), drops.counts))
    if cfg.estimate:  # price what the spec would use once its keys are set, and say so
        main = estimate_backend(cfg.backend, spec.backend, spec.models)
    else:
        main, _ = main_backend_name(cfg.backend, spec.backend)
    pool = BackendPool(main, cfg.model, spec.models, cfg.timeout, state_dir=Path(cfg.work) / "cache" / "llm")
    cannot: dict[str, str] = {}
    substituted: dict[str, str] = {}
    plans: list[tuple[SplitSpec, Any, Any, list[Task], list[Job]]] = []
    for split in spec.generate:
        choice = choose_generator(split, main, pool, assume_keys=cfg.estimate)
        gen, backend = choice.generator, choice.backend
        if gen is None:
            cannot[split.split] = choice.why_not or "unavailable"
            continue
        if gen.name != split.generator:  # a stand-in
            substituted[split.split] = (
                f"offline cloze, not the spec's {split.generator!r} generator (no language model key set)"
            )
        if split.split == "rewrite" and cfg.variants > 0:
            gen.variants = cfg.variants
        sources = [r for r in text if r.split in split.sources]
        sources = [
            r for r in sources if r.group in split.groups and _licence_ok(split, r, by_doi[r.doi], drops)
        ]
        ctx = GenContext(
            backend.name if backend else "offline",
            _model_name(backend) if backend else "none",
            by_doi,
            split.options,
            spec.seed,
            texts=text,
        )
        tasks = gen.plan(sources, ctx)
        jobs = [_job(t, gen, backend, split.split) for t in tasks] if gen.needs_backend else []
        plans.append((split, gen, backend, tasks, jobs))
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
    all_jobs = [j for plan in plans for j in plan[4]]
    if cfg.estimate:
        all_jobs += judge_estimates(plans, main, pool)
        assumed = keys_assumed({j.backend.name for j in all_jobs} | ({main} - {"offline"}))
        spent = {"spent_usd": round(engine.spent_before, 6), "max_cost_usd": cfg.max_cost}
        return {
            **estimate_report(engine, all_jobs, spec, main, cannot),
            "assumed_keys": assumed,
            "budget": spent,
        }
    results = engine.run(all_jobs)
    written: dict[str, int] = {}
    out_dir = Path(cfg.work) / "builds" / spec.name
    text_by_split: dict[str, list[Record]] = {}
    for r in text:
        text_by_split.setdefault(r.split, []).append(r)
    for name in spec.text_splits:
        written[name] = write_split(out_dir / name / "part-00000.parquet", text_by_split.get(name, []))
    for stale in ALL_SPLITS:  # a split this run did not make must not linger from an older run
        if stale not in spec.text_splits and stale not in {p[0].split for p in plans}:
            shutil.rmtree(out_dir / stale, ignore_errors=True)
    generators: dict[str, Any] = {}
    judged: dict[str, Any] = {}
    for split, gen, backend, tasks, jobs in plans:
        outcome = Outcome()
        parsed: list[Record] = []
        ctx = (
            GenContext(backend.name, _model_name(backend), by_doi, split.options, spec.seed)
            if backend is not None
            else GenContext("offline", "none", by_doi, split.options, spec.seed, texts=text)
        )
        for task, job in zip(tasks, jobs if gen.needs_backend else [None] * len(tasks), strict=True):
            reply = None
            if job is not None:
                entry = results.get(job.key)
                if entry is None:
                    outcome.drop(f"no-reply:{engine.failed_keys.get(job.key, 'unknown')}", task.sources[0].id)
                    continue
                reply = backend.parse(entry["raw"])
            part = gen.parse(task, reply, ctx)
            parsed.extend(part.records)
            outcome.drops.extend(part.drops)
        final = gen.finalize(parsed, None)
        outcome.records = final.records
        outcome.drops.extend(final.drops)
        judge, judge_backend, why = judge_for(split, main, pool)
        if judge is not None and outcome.records:
            outcome.records, judged[split.split] = _run_judge(
                judge, judge_backend, outcome, text, by_doi, spec, engine
            )
        elif why and split.options.get("judge"):
            judged[split.split] = {"skipped": why}
        drops.merge(split.split, outcome)
        written[split.split] = write_split(out_dir / split.split / "part-00000.parquet", outcome.records)
        prompt = getattr(gen, "prompt", None)
        generators[split.split] = {
            "generator": gen.name,
            "version": gen.version,
            "prompt": prompt.version_tag if prompt is not None and backend is not None else None,
            "backend": backend.name if backend else "offline",
            "model": _model_name(backend) if backend else "none",
            "requests": len(jobs),
            "structured_output": getattr(backend, "structured_output", None),
            "structured_output_changes": list(getattr(backend, "mode_changes", [])),
        }
    stats = engine.stats.to_dict()
    empty = empty_splits(written, generators, drops.counts, stats["failure_messages"])
    report = {
        "spec": spec.name,
        "spec_path": str(spec.path),
        "papers": len(papers),
        "papers_used": len(kept),
        "groups": {g: sum(1 for p in kept if _group(p, fraction) == g) for g in ("target", "irrelevant")},
        "target_fraction": fraction,
        "backend": main,
        "splits": written,
        "drops": drops.counts,
        "drop_examples": drops.examples,
        "cannot_make": cannot,
        "empty_splits": empty,
        "substituted": substituted,
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
        report["push"] = _push(cfg, spec.name)
        write_json(out_dir / "report.json", report)
    return report


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


def _model_name(backend: Any) -> str:
    return getattr(backend, "model_name", "") or backend.model


def _run_judge(
    judge: RacarJudge, backend: Any, outcome: Outcome, text: list[Record], by_doi: dict[str, Paper],
    spec: BuildSpec, engine: Engine,
) -> tuple[list[Record], dict[str, Any]]:  # fmt: skip
    """Grade the split's rows (cached and budgeted like every request); drop the low ones."""
    ctx = GenContext(backend.name, _model_name(backend), by_doi, {}, spec.seed)
    tasks = judge.plan(outcome.records, {r.id: r for r in text}, ctx)
    jobs = [_job(t, judge, backend, "judge") for t in tasks]
    results = engine.run(jobs)
    scores: dict[str, tuple[int, ...]] = {}
    for task, job in zip(tasks, jobs, strict=True):
        entry = results.get(job.key)
        if entry is not None:
            scores.update(judge.parse(task, backend.parse(entry["raw"])))
    kept = judge.apply(outcome.records, scores, outcome)
    info = judge_summary(kept, len(scores))
    info.update(backend=backend.name, model=_model_name(backend), prompt=judge.prompt.version_tag,
                min_score=judge.min_score, requests=len(jobs))  # fmt: skip
    return kept, info


def _group(paper: Paper, fraction: float) -> str:
    from ccpapers.builder.splits import group_of

    return group_of(paper.doi, fraction)


def _push(cfg: BuildConfig, spec_name: str) -> Any:
    """``build --push``: hand the fresh build to the publish stage (which validates, then uploads)."""
    from ccpapers.publish import publish_after_build

    result = publish_after_build(cfg, spec_name)
    return json.loads(json.dumps(result, default=str))
