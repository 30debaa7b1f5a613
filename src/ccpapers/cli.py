"""Thin dispatch: ``ccpapers crawl | parse | build | publish | bench | demo``.

Each command lives in ``ccpapers.<stage>.command`` with ``configure(parser)`` (adds its
arguments; must import nothing heavy: ``--help`` imports every command module) and
``main(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
import typing

from ccpapers import __version__

COMMANDS: dict[str, tuple[str, str, str]] = {
    "crawl": (
        "ccpapers.crawl.command",
        "discover and fetch CC-licensed papers, keep those passing the licence policy",
        "Discover papers of the chosen journals and years (Crossref, listing pages or a DOI "
        "file), fetch them politely (robots.txt, rate limits, retries, cache), decide each "
        "paper's licence from every piece of evidence and keep those the policy allows. "
        "Re-running resumes; nothing fetched is fetched twice.",
    ),
    "parse": (
        "ccpapers.crawl.parse_command",
        "parse local nature.com HTML or JATS XML files into Paper records",
        "Turn downloaded article files (format detected) into Paper records as JSONL, "
        "for users who already have the files and want to skip the crawl.",
    ),
    "build": (
        "ccpapers.builder.command",
        "build dataset splits (text, Q&A, MCQ, rewrites, translations) from crawled papers",
        "Build the splits named by a builder spec from work/papers/: verbatim text splits, "
        "generated Q&A and multiple-choice questions, style rewrites and translations, "
        "with a cache so re-runs cost nothing. --push also publishes to the Hub.",
    ),
    "publish": (
        "ccpapers.publish.command",
        "write the Hub repo folder with its dataset card, validate it and push it",
        "Lay out a build as a Hugging Face dataset repo (licence-tier configs, Parquet "
        "shards, card, LICENSE.md), validate every config, then optionally push and tag.",
    ),
    "bench": (
        "ccpapers.bench.command",
        "run the knowledge-injection benchmark (train, ask, score) and report",
        "Train a model on the texts of a suite, ask the suite's questions before and after, "
        "and score the gain; sweeps and reports included.",
    ),
    "demo": (
        "ccpapers.demo",
        "run the whole pipeline on the bundled fictional sample (no network, no keys)",
        "Serve the bundled sample journal on 127.0.0.1, crawl it, build the offline splits, "
        "write and load back the Hub folder, and run a tiny CPU benchmark.",
    ),
}


class Parser(argparse.ArgumentParser):
    """An invalid argument gets a two-line error (what is wrong, where the help is), not the
    whole usage block."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n(see `{self.prog} --help`)\n")


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """``-v`` after a (sub)command too: ``ccpapers bench run -v`` = ``ccpapers -v bench run``."""
    parser.add_argument(
        "-v",
        "--verbose",
        dest="sub_verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="more output (-v: per-step lines and tracebacks, -vv: debug logs and every answer)",
    )


def _normalize(argv: list[str]) -> list[str]:
    """Let a command fill in its default action (``ccpapers bench epochs=2`` runs the bench)."""
    for i, tok in enumerate(argv):
        if tok in COMMANDS:
            hook = getattr(importlib.import_module(COMMANDS[tok][0]), "normalize_argv", None)
            return argv[: i + 1] + hook(argv[i + 1 :]) if hook else argv
        if not tok.startswith("-"):
            break
    return argv


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ccpapers",
        description="Build knowledge-injection datasets from Creative-Commons papers and "
        "measure how well additional training puts that knowledge into an LLM.\n\n"
        "Pipeline: crawl -> build -> publish -> bench (each stage reads the previous "
        "stage's outputs from the work directory).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ccpapers {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, short, long) in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=short, description=long)
        p.set_defaults(_module=module, _name=name)
        add_verbose(p)
        module.configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_normalize(list(sys.argv[1:] if argv is None else argv)))
    args.verbose += getattr(args, "sub_verbose", 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.command:
        parser.print_help()
        return 2
    from ccpapers.errors import CcpapersError
    from ccpapers.secrets import install_log_filter, scrub, scrubbed_output

    install_log_filter()  # every log line, from every stage, passes the secret scrubber
    with scrubbed_output():  # and so does everything printed while the command runs
        try:
            return int(args._module.main(args) or 0)
        except CcpapersError as exc:
            if args.verbose:
                traceback.print_exc()
            print(f"ccpapers {args._name}: {scrub(exc)}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print(
                f"\nccpapers {args._name}: interrupted; finished work is saved, re-run to resume.",
                file=sys.stderr,
            )
            return 130


if __name__ == "__main__":
    sys.exit(main())
