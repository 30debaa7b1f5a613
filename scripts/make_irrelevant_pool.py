#!/usr/bin/env python3
"""Build ``train/irrelevant/nature-cc-by.jsonl``: real, CC BY article paragraphs that share no
facts with the fictional suite, the filler of the "irrelevant texts" experiment.

The bundled sample journal cannot serve: ten of its twelve articles describe the fictional
suite's ten discoveries (47 of its 129 paragraphs name a suite keyword), so its "irrelevant"
paragraphs teach the answers. This script parses saved nature.com pages with ccpapers' own
parser, keeps pages whose licence the parser reads as CC BY (any version), and writes one JSON
line per body paragraph (abstract, introduction, results, discussion, methods; > 200
characters) with DOI, title, licence and where the page was saved.

    python scripts/make_irrelevant_pool.py PAGE.html[=SOURCE] ... --out train/irrelevant/nature-cc-by.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KINDS = ("abstract", "introduction", "results", "discussion", "methods")


def paragraphs(page: Path, source: str) -> list[dict]:
    from ccpapers.crawl.parsers.nature_html import NatureHtmlParser

    paper = NatureHtmlParser().parse(page.read_bytes())
    lic = paper.license.hub_id if paper.license else "unknown"
    if not lic.startswith("cc-by-") or any(x in lic for x in ("-nc", "-nd")):
        print(f"skip {page.name}: licence {lic}", file=sys.stderr)
        return []
    out = []
    for sec in paper.sections:
        if sec.kind not in KINDS:
            continue
        for para in sec.text.split("\n\n"):
            if len(para) > 200:
                out.append(
                    {"text": para, "doi": paper.doi, "title": paper.title, "license": lic, "source": source}
                )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("pages", nargs="+", help="saved nature.com HTML, optionally PATH=SOURCE (attribution)")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    rows = []
    for spec in a.pages:
        path, _, source = spec.partition("=")
        rows.extend(paragraphs(Path(path), source or Path(path).name))
    Path(a.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} paragraphs from {len({r['doi'] for r in rows})} articles -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
