"""Walking one discovery window (a journal-year of Crossref or listing pages) to its end.

A window is walked page by page until the source has no next page (Crossref: an empty page;
a page shorter than ``rows`` does not end it), until the count the source announced is
reached, or until a page comes back a second time (a source going round in circles). What
was found is compared with what was announced, for every source: a difference is logged
and reported, never silently marked done.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ccpapers.crawl.charset import to_utf8
from ccpapers.crawl.fetch.errors import BlockedError, FetchError, HttpStatusError
from ccpapers.crawl.sources.base import Window

if TYPE_CHECKING:
    from ccpapers.crawl.pipeline import Crawl

log = logging.getLogger(__name__)


class WindowFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def walk_window(crawl: Crawl, w: Window) -> None:
    """Discover ``w`` into the journal (``done``, or ``failed`` with WindowFailed raised)."""
    assert w.first_url is not None
    by_doi = crawl.source.resumes_by_doi
    html = crawl.source.html_pages
    refresh = crawl.cfg.refresh
    url: str | None = w.first_url
    found, expected, pages = 0, None, 0
    dois: set[str] = set()
    listed = 0
    visited: set[str] = set()
    while url:
        if url in visited:
            log.warning("%s: the source sent %s again; the window ends here", w.key, url)
            break
        visited.add(url)
        try:
            # Pages that shift as papers appear (listings): an unfinished year is walked afresh
            # from page 1 and resumed by DOI (known DOIs are skipped), never by page number.
            resp = crawl.client.get(url, use_cache=not (refresh or by_doi))
            data = to_utf8(resp.content, resp.headers.get("content-type")) if html else resp.content
            page = crawl.source.parse_page(w, data, url)
        except BlockedError:
            raise
        except HttpStatusError as exc:
            if pages and not refresh and exc.status in (400, 404, 410):
                # a stale Crossref cursor from an interrupted run: walk the window afresh
                log.info("%s: %s, discovering the window again", w.key, exc)
                refresh, url, found, pages, listed = True, w.first_url, 0, 0, 0
                dois, visited = set(), set()
                continue
            _failed(crawl, w, found, expected, exc.code, str(exc))
        except FetchError as exc:
            _failed(crawl, w, found, expected, exc.code, str(exc))
        except ValueError as exc:
            _failed(crawl, w, found, expected, "bad_discovery_page", str(exc))
        pages += 1
        crawl.new_refs += crawl.db.add_refs([crawl.stable_ref(r) for r in page.refs])
        dois.update(r.doi for r in page.refs)
        listed += page.listed if page.listed is not None else len(page.refs)
        # pages that shift as papers appear: count distinct DOIs; a cursor walk: items listed
        found = len(dois) if by_doi else listed
        expected = page.expected if page.expected is not None else expected
        crawl.db.set_window(w.key, "partial", found, expected)
        if expected is not None and found >= expected:
            break  # complete by the source's own count, whatever page it is on
        url = page.next_url
    crawl.db.set_window(w.key, "done", found, expected)
    if expected is not None and found != expected:
        log.warning("%s: found %d of the %d papers the source announced", w.key, found, expected)


def _failed(crawl: Crawl, w: Window, found: int, expected: int | None, code: str, msg: str) -> None:
    crawl.discovery_errors[w.key] = f"{code}: {msg}"
    crawl.db.set_window(w.key, "failed", found, expected)
    raise WindowFailed(code, msg)
