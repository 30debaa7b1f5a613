"""Request pacing shared by every stage that talks to a server (crawl fetches, LLM calls).

A :class:`RateLimiter` paces one lane of requests: starts are spaced ``interval`` seconds
apart, scheduled on *start* times (oversleeping and latency do not eat the rate; after an idle
gap no credit is banked); ``pause(seconds)`` (a server's Retry-After) holds every caller back;
an optional token bucket (``tpm``) keeps a tokens-per-minute budget. What each stage adds:

- the crawl: one lane per site/API/origin (:class:`Lanes`); a lane's interval is
  ``max(1/rate, Crawl-delay)``, and API lanes follow ``X-Rate-Limit-Limit`` /
  ``X-Rate-Limit-Interval`` headers (``observe_headers``);
- the build: one lane per backend with requests/tokens per minute (:meth:`RateLimiter.per_minute`);
  each 429 doubles the spacing and each reply narrows it again by 1 % (AIMD), so a limit lower
  than the configured one (or none configured) is found by itself.

Waiting happens outside the lock in steps of at most a second, so a pause that arrives while
callers wait holds them back too.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping

MAX_STEP = 1.0  # longest single sleep: a waiting caller sees a new pause within a second
MAX_BACKOFF_INTERVAL = 5.0  # 429s never space requests further apart than this


def parse_interval(text: str) -> float | None:
    """``"1s"``, ``"500ms"``, ``"2m"`` (X-Rate-Limit-Interval) -> seconds, else None."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", text or "")
    if not m:
        return None
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value * 60 if m.group(2) == "m" else value


class RateLimiter:
    """One lane of requests; thread-safe. ``interval`` 0 and ``tpm`` 0: unpaced (pauses still hold)."""

    def __init__(
        self,
        interval: float = 0.0,
        tpm: float = 0.0,
        *,
        name: str = "",
        header_driven: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.base_interval = interval
        self.backoff_interval = interval  # widened by 429s, narrowed again by replies
        self.crawl_delay = 0.0  # robots.txt Crawl-delay: a floor under the spacing
        self.header_interval: float | None = None  # what the server's X-Rate-Limit headers allow
        self.header_driven = header_driven
        self.tpm = float(tpm or 0.0)
        self.next_at = 0.0  # earliest start of the next request
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.tpm
        self._tokens_at = clock()
        self._last_backoff = -1e9

    @classmethod
    def per_minute(
        cls,
        rpm: float = 0.0,
        tpm: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateLimiter:
        """Requests evenly spaced ``60/rpm`` seconds apart (no bursts, which keeps a provider's
        sliding-window limiter from answering 429) and a ``tpm`` token bucket."""
        return cls(60.0 / rpm if rpm and rpm > 0 else 0.0, tpm, clock=clock, sleep=sleep)

    @property
    def interval(self) -> float:
        """Seconds between request starts now."""
        iv = self.backoff_interval
        if self.header_driven and self.header_interval is not None:
            iv = self.header_interval
        return max(iv, self.crawl_delay)

    def acquire(self, tokens: int = 0) -> None:
        """Block until a request (of ``tokens`` tokens) may start, then book the next slot."""
        slot: float | None = None  # the start slot this caller slept towards
        while True:
            with self._lock:
                now = self._clock()
                wait = max(0.0, self.next_at - now)
                if self.tpm > 0:
                    self._tokens = min(self.tpm, self._tokens + (now - self._tokens_at) * self.tpm / 60.0)
                    self._tokens_at = now
                    need = min(tokens, self.tpm)  # a request bigger than the bucket waits for a full one
                    if self._tokens < need:
                        wait = max(wait, (need - self._tokens) * 60.0 / self.tpm)
                if wait <= 0:
                    # start on the slot slept for, not when sleep returned; after an idle gap, now
                    start = self.next_at if slot == self.next_at else now
                    self.next_at = start + self.interval
                    if self.tpm > 0:
                        self._tokens -= min(tokens, self.tpm)
                    return
                slot = self.next_at if self.next_at > now else None
            self._sleep(min(wait, MAX_STEP))

    def pause(self, seconds: float) -> None:
        """Retry-After: nothing on this lane starts before ``seconds`` from now."""
        with self._lock:
            self.next_at = max(self.next_at, self._clock() + seconds)

    def on_rate_limited(self) -> None:
        """A 429 arrived: space requests twice as far apart (never closer than configured)."""
        with self._lock:
            now = self._clock()
            if now - self._last_backoff < 1.0:
                return  # one burst of 429s (many threads at once) counts as one signal
            self._last_backoff = now
            self.backoff_interval = min(
                MAX_BACKOFF_INTERVAL, max(self.backoff_interval * 2, self.base_interval, 0.02)
            )

    def on_success(self) -> None:
        """A reply arrived: creep back towards the configured spacing (or none)."""
        with self._lock:
            if self.backoff_interval > self.base_interval:
                self.backoff_interval = max(self.base_interval, self.backoff_interval * 0.99)
                if self.backoff_interval < 0.005 and not self.base_interval:
                    self.backoff_interval = 0.0

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """A header-driven lane takes its spacing from ``X-Rate-Limit-Limit``/``-Interval``."""
        if not self.header_driven:
            return
        limit = headers.get("x-rate-limit-limit")
        window = parse_interval(headers.get("x-rate-limit-interval", ""))
        try:
            n = float(limit) if limit else 0.0
        except ValueError:
            n = 0.0
        if n > 0 and window:
            self.header_interval = window / n


class Lanes:
    """Named lanes sharing one clock (the crawl: one per site, API or origin)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.lanes: dict[str, RateLimiter] = {}

    def lane(self, name: str, rate: float = 1.0, header_driven: bool = False) -> RateLimiter:
        """The lane ``name``, made at ``rate`` requests per second on first use."""
        if name not in self.lanes:
            self.lanes[name] = RateLimiter(
                1.0 / rate, name=name, header_driven=header_driven, clock=self.clock, sleep=self.sleep
            )
        return self.lanes[name]
