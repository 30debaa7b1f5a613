"""Memory of fetching hostile bodies, with and without the fetch layer's caps (ratios).

Run: python -m benchmarks.crawl_limits [--bomb-mib 256] [--huge-mib 300]

Serves, from the local sample site, a gzip bomb (``--bomb-mib`` MiB of zeros, ~1/1000 of
that on the wire) and a huge page (``--huge-mib`` MiB), and fetches each in a fresh
process, reporting its peak resident memory (``ru_maxrss``):
- baseline: a plain ``httpx2.Client().get(url).content`` (what the crawler did before
  bodies were streamed with caps: the whole body, inflated, in memory);
- PoliteClient with its default cap (32 MiB) and with a 64 KiB cap.
Aim: the capped client's peak stays near the interpreter's own size, whatever the body.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

CHILD = r"""
import json, resource, sys
kind, url, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
import httpx2
from ccpapers.crawl.fetch.client import PoliteClient
from ccpapers.crawl.fetch.errors import FetchError
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcome = "ok"
if kind == "baseline":
    with httpx2.Client(timeout=120, headers={"Accept-Encoding": "gzip"}) as c:
        n = len(c.get(url).content)
else:
    with PoliteClient(mailto="bench@example.org", max_bytes=cap, timeout=120) as c:
        try:
            n = len(c.get(url).content)
        except FetchError as exc:
            n, outcome = 0, exc.code
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_kib": base, "peak_kib": peak, "bytes": n, "outcome": outcome}))
"""


def measure(kind: str, url: str, cap: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, url, str(cap)], capture_output=True, text=True, timeout=600
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout)


def main() -> None:
    from ccpapers.crawl.fetch.body import human_bytes
    from ccpapers.sample.site import Fault, SampleSite

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bomb-mib", type=int, default=256)
    ap.add_argument("--huge-mib", type=int, default=300)
    args = ap.parse_args()
    cases = {
        "gzip bomb": Fault("gzip_bomb", size=args.bomb_mib << 20),
        "huge page": Fault("huge", size=args.huge_mib << 20),
    }
    print(f"{'body':<10} {'client':<25} {'peak RSS':>10} {'vs baseline':>12}  outcome")
    with SampleSite() as site:
        for name, fault in cases.items():
            rows = []
            for kind, cap in (("baseline", 0), ("polite", 32 << 20), ("polite", 64 << 10)):
                site.add_fault("/articles/bench", fault)
                r = measure(kind, site.url + "/articles/bench", cap)
                label = "httpx2 .content" if kind == "baseline" else f"PoliteClient, {human_bytes(cap)} cap"
                rows.append((label, r))
            base_peak = rows[0][1]["peak_kib"]
            for label, r in rows:
                ratio = r["peak_kib"] / base_peak
                what = r["outcome"] if r["outcome"] != "ok" else f"{r['bytes'] >> 20} MiB read"
                print(f"{name:<10} {label:<25} {r['peak_kib'] / 1024:>7.0f} MiB {ratio:>11.3f}x  {what}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"(this process, serving: {own / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
