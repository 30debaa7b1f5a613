"""Publish a build as a Hugging Face dataset repo: licence-tier configs, card, push, tag.

Entry points:
    write_repo_folder(build_dir, repo_dir, repo_id, ...) -> manifest dict
    run_publish(PublishConfig(...)) -> summary dict  (write + validate [+ push])
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ccpapers.errors import InputError

log = logging.getLogger(__name__)
STATE_DIR = ".ccpapers"  # local bookkeeping inside the repo folder, never uploaded

__all__ = ["publish_after_build", "run_publish", "write_repo_folder"]


def _read_report(build_dir: Path) -> dict[str, Any]:
    from ccpapers.publish.shards import BuildError

    if not build_dir.is_dir():
        raise BuildError(
            f"build folder {build_dir} does not exist: run `ccpapers build` first or pass --build-dir"
        )
    path = build_dir / "report.json"
    if not path.is_file():
        raise BuildError(f"{path} is missing: the build did not finish; re-run `ccpapers build`")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BuildError(f"{path} is not valid JSON ({exc.msg}); re-run `ccpapers build`") from exc
    if not isinstance(report.get("splits"), dict):
        raise BuildError(f"{path} has no 'splits' mapping of split -> rows")
    return report


def _read_build_config(build_dir: Path) -> dict[str, Any]:
    path = build_dir / "config.resolved.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _fingerprint(folder: Path, rels: list[str]) -> str:
    h = hashlib.sha256()
    for rel in sorted(rels):
        h.update(rel.encode() + b"\0" + hashlib.sha256((folder / rel).read_bytes()).digest())
    return h.hexdigest()[:16]


def _update_changelog(
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


def _choose_default(names: list[str], wanted: str | None) -> str:
    from ccpapers.config import ConfigError
    from ccpapers.publish.shards import VERBATIM_KINDS, split_config_name

    if wanted:
        if wanted not in names:
            raise ConfigError(f"default_config={wanted!r} is not a config of this build: {', '.join(names)}")
        return wanted
    if "abstract-by" in names:
        return "abstract-by"
    by = [n for n in names if n.endswith("-by")]
    verbatim = [n for n in by if split_config_name(n)[0] in VERBATIM_KINDS]
    return (verbatim or by or names)[0]


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
    from ccpapers.publish.card import CardContext, ConfigStats, render_card, render_license
    from ccpapers.publish.shards import (
        plan_configs,
        read_build_splits,
        record_schema,
        write_config_shards,
    )
    from ccpapers.secrets import scrub

    build_dir, repo_dir = Path(build_dir), Path(repo_dir)
    report = _read_report(build_dir)
    tables = read_build_splits(build_dir)
    plans, drops = plan_configs(tables)
    if not plans:
        raise InputError(f"{build_dir}: no row can be published (drops: {dict(drops)})")
    names = [p.name for p in plans]
    default = _choose_default(names, default_config)
    tmp = repo_dir.parent / f".{repo_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        stats: list[ConfigStats] = []
        for plan in plans:
            files = write_config_shards(plan, tmp, int(max_shard_mb * 1024 * 1024))
            stats.append(
                ConfigStats(
                    name=plan.name,
                    kind=plan.kind,
                    tier=plan.tier,
                    rows=plan.table.num_rows,
                    licences=Counter(plan.table.column("license").to_pylist()),
                    files=files,
                    num_bytes=plan.table.nbytes,
                    file_bytes=sum((tmp / f).stat().st_size for f in files),
                    default=plan.name == default,
                )
            )
        widest: dict[str, Any] = {}
        for plan in plans:  # plans come in tier order: the last one per kind is the widest
            widest[plan.kind] = plan.table
        rows = [r for t in widest.values() for r in t.to_pylist()]
        fingerprint = _fingerprint(tmp, [f for s in stats for f in s.files])
        state_file = repo_dir / STATE_DIR / "changelog.json"
        old = json.loads(state_file.read_text(encoding="utf-8")) if state_file.is_file() else []
        spec = spec or build_dir.name
        changelog = _update_changelog(
            old, fingerprint, len(rows), version, changelog_note or f"build `{spec}`"
        )
        ctx = CardContext(
            repo_id=repo_id,
            pretty_name=pretty_name or f"ccpapers {spec}",
            configs=stats,
            schema=record_schema(),
            rows=rows,
            build_report=report,
            build_config=_read_build_config(build_dir),
            drops=drops,
            changelog=changelog,
            ccpapers_version=__version__,
            spec=spec,
        )
        (tmp / "README.md").write_text(scrub(render_card(ctx, card_template)), encoding="utf-8")
        (tmp / "LICENSE.md").write_text(scrub(render_license(ctx)), encoding="utf-8")
        drops_per_split: Counter[str] = Counter()
        for (split, _reason), n in drops.items():
            drops_per_split[split] += n
        manifest = {
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
            "rows": len(rows),
            "drops": {f"{k[0]}: {k[1]}": n for k, n in sorted(drops.items())},
            "drops_per_split": dict(drops_per_split),
            "expected_rows": {s.name: s.rows for s in stats},
            "report_splits": {k: int(v) for k, v in report["splits"].items()},
            "fingerprint": fingerprint,
        }
        state = tmp / STATE_DIR
        state.mkdir()
        (state / "changelog.json").write_text(json.dumps(changelog, indent=2) + "\n", encoding="utf-8")
        (state / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _swap_in(tmp, repo_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` with two renames (readers never see a half folder)."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def run_publish(cfg: Any) -> dict[str, Any]:
    """Write the repo folder, validate it, and push when ``cfg.push`` (or plan with ``dry_run``).

    Returns a summary: ``repo_id``, ``path``, ``configs`` ({name: rows}), ``rows``,
    ``default_config``, ``drops``, ``validated``, ``push`` (None when nothing was sent).
    """
    from ccpapers.config import ConfigError, write_resolved_config
    from ccpapers.publish.hub import push_folder
    from ccpapers.publish.validate import validate_repo_folder

    repo_id = cfg.repo_id()
    repo_dir = cfg.repo_dir()
    if cfg.push and not cfg.dry_run and not cfg.repo:
        raise ConfigError("push needs repo=OWNER/NAME (--repo): the Hub dataset repo to publish to")
    manifest = write_repo_folder(
        cfg.resolved_build_dir(),
        repo_dir,
        repo_id,
        max_shard_mb=cfg.max_shard_mb,
        default_config=cfg.default_config,
        pretty_name=cfg.pretty_name,
        version=cfg.tag,
        changelog_note=cfg.changelog,
        card_template=cfg.card_template,
        spec=cfg.spec,
    )
    write_resolved_config(cfg, repo_dir / STATE_DIR)
    if cfg.validate:
        validate_repo_folder(
            repo_dir,
            expected_rows=manifest["expected_rows"],
            report_splits=manifest["report_splits"],
            drops_per_split=manifest["drops_per_split"],
        )
    push = None
    if cfg.dry_run and not cfg.repo:
        log.warning("dry run without --repo: the folder was written and validated; no Hub repo to compare")
    elif cfg.push or cfg.dry_run:
        push = push_folder(
            repo_dir,
            repo_id,
            private=cfg.private,
            tag=cfg.tag,
            dry_run=cfg.dry_run,
            commit_message=f"ccpapers: publish build {cfg.spec}" + (f" ({cfg.tag})" if cfg.tag else ""),
        )
    return {
        "repo_id": repo_id,
        "path": str(repo_dir),
        "configs": {n: c["rows"] for n, c in manifest["configs"].items()},
        "rows": manifest["rows"],
        "default_config": manifest["default_config"],
        "drops": manifest["drops"],
        "validated": bool(cfg.validate),
        "push": push,
    }


def publish_after_build(build_cfg: Any, spec: str) -> dict[str, Any]:
    """What ``ccpapers build --push`` calls once the build of ``spec`` is written.

    Maps the build config's push fields (``repo``, ``tag``, ``private``, ``dry_run``; empty
    strings mean "not given") onto :class:`PublishConfig` with ``push=True``.
    """
    from ccpapers.publish.config import PublishConfig

    cfg = PublishConfig(
        work=build_cfg.work,
        spec=spec,
        repo=getattr(build_cfg, "repo", None) or None,
        tag=getattr(build_cfg, "tag", None) or None,
        private=bool(getattr(build_cfg, "private", False)),
        dry_run=bool(getattr(build_cfg, "dry_run", False)),
        push=True,
    )
    if cfg.repo is None and not cfg.dry_run:
        from ccpapers.config import ConfigError

        raise ConfigError("--push needs --repo OWNER/NAME (the Hub dataset repo to publish to)")
    return run_publish(cfg)
