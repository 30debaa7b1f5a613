"""Whole crawls against a misbehaving sample site: counts that do not add up, charsets, dead
sites, corrupt journals and a site that moved to another port (real sockets on 127.0.0.1)."""

from __future__ import annotations

import sqlite3

import pytest

from ccpapers.crawl import run_crawl
from ccpapers.crawl.pipeline import journal_db_path
from ccpapers.io import read_parquet
from ccpapers.sample import load_sample
from ccpapers.sample.site import Fault
from ccpapers.types import Paper, PaperRef
from tests.crawl.conftest import crawl_config

SAMPLE = load_sample()
WORKS = "/crossref/journals/2999-0013/works"
BROKEN = "/articles/" + next(a["id"] for a in SAMPLE["articles"] if a["variant"] == "broken")
OPEN = [
    a for a in SAMPLE["articles"] if a["license"] != "none" and a["variant"] not in ("paywalled", "broken")
]


def cli(*args: str) -> list[str]:
    return ["crawl", "--no-progress", "--mailto", "t@example.org", "--rate", "50", *args]


def test_crossref_short_page_does_not_end_the_window(make_site, tmp_path):
    # Crossref may answer fewer than `rows` items while more follow: page until an empty page.
    site = make_site(faults={WORKS: [Fault("short", keep=1)]})
    report = run_crawl(crawl_config(tmp_path, site, rows=2, dry_run=True))
    assert report["discovered"] == len(SAMPLE["articles"])
    assert report["windows"]["count_mismatches"] == []


def test_crossref_count_mismatch_is_reported(make_site, tmp_path, capsys):
    from ccpapers.cli import main

    site = make_site(faults={WORKS: [Fault("total", keep=2)] * 2})  # both pages announce 2 too many
    rc = main(cli("--work", str(tmp_path), "--journals", "jemergmat", "--years", "2030-2034",
                  "--site", site.url, "--crossref-api", site.url + "/crossref", "--dry-run"))  # fmt: skip
    out = capsys.readouterr().out
    report = __import__("json").loads((tmp_path / "papers" / "report.json").read_text())
    (m,) = report["windows"]["count_mismatches"]
    year = min(a["published"][:4] for a in SAMPLE["articles"])
    n = sum(a["published"].startswith(year) for a in SAMPLE["articles"])
    assert m == {"window": f"crossref:jemergmat:{year}", "found": n, "expected": n + 2}
    assert f"crossref:jemergmat:{year}" in out and f"{n}/{n + 2}" in out
    assert rc == 0  # a warning, not a failure


def _only(site, tmp_path, article: dict, fault: Fault) -> Paper:
    site.add_fault(f"/articles/{article['id']}", fault)
    tmp_path.mkdir(parents=True, exist_ok=True)
    dois = tmp_path / "dois.txt"
    dois.write_text(f"10.5555/{article['id']}\n")
    report = run_crawl(crawl_config(tmp_path, site, source="dois", dois_file=dois))
    assert report["kept"] == 1, report
    (paper,) = read_parquet(tmp_path / "papers" / "papers.parquet", Paper)
    return paper


def _text(paper: Paper) -> str:
    return paper.title + "\n" + "\n".join(s.text for s in paper.sections)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("encode", charset="windows-1252", strip_meta=True),  # charset only in the HTTP header
        Fault("encode", charset="iso-8859-1", strip_meta=True),
        Fault("encode", charset="utf-16", strip_meta=True),  # UTF-16 with BOM and header
        Fault("encode", charset="utf-16", header_charset=False),  # BOM only, meta says utf-8
        Fault("encode", charset="utf-16-le", strip_meta=True),  # header only, no BOM
    ],
    ids=["cp1252-header", "latin1-header", "utf16-bom-header", "utf16-bom-only", "utf16le-header"],
)
def test_page_charsets_decode_like_utf8(site, tmp_path, fault):
    article = next(a for a in OPEN if "µ" in str(a) and "°" in str(a))
    want = _only(site, tmp_path / "utf8", article, Fault("encode", charset="utf-8"))
    got = _only(site, tmp_path / "other", article, fault)
    assert "\ufffd" not in _text(got) and "µ" in _text(got)
    assert [(s.kind, s.text) for s in got.sections] == [(s.kind, s.text) for s in want.sections]
    assert (got.title, got.license.hub_id) == (want.title, want.license.hub_id)


def test_dead_site_exits_nonzero_with_one_clear_summary(tmp_path, capsys, caplog):
    from ccpapers.cli import main

    dead = "http://127.0.0.1:9"  # discard port: connection refused
    with caplog.at_level("WARNING"):
        rc = main(cli("--work", str(tmp_path), "--site", dead, "--crossref-api", dead + "/crossref",
                      "--max-retries", "0"))  # fmt: skip
    captured = capsys.readouterr()
    both = captured.out + captured.err + caplog.text
    assert rc != 0
    assert "papers.parquet" not in both and not (tmp_path / "papers" / "papers.parquet").exists()
    assert "nothing could be fetched" in both and "127.0.0.1:9" in both
    assert both.count("Connection refused") <= 2, both  # not one line per window


def test_every_paper_failing_exits_nonzero(make_site, tmp_path, capsys):
    from ccpapers.cli import main

    site = make_site(
        faults={f"/articles/{a['id']}": [Fault("status", status=404)] for a in SAMPLE["articles"]}
    )
    rc = main(cli("--work", str(tmp_path), "--journals", "jemergmat", "--years", "2030-2034",
                  "--site", site.url, "--crossref-api", site.url + "/crossref"))  # fmt: skip
    out = capsys.readouterr()
    assert rc != 0 and "nothing could be fetched" in out.out + out.err
    assert "papers:" not in out.out and not (tmp_path / "papers" / "papers.parquet").exists()


@pytest.mark.parametrize("damage", ["garbage", "malformed"])
def test_corrupt_journal_gives_a_clear_error_not_a_traceback(site, tmp_path, capsys, damage):
    from ccpapers.cli import main

    args = cli("--work", str(tmp_path), "--journals", "jemergmat", "--years", "2030-2034",
               "--site", site.url, "--crossref-api", site.url + "/crossref")  # fmt: skip
    path = journal_db_path(tmp_path)
    if damage == "garbage":
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\x00garbage" * 4096)
    else:
        assert main(args) == 0
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = bytearray(path.read_bytes())
        page = 4096
        for start in range(2 * page, len(data), page):  # keep the header page, wreck the rest
            data[start + 8 : start + 64] = b"\xff" * 56
        path.write_bytes(bytes(data))
        capsys.readouterr()
    rc = main([*args, "--refresh"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert str(path) in err and "aside" in err, err


def test_journal_survives_the_site_moving_to_another_port(make_site, tmp_path):
    # a first run against one port leaves a failed paper; the site then moves (as `make demo` does)
    victim = f"/articles/{OPEN[0]['id']}"
    first = make_site(faults={victim: [Fault("status", status=503)] * 3})
    run_crawl(crawl_config(tmp_path, first, max_retries=0))
    fetched_first = set(first.served("/articles/")) - {BROKEN}  # the truncated page is never cached
    first.stop()
    second = make_site()
    report = run_crawl(crawl_config(tmp_path, second))
    assert report["kept"] == len(OPEN) and "connection" not in report["failed"], report["failed"]
    again = set(second.served("/articles/"))
    assert victim in again  # the failed paper was fetched from the new port
    assert not (again & fetched_first), "pages cached from the old port were fetched again"
    papers = {p.doi: p for p in read_parquet(tmp_path / "papers" / "papers.parquet", Paper)}
    assert papers[f"10.5555/{OPEN[0]['id']}"].url == second.url + victim  # where it really came from


def test_stored_urls_resolve_under_todays_site(site, tmp_path):
    from ccpapers.crawl.pipeline import Crawl

    crawl = Crawl(crawl_config(tmp_path, site))
    try:
        assert crawl.stable_ref(PaperRef("10.5555/x", "j", site.url + "/articles/x")).url == "/articles/x"
        assert crawl.stable_ref(PaperRef("10.5555/x", "j", "https://example.org/articles/x")).url.startswith(
            "https:"
        )
        assert crawl.resolve({"url": "/articles/x", "source": "crossref"}) == site.url + "/articles/x"
        # journals written before paths were stored: a site-built URL moves to today's site ...
        old = {"url": "http://127.0.0.1:1/articles/x", "source": "crossref"}
        assert crawl.resolve(old) == site.url + "/articles/x"
        # ... a user's own absolute URL on another host is kept
        mine = {"url": "https://example.org/articles/x", "source": "dois"}
        assert crawl.resolve(mine) == "https://example.org/articles/x"
    finally:
        crawl.close()
