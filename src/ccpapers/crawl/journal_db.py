"""The crawl journal: one SQLite file recording every reference's state and every fetch.

States of a reference: ``discovered`` -> ``fetched`` -> ``parsed`` -> ``kept`` |
``rejected`` (with the policy's reason), or ``failed`` (error code, message, attempts).
The database runs in WAL mode and commits after every change, so ``kill -9`` at any
moment loses nothing that was finished; re-running resumes from these rows. A damaged or
foreign file gives a :class:`JournalError` (see :func:`journal_error`) saying what to do.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccpapers.errors import InputError
from ccpapers.types import PaperRef

SCHEMA = """
CREATE TABLE IF NOT EXISTS refs (
    doi TEXT PRIMARY KEY,
    journal TEXT, url TEXT, published TEXT, title TEXT, source TEXT,
    license_hint TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'discovered',
    reason TEXT, error TEXT, message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    paper TEXT,
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS refs_state ON refs(state);
CREATE TABLE IF NOT EXISTS fetches (
    key TEXT PRIMARY KEY,
    url TEXT, final_url TEXT, status INTEGER, headers TEXT,
    sha256 TEXT, size INTEGER, fetched_at TEXT
);
CREATE TABLE IF NOT EXISTS windows (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL, found INTEGER NOT NULL DEFAULT 0, expected INTEGER,
    updated_at TEXT
);
"""

STATES = ("discovered", "fetched", "parsed", "kept", "rejected", "failed")


class JournalError(InputError):
    """The crawl journal cannot be used (damaged, not a database, unwritable)."""


def journal_error(path: str | Path, exc: sqlite3.Error) -> JournalError:
    path = Path(path)
    if isinstance(exc, sqlite3.OperationalError):
        return JournalError(
            f"crawl journal {path} cannot be used ({exc}); check free disk space and permissions "
            f"on {path.parent}, then re-run"
        )
    return JournalError(
        f"crawl journal {path} is damaged or not a ccpapers journal ({exc}). To start its record "
        f"afresh, move it aside (mv {path} {path}.bad) and re-run the same command: papers are "
        "discovered and fetched again (the journal is the index of the raw cache); nothing else "
        f"under {path.parent} needs to go"
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JournalDB:
    """Thin, committed-on-every-write access to the crawl journal."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=10000")
            self.conn.executescript(SCHEMA)
            self.conn.execute("SELECT COUNT(*) FROM refs").fetchone()
        except sqlite3.Error as exc:
            self.conn.close()
            raise journal_error(self.path, exc) from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> JournalDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- references --------------------------------------------------------------------
    def add_ref(self, ref: PaperRef) -> bool:
        """Record a discovered reference; True when it is new. Evidence is merged, never lost."""
        doi = ref.doi.lower()
        row = self.conn.execute("SELECT license_hint FROM refs WHERE doi=?", (doi,)).fetchone()
        if row is not None:
            hints = json.loads(row[0])
            new = [h for h in ref.license_hint if h not in hints]
            if new:
                self.conn.execute(
                    "UPDATE refs SET license_hint=? WHERE doi=?", (json.dumps(hints + new), doi)
                )
            return False
        self.conn.execute(
            "INSERT INTO refs (doi, journal, url, published, title, source, license_hint, state, updated_at)"
            " VALUES (?,?,?,?,?,?,?,'discovered',?)",
            (
                doi,
                ref.journal,
                ref.url,
                ref.published,
                ref.title,
                ref.source,
                json.dumps(list(ref.license_hint)),
                now_iso(),
            ),
        )
        return True

    def add_refs(self, refs: list[PaperRef]) -> int:
        """Record one discovery page in a single transaction (all or nothing); returns new refs."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            new = sum(self.add_ref(ref) for ref in refs)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return new

    def ref(self, doi: str) -> dict[str, Any] | None:
        cur = self.conn.execute("SELECT * FROM refs WHERE doi=?", (doi.lower(),))
        row = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], row, strict=True)) if row else None

    def refs(self, states: tuple[str, ...] | None = None, batch: int = 500) -> Iterator[dict[str, Any]]:
        """Rows in discovery order (optionally only some states), read in batches so memory
        stays flat and rows may be updated while iterating."""
        where = f"state IN ({','.join('?' * len(states))})" if states else "1"
        return self._paged(where, tuple(states or ()), batch)

    def _paged(self, where: str, args: tuple[Any, ...], batch: int) -> Iterator[dict[str, Any]]:
        """Rows matching ``where`` in rowid order, ``batch`` at a time (keyset paging)."""
        last = 0
        while True:
            cur = self.conn.execute(
                f"SELECT rowid, * FROM refs WHERE rowid > ? AND ({where}) ORDER BY rowid LIMIT ?",
                (last, *args, batch),
            )
            names = [c[0] for c in cur.description]
            rows = cur.fetchall()
            if not rows:
                return
            for row in rows:
                item = dict(zip(names, row, strict=True))
                last = item.pop("rowid")
                yield item

    def by_journal(self) -> dict[str, dict[str, int]]:
        rows = self.conn.execute(
            "SELECT journal, COUNT(*), SUM(state = 'kept') FROM refs GROUP BY journal"
        ).fetchall()
        return {str(j): {"discovered": n, "kept": int(k or 0)} for j, n, k in rows}

    def pending(
        self, states: tuple[str, ...], max_attempts: int, batch: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Refs still to work on (``states``, or failed with fewer than ``max_attempts``), in
        discovery order, read in batches so memory stays flat; each row is visited once."""
        marks = ",".join("?" * len(states))
        where = f"state IN ({marks}) OR (state = 'failed' AND attempts < ?)"
        return self._paged(where, (*states, max_attempts), batch)

    def count_where(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        return self.conn.execute(f"SELECT COUNT(*) FROM refs WHERE {sql}", args).fetchone()[0]

    def set_state(self, doi: str, state: str, **fields: Any) -> None:
        assert state in STATES, state
        cols = {"state": state, "updated_at": now_iso(), **fields}
        sets = ", ".join(f"{k}=?" for k in cols)
        self.conn.execute(f"UPDATE refs SET {sets} WHERE doi=?", (*cols.values(), doi.lower()))

    def fail(self, doi: str, error: str, message: str) -> None:
        self.conn.execute(
            "UPDATE refs SET state='failed', error=?, message=?, attempts=attempts+1, updated_at=?"
            " WHERE doi=?",
            (error, message[:2000], now_iso(), doi.lower()),
        )

    def counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT state, COUNT(*) FROM refs GROUP BY state").fetchall())

    def grouped(self, state: str, column: str) -> dict[str, int]:
        assert column in ("reason", "error", "journal")
        rows = self.conn.execute(
            f"SELECT {column}, COUNT(*) FROM refs WHERE state=? GROUP BY {column}", (state,)
        ).fetchall()
        return {str(k): n for k, n in rows}

    def total_refs(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM refs").fetchone()[0]

    # -- fetch metadata (the cache index) ----------------------------------------------
    def get_fetch(self, key: str) -> dict[str, Any] | None:
        cur = self.conn.execute("SELECT * FROM fetches WHERE key=?", (key,))
        row = cur.fetchone()
        if row is None:
            return None
        out = dict(zip([c[0] for c in cur.description], row, strict=True))
        out["headers"] = json.loads(out["headers"] or "{}")
        return out

    def put_fetch(
        self, key: str, url: str, final_url: str, status: int, headers: dict[str, str], sha256: str, size: int
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO fetches VALUES (?,?,?,?,?,?,?,?)",
            (key, url, final_url, status, json.dumps(headers), sha256, size, now_iso()),
        )

    # -- discovery windows ---------------------------------------------------------------
    def window(self, key: str) -> dict[str, Any] | None:
        cur = self.conn.execute("SELECT * FROM windows WHERE key=?", (key,))
        row = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], row, strict=True)) if row else None

    def set_window(self, key: str, state: str, found: int, expected: int | None = None) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO windows VALUES (?,?,?,?,?)", (key, state, found, expected, now_iso())
        )

    def windows(self) -> list[dict[str, Any]]:
        cur = self.conn.execute("SELECT * FROM windows ORDER BY key")
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
