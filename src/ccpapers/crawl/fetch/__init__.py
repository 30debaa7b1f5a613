"""The one shared fetch layer: polite client, robots.txt, per-host pacing, cache.

Sources and parsers never download; everything goes through :class:`PoliteClient`.
"""

from ccpapers.crawl.fetch.errors import (
    BlockedError,
    FetchError,
    HttpStatusError,
    NetworkError,
    RefusedError,
    RobotsDisallowed,
)

__all__ = [
    "BlockedError",
    "FetchError",
    "HttpStatusError",
    "NetworkError",
    "RefusedError",
    "RobotsDisallowed",
]
