"""A total deadline per request, headers included.

httpx's timeouts bound each socket read, not the whole exchange: a server sending one byte
per second (in the status line, the headers or the body) never trips them. The watchdog
remembers the sockets the client opens (through httpx's ``trace`` extension) and, when a
request outlives its deadline, shuts them down, which ends the blocked read at once; the
client then reports ``too_slow``. Idle pooled connections shut down this way are simply
reopened by the next request.
"""

from __future__ import annotations

import socket
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Watchdog:
    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._current: object | None = None
        self._expired: object | None = None

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpx ``trace`` extension: note the socket of every new connection."""
        if name not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.add(sock)

    @contextmanager
    def guard(self, seconds: float) -> Iterator[Any]:
        """Run one request; ``expired()`` inside tells whether the watchdog fired for it."""
        token = object()
        with self._lock:
            self._current = token
        timer = threading.Timer(seconds, self._fire, args=(token,))
        timer.daemon = True
        timer.start()
        try:
            yield lambda: self._expired is token
        finally:
            timer.cancel()
            with self._lock:
                self._current = None

    def _fire(self, token: object) -> None:
        with self._lock:
            if self._current is not token:  # that request already finished
                return
            self._expired = token
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
