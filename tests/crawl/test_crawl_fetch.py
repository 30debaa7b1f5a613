"""PoliteClient over real sockets: robots, pacing, Retry-After, retries, faults, cookies, cache."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ccpapers.crawl.fetch.cache import FetchCache
from ccpapers.crawl.fetch.client import LaneSpec, PoliteClient
from ccpapers.crawl.fetch.errors import BlockedError, HttpStatusError, NetworkError, RobotsDisallowed
from ccpapers.crawl.journal_db import JournalDB
from ccpapers.crawl.pipeline import html_complete
from ccpapers.retry import parse_retry_after
from ccpapers.sample import load_sample
from ccpapers.sample.site import Fault

IDS = [a["id"] for a in load_sample()["articles"] if a["variant"] not in ("broken", "paywalled")]
ARTICLE = f"/articles/{IDS[0]}"


def client_for(site, tmp_path: Path | None = None, **kwargs) -> PoliteClient:
    cache = FetchCache(tmp_path / "raw", JournalDB(tmp_path / "j.sqlite")) if tmp_path else None
    opts = dict(
        mailto="tests@example.org",
        lanes={"site": LaneSpec(site.url, 50.0), "api": LaneSpec(site.url + "/crossref", 50.0, True)},
        timeout=2.0,
        max_retries=3,
        backoff=0.05,
        cache=cache,
    )
    opts.update(kwargs)
    return PoliteClient(**opts)


def times_of(site, path: str) -> list[float]:
    return [e["t"] for e in site.log if e["path"] == path]


def test_user_agent_names_tool_and_contact(site):
    with client_for(site) as client:
        client.get(site.url + ARTICLE)
    ua = site.log[-1]["ua"]
    assert ua.startswith("ccpapers/") and "mailto:tests@example.org" in ua and "+https://" in ua


def test_robots_disallow_is_honoured_without_a_request(make_site):
    site = make_site(disallow=[ARTICLE])
    with client_for(site) as client:
        with pytest.raises(RobotsDisallowed) as err:
            client.get(site.url + ARTICLE)
        assert err.value.code == "robots_disallowed"
        client.get(f"{site.url}/articles/{IDS[1]}")  # other paths still allowed
    assert not any(e["path"] == ARTICLE for e in site.log)
    assert [e["path"] for e in site.log].count("/robots.txt") == 1


def test_crawl_delay_slows_the_lane(make_site):
    site = make_site(crawl_delay=0.3)
    with client_for(site) as client:
        for i in IDS[:3]:
            client.get(f"{site.url}/articles/{i}")
    starts = [e["t"] for e in site.log if e["path"].startswith("/articles/")]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # pacing is on the client's clock; arrival jitter on a busy machine is tolerated
    assert len(gaps) == 2 and sum(gaps) / 2 >= 0.28 and min(gaps) >= 0.2, gaps


def test_rate_limit_spaces_requests(make_site):
    site = make_site()
    with client_for(site, lanes={"site": LaneSpec(site.url, 10.0)}) as client:
        for i in IDS[:4]:
            client.get(f"{site.url}/articles/{i}")
    starts = [e["t"] for e in site.log if e["path"].startswith("/articles/")]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert sum(gaps) / len(gaps) >= 0.095 and min(gaps) >= 0.07, gaps


def test_retry_after_on_429_is_obeyed(make_site):
    site = make_site(faults={ARTICLE: [Fault("status", status=429, retry_after="1")]})
    with client_for(site) as client:
        resp = client.get(site.url + ARTICLE)
    assert resp.status == 200
    t = times_of(site, ARTICLE)
    assert len(t) == 2 and t[1] - t[0] >= 0.9
    assert client.stats.retries == 1


def test_503_then_success_with_backoff(make_site):
    site = make_site(faults={ARTICLE: [Fault("status", status=503), Fault("status", status=503)]})
    with client_for(site) as client:
        assert client.get(site.url + ARTICLE).status == 200
    assert [e["status"] for e in site.log if e["path"] == ARTICLE] == [503, 503, 200]


def test_retries_are_bounded(make_site):
    site = make_site(faults={ARTICLE: [Fault("status", status=503)] * 10})
    with client_for(site, max_retries=2) as client:
        with pytest.raises(HttpStatusError) as err:
            client.get(site.url + ARTICLE)
    assert err.value.code == "http_503"
    assert len(times_of(site, ARTICLE)) == 3


def test_404_is_not_retried(site):
    with client_for(site) as client:
        with pytest.raises(HttpStatusError) as err:
            client.get(site.url + "/articles/does-not-exist")
    assert err.value.status == 404
    assert len(times_of(site, "/articles/does-not-exist")) == 1


def test_slow_response_times_out_then_retries(make_site):
    site = make_site(faults={ARTICLE: [Fault("slow", seconds=1.5)]})
    with client_for(site, timeout=0.5) as client:
        resp = client.get(site.url + ARTICLE)
    assert resp.status == 200 and b"</html>" in resp.content
    assert len(times_of(site, ARTICLE)) == 2


def test_timeout_reported_after_retries(make_site):
    site = make_site(faults={ARTICLE: [Fault("slow", seconds=1.0)] * 3})
    with client_for(site, timeout=0.3, max_retries=1) as client:
        with pytest.raises(NetworkError) as err:
            client.get(site.url + ARTICLE)
    assert err.value.code == "timeout"


def test_connection_reset_is_retried(make_site):
    site = make_site(faults={ARTICLE: [Fault("reset")]})
    with client_for(site) as client:
        resp = client.get(site.url + ARTICLE)
    assert resp.status == 200
    assert [e["status"] for e in site.log if e["path"] == ARTICLE] == ["reset", 200]


def test_truncated_page_is_refetched_and_never_cached(make_site, tmp_path):
    site = make_site(faults={ARTICLE: [Fault("truncate", keep=3000)]})
    with client_for(site, tmp_path) as client:
        resp = client.get(site.url + ARTICLE, validate=html_complete)
        assert resp.content.rstrip().endswith(b"</html>")
    assert len(times_of(site, ARTICLE)) == 2
    site.add_fault(ARTICLE, Fault("truncate", keep=3000), Fault("truncate", keep=3000))
    with client_for(site, tmp_path / "fresh") as client:
        with pytest.raises(NetworkError) as err:
            client.get(site.url + ARTICLE, validate=html_complete)
        assert err.value.code == "truncated"
        assert client.cache.lookup(site.url + ARTICLE) is None


def test_cookie_redirect_is_followed_with_a_jar(make_site):
    site = make_site(require_cookies=True)
    with client_for(site) as client:
        first = client.get(site.url + ARTICLE)
        second = client.get(f"{site.url}/articles/{IDS[1]}")
    assert first.status == 200 and "error=" not in first.final_url
    assert first.history  # went through the cookie check
    assert second.history == []  # the jar kept the cookie
    assert site.log[-1]["cookie"] and "sample_session=1" in site.log[-1]["cookie"]


def test_blocked_403_raises_an_actionable_error(make_site):
    site = make_site(faults={ARTICLE: [Fault("blocked")]})
    with client_for(site) as client:
        with pytest.raises(BlockedError) as err:
            client.get(site.url + ARTICLE)
    msg = str(err.value)
    assert err.value.code == "blocked" and "--mailto" in msg and "--rate" in msg
    assert len(times_of(site, ARTICLE)) == 1  # no hammering


def test_cache_serves_second_get_and_strips_tracking_queries(site, tmp_path):
    with client_for(site, tmp_path) as client:
        a = client.get(site.url + ARTICLE + "?WT.feed_name=subjects")
        b = client.get(site.url + ARTICLE + "?error=cookies_not_supported&code=123")
        c = client.get(site.url + ARTICLE)
    assert not a.from_cache and b.from_cache and c.from_cache
    assert a.content == b.content == c.content
    assert sum(e["path"].startswith(ARTICLE) for e in site.log) == 1
    blob = tmp_path / "raw" / a.sha256[:2] / a.sha256[2:4] / f"{a.sha256}.gz"
    assert blob.is_file()


def test_api_lane_follows_rate_limit_headers(make_site):
    site = make_site(api_rate_header=(4, "1s"))
    url = site.url + "/crossref/journals/2999-0013/works?rows=2&cursor=*"
    with client_for(site, lanes={"api": LaneSpec(site.url + "/crossref", 100.0, True)}) as client:
        client.get(url)
        client.get(url + "&x=1")
        client.get(url + "&x=2")
        assert client.lane_for(url).interval == pytest.approx(0.25)
    t = [e["t"] for e in site.log if e["path"].startswith("/crossref")]
    assert t[2] - t[1] >= 0.2


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    now = time.time()
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 30))
    assert 28 <= parse_retry_after(http_date, now=now) <= 31
    assert parse_retry_after("soon") is None
