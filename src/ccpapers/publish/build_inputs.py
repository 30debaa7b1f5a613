"""What publish reads from a build folder besides its splits: the report and the resolved config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ccpapers.publish.shards import BuildError


def read_report(build_dir: Path) -> dict[str, Any]:
    """The build's ``report.json``; a missing or broken one is a :class:`BuildError` saying what to run."""
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


def read_build_config(build_dir: Path) -> dict[str, Any]:
    """The build's ``config.resolved.yaml`` (empty when the build predates it)."""
    path = build_dir / "config.resolved.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
