"""URL forms: the cache key of a URL (tracking and cookie-error queries removed) and the URL as it
is really requested (the form robots.txt is checked on)."""

from __future__ import annotations

import re
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


def stable_key(url: str, bases: dict[str, str]) -> str:
    """The cache key of ``url``: its canonical form, written ``name:/path?query`` when it lies
    under one of the named ``bases`` (the longest wins), so it does not depend on the host."""
    key = canonical_url(url)
    for name, base in sorted(bases.items(), key=lambda kv: -len(kv[1])):
        b = canonical_url(base).rstrip("/")
        if key == b or key.startswith((b + "/", b + "?")):
            return f"{name}:{key[len(b) :] or '/'}"
    return key


def origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme.lower()}://{p.netloc.lower()}"


_UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")


def request_url(url: str) -> str:
    """The URL exactly as it will be requested: percent-escapes of unreserved characters
    decoded (``%2e`` is ``.``, RFC 3986 6.2.2.2), dot segments removed, host lower-cased.

    robots.txt must be checked on this form, not on the raw string: ``/articles/../private``
    and ``/articles/%2e%2e/private`` are both requests for ``/private``.
    """
    import httpx2

    parts = urlsplit(url.strip())
    path = _UNRESERVED_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), parts.path)
    return str(httpx2.URL(urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))))
