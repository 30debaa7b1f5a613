"""Fetch errors; each carries a short ``code`` that the crawl report counts."""

from __future__ import annotations

from ccpapers.errors import CcpapersError


class FetchError(CcpapersError):
    code = "fetch_error"

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class HttpStatusError(FetchError):
    def __init__(self, status: int, url: str, message: str = "") -> None:
        super().__init__(message or f"HTTP {status} for {url}", url)
        self.status = status
        self.code = f"http_{status}"


class NetworkError(FetchError):
    """Timeouts and connection failures after all retries (code ``timeout`` or ``connection``)."""

    def __init__(self, code: str, message: str, url: str = "") -> None:
        super().__init__(message, url)
        self.code = code


class RobotsDisallowed(FetchError):
    code = "robots_disallowed"

    def __init__(self, message: str, url: str = "", code: str | None = None) -> None:
        super().__init__(message, url)
        if code:
            self.code = code


class BlockedError(FetchError):
    """The site answered 403 "Blocked": continuing would be impolite and pointless."""

    code = "blocked"

    def __init__(self, url: str, user_agent: str) -> None:
        super().__init__(
            f"{url} answered 403 Blocked: the site refuses this client (User-Agent {user_agent!r}). "
            "The crawl stopped; finished work is saved. What to do: set --mailto to your e-mail "
            "so the site can contact you, lower --rate, wait some hours before re-running, or "
            "discover and fetch through the APIs instead (--source crossref with a mirror "
            "--site, or ask the publisher for TDM access). Do not disguise the User-Agent.",
            url,
        )


class RefusedError(FetchError):
    """A body the client refused to take: ``too_large`` (over the size cap, decompressed
    bytes counted), ``too_slow`` (past the per-request deadline) or ``bad_encoding``
    (a Content-Encoding it cannot or will not decode). Not retried, never cached."""

    def __init__(self, code: str, message: str, url: str = "") -> None:
        super().__init__(message, url)
        self.code = code
