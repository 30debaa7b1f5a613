"""The repo folder is byte-for-byte what it was (golden digests recorded from the code before
issue 14's split of ``publish/__init__.py``): card, licence file, bookkeeping and every shard's
rows and schema. Parquet bytes are compared through their content, so a pyarrow upgrade that
only changes the ``created_by`` footer does not count as a change; today's date and the ccpapers
version are masked. ``CCPAPERS_UPDATE_GOLDEN=1`` rewrites the golden file after a deliberate change.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pyarrow.parquet as pq

from ccpapers import __version__
from ccpapers.publish import write_repo_folder

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden" / "publish" / "repo_folder.json"


def _digest(path: Path, work: Path) -> str:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        data = json.dumps([str(table.schema), table.to_pylist()], sort_keys=True, default=str).encode()
    else:
        text = path.read_text(encoding="utf-8")
        text = text.replace(time.strftime("%Y-%m-%d", time.gmtime()), "<today>")
        text = text.replace(str(work), "<work>").replace(__version__, "<version>")
        data = text.encode()
    return hashlib.sha256(data).hexdigest()


def _folder_digests(work: Path, **kw) -> dict[str, str]:
    repo = work / "hub" / "me" / "ds"
    write_repo_folder(work / "builds" / "demo", repo, "me/ds", **kw)
    return {str(p.relative_to(repo)): _digest(p, work) for p in sorted(repo.rglob("*")) if p.is_file()}


def test_repo_folder_matches_the_golden_digests(work):
    got = {
        "default": _folder_digests(work),
        "sharded_release": _folder_digests(
            work, max_shard_mb=0.0005, version="v1.0.0", changelog_note="first release", pretty_name="T"
        ),
    }
    if os.environ.get("CCPAPERS_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert got == want
