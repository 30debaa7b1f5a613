"""Pure parts of the crawl: URLs, journals, sources, journal DB, pacing, robots."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ccpapers.config import ConfigError
from ccpapers.crawl.fetch.robots import RobotsRules
from ccpapers.crawl.fetch.urls import canonical_url
from ccpapers.crawl.journal_db import JournalDB
from ccpapers.crawl.journals import journal_for_doi, load_journals, parse_years, select_journals
from ccpapers.crawl.sources.base import Window
from ccpapers.crawl.sources.crossref import CrossrefSource, license_evidence
from ccpapers.crawl.sources.dois import parse_line
from ccpapers.crawl.sources.listing import ListingSource
from ccpapers.ratelimit import Lanes, parse_interval
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


def test_every_source_builds_itself_from_the_config_and_says_what_it_can_do(tmp_path):
    from ccpapers.crawl.config import CrawlConfig
    from ccpapers.crawl.pipeline import builds_site_urls, make_source

    dois = tmp_path / "dois.txt"
    dois.write_text("10.1038/s41524-023-00973-1\n")
    for name in SOURCES.names():
        cfg = CrawlConfig(work=tmp_path, source=name, dois_file=dois, years="2023", journals=["srep"])
        source = make_source(cfg, TABLE)
        assert source.name == name and type(source) is SOURCES.get(name)
        for capability in ("uses_journals", "resumes_by_doi", "html_pages", "site_article_urls"):
            assert isinstance(getattr(source, capability), bool), (name, capability)
        assert source.windows()
    listing = make_source(CrawlConfig(work=tmp_path, source="listing", journals=["srep"]), TABLE)
    assert listing.resumes_by_doi and listing.html_pages and [j.slug for j in listing.journals] == ["srep"]
    assert builds_site_urls("crossref") and builds_site_urls("listing")
    assert not builds_site_urls("dois") and not builds_site_urls(None) and not builds_site_urls("gone")


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
    body["message"]["items"] = items[:1]  # a short page does not end the walk (Crossref serves them)
    assert src.parse_page(w, json.dumps(body).encode(), w.first_url).next_url is not None
    body["message"]["items"] = []  # an empty page does
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

    lim = Lanes(clock=lambda: now[0], sleep=sleep)
    lane = lim.lane("site", 2.0)
    for _ in range(5):
        lane.acquire()
        now[0] += 0.1  # request latency
    assert lane.next_at == pytest.approx(2.5)  # 5 slots of 0.5 s, oversleep not accumulated
    lane.pause(10)
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


# -- the crawler's own safety: pure parts ------------------------------------------------------


def test_article_url_escapes_doi_suffixes_and_refuses_dot_segments():
    from ccpapers.crawl.sources.base import article_url

    assert article_url("http://s/", "10.1038/s41524-023-00973-1") == "http://s/articles/s41524-023-00973-1"
    assert article_url("http://s", "10.1038/a?b#c%d") == "http://s/articles/a%3Fb%23c%25d"
    for bad in ("10.1038/..", "10.1038/../private/x", "10.1038/a/./b", "10.1038/a/.."):
        with pytest.raises(ValueError, match="dot segment"):
            article_url("http://s", bad)


def test_dois_file_and_crossref_refuse_dot_segment_dois():
    with pytest.raises(ConfigError, match=r"\.\."):
        parse_line("10.1038/../private/x", "http://s", TABLE)
    with pytest.raises(ConfigError, match=r"\.\."):
        parse_line("https://www.nature.com/articles/../private/x", "http://s", TABLE)
    journal = select_journals(["jemergmat"], TABLE)
    src = CrossrefSource(journal, (2031, 2031), "http://api.test", "http://site.test", rows=2)
    (w,) = src.windows()
    items = [{"DOI": "10.5555/../private/x"}, {"DOI": "10.5555/s49013-031-00007-2"}]
    page = src.parse_page(w, json.dumps({"message": {"items": items, "total-results": 2}}).encode(), "u")
    assert [r.doi for r in page.refs] == ["10.5555/s49013-031-00007-2"] and page.listed == 2


def test_request_url_is_normalised_as_the_server_will_see_it():
    from ccpapers.crawl.fetch.urls import request_url

    assert request_url("http://h/articles/../private/x") == "http://h/private/x"
    assert request_url("http://h/articles/%2e%2E/private/x") == "http://h/private/x"
    assert request_url("http://H:80/a/./b/%7Ec?q=%2e") == "http://h/a/b/~c?q=%2e"
    assert request_url("http://h/articles/a%2Fb") == "http://h/articles/a%2Fb"  # reserved: kept


def test_robots_wildcards_end_anchors_and_groups():
    text = (
        "User-agent: *\nDisallow: /*/figures/\nDisallow: /*.pdf$\nAllow: /articles/open.pdf$\n"
        "Disallow: /search\n\nUser-agent: ccpapers\nDisallow: /mine\nDisallow: /*/figures/\n"
        "Disallow: /*.pdf$\nAllow: /articles/open.pdf$\n"
    )
    rules = RobotsRules(text, "ccpapers/0.1 (+x)")
    assert not rules.allowed("https://www.nature.com/articles/x/figures/1")
    assert not rules.allowed("https://www.nature.com/articles/x.pdf")
    assert rules.allowed("https://www.nature.com/articles/x.pdf?download=1")  # $ anchors the end
    assert rules.allowed("https://www.nature.com/articles/open.pdf")  # longer Allow wins
    assert not rules.allowed("https://www.nature.com/mine/1")
    assert rules.allowed("https://www.nature.com/search")  # our own group replaces '*'
    other = RobotsRules(text, "otherbot/1.0")
    assert not other.allowed("https://www.nature.com/search") and other.allowed("https://www.nature.com/mine")


def test_robots_crawl_delay_fractional_absurd_and_malformed(caplog):
    def delay(value: str, cap: float = 60.0) -> float | None:
        return RobotsRules(
            f"User-agent: *\nCrawl-delay: {value}\n", "ccpapers/0.1", max_delay=cap
        ).crawl_delay

    assert delay("0.25") == 0.25 and delay("10") == 10
    with caplog.at_level("WARNING"):
        assert delay("86400") == 60.0
        assert delay("inf") == 60.0 and delay("Infinity", cap=5) == 5
        assert delay("1e400") == 60.0
    assert sum("capped" in r.message for r in caplog.records) == 4
    for bad in ("nan", "-1", "soon", ""):
        assert delay(bad) is None


def test_to_utf8_follows_bom_then_http_header_then_sniffing():
    from ccpapers.crawl.charset import to_utf8

    page = '<html><head><meta charset="windows-1252"></head><body>µ° é</body></html>'
    utf8 = page.replace("windows-1252", "utf-8").encode()
    assert to_utf8(page.encode("cp1252")) == page.encode("cp1252")  # no outside information: untouched
    assert to_utf8(page.encode("cp1252"), "text/html; charset=windows-1252") == utf8
    bare = "<html><body>µ° é — x</body></html>"
    assert to_utf8(bare.encode("cp1252"), "text/html; charset=ISO-8859-1") == bare.encode()  # WHATWG
    assert to_utf8(page.encode("utf-16"), "text/html") == utf8  # BOM beats everything
    assert to_utf8(page.encode("utf-16"), "text/html; charset=iso-8859-2") == utf8
    assert to_utf8(page.encode("utf-16-be")) == utf8  # no BOM, recognisably UTF-16
    xml = '<?xml version="1.0" encoding="UTF-16"?>\n<article>µ</article>'
    assert to_utf8(xml.encode("utf-16")) == xml.replace("UTF-16", "UTF-8").encode()
    assert to_utf8(b"<html>\xff</html>", "text/html; charset=no-such-codec") == b"<html>\xff</html>"


@pytest.mark.parametrize(
    "fixture", ["pages/current_intro_ccby4.html", "jats/springer_oa_ccby.xml", "jats/pmc_ali_ccbync.xml"]
)
def test_utf16_files_parse_like_utf8(fixture):
    from pathlib import Path

    from ccpapers.crawl.parsers import parse_bytes

    data = (Path(__file__).parents[1] / "fixtures" / fixture).read_bytes()
    text = data.decode("utf-8")
    if text.startswith("<?xml"):
        text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').replace(
            'encoding="utf-8"', 'encoding="UTF-16"'
        )
    want = parse_bytes(data).to_dict()
    for codec in ("utf-16", "utf-16-le"):
        assert parse_bytes(text.encode(codec)).to_dict() == want, codec


def test_corrupt_journal_is_a_clear_error(tmp_path):
    from ccpapers.errors import CcpapersError

    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"this is not a database " * 100)
    with pytest.raises(CcpapersError, match=r"journal\.sqlite.*(move|rename) it aside"):
        JournalDB(path)
