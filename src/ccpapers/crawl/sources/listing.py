"""nature.com journal listing pages: ``<site>/<slug>/articles?type=article&year=Y&page=N``.

Cards (``article.c-card`` with ``a.c-card__link[href="/articles/<id>"]`` and
``time[datetime]``) give the article ids; the "Next" pagination link gives the next page;
the year facet ("2023 (N)") gives the count to cross-check. Pages shift as papers appear,
so progress is kept as the set of DOIs found (the journal), never as a page number.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin

import lxml.html

from ccpapers.crawl.journals import Journal, journal_years, parse_years
from ccpapers.crawl.sources.base import Page, Window, date_ok
from ccpapers.types import PaperRef

if TYPE_CHECKING:
    from ccpapers.crawl.config import CrawlConfig

_CARD = (
    "//article[contains(concat(' ', normalize-space(@class), ' '), ' c-card ')]"
    " | //div[@itemtype='http://schema.org/ScholarlyArticle']"
)
_NEXT = (
    "//a[@rel='next'][@href]"
    " | //li[contains(@class, 'c-pagination__item')]/a[contains(@class, 'c-pagination__link')]"
    "[contains(translate(normalize-space(.), 'NEXT', 'next'), 'next')][@href]"
)


class ListingSource:
    name = "listing"
    uses_journals = True
    resumes_by_doi = True  # pages shift as papers appear
    html_pages = True
    site_article_urls = True

    def __init__(
        self, journals: list[Journal], years: tuple[int, int], site: str, since: str | None = None
    ) -> None:
        self.journals = journals
        self.years = years
        self.site = site.rstrip("/")
        self.since = since

    @classmethod
    def from_config(
        cls, cfg: CrawlConfig, journals: list[Journal], table: dict[str, Journal]
    ) -> ListingSource:
        return cls(journals, parse_years(cfg.years), cfg.site, cfg.since)

    def url(self, journal: Journal, year: int, page: int = 1) -> str:
        query = {"type": "article", "year": str(year)}
        if page > 1:
            query.update(page=str(page))
        return f"{self.site}/{journal.slug}/articles?{urlencode(query)}"

    def windows(self) -> list[Window]:
        return [
            Window(
                key=f"listing:{j.slug}:{y}" + (f":since={self.since}" if self.since else ""),
                journal=j.slug,
                first_url=self.url(j, y),
                year=y,
            )
            for j in self.journals
            for y in journal_years(j, self.years, self.since)
        ]

    def parse_page(self, window: Window, data: bytes, url: str) -> Page:
        journal = next(j for j in self.journals if j.slug == window.journal)
        doc = lxml.html.fromstring(data)
        refs: list[PaperRef] = []
        for card in doc.xpath(_CARD):
            links = card.xpath(".//a[contains(@href, '/articles/')]/@href")
            if not links:
                continue
            href = links[0]
            article_id = href.split("/articles/", 1)[1].split("?")[0].split("#")[0].strip("/")
            times = card.xpath(".//time/@datetime")
            published = times[0][:10] if times else None
            if window.year and published and not published.startswith(str(window.year)):
                continue
            if not date_ok(published, self.since):
                continue
            title = " ".join(" ".join(card.xpath(".//h3//text()")).split()) or None
            refs.append(
                PaperRef(
                    doi=f"{journal.doi_prefix}/{article_id}".lower(),
                    journal=journal.slug,
                    url=urljoin(self.site + "/", href.lstrip("/")),
                    published=published,
                    title=title,
                    source=self.name,
                )
            )
        nxt = doc.xpath(_NEXT)
        next_url = urljoin(url, nxt[0].get("href")) if nxt and refs else None
        return Page(refs=refs, next_url=next_url, expected=self._year_count(doc, window.year))

    @staticmethod
    def _year_count(doc: lxml.html.HtmlElement, year: int | None) -> int | None:
        if year is None:
            return None
        for node in doc.xpath("//*[@data-test='year-facet'] | //*[contains(@class, 'facet')]"):
            m = re.search(rf"\b{year}\s*\((\d[\d,]*)\)", node.text_content())
            if m:
                return int(m.group(1).replace(",", ""))
        m = re.search(rf"\b{year}\s*\((\d[\d,]*)\)", doc.text_content())
        return int(m.group(1).replace(",", "")) if m else None
