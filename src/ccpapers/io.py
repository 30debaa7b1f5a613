"""JSONL and Parquet readers/writers for the data model, used by every stage.

Writes are atomic (temporary file + rename) so a crash never leaves half a file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import types
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO, Any, TypeVar

from ccpapers.errors import InputError
from ccpapers.types import Serializable

T = TypeVar("T", bound=Serializable)


def _as_dict(item: Serializable | dict[str, Any]) -> dict[str, Any]:
    return item if isinstance(item, dict) else item.to_dict()


def ensure_dir(path: str | Path, what: str = "work directory") -> Path:
    """Create ``path`` (and parents) as a folder; a file in the way is the user's error, said clearly."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise InputError(f"{what} {path} is a file, not a folder; choose another --work") from exc
    except PermissionError as exc:
        raise InputError(f"{what} {path}: permission denied; choose a folder you can write") from exc
    return path


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (model files, Hub uploads)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` and move it into place on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: str | Path, items: Iterable[Serializable | dict[str, Any]]) -> int:
    """Write items as JSON lines; returns the number written."""
    n = 0
    with atomic_write(path) as fh:
        for item in items:
            fh.write(json.dumps(_as_dict(item), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path, cls: type[T] | None = None) -> Iterator[Any]:
    """Yield dicts (or ``cls`` instances) from a JSONL file, naming the bad line on error."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
            yield cls.from_dict(data) if cls else data


def _arrow_type(hint: Any) -> Any:
    import pyarrow as pa

    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _arrow_type(inner)
    if origin is list:
        return pa.list_(_arrow_type(typing.get_args(hint)[0]))
    return {str: pa.string(), int: pa.int64(), bool: pa.bool_(), float: pa.float64()}[hint]


@cache
def arrow_schema(cls: type) -> Any:
    """The Arrow schema of a flat dataclass (``Record``): its fields in order, types from its hints.

    Used by every stage that writes rows, so a split written by ``build`` and the shards written
    by ``publish`` have the same columns, also when a split is empty.
    """
    import pyarrow as pa

    hints = typing.get_type_hints(cls)
    return pa.schema([pa.field(f.name, _arrow_type(hints[f.name])) for f in dataclasses.fields(cls)])


def write_parquet(
    path: str | Path, items: Iterable[Serializable | dict[str, Any]], schema: Any = None
) -> int:
    """Write items as one Parquet file (nested dataclasses become structs; ``schema`` fixes columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [_as_dict(i) for i in items]
    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_write(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
    return len(rows)


def read_parquet(path: str | Path, cls: type[T] | None = None) -> Iterator[Any]:
    import pyarrow.parquet as pq

    for row in pq.read_table(path).to_pylist():
        yield cls.from_dict(row) if cls else row


def read_records(path: str | Path, cls: type[T] | None = None) -> Iterator[Any]:
    """Read a .jsonl or .parquet file, or every such file in a folder (sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".jsonl", ".parquet"))
        for f in files:
            yield from read_records(f, cls)
        return
    if path.suffix == ".parquet":
        yield from read_parquet(path, cls)
    elif path.suffix == ".jsonl":
        yield from read_jsonl(path, cls)
    else:
        raise InputError(f"{path}: expected a .jsonl or .parquet file")


def write_json(path: str | Path, data: Any) -> None:
    """A report or summary as indented JSON; every string passes the secret scrubber first."""
    from ccpapers.secrets import scrub_obj

    with atomic_write(path) as fh:
        json.dump(scrub_obj(json.loads(json.dumps(data, default=str))), fh, indent=2, ensure_ascii=False)
        fh.write("\n")
