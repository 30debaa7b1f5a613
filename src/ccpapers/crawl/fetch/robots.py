"""robots.txt rules per origin, read as Google reads them (RFC 9309), via Protego.

Protego matches ``*`` and ``$`` patterns, lets the longest matching rule win (Allow on a
tie), picks the group naming our product token over ``*``, and reads fractional
``Crawl-delay`` values (the stdlib parser does none of these). A ``Crawl-delay`` longer than
``max_delay`` (``inf`` included) is capped to it with a warning; a malformed, negative or
NaN one is ignored.
"""

from __future__ import annotations

import logging
import math
import re

from protego import Protego

log = logging.getLogger(__name__)

DEFAULT_MAX_DELAY = 60.0
_DELAY_LINE = re.compile(r"(?im)^(\s*crawl[-_ ]?delay\s*:\s*)([^#\r\n]*)")


class RobotsRules:
    def __init__(
        self,
        text: str | None,
        user_agent: str,
        unavailable: str | None = None,
        max_delay: float = DEFAULT_MAX_DELAY,
        origin: str = "",
    ) -> None:
        """``text`` None means "no robots.txt" (4xx): everything allowed. ``unavailable``
        says why robots.txt could not be read (then everything is disallowed, RFC 9309)."""
        self.user_agent = user_agent
        self.unavailable = unavailable
        self.token = user_agent.split("/", 1)[0].strip() or "*"
        self._parser: Protego | None = None
        self._delay: float | None = None
        if text is not None:
            capped: list[str] = []
            self._parser = Protego.parse(_cap_delays(text, max_delay, capped))
            self._delay = self._parser.crawl_delay(self.token)
            if capped and self._delay == max_delay:
                log.warning(
                    "robots.txt of %s asks for Crawl-delay: %s s; capped to %g s between requests",
                    origin or "the site",
                    " / ".join(capped),
                    max_delay,
                )

    @classmethod
    def disallow_all(cls, user_agent: str, reason: str) -> RobotsRules:
        return cls("User-agent: *\nDisallow: /\n", user_agent, unavailable=reason)

    def allowed(self, url: str) -> bool:
        if self._parser is None:
            return True
        return self._parser.can_fetch(url, self.token)

    @property
    def crawl_delay(self) -> float | None:
        return self._delay


def _cap_delays(text: str, max_delay: float, capped: list[str]) -> str:
    """``text`` with every Crawl-delay above ``max_delay`` (``inf``, ``1e400``…) set to it."""

    def cap(m: re.Match[str]) -> str:
        value = m.group(2).strip()
        try:
            delay = float(value)
        except ValueError:
            return m.group(0)
        if math.isnan(delay) or delay <= max_delay:
            return m.group(0)
        capped.append(value)
        return f"{m.group(1)}{max_delay!r}"

    return _DELAY_LINE.sub(cap, text)
