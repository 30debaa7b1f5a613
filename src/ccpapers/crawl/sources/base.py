"""The Source protocol and its small value types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol
from urllib.parse import quote

from ccpapers.types import PaperRef

if TYPE_CHECKING:
    from ccpapers.crawl.config import CrawlConfig
    from ccpapers.crawl.journals import Journal


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
    listed: int | None = None  # entries the page listed (before filtering); None: len(refs)


class Source(Protocol):
    """What to discover and how to read it; the crawl asks what it can do, never its name.

    Capabilities (class attributes):

    - ``uses_journals``: discovers per journal of ``--journals`` (else the refs come from elsewhere).
    - ``resumes_by_doi``: its pages shift as papers appear, so a window is walked afresh (its pages
      never come from the cache), resumed by the DOIs already known and counted by distinct DOIs.
    - ``html_pages``: discovery pages are HTML in the server's charset (decoded to UTF-8 first).
    - ``site_article_urls``: the article URLs it finds are ``<--site>/articles/<id>``, so a stored
      absolute one is moved to today's ``--site`` (a user's own URL is kept).
    """

    name: ClassVar[str]
    uses_journals: ClassVar[bool]
    resumes_by_doi: ClassVar[bool]
    html_pages: ClassVar[bool]
    site_article_urls: ClassVar[bool]

    @classmethod
    def from_config(cls, cfg: CrawlConfig, journals: list[Journal], table: dict[str, Journal]) -> Source:
        """The source ``cfg`` asks for, over the selected ``journals`` (the whole ``table`` known)."""
        ...

    def windows(self) -> list[Window]: ...

    def parse_page(self, window: Window, data: bytes, url: str) -> Page: ...


def article_url(site: str, doi: str) -> str:
    """nature.com-style article URL: ``<site>/articles/<DOI suffix>``, the suffix escaped.

    A suffix with a ``.`` or ``..`` path segment is refused (ValueError): the HTTP client and
    the server would resolve ``/articles/../private`` to ``/private``, a path robots.txt may
    forbid. ``?``, ``#`` and ``%`` are escaped so a DOI cannot add a query or fragment.
    """
    suffix = doi.split("/", 1)[1]
    if any(seg in (".", "..") for seg in suffix.split("/")):
        raise ValueError(f"DOI {doi!r} has a dot segment ('.' or '..'); it names no article page")
    return f"{site.rstrip('/')}/articles/{quote(suffix, safe='/')}"


def date_ok(published: str | None, since: str | None) -> bool:
    """True when ``published`` (ISO) is on or after ``since`` (YYYY[-MM[-DD]]); unknown dates pass."""
    if not since or not published:
        return True
    return published[: len(since)] >= since
