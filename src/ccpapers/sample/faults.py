"""Faults the sample site can inject, one request at a time, and the hostile bodies they serve.

A :class:`Fault` queued for a path changes the next answer on that path: an HTTP status, a
slow or reset connection, a truncated body, a "Blocked" page, a redirect, a short or
over-announced Crossref page, a gzip bomb, a huge body, a body dripped byte by byte, or the
page re-encoded in another charset. The bodies are generated as they are sent, so a test can
serve a "1 GB" page without holding it in memory.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

KINDS = frozenset(
    "status slow reset truncate blocked redirect short total gzip_bomb huge drip drip_headers encode".split()
)


@dataclass
class Fault:
    """One injected misbehaviour for the next request to a path.

    kind: ``status`` (``status`` code, optional ``retry_after``), ``slow`` (sleep ``seconds``
    before answering), ``reset`` (close the connection abruptly), ``truncate`` (serve the
    body cut to ``keep`` bytes, correctly framed), ``blocked`` (403 "Blocked" page),
    ``redirect`` (``status`` 3xx to ``location``), ``short`` (a Crossref page of only ``keep``
    items although more follow), ``total`` (Crossref ``total-results`` announced ``keep``
    higher than the items it has), ``gzip_bomb`` (``size`` bytes of zeros, gzip-encoded),
    ``huge`` (a ``size``-byte body; ``declare_length`` False: no Content-Length, ended by
    closing), ``drip`` (headers at once, then a ``size``-byte body one byte every ``seconds``),
    ``drip_headers`` (the whole answer, status line included, one byte every ``seconds``),
    ``encode`` (the page re-encoded as ``charset``; ``header_charset`` names it in the
    Content-Type header; ``strip_meta`` removes the page's own ``<meta charset>``).
    """

    kind: str
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    keep: int = 2000
    location: str = "/"
    size: int = 0
    declare_length: bool = True
    charset: str = "utf-8"
    header_charset: bool = True
    strip_meta: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")


_MIB = 1 << 20


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A valid gzip stream of ``size`` zero bytes (rounded up to MiB), about 1/1000 of that.

    Built without compressing ``size`` bytes: once the window holds only zeros, every further
    MiB of zeros compresses (sync-flushed) to the same byte-aligned block, which is repeated.
    """
    chunks = max(1, -(-size // _MIB))
    zeros = bytes(_MIB)
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = z.compress(zeros) + z.flush(zlib.Z_SYNC_FLUSH)
    repeat = z.compress(zeros) + z.flush(zlib.Z_SYNC_FLUSH)
    crc = 0
    for _ in range(chunks):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    final = b"\x03\x00"  # an empty final fixed-Huffman block
    trailer = crc.to_bytes(4, "little") + ((chunks * _MIB) & 0xFFFFFFFF).to_bytes(4, "little")
    return header + first + repeat * (chunks - 1) + final + trailer


def filler(
    size: int, line: bytes = b"<p>filler filler filler filler filler filler filler.</p>\n"
) -> Iterator[bytes]:
    """``size`` bytes of repeated ``line``, in chunks of at most 64 KiB."""
    block = line * max(1, 65536 // len(line))
    left = size
    while left > 0:
        piece = block[:left]
        left -= len(piece)
        yield piece


_META_CHARSET = re.compile(rb"<meta\s+charset=[\"']?[\w-]+[\"']?\s*/?>\s*", re.I)


def reencode(body: bytes, charset: str, strip_meta: bool) -> bytes:
    """A UTF-8 page re-encoded as ``charset`` (characters it lacks become references)."""
    if strip_meta:
        body = _META_CHARSET.sub(b"", body, count=1)
    text = body.decode("utf-8")
    if charset.lower().replace("_", "-") in ("utf-16", "utf-32"):
        return text.encode(charset)  # with a BOM
    return text.encode(charset, errors="xmlcharrefreplace")
