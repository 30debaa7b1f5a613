"""Push a validated repo folder to the Hugging Face Hub as ONE commit, then tag it.

Why one ``create_commit`` rather than ``upload_folder``: with ``hf_xet`` installed,
``upload_folder`` streams large folders in several commits, so users could load a half-new
repo. Here the plan (files to add, update, delete) is computed first by comparing hashes with
the remote tree, so ``--dry-run`` shows exactly what the push would do; the push then sends
those operations in a single commit (``parent_commit`` = the head we compared against, so a
concurrent change fails instead of being overwritten). Stale shards under ``data/`` are
deleted in that same commit. An identical re-push has an empty plan and makes no commit.
Tokens come from ``HF_TOKEN`` or the saved Hugging Face login and are never printed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ccpapers.errors import CcpapersError
from ccpapers.io import sha256_file

log = logging.getLogger(__name__)
OWNED_PREFIXES = ("data/",)  # remote files here that the folder lacks are stale -> deleted
LOCAL_IGNORE = (".ccpapers/", ".git/", ".cache/")


class PushError(CcpapersError, RuntimeError):
    """The push could not be done; the message says why and what to do."""


def get_token() -> str | None:
    """HF_TOKEN, else the token saved by `hf auth login`; never logged."""
    from huggingface_hub import get_token as hf_get_token

    return os.environ.get("HF_TOKEN") or hf_get_token()


def local_files(folder: Path) -> dict[str, Path]:
    """Repo-relative path -> file, for every file the Hub repo should hold."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and not rel.startswith(LOCAL_IGNORE):
            out[rel] = p
    return out


def _git_oid(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class PushPlan:
    repo_id: str
    repo_exists: bool
    head: str | None
    add: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    tag: str | None = None
    tag_target: str | None = None  # commit the tag already points to, if it exists

    @property
    def empty(self) -> bool:
        return not (self.add or self.update or self.delete)

    def describe(self) -> str:
        lines = [f"Hub repo {self.repo_id}: " + ("exists" if self.repo_exists else "would be created")]
        for label, paths in (("add", self.add), ("update", self.update), ("delete", self.delete)):
            lines += [f"  {label:7s} {p}" for p in paths]
        lines.append(
            f"  {len(self.add)} to add, {len(self.update)} to update, {len(self.delete)} to delete, "
            f"{len(self.unchanged)} unchanged" + (" (no commit needed)" if self.empty else "")
        )
        if self.tag:
            state = "exists" if self.tag_target else "to create"
            lines.append(f"  tag {self.tag}: {state}")
        return "\n".join(lines)


def _hub_error(exc: Exception, action: str, repo_id: str) -> PushError:
    from huggingface_hub.errors import HfHubHTTPError

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401:
        hint = "the Hub rejected the token: set HF_TOKEN to a write token or run `hf auth login`"
    elif status == 403:
        hint = f"the token may not write to {repo_id}: check the owner name and the token's permissions"
    elif status == 412:
        hint = "the repo changed while pushing: run the command again"
    elif isinstance(exc, HfHubHTTPError):
        hint = str(exc).splitlines()[0]
    else:
        hint = f"{type(exc).__name__}: {exc}"
    return PushError(f"could not {action} {repo_id}: {hint}")


def plan_push(api: Any, repo_id: str, folder: Path, tag: str | None = None) -> PushPlan:
    """Compare the folder with the remote main branch (read-only)."""
    from huggingface_hub.errors import RepositoryNotFoundError

    files = local_files(folder)
    try:
        info = api.repo_info(repo_id, repo_type="dataset")
    except RepositoryNotFoundError:
        return PushPlan(repo_id, False, None, add=sorted(files), tag=tag)
    plan = PushPlan(repo_id, True, info.sha, tag=tag)
    remote = {
        f.path: f
        for f in api.list_repo_tree(repo_id, repo_type="dataset", recursive=True, revision=info.sha)
        if hasattr(f, "blob_id")
    }
    for rel, path in files.items():
        old = remote.get(rel)
        if old is None:
            plan.add.append(rel)
        elif (old.lfs is not None and old.lfs.sha256 == sha256_file(path)) or (
            old.lfs is None and old.blob_id == _git_oid(path)
        ):
            plan.unchanged.append(rel)
        else:
            plan.update.append(rel)
    plan.delete = sorted(p for p in remote if p.startswith(OWNED_PREFIXES) and p not in files)
    if tag:
        refs = api.list_repo_refs(repo_id, repo_type="dataset")
        plan.tag_target = next((t.target_commit for t in refs.tags if t.name == tag), None)
    return plan


def push_folder(
    folder: Path,
    repo_id: str,
    *,
    private: bool = False,
    tag: str | None = None,
    dry_run: bool = False,
    commit_message: str | None = None,
    endpoint: str | None = None,
) -> dict[str, Any]:
    """Create the repo if needed, commit the folder's changes in one commit, tag it.

    Returns a summary: plan, commit (sha or None for a no-op), tag, url. With ``dry_run``
    only the plan is computed (nothing is created, uploaded or tagged).
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    folder = Path(folder)
    token = get_token()
    if not token and not dry_run:
        raise PushError(
            "no Hugging Face token: set HF_TOKEN (a write token from https://huggingface.co/settings/tokens) "
            "or run `hf auth login`"
        )
    api = HfApi(endpoint=endpoint, token=token or None)
    try:
        plan = plan_push(api, repo_id, folder, tag)
    except PushError:
        raise
    except Exception as exc:  # noqa: BLE001 - turned into a clear message
        raise _hub_error(exc, "read", repo_id) from exc
    summary: dict[str, Any] = {"repo_id": repo_id, "dry_run": dry_run, "plan": asdict(plan)}
    if tag and plan.tag_target and (not plan.empty or plan.tag_target != plan.head):
        raise PushError(
            f"tag {tag} already exists on {repo_id} at commit {plan.tag_target[:10]}, which differs from "
            "what this push would tag; tags are immutable releases: choose a new version (e.g. bump --tag)"
        )
    if dry_run:
        summary["commit"] = None
        return summary
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = plan.head
        if plan.empty and plan.repo_exists:
            log.info("%s is already up to date; no commit", repo_id)
            summary["commit"] = None
        else:
            if not plan.repo_exists:  # freshly created: compare against its first commit
                plan = plan_push(api, repo_id, folder, tag)
            files = local_files(folder)
            ops: list[Any] = [CommitOperationAdd(p, str(files[p])) for p in plan.add + plan.update]
            ops += [CommitOperationDelete(p) for p in plan.delete]
            if len(ops) > 100:
                log.warning(
                    "%d files in one commit: the Hub advises < 100 per commit; if it is refused, "
                    "raise --max-shard-mb to make fewer, larger shards",
                    len(ops),
                )
            info = api.create_commit(
                repo_id,
                ops,
                commit_message=commit_message or "Update dataset with ccpapers",
                repo_type="dataset",
                parent_commit=plan.head,
            )
            commit = info.oid
            summary["commit"] = commit
        if tag and not plan.tag_target:
            api.create_tag(repo_id, tag=tag, revision=commit, repo_type="dataset")
        summary["tag"] = tag
    except PushError:
        raise
    except Exception as exc:  # noqa: BLE001 - turned into a clear message
        raise _hub_error(exc, "push to", repo_id) from exc
    summary["url"] = f"{api.endpoint}/datasets/{repo_id}"
    return summary
