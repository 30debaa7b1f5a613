"""Retrying, shared by every stage that talks to a server (crawl fetches, LLM calls).

How long a server asked us to wait (:func:`parse_retry_after`), how long to back off when it did
not say (:func:`backoff_delay`, :class:`Backoff`), and the one retry loop (:func:`with_retries`)
with a budget per kind of failure. The callers own the waiting (per-host lanes in the crawl, the
engine's limiter and stop flag in the build).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import TypeVar

T = TypeVar("T")


def parse_retry_after(source: object, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta seconds or an HTTP date), or None.

    ``source`` is the header's value, or a headers mapping; a mapping's ``retry-after-ms``
    (OpenAI's) wins over ``retry-after``.
    """
    if source is None:
        return None
    value = source
    if not isinstance(source, str):
        get = getattr(source, "get", None)
        if get is None:
            return None
        ms = get("retry-after-ms")
        if ms:
            try:
                return max(0.0, float(ms) / 1000.0)
            except ValueError:
                pass
        value = get("retry-after")
    if not value:
        return None
    value = str(value).strip()
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
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def backoff_delay(
    attempt: int, base: float, cap: float, jitter: float = 0.25, rng: random.Random | None = None
) -> float:
    """Exponential backoff for retry ``attempt`` (0-based): ``min(cap, base * 2**attempt)`` times a
    random factor in ``[1 - jitter, 1 + jitter)``, so waiting clients do not return all at once."""
    step = min(cap, base * 2**attempt)
    return step * (1.0 - jitter + 2.0 * jitter * (rng or random).random())


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry ``attempt`` (0-based): the server's Retry-After when it
    gave one (shortened to ``max_retry_after``, plus a random share of up to ``after_jitter`` of
    it so waiting clients do not return all at once; 0 waits exactly), else :func:`backoff_delay`.
    ``rng`` None draws from the :mod:`random` module."""

    base: float
    cap: float
    jitter: float = 0.25
    rng: random.Random | None = None
    after_jitter: float = 0.0
    max_retry_after: float | None = None

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is None:
            return backoff_delay(attempt, self.base, self.cap, jitter=self.jitter, rng=self.rng)
        wait = retry_after if self.max_retry_after is None else min(retry_after, self.max_retry_after)
        if not self.after_jitter:
            return wait
        return wait + (self.rng or random).uniform(0.0, max(0.05, self.after_jitter * wait))


@dataclass
class Retry:
    """One attempt failed in a way that may succeed later: ``error`` is raised once the budget of
    its ``kind`` is spent; ``retry_after`` is the server's wait (None: back off)."""

    error: BaseException
    retry_after: float | None = None
    kind: str = "error"


def with_retries(
    attempt: Callable[[], T | Retry],
    *,
    budgets: Mapping[str, int],
    backoff: Backoff,
    wait: Callable[[Retry, float, int], None],
    stopped: Callable[[], bool] | None = None,
) -> T | None:
    """Call ``attempt`` until it returns a value (returned) or raises (propagated).

    A :class:`Retry` outcome is tried again while its kind has retries left in ``budgets`` (each
    kind counts its own), else its error is raised. Before retry ``n`` (1-based, per kind) the
    stage's ``wait(outcome, delay, n)`` does the waiting (a lane's pause, an interruptible event),
    ``delay`` from ``backoff``; when ``stopped()`` then says so, None is returned.
    """
    used: dict[str, int] = {}
    while True:
        outcome = attempt()
        if not isinstance(outcome, Retry):
            return outcome
        n = used[outcome.kind] = used.get(outcome.kind, 0) + 1
        if n > budgets[outcome.kind]:
            raise outcome.error
        wait(outcome, backoff.delay(n - 1, outcome.retry_after), n)
        if stopped is not None and stopped():
            return None
