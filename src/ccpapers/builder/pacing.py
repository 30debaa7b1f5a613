"""How many requests one server gets at once, and how long each may take before it is retried.

A cloud API takes many requests at once and answers within seconds; a local CPU server
(llama-cpp-python, ``transformers serve``) may compute one reply at a time, each taking a
minute. With a fixed concurrency of 8 and a fixed timeout, queued requests on such a server
time out while the server keeps computing them, and the retries queue again: a livelock.

:class:`Pace` fits both numbers to the server while the build runs:

- **concurrency** starts at the server's slot count when it reports one, else at 1 for a
  local server, and climbs one step at a time while each step raises the measured
  throughput (generated tokens per second) by at least ``gain``; the first step that does
  not pays off is undone and the climb ends. A timeout or an overload answer halves it.
- **timeout** is the user's ``--timeout`` when given; otherwise ``first_timeout`` until a
  reply has been seen, then twice the slowest recent seconds-per-token times the request's
  ``max_tokens`` (never below ``floor``), doubled after every timeout.

Rate limits (429, requests/tokens per minute) are the :class:`~ccpapers.ratelimit.RateLimiter`'s
job; ``Pace`` only bounds requests in flight.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Window:
    level: int
    started: float | None = None  # at the first reply after the level was set
    replies: int = 0
    tokens: int = 0


class Pace:
    def __init__(
        self,
        max_limit: int,
        start: int | None = None,
        timeout: float = 0.0,
        floor: float = 60.0,
        first_timeout: float = 900.0,
        gain: float = 1.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_limit = max(1, max_limit)
        self.limit = max(1, min(self.max_limit, start or self.max_limit))
        self.climbing = self.limit < self.max_limit
        self.fixed_timeout = timeout
        self.floor = floor
        self.first_timeout = first_timeout
        self.gain = gain
        self.inflight = 0
        self.peak = self.limit  # the highest concurrency used, for the report
        self.timeouts = 0
        self._clock = clock
        self._cond = threading.Condition()
        self._per_token: deque[float] = deque(maxlen=20)
        self._scale = 1.0
        self._window = _Window(self.limit)
        self._best: tuple[int, float] | None = None  # (level, tokens per second)

    # -- slots -------------------------------------------------------------------
    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a free slot; False when ``stop`` was set while waiting."""
        with self._cond:
            while self.inflight >= self.limit:
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(0.2)
            if stop is not None and stop.is_set():
                return False
            self.inflight += 1
            return True

    def release(self) -> None:
        with self._cond:
            self.inflight -= 1
            self._cond.notify_all()

    # -- timeouts ------------------------------------------------------------------
    def timeout_for(self, max_tokens: int) -> float:
        if self.fixed_timeout > 0:
            return self.fixed_timeout
        with self._cond:
            if not self._per_token:
                return self.first_timeout * self._scale
            fitted = 2.0 * max(self._per_token) * max(1, max_tokens) * self._scale
            return max(self.floor, fitted)

    # -- feedback ------------------------------------------------------------------
    def on_reply(self, seconds: float, output_tokens: int) -> None:
        """A reply took ``seconds`` (queueing included) for ``output_tokens`` generated tokens."""
        with self._cond:
            self._per_token.append(seconds / max(32, output_tokens))
            if self.climbing:
                self._climb(max(1, output_tokens))

    def _climb(self, tokens: int) -> None:
        now = self._clock()
        w = self._window
        if w.started is None:  # the first reply at a new level was mostly served at the old one
            w.started = now
            return
        w.replies += 1
        w.tokens += tokens
        if w.replies < 2 * w.level + 2:
            return
        rate = w.tokens / max(1e-9, now - w.started)
        if self._best is None or rate >= self.gain * self._best[1]:
            self._best = (w.level, rate)
            if w.level >= self.max_limit:
                self.climbing = False
                return
            self._set_limit(w.level + 1)
        else:  # one more request in flight did not pay: go back and stay
            self._set_limit(self._best[0])
            self.climbing = False

    def on_timeout(self) -> None:
        """The server did not answer in time: fewer requests at once, longer patience."""
        with self._cond:
            self.timeouts += 1
            self._scale *= 2.0
            self.climbing = False
            self._set_limit(max(1, self.limit // 2))

    def on_overload(self) -> None:
        """The server answered 503/529 (busy): fewer requests at once."""
        with self._cond:
            self.climbing = False
            self._set_limit(max(1, self.limit // 2))

    def _set_limit(self, level: int) -> None:
        self.limit = level
        self.peak = max(self.peak, level)
        self._window = _Window(level)
        self._cond.notify_all()

    def to_dict(self) -> dict[str, float | int]:
        with self._cond:
            per_token = max(self._per_token) if self._per_token else 0.0
        return {
            "concurrency": self.limit,
            "peak_concurrency": self.peak,
            "timeouts": self.timeouts,
            "seconds_per_token": round(per_token, 4),
        }
