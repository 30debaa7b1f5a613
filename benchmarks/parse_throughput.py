"""Parse throughput: ccpapers' lxml ``nature-html`` parser vs a plain BeautifulSoup extraction.

Both run in the same process on the same fixture pages (tests/fixtures/pages/*.html), one
core, measured in CPU seconds (``time.process_time``), so the figures are pages/s/core.
The baseline is the straightforward approach: BeautifulSoup with ``html.parser``, the
top-level ``section[data-title]`` of ``div.c-article-body`` (``div.article-body``
sections for the 2018-2019 template), back matter skipped by title, figures, tables,
equations and citation superscripts decomposed, ``get_text`` per paragraph. It does less
than the real parser (no metadata beyond the title, no licence evidence, no sub-section
paths), so the ratio is conservative.

Fixture pages are small (about 12 KiB); a second run uses one page inflated to a size
closer to real nature.com pages (Results and references repeated).

    python -m benchmarks.parse_throughput [--seconds 3] [--pages DIR] [--inflate 25]
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from pathlib import Path

from bs4 import BeautifulSoup

from ccpapers.crawl.parsers import ParseError
from ccpapers.crawl.parsers.nature_html import NatureHtmlParser
from ccpapers.crawl.parsers.text import is_back_matter

ROOT = Path(__file__).resolve().parents[1]
SKIP_CLASSES = (
    "c-article-section__figure",
    "c-article-table",
    "c-article-equation",
    "c-article-recommendations",
)


def bs4_extract(data: bytes) -> list[tuple[str, str]]:
    """Baseline: (title, text) per top-level body section with BeautifulSoup + html.parser."""
    soup = BeautifulSoup(data, "html.parser")
    body = soup.select_one("div.c-article-body")
    if body is not None:
        units = [(s.get("data-title", ""), s) for s in body.select("section[data-title]")]
        units = [(t, s) for t, s in units if s.find_parent("section", attrs={"data-title": True}) is None]
    else:
        body = soup.select_one("div.article-body")
        units = []
        if body is not None:
            for s in body.find_all("section"):
                h2 = s.find("h2")
                if h2 is not None and s.find_parent("section") is None:
                    units.append((h2.get_text(strip=True), s))
    out = []
    for title, sec in units:
        if is_back_matter(title):
            continue
        for el in sec.select("figure, table, script, style, " + ", ".join("." + c for c in SKIP_CLASSES)):
            el.decompose()
        for sup in sec.find_all("sup"):
            if sup.find("a", href=re.compile(r"#ref")):
                sup.decompose()
        paras = [p.get_text("", strip=False) for p in sec.find_all("p")]
        text = "\n\n".join(re.sub(r"\s+", " ", p).strip() for p in paras if p.strip())
        out.append((title, text))
    return out


def lxml_extract(data: bytes) -> list[tuple[str, str]]:
    try:
        paper = PARSER.parse(data)
    except ParseError:
        return []
    return [(s.title, s.text) for s in paper.sections]


PARSER = NatureHtmlParser()


def measure(
    fn: Callable[[bytes], list[tuple[str, str]]], pages: list[bytes], seconds: float
) -> tuple[float, int]:
    """Pages per CPU second over whole passes of ``pages`` lasting at least ``seconds``."""
    for data in pages:  # warm-up (imports, caches)
        fn(data)
    done, chars = 0, 0
    start = time.process_time()
    while True:
        for data in pages:
            chars += sum(len(t) for _, t in fn(data))
            done += 1
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return done / elapsed, chars // done


def inflate(page: bytes, copies: int) -> bytes:
    """A page closer to real nature.com sizes (300-500 KiB): Results and references repeated."""
    html = page.decode("utf-8")
    m = re.search(r'<section data-title="Results">.*?</section>', html, re.S)
    ref = re.search(r'<li class="c-article-references__item.*?</li>', html, re.S)
    if m:
        html = html.replace(m.group(0), m.group(0) * copies, 1)
    if ref:
        html = html.replace(ref.group(0), ref.group(0) * copies * 10, 1)
    return html.encode("utf-8")


def report(label: str, pages: list[bytes], seconds: float) -> None:
    size = sum(map(len, pages)) / len(pages) / 1024
    print(f"{label}: {len(pages)} page(s), mean {size:.1f} KiB, {seconds:.1f} CPU s per contender")
    ours, ours_chars = measure(lxml_extract, pages, seconds)
    base, base_chars = measure(bs4_extract, pages, seconds)
    print(f"  nature-html (lxml)        : {ours:8.1f} pages/s/core  ({ours_chars} chars of text per page)")
    print(f"  BeautifulSoup html.parser : {base:8.1f} pages/s/core  ({base_chars} chars of text per page)")
    print(f"  ratio nature-html / bs4   : {ours / base:8.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per contender (default 3)")
    ap.add_argument("--pages", type=Path, default=ROOT / "tests" / "fixtures" / "pages")
    ap.add_argument(
        "--inflate", type=int, default=25, help="copies of Results in the large page (default 25)"
    )
    args = ap.parse_args()
    files = sorted(args.pages.glob("*.html"))
    pages = [f.read_bytes() for f in files]
    if not pages:
        raise SystemExit(f"no *.html pages under {args.pages}")
    report(f"fixture pages ({args.pages})", pages, args.seconds)
    big = inflate((args.pages / "current_intro_ccby4.html").read_bytes(), args.inflate)
    report(f"inflated page (Results x{args.inflate}, references x{args.inflate * 10})", [big], args.seconds)


if __name__ == "__main__":
    main()
