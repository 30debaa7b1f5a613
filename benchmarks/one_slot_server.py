"""A one-slot local server (llama-cpp-python, ``transformers serve`` on a CPU): fixed vs fitted pacing.

The fake OpenAI-compatible server (tests/builder/fake_provider.py) computes one reply at a
time, ``--latency`` seconds each, and finishes a reply even when its client has gone, as the
real ones do. Both runs send the same ``--requests`` requests through the build engine:

* baseline: what ``ccpapers build`` did before issue 13: 8 requests in flight from the start
  and a fixed timeout shorter than 8 replies take (``--timeout``, the scaled-down 120 s of a
  CPU server whose replies take a minute each);
* fitted: the defaults now (``Pace``: start at the server's slots or 1, climb while the
  throughput does; timeout fitted to the observed seconds per token).

Reported side by side: replies kept per minute, replies the server computed for nobody
(client gone), requests that never got a reply, and the ratio fitted / baseline.

    python -m benchmarks.one_slot_server [--requests 40 --latency 0.5 --timeout 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from tests.builder.fake_provider import FakeProvider

from ccpapers.builder.backends.base import ChatRequest
from ccpapers.builder.backends.openai_backend import OpenAIBackend
from ccpapers.builder.cache import ReplyCache, request_key
from ccpapers.builder.cost import PriceTable
from ccpapers.builder.engine import Engine, Job
from ccpapers.builder.limits import RetryPolicy


def run(n: int, latency: float, fixed: bool, timeout: float) -> dict[str, float]:
    fake = FakeProvider(latency=latency)
    fake.slots = 1
    fake.start()
    try:
        backend = OpenAIBackend(model="bench-model", base_url=fake.url + "/v1", timeout=600)
        if fixed:
            backend.start_concurrency = lambda: None  # type: ignore[method-assign]  # all 8 at once
        jobs = []
        for i in range(n):
            req = ChatRequest(
                "sys", f"<passage>\none slot {fixed} {i}\n</passage>", "Reply", {"type": "object"}, "x", 64
            )
            payload = backend.payload(req)
            jobs.append(
                Job(request_key("openai", "bench-model", payload, "bench", 0), backend, payload, 10, 5, 64)
            )
        with tempfile.TemporaryDirectory() as tmp:
            engine = Engine(ReplyCache(tmp), PriceTable(), concurrency=8, timeout=timeout if fixed else 0.0,
                            retry=RetryPolicy(retries=3, base=0.2, cap=2.0))  # fmt: skip
            t0 = time.perf_counter()
            engine.run(jobs)
            elapsed = time.perf_counter() - t0
        time.sleep(latency * 2)  # let the server finish what it was still computing
        return {
            "kept": engine.stats.calls,
            "per_min": engine.stats.calls / elapsed * 60,
            "computed": fake.computed,
            "wasted": fake.abandoned,
            "no_reply": sum(engine.stats.failed.values()),
            "seconds": elapsed,
        }
    finally:
        fake.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--latency", type=float, default=0.5, help="seconds the server computes one reply")
    ap.add_argument("--timeout", type=float, default=2.0, help="the baseline's fixed timeout (s)")
    args = ap.parse_args()
    rows = {
        "baseline (8 at once, fixed timeout)": run(args.requests, args.latency, True, args.timeout),
        "fitted (Pace defaults)": run(args.requests, args.latency, False, 0.0),
    }
    print(
        f"{args.requests} requests, one slot, {args.latency} s per reply, baseline timeout {args.timeout} s"
    )
    print(
        f"{'run':38s} {'kept':>5s} {'kept/min':>9s} {'computed':>9s} {'wasted':>7s} {'no reply':>9s} {'s':>7s}"
    )
    for name, r in rows.items():
        print(f"{name:38s} {r['kept']:5.0f} {r['per_min']:9.1f} {r['computed']:9.0f} {r['wasted']:7.0f} "
              f"{r['no_reply']:9.0f} {r['seconds']:7.1f}")  # fmt: skip
    base, fit = rows.values()
    print(f"fitted / baseline: kept per minute x{fit['per_min'] / max(base['per_min'], 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
