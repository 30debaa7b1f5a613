"""The tiny CPU bench: torch's default thread count (the code before) against one thread (now).

The tiny model's tensors (hidden 64, 2.3k vocabulary, 512-token rows) are too small for
torch's intra-op OpenMP team: each operator forks and joins it, and when the machine's cores
are busy with other work, a team member that is not scheduled stalls every operator. The
profile of the demo's bench (torch.profiler, 2 threads, busy 2-core machine) showed the same
matrix products taking 3-5x longer than with one thread; arithmetic per token is unchanged.
``ccpapers.bench.threads`` therefore runs ``--tiny`` on one thread unless ``OMP_NUM_THREADS``
is set.

This benchmark runs the demo's bench (``bench.demo_config``: fictional suite, LoRA r=16,
2 epochs, 50 questions and 20 MMLU items before and after) end to end, alternating the old
setting (torch's default threads) and the new one, each in a fresh work folder (nothing
cached), and prints the medians and the ratios old/new for the whole run, training tokens/s
and evaluation time. Timings depend on the machine and its load: the load average is printed.

    python -m benchmarks.bench_tiny_overhead [--repeat 1] [--epochs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def run_once(old: bool, epochs: int) -> dict[str, float]:
    import ccpapers.bench.threads as threads
    from ccpapers.bench import demo_config
    from ccpapers.bench.runner import run_bench

    saved = threads.tiny_cpu_threads
    if old:  # the code before: keep torch's default thread count
        threads.tiny_cpu_threads = lambda cfg: None
    try:
        with tempfile.TemporaryDirectory() as work:
            t0 = time.perf_counter()
            s = run_bench(demo_config(work, epochs=epochs))
            wall = time.perf_counter() - t0
    finally:
        threads.tiny_cpu_threads = saved
    return {
        "wall_s": wall,
        "train_tok_s": s["tokens_per_second"],
        "train_s": s["train_seconds"],
        "eval_s": s["eval_seconds"] + (s["baseline_seconds"] or 0.0),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="pairs of runs (old, new), alternated")
    ap.add_argument(
        "--epochs", type=int, default=2, help="epochs of the demo config (default: 2, as the demo)"
    )
    args = ap.parse_args()
    if os.environ.get("OMP_NUM_THREADS"):
        print("unset OMP_NUM_THREADS: it fixes the thread count for both settings", file=sys.stderr)
        return 2
    import torch

    from ccpapers.bench import progress

    progress.configure(bars=False, enabled=False)
    default_threads = torch.get_num_threads()
    print(
        f"cpu cores {os.cpu_count()}, torch default threads {default_threads}, "
        f"load average before {os.getloadavg()[0]:.1f}"
    )
    results: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for i in range(args.repeat):
        for name in ("old", "new") if i % 2 == 0 else ("new", "old"):
            r = run_once(name == "old", args.epochs)
            results[name].append(r)
            print(
                f"  {name}: run {r['wall_s']:.1f} s, train {r['train_tok_s']:,.0f} tok/s ({r['train_s']:.1f} s), "
                f"eval {r['eval_s']:.1f} s (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in results.items()}
    print(f"\nmedians over {args.repeat} run(s) each, demo config, epochs={args.epochs}:")
    print(f"{'':10}{'old (' + str(default_threads) + ' threads)':>20}{'new (1 thread)':>18}{'old/new':>10}")
    for m, label in (("wall_s", "run s"), ("train_tok_s", "train tok/s"), ("eval_s", "eval s")):
        o, n = med["old"][m], med["new"][m]
        ratio = (n / o) if m == "train_tok_s" else (o / n)
        print(f"{label:10}{o:>20,.1f}{n:>18,.1f}{ratio:>9.2f}x")
    print("(ratios > 1: the new setting is faster; for tok/s the ratio is new/old)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
