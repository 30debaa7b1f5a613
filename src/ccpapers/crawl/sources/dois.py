"""A user's file of DOIs or article URLs, one per line (``#`` starts a comment)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ccpapers.config import ConfigError
from ccpapers.crawl.journals import Journal, journal_for_doi
from ccpapers.crawl.sources.base import Page, Window, article_url
from ccpapers.types import PaperRef

if TYPE_CHECKING:
    from ccpapers.crawl.config import CrawlConfig

_DOI = re.compile(r"(10\.\d{4,9}/[^\s\"<>]+)", re.I)


def parse_line(line: str, site: str, table: dict[str, Journal]) -> PaperRef | None:
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    url: str | None = None
    m = _DOI.search(text)
    if m and "/articles/" not in text:
        doi = m.group(1).rstrip(".,;").lower()
    elif "/articles/" in text:
        article_id = text.split("/articles/", 1)[1].split("?")[0].split("#")[0].strip("/")
        journal = journal_for_doi(f"x/{article_id}", table)
        doi = f"{journal.doi_prefix if journal else '10.1038'}/{article_id}".lower()
        url = text if text.startswith(("http://", "https://")) else None
    else:
        raise ConfigError(f"{text!r} is neither a DOI (10.xxxx/...) nor an article URL (…/articles/<id>)")
    journal = journal_for_doi(doi, table)
    try:
        built = article_url(site, doi)
    except ValueError as exc:
        raise ConfigError(f"{text!r}: {exc}; fix or remove this line") from None
    return PaperRef(
        doi=doi,
        journal=journal.slug if journal else "unknown",
        url=url or built,
        source="dois",
    )


class DoiFileSource:
    name = "dois"
    uses_journals = False  # the file names the papers; their journals come from the DOIs
    resumes_by_doi = False
    html_pages = False
    site_article_urls = False  # a line may be the user's own article URL

    def __init__(self, path: str | Path, site: str, table: dict[str, Journal]) -> None:
        self.path = Path(path).expanduser()
        self.site = site
        self.table = table

    @classmethod
    def from_config(
        cls, cfg: CrawlConfig, journals: list[Journal], table: dict[str, Journal]
    ) -> DoiFileSource:
        assert cfg.dois_file is not None  # CrawlConfig refuses source=dois without it
        return cls(cfg.dois_file, cfg.site, table)

    def windows(self) -> list[Window]:
        if not self.path.is_file():
            raise ConfigError(f"dois_file {self.path} does not exist")
        refs = []
        for lineno, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                ref = parse_line(line, self.site, self.table)
            except ConfigError as exc:
                raise ConfigError(f"dois_file {self.path}:{lineno}: {exc}") from None
            if ref is not None:
                refs.append(ref)
        return [Window(key=f"dois:{self.path.resolve()}", journal="*", refs=refs)]

    def parse_page(self, window: Window, data: bytes, url: str) -> Page:  # pragma: no cover
        raise NotImplementedError("the dois source fetches no discovery pages")
