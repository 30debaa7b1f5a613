"""Lay a build out as the exact Hub repo folder: one set of Parquet shards per licence-tier
config, the dataset card, LICENSE.md and the local bookkeeping (changelog, manifest).

The folder is written beside its target and swapped in with two renames, so a reader (or a
push) never sees half a folder, and a crash leaves the previous folder as it was.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ccpapers.errors import InputError
from ccpapers.publish import shards
from ccpapers.publish.build_inputs import read_build_config, read_report
from ccpapers.publish.card import CardContext, ConfigStats, render_card, render_license
from ccpapers.publish.changelog import STATE_DIR, fingerprint, read_changelog, update_changelog

Drops = Counter[tuple[str, str]]  # (split, reason) -> rows left out


def write_repo_folder(
    build_dir: str | Path,
    repo_dir: str | Path,
    repo_id: str,
    *,
    max_shard_mb: float = 256.0,
    default_config: str | None = None,
    pretty_name: str | None = None,
    version: str | None = None,
    changelog_note: str | None = None,
    card_template: str = "dataset_card.md",
    spec: str | None = None,
) -> dict[str, Any]:
    """Lay a build out as the exact Hub repo folder (replaced atomically) and return a manifest.

    The manifest has ``configs`` ({name: {kind, tier, rows, licences, files}}), ``default_config``,
    ``rows`` (distinct rows), ``drops``, ``expected_rows``, ``report_splits``, ``drops_per_split``,
    ``fingerprint`` and ``path``.
    """
    from ccpapers import __version__

    build_dir, repo_dir = Path(build_dir), Path(repo_dir)
    report = read_report(build_dir)
    plans, drops = shards.plan_configs(shards.read_build_splits(build_dir))
    if not plans:
        raise InputError(f"{build_dir}: no row can be published (drops: {dict(drops)})")
    default = choose_default([p.name for p in plans], default_config)
    spec = spec or build_dir.name
    with staged_folder(repo_dir) as tmp:
        stats = write_shards(plans, tmp, max_shard_mb, default)
        rows = widest_rows(plans)
        data_fingerprint = fingerprint(tmp, [f for s in stats for f in s.files])
        changelog = update_changelog(
            read_changelog(repo_dir),
            data_fingerprint,
            len(rows),
            version,
            changelog_note or f"build `{spec}`",
        )
        ctx = CardContext(
            repo_id=repo_id,
            pretty_name=pretty_name or f"ccpapers {spec}",
            configs=stats,
            schema=shards.record_schema(),
            rows=rows,
            build_report=report,
            build_config=read_build_config(build_dir),
            drops=drops,
            changelog=changelog,
            ccpapers_version=__version__,
            spec=spec,
        )
        write_card(tmp, ctx, card_template)
        manifest = make_manifest(
            repo_id, repo_dir, default, stats, len(rows), drops, report, data_fingerprint
        )
        write_state(tmp, changelog, manifest)
    return manifest


def choose_default(names: list[str], wanted: str | None) -> str:
    """The config ``load_dataset(repo)`` loads: the wanted one, else abstract-by, else the first
    verbatim ``-by`` config, else the first ``-by`` one, else the first."""
    from ccpapers.config import ConfigError

    if wanted:
        if wanted not in names:
            raise ConfigError(f"default_config={wanted!r} is not a config of this build: {', '.join(names)}")
        return wanted
    if "abstract-by" in names:
        return "abstract-by"
    by = [n for n in names if n.endswith("-by")]
    verbatim = [n for n in by if shards.split_config_name(n)[0] in shards.VERBATIM_KINDS]
    return (verbatim or by or names)[0]


def write_shards(
    plans: list[shards.ConfigPlan], folder: Path, max_shard_mb: float, default: str
) -> list[ConfigStats]:
    """Write every config's Parquet shards under ``folder/data/``; return what the card shows."""
    stats: list[ConfigStats] = []
    for plan in plans:
        files = shards.write_config_shards(plan, folder, int(max_shard_mb * 1024 * 1024))
        stats.append(
            ConfigStats(
                name=plan.name,
                kind=plan.kind,
                tier=plan.tier,
                rows=plan.table.num_rows,
                licences=Counter(plan.table.column("license").to_pylist()),
                files=files,
                num_bytes=plan.table.nbytes,
                file_bytes=sum((folder / f).stat().st_size for f in files),
                default=plan.name == default,
            )
        )
    return stats


def widest_rows(plans: list[shards.ConfigPlan]) -> list[dict[str, Any]]:
    """Every distinct row once: the rows of each kind's widest tier."""
    widest: dict[str, Any] = {}
    for plan in plans:  # plans come in tier order: the last one per kind is the widest
        widest[plan.kind] = plan.table
    return [r for t in widest.values() for r in t.to_pylist()]


def write_card(folder: Path, ctx: CardContext, card_template: str) -> None:
    """README.md (the dataset card) and LICENSE.md, with anything secret-looking scrubbed."""
    from ccpapers.secrets import scrub

    (folder / "README.md").write_text(scrub(render_card(ctx, card_template)), encoding="utf-8")
    (folder / "LICENSE.md").write_text(scrub(render_license(ctx)), encoding="utf-8")


def make_manifest(
    repo_id: str,
    repo_dir: Path,
    default: str,
    stats: list[ConfigStats],
    rows: int,
    drops: Drops,
    report: dict[str, Any],
    data_fingerprint: str,
) -> dict[str, Any]:
    """What was written, and what validation must find (rows per config, per build split)."""
    drops_per_split: Counter[str] = Counter()
    for (split, _reason), n in drops.items():
        drops_per_split[split] += n
    return {
        "repo_id": repo_id,
        "path": str(repo_dir),
        "default_config": default,
        "configs": {
            s.name: {
                "kind": s.kind,
                "tier": s.tier,
                "rows": s.rows,
                "licences": dict(sorted(s.licences.items())),
                "files": s.files,
            }
            for s in stats
        },
        "rows": rows,
        "drops": {f"{k[0]}: {k[1]}": n for k, n in sorted(drops.items())},
        "drops_per_split": dict(drops_per_split),
        "expected_rows": {s.name: s.rows for s in stats},
        "report_splits": {k: int(v) for k, v in report["splits"].items()},
        "fingerprint": data_fingerprint,
    }


def write_state(folder: Path, changelog: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    """The local bookkeeping (``.ccpapers/``): never uploaded, read by the next publish."""
    state = folder / STATE_DIR
    state.mkdir()
    (state / "changelog.json").write_text(json.dumps(changelog, indent=2) + "\n", encoding="utf-8")
    (state / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """An empty folder beside ``target`` that replaces it when the block succeeds; on any
    failure (interrupt included) it is removed and ``target`` stays as it was."""
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` with two renames (readers never see a half folder)."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
