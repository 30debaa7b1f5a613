"""Run model requests: cache lookup, budget, limiter, pacing, retries, threads, batches, progress.

Every reply is written to the content-addressed cache the moment it arrives; results
are read back from the cache by request hash, never by position, so a killed run
resumes by lookup and out-of-order completion cannot mix results up.

Requests run in daemon threads, paced per backend (:mod:`ccpapers.builder.pacing`). Ctrl-C
sets a stop flag that ends every retry wait at once; replies that land within
``grace`` seconds are still cached, and nothing waits for the rest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ccpapers.builder.backends.base import Reply
from ccpapers.builder.cache import ReplyCache
from ccpapers.builder.cost import PriceTable, Usage
from ccpapers.builder.ledger import SpendLedger
from ccpapers.builder.limits import Fatal, Rejected, Retryable, RetryPolicy
from ccpapers.builder.pacing import Pace
from ccpapers.builder.tokens import upper_bound_tokens
from ccpapers.ratelimit import RateLimiter
from ccpapers.retry import Retry, with_retries

log = logging.getLogger(__name__)

RATE_LIMITED = "429"  # the kind of retry with a budget of its own (RetryPolicy.rate_limit_retries)


@dataclass
class Job:
    key: str
    backend: Any
    payload: dict[str, Any]
    est_input: int  # expected, for --estimate
    est_output: int  # expected, for --estimate
    max_output: int  # upper bound, reserved against --max-cost
    est_chars: int = 0  # DeepL characters
    label: str = ""
    max_input: int = 0  # upper bound (tokenizer or by script), reserved against --max-cost


@dataclass
class Stats:
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    rate_limited: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    skipped_budget: int = 0
    cost_usd: float = 0.0
    usage: Usage = field(default_factory=Usage)
    usage_by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    stopped: str | None = None
    batches: list[str] = field(default_factory=list)
    unpriced_models: set[str] = field(default_factory=set)
    messages: dict[str, str] = field(default_factory=dict)  # failure reason -> the server's first message
    pacing: dict[str, dict[str, Any]] = field(default_factory=dict)
    usage_estimated: int = 0  # replies without usage, booked at their upper bound

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "failed": dict(self.failed),
            "skipped_budget": self.skipped_budget,
            "cost_usd": round(self.cost_usd, 6),
            "tokens": self.usage.to_dict(),
            "usage_by_model": self.usage_by_model,
            "stopped": self.stopped,
            "batches": list(self.batches),
            "unpriced_models": sorted(self.unpriced_models),
            "failure_messages": dict(self.messages),
            "pacing": self.pacing,
            "usage_estimated": self.usage_estimated,
        }


class Engine:
    def __init__(
        self,
        cache: ReplyCache,
        prices: PriceTable,
        concurrency: int = 8,
        rpm: float = 0.0,
        tpm: float = 0.0,
        max_cost: float = 0.0,
        retry: RetryPolicy | None = None,
        batch: bool = False,
        batch_poll: float = 30.0,
        progress: bool = False,
        timeout: float = 0.0,
        grace: float = 2.0,
        breaker: int = 3,
        ledger: SpendLedger | None = None,
    ) -> None:
        self.cache = cache
        self.prices = prices
        self.concurrency = max(1, concurrency)
        self.rpm, self.tpm = rpm, tpm
        self.max_cost = max_cost
        self.retry = retry or RetryPolicy()
        self.batch = batch
        self.batch_poll = batch_poll
        self.progress = progress
        self.timeout = timeout  # 0: fitted per server (Pace)
        self.grace = grace
        self.breaker = breaker  # this many requests in a row exhausting their retries stop the build
        self.ledger = ledger
        self.spent_before = ledger.spent() if ledger else 0.0  # earlier runs of this build
        self.stats = Stats()
        self._lock = threading.Lock()
        self._reserved = 0.0
        self._limiters: dict[str, RateLimiter] = {}
        self._paces: dict[str, Pace] = {}
        self._fatal: Fatal | None = None
        self._stop = threading.Event()
        self._fail_streak = 0
        self.failed_keys: dict[str, str] = {}  # request hash -> why it has no reply

    # -- bookkeeping ---------------------------------------------------------
    def _limiter(self, backend: Any) -> RateLimiter:
        if backend.name not in self._limiters:
            self._limiters[backend.name] = RateLimiter.per_minute(self.rpm, self.tpm)
        return self._limiters[backend.name]

    def _pace(self, backend: Any) -> Pace:
        with self._lock:
            if backend.name not in self._paces:
                start = getattr(backend, "start_concurrency", None)
                self._paces[backend.name] = Pace(
                    self.concurrency, start() if callable(start) else None, timeout=self.timeout
                )
            return self._paces[backend.name]

    def upper_cost(self, job: Job, batch: bool = False) -> float:
        bound = Usage(
            input_tokens=max(job.max_input, job.est_input),
            output_tokens=job.max_output,
            billed_characters=job.est_chars,
        )
        return self.prices.cost(job.backend.model, bound, batch)

    @staticmethod
    def _booked_usage(job: Job, reply: Reply) -> tuple[Usage, bool]:
        """(usage to book, estimated?): a reply without usage (some servers omit it) is booked at
        its upper bound, never at $0."""
        if any(reply.usage.to_dict().values()) or not (job.max_output or job.est_chars):
            return reply.usage, False
        out = sum(upper_bound_tokens(t) for t in reply.texts if t)
        bound = Usage(
            input_tokens=max(job.max_input, job.est_input),
            output_tokens=min(out, job.max_output) if job.max_output else out,
            billed_characters=job.est_chars,
        )
        return bound, True

    def expected_cost(self, job: Job) -> float:
        usage = Usage(
            input_tokens=job.est_input, output_tokens=job.est_output, billed_characters=job.est_chars
        )
        return self.prices.cost(job.backend.model, usage)

    def _record(self, job: Job, raw: dict[str, Any], batch: bool = False) -> dict[str, Any]:
        reply = job.backend.parse(raw)
        usage, estimated = self._booked_usage(job, reply)
        cost = self.prices.cost(job.backend.model, usage, batch)
        entry = {
            "backend": job.backend.name,
            "model": job.backend.model,
            "raw": raw,
            "usage": usage.to_dict(),
            "usage_estimated": estimated,
            "cost_usd": cost,
            "batch": batch,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if self.ledger is not None and cost > 0:  # paid: in the ledger before anything else
            self.ledger.add(job.backend.name, job.backend.model, job.key, cost, batch, estimated)
        self.cache.put(job.key, entry)  # write-ahead: on disk before anything else happens
        with self._lock:
            self.stats.calls += 1
            self.stats.cost_usd += cost
            self.stats.usage.add(usage)
            self.stats.usage_estimated += estimated
            per = self.stats.usage_by_model.setdefault(f"{job.backend.name}/{job.backend.model}", {})
            for k, v in usage.to_dict().items():
                per[k] = per.get(k, 0) + v
            per["calls"] = per.get("calls", 0) + 1
            if not self.prices.known(job.backend.model):
                self.stats.unpriced_models.add(job.backend.model)
        return entry

    def _fail(self, job: Job, reason: str, message: str = "") -> None:
        with self._lock:
            self.failed_keys[job.key] = reason
            self.stats.failed[reason] = self.stats.failed.get(reason, 0) + 1
            if message:
                self.stats.messages.setdefault(reason, message)
            if not reason.startswith("retries-exhausted"):
                return
            self._fail_streak += 1
            if self._fail_streak >= self.breaker and self._fatal is None:
                self._fatal = Fatal(
                    f"{self._fail_streak} requests in a row to {job.backend.name} failed after "
                    f"{self.retry.retries} retries each ({reason}); the server said: {message or 'nothing'}"
                )

    # -- public --------------------------------------------------------------
    def split_cached(self, jobs: list[Job]) -> tuple[dict[str, dict[str, Any]], list[Job]]:
        done: dict[str, dict[str, Any]] = {}
        todo: list[Job] = []
        seen: set[str] = set()
        for job in jobs:
            if job.key in seen:
                continue
            seen.add(job.key)
            entry = self.cache.get(job.key)
            if entry is not None:
                done[job.key] = entry
            else:
                todo.append(job)
        self.stats.cache_hits += len(done)
        return done, todo

    def run(self, jobs: list[Job]) -> dict[str, dict[str, Any]]:
        """Answer every job (cache first); returns key -> cache entry for those answered."""
        done, todo = self.split_cached(jobs)
        if not todo:
            return done
        batchable = [j for j in todo if self.batch and "batch" in j.backend.supports]
        local = [j for j in todo if "local-batch" in j.backend.supports]
        threaded = [j for j in todo if j not in batchable and j not in local]
        with _Progress(self.progress, len(todo)) as bar:
            if batchable:
                self._run_batches(batchable, bar)
            if local and not self._fatal:
                self._run_local(local, bar)
            if threaded and not self._fatal:
                self._run_threads(threaded, bar)
        for job in todo:
            entry = self.cache.get(job.key)
            if entry is not None:
                done[job.key] = entry
        if self._fatal:
            raise self._fatal
        return done

    # -- budget ----------------------------------------------------------------
    def _reserve(self, amount: float) -> bool:
        """Hold ``amount`` of the budget, or refuse when the build's spend (earlier runs from the
        ledger, this run's replies, requests in flight) could then exceed ``max_cost``."""
        with self._lock:
            spent = self.spent_before + self.stats.cost_usd + self._reserved
            if self.max_cost > 0 and spent + amount > self.max_cost:
                return False
            self._reserved += amount
            return True

    def _budget_stop(self) -> str:
        spent = self.spent_before + self.stats.cost_usd
        where = f" (ledger {self.ledger.path})" if self.ledger else ""
        return (
            f"max-cost: this build has spent ${spent:.4f} of its ${self.max_cost:.4f} budget across runs"
            f"{where}; the next request could exceed it"
        )

    def _release(self, amount: float) -> None:
        with self._lock:
            self._reserved -= amount

    # -- threaded requests -------------------------------------------------------
    def _send_with_retries(self, job: Job) -> None:
        """Send ``job`` until it is answered (recorded in the cache), dropped with a reason, the
        build is stopped, or its retries are spent (429s have a budget of their own)."""
        limiter = self._limiter(job.backend)
        pace = self._pace(job.backend)
        try:
            sent = with_retries(
                lambda: self._attempt(job, limiter, pace),
                budgets={RATE_LIMITED: self.retry.rate_limit_retries, "error": self.retry.retries},
                backoff=self.retry.backoff(),
                wait=lambda outcome, delay, _: self._wait(limiter, outcome, delay),
                stopped=self._stop.is_set,
            )
        except Retryable as exc:
            self._fail(job, f"retries-exhausted:{exc.status or 'connection'}", str(exc))
            return
        if sent is None:
            return
        raw, started = sent
        limiter.on_success()
        entry = self._record(job, raw)
        pace.on_reply(time.monotonic() - started, int(entry["usage"].get("output_tokens") or 0))
        with self._lock:
            self._fail_streak = 0

    def _attempt(
        self, job: Job, limiter: RateLimiter, pace: Pace
    ) -> tuple[dict[str, Any], float] | Retry | None:
        """One request: (the raw reply, when it was sent), to be tried again, or None (dropped,
        fatal, or not sent because the build stops)."""
        limiter.acquire(job.est_input + job.max_output)
        if self._fatal or self._stop.is_set() or not pace.acquire(self._stop):
            return None
        started = time.monotonic()
        try:
            raw = job.backend.send(job.payload, timeout=pace.timeout_for(job.max_output))
        except Retryable as exc:
            pace.release()
            with self._lock:
                self.stats.retries += 1
                if exc.status == 429:
                    self.stats.rate_limited += 1
            if exc.timed_out:
                pace.on_timeout()
            elif exc.status in (503, 529):
                pace.on_overload()
            return Retry(exc, exc.retry_after, RATE_LIMITED if exc.status == 429 else "error")
        except Rejected as exc:
            pace.release()
            self._fail(job, exc.reason, str(exc))
            return None
        except Fatal as exc:
            pace.release()
            with self._lock:
                self._fatal = self._fatal or exc
            return None
        except Exception as exc:  # an unexpected reply or client error: drop this request, keep going
            pace.release()
            log.warning("request %s failed: %s: %s", job.key[:12], type(exc).__name__, exc)
            self._fail(job, f"error:{type(exc).__name__}", str(exc))
            return None
        pace.release()
        return raw, started

    def _wait(self, limiter: RateLimiter, outcome: Retry, delay: float) -> None:
        """Before a retry: a 429 slows the backend's limiter (everyone waits at least its
        Retry-After); this request waits ``delay``, cut short by Ctrl-C."""
        if outcome.kind == RATE_LIMITED:
            limiter.on_rate_limited()
            if outcome.retry_after is not None:
                limiter.pause(outcome.retry_after)
        self._stop.wait(delay)

    def _worker(self, job: Job, reserve: float, done: queue.SimpleQueue) -> None:
        error: BaseException | None = None
        try:
            self._send_with_retries(job)
        except BaseException as exc:  # handed to the main thread, which re-raises it
            error = exc
        finally:
            done.put((reserve, error))

    def _run_threads(self, jobs: list[Job], bar: _Progress) -> None:
        done: queue.SimpleQueue = queue.SimpleQueue()
        inflight = [0]  # requests started and not yet reaped
        try:
            for i, job in enumerate(jobs):
                while inflight[0] >= self.concurrency:
                    self._reap(done, inflight, bar)
                if self._fatal:
                    break
                reserve = self.upper_cost(job)
                stop = False
                while not self._reserve(reserve):
                    if not inflight[0]:  # nothing left to come back: this request cannot fit
                        stop = True
                        break
                    self._reap(done, inflight, bar)  # spend may fall once replies are in
                if stop:
                    self.stats.skipped_budget += len(jobs) - i
                    self.failed_keys.update({j.key: "max-cost" for j in jobs[i:]})
                    self.stats.stopped = self._budget_stop()
                    break
                inflight[0] += 1
                threading.Thread(
                    target=self._worker, args=(job, reserve, done), name="ccpapers-gen", daemon=True
                ).start()
            while inflight[0]:
                self._reap(done, inflight, bar)
        except KeyboardInterrupt:
            self._stop.set()  # retry waits end now; requests still on the wire are abandoned
            deadline = time.monotonic() + self.grace
            while inflight[0] and time.monotonic() < deadline:  # replies landing now are still cached
                try:
                    self._reap(done, inflight, bar, timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    break
            raise
        finally:
            for name, pace in self._paces.items():
                self.stats.pacing[name] = pace.to_dict()

    def _reap(
        self, done: queue.SimpleQueue, inflight: list[int], bar: _Progress, timeout: float | None = None
    ) -> None:
        """Wait for one request to finish (in short steps, so Ctrl-C is seen at once)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 0.25 if deadline is None else min(0.25, max(0.0, deadline - time.monotonic()))
            try:
                reserve, error = done.get(timeout=step)
                break
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
        inflight[0] -= 1
        self._release(reserve)
        bar.advance()
        if error is not None:
            raise error

    # -- local batched generation (transformers) -----------------------------
    def _run_local(self, jobs: list[Job], bar: _Progress) -> None:
        by_backend: dict[int, list[Job]] = {}
        for job in jobs:
            by_backend.setdefault(id(job.backend), []).append(job)
        for group in by_backend.values():
            backend = group[0].backend
            size = getattr(backend, "batch_size", 8)
            for i in range(0, len(group), size):
                chunk = group[i : i + size]
                raws = backend.send_batch([j.payload for j in chunk])
                for job, raw in zip(chunk, raws, strict=True):
                    self._record(job, raw)
                    bar.advance()

    # -- provider batch APIs --------------------------------------------------------
    def _run_batches(self, jobs: list[Job], bar: _Progress) -> None:
        by_backend: dict[int, list[Job]] = {}
        for job in jobs:
            by_backend.setdefault(id(job.backend), []).append(job)
        for group in by_backend.values():
            backend = group[0].backend
            by_key = {j.key: j for j in group}
            waiting: list[str] = []
            pending_keys: set[str] = set()
            for stored in self.cache.pending_batches(backend.name):
                waiting.append(stored["batch_id"])
                pending_keys.update(stored["keys"])
            committed = sum(self.upper_cost(j, batch=True) for j in group if j.key in pending_keys)
            with self._lock:
                self._reserved += committed  # submitted in an earlier run: paid when it ends
            fresh = [j for j in group if j.key not in pending_keys]
            budget_ok = []
            for j in fresh:
                if self._reserve(self.upper_cost(j, batch=True)):
                    budget_ok.append(j)
                else:
                    self.stats.skipped_budget += 1
                    self.failed_keys[j.key] = "max-cost"
                    self.stats.stopped = self._budget_stop()
            for i in range(0, len(budget_ok), 10_000):
                chunk = budget_ok[i : i + 10_000]
                batch_id = backend.submit_batch([(j.key, j.payload) for j in chunk])
                self.cache.save_batch(
                    backend.name, batch_id, [j.key for j in chunk], {"model": backend.model}
                )
                waiting.append(batch_id)
            self.stats.batches.extend(waiting)
            for batch_id in waiting:
                while not backend.batch_done(batch_id):
                    time.sleep(self.batch_poll)
                for key, raw in backend.batch_results(batch_id).items():
                    job = by_key.get(key)
                    if job is None:
                        continue  # a stored batch answered a request this run no longer needs
                    if isinstance(raw, str):
                        self._fail(job, raw)
                    else:
                        self._record(job, raw, batch=True)
                    bar.advance()
                self.cache.finish_batch(backend.name, batch_id)
            with self._lock:
                self._reserved = 0.0


class _Progress:
    """A rich progress bar, or nothing when disabled."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and total > 0
        self.total = total
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from ccpapers.progress import live_bar

            self._progress = live_bar()
            self._progress.start()
            self._task = self._progress.add_task("generating", total=self.total, info="")
        return self

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
