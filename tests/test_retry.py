"""The one retry loop (ccpapers.retry.with_retries) and its waits (Backoff)."""

from __future__ import annotations

import random

import pytest

from ccpapers.retry import Backoff, Retry, with_retries

NO_JITTER = Backoff(base=1.0, cap=8.0, jitter=0.0)


def script(*outcomes: object):
    """An attempt that returns (or raises) the given outcomes in turn, counting its calls."""
    calls = [0]

    def attempt() -> object:
        outcome = outcomes[min(calls[0], len(outcomes) - 1)]
        calls[0] += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return attempt, calls


def recorder() -> tuple[list[tuple[str, float | None, float, int]], object]:
    waits: list[tuple[str, float | None, float, int]] = []

    def wait(outcome: Retry, delay: float, n: int) -> None:
        waits.append((outcome.kind, outcome.retry_after, delay, n))

    return waits, wait


def test_a_value_ends_the_loop_after_retries() -> None:
    attempt, calls = script(Retry(ValueError("a")), Retry(ValueError("b")), "ok")
    waits, wait = recorder()
    assert with_retries(attempt, budgets={"error": 5}, backoff=NO_JITTER, wait=wait) == "ok"
    assert calls[0] == 3
    assert waits == [("error", None, 1.0, 1), ("error", None, 2.0, 2)]  # backoff doubles


def test_the_error_is_raised_once_the_budget_is_spent() -> None:
    boom = ValueError("still down")
    attempt, calls = script(Retry(boom))
    waits, wait = recorder()
    with pytest.raises(ValueError) as info:
        with_retries(attempt, budgets={"error": 3}, backoff=NO_JITTER, wait=wait)
    assert info.value is boom
    assert calls[0] == 4  # the first try and three retries
    assert [w[3] for w in waits] == [1, 2, 3]
    assert [w[2] for w in waits] == [1.0, 2.0, 4.0]


def test_a_zero_budget_raises_at_once_and_a_final_error_propagates() -> None:
    attempt, calls = script(Retry(KeyError("x")))
    waits, wait = recorder()
    with pytest.raises(KeyError):
        with_retries(attempt, budgets={"error": 0}, backoff=NO_JITTER, wait=wait)
    assert calls[0] == 1 and waits == []
    attempt, calls = script(Retry(ValueError("a")), RuntimeError("final"))
    with pytest.raises(RuntimeError, match="final"):
        with_retries(attempt, budgets={"error": 5}, backoff=NO_JITTER, wait=wait)
    assert calls[0] == 2


def test_each_kind_has_its_own_budget_and_attempt_count() -> None:
    limited = [Retry(ValueError("429"), kind="429") for _ in range(4)]
    errors = [Retry(ValueError("503"), kind="error") for _ in range(2)]
    attempt, calls = script(limited[0], errors[0], limited[1], limited[2], errors[1], limited[3], "ok")
    waits, wait = recorder()
    assert with_retries(attempt, budgets={"429": 4, "error": 2}, backoff=NO_JITTER, wait=wait) == "ok"
    kinds = [("429", 1), ("error", 1), ("429", 2), ("429", 3), ("error", 2), ("429", 4)]
    assert [(w[0], w[3]) for w in waits] == kinds
    assert [w[2] for w in waits] == [1.0, 1.0, 2.0, 4.0, 2.0, 8.0]  # backoff per kind's count
    # one more of a spent kind is raised although the other kind has retries left
    attempt, _ = script(*errors, Retry(ValueError("third"), kind="error"), "ok")
    with pytest.raises(ValueError, match="third"):
        with_retries(attempt, budgets={"429": 4, "error": 2}, backoff=NO_JITTER, wait=recorder()[1])


def test_retry_after_wins_over_backoff() -> None:
    attempt, _ = script(
        Retry(ValueError("a"), retry_after=7.5), Retry(ValueError("b"), retry_after=0.0), "ok"
    )
    waits, wait = recorder()
    with_retries(attempt, budgets={"error": 5}, backoff=NO_JITTER, wait=wait)
    assert [w[2] for w in waits] == [7.5, 0.0]  # exactly the server's wait; 0 means at once


def test_retry_after_is_capped_and_jittered_when_asked() -> None:
    policy = Backoff(base=0.5, cap=30.0, after_jitter=0.5, max_retry_after=300.0, rng=random.Random(1))
    for _ in range(50):
        assert 10.0 <= policy.delay(0, 10.0) < 15.0
        assert 300.0 <= policy.delay(0, 9999.0) < 450.0
        assert 0.0 <= policy.delay(0, 0.0) <= 0.05  # even a zero wait gets a little spread
    same = Backoff(base=0.5, cap=30.0, jitter=0.25, rng=random.Random(7))
    rng = random.Random(7)
    assert same.delay(3, None) == min(30.0, 0.5 * 2**3) * (0.75 + 0.5 * rng.random())


def test_the_stop_hook_ends_the_loop_after_a_wait() -> None:
    attempt, calls = script(Retry(ValueError("a")))
    stop = [False]
    waits: list[int] = []

    def wait(outcome: Retry, delay: float, n: int) -> None:
        waits.append(n)
        stop[0] = n == 2  # e.g. Ctrl-C during the second wait

    result = with_retries(
        attempt, budgets={"error": 10}, backoff=NO_JITTER, wait=wait, stopped=lambda: stop[0]
    )
    assert result is None
    assert calls[0] == 2 and waits == [1, 2]  # no attempt after the stop
