"""Generation throughput against a local fake provider: achieved rate / allowed rate.

The fake OpenAI-compatible server (tests/builder/fake_provider.py) answers each request
after 500 ms and enforces 600 requests/min (10/s, burst 10) with 429 + Retry-After.
The build engine runs with its client-side limiter at the same 600 rpm, for
concurrency 1, 8 and 32, plus one run at concurrency 32 without the client limiter
(the server's 429s and Retry-After do the limiting). Ratios are computed in one run:
achieved requests/min divided by the allowed 600/min; the "ceiling" column is what
latency and concurrency allow at best (min(c / 0.5 s, 10/s) / 10/s).

    python -m benchmarks.generation_throughput [--requests 150]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from tests.builder.fake_provider import FakeProvider

from ccpapers.builder.backends.base import ChatRequest
from ccpapers.builder.backends.openai_backend import OpenAIBackend
from ccpapers.builder.cache import ReplyCache, request_key
from ccpapers.builder.cost import PriceTable
from ccpapers.builder.engine import Engine, Job

LATENCY = 0.5
ALLOWED_RPM = 600.0


def run_once(url: str, concurrency: int, n: int, client_rpm: float, tag: str) -> tuple[float, int, int]:
    backend = OpenAIBackend(model="bench-model", base_url=url + "/v1", timeout=30)
    backend.start_concurrency = lambda: None  # type: ignore[method-assign]  # fixed concurrency: this measures the limiter
    jobs = []
    for i in range(n):
        req = ChatRequest(
            "sys", f"<passage>\nbench {tag} {i}\n</passage>", "Reply {}", {"type": "object"}, "x", 16
        )
        payload = backend.payload(req)
        jobs.append(
            Job(request_key("openai", "bench-model", payload, "bench", 0), backend, payload, 10, 5, 16)
        )
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(ReplyCache(tmp), PriceTable(), concurrency=concurrency, rpm=client_rpm)
        t0 = time.perf_counter()
        engine.run(jobs)
        elapsed = time.perf_counter() - t0
    return elapsed, engine.stats.calls, engine.stats.rate_limited


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=150, help="requests per run at concurrency >= 8")
    args = parser.parse_args()
    os.environ.pop("OPENAI_API_KEY", None)
    fake = FakeProvider(latency=LATENCY, rpm_limit=ALLOWED_RPM, burst=10)
    url = fake.start()
    rows = []
    plan = [(1, 20, ALLOWED_RPM), (8, args.requests, ALLOWED_RPM), (32, args.requests, ALLOWED_RPM),
            (32, args.requests, 0.0)]  # fmt: skip
    for concurrency, n, client_rpm in plan:
        time.sleep(1.1)  # let the server's bucket refill between runs
        elapsed, calls, limited = run_once(url, concurrency, n, client_rpm, f"c{concurrency}-{client_rpm}")
        achieved = calls / elapsed * 60
        ceiling = min(concurrency / LATENCY, ALLOWED_RPM / 60) / (ALLOWED_RPM / 60)
        rows.append(
            (concurrency, client_rpm, calls, elapsed, achieved, achieved / ALLOWED_RPM, ceiling, limited)
        )
    fake.stop()
    print(
        f"fake provider: {LATENCY * 1000:.0f} ms latency, {ALLOWED_RPM:.0f} requests/min allowed (429 + Retry-After)"
    )
    print(f"{'conc':>4} {'client rpm':>10} {'calls':>5} {'secs':>6} {'req/min':>8} {'achieved/allowed':>16} "
          f"{'ceiling':>7} {'429s':>5}")  # fmt: skip
    for c, rpm, calls, secs, achieved, ratio, ceiling, limited in rows:
        rpm_s = f"{rpm:.0f}" if rpm else "off"
        print(
            f"{c:>4} {rpm_s:>10} {calls:>5} {secs:>6.1f} {achieved:>8.1f} {ratio:>16.2f} {ceiling:>7.2f} {limited:>5}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
