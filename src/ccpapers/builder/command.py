"""``ccpapers build``: CLI wrapper around :func:`ccpapers.builder.run_build`."""

from __future__ import annotations

import argparse
import sys

from ccpapers.builder.config import BuildConfig
from ccpapers.config import add_config_arguments, resolve_config
from ccpapers.errors import CcpapersError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Keys come only from the environment: ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENAI_BASE_URL "
        "(any OpenAI-compatible server), DEEPL_AUTH_KEY. With none set and no --backend the build "
        "runs offline (text splits and cloze Q&A/MCQ), lists the splits it cannot make and exits "
        "with status 3 (incomplete build); a build stopped by --max-cost exits with status 3 too, "
        "and --push publishes only a complete build. "
        "Replies are cached under WORK/cache/llm: a re-run makes no calls, an interrupted run resumes."
    )
    add_config_arguments(parser, BuildConfig)


INCOMPLETE_EXIT = 3  # the build ran, but splits the spec asks for are missing


class EmptySplits(CcpapersError):
    """Generated splits the spec asks for came out empty: the build is incomplete."""

    exit_code = INCOMPLETE_EXIT


def print_summary(report: dict) -> None:
    """A table of rows and drops per split (missing and substituted splits loudly), then calls,
    cache hits and cost."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ccpapers build report: spec {report['spec']} (backend {report['backend']})")
    table.add_column("split")
    table.add_column("rows", justify="right")
    table.add_column("dropped (reason: count)")
    drops = report.get("drops", {})
    cannot = report.get("cannot_make", {})
    substituted = report.get("substituted", {})
    for split in sorted(set(report["splits"]) | set(drops) | set(cannot)):
        why = ", ".join(f"{k}: {n}" for k, n in sorted(drops.get(split, {}).items()))
        if split in cannot:
            table.add_row(f"[bold red]{split}[/]", "[bold red]NOT BUILT[/]", f"[red]{cannot[split]}[/]")
            continue
        if split in substituted:
            why = f"[yellow]{substituted[split]}[/]" + (f"; {why}" if why else "")
        table.add_row(split, str(report["splits"].get(split, 0)), why)
    console = Console()
    console.print(table)
    for split, info in sorted((report.get("judge") or {}).items()):
        if "skipped" in info:
            console.print(f"[yellow]judge for {split} not run: {info['skipped']}[/]")
            continue
        means = "/".join(str(v) for v in info["mean_kept"].values()) or "-"
        console.print(
            f"judge ({split}, {info['backend']}/{info['model']}): {info['judged']} pairs scored, "
            f"{info['unscored']} unscored kept; mean RACAR of the kept pairs {means}; minimum {info['min_score']}"
        )
    total = (report.get("budget") or {}).get("spent_total_usd")
    build_total = f" (this build across runs: ${total:.4f})" if total else ""
    console.print(
        f"calls {report['calls']}, cache hits {report['cache_hits']}, cost ${report['cost_usd']:.4f}{build_total}; "
        f"target/irrelevant papers {report.get('groups')}"
    )
    for line in server_lines(report):
        console.print(line, markup=False)


def server_lines(report: dict) -> list[str]:
    """How each model server was driven: structured-output mode (and why it changed), pacing."""
    lines = []
    modes = {g.get("structured_output") for g in report.get("generators", {}).values()} - {None}
    changes = sorted(
        {c for g in report.get("generators", {}).values() for c in g.get("structured_output_changes") or []}
    )
    if modes:
        lines.append(f"structured output: {', '.join(sorted(modes))}" + "".join(f"; {c}" for c in changes))
    for name, pace in (report.get("engine", {}).get("pacing") or {}).items():
        lines.append(
            f"{name}: {pace['concurrency']} request(s) in flight (peak {pace['peak_concurrency']}), "
            f"{pace['timeouts']} timeout(s), {pace['seconds_per_token']} s/token at worst"
        )
    return lines


def main(args: argparse.Namespace) -> int:
    from ccpapers.builder import run_build
    from ccpapers.builder.limits import Fatal
    from ccpapers.builder.pipeline import incomplete

    cfg = resolve_config(BuildConfig, args)
    if cfg.push:  # refuse a push with nowhere to go before building, not after
        from ccpapers.publish.pipeline import push_config

        push_config(cfg, cfg.spec)
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
        if report.get("assumed_keys"):
            print(
                f"  no key set: priced as if {' and '.join(report['assumed_keys'])} were set, "
                "with the spec's models (nothing was called)"
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
        budget = report.get("budget") or {}
        if budget.get("spent_usd"):
            print(f"  this build has already spent ${budget['spent_usd']:.4f} (see WORK/spend.jsonl)")
        if report["unpriced_models"]:
            print(f"  no price known for {', '.join(report['unpriced_models'])} (priced at $0; see --prices)")
    else:
        print_summary(report)
        stopped = report["engine"].get("stopped")
        if stopped:
            print(
                f"stopped early: {stopped}. --max-cost covers the whole build across runs: raise it, or "
                "pass --reset-budget to start a new budget; finished replies are cached.",
                file=sys.stderr,
            )
    skipped = (report.get("push") or {}).get("skipped")
    if skipped:
        print(f"ccpapers build: not pushed, the build is incomplete: {skipped}", file=sys.stderr)
    cannot = report.get("cannot_make", {})
    for split, why in cannot.items():
        print(f"not built: {split}: {why}", file=sys.stderr)
    empty = report.get("empty_splits") or {}
    if empty:  # a split that asked the model and got nothing usable: an error, with its causes
        lines = "\n".join(f"  {split}: {why}" for split, why in empty.items())
        raise EmptySplits(
            f"{len(empty)} generated split(s) came out empty:\n{lines}\n"
            "Finished replies are cached; fix the cause and re-run to resume (report.json has examples)."
        )
    if report.get("estimate"):
        return 0
    if cannot:
        print(
            f"ccpapers build: build incomplete: {len(cannot)} of the spec's splits were not built "
            f"({', '.join(cannot)}); the other splits are written. Set the missing key(s) and re-run "
            "(cached replies are reused).",
            file=sys.stderr,
        )
    # a missing split or a --max-cost stop: the same test that keeps such a build off the Hub
    return INCOMPLETE_EXIT if incomplete(report) else 0
