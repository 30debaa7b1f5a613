"""``ccpapers crawl``: the command-line face of :func:`ccpapers.crawl.run_crawl`."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  ccpapers crawl --journals ncomms,srep --years 2010-2023 --mailto you@example.org
  ccpapers crawl --source listing --journals commsmat --years 2023 --max-papers 50
  ccpapers crawl --source dois --dois-file my_dois.txt --license-policy by --jsonl
  ccpapers crawl --dry-run            # discover and count only

Re-running the same command resumes: cached pages are not fetched again and finished
papers are kept. Outputs: WORK/papers/papers.parquet, report.json, config.resolved.yaml;
raw pages and the journal (SQLite) under WORK/raw/."""


def configure(parser: argparse.ArgumentParser) -> None:
    from ccpapers.config import add_config_arguments
    from ccpapers.crawl.config import CrawlConfig

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    add_config_arguments(parser, CrawlConfig)


def main(args: argparse.Namespace) -> int:
    from ccpapers.config import resolve_config
    from ccpapers.crawl.config import CrawlConfig
    from ccpapers.crawl.pipeline import run_crawl
    from ccpapers.crawl.report import print_report

    cfg = resolve_config(CrawlConfig, args)
    if not cfg.mailto and not cfg.user_agent:
        import sys

        print(
            "ccpapers crawl: tip: pass --mailto you@example.org so the sites you crawl can reach you "
            "(and Crossref serves you from its polite pool).",
            file=sys.stderr,
        )
    report = run_crawl(cfg)
    print_report(report)
    where = f"report: {cfg.work}/papers/report.json"
    if report["papers_file"]:
        print(f"papers: {report['papers_file']}   {where}")
    elif cfg.dry_run:
        print(f"dry run: no papers file written   {where}")
    else:
        print(f"no paper kept, so no papers file was written   {where}")
    return 0 if report["outcome"] == "ok" else 1
