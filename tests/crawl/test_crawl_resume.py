"""kill -9 a crawl subprocess mid-run, re-run it: same papers as an uninterrupted run, and no
page that was cached before the kill is fetched again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import ccpapers
from ccpapers.io import read_parquet

SRC = str(Path(ccpapers.__file__).resolve().parents[1])


def crawl_cmd(work: Path, url: str) -> list[str]:
    return [
        sys.executable, "-m", "ccpapers", "crawl",
        "--work", str(work),
        "--journals", "jemergmat",
        "--years", "2030-2034",
        "--site", url,
        "--crossref-api", url + "/crossref",
        "--mailto", "tests@example.org",
        "--rate", "8",
        "--no-progress",
    ]  # fmt: skip


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def papers(work: Path) -> list[dict]:
    rows = list(read_parquet(work / "papers" / "papers.parquet"))
    for r in rows:
        r.pop("fetched_at")
    return sorted(rows, key=lambda r: r["doi"])


def cached_paths(work: Path) -> set[str]:
    with sqlite3.connect(work / "raw" / "journal.sqlite") as db:
        return {urlsplit(u).path for (u,) in db.execute("SELECT url FROM fetches")}


def test_kill_9_then_resume_equals_uninterrupted_run(make_site, tmp_path):
    site = make_site(latency=(0.05, 0.15))
    work = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        crawl_cmd(work, site.url), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(site.served("/articles/")) < 5:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    killed_log = len(site.log)
    served_before = set(site.served("/articles/"))
    assert 5 <= len(served_before) < 12, "the crawl should have been killed mid-run"
    cached = cached_paths(work)
    assert cached, "pages fetched before the kill are in the cache"

    resumed = run(crawl_cmd(work, site.url))
    assert resumed.returncode == 0, resumed.stderr
    assert "kept" in resumed.stdout
    again = [e["path"].split("?")[0] for e in site.log[killed_log:] if e["path"].startswith("/articles/")]
    assert not cached & set(again), f"cached pages fetched again: {cached & set(again)}"

    other = make_site()
    fresh = run(crawl_cmd(tmp_path / "uninterrupted", other.url))
    assert fresh.returncode == 0, fresh.stderr

    got, want = papers(work), papers(tmp_path / "uninterrupted")
    assert len(want) >= 10
    for row in got + want:  # the URL names the server's port, which differs between the two
        row["url"] = urlsplit(row["url"]).path
    assert got == want
