"""End-to-end crawls of the sample site (real sockets): outputs, reasons, resume, options."""

from __future__ import annotations

import json

import pytest
import yaml

from ccpapers.crawl import run_crawl
from ccpapers.io import read_parquet
from ccpapers.sample import load_sample
from ccpapers.sample.site import Fault
from ccpapers.types import Paper
from tests.crawl.conftest import crawl_config

SAMPLE = load_sample()
BROKEN = "/articles/" + next(a["id"] for a in SAMPLE["articles"] if a["variant"] == "broken")
OPEN = [
    a for a in SAMPLE["articles"] if a["license"] != "none" and a["variant"] not in ("paywalled", "broken")
]


def article_hits(site) -> dict[str, int]:
    hits: dict[str, int] = {}
    for e in site.log:
        if e["path"].startswith("/articles/") and e["status"] == 200:
            key = e["path"].split("?")[0]
            hits[key] = hits.get(key, 0) + 1
    return hits


def test_crossref_crawl_of_the_sample_keeps_open_papers_with_provenance(site, tmp_path):
    report = run_crawl(crawl_config(tmp_path, site))
    out = tmp_path / "papers"
    papers = list(read_parquet(out / "papers.parquet", Paper))
    assert report["discovered"] == len(SAMPLE["articles"])
    assert report["kept"] == len(papers) == len(OPEN)
    assert report["rejected"] == {"paywalled": 1}
    assert report["failed"] == {"truncated": 1}
    assert sorted(p.doi for p in papers) == sorted(f"10.5555/{a['id']}" for a in OPEN)
    expected = {f"10.5555/{a['id']}": a["license"] for a in OPEN}
    for p in papers:
        assert p.license.hub_id == expected[p.doi]
        assert p.license.url and p.license.statement and "Creative Commons" in p.license.statement
        assert any(e.startswith("crossref:") for e in p.license.evidence)
        assert any(e.startswith("rightslink-oa:") for e in p.license.evidence)
        assert p.fetched_at and p.parser == "nature-html" and p.url.startswith(site.url)
        assert {"abstract", "introduction"} <= {s.kind for s in p.sections}
        assert all("{cite" not in s.text and "Reference" not in s.text for s in p.sections)
    assert json.loads((out / "report.json").read_text())["kept"] == report["kept"]
    cfg = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert cfg["journals"] == ["jemergmat"] and cfg["site"] == site.url
    assert report["requests"] > len(SAMPLE["articles"]) and report["bytes"] > 100_000


def test_rerun_fetches_nothing_cached_and_loses_nothing(site, tmp_path):
    first = run_crawl(crawl_config(tmp_path, site))
    before = article_hits(site)
    second = run_crawl(crawl_config(tmp_path, site))
    after = article_hits(site)
    # Only the truncated page (never cached) is tried again; every other page is served once.
    grown = {k for k in after if after[k] != before.get(k)}
    assert grown == {BROKEN}
    assert all(n == 1 for k, n in after.items() if k not in grown)
    assert not any(e["path"].startswith("/crossref") for e in site.log[len(site.log) - 10 :])
    assert second["kept"] == first["kept"] and second["discovered_this_run"] == 0
    assert second["failed"] == {"truncated": 1}


def test_licence_policy_by_rejects_with_reasons(site, tmp_path):
    report = run_crawl(crawl_config(tmp_path, site, license_policy="by"))
    by = [a for a in OPEN if a["license"] in ("cc-by-4.0", "cc-by-3.0")]
    assert report["kept"] == len(by)
    assert report["rejected"] == {"above-policy:all": 1, "above-policy:nc": 1, "paywalled": 1}
    # Changing the policy on a re-run re-decides from the journal without fetching.
    hits = {k: n for k, n in article_hits(site).items() if k != BROKEN}
    again = run_crawl(crawl_config(tmp_path, site, license_policy="all"))
    assert again["kept"] == len(OPEN) and again["rejected"] == {"paywalled": 1}
    assert {k: n for k, n in article_hits(site).items() if k != BROKEN} == hits  # nothing refetched


def test_dry_run_discovers_without_fetching_articles(site, tmp_path):
    report = run_crawl(crawl_config(tmp_path, site, dry_run=True))
    assert report["discovered"] == len(SAMPLE["articles"])
    assert article_hits(site) == {}
    assert not (tmp_path / "papers" / "papers.parquet").exists()


def test_max_papers_and_since(site, tmp_path):
    report = run_crawl(crawl_config(tmp_path / "a", site, max_papers=3))
    assert report["kept"] == 3 and "max_papers" in report["stopped"]
    assert len(list(read_parquet(tmp_path / "a" / "papers" / "papers.parquet"))) == 3
    since = "2033-01-01"
    report = run_crawl(crawl_config(tmp_path / "b", site, since=since))
    assert report["discovered"] == sum(a["published"] >= since for a in SAMPLE["articles"])


def test_listing_source_cross_checks_year_counts(site, tmp_path):
    report = run_crawl(crawl_config(tmp_path, site, source="listing", jsonl=True))
    assert report["discovered"] == len(SAMPLE["articles"])
    assert report["windows"]["count_mismatches"] == []
    assert report["kept"] == len(OPEN)
    lines = (tmp_path / "papers" / "papers.jsonl").read_text().splitlines()
    assert len(lines) == len(OPEN)
    assert any("page=2" in e["path"] for e in site.log)  # pagination was followed


def test_dois_source_with_mixed_lines(site, tmp_path):
    ids = [a["id"] for a in OPEN[:3]]
    f = tmp_path / "dois.txt"
    f.write_text(
        f"# my papers\n10.5555/{ids[0]}\nhttps://doi.org/10.5555/{ids[1].upper()}\n{site.url}/articles/{ids[2]}\n\n"
    )
    report = run_crawl(crawl_config(tmp_path, site, source="dois", dois_file=f))
    assert report["discovered"] == 3 and report["kept"] == 3
    assert report["by_journal"] == {"jemergmat": {"discovered": 3, "kept": 3}}


def test_discovery_retries_api_errors_and_counts_failures(make_site, tmp_path):
    site = make_site(
        faults={"/crossref/journals/2999-0013/works": [Fault("status", status=429, retry_after="0.2")]}
    )
    report = run_crawl(crawl_config(tmp_path, site))
    assert report["discovered"] == len(SAMPLE["articles"]) and report["retries"] >= 1


def test_blocked_site_stops_the_crawl_with_advice(make_site, tmp_path):
    site = make_site(faults={"/articles/s49013-030-00029-3": [Fault("blocked")]})
    report = run_crawl(crawl_config(tmp_path, site))
    assert report["stopped"].startswith("blocked") and "--mailto" in report["stopped"]
    assert report["kept"] >= 1 and report["pending"] > 0  # work before the block is saved
    assert (tmp_path / "papers" / "papers.parquet").exists()


def test_robots_disallowed_papers_are_failed_not_fetched(make_site, tmp_path):
    site = make_site(disallow=["/articles/s49013-031"])
    report = run_crawl(crawl_config(tmp_path, site))
    n = sum(a["id"].startswith("s49013-031") for a in SAMPLE["articles"])
    assert report["failed"].get("robots_disallowed") == n
    assert not any(e["path"].startswith("/articles/s49013-031") for e in site.log)


def test_bad_config_is_a_clear_error(tmp_path):
    from ccpapers.config import ConfigError
    from ccpapers.crawl.config import CrawlConfig

    with pytest.raises(ConfigError, match="unknown journal slug 'ncom'.*ncomms"):
        run_crawl(CrawlConfig(work=tmp_path, journals=["ncom"], progress=False))
    with pytest.raises(ConfigError, match="dois-file"):
        CrawlConfig(work=tmp_path, source="dois")
    with pytest.raises(ConfigError, match="years"):
        run_crawl(CrawlConfig(work=tmp_path, years="20-21", progress=False))


def test_cli_prints_the_report(site, tmp_path, capsys):
    from ccpapers.cli import main

    rc = main(
        [
            "crawl",
            "--work", str(tmp_path),
            "--journals", "jemergmat",
            "--years", "2030-2034",
            "--site", site.url,
            "--crossref-api", site.url + "/crossref",
            "--rate", "50",
            "--no-progress",
            "--mailto", "t@example.org",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "kept" in out and "rejected: paywalled" in out and "failed: truncated" in out


def test_refresh_fetches_again(site, tmp_path):
    run_crawl(crawl_config(tmp_path, site))
    report = run_crawl(crawl_config(tmp_path, site, refresh=True))
    hits = article_hits(site)
    assert all(n >= 2 for n in hits.values()) and report["cache_hits"] == 0
    assert report["kept"] == len(OPEN)


def test_stale_crossref_cursor_restarts_the_window(site, tmp_path):
    from ccpapers.crawl.journal_db import JournalDB
    from ccpapers.crawl.pipeline import journal_db_path

    first = run_crawl(crawl_config(tmp_path, site, rows=1, dry_run=True))
    assert first["discovered"] == len(SAMPLE["articles"])
    with JournalDB(journal_db_path(tmp_path)) as db:  # as if the run had stopped mid-window
        for w in db.windows():
            db.set_window(w["key"], "partial", 0)
        # forget every cached page but the first of each window: the saved cursors are stale now
        db.conn.execute("DELETE FROM fetches WHERE url LIKE '%/crossref/%' AND url NOT LIKE '%cursor=%2A%'")
    n = len(site.log)
    site.add_fault("/crossref/journals/2999-0013/works", Fault("status", status=400))
    again = run_crawl(crawl_config(tmp_path, site, rows=1, dry_run=True))
    assert again["windows"]["failed"] == {} and again["windows"]["done"] == again["windows"]["total"]
    assert again["discovered"] == len(SAMPLE["articles"])
    assert any("cursor=%2A" in e["path"] for e in site.log[n:])  # the window was walked afresh


def test_listing_resumes_by_doi_when_pages_shift(make_site, tmp_path):
    from ccpapers.crawl.journal_db import JournalDB
    from ccpapers.crawl.pipeline import journal_db_path
    from ccpapers.sample.site import SampleSite

    year = max(a["published"][:4] for a in SAMPLE["articles"] if a["variant"] not in ("paywalled", "broken"))
    in_year = sorted(
        (a for a in SAMPLE["articles"] if a["published"].startswith(year)), key=lambda a: a["published"]
    )
    assert len(in_year) >= 2
    # The first run sees the year without its newest paper (not published yet) and stops early.
    early = {
        "journal": SAMPLE["journal"],
        "articles": [a for a in SAMPLE["articles"] if a is not in_year[-1]],
    }
    with SampleSite(early, page_size=1) as site:
        run_crawl(crawl_config(tmp_path, site, source="listing", years=year, dry_run=True))
        port = site.url.rsplit(":", 1)[1]
    with JournalDB(journal_db_path(tmp_path)) as db:
        for w in db.windows():
            db.set_window(w["key"], "partial", 1)
    # Same URLs, but now the newest paper tops page 1 and every other paper moved down a page.
    later = make_site(data=SAMPLE, page_size=1, port=int(port))
    report = run_crawl(crawl_config(tmp_path, later, source="listing", years=year, dry_run=True))
    assert report["discovered"] == len(in_year)
    assert report["windows"]["count_mismatches"] == []
    assert sum("/articles?" in e["path"] for e in later.log) == len(in_year)  # walked once, fresh


def test_many_failures_in_a_row_stop_the_crawl_politely(make_site, tmp_path):
    faults = {f"/articles/{a['id']}": [Fault("status", status=503)] * 5 for a in SAMPLE["articles"]}
    site = make_site(faults=faults)
    report = run_crawl(crawl_config(tmp_path, site, max_retries=0, max_consecutive_errors=3))
    assert report["stopped"].startswith("errors:") and "re-run later" in report["stopped"]
    assert report["failed"] == {"http_503": 3}
    assert len(site.served("/articles/", status=None)) == 3  # no more requests after stopping


def test_two_crawls_cannot_share_a_work_dir(site, tmp_path):
    from ccpapers.config import ConfigError
    from ccpapers.crawl.pipeline import Crawl

    first = Crawl(crawl_config(tmp_path, site))
    try:
        with pytest.raises(ConfigError, match="another ccpapers crawl is running"):
            Crawl(crawl_config(tmp_path, site))
    finally:
        first.close()
    Crawl(crawl_config(tmp_path, site)).close()  # free again once the first is closed
