"""Choose the training texts and pack them into fixed-length rows with document boundaries.

Every row has the same length (so compiled graphs are reused). Inside a row each document
restarts its ``position_ids`` at 0, its first token carries no loss (it would be predicted
from the previous document), and attention is block-diagonal: a ``doc_ids`` tensor gives each
token its document number (padding is one more "document" with no loss). The attention
mask built from it is a FlexAttention ``BlockMask`` on CUDA or a dense additive 4D mask for
sdpa/eager.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccpapers.bench.suites.base import DEFAULT_VARIANT_ORDER, Suite, SuiteError


@dataclass
class TrainText:
    doc_id: str
    variant: str
    text: str
    group: str = "target"


def select_texts(
    suite: Suite,
    texts_per_fact: int = 0,
    variants: list[str] | None = None,
    n_irrelevant: int = 0,
    irrelevant_pool: list[str] | None = None,
    seed: int = 0,
) -> list[TrainText]:
    """The first ``texts_per_fact`` texts of each document (in ``variants`` order; 0 = all)
    plus ``n_irrelevant`` texts drawn (seeded) from the irrelevant pool."""
    order = list(variants) if variants else list(DEFAULT_VARIANT_ORDER)
    out: list[TrainText] = []
    for doc in suite.documents:
        texts = doc.ordered_texts(order)
        if variants:
            texts = [(v, t) for v, t in texts if v in variants]
        if texts_per_fact:
            texts = texts[:texts_per_fact]
        out.extend(TrainText(doc.id, v, t) for v, t in texts)
    if n_irrelevant:
        pool = irrelevant_pool if irrelevant_pool is not None else suite.irrelevant
        if len(pool) < n_irrelevant:
            raise SuiteError(
                f"n_irrelevant={n_irrelevant} but only {len(pool)} irrelevant texts are available; "
                "pass irrelevant=<build folder or .jsonl> with more texts"
            )
        rng = random.Random(seed)
        out.extend(
            TrainText(f"irrelevant/{i}", "irrelevant", t, "irrelevant")
            for i, t in enumerate(rng.sample(pool, n_irrelevant))
        )
    return out


REAL_POOL = "irrelevant/nature-cc-by.jsonl"


def drop_overlapping(pool: list[str], suite: Suite) -> list[str]:
    """``pool`` without the texts that name a distinctive (non-numeric, 4+ characters) keyword
    of the suite's questions: filler must not teach the answers."""
    import re

    keys = {
        k for q in suite.questions for k in q.keywords if len(k) >= 4 and not re.fullmatch(r"[\d\s.,%°-]+", k)
    }
    return [t for t in pool if not any(k in t for k in keys)]


def load_irrelevant(source: str, work: Path) -> list[str]:
    """Irrelevant texts from a build folder (group=irrelevant or any text), a .jsonl with
    ``text`` fields, ``real`` or empty (101 paragraphs of four real CC BY Nature-family
    articles, ``train/irrelevant/nature-cc-by.jsonl``) or ``sample`` (the bundled sample
    journal, which describes the fictional suite's own discoveries: not irrelevant to it)."""
    if source in ("", "real"):
        from ccpapers.io import read_jsonl
        from ccpapers.resources import resolve_recipe

        return [r["text"] for r in read_jsonl(resolve_recipe("train", REAL_POOL)) if r.get("text")]
    if source == "sample":
        from ccpapers.resources import sample_dir

        path = sample_dir() / "articles.yaml"
        if not path.is_file():
            return []
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        paras: list[str] = []
        for art in data.get("articles", []):
            for sec in art.get("sections", []):
                paras.extend(sec.get("paragraphs", []) or [])
                for sub in sec.get("subsections", []) or []:
                    paras.extend(sub.get("paragraphs", []) or [])
        return [p for p in paras if isinstance(p, str) and len(p) > 80]
    p = Path(source)
    if p.suffix == ".jsonl" and p.is_file():
        from ccpapers.io import read_jsonl

        return [r["text"] for r in read_jsonl(p) if r.get("text")]
    from ccpapers.bench.suites.papers import _read_split, resolve_build
    from ccpapers.types import TRAINING_TEXT_SPLITS

    folder = resolve_build(source, work)
    rows = [r for s in TRAINING_TEXT_SPLITS for r in _read_split(folder, s) if r.text]
    irr = [r.text for r in rows if r.group == "irrelevant"]
    return irr or [r.text for r in rows]


@dataclass
class Packed:
    input_ids: Any  # LongTensor [rows, seq_len]
    position_ids: Any
    labels: Any
    doc_ids: Any
    n_tokens: int  # real (non-pad) tokens
    n_docs: int

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


@dataclass
class TextRows:
    """The study's schedule: one unpadded text per row (texts longer than ``max_len`` are
    split into pieces), so every micro-step is one text and no token is padding."""

    docs: list[list[int]]
    n_tokens: int

    def __len__(self) -> int:
        return len(self.docs)


def text_rows(docs: list[list[int]], max_len: int) -> TextRows:
    pieces = [
        d[i : i + max_len] for d in docs for i in range(0, len(d), max_len) if len(d[i : i + max_len]) > 1
    ]
    return TextRows(pieces, sum(len(p) for p in pieces))


def tokenize_texts(tokenizer: Any, texts: list[str], add_eos: bool = True) -> list[list[int]]:
    ids = tokenizer(texts, add_special_tokens=True)["input_ids"]
    eos = tokenizer.eos_token_id
    return [list(x) + ([eos] if add_eos and eos is not None else []) for x in ids]


def pack(docs: list[list[int]], seq_len: int, pad_id: int = 0) -> Packed:
    """First-fit-decreasing packing of token lists into rows of exactly ``seq_len`` tokens;
    documents longer than a row are split into row-sized chunks."""
    import torch

    chunks = [d[i : i + seq_len] for d in docs for i in range(0, len(d), seq_len) if d[i : i + seq_len]]
    order = sorted(range(len(chunks)), key=lambda i: (-len(chunks[i]), i))
    rows: list[list[int]] = []
    free: list[int] = []
    for i in order:
        n = len(chunks[i])
        for r, space in enumerate(free):
            if space >= n:
                rows[r].append(i)
                free[r] -= n
                break
        else:
            rows.append([i])
            free.append(seq_len - n)
    R = len(rows)
    input_ids = torch.full((R, seq_len), pad_id, dtype=torch.long)
    position_ids = torch.zeros((R, seq_len), dtype=torch.long)
    labels = torch.full((R, seq_len), -100, dtype=torch.long)
    doc_ids = torch.zeros((R, seq_len), dtype=torch.long)
    for r, members in enumerate(rows):
        at = 0
        for k, i in enumerate(members, start=1):
            c = torch.tensor(chunks[i], dtype=torch.long)
            n = len(c)
            input_ids[r, at : at + n] = c
            position_ids[r, at : at + n] = torch.arange(n)
            labels[r, at + 1 : at + n] = c[1:]  # no loss on a document's first token
            doc_ids[r, at : at + n] = k
            at += n
        if at < seq_len:  # padding: its own block, positions restart, no loss
            position_ids[r, at:] = torch.arange(seq_len - at)
    return Packed(input_ids, position_ids, labels, doc_ids, sum(len(c) for c in chunks), len(chunks))


def dense_block_mask(doc_ids: Any, dtype: Any) -> Any:
    """Additive [B, 1, L, L] mask: 0 where key is in the query's document and not after it."""
    import torch

    L = doc_ids.shape[-1]
    same = doc_ids[:, :, None] == doc_ids[:, None, :]
    causal = torch.ones(L, L, dtype=torch.bool, device=doc_ids.device).tril()
    allowed = (same & causal)[:, None]
    mask = torch.zeros(allowed.shape, dtype=dtype, device=doc_ids.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


def flex_block_mask(doc_ids: Any) -> Any:
    """FlexAttention ``BlockMask`` for causal attention within documents (skips masked tiles)."""
    from torch.nn.attention.flex_attention import create_block_mask

    B, L = doc_ids.shape

    def mask_mod(b: Any, h: Any, q: Any, k: Any) -> Any:
        return (doc_ids[b, q] == doc_ids[b, k]) & (k <= q)

    return create_block_mask(mask_mod, B, None, L, L, device=doc_ids.device)


def attention_mask_for(doc_ids: Any, attention: str, dtype: Any) -> Any:
    return flex_block_mask(doc_ids) if attention == "flex" else dense_block_mask(doc_ids, dtype)
