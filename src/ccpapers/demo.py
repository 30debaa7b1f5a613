"""``ccpapers demo``: the whole pipeline on the bundled fictional sample, offline.

1. serve the sample journal (12 invented articles of the 2030s) on 127.0.0.1;
2. crawl it politely with the real crawler (licence policy ``all``);
3. build the offline splits (``builders/demo.yaml``: text splits, cloze Q&A, MCQ);
4. write the Hub repo folder with its card and load every config back;
5. run a ``--tiny`` knowledge-injection benchmark on the fictional suite and print
   the report (a tiny random model: the numbers only show the machinery works).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccpapers.config import CommonConfig, add_config_arguments, opt, resolve_config, write_resolved_config
from ccpapers.io import ensure_dir


@dataclass
class DemoConfig(CommonConfig):
    rate: float = opt(20.0, "requests per second against the local sample site (it is ours)")
    bench: bool = opt(True, "finish with a tiny CPU benchmark on the fictional suite")
    repo: str = opt("local/ccpapers-demo", "repo id used for the demo's Hub folder (nothing is pushed)")


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, DemoConfig)


def _step(title: str) -> float:
    print(f"\n=== {title} ===", flush=True)
    return time.perf_counter()


def run_demo(cfg: DemoConfig) -> dict[str, Any]:
    from rich.console import Console

    from ccpapers.builder import run_build
    from ccpapers.builder.command import print_summary as print_build_summary
    from ccpapers.builder.config import BuildConfig
    from ccpapers.crawl import run_crawl
    from ccpapers.crawl.config import CrawlConfig
    from ccpapers.crawl.report import print_report
    from ccpapers.publish import run_publish
    from ccpapers.publish.command import print_summary as print_publish_summary
    from ccpapers.publish.config import PublishConfig
    from ccpapers.sample.site import serve_sample

    work = ensure_dir(cfg.work)
    write_resolved_config(cfg, work)
    summary: dict[str, Any] = {}

    t = _step("1/4 crawl the bundled sample journal (local server, no network)")
    with serve_sample() as site:
        crawl_cfg = CrawlConfig(
            work=work,
            journals=["jemergmat"],
            years="2030-2034",
            site=site,
            crossref_api=f"{site}/crossref",
            mailto="demo@example.org",
            rate=cfg.rate,
        )
        summary["crawl"] = run_crawl(crawl_cfg)
    print_report(summary["crawl"])
    print(f"crawl finished in {time.perf_counter() - t:.1f} s")

    t = _step("2/4 build the offline splits (builders/demo.yaml)")
    summary["build"] = run_build(BuildConfig(work=work, spec="demo"))
    print_build_summary(summary["build"])
    print(f"build finished in {time.perf_counter() - t:.1f} s")

    t = _step("3/4 write the Hub repo folder and load every config back")
    summary["publish"] = run_publish(PublishConfig(work=work, spec="demo", repo=cfg.repo))
    print_publish_summary(summary["publish"], Console())
    print(f"publish folder written in {time.perf_counter() - t:.1f} s")

    if cfg.bench:
        from ccpapers.bench import demo_config, run_bench, write_report

        t = _step("4/4 tiny knowledge-injection benchmark (random tiny model: numbers mean nothing)")
        summary["bench"] = run_bench(demo_config(work))
        report = write_report(work / "bench", work / "bench" / "report")
        summary["report"] = report
        md = Path(report["markdown"]) if isinstance(report, dict) and "markdown" in report else None
        if md and md.exists():
            print(md.read_text(encoding="utf-8"))
        print(f"bench finished in {time.perf_counter() - t:.1f} s")
    print(f"\nAll outputs are under {work.resolve()}")
    return summary


def main(args: argparse.Namespace) -> int:
    run_demo(resolve_config(DemoConfig, args))
    return 0
