"""Parsers: article bytes -> Paper, one per format, versioned (``Paper.parser_version``).

Registered in :data:`ccpapers.registry.PARSERS`: ``nature-html`` (nature.com article
pages, current and 2018-2019 templates) and ``jats`` (JATS XML from the Springer Nature
OA API, PMC and Europe PMC). ``parse_bytes`` picks the parser from the bytes.
"""

from __future__ import annotations

from ccpapers.crawl.parsers.base import ParseError, Parser, detect_format, parse_bytes
from ccpapers.registry import PARSERS

PARSERS.register("nature-html", "ccpapers.crawl.parsers.nature_html:NatureHtmlParser")
PARSERS.register("jats", "ccpapers.crawl.parsers.jats:JatsParser")

__all__ = ["ParseError", "Parser", "detect_format", "parse_bytes"]
