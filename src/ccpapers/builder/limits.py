"""Request/token rate limits, retry policy and the errors backends raise.

Backends translate SDK exceptions into three kinds: :class:`Retryable` (429, 408,
409, 5xx, 529, timeouts; carries the server's Retry-After), :class:`Fatal` (bad key,
quota exhausted: stop the build with a clear message) and :class:`Rejected` (this
one request cannot succeed, e.g. context too long: drop it with a reason).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from ccpapers.errors import CcpapersError
from ccpapers.retry import backoff_delay


class BackendError(CcpapersError):
    """Base of backend errors; ``reason`` is a short code for the build report.

    The message often quotes a server's error body, which may echo the key: ``str()`` scrubs it
    (as every ``CcpapersError`` does).
    """

    reason = "backend-error"


class Retryable(BackendError):
    reason = "retryable"

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        status: int | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status
        self.timed_out = timed_out  # no answer within the timeout (the server may still be working on it)


class Fatal(BackendError):
    """Stops the whole build (auth, quota, missing package): retrying cannot help."""

    reason = "fatal"


class Rejected(BackendError):
    """This request cannot succeed (context too long, bad request): drop it, go on."""

    def __init__(self, message: str, reason: str = "rejected") -> None:
        super().__init__(message)
        self.reason = reason


class RateLimiter:
    """Evenly spaced requests (``rpm``) and a token bucket (``tpm``); thread-safe.

    Requests are spaced ``60/rpm`` seconds apart (no bursts), which keeps a
    provider's own sliding-window limiter from answering 429. ``pause(seconds)``
    holds every caller back, used when a server answers 429 with Retry-After; each
    429 also doubles the spacing, and each reply narrows it again by 1 % (AIMD), so
    a limit lower than the configured one (or none configured) is found by itself.
    """

    def __init__(self, rpm: float = 0.0, tpm: float = 0.0, clock=time.monotonic, sleep=time.sleep) -> None:
        self.interval = 60.0 / rpm if rpm and rpm > 0 else 0.0
        self._base_interval = self.interval
        self._last_backoff = -1e9
        self.tpm = float(tpm or 0.0)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0
        self._tokens = self.tpm
        self._tokens_at = clock()
        self._paused_until = 0.0

    def on_rate_limited(self) -> None:
        """A 429 arrived: space requests twice as far apart (never closer than ``rpm`` asks)."""
        with self._lock:
            now = self._clock()
            if now - self._last_backoff < 1.0:
                return  # one burst of 429s (many threads at once) counts as one signal
            self._last_backoff = now
            self.interval = min(5.0, max(self.interval * 2, self._base_interval, 0.02))

    def on_success(self) -> None:
        """A reply arrived: creep back towards the configured spacing (or none)."""
        with self._lock:
            if self.interval > self._base_interval:
                self.interval = max(self._base_interval, self.interval * 0.99)
                if self.interval < 0.005 and not self._base_interval:
                    self.interval = 0.0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def acquire(self, tokens: int = 0) -> None:
        while True:
            with self._lock:
                now = self._clock()
                wait = max(0.0, self._paused_until - now)
                if self.tpm > 0:
                    self._tokens = min(self.tpm, self._tokens + (now - self._tokens_at) * self.tpm / 60.0)
                    self._tokens_at = now
                    need = min(tokens, self.tpm)  # a request bigger than the bucket waits for a full one
                    if self._tokens < need:
                        wait = max(wait, (need - self._tokens) * 60.0 / self.tpm)
                if wait <= 0 and self.interval:
                    wait = max(0.0, self._next - now)
                if wait <= 0:
                    if self.interval:
                        self._next = max(now, self._next) + self.interval
                    if self.tpm > 0:
                        self._tokens -= min(tokens, self.tpm)
                    return
            self._sleep(min(wait, 1.0))


@dataclass
class RetryPolicy:
    retries: int = 6
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 300.0

    rate_limit_retries: int = 30  # 429s are expected under load: a larger budget of their own

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait: never less than Retry-After (plus jitter so waiting threads do not
        return all at once), else exponential backoff with jitter."""
        if retry_after is not None:
            wait = min(retry_after, self.max_retry_after)
            return wait + random.uniform(0.0, max(0.05, 0.5 * wait))
        return backoff_delay(attempt, self.base, self.cap, jitter=0.25)
