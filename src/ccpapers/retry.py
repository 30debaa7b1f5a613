"""Retry arithmetic shared by every stage that talks to a server (crawl fetches, LLM calls).

Pure functions only: how long a server asked us to wait, and how long to back off when it
did not say. The callers own the waiting (per-host lanes in the crawl, the engine's limiter in
the build).
"""

from __future__ import annotations

import email.utils
import random
import time
from datetime import UTC


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
