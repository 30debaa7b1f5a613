"""The sample site on 127.0.0.1: nature.com-style pages, a Crossref-style API, robots.txt.

Routes: ``/robots.txt``; ``/<slug>/articles?type=article&year=Y&page=N`` (listing);
``/articles/<id>`` (article page); ``/crossref/journals/<eISSN>/works?filter=…&rows=…&cursor=…``
(Crossref JSON with cursor paging, ``X-Rate-Limit-*`` headers). Optional behaviour for
tests and benchmarks: injected latency, a server-side rate limit answering 429 with
``Retry-After``, a cookie redirect, and one-shot faults per path (:class:`Fault`: 429, 503,
slow, reset, truncated, blocked, redirect, short or over-announced Crossref pages, gzip
bomb, huge body, slow drip, another charset). Every request is logged in ``SampleSite.log``.

    with SampleSite(latency=(0.05, 0.2)) as site:
        site.url, site.log
    with serve_sample() as url:   # the demo
        ...
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ccpapers.sample import load_sample
from ccpapers.sample.faults import Fault, filler, gzip_bomb, reencode
from ccpapers.sample.feeds import crossref_item, render_listing, robots_txt
from ccpapers.sample.render import render_article

BLOCKED_PAGE = b"<html><head><title>403 Forbidden</title></head><body><h1>Blocked</h1></body></html>"


def _cursor(offset: int) -> str:
    return "DnF1ZXJ5VGhlbkZldGNo+" + base64.b64encode(f"off={offset}".encode()).decode()


def _offset(cursor: str) -> int:
    if cursor in ("", "*"):
        return 0
    raw = cursor.split("+", 1)[-1]
    return int(base64.b64decode(raw).decode().split("=", 1)[1])


class SampleSite:
    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        port: int = 0,
        latency: tuple[float, float] = (0.0, 0.0),
        rate_limit: float | None = None,
        faults: dict[str, list[Fault]] | None = None,
        disallow: list[str] | None = None,
        crawl_delay: float | None = None,
        require_cookies: bool = False,
        page_size: int = 2,
        api_rate_header: tuple[int, str] = (50, "1s"),
        seed: int = 0,
    ) -> None:
        self.data = data or load_sample()
        self.journal = self.data["journal"]
        self.articles = list(self.data["articles"])
        self.by_id = {a["id"]: a for a in self.articles}
        self.port = port
        self.latency = latency
        self.rate_limit = rate_limit
        self.faults: dict[str, list[Fault]] = {}
        self.disallow = disallow or []
        self.crawl_delay = crawl_delay
        self.require_cookies = require_cookies
        self.page_size = page_size
        self.api_rate_header = api_rate_header
        self.rng = random.Random(seed)
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        for path, queue in (faults or {}).items():
            self.add_fault(path, *queue)
        self._last_allowed = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"site": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SampleSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests -------------------------------------------------------------------
    def add_fault(self, path: str, *faults: Fault) -> None:
        for fault in faults:
            if fault.kind == "gzip_bomb":
                gzip_bomb(fault.size)  # built now, not while a client waits for the answer
        with self.lock:
            self.faults.setdefault(path, []).extend(faults)

    def served(self, path_prefix: str = "", status: int | None = 200) -> list[str]:
        """Paths (with query) answered so far, optionally only one status."""
        with self.lock:
            return [
                e["path"]
                for e in self.log
                if e["path"].startswith(path_prefix) and (status is None or e["status"] == status)
            ]

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def _rate_ok(self) -> bool:
        if not self.rate_limit:
            return True
        with self.lock:
            now = time.monotonic()
            if now - self._last_allowed >= 0.9 / self.rate_limit:
                self._last_allowed = now
                return True
            return False

    # -- routing -----------------------------------------------------------------------------
    def route(
        self, path: str, query: dict[str, list[str]], fault: Fault | None = None
    ) -> tuple[int, str, bytes, dict[str, str]]:
        """(status, content type, body, headers) for a GET (``fault``: a Crossref page fault)."""
        q = {k: v[0] for k, v in query.items()}
        slug = self.journal["slug"]
        if path == "/robots.txt":
            return 200, "text/plain", robots_txt(self.disallow, self.crawl_delay).encode(), {}
        if path.startswith("/articles/"):
            article = self.by_id.get(path.removeprefix("/articles/").strip("/"))
            if article is None:
                return 404, "text/html", b"<html><body><h1>Page not found</h1></body></html>", {}
            return (
                200,
                "text/html; charset=utf-8",
                render_article(article, self.journal, self.url).encode(),
                {},
            )
        if path == f"/{slug}/articles":
            try:
                year, page = int(q.get("year", "0")), int(q.get("page", "1"))
            except ValueError:
                return 400, "text/plain", b"bad year or page", {}
            html = render_listing(self.journal, self.articles, year, page, self.page_size)
            return 200, "text/html; charset=utf-8", html.encode(), {}
        if path == f"/crossref/journals/{self.journal['eissn']}/works":
            return self._crossref(q, fault)
        return 404, "text/html", b"<html><body><h1>Page not found</h1></body></html>", {}

    def _crossref(self, q: dict[str, str], fault: Fault | None) -> tuple[int, str, bytes, dict[str, str]]:
        filters = dict(f.split(":", 1) for f in q.get("filter", "").split(",") if ":" in f)
        start, until = filters.get("from-pub-date", "0000"), filters.get("until-pub-date", "9999")
        items = [
            a for a in self.articles if a["published"] >= start and a["published"][: len(until)] <= until
        ]
        items.sort(key=lambda a: (a["published"], a["id"]))
        rows = min(int(q.get("rows", "20")), 1000)
        try:
            offset = _offset(q.get("cursor", "*"))
        except (ValueError, IndexError):
            return 400, "application/json", b'{"status":"failed","message":"bad cursor"}', {}
        page = items[offset : offset + rows]
        if fault is not None and fault.kind == "short":  # Crossref may serve fewer than rows
            page = page[: fault.keep]
        extra = fault.keep if fault is not None and fault.kind == "total" else 0
        message = {
            "facets": {},
            "total-results": len(items) + extra,
            "items": [crossref_item(a, self.journal, self.url) for a in page],
            "items-per-page": rows,
            "query": {"start-index": 0, "search-terms": None},
            "next-cursor": _cursor(offset + len(page)),
        }
        body = json.dumps(
            {"status": "ok", "message-type": "work-list", "message-version": "1.0.0", "message": message}
        ).encode()
        limit, interval = self.api_rate_header
        return (
            200,
            "application/json",
            body,
            {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Interval": interval},
        )


class _Handler(BaseHTTPRequestHandler):
    site: SampleSite
    protocol_version = "HTTP/1.1"
    server_version = "SampleNature/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        site = self.site
        parts = urlsplit(self.path)
        entry = {
            "t": time.monotonic(),
            "path": self.path,
            "ua": self.headers.get("User-Agent", ""),
            "cookie": self.headers.get("Cookie"),
            "status": None,
        }
        with site.lock:
            site.log.append(entry)
        rate_ok = site._rate_ok()  # judged on arrival, as a front-end limiter does
        lo, hi = site.latency
        if hi > 0:
            time.sleep(site.rng.uniform(lo, hi))
        if not rate_ok:
            return self._send(entry, 429, "text/plain", b"Too Many Requests", {"Retry-After": "1"})
        fault = site._take_fault(parts.path)
        if fault is not None:
            if fault.kind == "reset":
                entry["status"] = "reset"
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            elif fault.kind == "blocked":
                return self._send(entry, 403, "text/html", BLOCKED_PAGE, {})
            elif fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return self._send(entry, fault.status, "text/plain", b"temporarily unavailable", headers)
            elif fault.kind == "redirect":
                return self._send(entry, fault.status, "text/html", b"", {"Location": fault.location})
            elif fault.kind in ("gzip_bomb", "huge", "drip", "drip_headers"):
                return self._hostile(entry, fault, parts.path)
        if site.require_cookies and parts.path.startswith("/articles/"):
            redirect = self._cookie_redirect(parts.path, parse_qs(parts.query))
            if redirect:
                return self._send(entry, 302, "text/html", b"", redirect)
        status, ctype, body, headers = site.route(parts.path, parse_qs(parts.query), fault)
        if fault is not None and fault.kind == "truncate":
            body = body[: fault.keep]
        if fault is not None and fault.kind == "encode":
            body = reencode(body, fault.charset, fault.strip_meta)
            ctype = ctype.split(";")[0] + (f"; charset={fault.charset}" if fault.header_charset else "")
        self._send(entry, status, ctype, body, headers)

    def _hostile(self, entry: dict[str, Any], fault: Fault, path: str) -> None:
        """A gzip bomb, a huge body, or an answer dripped byte by byte; generated while sent."""
        ctype = "text/plain" if path == "/robots.txt" else "text/html"
        line = b"Disallow: /filler/\n" if path == "/robots.txt" else b"<p>filler filler filler filler.</p>\n"
        head = {"Content-Type": ctype}
        if fault.kind == "gzip_bomb":
            body = gzip_bomb(fault.size)
            head.update({"Content-Encoding": "gzip", "Content-Length": str(len(body))})
            chunks: Any = (body[i : i + 65536] for i in range(0, len(body), 65536))
        else:
            chunks = filler(fault.size, line)
            if path == "/robots.txt":  # one endless group of rules
                chunks = itertools.chain([b"User-agent: *\n"], filler(fault.size - 14, line))
            if fault.declare_length or fault.kind != "huge":
                head["Content-Length"] = str(fault.size)
            else:
                head["Connection"] = "close"  # the body ends when the connection does
        entry["status"] = 200
        self.close_connection = True  # the client may hang up mid-body: no keep-alive after this
        try:
            if fault.kind == "drip_headers":
                raw = b"HTTP/1.1 200 OK\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in head.items())
                for byte in raw + b"\r\n":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(fault.seconds)
                return
            self.send_response(200)
            for k, v in head.items():
                self.send_header(k, v)
            self.end_headers()
            for chunk in chunks:
                if fault.kind == "drip":
                    for i in range(len(chunk)):
                        self.wfile.write(chunk[i : i + 1])
                        self.wfile.flush()
                        time.sleep(fault.seconds)
                else:
                    self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client refused the rest: what these faults are for

    def _cookie_redirect(self, path: str, query: dict[str, list[str]]) -> dict[str, str] | None:
        """nature.com's cookie check: set a cookie and bounce; a client that does not send it
        back lands on ``?error=cookies_not_supported&code=…`` (the page is still served there)."""
        has_cookie = "sample_session=" in (self.headers.get("Cookie") or "")
        if "error" in query:
            return None
        checking = "_cookie_check" in query
        if has_cookie:
            return {"Location": path} if checking else None
        if checking:
            return {"Location": f"{path}?error=cookies_not_supported&code=abc123"}
        return {"Location": f"{path}?_cookie_check=1", "Set-Cookie": "sample_session=1; Path=/; HttpOnly"}

    def _send(
        self, entry: dict[str, Any], status: int, ctype: str, body: bytes, headers: dict[str, str]
    ) -> None:
        entry["status"] = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@contextmanager
def serve_sample(
    port: int = 0,
    latency: tuple[float, float] = (0.0, 0.0),
    rate_limit: float | None = None,
    faults: dict[str, list[Fault]] | None = None,
    **kwargs: Any,
) -> Iterator[str]:
    """Serve the bundled sample on 127.0.0.1 for the duration of a ``with``; yields the base URL."""
    with SampleSite(port=port, latency=latency, rate_limit=rate_limit, faults=faults, **kwargs) as site:
        yield site.url
