"""The fetch layer cannot be turned against a site (robots bypass) or the machine (bombs, huge
or endless bodies): real sockets on 127.0.0.1, small caps, bounded loops."""

from __future__ import annotations

import logging
import tracemalloc

import pytest

from ccpapers.crawl.fetch.errors import FetchError, RobotsDisallowed
from ccpapers.sample.site import Fault
from tests.crawl.test_crawl_fetch import ARTICLE, client_for

KIB = 1024
CAP = 64 * KIB


def paths(site) -> list[str]:
    return [e["path"] for e in site.log]


def test_dot_segments_cannot_reach_a_disallowed_path(make_site):
    site = make_site(disallow=["/private"])
    with client_for(site) as client:
        for sneaky in ("/articles/../private/x", "/articles/./../private/y", "/articles/%2e%2e/private/z"):
            with pytest.raises(RobotsDisallowed) as err:
                client.get(site.url + sneaky)
            assert "/private/" in err.value.url and ".." not in err.value.url.lower().replace("%2e", ".")
    assert not any(p.startswith("/private") for p in paths(site)), paths(site)


def test_redirect_into_a_disallowed_path_is_refused(make_site):
    site = make_site(disallow=["/private"])
    site.add_fault(ARTICLE, Fault("redirect", status=302, location="/private/x"))
    site.add_fault(ARTICLE, Fault("redirect", status=301, location="/articles/../private/y"))
    with client_for(site) as client:
        for _ in range(2):
            with pytest.raises(RobotsDisallowed):
                client.get(site.url + ARTICLE)
    assert not any(p.startswith("/private") for p in paths(site)), paths(site)


def test_robots_wildcard_rules_are_honoured_over_the_wire(make_site):
    site = make_site(disallow=["/*/figures/", "/*.pdf$"])
    with client_for(site) as client:
        for blocked in ("/articles/x/figures/1", "/articles/x.pdf"):
            with pytest.raises(RobotsDisallowed):
                client.get(site.url + blocked)
        client.get(site.url + ARTICLE)  # still allowed
    assert [p for p in paths(site) if p != "/robots.txt"] == [ARTICLE]


def test_crawl_delay_inf_is_capped_with_a_warning(make_site, caplog):
    site = make_site(crawl_delay=float("inf"))
    with caplog.at_level(logging.WARNING), client_for(site, max_crawl_delay=0.5) as client:
        assert client.get(site.url + ARTICLE).status == 200
        assert client.lane_for(site.url + ARTICLE).interval == pytest.approx(0.5)
    assert any("Crawl-delay" in r.message and "capped" in r.message for r in caplog.records)


def test_gzip_bomb_is_refused_within_the_cap(make_site, tmp_path):
    site = make_site(faults={ARTICLE: [Fault("gzip_bomb", size=1 << 30)]})  # 1 MB on the wire, 1 GiB inflated
    with client_for(site, tmp_path, max_bytes=CAP) as client:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError) as err:
                client.get(site.url + ARTICLE)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert client.cache.lookup(site.url + ARTICLE) is None
    assert err.value.code == "too_large" and "64 KiB" in str(err.value), err.value
    assert peak < 8 << 20, f"peak {peak} bytes"
    assert paths(site).count(ARTICLE) == 1  # refused, not retried


@pytest.mark.parametrize("declare_length", [True, False])
def test_huge_page_is_refused_without_reading_it(make_site, declare_length):
    site = make_site(faults={ARTICLE: [Fault("huge", size=50 << 20, declare_length=declare_length)]})
    with client_for(site, max_bytes=CAP) as client:
        with pytest.raises(FetchError) as err:
            client.get(site.url + ARTICLE)
        assert client.stats.bytes < 4 * CAP  # stopped at the cap, not after 50 MB
    assert err.value.code == "too_large" and "refused" in str(err.value)


def test_huge_robots_txt_is_read_up_to_its_cap(make_site, caplog):
    site = make_site(faults={"/robots.txt": [Fault("huge", size=200 << 20, declare_length=False)]})
    with caplog.at_level(logging.WARNING), client_for(site, max_robots_bytes=CAP) as client:
        assert client.get(site.url + ARTICLE).status == 200
        with pytest.raises(RobotsDisallowed):  # the rules read before the cap still count
            client.get(site.url + "/filler/x")
        assert client.stats.bytes < 4 * CAP + 500_000
    assert any("robots.txt" in r.message and "64 KiB" in r.message for r in caplog.records)


def test_slow_drip_body_is_cut_at_the_deadline(make_site):
    site = make_site(faults={ARTICLE: [Fault("drip", seconds=0.02, size=100_000)]})  # ~30 min
    with client_for(site, timeout=2.0, deadline=0.6) as client:
        with pytest.raises(FetchError) as err:
            client.get(site.url + ARTICLE)
    assert err.value.code == "too_slow" and "0.6 s" in str(err.value)
    assert paths(site).count(ARTICLE) == 1


def test_slow_drip_headers_are_cut_at_the_deadline(make_site):
    site = make_site(faults={ARTICLE: [Fault("drip_headers", seconds=0.1)]})  # ~8 s of headers
    with client_for(site, timeout=2.0, deadline=0.6) as client:
        with pytest.raises(FetchError) as err:
            client.get(site.url + ARTICLE)
        assert err.value.code == "too_slow"
        # the client is still usable afterwards (its connection pool was not broken)
        assert client.get(f"{site.url}{ARTICLE}?again=1").status == 200


def test_gzip_page_within_the_cap_is_decoded(make_site):
    site = make_site(faults={ARTICLE: [Fault("gzip_bomb", size=1 << 20)]})  # 1 MiB inflated
    with client_for(site, max_bytes=2 << 20) as client:
        resp = client.get(site.url + ARTICLE)
    assert len(resp.content) == 1 << 20 and not resp.content.strip(b"\0")
