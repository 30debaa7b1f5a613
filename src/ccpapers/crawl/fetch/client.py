"""PoliteClient: the one place that talks HTTP.

It honours robots.txt (Disallow, Crawl-delay), paces each lane (site, API) on its own,
obeys ``Retry-After`` on 429/503, retries {429, 500, 502, 503, 504}, timeouts and
connection errors with exponential backoff and jitter (bounded), follows redirects one
polite hop at a time with a cookie jar, names itself and its contact in the User-Agent,
stops with :class:`BlockedError` on a 403 "Blocked" page, and caches every 2xx body
content-addressed so that nothing cached is fetched again.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

import httpx2

from ccpapers import __version__
from ccpapers.crawl.fetch.cache import FetchCache, Response
from ccpapers.crawl.fetch.errors import (
    BlockedError,
    FetchError,
    HttpStatusError,
    NetworkError,
    RobotsDisallowed,
)
from ccpapers.crawl.fetch.ratelimit import Lane, RateLimiter
from ccpapers.crawl.fetch.robots import RobotsRules
from ccpapers.crawl.fetch.urls import origin

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PROJECT_URL = "https://github.com/ccpapers/ccpapers"
MAX_REDIRECTS = 10


def default_user_agent(mailto: str | None) -> str:
    contact = f"; mailto:{mailto}" if mailto else ""
    return f"ccpapers/{__version__} (+{PROJECT_URL}{contact})"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_ts = now if now is not None else time.time()
    return max(0.0, when.timestamp() - now_ts)


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
        self.limiter = RateLimiter(clock=clock, sleep=sleep)
        self.stats = FetchStats()
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
    def lane_for(self, url: str) -> Lane:
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
            resp = self._fetch(url, check_robots=False)
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
        return RobotsRules(resp.text, self.user_agent)

    # -- network -----------------------------------------------------------------------
    def _fetch(
        self,
        url: str,
        check_robots: bool = True,
        validate: Callable[[Response], str | None] | None = None,
    ) -> Response:
        attempt = 0
        invalid = 0
        while True:
            retry_after: float | None = None
            try:
                resp, history = self._follow(url, check_robots)
            except httpx2.TimeoutException as exc:
                error: FetchError = NetworkError("timeout", f"timed out fetching {url} ({exc!r})", url)
            except httpx2.TransportError as exc:
                error = NetworkError("connection", f"connection failed for {url} ({exc!r})", url)
            else:
                status = resp.status_code
                if 200 <= status < 300:
                    result = Response(
                        url=url,
                        final_url=str(resp.url),
                        status=status,
                        headers={k.lower(): v for k, v in resp.headers.items()},
                        content=resp.content,
                        history=history,
                    )
                    problem = validate(result) if validate else None
                    if problem is None:
                        return result
                    invalid += 1
                    if invalid > 1:
                        raise NetworkError(problem, f"{url}: {problem} body, twice; not cached", url)
                    error = NetworkError(problem, f"{url}: {problem} body", url)
                    retry_after = 0.0  # fetch it again at the lane's pace, no backoff
                elif status == 403 and b"blocked" in resp.content[:20000].lower():
                    raise BlockedError(str(resp.url), self.user_agent)
                elif status not in RETRY_STATUSES:
                    raise HttpStatusError(status, url)
                else:
                    error = HttpStatusError(status, url)
                    retry_after = parse_retry_after(resp.headers.get("retry-after"))
                    if retry_after is not None and retry_after > self.max_retry_after:
                        raise HttpStatusError(
                            status,
                            url,
                            f"HTTP {status} for {url}: the server asks to wait {retry_after:.0f} s "
                            f"(more than {self.max_retry_after:.0f} s); re-run later to resume",
                        )
            if attempt >= self.max_retries:
                raise error
            attempt += 1
            self.stats.retries += 1
            lane = self.lane_for(url)
            if retry_after is not None:
                log.info("%s: %s, waiting %.1f s (Retry-After)", url, error.code, retry_after)
                self.limiter.push_back(lane, retry_after)
            else:
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                delay *= 0.5 + self.rng.random()  # jitter in [0.5, 1.5)
                log.info("%s: %s, retry %d in %.1f s", url, error.code, attempt, delay)
                self.limiter.push_back(lane, delay)

    def _follow(self, url: str, check_robots: bool) -> tuple[httpx2.Response, list[str]]:
        history: list[str] = []
        current = url
        for _ in range(MAX_REDIRECTS + 1):
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
            self.limiter.acquire(lane)
            self.stats.requests += 1
            self.stats.lane_requests[lane.name] += 1
            resp = self.http.get(current)
            self.stats.bytes += len(resp.content)
            self.stats.statuses[str(resp.status_code)] += 1
            self.limiter.observe_headers(lane, {k.lower(): v for k, v in resp.headers.items()})
            location = resp.headers.get("location")
            if resp.is_redirect and location:
                history.append(current)
                current = urljoin(current, location)
                continue
            return resp, history
        raise NetworkError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects from {url}", url)
