"""``ccpapers parse FILE... [--out PATH] [--format auto|nature-html|jats] [--keep-math]``.

Parses local nature.com article pages or JATS XML files into Paper records (JSONL, one
line per file) on stdout or into ``--out``. A file that is not HTML/JATS, or that has no
article body, is reported on stderr with its name; the others are still written and the
exit status is 1. Nothing heavy is imported at module level (``ccpapers --help``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

FORMATS = ("auto", "nature-html", "jats")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        "  ccpapers parse page.html                       # one Paper as JSON on stdout\n"
        "  ccpapers parse downloads/*.html downloads/*.xml --out papers.jsonl\n"
        "  ccpapers parse ccpapers-work/raw/*/*/*.gz --out papers.jsonl   # the crawl's cache (gzip)\n"
        "  ccpapers build --papers papers.jsonl ...       # build from parsed files\n\n"
        "Each Paper carries its licence decision (Hub id, evidence, verbatim statement),\n"
        "sections (kind, title path, text) and the parser name and version. Paywalled\n"
        "previews are written with paywalled=true; pages without an article body fail."
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", type=Path, help="HTML or JATS XML files, plain or gzipped"
    )
    parser.add_argument(
        "--out", type=Path, metavar="PATH", help="write JSONL here (atomically) instead of stdout"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="input format: nature-html (article page) or jats (JATS XML, or a Springer Nature OA API "
        "response); auto detects it from the first bytes of each file (default: auto)",
    )
    parser.add_argument(
        "--keep-math",
        action="store_true",
        help="keep display equations as $$TeX$$ and inline math as $TeX$ "
        "(default: display equations dropped, inline math as plain text)",
    )
    parser.add_argument(
        "--url",
        metavar="URL",
        help="source URL to record in the Paper (only with a single FILE)",
    )


def parse_files(
    files: list[Path], fmt: str = "auto", keep_math: bool = False, url: str | None = None
) -> tuple[list[Any], list[str]]:
    """Parse each file; returns (papers, error messages naming the failed files)."""
    from ccpapers.crawl.parsers import ParseError, parse_bytes

    papers, errors = [], []
    for path in files:
        try:
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":  # gzipped, e.g. WORK/raw/ab/cd/<sha256>.gz of the crawl cache
                data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            errors.append(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})")
            continue
        try:
            papers.append(parse_bytes(data, url, format=fmt, keep_math=keep_math))
        except ParseError as exc:
            errors.append(f"{path}: {exc.reason}")
        except ValueError as exc:  # e.g. a --format the file is not in
            errors.append(f"{path}: cannot be parsed as {fmt} ({exc})")
    return papers, errors


def main(args: argparse.Namespace) -> int:
    from ccpapers.io import write_jsonl

    if args.url and len(args.files) > 1:
        print("ccpapers parse: --url applies to one FILE; pass one file with it", file=sys.stderr)
        return 2
    papers, errors = parse_files(args.files, args.format, args.keep_math, args.url)
    for message in errors:
        print(f"ccpapers parse: {message}", file=sys.stderr)
    if args.out:
        n = write_jsonl(args.out, papers)
        print(f"ccpapers parse: wrote {n} paper(s) to {args.out}", file=sys.stderr)
    else:
        for paper in papers:
            sys.stdout.write(json.dumps(paper.to_dict(), ensure_ascii=False) + "\n")
    if errors:
        print(
            f"ccpapers parse: {len(errors)} of {len(args.files)} file(s) failed; "
            "pass nature.com article pages (HTML) or JATS XML",
            file=sys.stderr,
        )
        return 1
    return 0
