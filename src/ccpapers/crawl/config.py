"""Typed config of ``ccpapers crawl`` (field help text is the CLI help)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ccpapers.config import CommonConfig, ConfigError, opt

DEFAULT_JOURNALS = ["ncomms", "srep", "npjcompumats", "natcomputsci", "commschem", "commsmat"]


@dataclass
class CrawlConfig(CommonConfig):
    journals: list[str] = opt(DEFAULT_JOURNALS, "nature.com journal slugs to crawl (comma-separated)")
    years: str = opt("2010-2023", "publication years, YYYY or YYYY-YYYY (inclusive)")
    source: Literal["crossref", "listing", "dois"] = opt(
        "crossref",
        "how papers are discovered: crossref (Crossref API per journal eISSN), listing "
        "(nature.com journal listing pages) or dois (the file given by --dois-file)",
    )
    dois_file: Path | None = opt(None, "file with one DOI or article URL per line (for --source dois)")
    crossref_api: str = opt("https://api.crossref.org", "Crossref REST API base URL (mirrors, tests)")
    site: str = opt("https://www.nature.com", "article site base URL (mirrors, tests)")
    mailto: str | None = opt(
        None, "your contact e-mail, sent in the User-Agent and to Crossref (polite pool); please set it"
    )
    user_agent: str | None = opt(
        None, "User-Agent override (default: ccpapers/<version> (+project URL; mailto:<mailto>))"
    )
    license_policy: Literal["by", "sa", "nc", "all"] = opt(
        "all", "keep licences up to this tier: by < sa < nc < all (all = any known CC licence)"
    )
    max_papers: int | None = opt(None, "stop once this many papers are kept (counting earlier runs)")
    since: str | None = opt(None, "only papers published on or after this date (YYYY[-MM[-DD]])")
    refresh: bool = opt(False, "fetch again even what is cached under WORK/raw/")
    jsonl: bool = opt(False, "also write WORK/papers/papers.jsonl")
    dry_run: bool = opt(False, "discover and count only; fetch no article page")
    rate: float = opt(1.0, "requests per second to the article site (Crawl-delay may lower it)")
    api_rate: float = opt(
        5.0, "requests per second to the Crossref API until its X-Rate-Limit headers say otherwise"
    )
    timeout: float = opt(30.0, "seconds before a request times out")
    max_page_bytes: int = opt(
        32 << 20, "largest body taken, in bytes after decompression; a larger one is refused (too_large)"
    )
    request_deadline: float = opt(
        120.0, "seconds one request may take in all, headers and body; a slower one is refused (too_slow)"
    )
    max_crawl_delay: float = opt(
        60.0,
        "longest robots.txt Crawl-delay obeyed, in seconds; longer ones (and 'inf') are capped, with a warning",
    )
    max_retries: int = opt(4, "retries per request after the first attempt (429, 5xx, timeouts)")
    max_attempts: int = opt(3, "runs that may retry a failed paper before it is left as failed")
    max_consecutive_errors: int = opt(
        10,
        "stop the crawl (politely, resumable) after this many papers fail in a row with network/5xx errors",
    )
    journals_file: Path | None = opt(
        None, "YAML adding journals: {slug: {name, eissn, doi_code, first_year}}"
    )
    parser: str = opt("nature-html", "parser for article pages (registry name)")
    rows: int = opt(1000, "Crossref page size (at most 1000)")
    progress: bool = opt(True, "show a live progress bar")

    def __post_init__(self) -> None:
        self.work = Path(self.work)
        if self.rate <= 0 or self.api_rate <= 0:
            raise ConfigError("rate/api_rate must be positive requests per second")
        if not 1 <= self.rows <= 1000:
            raise ConfigError(f"rows={self.rows}: Crossref allows 1..1000")
        if self.max_retries < 0 or self.timeout <= 0:
            raise ConfigError("max_retries must be >= 0 and timeout > 0")
        if self.max_page_bytes < 1024 or not self.request_deadline > 0 or not self.max_crawl_delay >= 0:
            raise ConfigError(
                "max_page_bytes must be >= 1024, request_deadline > 0 and max_crawl_delay >= 0 (seconds)"
            )
        if self.source == "dois" and not self.dois_file:
            raise ConfigError("source=dois needs --dois-file FILE (one DOI or article URL per line)")
        if self.since:
            import re

            if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", self.since):
                raise ConfigError(f"since={self.since!r}: expected YYYY, YYYY-MM or YYYY-MM-DD")
        for name in ("site", "crossref_api"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"{name}={url!r}: expected an http(s) URL")
            setattr(self, name, url.rstrip("/"))
