"""Pace: concurrency that climbs only while throughput does, timeouts fitted to the server."""

from __future__ import annotations

import threading

from ccpapers.builder.pacing import Pace


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _serve(pace: Pace, clock: Clock, slots: int, seconds: float, replies: int, tokens: int = 100) -> None:
    """Simulated steady state: a server with ``slots`` slots, each reply taking ``seconds`` of
    compute; with ``limit`` requests in flight it completes min(limit, slots) replies per
    ``seconds``, each seen by the client after queueing as well."""
    for _ in range(replies):
        parallel = min(pace.limit, slots)
        clock.now += seconds / parallel
        pace.on_reply(seconds * max(1.0, pace.limit / slots), tokens)


def test_one_slot_server_stays_at_one_request_in_flight() -> None:
    clock = Clock()
    pace = Pace(8, start=1, clock=clock)
    _serve(pace, clock, slots=1, seconds=7.0, replies=40)
    assert pace.limit == 1 and not pace.climbing
    assert pace.peak == 2  # one step tried, measured no gain, undone


def test_four_slot_server_climbs_to_four_and_stops() -> None:
    clock = Clock()
    pace = Pace(8, start=1, clock=clock)
    _serve(pace, clock, slots=4, seconds=2.0, replies=200)
    assert pace.limit == 4 and not pace.climbing


def test_known_slots_and_cloud_apis_start_where_they_should() -> None:
    assert Pace(8, start=4).limit == 4 and Pace(8, start=4).climbing
    cloud = Pace(8, start=None)
    assert cloud.limit == 8 and not cloud.climbing
    assert Pace(2, start=4).limit == 2  # --concurrency is the ceiling


def test_timeout_is_generous_first_then_fitted_and_grows_after_a_timeout() -> None:
    pace = Pace(8, start=1, floor=60.0, first_timeout=900.0)
    assert pace.timeout_for(1500) == 900.0  # nothing seen yet
    pace.on_reply(10.0, 200)  # 0.05 s per token
    assert pace.timeout_for(1500) == 2 * 0.05 * 1500  # room for the whole max_tokens, twice over
    assert pace.timeout_for(100) == 60.0  # never below the floor
    pace.on_timeout()
    assert pace.timeout_for(1500) == 2 * 2 * 0.05 * 1500 and pace.timeouts == 1
    assert Pace(8, timeout=30.0).timeout_for(5000) == 30.0  # --timeout given: used as given


def test_a_timeout_halves_concurrency_and_ends_the_climb() -> None:
    pace = Pace(8, start=6)
    pace.on_timeout()
    assert pace.limit == 3 and not pace.climbing
    pace.on_overload()
    assert pace.limit == 1
    pace.on_timeout()
    assert pace.limit == 1


def test_acquire_holds_requests_beyond_the_limit_and_stop_releases_waiters() -> None:
    pace = Pace(8, start=1)
    assert pace.acquire()
    stop = threading.Event()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(pace.acquire(stop)))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and pace.inflight == 1  # waiting for the one slot
    stop.set()
    waiter.join(2.0)
    assert got == [False] and pace.inflight == 1
    pace.release()
    assert pace.acquire() and pace.inflight == 1
