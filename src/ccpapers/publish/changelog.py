"""The repo's changelog: one entry per distinct build, kept in the repo folder's state dir."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

STATE_DIR = ".ccpapers"  # local bookkeeping inside the repo folder, never uploaded


def fingerprint(folder: Path, rels: list[str]) -> str:
    """A short hash of the named files' paths and contents (what identifies a build's data)."""
    h = hashlib.sha256()
    for rel in sorted(rels):
        h.update(rel.encode() + b"\0" + hashlib.sha256((folder / rel).read_bytes()).digest())
    return h.hexdigest()[:16]


def read_changelog(repo_dir: Path) -> list[dict[str, Any]]:
    """The changelog of the repo folder written last time (empty for a new folder)."""
    path = repo_dir / STATE_DIR / "changelog.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def update_changelog(
    old: list[dict[str, Any]], fingerprint: str, rows: int, version: str | None, note: str
) -> list[dict[str, Any]]:
    """One entry per distinct build; re-publishing the same build changes nothing."""
    entries = [dict(e) for e in old]
    last = entries[-1] if entries else None
    if last and last.get("fingerprint") == fingerprint:
        if version and not last.get("version"):
            last["version"] = version
        elif version and last.get("version") != version:
            entries.append({**last, "version": version, "note": f"re-release of {last.get('version')}"})
        return entries
    entries.append(
        {
            "version": version,
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "note": note,
            "rows": rows,
            "fingerprint": fingerprint,
        }
    )
    return entries
