"""Publish a build as a Hugging Face dataset repo: licence-tier configs, card, push, tag.

Entry points:
    write_repo_folder(build_dir, repo_dir, repo_id, ...) -> manifest dict   (folder.py)
    run_publish(PublishConfig(...)) -> summary dict  (write + validate [+ push])  (pipeline.py)
    publish_after_build(build_cfg, spec) -> summary dict  (``ccpapers build --push``)

Modules, in the order a publish runs: build_inputs (report, resolved config), shards
(licence-tier configs, Parquet), changelog, card (README.md, LICENSE.md), folder (the repo
folder, swapped in atomically), validate (checks before any upload), hub (push, tag).
"""

from __future__ import annotations

from typing import Any

__all__ = ["publish_after_build", "run_publish", "write_repo_folder"]


def __getattr__(name: str) -> Any:  # lazy: `ccpapers --help` does not import the publish stage
    if name == "write_repo_folder":
        from ccpapers.publish.folder import write_repo_folder

        return write_repo_folder
    if name in ("run_publish", "publish_after_build"):
        from ccpapers.publish import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'ccpapers.publish' has no attribute {name!r}")
