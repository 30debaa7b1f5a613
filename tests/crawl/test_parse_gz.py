"""``ccpapers parse`` reads the crawl cache's gzipped blobs (``WORK/raw/ab/cd/<sha256>.gz``)."""

from __future__ import annotations

from pathlib import Path

from ccpapers.cli import main
from ccpapers.crawl.fetch.cache import BlobStore
from ccpapers.io import read_jsonl
from ccpapers.types import Paper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_parse_reads_gzipped_cache_blobs(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "raw")
    html = store.path(store.put((FIXTURES / "pages" / "nc_nd_4_srep2016.html").read_bytes()))
    xml = store.path(store.put((FIXTURES / "jats" / "springer_oa_ccby.xml").read_bytes()))
    assert html.suffix == ".gz" and html.read_bytes()[:2] == b"\x1f\x8b"
    out = tmp_path / "papers.jsonl"
    assert (
        main(["parse", *sorted(str(p) for p in (tmp_path / "raw").glob("*/*/*.gz")), "--out", str(out)]) == 0
    )
    assert sorted(p.doi for p in read_jsonl(out, Paper)) == [
        "10.1038/s41524-023-90010-3",
        "10.1038/srep93004",
    ]
    assert xml.is_file()
    broken = tmp_path / "cut.gz"
    broken.write_bytes(html.read_bytes()[:40])  # a truncated download: named, not a traceback
    assert main(["parse", str(broken)]) == 1
