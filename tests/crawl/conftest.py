"""Fixtures for crawl tests: the sample site on 127.0.0.1 (real sockets) with fault injection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccpapers.crawl.config import CrawlConfig
from ccpapers.sample.site import SampleSite


@pytest.fixture
def make_site() -> Iterator[Callable[..., SampleSite]]:
    """Start SampleSite(**kwargs) servers; all are stopped after the test."""
    sites: list[SampleSite] = []

    def start(**kwargs: Any) -> SampleSite:
        site = SampleSite(**kwargs)
        site.start()
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.stop()


@pytest.fixture
def site(make_site: Callable[..., SampleSite]) -> SampleSite:
    return make_site()


def crawl_config(work: Path, site: SampleSite, **kwargs: Any) -> CrawlConfig:
    """A crawl of the sample journal against ``site``, fast but still paced."""
    base: dict[str, Any] = dict(
        work=work,
        journals=["jemergmat"],
        years="2030-2034",
        site=site.url,
        crossref_api=site.url + "/crossref",
        mailto="tests@example.org",
        rate=50.0,
        api_rate=50.0,
        timeout=5.0,
        progress=False,
    )
    base.update(kwargs)
    return CrawlConfig(**base)
