"""One decoding rule for fetched and local documents: bytes in, UTF-8 bytes out.

The encoding is taken, in this order, from a byte-order mark, the HTTP ``Content-Type``
charset, or the shape of the first bytes (UTF-16/32 without a BOM, as XML 1.0 appendix F
sniffs it), as browsers and XML parsers do. When one of them names the encoding the text is
re-encoded as UTF-8 and the document's own declarations (``<meta charset>``,
``<meta http-equiv content="…; charset=…">``, ``<?xml … encoding="…"?>``) are rewritten to
say so, so the parsers read it right. Otherwise the bytes are returned untouched and the
parsers follow the document's own declaration (or UTF-8).
"""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<" then an ASCII character, in UTF-32/16 without a BOM (XML 1.0, appendix F)
_SNIFF = (
    (re.compile(rb"^\x00\x00\x00[\x21-\x7e]"), "utf-32-be"),
    (re.compile(rb"^[\x21-\x7e]\x00\x00\x00"), "utf-32-le"),
    (re.compile(rb"^\x00[\x09\x0a\x0d\x20-\x7e]\x00[\x09\x0a\x0d\x20-\x7e]"), "utf-16-be"),
    (re.compile(rb"^[\x09\x0a\x0d\x20-\x7e]\x00[\x09\x0a\x0d\x20-\x7e]\x00"), "utf-16-le"),
)
# WHATWG Encoding: these labels mean windows-1252 on the web
_WEB_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "l1": "cp1252", "us-ascii": "cp1252",
                "ascii": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252"}  # fmt: skip
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:\-]+)""", re.I)
_DECLARATIONS = re.compile(
    r"""(<meta\b[^>]*?\bcharset\s*=\s*["']?)([\w.:\-]+)|(<\?xml\b[^>]*?\bencoding\s*=\s*["'])([\w.:\-]+)""",
    re.I,
)


def header_charset(content_type: str | None) -> str | None:
    """The Python codec named by a Content-Type header's charset, if it names a known one."""
    m = _HEADER_CHARSET.search(content_type or "")
    return _codec(m.group(1)) if m else None


def _codec(label: str) -> str | None:
    label = label.strip().lower()
    label = _WEB_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def detect(data: bytes, content_type: str | None = None) -> tuple[str | None, int]:
    """(codec, BOM length) from a BOM, the header charset or UTF-16/32 sniffing; (None, 0)
    when nothing outside the document's own declarations names it."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    codec = header_charset(content_type)
    if codec is not None:
        if codec in ("utf-16", "utf-32"):  # no BOM: the header does not say which end first
            sniffed = next((c for pat, c in _SNIFF if pat.match(data[:4]) and c.startswith(codec)), None)
            codec = sniffed or codec + "-le"
        return codec, 0
    for pattern, codec in _SNIFF:
        if pattern.match(data[:4]):
            return codec, 0
    return None, 0


def to_utf8(data: bytes, content_type: str | None = None) -> bytes:
    """``data`` as UTF-8 bytes with its declarations saying so, when the encoding is known
    from outside the document (see the module doc); else ``data`` unchanged."""
    codec, skip = detect(data, content_type)
    if codec is None:
        return data
    text = data[skip:].decode(codec, errors="replace")
    head, rest = text[:4096], text[4096:]
    head = _DECLARATIONS.sub(_say_utf8, head)
    return (head + rest).encode("utf-8")


def _say_utf8(m: re.Match[str]) -> str:
    if m.group(1) is not None:
        return m.group(1) + "utf-8"
    return m.group(3) + "UTF-8"
