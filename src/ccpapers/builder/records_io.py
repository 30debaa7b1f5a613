"""Write a split's records as Parquet with one fixed schema (also for empty splits)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ccpapers.io import atomic_write
from ccpapers.types import Record


@lru_cache(maxsize=1)
def record_schema() -> Any:
    import pyarrow as pa

    full = Record(id="x", split="x", doi="x", license="x", license_url="x", section="x", text="x",
                  question="x", answer="x", choices=["x"], answer_index=0, title="x", journal="x", year=1,
                  group="x", source_id="x", source_span="x", generator="x", generator_version="x",
                  backend="x", model="x", prompt_hash="x", style="x", modification_note="x", flags=["x"])  # fmt: skip
    return pa.Table.from_pylist([full.to_dict()]).schema


def write_split(path: str | Path, records: list[Record]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([r.to_dict() for r in records], schema=record_schema())
    with atomic_write(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
    return len(records)
