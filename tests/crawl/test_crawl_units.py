"""Pure parts of the crawl: URLs, journals, sources, journal DB, pacing, robots."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ccpapers.config import ConfigError
from ccpapers.crawl.fetch.ratelimit import RateLimiter, parse_interval
from ccpapers.crawl.fetch.robots import RobotsRules
from ccpapers.crawl.fetch.urls import canonical_url
from ccpapers.crawl.journal_db import JournalDB
from ccpapers.crawl.journals import journal_for_doi, load_journals, parse_years, select_journals
from ccpapers.crawl.sources.base import Window
from ccpapers.crawl.sources.crossref import CrossrefSource, license_evidence
from ccpapers.crawl.sources.dois import parse_line
from ccpapers.crawl.sources.listing import ListingSource
from ccpapers.registry import SOURCES
from ccpapers.sample import load_sample
from ccpapers.sample.feeds import crossref_item, render_listing
from ccpapers.types import PaperRef

TABLE = load_journals()


def test_canonical_url_strips_tracking_and_cookie_queries():
    base = "https://www.nature.com/articles/s41467-018-08048-2"
    assert canonical_url(base + "?WT.feed_name=subjects_x") == base
    assert canonical_url(base + "?error=cookies_not_supported&code=1f2e") == base
    assert canonical_url("HTTPS://WWW.Nature.com/articles/x#Sec1") == "https://www.nature.com/articles/x"
    a = canonical_url("https://api.crossref.org/works?rows=2&filter=a&mailto=me@x.org")
    assert a == canonical_url("https://api.crossref.org/works?filter=a&rows=2")


def test_journal_table_and_user_file(tmp_path):
    assert TABLE["ncomms"].eissn == "2041-1723" and TABLE["srep"].doi_code == "s41598"
    assert {"ncomms", "srep", "npjcompumats", "natcomputsci", "commschem", "commsmat"} <= set(TABLE)
    extra = tmp_path / "j.yaml"
    extra.write_text(
        "journals:\n  natmachintell:\n    name: Nature Machine Intelligence\n    eissn: 2522-5839\n"
    )
    table = load_journals(extra)
    assert select_journals(["natmachintell"], table)[0].doi_prefix == "10.1038"
    extra.write_text("journals:\n  bad:\n    name: X\n    eissn: 12345\n")
    with pytest.raises(ConfigError, match="bad.*eissn"):
        load_journals(extra)
    with pytest.raises(ConfigError, match="did you mean|Did you mean"):
        select_journals(["srepp"], TABLE)


def test_parse_years():
    assert parse_years("2010-2023") == (2010, 2023)
    assert parse_years("2021") == (2021, 2021)
    for bad in ("2023-2010", "21", "x"):
        with pytest.raises(ConfigError):
            parse_years(bad)


def test_journal_for_doi():
    assert journal_for_doi("10.1038/s41524-023-00973-1", TABLE).slug == "npjcompumats"
    assert journal_for_doi("10.1038/srep25337", TABLE).slug == "srep"
    assert journal_for_doi("10.1038/ncomms1234", TABLE).slug == "ncomms"
    assert journal_for_doi("10.1000/xyz", TABLE) is None


def test_registry_has_the_sources():
    assert SOURCES.names() == ["crossref", "dois", "listing"]


def test_crossref_licence_evidence_prefers_vor_in_force():
    item = {
        "license": [
            {"URL": "http://www.springer.com/tdm", "content-version": "tdm", "start": {"date-parts": [[2020, 1, 1]]}},
            {"URL": "http://creativecommons.org/licenses/by-nc/4.0/", "content-version": "vor",
             "start": {"date-parts": [[2020, 1, 1]]}},
            {"URL": "http://creativecommons.org/licenses/by/4.0/", "content-version": "vor",
             "start": {"date-parts": [[2020, 7, 1]]}},
        ]
    }  # fmt: skip
    assert license_evidence(item, today=date(2021, 1, 1)) == ["http://creativecommons.org/licenses/by/4.0/"]
    assert license_evidence(item, today=date(2020, 3, 1)) == [
        "http://creativecommons.org/licenses/by-nc/4.0/"
    ]
    assert license_evidence({"license": [item["license"][0]]}) == []


def test_crossref_source_pages_by_cursor():
    sample = load_sample()
    journal = select_journals(["jemergmat"], TABLE)
    src = CrossrefSource(journal, (2031, 2031), "http://api.test", "http://site.test", "me@x.org", rows=2)
    (w,) = src.windows()
    assert "from-pub-date:2031-01-01,until-pub-date:2031-12-31" in w.first_url
    assert "cursor=%2A" in w.first_url and "mailto=me%40x.org" in w.first_url and "rows=2" in w.first_url
    items = [crossref_item(a, sample["journal"], "http://site.test") for a in sample["articles"][:2]]
    body = {"message": {"items": items, "next-cursor": "Dn+a/b=", "total-results": 5}}
    page = src.parse_page(w, json.dumps(body).encode(), w.first_url)
    assert [r.doi for r in page.refs] == [f"10.5555/{a['id']}" for a in sample["articles"][:2]]
    assert page.refs[0].url == f"http://site.test/articles/{sample['articles'][0]['id']}"
    assert page.refs[0].license_hint == ["http://creativecommons.org/licenses/by/4.0/"]
    assert page.next_url and "cursor=Dn%2Ba%2Fb%3D" in page.next_url
    body["message"]["items"] = items[:1]
    assert src.parse_page(w, json.dumps(body).encode(), w.first_url).next_url is None
    with pytest.raises(ValueError, match="not a Crossref"):
        src.parse_page(w, b"<html>", w.first_url)


def test_crossref_since_narrows_the_window():
    journal = select_journals(["jemergmat"], TABLE)
    src = CrossrefSource(journal, (2030, 2034), "http://a", "http://s", since="2032-05")
    windows = src.windows()
    assert [w.year for w in windows] == [2032, 2033, 2034]
    assert "from-pub-date:2032-05-01" in windows[0].first_url


def test_listing_source_reads_cards_pagination_and_facet():
    sample = load_sample()
    journal = select_journals(["jemergmat"], TABLE)
    src = ListingSource(journal, (2030, 2034), "http://site.test")
    year = int(sample["articles"][0]["published"][:4])
    w = next(w for w in src.windows() if w.year == year)
    n_year = sum(a["published"].startswith(str(year)) for a in sample["articles"])
    html = render_listing(sample["journal"], sample["articles"], year, 1, page_size=1)
    page = src.parse_page(w, html.encode(), w.first_url)
    assert len(page.refs) == 1 and page.refs[0].doi.startswith("10.5555/s49013-")
    assert page.refs[0].url.startswith("http://site.test/articles/") and page.refs[0].published
    assert page.expected == n_year
    assert (page.next_url is not None) == (n_year > 1)


def test_dois_lines():
    site = "http://s"
    assert parse_line("  # comment", site, TABLE) is None
    ref = parse_line("doi:10.1038/S41524-023-00973-1", site, TABLE)
    assert ref.doi == "10.1038/s41524-023-00973-1" and ref.journal == "npjcompumats"
    assert ref.url == "http://s/articles/s41524-023-00973-1"
    ref = parse_line("https://www.nature.com/articles/srep25337?WT.feed_name=x", site, TABLE)
    assert ref.doi == "10.1038/srep25337" and ref.journal == "srep"
    with pytest.raises(ConfigError):
        parse_line("not a doi", site, TABLE)


def test_journal_db_merges_evidence_and_survives_reopen(tmp_path):
    path = tmp_path / "j.sqlite"
    with JournalDB(path) as db:
        assert db.add_ref(PaperRef("10.1/A", "x", "http://a", license_hint=["u1"]))
        assert not db.add_ref(PaperRef("10.1/a", "x", "http://a", license_hint=["u1", "u2"]))
        db.fail("10.1/a", "timeout", "slow")
        db.set_window("w", "done", 1, 1)
    with JournalDB(path) as db:  # everything was committed
        row = db.ref("10.1/A")
        assert json.loads(row["license_hint"]) == ["u1", "u2"]
        assert (row["state"], row["error"], row["attempts"]) == ("failed", "timeout", 1)
        assert [r["doi"] for r in db.pending(("discovered",), max_attempts=2)] == ["10.1/a"]
        assert list(db.pending(("discovered",), max_attempts=1)) == []
        assert db.window("w")["state"] == "done"


def test_rate_limiter_schedules_on_start_times():
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s + 0.01  # oversleep a little

    lim = RateLimiter(clock=lambda: now[0], sleep=sleep)
    lane = lim.lane("site", 2.0)
    for _ in range(5):
        lim.acquire(lane)
        now[0] += 0.1  # request latency
    assert lane.next_at == pytest.approx(2.5)  # 5 slots of 0.5 s, oversleep not accumulated
    lim.push_back(lane, 10)
    assert lane.next_at >= now[0] + 10 - 1e-9


def test_rate_interval_parsing():
    assert parse_interval("1s") == 1.0 and parse_interval("500ms") == 0.5 and parse_interval("2m") == 120
    assert parse_interval("soon") is None


def test_robots_rules():
    rules = RobotsRules("User-agent: *\nDisallow: /search\nCrawl-delay: 2.5\n", "ccpapers/0.1 (+x)")
    assert not rules.allowed("https://www.nature.com/search?q=x")
    assert rules.allowed("https://www.nature.com/articles/x")
    assert rules.crawl_delay == 2.5
    mine = RobotsRules(
        "User-agent: ccpapers\nCrawl-delay: 5\nDisallow: /private\n\nUser-agent: *\nCrawl-delay: 1\n",
        "ccpapers/0.1",
    )
    assert mine.crawl_delay == 5 and not mine.allowed("http://h/private/x")
    assert RobotsRules(None, "ccpapers/0.1").allowed("http://h/anything")


def test_window_defaults():
    assert Window("k", "j").refs == []
