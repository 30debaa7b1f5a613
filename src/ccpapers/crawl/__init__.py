"""Crawl stage: discover, fetch and parse CC-licensed papers.

``run_crawl(cfg: CrawlConfig) -> dict`` runs or resumes a crawl and returns its report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ccpapers.crawl.config import CrawlConfig


def run_crawl(cfg: CrawlConfig, **kwargs: Any) -> dict:
    """Run (or resume) a crawl; see :func:`ccpapers.crawl.pipeline.run_crawl`."""
    from ccpapers.crawl.pipeline import run_crawl as _run

    return _run(cfg, **kwargs)


__all__ = ["run_crawl"]
