"""What the sample site serves besides article pages: listing pages, Crossref JSON, robots.txt."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from ccpapers.sample.render import LICENSES, TDM_URL, _e, _long_date, doi_of, is_open


def render_listing(
    journal: dict[str, Any], articles: list[dict[str, Any]], year: int, page: int, page_size: int
) -> str:
    """``/<slug>/articles?type=article&year=Y&page=N``: cards, pagination and year facets."""
    in_year = [
        a for a in articles if a["published"].startswith(str(year)) and a.get("article_type") == "Article"
    ]
    in_year.sort(key=lambda a: a["published"], reverse=True)
    pages = max(1, -(-len(in_year) // page_size))
    chunk = in_year[(page - 1) * page_size : page * page_size]
    cards = []
    for a in chunk:
        oa = (
            '<span class="c-meta__item u-color-open-access" data-test="open-access">Open Access</span>'
            if is_open(a)
            else ""
        )
        summary = re.sub(r"<[^>]+>", "", a["sections"][0]["paragraphs"][0])[:200]
        cards.append(
            '<li class="app-article-list-row__item"><div class="u-full-height"><article class="u-full-height '
            'c-card c-card--flush" itemscope itemtype="http://schema.org/ScholarlyArticle"><div class="c-card__body">'
            f'<h3 class="c-card__title" itemprop="name headline"><a href="/articles/{a["id"]}" '
            f'class="c-card__link u-link-inherit" itemprop="url">{_e(a["title"])}</a></h3>'
            f'<div class="c-card__summary" itemprop="description"><p>{_e(summary)}</p></div>'
            f'<div class="c-card__section c-meta"><span class="c-meta__item" data-test="article.type">'
            f'<span class="c-meta__type">{_e(a.get("article_type", "Article"))}</span></span>{oa}'
            f'<time class="c-meta__item" datetime="{a["published"]}" itemprop="datePublished">'
            f"{_long_date(a['published'])}</time></div></div></article></div></li>"
        )
    years: dict[int, int] = {}
    for a in articles:
        if a.get("article_type") == "Article":
            y = int(a["published"][:4])
            years[y] = years.get(y, 0) + 1
    facets = "".join(
        f'<li class="c-facet__item" data-test="year-facet"><a href="/{journal["slug"]}/articles?type=article&amp;year={y}">'
        f"{y} ({n})</a></li>"
        for y, n in sorted(years.items(), reverse=True)
    )

    def link(p: int) -> str:
        q = {"type": "article", "year": str(year)}
        if p > 1:
            q.update(searchType="journalSearch", sort="PubDate", page=str(p))
        return f"/{journal['slug']}/articles?{_e(urlencode(q))}"

    items = "".join(
        f'<li class="c-pagination__item" data-page="{p}">'
        + (f"<span>{p}</span>" if p == page else f'<a class="c-pagination__link" href="{link(p)}">{p}</a>')
        + "</li>"
        for p in range(1, pages + 1)
    )
    if page < pages:
        items += (
            f'<li class="c-pagination__item" data-page="next"><a class="c-pagination__link" '
            f'href="{link(page + 1)}"><span>Next page</span></a></li>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Articles in {year} | {_e(journal['name'])}</title></head><body>"
        f'<h1>Articles in {year}</h1><div class="c-facet"><h2>Year</h2><ul>{facets}</ul></div>'
        f'<section id="new-article-list"><ul class="app-article-list-row">{"".join(cards)}</ul></section>'
        f'<nav aria-label="pagination"><ul class="c-pagination">{items}</ul></nav></body></html>\n'
    )


def crossref_item(article: dict[str, Any], journal: dict[str, Any], site: str) -> dict[str, Any]:
    """A Crossref ``works`` item for ``article`` (with its ``license`` array)."""
    y, m, d = (int(x) for x in article["published"].split("-"))
    parts = {"date-parts": [[y, m, d]]}
    licences = []
    lic = LICENSES.get(article.get("license", "none"))
    if lic and is_open(article):
        for version in ("vor", "tdm"):
            licences.append(
                {"start": parts, "content-version": version, "delay-in-days": 0, "URL": lic["url"]}
            )
    else:
        licences.append({"start": parts, "content-version": "tdm", "delay-in-days": 0, "URL": TDM_URL})
    return {
        "DOI": doi_of(article),
        "type": "journal-article",
        "title": [article["title"]],
        "container-title": [journal["name"]],
        "ISSN": [journal["eissn"]],
        "issn-type": [{"value": journal["eissn"], "type": "electronic"}],
        "issued": parts,
        "published-online": parts,
        "license": licences,
        "link": [
            {
                "URL": f"{site}/articles/{article['id']}.pdf",
                "content-type": "application/pdf",
                "content-version": "vor",
                "intended-application": "text-mining",
            }
        ],
        "URL": f"https://doi.org/{doi_of(article)}",
    }


def robots_txt(extra_disallow: list[str] | None = None, crawl_delay: float | None = None) -> str:
    lines = ["User-agent: *", "Disallow: /search", "Disallow: /account"]
    lines += [f"Disallow: {p}" for p in extra_disallow or []]
    if crawl_delay:
        lines.append(f"Crawl-delay: {crawl_delay:g}")
    return "\n".join(lines) + "\n"
