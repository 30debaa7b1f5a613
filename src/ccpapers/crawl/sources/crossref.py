"""Crossref discovery: works per journal eISSN and year, cursor paging, licence evidence.

``<api>/journals/<eISSN>/works?filter=from-pub-date:Y-01-01,until-pub-date:Y-12-31,
type:journal-article&select=…&rows=1000&cursor=*&mailto=…``; ``message.next-cursor`` gives
the next page; the walk ends on an empty page (a page shorter than ``rows`` does not end it:
Crossref serves short pages mid-walk) or, in the pipeline, once ``total-results`` items
were listed. Items whose DOI has a dot segment are skipped (logged). Each item's
``license`` entries (version of record, or unspecified, already started) become licence
evidence for the paper.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from ccpapers.crawl.journals import Journal, journal_years, parse_years
from ccpapers.crawl.sources.base import Page, Window, article_url, date_ok
from ccpapers.types import PaperRef

if TYPE_CHECKING:
    from ccpapers.crawl.config import CrawlConfig

log = logging.getLogger(__name__)

SELECT = "DOI,title,type,license,link,issued,published-online,URL,ISSN,container-title"


def _date(parts_obj: dict | None) -> str | None:
    try:
        parts = (parts_obj or {})["date-parts"][0]
    except (KeyError, IndexError, TypeError):
        return None
    if not parts or parts[0] is None:
        return None
    y, m, d = (list(parts) + [1, 1])[:3]
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def license_evidence(item: dict, today: date | None = None) -> list[str]:
    """Licence URLs of the version of record (or unspecified) in force today.

    When several licences follow each other (e.g. NC for six months, then BY) the one that
    started most recently before today wins; if none has started yet (an embargo, or a
    mirror dated in the future) the earliest is taken.
    """
    today_iso = (today or date.today()).isoformat()
    dated: list[tuple[str, str]] = []
    for lic in item.get("license") or []:
        url = lic.get("URL")
        if url and lic.get("content-version", "vor") in ("vor", "unspecified"):
            dated.append((_date(lic.get("start")) or "0000-01-01", url))
    if not dated:
        return []
    started = [d for d in dated if d[0] <= today_iso]
    if started:
        latest = max(d[0] for d in started)
        chosen = [url for start, url in started if start == latest]
    else:
        earliest = min(d[0] for d in dated)
        chosen = [url for start, url in dated if start == earliest]
    return list(dict.fromkeys(chosen))


class CrossrefSource:
    name = "crossref"
    uses_journals = True
    resumes_by_doi = False  # a cursor walk: its pages are cached, items listed are counted
    html_pages = False
    site_article_urls = True

    def __init__(
        self,
        journals: list[Journal],
        years: tuple[int, int],
        api: str,
        site: str,
        mailto: str | None = None,
        rows: int = 1000,
        since: str | None = None,
    ) -> None:
        self.journals = journals
        self.years = years
        self.api = api.rstrip("/")
        self.site = site
        self.mailto = mailto
        self.rows = rows
        self.since = since

    @classmethod
    def from_config(
        cls, cfg: CrawlConfig, journals: list[Journal], table: dict[str, Journal]
    ) -> CrossrefSource:
        years = parse_years(cfg.years)
        return cls(journals, years, cfg.crossref_api, cfg.site, cfg.mailto, cfg.rows, cfg.since)

    def url(self, journal: Journal, year: int, cursor: str = "*") -> str:
        start = f"{year}-01-01"
        if self.since and self.since[:4] == str(year):
            start = (self.since + "-01-01"[len(self.since) - 4 :])[:10]
        filt = f"from-pub-date:{start},until-pub-date:{year}-12-31,type:journal-article"
        query = {"filter": filt, "select": SELECT, "rows": str(self.rows)}
        if self.mailto:
            query["mailto"] = self.mailto
        return (
            f"{self.api}/journals/{journal.eissn}/works?{urlencode(query, safe=':,-')}"
            f"&cursor={quote(cursor, safe='')}"
        )

    def windows(self) -> list[Window]:
        out = []
        for j in self.journals:
            for y in journal_years(j, self.years, self.since):
                key = f"crossref:{j.slug}:{y}" + (f":since={self.since}" if self.since else "")
                out.append(Window(key=key, journal=j.slug, first_url=self.url(j, y), year=y))
        return out

    def parse_page(self, window: Window, data: bytes, url: str) -> Page:
        try:
            message = json.loads(data)["message"]
            items = message["items"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{url}: not a Crossref works response ({exc})") from exc
        journal = next(j for j in self.journals if j.slug == window.journal)
        refs = []
        for item in items:
            doi = str(item.get("DOI", "")).lower()
            if not doi or "/" not in doi:
                continue
            published = _date(item.get("published-online")) or _date(item.get("issued"))
            if not date_ok(published, self.since):
                continue
            try:
                url = article_url(self.site, doi)
            except ValueError as exc:
                log.warning("%s: skipped a Crossref item: %s", window.key, exc)
                continue
            titles = item.get("title") or []
            refs.append(
                PaperRef(
                    doi=doi,
                    journal=journal.slug,
                    url=url,
                    published=published,
                    license_hint=license_evidence(item),
                    title=titles[0] if titles else None,
                    source=self.name,
                )
            )
        next_cursor = message.get("next-cursor")
        more = bool(items) and isinstance(next_cursor, str) and next_cursor
        next_url = self.url(journal, window.year or 0, next_cursor) if more else None
        total = message.get("total-results")
        expected = total if isinstance(total, int) and not isinstance(total, bool) else None
        return Page(refs=refs, next_url=next_url, expected=expected, listed=len(items))
