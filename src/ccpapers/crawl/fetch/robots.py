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
        self._delay: float | None = None
        if text is not None:
            p = RobotFileParser()
            p.parse(text.splitlines())
            self._parser = p
            self._delay = self._crawl_delay(text)

    @classmethod
    def disallow_all(cls, user_agent: str, reason: str) -> RobotsRules:
        return cls("User-agent: *\nDisallow: /\n", user_agent, unavailable=reason)

    def allowed(self, url: str) -> bool:
        if self._parser is None:
            return True
        return self._parser.can_fetch(self.token, url)

    @property
    def crawl_delay(self) -> float | None:
        return self._delay

    def _crawl_delay(self, text: str) -> float | None:
        """Crawl-delay of the group naming our token, else of ``*`` (fractions allowed,
        which the stdlib parser ignores)."""
        delays: dict[str, float] = {}
        agents: list[str] = []
        in_rules = False
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip().lower(), value.strip()
            if key == "user-agent":
                if in_rules:
                    agents, in_rules = [], False
                agents.append(value.lower())
            else:
                in_rules = True
                if key == "crawl-delay":
                    try:
                        delay = float(value)
                    except ValueError:
                        continue
                    for agent in agents:
                        delays[agent] = delay
        token = self.token.lower()
        for agent, delay in delays.items():
            if agent != "*" and agent in token:
                return delay
        return delays.get("*")
