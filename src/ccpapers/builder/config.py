"""Typed config of ``ccpapers build`` (the CLI help text is each field's help)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ccpapers.config import CommonConfig, opt


@dataclass
class BuildConfig(CommonConfig):
    spec: str = opt(
        "demo", "builder spec: a shipped name (demo, nature-family-ccpapers, fictional) or a YAML path"
    )
    papers: Path | None = opt(None, "papers file (.jsonl/.parquet); default WORK/papers/papers.parquet")
    backend: str = opt(
        "",
        "generation backend: anthropic, openai (also any OpenAI-compatible server via OPENAI_BASE_URL), "
        "deepl, transformers, offline; empty = the spec's choice, else the first one whose key is set, else offline",
    )
    model: str = opt(
        "", "model id (or local path for transformers); empty = the spec's model for the backend"
    )
    concurrency: int = opt(
        8,
        "most requests in flight at once; a local OpenAI-compatible server starts at its slot count "
        "(or 1) and gets more only while that raises its throughput",
    )
    rpm: float = opt(0.0, "requests per minute limit (0 = the spec's, else unlimited)")
    tpm: float = opt(0.0, "tokens per minute limit (0 = the spec's, else unlimited)")
    max_cost: float = opt(
        0.0,
        "budget in USD for the whole build, across runs (spend is kept in WORK/spend.jsonl): stop "
        "cleanly before it could be exceeded (0 = no limit)",
    )
    reset_budget: bool = opt(False, "start a new --max-cost budget for this build (the ledger keeps history)")
    estimate: bool = opt(
        False, "print calls, tokens and cost of the uncached requests without calling anything"
    )
    batch: bool = opt(
        False, "use the Anthropic Message Batches / OpenAI Batch APIs (half price; resumes stored batch ids)"
    )
    variants: int = opt(0, "rewrite variants per style (0 = the spec's)")
    target_fraction: float = opt(
        -1.0, "fraction of papers in the 'target' group (hash of DOI); <0 = the spec's"
    )
    limit: int = opt(0, "use only the first N papers (0 = all)")
    prices: Path | None = opt(None, "YAML price table overriding the built-in one (USD per million tokens)")
    retries: int = opt(6, "retries per request on 429/5xx/timeouts (Retry-After honoured, else backoff)")
    timeout: float = opt(
        0.0,
        "seconds per request before it is retried (0 = fitted to the server: 15 min until the first "
        "reply, then from its observed seconds per token and the request's max tokens)",
    )
    batch_poll: float = opt(30.0, "seconds between batch status polls")
    progress: bool = opt(True, "show a progress bar")
    push: bool = opt(
        False, "after building, publish the build with `ccpapers publish` (needs the publish stage)"
    )
    repo: str = opt("", "with --push: Hub repo id owner/name")
    tag: str = opt("", "with --push: tag the pushed revision")
    private: bool = opt(False, "with --push: create the repo private")
    dry_run: bool = opt(False, "with --push: lay out and validate the Hub folder but do not upload")
