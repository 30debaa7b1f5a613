"""Write a split's records as Parquet with one fixed schema (also for empty splits)."""

from __future__ import annotations

from pathlib import Path

from ccpapers.io import arrow_schema, write_parquet
from ccpapers.types import Record


def write_split(path: str | Path, records: list[Record]) -> int:
    return write_parquet(path, records, schema=arrow_schema(Record))
