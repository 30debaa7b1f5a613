"""Content-addressed store of fetched bytes: ``WORK/raw/ab/cd/<sha256>.gz``.

The blob is named by the sha256 of the uncompressed bytes; its metadata (url, final url,
status, headers, fetched_at) is indexed in the crawl journal keyed by the canonical URL,
written relative to a named base (``site:/articles/x``) when it is under one, so the index
survives the site moving to another host or port.
Blobs are written to a temporary file and renamed, so a crash never leaves half a blob.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ccpapers.crawl.fetch.urls import canonical_url, stable_key
from ccpapers.crawl.journal_db import JournalDB
from ccpapers.io import atomic_write


@dataclass
class Response:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    from_cache: bool = False
    sha256: str | None = None
    fetched_at: str | None = None
    history: list[str] = field(default_factory=list)
    truncated: bool = False  # cut at a size cap (robots.txt, error bodies); never cached

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class BlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha[2:4] / f"{sha}.gz"

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self.path(sha)
        if not path.exists():
            with atomic_write(path, "wb") as fh:
                fh.write(gzip.compress(data, mtime=0))
        return sha

    def get(self, sha: str) -> bytes | None:
        path = self.path(sha)
        try:
            data = gzip.decompress(path.read_bytes())
        except (OSError, EOFError, gzip.BadGzipFile):
            return None
        return data if hashlib.sha256(data).hexdigest() == sha else None


class FetchCache:
    """Blob store + journal index: ``lookup(url)`` / ``store(response)``.

    ``bases`` names base URLs (``{"site": "https://www.nature.com"}``) whose URLs are keyed
    by their path under the base, not by host."""

    def __init__(self, raw_dir: str | Path, db: JournalDB, bases: dict[str, str] | None = None) -> None:
        self.blobs = BlobStore(raw_dir)
        self.db = db
        self.bases = dict(bases or {})

    def key(self, url: str) -> str:
        return stable_key(url, self.bases)

    def lookup(self, url: str) -> Response | None:
        meta = self.db.get_fetch(self.key(url))
        if meta is None and self.bases:  # indexed before keys were relative to a base
            meta = self.db.get_fetch(canonical_url(url))
        if meta is None:
            return None
        data = self.blobs.get(meta["sha256"])
        if data is None:  # blob lost or corrupt: treat as not cached
            return None
        return Response(
            url=url,
            final_url=meta["final_url"],
            status=meta["status"],
            headers=meta["headers"],
            content=data,
            from_cache=True,
            sha256=meta["sha256"],
            fetched_at=meta["fetched_at"],
        )

    def store(self, resp: Response) -> None:
        sha = self.blobs.put(resp.content)  # blob first, then the index row
        resp.sha256 = sha
        keep = {k: v for k, v in resp.headers.items() if k.lower() != "set-cookie"}
        key = self.key(resp.url)
        self.db.put_fetch(key, resp.url, resp.final_url, resp.status, keep, sha, len(resp.content))
        meta = self.db.get_fetch(key)
        resp.fetched_at = meta["fetched_at"] if meta else None
