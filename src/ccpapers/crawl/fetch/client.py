"""PoliteClient: the one place that talks HTTP.

It honours robots.txt (Disallow/Allow with ``*`` and ``$``, Crawl-delay) checked on the URL
exactly as requested (dot segments resolved) at every redirect hop, paces each lane (site, API) on its own,
obeys ``Retry-After`` on 429/503, retries {429, 500, 502, 503, 504}, timeouts and
connection errors with exponential backoff and jitter (bounded), follows redirects one
polite hop at a time with a cookie jar, names itself and its contact in the User-Agent,
stops with :class:`BlockedError` on a 403 "Blocked" page, and caches every 2xx body
content-addressed so that nothing cached is fetched again. Bodies are streamed with a size
cap (decompressed bytes count) and every request has a total deadline; what breaks either is
refused with a reason (:class:`RefusedError`). robots.txt is read up to ``max_robots_bytes``.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urljoin

import httpx2

from ccpapers import __version__
from ccpapers.crawl.fetch.body import CHUNK, human_bytes, read_body, too_slow
from ccpapers.crawl.fetch.cache import FetchCache, Response
from ccpapers.crawl.fetch.deadline import Watchdog
from ccpapers.crawl.fetch.errors import (
    BlockedError,
    FetchError,
    HttpStatusError,
    NetworkError,
    RobotsDisallowed,
)
from ccpapers.crawl.fetch.robots import DEFAULT_MAX_DELAY, RobotsRules
from ccpapers.crawl.fetch.urls import origin, request_url
from ccpapers.ratelimit import Lanes, RateLimiter
from ccpapers.retry import Backoff, Retry, parse_retry_after, with_retries

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PROJECT_URL = "https://github.com/ccpapers/ccpapers"
MAX_REDIRECTS = 10
MAX_BYTES = 32 << 20  # a page, decompressed (nature.com article pages are well under 5 MiB)
MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309: parse at least 500 KiB; the rest is ignored
MAX_ERROR_BYTES = 64 * 1024  # of a non-2xx body (only read for the "Blocked" check)
DEADLINE = 120.0  # seconds for one request, headers and body


def default_user_agent(mailto: str | None) -> str:
    contact = f"; mailto:{mailto}" if mailto else ""
    return f"ccpapers/{__version__} (+{PROJECT_URL}{contact})"


@dataclass
class LaneSpec:
    base_url: str
    rate: float
    header_driven: bool = False


@dataclass
class FetchStats:
    requests: int = 0
    bytes: int = 0
    retries: int = 0
    cache_hits: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    lane_requests: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "bytes": self.bytes,
            "retries": self.retries,
            "cache_hits": self.cache_hits,
            "statuses": dict(self.statuses),
            "lane_requests": dict(self.lane_requests),
        }


class PoliteClient:
    def __init__(
        self,
        *,
        user_agent: str | None = None,
        mailto: str | None = None,
        lanes: dict[str, LaneSpec] | None = None,
        default_rate: float = 1.0,
        timeout: float = 30.0,
        max_retries: int = 4,
        cache: FetchCache | None = None,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_retry_after: float = 900.0,
        respect_robots: bool = True,
        transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        max_bytes: int = MAX_BYTES,
        max_robots_bytes: int = MAX_ROBOTS_BYTES,
        deadline: float = DEADLINE,
        max_crawl_delay: float = DEFAULT_MAX_DELAY,
    ) -> None:
        self.user_agent = user_agent or default_user_agent(mailto)
        self.lane_specs = dict(lanes or {})
        self.default_rate = default_rate
        self.max_retries = max_retries
        self.cache = cache
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.respect_robots = respect_robots
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.limiter = Lanes(clock=clock, sleep=sleep)
        self.stats = FetchStats()
        self.max_bytes = max_bytes
        self.max_robots_bytes = max_robots_bytes
        self.deadline = deadline
        self.max_crawl_delay = max_crawl_delay
        self.watchdog = Watchdog()
        self._robots: dict[str, RobotsRules] = {}
        self.http = httpx2.Client(
            follow_redirects=False,
            timeout=httpx2.Timeout(timeout),
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
        )

    # -- public ------------------------------------------------------------------------
    def get(
        self,
        url: str,
        *,
        use_cache: bool = True,
        store: bool = True,
        validate: Callable[[Response], str | None] | None = None,
    ) -> Response:
        """GET ``url`` (cache first unless ``use_cache`` is False); raises a FetchError.

        ``validate`` may name a problem with a 2xx body (e.g. ``"truncated"``): such a body
        is fetched once more, never cached, and reported as that error code if it persists.
        """
        if use_cache and self.cache is not None:
            cached = self.cache.lookup(url)
            if cached is not None:
                self.stats.cache_hits += 1
                return cached
        resp = self._fetch(url, validate=validate)
        if store and self.cache is not None:
            self.cache.store(resp)
        else:
            resp.fetched_at = datetime.now(UTC).isoformat(timespec="seconds")
        return resp

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lanes and robots --------------------------------------------------------------
    def lane_for(self, url: str) -> RateLimiter:
        best: tuple[int, str, LaneSpec] | None = None
        for name, spec in self.lane_specs.items():
            if url.startswith(spec.base_url) and (best is None or len(spec.base_url) > best[0]):
                best = (len(spec.base_url), name, spec)
        if best is not None:
            _, name, spec = best
            return self.limiter.lane(name, spec.rate, spec.header_driven)
        return self.limiter.lane(origin(url), self.default_rate)

    def robots_for(self, url: str) -> RobotsRules:
        org = origin(url)
        if org not in self._robots:
            self._robots[org] = self._load_robots(org)
            delay = self._robots[org].crawl_delay
            if delay:
                for name, spec in self.lane_specs.items():
                    if origin(spec.base_url) == org:
                        self.limiter.lane(name, spec.rate, spec.header_driven).crawl_delay = delay
                self.limiter.lane(org, self.default_rate).crawl_delay = delay
        return self._robots[org]

    def _load_robots(self, org: str) -> RobotsRules:
        url = org + "/robots.txt"
        try:
            resp = self._fetch(url, check_robots=False, limit=self.max_robots_bytes, truncate=True)
        except HttpStatusError as exc:
            if 400 <= exc.status < 500:
                return RobotsRules(None, self.user_agent)  # no robots.txt: all allowed
            log.warning("robots.txt of %s unavailable (%s): treating the site as disallowed", org, exc)
            return RobotsRules.disallow_all(self.user_agent, str(exc))
        except BlockedError:
            raise
        except FetchError as exc:
            log.warning("robots.txt of %s unreachable (%s): treating the site as disallowed", org, exc)
            return RobotsRules.disallow_all(self.user_agent, str(exc))
        text = resp.content.decode("utf-8", errors="replace").removeprefix("\ufeff")
        if resp.truncated:
            log.warning(
                "robots.txt of %s is larger than %s: only its first %s are read (RFC 9309)",
                org,
                human_bytes(self.max_robots_bytes),
                human_bytes(self.max_robots_bytes),
            )
            text = text.rsplit("\n", 1)[0]  # a rule cut in half could allow too much
        return RobotsRules(text, self.user_agent, max_delay=self.max_crawl_delay, origin=org)

    # -- network -----------------------------------------------------------------------
    def _fetch(
        self,
        url: str,
        check_robots: bool = True,
        validate: Callable[[Response], str | None] | None = None,
        limit: int | None = None,
        truncate: bool = False,
    ) -> Response:
        invalid = 0

        def attempt() -> Response | Retry:
            nonlocal invalid
            try:
                resp = self._follow(url, check_robots, limit or self.max_bytes, truncate)
            except httpx2.TimeoutException as exc:
                return Retry(NetworkError("timeout", f"timed out fetching {url} ({exc!r})", url))
            except httpx2.TransportError as exc:
                return Retry(NetworkError("connection", f"connection failed for {url} ({exc!r})", url))
            status = resp.status
            if 200 <= status < 300:
                resp.url = url
                problem = validate(resp) if validate else None
                if problem is None:
                    return resp
                invalid += 1
                if invalid > 1:
                    raise NetworkError(problem, f"{url}: {problem} body, twice; not cached", url)
                # fetch it again at the lane's pace, no backoff
                return Retry(NetworkError(problem, f"{url}: {problem} body", url), retry_after=0.0)
            if status == 403 and b"blocked" in resp.content[:20000].lower():
                raise BlockedError(resp.final_url, self.user_agent)
            if status not in RETRY_STATUSES:
                raise HttpStatusError(status, url)
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            if retry_after is not None and retry_after > self.max_retry_after:
                raise HttpStatusError(
                    status,
                    url,
                    f"HTTP {status} for {url}: the server asks to wait {retry_after:.0f} s "
                    f"(more than {self.max_retry_after:.0f} s); re-run later to resume",
                )
            return Retry(HttpStatusError(status, url), retry_after)

        def wait(outcome: Retry, delay: float, n: int) -> None:
            self.stats.retries += 1
            code = cast(FetchError, outcome.error).code
            if outcome.retry_after is not None:
                log.info("%s: %s, waiting %.1f s (Retry-After)", url, code, delay)
            else:
                log.info("%s: %s, retry %d in %.1f s", url, code, n, delay)
            self.lane_for(url).pause(delay)

        resp = with_retries(
            attempt,
            budgets={"error": self.max_retries},
            backoff=Backoff(self.backoff, self.max_backoff, jitter=0.5, rng=self.rng),
            wait=wait,
        )
        assert resp is not None  # no stop hook: only a reply ends the loop
        return resp

    def _follow(self, url: str, check_robots: bool, limit: int, truncate: bool) -> Response:
        history: list[str] = []
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            current = request_url(current)  # what the server will see: robots is judged on it
            rules = self.robots_for(current) if check_robots and self.respect_robots else None
            if rules is not None and not rules.allowed(current):
                if rules.unavailable:
                    raise RobotsDisallowed(
                        f"robots.txt of {origin(current)} could not be read ({rules.unavailable}); "
                        "nothing is fetched from a site whose rules are unknown. Check --site/--crossref-api "
                        "and your connection, then re-run.",
                        current,
                        code="robots_unavailable",
                    )
                raise RobotsDisallowed(f"robots.txt disallows {current} for {self.user_agent}", current)
            lane = self.lane_for(current)
            lane.acquire()
            self.stats.requests += 1
            self.stats.lane_requests[lane.name] += 1
            resp = self._send(current, limit, truncate)
            self.stats.statuses[str(resp.status)] += 1
            lane.observe_headers(resp.headers)
            location = resp.headers.get("location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                history.append(current)
                current = urljoin(current, location)
                continue
            resp.history = history
            return resp
        raise NetworkError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects from {url}", url)

    def _send(self, url: str, limit: int, truncate: bool) -> Response:
        """One GET, body streamed within ``limit`` bytes (decompressed) and the deadline."""
        deadline_at = time.monotonic() + self.deadline
        with self.watchdog.guard(self.deadline) as expired:
            try:
                with self.http.stream("GET", url, extensions={"trace": self.watchdog.trace}) as r:
                    ok = 200 <= r.status_code < 300
                    body = read_body(
                        r.iter_raw(CHUNK),
                        url=url,
                        encoding=r.headers.get("content-encoding"),
                        length=r.headers.get("content-length"),
                        limit=limit if ok else min(limit, MAX_ERROR_BYTES),
                        limit_name="--max-page-bytes" if not truncate else "robots.txt cap",
                        deadline_at=deadline_at,
                        deadline=self.deadline,
                        truncate=truncate or not ok,
                    )
                    self.stats.bytes += body.wire
            except httpx2.TransportError as exc:
                if expired():
                    raise too_slow(url, self.deadline) from exc
                raise
        return Response(
            url=url,
            final_url=str(r.url),
            status=r.status_code,
            headers={k.lower(): v for k, v in r.headers.items()},
            content=body.content,
            truncated=body.truncated,
        )
