"""Content-addressed, write-ahead cache of provider replies.

One JSON file per request, named by ``sha256`` of the canonical JSON of (backend,
model, full payload, generator version, variant index). A reply is written
atomically the moment it arrives, so a crash loses only requests still in flight,
and a re-run is a lookup. Parsing is outside the key: changing a parser or a filter
costs nothing. Batch ids are stored beside the replies so a batch run resumes (file names
are a hash of the id: a provider's id never becomes a path). The files are kept by
:class:`ccpapers.jsoncache.JsonCache`, the cache every stage shares.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ccpapers.io import atomic_write
from ccpapers.jsoncache import JsonCache, canonical

__all__ = ["ReplyCache", "canonical", "request_key"]


def request_key(backend: str, model: str, payload: dict[str, Any], generator: str, variant: int) -> str:
    material = {
        "backend": backend,
        "model": model,
        "payload": payload,
        "generator": generator,
        "variant": variant,
    }
    return hashlib.sha256(canonical(material).encode("utf-8")).hexdigest()


class ReplyCache(JsonCache):
    """Replies under ``root/<h[:2]>/<h>.json`` (canonical JSON); batch ids under ``root/batches/``."""

    def __init__(self, root: str | Path) -> None:
        super().__init__(root, fan_out=True)

    # -- batch bookkeeping -------------------------------------------------
    def _batch_dir(self) -> Path:
        return self.root / "batches"

    def _batch_path(self, backend: str, batch_id: str) -> Path:
        """The provider chooses batch ids (``../x`` included): file names are a hash of the id."""
        digest = hashlib.sha256(batch_id.encode("utf-8")).hexdigest()[:32]
        return self._batch_dir() / f"{backend}-{digest}.json"

    def save_batch(self, backend: str, batch_id: str, keys: list[str], meta: dict[str, Any]) -> None:
        with atomic_write(self._batch_path(backend, batch_id)) as fh:
            fh.write(canonical({"backend": backend, "batch_id": batch_id, "keys": keys, "meta": meta}))

    def pending_batches(self, backend: str) -> list[dict[str, Any]]:
        folder = self._batch_dir()
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.glob(f"{backend}-*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if not data.get("done") and data.get("backend") == backend:
                out.append(data)
        return out

    def finish_batch(self, backend: str, batch_id: str) -> None:
        folder = self._batch_dir()
        # files written before ids were hashed are named <backend>-<id>.json: found by content
        for path in [self._batch_path(backend, batch_id), *sorted(folder.glob(f"{backend}-*.json"))]:
            if not path.is_file():
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("batch_id") == batch_id and data.get("backend") == backend:
                data["done"] = True
                with atomic_write(path) as fh:
                    fh.write(canonical(data))
                return
