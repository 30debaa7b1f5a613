"""``ccpapers publish`` as a function: write the repo folder, validate it, push it when asked."""

from __future__ import annotations

import logging
from typing import Any

from ccpapers.config import ConfigError, write_resolved_config
from ccpapers.publish.changelog import STATE_DIR
from ccpapers.publish.config import PublishConfig
from ccpapers.publish.folder import write_repo_folder

log = logging.getLogger("ccpapers.publish")


def run_publish(cfg: PublishConfig) -> dict[str, Any]:
    """Write the repo folder, validate it, and push when ``cfg.push`` (or plan with ``dry_run``).

    Returns a summary: ``repo_id``, ``path``, ``configs`` ({name: rows}), ``rows``,
    ``default_config``, ``drops``, ``validated``, ``push`` (None when nothing was sent).
    """
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
    return run_publish(push_config(build_cfg, spec))


def push_config(build_cfg: Any, spec: str) -> PublishConfig:
    """The PublishConfig of ``ccpapers build --push``; a ConfigError when it has nowhere to push
    (``build`` calls this before building too, so the mistake is caught before any work)."""
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
        raise ConfigError("--push needs --repo OWNER/NAME (the Hub dataset repo to publish to)")
    if cfg.repo:
        cfg.repo_id()  # a malformed --repo is refused here too
    return cfg
