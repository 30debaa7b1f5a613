"""Read a build, route its rows into licence-tier configs and write Parquet shards.

A config is ``<kind>-<tier>`` (``abstract-by``, ``qa-nc``...): the rows of one build split
whose licence tier is at most the config's tier. Tiers nest (by < sa < nc < all); ``all``
adds the ND licences and exists only for verbatim kinds, because adapted material (Q&A,
MCQ, rewrites, translations) may not be shared from ND sources. Every config has one split,
``train``, written as ``data/<config>/train-0000i-of-0000N.parquet`` with one Arrow schema
(derived from :class:`ccpapers.types.Record`) so that all configs share the same columns.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ccpapers.errors import CcpapersError
from ccpapers.io import arrow_schema
from ccpapers.licenses import id_url_conflict, license_from_id
from ccpapers.types import GENERATED_SPLITS, TIERS, Record

VERBATIM_KINDS: tuple[str, ...] = (
    "abstract",
    "introduction",
    "conclusion",
    "results",
    "discussion",
    "methods",
    "other",
)
DERIVED_KINDS: tuple[str, ...] = GENERATED_SPLITS
KIND_ORDER: tuple[str, ...] = VERBATIM_KINDS + DERIVED_KINDS
SPLIT_NAME = "train"
MAX_ROW_GROUP_BYTES = 100 * 1024 * 1024  # datasets' MAX_ROW_GROUP_SIZE; the viewer wants < ~286 MiB


class BuildError(CcpapersError, ValueError):
    """The build folder cannot be published (names the file and what to do)."""

    exit_code = 1


def kind_sort_key(kind: str) -> tuple[int, str]:
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)


def tiers_for(kind: str) -> tuple[str, ...]:
    """Tiers offered for a kind: all four for verbatim text, by/sa/nc for derived kinds."""
    return TIERS if kind in VERBATIM_KINDS else tuple(t for t in TIERS if t != "all")


def config_name(kind: str, tier: str) -> str:
    return f"{kind}-{tier}"


def split_config_name(name: str) -> tuple[str, str]:
    kind, _, tier = name.rpartition("-")
    if not kind or tier not in TIERS:
        raise ValueError(f"config name {name!r} is not <kind>-<tier> with tier in {TIERS}")
    return kind, tier


@cache
def licence_info(hub_id: str) -> tuple[str | None, str | None]:
    """(tier, url) of a row licence id (``cc-by-4.0``, versionless ``cc-by``, ``cc0-1.0``,
    ``pdm-1.0``), or (None, None) when it is not a known licence id."""
    lic = license_from_id(hub_id)
    if lic is None or lic.tier is None:
        return None, None
    return lic.tier, lic.url


def record_schema() -> Any:
    """One Arrow schema for every published row: the fields of Record, in order."""
    return arrow_schema(Record)


def _part_files(build_dir: Path, split: str) -> list[Path]:
    return sorted((build_dir / split).glob("*.parquet"))


def read_build_splits(build_dir: Path) -> dict[str, Any]:
    """Every split of a build as one Arrow table with :func:`record_schema`, rows sorted by id.

    Rows are validated through ``Record.from_dict``; a missing ``license_url`` is filled in
    from the licence id.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not build_dir.is_dir():
        raise BuildError(
            f"build folder {build_dir} does not exist: run `ccpapers build` first or pass --build-dir"
        )
    splits = sorted(
        (p.name for p in build_dir.iterdir() if p.is_dir() and _part_files(build_dir, p.name)),
        key=kind_sort_key,
    )
    if not splits:
        raise BuildError(f"{build_dir} holds no <split>/part-*.parquet files: is it a ccpapers build folder?")
    tables: dict[str, Any] = {}
    for split in splits:
        rows: list[dict[str, Any]] = []
        for path in _part_files(build_dir, split):
            try:
                table = pq.read_table(path)
            except (pa.ArrowException, OSError) as exc:
                raise BuildError(
                    f"{path} is not a readable Parquet file ({exc}); re-run `ccpapers build` to rewrite it"
                ) from exc
            for i, raw in enumerate(table.to_pylist()):
                try:
                    rec = Record.from_dict(raw)
                except (TypeError, ValueError) as exc:
                    raise BuildError(f"{path} row {i}: not a ccpapers Record ({exc})") from exc
                if rec.split != split:
                    raise BuildError(f"{path} row {i}: split {rec.split!r} found in folder {split}/")
                if not rec.license_url:
                    rec.license_url = licence_info(rec.license)[1]
                rows.append(rec.to_dict())
        rows.sort(key=lambda r: r["id"])
        ids = Counter(r["id"] for r in rows)
        dup = [i for i, n in ids.items() if n > 1]
        if dup:
            raise BuildError(f"{build_dir / split}: duplicate row id(s) {dup[:3]}; rebuild the split")
        tables[split] = pa.Table.from_pylist(rows, schema=record_schema())
    return tables


@dataclass
class ConfigPlan:
    name: str
    kind: str
    tier: str
    table: Any  # pyarrow.Table


def plan_configs(tables: dict[str, Any]) -> tuple[list[ConfigPlan], Counter[tuple[str, str]]]:
    """Route rows into tier configs; returns the configs (non-empty only) and drop reasons.

    Dropped, and counted per ``(split, reason)``: rows whose licence is not a known CC
    licence (``unknown-license <id>``), rows whose ``license_url`` names another licence than
    their ``license`` (``license-url-mismatch``: which one is true cannot be known) and ND rows
    in derived kinds (``no-derivatives``).
    """
    import pyarrow as pa

    plans: list[ConfigPlan] = []
    drops: Counter[tuple[str, str]] = Counter()
    for kind in sorted(tables, key=kind_sort_key):
        table = tables[kind]
        offered = tiers_for(kind)
        row_tiers = []
        urls = table.column("license_url").to_pylist()
        for lic, url in zip(table.column("license").to_pylist(), urls, strict=True):
            tier = licence_info(lic)[0]
            if tier is None:
                drops[(kind, f"unknown-license {lic}")] += 1
            elif id_url_conflict(lic, url):
                drops[(kind, "license-url-mismatch")] += 1
                tier = None
            elif tier not in offered:
                drops[(kind, "no-derivatives licence in a derived split")] += 1
                tier = None
            row_tiers.append(tier)
        for tier in offered:
            allowed = set(TIERS[: TIERS.index(tier) + 1])
            mask = pa.array([t in allowed for t in row_tiers], type=pa.bool_())
            sub = table.filter(mask)
            if sub.num_rows:
                plans.append(ConfigPlan(config_name(kind, tier), kind, tier, sub))
    return plans, drops


def shard_count(table: Any, max_shard_bytes: int) -> int:
    return max(1, math.ceil(table.nbytes / max(1, max_shard_bytes)))


def shard_name(index: int, total: int, split: str = SPLIT_NAME) -> str:
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def iter_shards(table: Any, max_shard_bytes: int) -> Iterator[tuple[str, Any]]:
    """(file name, table slice) per shard: contiguous, near-equal, never empty row counts."""
    n = max(1, min(shard_count(table, max_shard_bytes), table.num_rows))
    bounds = [i * table.num_rows // n for i in range(n + 1)]
    for i in range(n):
        yield shard_name(i, n), table.slice(bounds[i], bounds[i + 1] - bounds[i])


def write_parquet_shard(table: Any, path: Path) -> None:
    """Viewer-friendly Parquet as datasets writes it: zstd, row groups <= 100 MB, page index, CDC."""
    import pyarrow.parquet as pq

    rows_per_group = table.num_rows or 1
    if table.nbytes > MAX_ROW_GROUP_BYTES:
        rows_per_group = max(1, int(table.num_rows * MAX_ROW_GROUP_BYTES / table.nbytes))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        compression="zstd",
        row_group_size=rows_per_group,
        write_page_index=True,
        use_content_defined_chunking=True,
    )


def write_config_shards(plan: ConfigPlan, repo_dir: Path, max_shard_bytes: int) -> list[str]:
    """Write one config's shards under ``data/<config>/``; returns repo-relative paths."""
    out = []
    for name, part in iter_shards(plan.table, max_shard_bytes):
        rel = f"data/{plan.name}/{name}"
        write_parquet_shard(part, repo_dir / rel)
        out.append(rel)
    return out
