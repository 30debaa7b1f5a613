"""The one on-disk JSON cache every stage uses: one file per key, written atomically.

A key is whatever the caller hashes its content to (the build's replies, the bench's baseline
answers and judge ratings each keep their own key formula, so caches written before this
module existed are still hits). An entry is written the moment it is known, by temporary file
and rename, so a crash leaves either the whole entry or none. A file that cannot be read back
(not JSON, not an object, missing a key the caller requires) is a miss, never an error; callers
that want to be told (the bench moves it aside and warns) pass ``on_damaged``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccpapers.io import atomic_write


def canonical(obj: Any) -> str:
    """Sorted keys, no spaces, unicode kept: the text hashed for keys and stored for replies."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def write_canonical(path: Path, value: Any) -> None:
    with atomic_write(path) as fh:
        fh.write(canonical(value))


def read_checked(path: Path, required: tuple[str, ...] = ()) -> tuple[dict[str, Any] | None, str]:
    """(the object in ``path``, "") or (None, what is wrong with it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, str(exc)
    if not isinstance(data, dict):
        return None, "not an object"
    missing = [k for k in required if k not in data]
    if missing:
        return None, f"lacks {missing}"
    return data, ""


class JsonCache:
    """Entries under ``root/<key>.json``, or ``root/<key[:2]>/<key>.json`` with ``fan_out``.

    ``write(path, value)`` writes one entry atomically (default: canonical JSON; the bench
    passes :func:`ccpapers.io.write_json`, whose indented, scrubbed files it always wrote).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        fan_out: bool = False,
        write: Callable[[Path, Any], None] = write_canonical,
        required: tuple[str, ...] = (),
        on_damaged: Callable[[Path, str], None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.fan_out = fan_out
        self._write = write
        self.required = required
        self.on_damaged = on_damaged

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json" if self.fan_out else self.root / f"{key}.json"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> dict[str, Any] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        data, problem = read_checked(path, self.required)
        if data is None and self.on_damaged is not None:
            self.on_damaged(path, problem)
        return data

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self._write(self.path(key), entry)
