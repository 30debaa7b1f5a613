"""Render sample articles into nature.com's templates (pure functions: data -> HTML/JSON).

Variants: ``current`` (c-article-* template), ``main`` (same, Nature-style "Main" heading),
``transition`` (2018-2019 template: div.article-body, section > div > h2), ``paywalled``
(preview: abstract and an access wall, no licence) and ``broken`` (the current page cut
off mid-body, as a dropped transfer leaves it).
"""

from __future__ import annotations

import html
import json
import re
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

DOI_PREFIX = "10.5555"

LICENSES: dict[str, dict[str, str]] = {
    "cc-by-4.0": {
        "url": "http://creativecommons.org/licenses/by/4.0/",
        "oa": "CC BY",
        "text": "This article is licensed under a Creative Commons Attribution 4.0 International License, "
        "which permits use, sharing, adaptation, distribution and reproduction in any medium or format, as "
        "long as you give appropriate credit to the original author(s) and the source, provide a link to the "
        "Creative Commons licence, and indicate if changes were made. The images or other third party "
        "material in this article are included in the article’s Creative Commons licence, unless indicated "
        "otherwise in a credit line to the material. If material is not included in the article’s Creative "
        "Commons licence and your intended use is not permitted by statutory regulation or exceeds the "
        "permitted use, you will need to obtain permission directly from the copyright holder. To view a "
        "copy of this licence, visit ",
    },
    "cc-by-3.0": {
        "url": "http://creativecommons.org/licenses/by/3.0/",
        "oa": "CC BY",
        "text": "This work is licensed under a Creative Commons Attribution 3.0 Unported License. The images "
        "or other third party material in this article are included in the article’s Creative Commons "
        "license, unless indicated otherwise in the credit line; if the material is not included under the "
        "Creative Commons license, users will need to obtain permission from the license holder to "
        "reproduce the material. To view a copy of this license, visit ",
    },
    "cc-by-nc-sa-3.0": {
        "url": "http://creativecommons.org/licenses/by-nc-sa/3.0/",
        "oa": "CC BY-NC-SA",
        "text": "This work is licensed under a Creative Commons Attribution-NonCommercial-ShareAlike 3.0 "
        "Unported License. To view a copy of this license, visit ",
    },
    "cc-by-nc-nd-4.0": {
        "url": "http://creativecommons.org/licenses/by-nc-nd/4.0/",
        "oa": "CC BY-NC-ND",
        "text": "This article is licensed under a Creative Commons Attribution-NonCommercial-NoDerivatives "
        "4.0 International License, which permits any non-commercial use, sharing, distribution and "
        "reproduction in any medium or format, as long as you give appropriate credit to the original "
        "author(s) and the source, provide a link to the Creative Commons licence, and indicate if you "
        "modified the licensed material. You do not have permission under this licence to share adapted "
        "material derived from this article or parts of it. To view a copy of this licence, visit ",
    },
}
TDM_URL = "https://www.springernature.com/gp/researchers/text-and-data-mining"
_CITE = re.compile(r"\{cite:([\d,\s\-]+)\}")
_INLINE_MATH = re.compile(r"\\\((.+?)\\\)")


def doi_of(article: dict[str, Any]) -> str:
    return f"{DOI_PREFIX}/{article['id']}"


def is_open(article: dict[str, Any]) -> bool:
    return article.get("license", "none") in LICENSES and article.get("variant") != "paywalled"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _long_date(iso: str) -> str:
    d = date.fromisoformat(iso)
    return d.strftime("%d %B %Y")


# -- inline markup ---------------------------------------------------------------------------


def inline(text: str, article_id: str, transition: bool = False) -> str:
    """Paragraph text (may hold <sub>/<sup>/<i>/<b>) with citation and inline-math markup."""

    def cite(m: re.Match[str]) -> str:
        nums: list[int] = []
        for part in m.group(1).split(","):
            part = part.strip()
            if "-" in part:
                a, b = part.split("-", 1)
                nums.extend(range(int(a), int(b) + 1))
            elif part:
                nums.append(int(part))
        if transition:
            links = [
                f'<a data-track="click" data-track-action="reference anchor" href="#ref{n}" '
                f'id="ref-link-{n}">{n}</a>'
                for n in nums
            ]
        else:
            links = [
                f'<a data-track="click" data-track-action="reference anchor" data-track-label="link" '
                f'data-test="citation-ref" aria-label="Reference {n}" title="Reference {n}" '
                f'href="/articles/{article_id}#ref-CR{n}" id="ref-link-section-d{n}e{400 + n}">{n}</a>'
                for n in nums
            ]
        return "<sup>" + ",".join(links) + "</sup>"

    out = _CITE.sub(cite, text)
    return _INLINE_MATH.sub(lambda m: f'<span class="mathjax-tex">\\({m.group(1)}\\)</span>', out)


def _figure(article_id: str, n: int, caption: str) -> str:
    head, _, rest = caption.partition(": ")
    title = rest or caption
    img = f"//media.example.invalid/{article_id}/Fig{n}_HTML.png"
    return (
        f'<div class="c-article-section__figure js-c-reading-companion-figures-item" data-test="figure" '
        f'data-container-section="figure" id="figure-{n}" data-title="{_e(title)}"><figure><figcaption>'
        f'<b id="Fig{n}" class="c-article-section__figure-caption" data-test="figure-caption-text">'
        f'{_e(head or f"Fig. {n}")}: {_e(title)}</b></figcaption><div class="c-article-section__figure-content">'
        f'<div class="c-article-section__figure-item"><picture><img aria-describedby="Fig{n}" src="{img}" '
        f'alt="figure {n}" loading="lazy"></picture></div><div class="c-article-section__figure-description" '
        f'data-test="bottom-caption" id="figure-{n}-desc"><p>{_e(title)}</p></div></div>'
        f'<div class="u-text-right u-hide-print"><a class="c-article__pill-button" data-test="article-link" '
        f'href="/articles/{article_id}/figures/{n}"><span>Full size image</span></a></div></figure></div>'
    )


def _equation(n: int, tex: str) -> str:
    return (
        f'<div id="Equ{n}" class="c-article-equation"><div class="c-article-equation__content">'
        f'<span class="mathjax-tex">$${_e(tex)}$$</span></div>'
        f'<div class="c-article-equation__number">({n})</div></div>'
    )


# -- sections ----------------------------------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.sec = 0
        self.fig = 0
        self.equ = 0


def _section_inner(sec: dict[str, Any], aid: str, c: _Counter, transition: bool) -> str:
    parts = [f"<p>{inline(p, aid, transition)}</p>" for p in sec.get("paragraphs") or []]
    for sub in sec.get("subsections") or []:
        c.sec += 1
        if transition:
            parts.append(f'<h3 class="h3 tighten-line-height" id="Sec{c.sec}">{_e(sub["title"])}</h3>')
        else:
            parts.append(f'<h3 class="c-article__sub-heading" id="Sec{c.sec}">{_e(sub["title"])}</h3>')
        parts.extend(f"<p>{inline(p, aid, transition)}</p>" for p in sub.get("paragraphs") or [])
        if sub.get("equation"):
            c.equ += 1
            parts.append(_equation(c.equ, sub["equation"]))
        if sub.get("figure"):
            c.fig += 1
            parts.append(_figure(aid, c.fig, sub["figure"]))
    if sec.get("figure"):
        c.fig += 1
        parts.append(_figure(aid, c.fig, sec["figure"]))
    return "".join(parts)


def _current_section(title: str, ident: str, inner: str, labelled: bool = False) -> str:
    label = f' aria-labelledby="{ident}"' if labelled else ""
    return (
        f'<section{label} data-title="{_e(title)}"><div class="c-article-section" id="{ident}-section">'
        f'<h2 class="c-article-section__title js-section-title js-c-reading-companion-sections-item" '
        f'id="{ident}">{_e(title)}</h2><div class="c-article-section__content" id="{ident}-content">'
        f"{inner}</div></div></section>"
    )


def _transition_section(title: str, ident: str, inner: str) -> str:
    return (
        f'<section aria-labelledby="{ident}"><div class="pl20 mq875-pl0 js-collapsible-section" '
        f'id="{ident}-section"><h2 class="h3 tighten-line-height" id="{ident}">{_e(title)}</h2>'
        f'<div class="pl20 mq875-pl0 js-collapsible-section" id="{ident}-content">{inner}</div></div></section>'
    )


def rightslink_url(article: dict[str, Any], journal: dict[str, Any]) -> str:
    query = {
        "title": article["title"],
        "author": f"{article['authors'][0]} et al",
        "contentID": doi_of(article),
        "copyright": "The Author(s)",
        "publication": journal["eissn"],
        "publicationDate": article["published"],
        "publisherName": journal.get("publisher", "Fictional Research Group"),
        "orderBeanReset": "true",
    }
    lic = LICENSES.get(article.get("license", "none"))
    if lic and is_open(article):
        query["oa"] = lic["oa"]
    return "https://s100.copyright.com/AppDispatchServlet?" + urlencode(query, quote_via=quote)


def _rights_inner(article: dict[str, Any], journal: dict[str, Any]) -> str:
    lic = LICENSES.get(article.get("license", "none"))
    parts = []
    if lic and is_open(article):
        parts.append(
            f'<p><b>Open Access</b> {_e(lic["text"])}<a href="{lic["url"]}" rel="license">{lic["url"]}</a>.</p>'
        )
    parts.append(
        '<p class="c-article-rights"><a data-track="click" data-track-action="view rights and permissions" '
        f'href="{_e(rightslink_url(article, journal))}">Reprints and permissions</a></p>'
    )
    return "".join(parts)


def _references(article: dict[str, Any]) -> str:
    nums = sorted(
        {int(n) for s in _CITE.findall(json.dumps(article["sections"])) for n in re.findall(r"\d+", s)}
    )
    items = "".join(
        f'<li class="c-article-references__item js-c-reading-companion-references-item" data-counter="{n}.">'
        f'<p class="c-article-references__text" id="ref-CR{n}">Imaginary, A. et al. A cited fictional study '
        f"number {n}. <i>J. Fict. Res.</i> <b>{n}</b>, {n * 7}–{n * 7 + 9} (2029).</p></li>"
        for n in nums
    )
    return (
        '<div data-container-section="references"><ol class="c-article-references" '
        f'data-track-component="outbound reference">{items}</ol></div>'
    )


def _back_matter(article: dict[str, Any], journal: dict[str, Any], site: str, transition: bool) -> str:
    doi = doi_of(article)
    sect = _transition_section if transition else (lambda t, i, x: _current_section(t, i, x, True))
    about = (
        '<div class="c-bibliographic-information"><p class="c-bibliographic-information__citation">'
        f"{_e(', '.join(article['authors']))}. {_e(article['title'])}. <i>{_e(journal['name'])}</i> "
        f'({article["published"][:4]}). https://doi.org/{doi}</p><ul><li><p>DOI<span class="u-hide">: </span>'
        f'<span class="c-bibliographic-information__value"><a href="https://doi.org/{doi}">https://doi.org/{doi}'
        "</a></span></p></li></ul></div>"
    )
    return "".join(
        [
            sect("References", "Bib1", _references(article)),
            sect("Acknowledgements", "Ack1", "<p>We thank the Fictional Research Council for support.</p>"),
            sect(
                "Author information",
                "author-information",
                '<h3 class="c-article__sub-heading" id="affiliations">Authors and Affiliations</h3>'
                f"<p>{_e(', '.join(article['authors']))}</p>",
            ),
            sect("Ethics declarations", "ethics", "<p>The authors declare no competing interests.</p>"),
            sect("Rights and permissions", "rightslink", _rights_inner(article, journal)),
            sect("About this article", "article-info", about),
        ]
    )


# -- pages -------------------------------------------------------------------------------------


def _head(article: dict[str, Any], journal: dict[str, Any], site: str) -> str:
    doi, aid = doi_of(article), article["id"]
    url = f"{site}/articles/{aid}"
    pub = article["published"].replace("-", "/")
    open_ = is_open(article)
    lic = LICENSES.get(article.get("license", "none"))
    year = article["published"][:4]
    metas = [
        ("dc.title", article["title"]),
        ("dc.type", "OriginalPaper"),
        ("dc.date", article["published"]),
        ("dc.rights", f"{year} The Author(s)" if open_ else f"{year} Fictional Research Group Ltd"),
        ("dc.rightsAgent", "permissions@example.invalid"),
        ("prism.issn", journal["eissn"]),
        ("prism.publicationName", journal["name"]),
        ("prism.publicationDate", article["published"]),
        ("prism.doi", f"doi:{doi}"),
        ("citation_journal_title", journal["name"]),
        ("citation_publisher", journal.get("publisher", "")),
        ("citation_issn", journal["eissn"]),
        ("citation_title", article["title"]),
        ("citation_publication_date", pub),
        ("citation_online_date", pub),
        ("citation_article_type", article.get("article_type", "Article")),
        ("citation_pdf_url", url + ".pdf"),
        ("citation_fulltext_html_url", url),
        ("citation_doi", doi),
        ("DOI", doi),
    ]
    if open_:
        metas.append(("citation_fulltext_world_readable", ""))
    metas += [("citation_author", a) for a in article["authors"]]
    metas += [("dc.subject", k) for k in article.get("keywords", [])]
    metas.append(("access", "Yes" if open_ else "No"))
    layer = [
        {
            "content": {
                "category": {"contentType": article.get("article_type", "Article").lower()},
                "article": {"doi": doi},
                "attributes": {
                    "copyright": {
                        "open": open_,
                        "legacy": {"webtrendsLicenceType": lic["url"] if (lic and open_) else None},
                    }
                },
                "contentInfo": {"publishedAtString": article["published"], "title": article["title"]},
                "journal": {"pcode": journal["slug"], "title": journal["name"].lower()},
                "authorization": {"status": open_},
            },
            "page": {"category": {"pageType": "article"}},
        }
    ]
    ld = {
        "mainEntity": {
            "headline": article["title"],
            "datePublished": article["published"] + "T00:00:00Z",
            "author": [{"name": a, "@type": "Person"} for a in article["authors"]],
            "keywords": ",".join(article.get("keywords", [])),
            "@type": "ScholarlyArticle",
        },
        "@context": "https://schema.org",
        "@type": "WebPage",
    }
    return (
        '<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(article['title'])} | {_e(journal['name'])}</title>\n"
        + "".join(f'<meta name="{n}" content="{_e(v)}"/>\n' for n, v in metas)
        + f'<meta property="og:url" content="{url}"/>\n<link rel="canonical" href="{url}">\n'
        f'<script data-test="dataLayer">\nwindow.dataLayer = {json.dumps(layer)};\n</script>\n'
        f'<script type="application/ld+json">{json.dumps(ld)}</script>\n</head>\n'
    )


def _header_current(article: dict[str, Any]) -> str:
    authors = "".join(
        f'<li class="c-article-author-list__item"><a data-test="author-name" href="#auth-{i}">{_e(a)}</a></li>'
        for i, a in enumerate(article["authors"], 1)
    )
    oa = (
        '<li class="c-article-identifiers__item"><a class="u-color-open-access" data-test="open-access" '
        'href="/open-access">Open access</a></li>'
        if is_open(article)
        else ""
    )
    return (
        '<div class="c-article-header"><header><ul class="c-article-identifiers" data-test="article-identifier">'
        f'<li class="c-article-identifiers__item" data-test="article-category">{_e(article.get("article_type", "Article"))}</li>'
        f'{oa}<li class="c-article-identifiers__item">Published: <time datetime="{article["published"]}">'
        f"{_long_date(article['published'])}</time></li></ul>"
        f'<h1 class="c-article-title" data-test="article-title">{_e(article["title"])}</h1>'
        f'<ul class="c-article-author-list" data-test="authors-list">{authors}</ul></header></div>'
    )


def render_article(article: dict[str, Any], journal: dict[str, Any], site: str = "") -> str:
    """The article page of ``article`` in its variant's template."""
    variant = article.get("variant", "current")
    transition = variant == "transition"
    aid = article["id"]
    c = _Counter()
    sections = article["sections"]
    abstract, rest = sections[0], sections[1:]
    if transition:
        body_parts = [_transition_section("Abstract", "abstract", _section_inner(abstract, aid, c, True))]
        for sec in rest:
            ident = re.sub(r"[^a-z0-9]+", "-", sec["title"].lower()).strip("-")
            body_parts.append(_transition_section(sec["title"], ident, _section_inner(sec, aid, c, True)))
        body_parts.append(_back_matter(article, journal, site, True))
        header = (
            '<header><div class="article-info"><ul data-component="article-info-list" class="cleared">'
            f"<li>{_e(article.get('article_type', 'Article'))}</li><li>| Open</li><li>| Published: "
            f'<time datetime="{article["published"]}">{_long_date(article["published"])}</time></li></ul></div>'
            f'<h1 class="tighten-line-height small-space-below" itemprop="name headline">{_e(article["title"])}</h1>'
            f'<ul class="js-list-authors">{"".join(f"<li>{_e(a)}</li>" for a in article["authors"])}</ul>'
            '<a href="#citeas">Download Citation</a></header>'
        )
        body = f'<div class="article-body clear">{"".join(body_parts)}</div>'
        main = f'<article itemscope itemtype="http://schema.org/ScholarlyArticle">{header}{body}</article>'
    else:
        abstract_html = _current_section("Abstract", "Abs1", _section_inner(abstract, aid, c, False), True)
        recommendations = (
            '<div class="c-article-recommendations" data-test="recommendations"><h2 '
            'class="c-article-recommendations-title">Similar content being viewed by others</h2>'
            '<article class="c-article-recommendations-card"><h3>Another imaginary study</h3></article></div>'
        )
        if variant == "paywalled":
            wall = (
                '<div class="app-access-wall__container" data-test="access-wall"><p>This is a preview of '
                "subscription content, access via your institution</p><h2>Access options</h2>"
                '<div class="c-article-buy-box buybox"><p>Buy article PDF 39,95 €</p></div></div>'
            )
            suffix = '<div id="MagazineFulltextArticleBodySuffix">' + _current_section(
                "Rights and permissions", "rightslink", _rights_inner(article, journal), True
            )
            body = f'<div class="c-article-body">{abstract_html}{wall}{suffix}</div></div>'
        else:
            main_parts = []
            for sec in rest:
                c.sec += 1
                main_parts.append(
                    _current_section(sec["title"], f"Sec{c.sec}", _section_inner(sec, aid, c, False))
                )
            body = (
                f'<div class="c-article-body">{abstract_html}{recommendations}'
                f'<div class="main-content" data-test="main-content">{"".join(main_parts)}</div>'
                f'<div id="MagazineFulltextArticleBodySuffix">{_back_matter(article, journal, site, False)}</div>'
                "</div>"
            )
        main = f'<article lang="en">{_header_current(article)}{body}</article>'
    page = (
        '<!DOCTYPE html>\n<html lang="en" class="grade-c">\n'
        + _head(article, journal, site)
        + '<body class="article-page"><header class="c-header"><a href="/'
        + journal["slug"]
        + f'">{_e(journal["name"])}</a></header><nav aria-label="breadcrumbs"><ol><li>home</li></ol></nav>'
        + f'<div class="u-container" id="content"><main class="c-article-main-column">{main}</main></div>'
        + '<footer><p class="c-footer__legal">© Fictional Research Group</p></footer>\n</body>\n</html>\n'
    )
    if variant == "broken":
        cut = page.find("</section>", page.find('data-title="Abstract"'))
        page = page[: cut - 120]  # cut inside the abstract's last paragraph: no </html>
    return page
