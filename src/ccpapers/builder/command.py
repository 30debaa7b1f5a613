"""``ccpapers build``: CLI wrapper around :func:`ccpapers.builder.run_build`."""

from __future__ import annotations

import argparse
import sys

from ccpapers.builder.config import BuildConfig
from ccpapers.config import add_config_arguments, resolve_config


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Keys come only from the environment: ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENAI_BASE_URL "
        "(any OpenAI-compatible server), DEEPL_AUTH_KEY. With none set and no --backend the build "
        "runs offline (text splits and cloze Q&A/MCQ) and lists the splits it cannot make. "
        "Replies are cached under WORK/cache/llm: a re-run makes no calls, an interrupted run resumes."
    )
    add_config_arguments(parser, BuildConfig)


def print_summary(report: dict) -> None:
    """A table of rows and drops per split, then calls, cache hits and cost."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ccpapers build report: spec {report['spec']} (backend {report['backend']})")
    table.add_column("split")
    table.add_column("rows", justify="right")
    table.add_column("dropped (reason: count)")
    drops = report.get("drops", {})
    for split in sorted(set(report["splits"]) | set(drops)):
        why = ", ".join(f"{k}: {n}" for k, n in sorted(drops.get(split, {}).items()))
        table.add_row(split, str(report["splits"].get(split, 0)), why)
    console = Console()
    console.print(table)
    console.print(
        f"calls {report['calls']}, cache hits {report['cache_hits']}, cost ${report['cost_usd']:.4f}; "
        f"target/irrelevant papers {report.get('groups')}"
    )


def main(args: argparse.Namespace) -> int:
    from ccpapers.builder import run_build
    from ccpapers.builder.limits import Fatal

    cfg = resolve_config(BuildConfig, args)
    try:
        report = run_build(cfg)
    except Fatal as exc:
        print(f"ccpapers build: stopped: {exc}", file=sys.stderr)
        print("Finished requests are cached; fix the problem and re-run to resume.", file=sys.stderr)
        return 1
    if report.get("estimate"):
        total = report["total"]
        print(
            f"estimate for spec {report['spec']} (backend {report['backend']}); {report['cached']} requests cached"
        )
        for split, row in report["by_split"].items():
            print(
                f"  {split:12s} calls={int(row['calls']):6d} in≈{int(row['input_tokens']):9d} tok "
                f"out≈{int(row['output_tokens']):8d} tok chars={int(row['characters']):8d} ≈${row['cost_usd']:.4f}"
            )
        print(
            f"  total        calls={int(total['calls'])} cost≈${total['cost_usd']:.4f} "
            f"(upper bound ${report['max_cost_bound_usd']:.4f})"
        )
        if report["unpriced_models"]:
            print(f"  no price known for {', '.join(report['unpriced_models'])} (priced at $0; see --prices)")
    else:
        print_summary(report)
        stopped = report["engine"].get("stopped")
        if stopped:
            print(f"stopped early: {stopped}; re-run with a higher --max-cost to continue", file=sys.stderr)
    for split, why in report.get("cannot_make", {}).items():
        print(f"not built: {split}: {why}", file=sys.stderr)
    return 0
