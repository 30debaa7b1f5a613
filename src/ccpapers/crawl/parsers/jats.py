"""JATS XML (Springer Nature OA API, PMC / Europe PMC) -> Paper.

The XML parser never loads a DTD, resolves entities or touches the network
(``resolve_entities=False, no_network=True, load_dtd=False``): an XXE payload stays an
unresolved entity reference and its target is never read.

Sections: ``<abstract>`` (the plain one; ``abstract-type`` summaries are skipped), the
top-level ``<body><sec>``, kind from ``sec-type`` when known, else from the title, and
data/code availability sections of ``<back>`` (kind ``other``, as on the web page). Nested
``<sec>`` become their own Section titled with the title path (``Results / Sub``).
Removed: ``xref`` to references/footnotes (and the ``sup`` around them), ``fig``,
``table-wrap``, ``disp-formula`` (kept as ``$$TeX$$`` with ``keep_math``), ``label``,
supplementary material, footnote groups. Inline formulas become plain text, or ``$TeX$``
with ``keep_math``.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from ccpapers.crawl.parsers import licence_evidence
from ccpapers.crawl.parsers.base import Evidence, ParseError, ParserOptions, TextCollector, looks_like_jats
from ccpapers.crawl.parsers.text import (
    is_back_matter,
    jats_sec_kind,
    join_paragraphs,
    squash,
    tex_display,
    tex_inline,
    tex_to_plain,
)
from ccpapers.types import Paper, Section

VERSION = "2026.11.1"
XLINK = "{http://www.w3.org/1999/xlink}"

_BLOCK = frozenset(
    "p list list-item def-list def-item term def boxed-text disp-quote statement speech "
    "verse-group verse-line caption title break".split()
)
_SKIP = frozenset(
    "fig fig-group table-wrap table-wrap-group table label supplementary-material media graphic "
    "inline-graphic fn-group fn ref-list ack object-id alt-text long-desc permissions "
    "chem-struct-wrap code array".split()
)
_NUMERIC_SUP = re.compile(r"\s*[\-\u2212\u2013+]?\s*\d")
_DROP_XREF = frozenset({"bibr", "fn", "table-fn", "ref"})


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )


def _child(el: Any, *names: str) -> Any | None:
    """First descendant following the path of local names."""
    cur = el
    for name in names:
        nxt = None
        for c in cur:
            if _local(c) == name:
                nxt = c
                break
        if nxt is None:
            return None
        cur = nxt
    return cur


def _text(el: Any | None) -> str:
    return squash("".join(el.itertext())) if el is not None else ""


_TEX_DOC = re.compile(r"\\begin\{document\}(.*?)\\end\{document\}", re.S)
_TEX_DELIMS = re.compile(r"^\s*(?:\$\$|\$|\\\[|\\\()(.*?)(?:\$\$|\$|\\\]|\\\))\s*$", re.S)


def unwrap_tex(tex: str) -> str:
    """Bare TeX from a ``tex-math`` (drops ``\\documentclass`` wrappers and ``$$`` delimiters)."""
    m = _TEX_DOC.search(tex)
    if m:
        tex = m.group(1)
    m = _TEX_DELIMS.match(tex)
    return (m.group(1) if m else tex).strip()


def _tex_of(el: Any) -> str | None:
    for d in el.iter():
        if _local(d) == "tex-math":
            return unwrap_tex("".join(d.itertext()))
    for d in el.iter():
        if _local(d) == "math" and d.get("alttext"):
            return d.get("alttext")
    return None


class JatsParser(ParserOptions):
    """Parse a JATS article (``<article>`` root) into a Paper."""

    name = "jats"
    version = VERSION

    def can_parse(self, data: bytes, url: str | None = None) -> bool:
        return looks_like_jats(data)

    def parse(self, data: bytes, url: str | None = None, extra_evidence: Evidence | None = None) -> Paper:
        source = url or "<jats bytes>"
        try:
            root = etree.fromstring(data, parser=_xml_parser())
        except etree.XMLSyntaxError as exc:
            raise ParseError(f"not well-formed XML ({exc})", source) from exc
        if root is not None and _local(root) == "response":
            root = self._api_record(root, source)
        if root is None or _local(root) != "article":
            raise ParseError("not a JATS article (root element is not <article>)", source)
        front = _child(root, "front")
        meta = _child(front, "article-meta") if front is not None else None
        if meta is None:
            raise ParseError("JATS file has no <front><article-meta>", source)
        sections = self._abstract(meta) + self._body(root)
        if not any(s.kind != "abstract" for s in sections):
            raise ParseError("JATS file has no <body> text (abstract-only or truncated)", source)
        published = self._date(meta)
        evidence = licence_evidence.jats_evidence(root) + list(extra_evidence or [])
        return Paper(
            doi=self._doi(meta),
            title=_text(_child(meta, "title-group", "article-title")),
            journal=self._journal(front),
            license=licence_evidence.decide_licence(evidence),
            sections=sections,
            issn=self._issn(front),
            year=int(published[:4]) if published else None,
            published=published,
            article_type=root.get("article-type"),
            authors=self._authors(meta),
            url=url,
            parser=self.name,
            parser_version=self.version,
        )

    @staticmethod
    def _api_record(response: Any, source: str) -> Any:
        """The one ``<article>`` of a Springer Nature OA API ``<response>`` (in ``<records>``)."""
        records = _child(response, "records")
        articles = [el for el in (records if records is not None else []) if _local(el) == "article"]
        if len(articles) == 1:
            return articles[0]
        if not articles:
            raise ParseError(
                "Springer Nature API response holds no <article> record (the query found nothing "
                "open access); check the DOI",
                source,
            )
        raise ParseError(
            f"Springer Nature API response holds {len(articles)} <article> records; "
            "save one article per file (query one DOI)",
            source,
        )

    # -- metadata ------------------------------------------------------------------------

    @staticmethod
    def _doi(meta: Any) -> str:
        for el in meta:
            if _local(el) == "article-id" and el.get("pub-id-type") == "doi":
                return squash(el.text or "")
        return ""

    @staticmethod
    def _journal(front: Any) -> str:
        jmeta = _child(front, "journal-meta")
        if jmeta is None:
            return ""
        title = _child(jmeta, "journal-title-group", "journal-title")
        return _text(title if title is not None else _child(jmeta, "journal-title"))

    @staticmethod
    def _issn(front: Any) -> str | None:
        jmeta = _child(front, "journal-meta")
        issns = [el for el in (jmeta if jmeta is not None else []) if _local(el) == "issn"]
        for el in issns:
            if (el.get("pub-type") or el.get("publication-format") or "") in ("epub", "electronic"):
                return squash(el.text or "")
        return squash(issns[0].text or "") if issns else None

    @staticmethod
    def _date(meta: Any) -> str | None:
        dates = [el for el in meta if _local(el) == "pub-date"]

        def rank(el: Any) -> int:
            kind = el.get("pub-type") or el.get("date-type") or ""
            fmt = el.get("publication-format") or ""
            return 0 if kind == "epub" or fmt == "electronic" else 1 if kind == "pub" else 2

        for el in sorted(dates, key=rank):
            year = _text(_child(el, "year"))
            if year.isdigit():
                parts = [year] + [
                    f"{int(v):02d}" for n in ("month", "day") if (v := _text(_child(el, n))).isdigit()
                ]
                return "-".join(parts)
        return None

    @staticmethod
    def _authors(meta: Any) -> list[str]:
        out = []
        group = [el for el in meta.iter() if _local(el) == "contrib" and el.get("contrib-type") == "author"]
        for contrib in group:
            name = _child(contrib, "name")
            if name is not None:
                full = " ".join(
                    t for t in (_text(_child(name, "given-names")), _text(_child(name, "surname"))) if t
                )
            else:
                full = _text(_child(contrib, "string-name")) or _text(_child(contrib, "collab"))
            if full:
                out.append(full)
        return out

    # -- text ----------------------------------------------------------------------------

    def _abstract(self, meta: Any) -> list[Section]:
        for el in meta:
            if _local(el) == "abstract" and not el.get("abstract-type"):
                return self._collect(el, "Abstract", "abstract")
        return []

    def _body(self, root: Any) -> list[Section]:
        body = _child(root, "body")
        if body is None:
            return []
        sections: list[Section] = []
        lead, tail = TextCollector(), TextCollector()  # body text outside any <sec>, before / after
        lead.start(("",))
        tail.start(("",))
        for el in body:
            if _local(el) == "sec":
                title = _text(_child(el, "title"))
                if is_back_matter(title, el.get("id")) or (el.get("sec-type") or "").startswith("supplement"):
                    continue
                kind = jats_sec_kind(el.get("sec-type"), title, self.results_and_discussion)
                sections += self._collect(el, title, kind)
            elif isinstance(el.tag, str):
                loose = tail if sections else lead
                self._visit(el, _local(el), loose, ("",))
                loose.add(el.tail)
        # Untitled text before the first <sec> is the introduction (EHP, some Sci Rep files) unless a
        # section is titled so; a body without sections (a short article) is "other".
        has_intro = any(s.kind == "introduction" for s in sections)
        lead_kind = "introduction" if sections and not has_intro else "other"
        sections = [Section(lead_kind, "", join_paragraphs(p)) for _, p in lead.entries()] + sections
        sections += [Section("other", "", join_paragraphs(p)) for _, p in tail.entries()]
        back = _child(root, "back")
        for el in back if back is not None else []:  # data/code availability, as on the web page
            title = _text(_child(el, "title"))
            if _local(el) == "sec" and "availability" in title.lower():
                sections += self._collect(el, title, "other")
        return sections

    def _collect(self, el: Any, title: str, kind: str) -> list[Section]:
        col = TextCollector()
        col.start((title,))
        self._walk(el, col, (title,))
        return [
            Section(kind, " / ".join(p for p in path if p), join_paragraphs(par))
            for path, par in col.entries()
        ]

    def _walk(self, el: Any, col: TextCollector, path: tuple[str, ...]) -> None:
        for child in el:
            if isinstance(child.tag, str):
                self._visit(child, _local(child), col, path)
            col.add(child.tail)

    def _visit(self, el: Any, name: str, col: TextCollector, path: tuple[str, ...]) -> None:
        if name in _SKIP:
            return
        if name == "xref" and (el.get("ref-type") or "bibr") in _DROP_XREF:
            return
        if name == "sup" and self._only_citations(el):
            return
        if name == "title" and el.getparent() is not None and _local(el.getparent()) in ("sec", "abstract"):
            return  # the section's own title, already in the path
        if name == "sec":
            title = _text(_child(el, "title"))
            if is_back_matter(title, el.get("id")):
                return
            col.start(path + (title,))
            self._walk(el, col, path + (title,))
            col.start(path)
            return
        if name == "disp-formula":
            tex = _tex_of(el)
            if self.keep_math and tex:
                col.block()
                col.add(tex_display(tex))
                col.block()
            else:
                col.add(" ")
            return
        if name == "inline-formula":
            tex = _tex_of(el)
            if tex:
                col.add(tex_inline(tex) if self.keep_math else tex_to_plain(tex))
            else:
                col.add(squash("".join(el.itertext())).replace(" ", ""))
            return
        if name == "sup" and _NUMERIC_SUP.match("".join(el.itertext())):
            col.add("^" + "".join(el.itertext()))  # 10<sup>8</sup> -> 10^8, never "108"
            return
        if name in _BLOCK:
            col.block()
            col.add(el.text)
            self._walk(el, col, path)
            col.block()
            return
        col.add(el.text)
        self._walk(el, col, path)

    @staticmethod
    def _only_citations(el: Any) -> bool:
        xrefs = [c for c in el.iter() if _local(c) == "xref"]
        if not xrefs or any((x.get("ref-type") or "bibr") not in _DROP_XREF for x in xrefs):
            return False
        leftover = "".join(el.itertext())
        for x in xrefs:
            leftover = leftover.replace("".join(x.itertext()), "", 1)
        return not re.sub(r"[\s,;\u2013\-]", "", leftover)
