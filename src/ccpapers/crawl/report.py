"""The crawl report: counts by state, reason and error, traffic and time; printed as a table."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ccpapers.config import config_to_dict


def build_report(crawl: Any, elapsed: float) -> dict[str, Any]:
    db = crawl.db
    counts = db.counts()
    fetched = sum(counts.get(s, 0) for s in ("fetched", "parsed", "kept", "rejected"))
    fetched += db.count_where("state='failed' AND error IN ('parse_failed','parser_crash')")
    licences: Counter[str] = Counter()
    for row in db.refs(("kept",)):
        licences[json.loads(row["paper"])["license"]["hub_id"]] += 1
    journals = db.by_journal()
    windows = db.windows()
    mismatches = [  # every source that announces a count (Crossref total-results, listing facets)
        {"window": w["key"], "found": w["found"], "expected": w["expected"]}
        for w in windows
        if w["state"] == "done" and w["expected"] is not None and w["found"] != w["expected"]
    ]
    stats = crawl.client.stats
    cfg = crawl.cfg
    failure = crawl.failure()
    stopped = crawl.stopped or ""
    outcome = "failed" if failure else "stopped" if stopped.startswith(("blocked", "errors")) else "ok"
    return {
        "outcome": outcome,
        "failure": failure,
        "papers_file": str(crawl.papers_file) if crawl.papers_file else None,
        "source": cfg.source,
        "journals": list(cfg.journals) if crawl.source.uses_journals else [],
        "years": cfg.years,
        "license_policy": cfg.license_policy,
        "dry_run": cfg.dry_run,
        "discovered": db.total_refs(),
        "discovered_this_run": crawl.new_refs,
        "pending": sum(counts.get(s, 0) for s in ("discovered", "fetched", "parsed")),
        "fetched": fetched,
        "kept": counts.get("kept", 0),
        "rejected": dict(sorted(db.grouped("rejected", "reason").items())),
        "failed": dict(sorted(db.grouped("failed", "error").items())),
        "licenses": dict(sorted(licences.items())),
        "by_journal": journals,
        "windows": {
            "total": len(windows),
            "done": sum(w["state"] == "done" for w in windows),
            "failed": crawl.discovery_errors,
            "count_mismatches": mismatches,
        },
        "requests": stats.requests,
        "bytes": stats.bytes,
        "cache_hits": stats.cache_hits,
        "retries": stats.retries,
        "http_statuses": dict(stats.statuses),
        "elapsed_s": round(elapsed, 2),
        "stopped": crawl.stopped,
        "config": config_to_dict(cfg),
    }


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def print_report(report: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="ccpapers crawl report", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("discovered", str(report["discovered"]))
    table.add_row("  new this run", str(report["discovered_this_run"]))
    if report["dry_run"]:
        table.add_row("(dry run: nothing fetched)", "")
    else:
        table.add_row("fetched", str(report["fetched"]))
        table.add_row("[green]kept[/green]", f"[green]{report['kept']}[/green]")
        for lic, n in report["licenses"].items():
            table.add_row(f"  licence {lic}", str(n))
        for reason, n in report["rejected"].items():
            table.add_row(f"[yellow]rejected: {reason}[/yellow]", str(n))
        for error, n in report["failed"].items():
            table.add_row(f"[red]failed: {error}[/red]", str(n))
        if report["pending"]:
            table.add_row("pending (re-run to continue)", str(report["pending"]))
    failed_windows = Counter(msg.split(":", 1)[0] for msg in report["windows"]["failed"].values())
    for code, n in sorted(failed_windows.items()):  # one row per error, not one per window
        table.add_row(f"[red]discovery failed: {code}[/red]", f"{n} window{'s' if n > 1 else ''}")
    for m in report["windows"]["count_mismatches"]:
        table.add_row(
            f"[yellow]count differs (found/announced): {m['window']}[/yellow]",
            f"{m['found']}/{m['expected']}",
        )
    table.add_row("requests", str(report["requests"]))
    table.add_row("bytes", _human_bytes(report["bytes"]))
    table.add_row("cache hits", str(report["cache_hits"]))
    table.add_row("elapsed", f"{report['elapsed_s']:.1f} s")
    console.print(table)
    if report.get("stopped"):
        console.print(f"[bold red]stopped:[/bold red] {report['stopped']}", highlight=False)
    if report.get("failure"):
        console.print(f"[bold red]failed:[/bold red] {report['failure']}", highlight=False)
