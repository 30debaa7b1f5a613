"""Docs point at things that exist: every `ccpapers bench|parse` command in README.md and
docs/bench.md parses, the specs, configs and sweeps it names are shipped, and the schema page the
sample files cite is there."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _commands(doc: Path, prefix: str) -> list[str]:
    out = []
    for line in doc.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith(prefix) and not line.endswith("\\"):
            out.append(line.split("  #")[0].strip())
    return out


@pytest.mark.parametrize("doc", ["README.md", "docs/bench.md"])
def test_bench_commands_in_docs_parse_and_name_shipped_files(doc):
    from ccpapers.cli import _normalize, build_parser

    parser = build_parser()
    cmds = _commands(ROOT / doc, "ccpapers bench")
    assert len(cmds) >= 5, cmds
    for cmd in cmds:
        argv = shlex.split(cmd)[1:]
        if "--help" in argv:
            continue
        args = parser.parse_args(_normalize(argv))  # SystemExit (exit 2) on anything argparse rejects
        if getattr(args, "cfg_build", None):
            assert (ROOT / "builders" / f"{args.cfg_build}.yaml").is_file(), (cmd, "no such build spec")
        if getattr(args, "config", None):
            assert (ROOT / args.config).is_file(), (cmd, "no such config")
        if getattr(args, "action", None) == "sweep":
            assert (ROOT / "train" / "sweeps" / f"{args.sweep_spec}.yaml").is_file(), cmd


def test_parse_example_matches_the_crawl_cache_layout(tmp_path):
    from ccpapers.crawl.fetch.cache import BlobStore

    cmds = _commands(ROOT / "README.md", "ccpapers parse")
    gz = [c for c in cmds if ".gz" in c]
    assert gz, cmds
    pattern = shlex.split(gz[0])[2]  # ccpapers-work/raw/*/*/*.gz
    store = BlobStore(tmp_path / "ccpapers-work" / "raw")
    blob = store.path(store.put(b"<html></html>")).relative_to(tmp_path)
    assert fnmatch.fnmatch(str(blob), pattern), (blob, pattern)


def test_cited_schema_pages_exist():
    cited = []
    for f in [*ROOT.glob("src/ccpapers/sample/*"), ROOT / "train" / "suites" / "fictional.yaml"]:
        if f.is_file() and f.suffix in (".py", ".yaml"):
            cited += re.findall(r"[\w/.-]*SAMPLE_SCHEMA\.md", f.read_text(encoding="utf-8"))
    assert cited
    for path in cited:
        assert (ROOT / path).is_file(), path
