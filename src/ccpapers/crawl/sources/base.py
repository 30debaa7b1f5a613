"""The Source protocol and its small value types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ccpapers.types import PaperRef


@dataclass
class Window:
    """One unit of discovery, finished or not as a whole (recorded in the journal by ``key``)."""

    key: str
    journal: str
    first_url: str | None = None  # None: the refs are known without fetching
    refs: list[PaperRef] = field(default_factory=list)
    year: int | None = None


@dataclass
class Page:
    refs: list[PaperRef]
    next_url: str | None = None
    expected: int | None = None  # total the source announces for the window, if any


class Source(Protocol):
    name: str

    def windows(self) -> list[Window]: ...

    def parse_page(self, window: Window, data: bytes, url: str) -> Page: ...


def article_url(site: str, doi: str) -> str:
    """nature.com-style article URL: ``<site>/articles/<DOI suffix>``."""
    return f"{site.rstrip('/')}/articles/{doi.split('/', 1)[1]}"


def date_ok(published: str | None, since: str | None) -> bool:
    """True when ``published`` (ISO) is on or after ``since`` (YYYY[-MM[-DD]]); unknown dates pass."""
    if not since or not published:
        return True
    return published[: len(since)] >= since
