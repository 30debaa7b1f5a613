"""Verbatim text splits from papers: introduction (chunked), abstract, conclusion.

Pure functions: ``Paper -> [Record]``. Papers are put in the ``target`` or
``irrelevant`` group by a stable hash of the DOI, so the same paper lands in the
same group on every machine and every run.
"""

from __future__ import annotations

import hashlib
import re

from ccpapers.types import TEXT_SPLITS, Paper, Record

DISCUSSION_TAIL_FLAG = "conclusion-from-discussion"
_WORD = re.compile(r"\S+")


def group_of(doi: str, target_fraction: float) -> str:
    """``target`` for a stable ``target_fraction`` share of DOIs, else ``irrelevant``."""
    digest = hashlib.sha256(doi.strip().lower().encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") / 2**64
    return "target" if bucket < target_fraction else "irrelevant"


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def chunk_paragraphs(text: str, max_words: int) -> list[str]:
    """Pack whole paragraphs into chunks of at most ``max_words`` words.

    A single paragraph longer than the limit is cut at sentence boundaries (and, as
    a last resort, at the word limit) so that no chunk ever exceeds ``max_words``.
    """
    pieces: list[str] = []
    for para in paragraphs(text):
        if word_count(para) <= max_words:
            pieces.append(para)
            continue
        sentences = re.split(r"(?<=[.!?])\s+", para)
        for sent in sentences:
            words = sent.split()
            for i in range(0, len(words), max_words):
                pieces.append(" ".join(words[i : i + max_words]))
    chunks: list[str] = []
    current: list[str] = []
    count = 0
    for piece in pieces:
        n = word_count(piece)
        if current and count + n > max_words:
            chunks.append("\n\n".join(current))
            current, count = [], 0
        current.append(piece)
        count += n
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def _base(paper: Paper, split: str, idx: int, text: str, group: str) -> Record:
    return Record(
        id=f"{paper.doi}#{split}-{idx}",
        split=split,
        doi=paper.doi,
        license=paper.license.hub_id,
        license_url=paper.license.url,
        section=split,
        text=text,
        title=paper.title,
        journal=paper.journal,
        year=paper.year,
        group=group,
        source_id=paper.doi,
        generator="text-splits",
        generator_version="1",
        backend="none",
    )


def conclusion_text(paper: Paper, tail_paragraphs: int = 2) -> tuple[str, list[str]]:
    """The conclusion section, else the closing paragraph(s) of the discussion (flagged)."""
    text = paper.text_of("conclusion").strip()
    if text:
        return text, []
    discussion = paragraphs(paper.text_of("discussion"))
    if discussion:
        return "\n\n".join(discussion[-tail_paragraphs:]), [DISCUSSION_TAIL_FLAG]
    return "", []


def text_records(
    paper: Paper,
    target_fraction: float,
    max_words: int = 2000,
    splits: tuple[str, ...] = TEXT_SPLITS,
    drops: dict[str, dict[str, int]] | None = None,
) -> list[Record]:
    """Records of the verbatim text splits for one paper; missing sections are counted in ``drops``."""
    group = group_of(paper.doi, target_fraction)
    out: list[Record] = []

    def dropped(split: str, reason: str) -> None:
        if drops is not None:
            drops.setdefault(split, {}).setdefault(reason, 0)
            drops[split][reason] += 1

    if "introduction" in splits:
        intro = paper.text_of("introduction").strip()
        if not intro:
            dropped("introduction", "no-introduction")
        for i, chunk in enumerate(chunk_paragraphs(intro, max_words) if intro else []):
            out.append(_base(paper, "introduction", i, chunk, group))
    if "abstract" in splits:
        abstract = paper.text_of("abstract").strip()
        if abstract:
            out.append(_base(paper, "abstract", 0, abstract, group))
        else:
            dropped("abstract", "no-abstract")
    if "conclusion" in splits:
        text, flags = conclusion_text(paper)
        if text:
            rec = _base(paper, "conclusion", 0, text, group)
            rec.flags = list(flags)
            if flags:
                rec.section = "discussion"
            out.append(rec)
        else:
            dropped("conclusion", "no-conclusion-or-discussion")
    return out
