"""Retry policy and the errors backends raise (request/token pacing: :mod:`ccpapers.ratelimit`).

Backends translate SDK exceptions into three kinds: :class:`Retryable` (429, 408,
409, 5xx, 529, timeouts; carries the server's Retry-After), :class:`Fatal` (bad key,
quota exhausted: stop the build with a clear message) and :class:`Rejected` (this
one request cannot succeed, e.g. context too long: drop it with a reason).
"""

from __future__ import annotations

from dataclasses import dataclass

from ccpapers.errors import CcpapersError
from ccpapers.retry import Backoff


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


@dataclass
class RetryPolicy:
    retries: int = 6
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 300.0

    rate_limit_retries: int = 30  # 429s are expected under load: a larger budget of their own

    def backoff(self) -> Backoff:
        """Waits: never less than Retry-After (plus up to half of it again, so waiting threads do
        not return all at once), else exponential backoff with jitter."""
        return Backoff(
            self.base, self.cap, jitter=0.25, after_jitter=0.5, max_retry_after=self.max_retry_after
        )
