"""The crawl: discover references, fetch and parse each page, decide, write outputs.

Everything durable goes to the journal (SQLite) and the raw cache as it happens, so an
interrupted run (Ctrl-C, ``kill -9``, a sleeping laptop) resumes where it stopped:
finished windows are not discovered again, cached pages are not fetched again, decided
papers are not parsed again (their stored Paper is re-checked against the policy).

The journal stores what is stable: DOIs, and article URLs as paths under ``--site`` (cache
keys likewise under ``--site``/``--crossref-api``); the host is resolved at run time, so a
site that moved (a mirror, the demo's new port) is crawled where it is now.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ccpapers.config import ConfigError, write_resolved_config
from ccpapers.crawl.charset import to_utf8
from ccpapers.crawl.config import CrawlConfig
from ccpapers.crawl.discovery import WindowFailed, walk_window
from ccpapers.crawl.fetch.cache import FetchCache
from ccpapers.crawl.fetch.client import LaneSpec, PoliteClient
from ccpapers.crawl.fetch.errors import BlockedError, FetchError
from ccpapers.crawl.journal_db import STATES, JournalDB, journal_error
from ccpapers.crawl.journals import Journal, load_journals, parse_years, select_journals
from ccpapers.crawl.progress import CrawlProgress
from ccpapers.crawl.report import build_report
from ccpapers.crawl.sources.base import Source, Window
from ccpapers.errors import CcpapersError
from ccpapers.io import write_json, write_jsonl, write_parquet
from ccpapers.licenses import LicensePolicy
from ccpapers.registry import PARSERS, SOURCES
from ccpapers.types import Paper, PaperRef

log = logging.getLogger(__name__)

TODO_STATES = ("discovered", "fetched", "parsed")
TRANSIENT_ERRORS = frozenset({"timeout", "connection", "http_429", "robots_unavailable"})


def transient(code: str) -> bool:
    return code in TRANSIENT_ERRORS or code.startswith("http_5")


class TooManyErrors(CcpapersError, RuntimeError):
    """Many papers in a row failed with network or server errors: the crawl stops politely."""


def journal_db_path(work: str | Path) -> Path:
    return Path(work) / "raw" / "journal.sqlite"


def make_source(cfg: CrawlConfig, table: dict[str, Journal]) -> Source:
    """The source ``cfg.source`` names, built from the config (over ``--journals`` if it uses them)."""
    cls = SOURCES.get(cfg.source)
    journals = select_journals(cfg.journals, table) if cls.uses_journals else []
    return cls.from_config(cfg, journals, table)


def builds_site_urls(source_name: str | None) -> bool:
    """Whether the source that found a journal row builds its article URLs under ``--site``."""
    return bool(source_name) and source_name in SOURCES and SOURCES.get(source_name).site_article_urls


def make_client(cfg: CrawlConfig, cache: FetchCache | None) -> PoliteClient:
    return PoliteClient(
        user_agent=cfg.user_agent,
        mailto=cfg.mailto,
        lanes={
            "site": LaneSpec(cfg.site, cfg.rate),
            "api": LaneSpec(cfg.crossref_api, cfg.api_rate, header_driven=True),
        },
        default_rate=cfg.rate,
        timeout=cfg.timeout,
        max_retries=cfg.max_retries,
        cache=cache,
        max_bytes=cfg.max_page_bytes,
        deadline=cfg.request_deadline,
        max_crawl_delay=cfg.max_crawl_delay,
    )


def html_complete(resp: Any) -> str | None:
    """``"truncated"`` for an HTML page that stops before ``</html>`` (a dropped transfer)."""
    head, tail = resp.content[:2048].lower(), resp.content[-2048:].lower()
    if b"<html" in head and b"</html>" not in tail:
        return "truncated"
    return None


def _lock_work(work: Path) -> Any:
    """Hold WORK/raw/crawl.lock for the crawl's lifetime: two crawls in one work directory
    would fetch the same pages twice. The OS releases it when the process dies (kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return None
    path = work / "raw" / "crawl.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - kept open while crawling
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise ConfigError(
            f"another ccpapers crawl is running in {work}; wait for it to finish or use another --work"
        ) from None
    return fh


class Crawl:
    def __init__(self, cfg: CrawlConfig, client: PoliteClient | None = None) -> None:
        self.cfg = cfg
        self.work = Path(cfg.work)
        self.out_dir = self.work / "papers"
        self.table = load_journals(cfg.journals_file)
        self.source = make_source(cfg, self.table)
        parse_years(cfg.years)  # validate before touching anything
        self.policy = LicensePolicy(cfg.license_policy)
        self._lock = _lock_work(self.work)
        try:
            self.db = JournalDB(journal_db_path(self.work))
        except BaseException:
            if self._lock is not None:
                self._lock.close()
            raise
        bases = {"site": cfg.site, "api": cfg.crossref_api}
        self.client = client or make_client(cfg, FetchCache(self.work / "raw", self.db, bases))
        self.discovery_errors: dict[str, str] = {}
        self.new_refs = 0
        self.stopped: str | None = None
        self.consecutive_errors = 0
        self.windows_done = self.windows_failed = 0  # this run
        self.attempted = self.fetched = 0  # papers this run
        self.papers_file: Path | None = None

    # -- stable URLs -----------------------------------------------------------------------
    def stable_ref(self, ref: PaperRef) -> PaperRef:
        """``ref`` with its URL stored as a path when it is under ``--site``."""
        site = self.cfg.site
        if ref.url.startswith(site + "/"):
            return dataclasses.replace(ref, url=ref.url[len(site) :])
        return ref

    def resolve(self, row: dict[str, Any]) -> str:
        """The URL to fetch for a journal row: a stored path is put under today's ``--site``;
        an absolute article URL built from an older ``--site`` (journals written before paths
        were stored) is moved there too. A user's own absolute URL is kept."""
        url = row["url"]
        if url.startswith("/"):
            return self.cfg.site + url
        parts = urlsplit(url)
        if builds_site_urls(row["source"]) and parts.path.startswith("/articles/"):
            return self.cfg.site + parts.path
        return url

    # -- discovery -----------------------------------------------------------------------
    def discover(self, progress: CrawlProgress) -> None:
        windows = self.source.windows()
        progress.start_discovery(len(windows))
        for w in windows:
            self._discover_window(w)
            progress.advance_discovery(self.db.total_refs())

    def _discover_window(self, w: Window) -> None:
        if w.first_url is None:
            for ref in w.refs:
                self.new_refs += self.db.add_ref(self.stable_ref(ref))
            return
        rec = self.db.window(w.key)
        if rec and rec["state"] == "done" and not self.cfg.refresh:
            return
        try:
            walk_window(self, w)
        except WindowFailed as exc:
            self.windows_failed += 1
            # one warning per kind of error (the client already warned about robots.txt)
            seen = any(k != w.key and v.startswith(exc.code + ":") for k, v in self.discovery_errors.items())
            loud = not seen and exc.code != "robots_unavailable"
            (log.warning if loud else log.info)("discovery of %s failed: %s", w.key, exc)
            self._count_error(exc.code, f"discovery windows in a row failed ({exc.code}, last: {exc})")
            return
        self.windows_done += 1
        self.consecutive_errors = 0

    def _count_error(self, code: str, what: str) -> None:
        """Stop the crawl politely after ``max_consecutive_errors`` network/server errors in a row."""
        if not transient(code):
            return
        self.consecutive_errors += 1
        if self.consecutive_errors >= self.cfg.max_consecutive_errors:
            raise TooManyErrors(
                f"{self.consecutive_errors} {what}; the site seems down or is limiting this client. "
                "Stopped to stay polite; finished work is saved, re-run later to resume "
                "(check --site/--crossref-api and your connection; lower --rate if it repeats)."
            )

    # -- fetch, parse, decide --------------------------------------------------------------
    def recheck_decided(self) -> None:
        """Apply the current policy to papers decided in earlier runs (the policy may differ)."""
        for row in self.db.refs(("kept", "rejected", "parsed")):
            if not row["paper"]:
                continue
            paper = Paper.from_dict(json.loads(row["paper"]))
            keep, reason = self.policy.check(paper)
            state = "kept" if keep else "rejected"
            if (state, reason) != (row["state"], row["reason"]):
                self.db.set_state(row["doi"], state, reason=reason)

    def process(self, progress: CrawlProgress) -> None:
        parser = PARSERS.create(self.cfg.parser)
        # --refresh: every paper is fetched and decided again; otherwise only unfinished ones
        states = STATES if self.cfg.refresh else TODO_STATES
        attempts = 2**31 if self.cfg.refresh else self.cfg.max_attempts
        marks = ",".join("?" * len(states))
        todo = self.db.count_where(
            f"state IN ({marks}) OR (state='failed' AND attempts < ?)", (*states, attempts)
        )
        progress.start_papers(todo)
        kept = 0 if self.cfg.refresh else self.db.count_where("state='kept'")
        for row in self.db.pending(states, attempts):
            if self.cfg.max_papers is not None and kept >= self.cfg.max_papers:
                self.stopped = f"max_papers={self.cfg.max_papers} reached"
                break
            kept += self._process_one(row, parser)
            progress.advance_papers(kept, self.client.stats.requests)

    def _process_one(self, row: dict[str, Any], parser: Any) -> int:
        doi = row["doi"]
        url = self.resolve(row)
        self.attempted += 1
        try:
            resp = self.client.get(url, use_cache=not self.cfg.refresh, validate=html_complete)
        except BlockedError:
            raise
        except FetchError as exc:
            self.db.fail(doi, exc.code, str(exc))
            self._count_error(exc.code, f"papers in a row failed ({exc.code}, last: {exc})")
            return 0
        self.consecutive_errors = 0
        self.fetched += 1
        self.db.set_state(doi, "fetched", error=None, message=None)
        evidence = [("crossref", hint) for hint in json.loads(row["license_hint"] or "[]")]
        content = to_utf8(resp.content, resp.headers.get("content-type"))
        try:
            paper = parser.parse(content, url=url, extra_evidence=evidence)
        except ValueError as exc:  # ParseError is a ValueError
            self.db.fail(doi, "parse_failed", str(exc))
            return 0
        except Exception as exc:  # a parser bug must not stop the crawl; it is counted
            log.exception("parser crashed on %s", url)
            self.db.fail(doi, "parser_crash", f"{type(exc).__name__}: {exc}")
            return 0
        paper.doi = (paper.doi or doi).lower()
        if paper.doi != doi:
            log.info("%s: page names DOI %s", doi, paper.doi)
        journal = self.table.get(row["journal"])
        paper.journal = paper.journal or (journal.name if journal else row["journal"])
        paper.issn = paper.issn or (journal.eissn if journal else None)
        paper.published = paper.published or row["published"]
        paper.fetched_at = resp.fetched_at
        self.db.set_state(doi, "parsed", paper=json.dumps(paper.to_dict(), ensure_ascii=False))
        keep, reason = self.policy.check(paper)
        self.db.set_state(doi, "kept" if keep else "rejected", reason=reason)
        return int(keep)

    # -- outputs -----------------------------------------------------------------------------
    def kept_papers(self) -> list[Paper]:
        return [Paper.from_dict(json.loads(r["paper"])) for r in self.db.refs(("kept",))]

    def write_outputs(self) -> int:
        """Write the kept papers; with none kept, no papers file is written (and one left by
        an earlier run, which would no longer be true, is removed)."""
        papers = self.kept_papers()
        if self.cfg.max_papers is not None:
            papers = papers[: self.cfg.max_papers]
        parquet, jsonl = self.out_dir / "papers.parquet", self.out_dir / "papers.jsonl"
        if not papers:
            parquet.unlink(missing_ok=True)
            jsonl.unlink(missing_ok=True)
            return 0
        write_parquet(parquet, papers)
        self.papers_file = parquet
        if self.cfg.jsonl:
            write_jsonl(jsonl, papers)
        return len(papers)

    def failure(self) -> str | None:
        """One line when the crawl has nothing to show (no paper kept, in this run or before)
        because every request failed; else None."""
        if self.db.count_where("state='kept'"):
            return None
        if self.attempted and not self.fetched:
            errors = self.db.grouped("failed", "error")
            top = max(errors, key=lambda k: errors[k]) if errors else "unknown"
            return (
                f"nothing could be fetched: all {self.attempted} papers tried failed "
                f"(mostly {top}; see 'failed' above). Check --site ({self.cfg.site}) and your connection."
            )
        if self.windows_failed and not self.windows_done and not self.attempted:
            codes = sorted({v.split(":", 1)[0] for v in self.discovery_errors.values()})
            return (
                f"nothing could be fetched: all {self.windows_failed} discovery windows tried failed "
                f"({', '.join(codes)}). Check --site ({self.cfg.site}), --crossref-api "
                f"({self.cfg.crossref_api}) and your connection."
            )
        return None

    def close(self) -> None:
        self.client.close()
        self.db.close()
        if self._lock is not None:
            self._lock.close()


def run_crawl(cfg: CrawlConfig, *, client: PoliteClient | None = None, console: Any = None) -> dict:
    """Run (or resume) a crawl; returns the report (also written to WORK/papers/report.json).

    A damaged journal raises :class:`~ccpapers.crawl.journal_db.JournalError` (what to do).
    """
    started = time.monotonic()
    crawl = Crawl(cfg, client)
    try:
        write_resolved_config(cfg, crawl.out_dir)
        progress = CrawlProgress(enabled=cfg.progress, console=console)
        try:
            with progress:
                crawl.discover(progress)
                if not cfg.dry_run:
                    crawl.recheck_decided()
                    crawl.process(progress)
        except BlockedError as exc:
            crawl.stopped = f"blocked: {exc}"
        except TooManyErrors as exc:
            crawl.stopped = f"errors: {exc}"
        finally:
            if not cfg.dry_run:
                crawl.write_outputs()
            report = build_report(crawl, time.monotonic() - started)
            write_json(crawl.out_dir / "report.json", report)
    except sqlite3.Error as exc:
        raise journal_error(crawl.db.path, exc) from exc
    finally:
        crawl.close()
    return report
