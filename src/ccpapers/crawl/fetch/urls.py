"""URL canonicalisation: the cache key of a URL (tracking and cookie-error queries removed)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_DROP_PARAMS = {"error", "code", "mailto"}
_DROP_PREFIXES = ("wt.", "utm_")


def canonical_url(url: str) -> str:
    """Lower-case scheme/host, drop fragment, tracking params (``WT.feed_name``, ``utm_*``),
    the cookie redirect's ``error=cookies_not_supported&code=…`` and ``mailto``; sort the rest."""
    parts = urlsplit(url.strip())
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _DROP_PARAMS and not k.lower().startswith(_DROP_PREFIXES)
    ]
    query.sort()
    netloc = parts.netloc.lower()
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme.lower()}://{p.netloc.lower()}"
