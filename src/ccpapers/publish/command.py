"""``ccpapers publish``: lay a build out as a Hub dataset repo, validate it, push and tag it.

Upload rule: nothing is uploaded unless ``push`` is on. Giving ``--repo OWNER/NAME`` (flag or
``repo=`` override) turns it on unless ``--no-push`` is given; ``--dry-run`` shows what would
change on the Hub and uploads nothing.
"""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """examples:
  ccpapers publish                          # write + validate WORK/hub/local/ccpapers-demo/
  ccpapers publish --repo me/ccpapers --dry-run      # show what would change on the Hub
  ccpapers publish --repo me/ccpapers --tag v1.0.0   # push (token: HF_TOKEN or `hf auth login`)
  ccpapers publish --spec full --repo me/ccpapers --private --max-shard-mb 500
"""


def configure(parser: argparse.ArgumentParser) -> None:
    from ccpapers.config import add_config_arguments
    from ccpapers.publish.config import PublishConfig

    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_config_arguments(parser, PublishConfig)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def resolve(args: argparse.Namespace):
    """The PublishConfig of a command line, with the --repo-implies-push rule applied."""
    import dataclasses

    from ccpapers.config import resolve_config_and_keys
    from ccpapers.publish.config import PublishConfig

    cfg, given = resolve_config_and_keys(PublishConfig, args)
    if "repo" in given and cfg.repo and "push" not in given:
        cfg = dataclasses.replace(cfg, push=True)
    return cfg


def print_summary(summary: dict, console) -> None:
    console.print(f"[bold]{summary['repo_id']}[/] -> {summary['path']}")
    for name, rows in summary["configs"].items():
        mark = " (default)" if name == summary["default_config"] else ""
        console.print(f"  {name:24s} {rows:>8} rows{mark}")
    if summary["drops"]:
        console.print("  left out: " + ", ".join(f"{k} ({n})" for k, n in summary["drops"].items()))
    console.print(
        "  validated: every config loads with datasets.load_dataset" if summary["validated"] else ""
    )
    push = summary.get("push")
    if push is None:
        console.print("  not pushed (give --repo OWNER/NAME or --push to upload)")
        return
    from ccpapers.publish.hub import PushPlan

    console.print(PushPlan(**push["plan"]).describe(), markup=False, highlight=False)
    if push["dry_run"]:
        console.print("  dry run: nothing was uploaded")
    elif push.get("commit"):
        console.print(
            f"  pushed commit {push['commit'][:10]}" + (f", tagged {push['tag']}" if push.get("tag") else "")
        )
    else:
        console.print(
            "  already up to date: no commit" + (f"; tag {push['tag']} ok" if push.get("tag") else "")
        )


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ccpapers.publish import run_publish
    from ccpapers.publish.hub import PushError
    from ccpapers.publish.shards import BuildError
    from ccpapers.publish.validate import ValidationError

    cfg = resolve(args)
    console = Console(stderr=False)
    try:
        with console.status("writing and validating the repo folder..."):
            summary = run_publish(cfg)
    except (BuildError, ValidationError, PushError) as exc:
        print(f"ccpapers publish: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_summary(summary, console)
    return 0
