"""Per-lane request pacing: one interval per site/API, scheduled on request *start* times.

A lane is a base URL (the article site, the Crossref API) or, for other URLs, an origin.
Its interval is ``max(1/rate, Crawl-delay)``; API lanes follow ``X-Rate-Limit-Limit`` /
``X-Rate-Limit-Interval`` headers; ``Retry-After`` pushes the whole lane back.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable


class Lane:
    def __init__(self, name: str, interval: float, header_driven: bool = False) -> None:
        self.name = name
        self.base_interval = interval
        self.crawl_delay = 0.0
        self.header_interval: float | None = None
        self.header_driven = header_driven
        self.next_at = 0.0
        self.lock = threading.Lock()

    @property
    def interval(self) -> float:
        iv = self.base_interval
        if self.header_driven and self.header_interval is not None:
            iv = self.header_interval
        return max(iv, self.crawl_delay)


def parse_interval(text: str) -> float | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", text or "")
    if not m:
        return None
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value * 60 if m.group(2) == "m" else value


class RateLimiter:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.lanes: dict[str, Lane] = {}
        self.waited = 0.0

    def lane(self, name: str, default_rate: float = 1.0, header_driven: bool = False) -> Lane:
        if name not in self.lanes:
            self.lanes[name] = Lane(name, 1.0 / default_rate, header_driven)
        return self.lanes[name]

    def acquire(self, lane: Lane) -> None:
        """Block until the lane may start a request, then book the next slot."""
        with lane.lock:
            now = self.clock()
            if lane.next_at > now:
                delay = lane.next_at - now
                self.waited += delay
                self.sleep(delay)
                # Schedule from the planned slot, not from when sleep returned, so oversleeping
                # and latency do not eat the rate; after an idle gap no credit is banked.
                start = lane.next_at
            else:
                start = now
            lane.next_at = start + lane.interval

    def push_back(self, lane: Lane, seconds: float) -> None:
        """Retry-After: nothing on this lane starts before ``seconds`` from now."""
        with lane.lock:
            lane.next_at = max(lane.next_at, self.clock() + seconds)

    def observe_headers(self, lane: Lane, headers: dict[str, str]) -> None:
        if not lane.header_driven:
            return
        limit = headers.get("x-rate-limit-limit")
        window = parse_interval(headers.get("x-rate-limit-interval", ""))
        try:
            n = float(limit) if limit else 0.0
        except ValueError:
            n = 0.0
        if n > 0 and window:
            lane.header_interval = window / n
