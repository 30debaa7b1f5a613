"""Text scorers: keyword share, ROUGE-2 F (stemmed), multiple-choice letter extraction.

A scorer is called as ``scorer(prediction, reference) -> float`` and declares ``direction``
("max": higher is better) and ``aggregation`` ("mean").
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """NFKC, case-folded, thousands separators dropped ("4,120" -> "4120")."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"(?<=\d)[,\u202f\u00a0'](?=\d{3}\b)", "", text)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalize(text))


class KeywordScorer:
    """Share of keywords present in the answer: a keyword counts when its normalised tokens
    occur contiguously in the answer's tokens (CJK keywords: as a normalised substring)."""

    name = "keywords"
    direction = "max"
    aggregation = "mean"

    def present(self, keyword: str, answer: str) -> bool:
        if _CJK.search(keyword):
            return re.sub(r"\s+", "", normalize(keyword)) in re.sub(r"\s+", "", normalize(answer))
        kw, ans = tokens(keyword), tokens(answer)
        if not kw:
            return False
        n = len(kw)
        return any(ans[i : i + n] == kw for i in range(len(ans) - n + 1))

    def __call__(self, prediction: str, reference: list[str] | str) -> float:
        keywords = [reference] if isinstance(reference, str) else list(reference)
        if not keywords:
            raise ValueError("keyword scorer: the question has no keywords")
        return sum(self.present(k, prediction or "") for k in keywords) / len(keywords)


class _CharTokenizer:
    """Character tokens for text without Latin words (rouge-score's default drops them)."""

    def tokenize(self, text: str) -> list[str]:
        return [c for c in normalize(text) if not c.isspace() and c not in ".,!?。、！？"]


class Rouge2Scorer:
    """ROUGE-2 F1 with Porter stemming (``rouge-score``; reference first). Texts with CJK
    characters fall back to character tokens so they do not all score 0."""

    name = "rouge2"
    direction = "max"
    aggregation = "mean"

    def __init__(self, use_stemmer: bool = True) -> None:
        from rouge_score import rouge_scorer

        self.use_stemmer = use_stemmer
        self._latin = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=use_stemmer)
        self._chars = rouge_scorer.RougeScorer(["rouge2"], tokenizer=_CharTokenizer())

    def detail(self, prediction: str, reference: str) -> dict[str, float]:
        scorer = self._chars if _CJK.search(reference or "") else self._latin
        s = scorer.score(reference or "", prediction or "")["rouge2"]
        return {"precision": s.precision, "recall": s.recall, "f": s.fmeasure}

    def __call__(self, prediction: str, reference: str) -> float:
        return self.detail(prediction, reference)["f"]


_LETTER_PATTERNS = [
    r"answer\s*(?:is)?\s*[:：]?\s*\(?([A-J])\b",
    r"^\s*\(?([A-J])[\).:\s]",
    r"^\s*\(?([A-J])\)?\s*$",
    r"\(([A-J])\)",
    r"\b([A-J])\)",
]


def extract_letter(text: str, n_choices: int = 4) -> int | None:
    """The option index a generated answer names ("Answer: B", "(C)", "D. ..."), else None."""
    letters = "ABCDEFGHIJ"[:n_choices]
    for pat in _LETTER_PATTERNS:
        for m in re.finditer(pat, text or "", flags=re.IGNORECASE | re.MULTILINE):
            letter = m.group(1).upper()
            if letter in letters and (m.group(1).isupper() or "answer" in pat):
                return letters.index(letter)
    return None


class McqLetterScorer:
    """1.0 when the letter extracted from generated text is the correct option, else 0.0."""

    name = "mcq-letter"
    direction = "max"
    aggregation = "mean"

    def __call__(self, prediction: str, reference: Any) -> float:
        return float(extract_letter(prediction) == int(reference))


class McqLoglikScorer:
    """Accuracy of a log-likelihood choice: prediction is the chosen index (see bench.mcq)."""

    name = "mcq-loglik"
    direction = "max"
    aggregation = "mean"

    def __call__(self, prediction: Any, reference: Any) -> float:
        return float(int(prediction) == int(reference))
