"""robots.txt rules per origin (Disallow/Allow and Crawl-delay), via the stdlib parser."""

from __future__ import annotations

from urllib.robotparser import RobotFileParser


class RobotsRules:
    def __init__(self, text: str | None, user_agent: str, unavailable: str | None = None) -> None:
        """``text`` None means "no robots.txt" (4xx): everything allowed. ``unavailable``
        says why robots.txt could not be read (then everything is disallowed, RFC 9309)."""
        self.user_agent = user_agent
        self.unavailable = unavailable
        self.token = user_agent.split("/", 1)[0].strip() or "*"
        self._parser: RobotFileParser | None = None
        if text is not None:
            p = RobotFileParser()
            p.parse(text.splitlines())
            self._parser = p

    @classmethod
    def disallow_all(cls, user_agent: str, reason: str) -> RobotsRules:
        return cls("User-agent: *\nDisallow: /\n", user_agent, unavailable=reason)

    def allowed(self, url: str) -> bool:
        if self._parser is None:
            return True
        return self._parser.can_fetch(self.token, url)

    @property
    def crawl_delay(self) -> float | None:
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(self.token)
        return float(delay) if delay is not None else None
