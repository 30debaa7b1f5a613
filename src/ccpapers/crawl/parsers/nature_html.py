"""nature.com article pages (HTML) -> Paper.

Templates: the current ``c-article-*`` one (about 2019 onward, also used for re-rendered
older articles: ``div.c-article-body section[data-title]``), the 2018-2019 transition one
(``div.article-body``, ``section > div > h2``) and, when neither yields sections, a
fallback over ``div.c-article-section__content`` blocks.

Sub-sections: every sub-heading (``h3``/``h4``) or nested ``section[data-title]`` opens
its own Section whose title is the path of titles joined by `` / `` (``Results / Band
structure``) and whose kind is the top-level section's kind; text before the first
sub-heading stays in the parent's Section.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from lxml import etree, html

from ccpapers.crawl.parsers import licence_evidence
from ccpapers.crawl.parsers.base import Evidence, ParseError, ParserOptions, TextCollector, looks_like_html
from ccpapers.crawl.parsers.text import (
    is_back_matter,
    join_paragraphs,
    normalise_title,
    section_kind,
    squash,
    tex_display,
    tex_inline,
    tex_to_plain,
)
from ccpapers.types import Paper, Section

VERSION = "2026.11.1"


def cls(token: str) -> str:
    """XPath predicate matching one class token (never a substring of another token)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {token} ')"


_BLOCK = frozenset(
    "p div li ul ol dl dt dd h1 h2 h3 h4 h5 h6 section article header footer main blockquote "
    "pre tr td th br hr caption figcaption details summary".split()
)
_SKIP_TAGS = frozenset(
    "script style noscript figure table nav aside button svg img picture iframe form template "
    "input select textarea object video audio canvas link meta".split()
)
_SKIP_CLASSES = frozenset(
    """c-article-section__figure c-article-table c-article-recommendations c-article-metrics-bar
    c-article-identifiers c-article-info-details c-article-tools u-visually-hidden u-js-hide u-hide
    c-article-footnote c-article-footnote--listed c-article-supplementary__item c-article-references
    c-article-rights c-article-section__figure-description c-article-satellite-title
    c-article-buy-box c-article-access-wall app-access-wall__container""".split()
)
_SKIP_DATA_TEST = frozenset({"figure", "inline-table", "supp-item", "bottom-caption", "table"})
#: Recommendation, related-content and similar blocks, wherever they sit ("Inline Recommendations",
#: "Explore related subjects", "Similar content being viewed by others", associated content).
_CHROME = re.compile(
    r"recommend|related[\s_-]?(?:content|subjects|articles)|explore[\s_-]related|similar[\s_-]content"
    r"|associated[\s_-]content",
    re.I,
)
_CHROME_ATTRS = ("class", "id", "data-test", "data-track-component", "aria-labelledby", "data-title")
_SKIP_CONTAINER = frozenset({"figure", "table", "supplementary"})
_HEADING_LEVEL = {"h3": 1, "h4": 2, "h5": 3, "h6": 4}
_CITATION_HREF = re.compile(r"#(?:ref-?CR\d+|ref\d+|Fn\d+|fn\d+|B\d+|CR\d+)$", re.I)
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.I)
_ARTICLE_URL = re.compile(r"nature\.com/articles/([^/?#]+)")
_NUMERIC_SUP = re.compile(r"\s*[\-\u2212\u2013+]?\s*\d")
_PAYWALL_TEXT = "This is a preview of subscription content"
_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", re.I)
_HTML_PARSERS: dict[str, etree.HTMLParser] = {}


class Unit(NamedTuple):
    """A top-level part of the article body: title, id, element, and a kind when known."""

    title: str
    ident: str | None
    element: Any
    kind: str | None = None


def _html_parser(data: bytes) -> etree.HTMLParser:
    m = _CHARSET.search(data[:4096])
    encoding = m.group(1).decode("ascii").lower() if m else "utf-8"
    if encoding not in _HTML_PARSERS:
        try:
            _HTML_PARSERS[encoding] = html.HTMLParser(
                encoding=encoding, remove_comments=True, no_network=True
            )
        except LookupError:
            return _html_parser(b"")
    return _HTML_PARSERS[encoding]


def _classes(el: Any) -> list[str]:
    return (el.get("class") or "").split()


def _is_chrome(el: Any) -> bool:
    """A recommendation / related-content block (page chrome, never article text)."""
    return any(_CHROME.search(el.get(attr) or "") for attr in _CHROME_ATTRS)


def _in_chrome(el: Any) -> bool:
    return _is_chrome(el) or any(_is_chrome(a) for a in el.iterancestors())


def _is_citation_sup(el: Any) -> bool:
    links = el.findall(".//a")
    if not links:
        return False
    for a in links:
        href = a.get("href") or ""
        if not (
            a.get("data-test") == "citation-ref"
            or a.get("data-track-action") == "reference anchor"
            or _CITATION_HREF.search(href)
        ):
            return False
    return True


def _first(meta: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        for value in meta.get(name, []):
            if value.strip():
                return squash(value)
    return None


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    m = re.match(r"(\d{4})(?:[/\-](\d{1,2}))?(?:[/\-](\d{1,2}))?", value.strip())
    if not m:
        return None
    y, mo, d = m.groups()
    return "-".join([y] + [f"{int(x):02d}" for x in (mo, d) if x])


def _display_name(name: str) -> str:
    """``"Okafor, Adaeze"`` (citation_author style) -> ``"Adaeze Okafor"``, as JATS gives it."""
    name = squash(name)
    surname, sep, given = name.partition(", ")
    if sep and surname and given and "," not in given:
        return f"{given} {surname}"
    return name


def _best_date(meta: dict[str, list[str]], *names: str) -> str | None:
    """The first full ``YYYY-MM-DD`` date among the tags (``citation_publication_date``
    is sometimes only ``YYYY/MM``), else the first partial one."""
    dates = [d for name in names for v in meta.get(name, []) if (d := _iso_date(v))]
    return next((d for d in dates if len(d) == 10), dates[0] if dates else None)


class NatureHtmlParser(ParserOptions):
    """Parse a nature.com (or link.springer.com-style) article page into a Paper."""

    name = "nature-html"
    version = VERSION

    def can_parse(self, data: bytes, url: str | None = None) -> bool:
        return looks_like_html(data)

    # -- entry point ------------------------------------------------------------------

    def parse(self, data: bytes, url: str | None = None, extra_evidence: Evidence | None = None) -> Paper:
        source = url or "<html bytes>"
        try:
            doc = html.document_fromstring(data, parser=_html_parser(data))
        except (etree.ParserError, ValueError) as exc:
            raise ParseError(f"not parseable as HTML ({exc})", source) from exc
        meta = self._meta(doc)
        paywalled = self._paywalled(doc)
        units = self._units(doc)
        if units is None and not paywalled:
            raise ParseError(
                "no article body (no div.c-article-body, div.article-body or "
                "c-article-section__content): layout changed, blocked page or not an article",
                source,
            )
        sections = self._sections(units or [])
        if not paywalled and not any(s.kind != "abstract" for s in sections):
            raise ParseError(
                "article body holds no main-text section (truncated page or unknown layout)", source
            )
        evidence = licence_evidence.html_evidence(doc) + list(extra_evidence or [])
        layer = licence_evidence.datalayer(doc) or {}
        published = _best_date(
            meta, "citation_publication_date", "prism.publicationdate", "dc.date", "citation_online_date"
        )
        return Paper(
            doi=self._doi(meta, doc, url),
            title=self._title(meta, doc),
            journal=_first(meta, "citation_journal_title", "prism.publicationname", "og:site_name") or "",
            license=licence_evidence.decide_licence(evidence),
            sections=sections,
            issn=_first(meta, "citation_issn", "prism.issn", "prism.eissn"),
            year=int(published[:4]) if published else None,
            published=published,
            article_type=_first(meta, "citation_article_type", "dc.type")
            or licence_evidence._dig(layer, "content", "category", "contentType"),
            authors=self._authors(meta, doc),
            url=url
            or _first(meta, "citation_fulltext_html_url", "og:url")
            or next(iter(doc.xpath("//link[@rel='canonical']/@href")), None),
            parser=self.name,
            parser_version=self.version,
            paywalled=paywalled,
        )

    # -- metadata ---------------------------------------------------------------------

    @staticmethod
    def _meta(doc: Any) -> dict[str, list[str]]:
        meta: dict[str, list[str]] = {}
        for el in doc.iter("meta"):
            name = el.get("name") or el.get("property")
            content = el.get("content")
            if name and content is not None:
                meta.setdefault(name.strip().lower(), []).append(content)
        return meta

    @staticmethod
    def _title(meta: dict[str, list[str]], doc: Any) -> str:
        title = _first(meta, "citation_title", "dc.title")
        if title:
            return title
        for xp in (f"//h1[{cls('c-article-title')}]", "//h1[@itemprop='name headline']", "//h1"):
            found = doc.xpath(xp)
            if found:
                return squash(found[0].text_content())
        return _first(meta, "og:title") or ""

    @staticmethod
    def _doi(meta: dict[str, list[str]], doc: Any, url: str | None) -> str:
        doi = _first(meta, "citation_doi", "prism.doi", "dc.identifier", "doi")
        if doi:
            return _DOI_PREFIX.sub("", doi)
        for candidate in [url or "", *doc.xpath("//link[@rel='canonical']/@href")]:
            m = _ARTICLE_URL.search(candidate)
            if m:
                return f"10.1038/{m.group(1)}"
        return ""

    @staticmethod
    def _authors(meta: dict[str, list[str]], doc: Any) -> list[str]:
        names = meta.get("citation_author") or meta.get("dc.creator") or []
        if not names:
            names = [
                a.text_content()
                for a in doc.xpath(f"//ul[{cls('c-article-author-list')}]//a[@data-test='author-name']")
            ]
        return [_display_name(n) for n in names if squash(n)]

    @staticmethod
    def _paywalled(doc: Any) -> bool:
        return bool(
            doc.xpath(f"//*[{cls('app-access-wall__container')}] | //*[contains(@class, 'buybox')]")
            or doc.xpath(f"//text()[contains(., '{_PAYWALL_TEXT}')]")
        )

    # -- body ----------------------------------------------------------------------------

    def _units(self, doc: Any) -> list[Unit] | None:
        """Top-level units of the body in order; None when there is no body.

        Current template: ``section[data-title]`` units, and ``c-article-section__content``
        blocks that sit outside any section (Scientific Reports puts an untitled
        introduction there, before the first titled section).
        """
        body = f"//div[{cls('c-article-body')}]"
        found = doc.xpath(
            f"{body}//section[@data-title][not(ancestor::section[@data-title])]"
            f" | {body}//div[{cls('c-article-section__content')}][not(ancestor::section)]"
            f"[not(ancestor::div[{cls('c-article-section__content')}])]"
        )
        found = [el for el in found if not _in_chrome(el)]
        if any(el.tag == "section" for el in found):
            return self._untitled_intro(
                [
                    Unit(el.get("data-title"), el.get("id") or el.get("aria-labelledby"), el)
                    if el.tag == "section"
                    else Unit("", (el.get("id") or "").removesuffix("-content"), el)
                    for el in found
                ]
            )
        transition = doc.xpath(f"//div[{cls('article-body')}]//section[not(ancestor::section)]")
        units = []
        for sec in transition:
            heading = sec.xpath(".//h2")
            if heading and not _in_chrome(sec):
                units.append(Unit(squash(heading[0].text_content()), sec.get("aria-labelledby"), sec))
        if units:
            return units
        blocks = doc.xpath(
            f"//div[{cls('c-article-section__content')}]"
            f"[not(ancestor::div[{cls('c-article-section__content')}])]"
        )
        for block in blocks:
            if _in_chrome(block):
                continue
            heading = block.xpath("preceding-sibling::h2[1] | ../preceding-sibling::h2[1]")
            title = squash(heading[0].text_content()) if heading else ""
            units.append(Unit(title, (block.get("id") or "").removesuffix("-content"), block))
        if units:
            return self._untitled_intro(units)
        has_body = doc.xpath(f"//div[{cls('c-article-body')} or {cls('article-body')}]")
        return [] if has_body else None

    def _untitled_intro(self, units: list[Unit]) -> list[Unit]:
        """Untitled text before the first titled main section is the introduction, if none is titled."""
        kinds = [section_kind(u.title, self.results_and_discussion) if u.title else "" for u in units]
        if "introduction" in kinds:
            return units
        out = []
        for unit, kind in zip(units, kinds, strict=True):
            if kind not in ("", "abstract"):
                return out + units[len(out) :]
            out.append(unit._replace(kind="introduction") if not unit.title else unit)
        return out

    def _sections(self, units: list[Unit]) -> list[Section]:
        sections: list[Section] = []
        for title, ident, element, kind in units:
            title = squash(title or "")
            if is_back_matter(title, ident):
                continue
            collector = TextCollector()
            collector.start((title,))
            self._walk(element, collector, (title,), [], title)
            kind = kind or (section_kind(title, self.results_and_discussion) if title else "other")
            for path, paragraphs in collector.entries():
                title_path, text = " / ".join(p for p in path if p), join_paragraphs(paragraphs)
                prev = sections[-1] if sections else None
                if prev and not title_path and (prev.kind, prev.title) == (kind, ""):
                    prev.text = join_paragraphs([prev.text, text])  # untitled blocks split by a figure
                else:
                    sections.append(Section(kind, title_path, text))
        return sections

    def _walk(self, el: Any, col: TextCollector, base: tuple[str, ...], stack: list[str], own: str) -> None:
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                col.add(child.tail)
                continue
            self._visit(child, tag.lower(), col, base, stack, own)
            col.add(child.tail)

    def _visit(
        self, el: Any, tag: str, col: TextCollector, base: tuple[str, ...], stack: list[str], own: str
    ) -> None:
        classes = _classes(el)
        if "c-article-equation" in classes:
            tex = el.xpath(f".//*[{cls('mathjax-tex')}]")
            if self.keep_math and tex:
                col.block()
                col.add(tex_display(tex[0].text_content()))
                col.block()
            else:
                col.add(" ")
            return
        if (
            tag in _SKIP_TAGS
            or _SKIP_CLASSES.intersection(classes)
            or _is_chrome(el)
            or el.get("data-test") in _SKIP_DATA_TEST
            or el.get("data-container-section") in _SKIP_CONTAINER
            or el.get("aria-hidden") == "true"
            or (tag == "sup" and _is_citation_sup(el))
        ):
            return
        if "mathjax-tex" in classes or tag == "math":
            tex = el.get("alttext") if tag == "math" else None
            tex = tex or el.text_content()
            col.add(tex_inline(tex) if self.keep_math else tex_to_plain(tex))
            return
        if tag == "h2" or (
            tag in _HEADING_LEVEL and normalise_title(el.text_content()) == normalise_title(own)
        ):
            return  # the section's own title
        if tag in _HEADING_LEVEL:
            text = squash(el.text_content())
            if text:
                level = _HEADING_LEVEL[tag]
                del stack[level - 1 :]
                stack.extend([""] * (level - 1 - len(stack)))
                stack.append(text)
                col.start(base + tuple(stack))
            return
        if tag == "section" and el.get("data-title"):
            title = squash(el.get("data-title"))
            if is_back_matter(title, el.get("id")):
                return
            col.start(base + tuple(stack) + (title,))
            self._walk(el, col, base + tuple(stack) + (title,), [], title)
            col.start(base + tuple(stack))
            return
        if tag == "sup" and _NUMERIC_SUP.match(el.text_content()):
            col.add("^" + el.text_content())  # 10<sup>8</sup> -> 10^8, never "108"
            return
        if tag in _BLOCK:
            col.block()
            col.add(el.text)
            self._walk(el, col, base, stack, own)
            col.block()
            return
        col.add(el.text)
        self._walk(el, col, base, stack, own)
