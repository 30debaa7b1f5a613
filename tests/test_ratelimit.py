"""The one rate limiter: pacing on start times, pauses, token budget, AIMD, header-driven lanes."""

from __future__ import annotations

import pytest

from ccpapers.ratelimit import Lanes, RateLimiter


def fake_time() -> tuple[list[float], object, object]:
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    return now, (lambda: now[0]), sleep


def test_no_credit_is_banked_after_an_idle_gap_or_a_token_wait() -> None:
    now, clock, sleep = fake_time()
    lim = RateLimiter(1.0, clock=clock, sleep=sleep)
    lim.acquire()
    now[0] = 10.0  # idle
    lim.acquire()
    assert lim.next_at == pytest.approx(11.0)  # from now, not from the old slot
    tok = RateLimiter(0.5, tpm=60, clock=clock, sleep=sleep)
    tok.acquire(60)
    t = now[0]
    tok.acquire(30)  # waits 30 s for tokens; the 0.5 s slot long passed
    assert now[0] - t == pytest.approx(30.0) and tok.next_at == pytest.approx(now[0] + 0.5)


def test_a_pause_holds_callers_and_429s_widen_the_spacing_until_replies_narrow_it() -> None:
    now, clock, sleep = fake_time()
    lim = RateLimiter.per_minute(rpm=60, clock=clock, sleep=sleep)
    lim.acquire()
    lim.pause(7.0)
    lim.acquire()
    assert now[0] == pytest.approx(7.0)
    lim.on_rate_limited()
    assert lim.interval == pytest.approx(2.0)
    lim.on_rate_limited()  # the same burst: one signal
    assert lim.interval == pytest.approx(2.0)
    for _ in range(200):
        lim.on_success()
    assert lim.interval == pytest.approx(1.0)  # back to the configured spacing, never below
    free = RateLimiter(clock=clock, sleep=sleep)
    free.on_rate_limited()
    assert free.interval == pytest.approx(0.02)
    for _ in range(400):
        free.on_success()
    assert free.interval == 0.0


def test_lanes_are_paced_apart_and_follow_crawl_delay_and_rate_limit_headers() -> None:
    now, clock, sleep = fake_time()
    lanes = Lanes(clock=clock, sleep=sleep)
    site, api = lanes.lane("site", 2.0), lanes.lane("api", 10.0, header_driven=True)
    assert lanes.lane("site") is site and site.name == "site"
    site.crawl_delay = 3.0
    assert site.interval == 3.0
    api.observe_headers({"x-rate-limit-limit": "50", "x-rate-limit-interval": "1s"})
    assert api.interval == pytest.approx(0.02)
    site.observe_headers({"x-rate-limit-limit": "1", "x-rate-limit-interval": "1m"})
    assert site.interval == 3.0  # only header-driven lanes listen
    site.acquire()
    api.acquire()
    assert now[0] == 0.0  # lanes do not wait for each other
