"""The spend ledger: every paid reply of every run, so ``--max-cost`` is a budget for the build.

``WORK/spend.jsonl`` holds one JSON line per reply (build, backend, model, request key, cost,
whether the usage was estimated) and one line per budget reset. A build's spend is the sum of its
lines after its last reset; ``--max-cost`` caps that sum, so three re-runs with a $20 cap spend
$20 in all, not $60. A line is appended (and synced) before the reply is cached: money paid is
never missing from the ledger, even when the run is killed right after.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FILE_NAME = "spend.jsonl"


class SpendLedger:
    def __init__(self, work: str | Path, build: str) -> None:
        self.path = Path(work) / FILE_NAME
        self.build = build
        self._lock = threading.Lock()

    def _lines(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        out = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                item = json.loads(line)
            except json.JSONDecodeError:  # a line torn by a crash mid-write
                log.warning("%s:%d: unreadable ledger line skipped", self.path, n)
                continue
            if isinstance(item, dict) and item.get("build") == self.build:
                out.append(item)
        return out

    def spent(self) -> float:
        """USD this build has spent since its last reset (all runs)."""
        total = 0.0
        for item in self._lines():
            total = 0.0 if item.get("reset") else total + float(item.get("cost_usd") or 0.0)
        return total

    def _append(self, item: dict[str, Any]) -> None:
        line = json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "build": self.build,
                           **item}, ensure_ascii=False)  # fmt: skip
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def add(self, backend: str, model: str, key: str, cost_usd: float, batch: bool, estimated: bool) -> None:
        self._append({"backend": backend, "model": model, "key": key, "cost_usd": cost_usd, "batch": batch,
                      "usage_estimated": estimated})  # fmt: skip

    def reset(self) -> None:
        """Start a new budget for this build; earlier lines stay as history."""
        self._append({"reset": True})
