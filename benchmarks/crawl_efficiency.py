"""Crawl benchmarks (ratios, not timed tests). Run: python -m benchmarks.crawl_efficiency

1. Efficiency: fetch N article pages from the local sample site with injected 50-200 ms
   latency and a server-enforced 5 req/s limit (429 beyond it). Reports the achieved
   request rate / allowed rate for the PoliteClient (pacing on request start times) and
   for a naive baseline that sleeps 1/rate after each response. Aim: >= 0.95, no 429.
2. Memory: peak Python memory (tracemalloc) of a dry-run Crossref discovery of 50,000
   references against one of 10,000 (a synthetic Crossref server in another process).
   Aim: flat memory, ratio close to 1.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from ccpapers.crawl.fetch.client import LaneSpec, PoliteClient
from ccpapers.sample import load_sample
from ccpapers.sample.site import SampleSite


def clone_articles(n: int) -> dict[str, Any]:
    data = load_sample()
    base = [a for a in data["articles"] if a["variant"] not in ("broken", "paywalled")]
    articles = []
    for i in range(n):
        a = dict(base[i % len(base)])
        a["id"] = f"s49013-03{i % 5}-{i:05d}-b"
        articles.append(a)
    return {"journal": data["journal"], "articles": articles}


def efficiency(n: int, rate: float) -> dict[str, float]:
    data = clone_articles(n)
    urls_of = lambda site: [f"{site.url}/articles/{a['id']}" for a in data["articles"]]  # noqa: E731
    out: dict[str, float] = {}
    for name in ("polite", "naive"):
        with SampleSite(data, latency=(0.05, 0.2), rate_limit=rate, seed=1) as site:
            urls = urls_of(site)
            if name == "polite":
                with PoliteClient(lanes={"site": LaneSpec(site.url, rate)}, timeout=5, backoff=0.2) as client:
                    client.get(site.url + "/robots.txt", use_cache=False)
                    for u in urls:
                        client.get(u)
            else:
                import httpx2

                with httpx2.Client() as http:
                    for u in urls:
                        http.get(u)
                        time.sleep(1 / rate)
            starts = [e["t"] for e in site.log if e["path"].startswith("/articles/")]
            too_many = sum(e["status"] == 429 for e in site.log)
        achieved = (len(starts) - 1) / (starts[-1] - starts[0])
        out[f"{name}_ratio"] = achieved / rate
        out[f"{name}_429"] = too_many
    return out


class _SyntheticCrossref(SampleSite):
    """Crossref works generated on the fly (nothing stored) for the memory benchmark."""

    def __init__(self, total: int, port: int) -> None:
        super().__init__(load_sample(), port=port)
        self.total = total

    def _crossref(self, q: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
        import json

        from ccpapers.sample.site import _cursor, _offset

        rows = min(int(q.get("rows", "20")), 1000)
        offset = _offset(q.get("cursor", "*"))
        items = []
        for i in range(offset, min(offset + rows, self.total)):
            items.append(
                {
                    "DOI": f"10.5555/s49013-031-{i:06d}-x",
                    "type": "journal-article",
                    "title": [f"Synthetic work number {i} about emergent materials"],
                    "issued": {"date-parts": [[2031, 1 + i % 12, 1 + i % 28]]},
                    "license": [
                        {
                            "URL": "http://creativecommons.org/licenses/by/4.0/",
                            "content-version": "vor",
                            "start": {"date-parts": [[2031, 1, 1]]},
                        }
                    ],
                    "ISSN": ["2999-0013"],
                }
            )
        message = {"total-results": self.total, "items": items, "next-cursor": _cursor(offset + rows)}
        body = json.dumps({"status": "ok", "message": message}).encode()
        return 200, "application/json", body, {"X-Rate-Limit-Limit": "50", "X-Rate-Limit-Interval": "1s"}


def _serve(total: int, port_q: Any) -> None:
    site = _SyntheticCrossref(total, 0)
    site.start()
    port_q.put(site.url)
    while True:
        time.sleep(3600)


def discovery_peak(total: int) -> tuple[float, int, float]:
    from ccpapers.crawl import run_crawl
    from ccpapers.crawl.config import CrawlConfig

    q: Any = mp.Queue()
    proc = mp.Process(target=_serve, args=(total, q), daemon=True)
    proc.start()
    url = q.get(timeout=30)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = CrawlConfig(
                work=Path(tmp),
                journals=["jemergmat"],
                years="2031",
                site=url,
                crossref_api=url + "/crossref",
                dry_run=True,
                progress=False,
                rows=1000,
            )
            tracemalloc.start()
            t = time.perf_counter()
            report = run_crawl(cfg)
            elapsed = time.perf_counter() - t
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    finally:
        proc.terminate()
    return peak / 2**20, report["discovered"], elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=40, help="article pages fetched per client")
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--refs", type=int, default=50_000)
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()

    eff = efficiency(args.pages, args.rate)
    print(f"efficiency ({args.pages} pages, latency 50-200 ms, limit {args.rate:g} req/s):")
    print(f"  PoliteClient achieved/allowed = {eff['polite_ratio']:.3f}  (429s: {eff['polite_429']:.0f})")
    print(f"  naive sleep-after-response    = {eff['naive_ratio']:.3f}  (429s: {eff['naive_429']:.0f})")
    if not args.skip_memory:
        discovery_peak(100)  # warm-up: first-use imports are not the crawl's memory
        small, n_small, t_small = discovery_peak(args.refs // 5)
        big, n_big, t_big = discovery_peak(args.refs)
        print("memory (dry-run Crossref discovery, tracemalloc peak):")
        print(f"  {n_small:>6} refs: {small:6.1f} MiB in {t_small:5.1f} s")
        print(f"  {n_big:>6} refs: {big:6.1f} MiB in {t_big:5.1f} s")
        print(f"  peak ratio {n_big}/{n_small} refs = {big / small:.2f}  (flat memory: close to 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
