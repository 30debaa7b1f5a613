"""Typed config of ``ccpapers publish`` (and of ``ccpapers build --push``).

When does it upload?  Only when ``push`` is true. ``run_publish`` never infers it; on the
command line ``ccpapers publish --repo OWNER/NAME`` turns ``push`` on unless ``--no-push``
is given, and ``--dry-run`` always wins (shows the plan, uploads nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ccpapers.config import CommonConfig, ConfigError, opt


@dataclass
class PublishConfig(CommonConfig):
    spec: str = opt("demo", "build name: publishes WORK/builds/<spec>/")
    build_dir: Path | None = opt(None, "explicit build folder (overrides WORK/builds/<spec>)")
    repo: str | None = opt(None, "Hub dataset repo OWNER/NAME (default: local/ccpapers-<spec>, folder only)")
    push: bool = opt(
        False, "upload after validation (on the CLI, giving --repo implies --push unless --no-push)"
    )
    tag: str | None = opt(None, "version tag to create on the pushed commit, e.g. v1.0.0")
    private: bool = opt(False, "create the Hub repo private (ignored when it already exists)")
    dry_run: bool = opt(
        False, "write and validate the folder, show what would change on the Hub, upload nothing"
    )
    max_shard_mb: float = opt(256.0, "largest Parquet shard in MB (in-memory Arrow size, as datasets does)")
    default_config: str | None = opt(
        None, "config loaded by load_dataset(repo) (default: abstract-by or first)"
    )
    pretty_name: str | None = opt(None, "dataset title on the Hub (default: ccpapers <spec>)")
    changelog: str | None = opt(None, "changelog line for this version (default: 'build <spec>')")
    card_template: str = opt("dataset_card.md", "card template: a shipped name in cards/ or a path")
    validate: bool = opt(True, "load every config with datasets.load_dataset before any upload")

    def repo_id(self) -> str:
        repo = self.repo or f"local/ccpapers-{self.spec}"
        parts = repo.split("/")
        if len(parts) != 2 or not all(parts) or any(p in (".", "..") for p in parts):
            raise ConfigError(f"repo={repo!r}: expected OWNER/NAME, e.g. my-org/ccpapers")
        return repo

    def resolved_build_dir(self) -> Path:
        return Path(self.build_dir) if self.build_dir else Path(self.work) / "builds" / self.spec

    def repo_dir(self) -> Path:
        return Path(self.work) / "hub" / self.repo_id()
