"""Parser protocol, ParseError, format detection and the text collector parsers share.

``parse_bytes(data, url)`` sniffs the format (``detect_format``) and runs the parser
registered under that name in :data:`ccpapers.registry.PARSERS`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ccpapers.crawl.parsers.text import clean_paragraph
from ccpapers.errors import CcpapersError
from ccpapers.types import Paper

Evidence = Sequence[str | tuple[str, str]]


class ParseError(CcpapersError, ValueError):
    """A file or page that cannot be turned into a Paper (the message names it).

    The crawler records it as ``parse_failed``; it never becomes a short-text paper.
    """

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        self.reason = message
        super().__init__(f"{source}: {message}" if source else message)


@runtime_checkable
class Parser(Protocol):
    name: str
    version: str

    def can_parse(self, data: bytes, url: str | None = None) -> bool: ...

    def parse(self, data: bytes, url: str | None = None, extra_evidence: Evidence | None = None) -> Paper: ...


_HEAD = 4096
_HTML_MARK = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_JATS_MARK = re.compile(
    rb"<!DOCTYPE\s+article|JATS|-//NLM//DTD|<article-meta[\s>]|<front[\s>]|"
    rb"<article\s[^>]*xmlns:(?:xlink|mml|ali)",
    re.I,
)


class ParserOptions:
    """Options every parser takes: TeX kept or dropped, where "Results and discussion" goes."""

    def __init__(self, keep_math: bool = False, results_and_discussion: str = "discussion") -> None:
        if results_and_discussion not in ("discussion", "results"):
            raise ValueError("results_and_discussion must be 'discussion' or 'results'")
        self.keep_math = keep_math
        self.results_and_discussion = results_and_discussion


def _head(data: bytes) -> bytes:
    head = data[:_HEAD]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head


_PROLOG = re.compile(
    rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE\s+(?P<dt>[\w:.-]+)(?:[^\[>]|\[.*?\])*>)", re.S | re.I
)
_FIRST_TAG = re.compile(rb"\s*<([A-Za-z][\w:.-]*)")


def _root_name(data: bytes) -> str | None:
    """Lower-cased name of the document's root element (or DOCTYPE name), skipping the prolog."""
    head, pos, doctype = _head(data), 0, None
    while True:
        m = _PROLOG.match(head, pos)
        if not m or m.end() == pos:
            break
        doctype = doctype or m.group("dt")
        pos = m.end()
    m = _FIRST_TAG.match(head, pos)
    name = m.group(1) if m else doctype
    return name.decode("ascii", "replace").lower().rsplit(":", 1)[-1] if name else None


def looks_like_html(data: bytes) -> bool:
    root = _root_name(data)
    if root is not None:
        return root == "html"
    return bool(_HTML_MARK.search(_head(data)))


_API_RECORDS = re.compile(rb"<records[\s/>]")


def looks_like_jats(data: bytes) -> bool:
    """JATS ``<article>``, or a Springer Nature OA API ``<response>`` with ``<records>``."""
    root = _root_name(data)
    if root is not None:
        return root == "article" or (root == "response" and bool(_API_RECORDS.search(data[:65536])))
    return bool(_JATS_MARK.search(_head(data)))


def detect_format(data: bytes, source: str | None = None) -> str:
    """Name of the parser for ``data``: ``"nature-html"`` or ``"jats"``; ParseError otherwise."""
    if looks_like_html(data):
        return "nature-html"
    if looks_like_jats(data):
        return "jats"
    raise ParseError(
        "neither an HTML article page nor JATS XML (no <html>/<body>, JATS <article> or "
        "Springer Nature API <response> in the first 4 KB); pass a nature.com article page or a JATS file",
        source,
    )


def parse_bytes(
    data: bytes,
    url: str | None = None,
    *,
    format: str = "auto",
    extra_evidence: Evidence | None = None,
    keep_math: bool = False,
) -> Paper:
    """Parse ``data`` with the parser for its format (``format="auto"`` sniffs it).
    UTF-16/32 files (BOM, or recognisable without one) are re-encoded as UTF-8 first."""
    from ccpapers.crawl.charset import to_utf8
    from ccpapers.registry import PARSERS

    data = to_utf8(data)
    name = detect_format(data, url) if format == "auto" else format
    parser = PARSERS.create(name, keep_math=keep_math)
    return parser.parse(data, url, extra_evidence=extra_evidence)


@dataclass
class _Entry:
    path: tuple[str, ...]
    paragraphs: list[str] = field(default_factory=list)


class TextCollector:
    """Collect paragraphs into entries keyed by a section-title path.

    ``add`` appends inline text, ``block`` ends the current paragraph, ``start`` opens a
    new entry (ending the paragraph). Entries without text are dropped by ``entries``.
    """

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._chunks: list[str] = []

    def start(self, path: tuple[str, ...]) -> None:
        self.block()
        self._entries.append(_Entry(path))

    @property
    def path(self) -> tuple[str, ...]:
        return self._entries[-1].path if self._entries else ()

    def add(self, text: str | None) -> None:
        if text:
            self._chunks.append(text)

    def block(self) -> None:
        if not self._chunks:
            return
        para = clean_paragraph("".join(self._chunks))
        self._chunks.clear()
        if para:
            if not self._entries:
                self._entries.append(_Entry(()))
            self._entries[-1].paragraphs.append(para)

    def entries(self) -> list[tuple[tuple[str, ...], list[str]]]:
        self.block()
        return [(e.path, e.paragraphs) for e in self._entries if e.paragraphs]
