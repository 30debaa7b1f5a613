"""``run_build(cfg)``: papers -> text splits -> generated splits -> Parquet + report."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from ccpapers.builder.backend_choice import CHAT_BACKENDS, BackendPool, has_credentials, main_backend_name
from ccpapers.builder.cache import ReplyCache, canonical, request_key
from ccpapers.builder.config import BuildConfig
from ccpapers.builder.cost import PriceTable
from ccpapers.builder.engine import Engine, Job
from ccpapers.builder.generators.base import GenContext, Outcome, Task
from ccpapers.builder.limits import RetryPolicy
from ccpapers.builder.records_io import write_split
from ccpapers.builder.spec import BuildSpec, SplitSpec, load_spec
from ccpapers.builder.splits import text_records
from ccpapers.config import ConfigError, write_resolved_config
from ccpapers.io import read_records, write_json
from ccpapers.licenses import LicensePolicy
from ccpapers.registry import GENERATORS
from ccpapers.types import GENERATED_SPLITS, TEXT_SPLITS, Paper, Record

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
    derivative = split.split in ("rewrite", "translation")
    if not paper.license.derivatives_ok and (derivative or not split.allow_nd):
        drops.add(split.split, "nd-license", rec.id)
        return False
    return True


def _choose_generator(
    split: SplitSpec, main: str, pool: BackendPool
) -> tuple[Any | None, Any | None, str | None]:
    """(generator, backend or None for offline, why-not) for one generated split."""
    opts = dict(split.options)
    if split.generator == "offline" or (split.generator in ("qa", "mcq") and main == "offline"):
        return (
            GENERATORS.create("offline", mode=split.split if split.split in ("qa", "mcq") else "qa", **opts),
            None,
            None,
        )
    if split.generator in ("qa", "mcq", "rewrite"):
        if main not in CHAT_BACKENDS:
            return (
                None,
                None,
                f"needs a language model: set ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL, or --backend (now {main})",
            )
        return GENERATORS.create(split.generator, **opts), pool.get(main), None
    if split.generator == "translate":
        wanted = split.backend
        if wanted == "deepl" and has_credentials("deepl"):
            return GENERATORS.create("translate", mode="deepl", **opts), pool.get("deepl"), None
        if main == "deepl":
            return GENERATORS.create("translate", mode="deepl", **opts), pool.get("deepl"), None
        if main in CHAT_BACKENDS:
            return GENERATORS.create("translate", mode="llm", **opts), pool.get(main), None
        return (
            None,
            None,
            "needs DEEPL_AUTH_KEY or a language model backend (no rewrites or translations offline)",
        )
    raise ConfigError(f"generate.{split.split}: unknown generator {split.generator!r}")


def _job(task: Task, gen: Any, backend: Any, label: str) -> Job:
    payload = backend.payload(task.request)
    key = request_key(backend.name, backend.model, payload, f"{gen.name}/{gen.version}", task.variant)
    size = len(canonical(payload))
    chars = sum(len(t) for t in getattr(task.request, "texts", []))
    chat = hasattr(task.request, "max_tokens")
    return Job(
        key=key,
        backend=backend,
        payload=payload,
        est_input=size // 3 if chat else 0,
        est_output=task.expected_output_tokens if chat else 0,
        max_output=task.request.max_tokens if chat else 0,  # type: ignore[union-attr]
        est_chars=chars,
        label=label,
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
        if ok:
            kept.append(p)
        else:
            drops.add("papers", reason, p.doi)
    by_doi = {p.doi: p for p in kept}
    text: list[Record] = []
    for p in kept:
        text.extend(text_records(p, fraction, spec.max_words, tuple(spec.text_splits), drops.counts))
    main, _ = main_backend_name(cfg.backend, spec.backend, need_key=not cfg.estimate)
    pool = BackendPool(main, cfg.model, spec.models, cfg.timeout)
    cannot: dict[str, str] = {}
    plans: list[tuple[SplitSpec, Any, Any, list[Task], list[Job]]] = []
    outcomes: dict[str, Outcome] = {}
    for split in spec.generate:
        gen, backend, why = _choose_generator(split, main, pool)
        if gen is None:
            cannot[split.split] = why or "unavailable"
            continue
        if split.split == "rewrite" and cfg.variants > 0:
            gen.variants = cfg.variants
        sources = [r for r in text if r.split in split.sources]
        sources = [
            r for r in sources if r.group in split.groups and _licence_ok(split, r, by_doi[r.doi], drops)
        ]
        ctx = GenContext(
            backend.name if backend else "offline",
            backend.model if backend else "none",
            by_doi,
            split.options,
            spec.seed,
        )
        if backend is None:
            outcomes[split.split] = gen.run(sources, ctx, pool=text)
            plans.append((split, gen, None, [], []))
            continue
        tasks = gen.plan(sources, ctx)
        plans.append((split, gen, backend, tasks, [_job(t, gen, backend, split.split) for t in tasks]))
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
    )
    all_jobs = [j for plan in plans for j in plan[4]]
    if cfg.estimate:
        return _estimate(engine, all_jobs, spec, main, cannot)
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
    for split, gen, backend, tasks, jobs in plans:
        if backend is None:
            outcome = outcomes[split.split]
        else:
            outcome = Outcome()
            parsed: list[Record] = []
            for task, job in zip(tasks, jobs, strict=True):
                entry = results.get(job.key)
                if entry is None:
                    outcome.drop(f"no-reply:{engine.failed_keys.get(job.key, 'unknown')}", task.sources[0].id)
                    continue
                part = gen.parse(
                    task,
                    backend.parse(entry["raw"]),
                    GenContext(backend.name, backend.model, by_doi, split.options, spec.seed),
                )
                parsed.extend(part.records)
                outcome.drops.extend(part.drops)
            final = gen.finalize(parsed, None)
            outcome.records = final.records
            outcome.drops.extend(final.drops)
        drops.merge(split.split, outcome)
        written[split.split] = write_split(out_dir / split.split / "part-00000.parquet", outcome.records)
        prompt = getattr(gen, "prompt", None)
        generators[split.split] = {
            "generator": gen.name,
            "version": gen.version,
            "prompt": prompt.version_tag if prompt is not None and backend is not None else None,
            "backend": backend.name if backend else "offline",
            "model": backend.model if backend else "none",
        }
    stats = engine.stats.to_dict()
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
        "generators": generators,
        "calls": stats["calls"],
        "cache_hits": stats["cache_hits"],
        "tokens": stats["tokens"],
        "cost_usd": stats["cost_usd"],
        "engine": stats,
        "elapsed_s": round(time.time() - started, 2),
    }
    write_json(out_dir / "report.json", report)
    write_resolved_config(dataclasses.replace(cfg, backend=main), out_dir)  # the backend used, not ""
    if cfg.push:
        report["push"] = _push(cfg, spec.name)
        write_json(out_dir / "report.json", report)
    return report


def _group(paper: Paper, fraction: float) -> str:
    from ccpapers.builder.splits import group_of

    return group_of(paper.doi, fraction)


def _estimate(
    engine: Engine, jobs: list[Job], spec: BuildSpec, main: str, cannot: dict[str, str]
) -> dict[str, Any]:
    cached, todo = engine.split_cached(jobs)
    by_split: dict[str, dict[str, float]] = {}
    for j in todo:
        row = by_split.setdefault(
            j.label, {"calls": 0, "input_tokens": 0, "output_tokens": 0, "characters": 0, "cost_usd": 0.0}
        )
        row["calls"] += 1
        row["input_tokens"] += j.est_input
        row["output_tokens"] += j.est_output
        row["characters"] += j.est_chars
        row["cost_usd"] += engine.expected_cost(j)
    total = {
        k: sum(r[k] for r in by_split.values())
        for k in ("calls", "input_tokens", "output_tokens", "characters", "cost_usd")
    }
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


def _push(cfg: BuildConfig, spec_name: str) -> Any:
    """``build --push``: hand the fresh build to the publish stage (which validates, then uploads)."""
    from ccpapers.publish import publish_after_build

    result = publish_after_build(cfg, spec_name)
    return json.loads(json.dumps(result, default=str))
