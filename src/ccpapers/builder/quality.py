"""Quality gates every generated split passes before a row is kept; each refusal is a drop reason.

- questions (qa, mcq): a real question (``not-a-question``) that names its subject
  (``vague-question``: "What is the material?");
- answers (qa, mcq): near-duplicate answers within a paper (``near-duplicate-answer``);
- rewrites: length against the source (``rewrite-too-short``/``-too-long``) and residue of
  templates, JSON, the prompt or chat preambles (``rewrite-residue``);
- translations: an untranslated copy of the source (``translation-untranslated``) or text in
  another language or script than asked (``translation-wrong-language``).

Pure functions of text; thresholds are arguments so specs can tune them.
"""

from __future__ import annotations

import re

from ccpapers.builder.checks import content_tokens, formulas, normalised, similarity
from ccpapers.builder.generators.base import Outcome
from ccpapers.types import Record

# -- questions --------------------------------------------------------------------------------
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how is are was were do does did can could should would "
    "will may might has have had".split()
)
_IMPERATIVES = frozenset(
    "name list describe explain state give identify compare define calculate fill".split()
)
_GENERIC = frozenset(
    "material materials method methods system systems sample samples result results value values process "
    "processes compound compounds structure structures device devices property properties effect effects "
    "approach technique model models data measurement measurements analysis study studies work paper "
    "experiment experiments finding findings main key primary purpose role thing things type types kind "
    "use used using particular specific new different certain given observed reported proposed described "
    "obtained found show shows shown significance important mechanism mechanisms condition conditions "
    "substance substances object objects".split()
)
_WORD = re.compile(r"[^\W_][\w\-]*", re.UNICODE)


def question_problem(question: str, min_specific: int = 3) -> tuple[str, str] | None:
    """(reason, detail) when ``question`` is not a stand-alone question, else None.

    A question asks (it ends with "?" and has a question word, or it starts with an imperative
    such as "Name" or "Explain") and names what it is about: a proper name, acronym, formula or
    number, or at least ``min_specific`` content words that are not generic ("material", "method")."""
    q = question.strip()
    words = _WORD.findall(q)
    lower = [w.lower() for w in words]
    asks = (q.endswith("?") and any(w in _QUESTION_WORDS for w in lower)) or bool(
        lower and lower[0] in _IMPERATIVES
    )
    if not asks:
        return "not-a-question", q[:120]
    named = any(any(c.isupper() or c.isdigit() for c in w) for w in words[1:]) or bool(formulas(q))
    specific = [t for t in content_tokens(q) if t not in _GENERIC and t not in _QUESTION_WORDS]
    if not named and len(specific) < min_specific:
        return "vague-question", q[:120]
    return None


def remove_duplicate_answers(records: list[Record], threshold: float, out: Outcome) -> list[Record]:
    """Drop pairs whose answer repeats another pair's answer in the same paper: long answers
    (4+ content words) at token-Jaccard >= ``threshold``; short ones ("410 °C") only when the
    questions are alike too, since one value may answer two different questions."""
    kept: list[Record] = []
    by_paper: dict[str, list[Record]] = {}
    for rec in sorted(records, key=lambda r: r.id):
        answer = rec.answer or ""
        long = len(content_tokens(answer)) >= 4
        for other in by_paper.get(rec.doi, []):
            same = (
                similarity(answer, other.answer or "") >= threshold
                if long
                else normalised(answer) == normalised(other.answer or "")
                and similarity(rec.question or "", other.question or "") >= 0.5
            )
            if same:
                out.drop("near-duplicate-answer", f"{(rec.question or '')[:80]} -> {answer[:80]}")
                break
        else:
            by_paper.setdefault(rec.doi, []).append(rec)
            kept.append(rec)
    return kept


# -- rewrites -----------------------------------------------------------------------------------
_RESIDUE = re.compile(
    r"\{%|%\}|\{\{|\}\}|\{#|```|</?passage>|\"text\"\s*:|^\s*\{|\}\s*$"
    r"|\bRewrite it as\b|\bReply with JSON\b|\bvariant \d+ of \d+\b|\[insert\b|lorem ipsum"
    r"|^\s*(sure[,!.]|certainly[,!.]|here is|here's|as an ai\b|i cannot\b|i can't\b|i'm sorry)",
    re.I | re.M,
)


def rewrite_problem(
    source: str, text: str, min_ratio: float = 0.3, max_ratio: float = 4.0, min_words: int = 5
) -> tuple[str, str] | None:
    """(reason, detail) when a rewrite is too short or too long for its source, or carries residue."""
    n_src, n_out = len(source.split()), len(text.split())
    if n_out < min_words or n_out < min_ratio * n_src:
        return "rewrite-too-short", f"{n_out} words for a {n_src}-word source: {text[:80]!r}"
    if n_out > max_ratio * max(n_src, min_words):
        return "rewrite-too-long", f"{n_out} words for a {n_src}-word source"
    m = _RESIDUE.search(text)
    if m:
        return "rewrite-residue", f"{m.group(0).strip()!r} in {text[:80]!r}"
    return None


# -- translations ---------------------------------------------------------------------------------
_SCRIPTS = {
    "ja": re.compile(r"[\u3040-\u30ff\u3400-\u9fff]"),
    "zh": re.compile(r"[\u3400-\u9fff]"),
    "ko": re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "uk": re.compile(r"[\u0400-\u04ff]"),
    "el": re.compile(r"[\u0370-\u03ff]"),
}
_KANA = re.compile(r"[\u3040-\u30ff]")
_STOPWORDS = {
    "en": "the and of to in is are that with for was were this by from on as be which it".split(),
    "de": "der die das und ist sind nicht mit von zu den dem des ein eine einer im auf für bei wird werden".split(),
    "es": "el la los las de del y en que con por para una un es son se al como más".split(),
    "it": "il lo la le gli di del della dei e che per con una un è sono nel nella si al".split(),
    "fr": "le la les de des du et en que une un est sont dans pour par sur au aux avec".split(),
    "pt": "o a os as de do da dos das e em que com para uma um é são no na por".split(),
    "nl": "de het een en van in is zijn dat met voor op te aan door".split(),
}
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_LATIN_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)


def _rates(words: list[str]) -> dict[str, float]:
    n = max(1, len(words))
    return {lang: sum(1 for w in words if w in set(sw)) / n for lang, sw in _STOPWORDS.items()}


def translation_problem(source: str, text: str, lang: str, copy_share: float = 0.6) -> tuple[str, str] | None:
    """(reason, detail) when ``text`` is not a translation of ``source`` into ``lang``: mostly the
    source's own words (an untranslated copy), or another script or language than ``lang``."""
    src_words = {w.lower() for w in _LATIN_WORD.findall(source)}
    out_words = [w.lower() for w in _LATIN_WORD.findall(text)]
    if out_words and len(out_words) >= 0.5 * max(1, len(src_words)):
        shared = sum(1 for w in out_words if w in src_words) / len(out_words)
        if shared >= copy_share and lang != "en":
            return "translation-untranslated", f"{shared:.0%} of its words are the source's: {text[:80]!r}"
    letters = _LETTERS.findall(text)
    if not letters:
        return None
    script = _SCRIPTS.get(lang)
    if script is not None:
        share = sum(1 for ch in letters if script.match(ch)) / len(letters)
        if share < 0.3 or (lang == "ja" and not _KANA.search(text)):
            return "translation-wrong-language", f"{share:.0%} of its letters are in the {lang} script"
        return None
    if lang not in _STOPWORDS:
        return None  # a language we have no profile for: only the copy check applies
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 8:
        return None
    rates = _rates(words)
    best = max(rates, key=lambda k: rates[k])
    if best != lang and rates[best] > rates[lang] * 1.5:
        return "translation-wrong-language", f"reads as {best} ({rates[best]:.0%} {best} function words)"
    return None
