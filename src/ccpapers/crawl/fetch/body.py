"""Reading a response body within limits: a size cap counted on decompressed bytes, and a
deadline for the whole body.

The body is read raw, 64 KiB at a time, and inflated here with a bounded output per step
(``zlib``'s ``max_length``), so a gzip bomb never produces more than the cap plus one
chunk in memory; a body sent slowly stops at the deadline. What is over a limit is
refused with a reason (:class:`RefusedError`), or, with ``truncate``, cut at the cap
(robots.txt, error pages).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

from ccpapers.crawl.fetch.errors import RefusedError

CHUNK = 64 * 1024


class Body(NamedTuple):
    content: bytes
    wire: int  # bytes read from the network (compressed)
    truncated: bool


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n // size} {unit}" if n % size == 0 else f"{n / size:.1f} {unit}"
    return f"{n} B"


class Inflater:
    """Content-Encoding ``identity``, ``gzip`` (several members too) or ``deflate`` (zlib or
    raw), fed chunk by chunk with a bound on each step's output."""

    def __init__(self, encoding: str | None, url: str) -> None:
        self.url = url
        self.name = (encoding or "identity").strip().lower()
        if self.name in ("", "identity"):
            self.wbits: int | None = None
        elif self.name in ("gzip", "x-gzip"):
            self.wbits = 16 + zlib.MAX_WBITS
        elif self.name == "deflate":
            self.wbits = zlib.MAX_WBITS
        else:
            raise RefusedError(
                "bad_encoding",
                f"{url}: refused: Content-Encoding {self.name!r} (only gzip and deflate are asked for)",
                url,
            )
        self._z = zlib.decompressobj(self.wbits) if self.wbits is not None else None
        self._started = False

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        """Inflate ``data`` in pieces of at most CHUNK bytes, ``room`` bytes in all (more input
        is then dropped: the caller has gone over its cap and stops)."""
        if self._z is None:
            yield data[:room]
            return
        try:
            while data and room > 0:
                try:
                    piece = self._z.decompress(data, min(room, CHUNK))
                except zlib.error:
                    if self.wbits != zlib.MAX_WBITS or self._started:
                        raise
                    self.wbits = -zlib.MAX_WBITS  # "deflate" sent without the zlib wrapper
                    self._z = zlib.decompressobj(self.wbits)
                    continue
                self._started = True
                room -= len(piece)
                yield piece
                if self._z.unconsumed_tail:  # output was bounded: more of this input to inflate
                    data = self._z.unconsumed_tail
                elif self._z.eof and self._z.unused_data:  # another gzip member follows
                    data = self._z.unused_data
                    self._z = zlib.decompressobj(self.wbits)
                else:
                    data = b""
        except zlib.error as exc:
            raise RefusedError(
                "bad_encoding", f"{self.url}: refused: corrupt {self.name} body ({exc})", self.url
            ) from exc


def read_body(
    chunks: Iterator[bytes],
    *,
    url: str,
    encoding: str | None,
    length: str | None,
    limit: int,
    limit_name: str,
    deadline_at: float,
    deadline: float,
    truncate: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Body:
    """Read ``chunks`` (raw bytes) into at most ``limit`` decoded bytes before ``deadline_at``."""
    inflater = Inflater(encoding, url)
    declared = int(length) if length and length.strip().isdigit() else None
    if declared is not None and declared > limit and not truncate:
        raise RefusedError(
            "too_large",
            f"{url}: refused: Content-Length {human_bytes(declared)} is over the "
            f"{human_bytes(limit)} limit ({limit_name}); not fetched",
            url,
        )
    buf = bytearray()
    wire = 0
    for chunk in chunks:
        wire += len(chunk)
        for piece in inflater.feed(chunk, limit - len(buf) + 1):
            buf += piece
        if len(buf) > limit or wire > limit:
            if truncate:
                return Body(bytes(buf[:limit]), wire, True)
            packed = f", {inflater.name}-encoded, counted decompressed" if inflater.wbits else ""
            raise RefusedError(
                "too_large",
                f"{url}: refused: body over the {human_bytes(limit)} limit ({limit_name}{packed}) after "
                f"{human_bytes(wire)} read; not cached",
                url,
            )
        if clock() > deadline_at:
            raise too_slow(url, deadline)
    return Body(bytes(buf), wire, False)


def too_slow(url: str, deadline: float) -> RefusedError:
    return RefusedError(
        "too_slow",
        f"{url}: refused: not complete after {deadline:g} s (the per-request deadline, "
        "--request-deadline); the server is stalled or dripping bytes",
        url,
    )
