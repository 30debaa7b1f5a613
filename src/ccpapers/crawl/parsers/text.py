"""Shared text helpers for the parsers: whitespace, inline TeX, section-title -> kind.

Text is built from chunks and block boundaries: inline markup (``a``, ``i``, ``sub``,
``sup`` ...) is concatenated as is, so ``H<sub>2</sub>O`` gives ``H2O``; spaces are only
inserted where the source has whitespace or at a block boundary (paragraph, list item).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WS = re.compile(r"\s+")
# Citation debris left after removing reference links: "[, ]", "( ; )", "[–]".
_EMPTY_BRACKETS = re.compile(r"\s*[\[(]\s*(?:[,;\u2013\u2014\-]\s*)*[\])]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)\]])")
# "[31, their figure 5]" without its citation: "[, their figure 5]" -> "[their figure 5]".
_LEADING_SEPARATOR = re.compile(r"([\[(])\s*[,;]\s*")


def squash(text: str) -> str:
    """Collapse runs of whitespace (incl. no-break spaces) to one space and strip."""
    return _WS.sub(" ", text.replace("\u00a0", " ")).strip()


def clean_paragraph(text: str) -> str:
    """Squash whitespace and tidy the debris left by removed citations/footnotes."""
    text = squash(text)
    text = _EMPTY_BRACKETS.sub("", text)
    text = _LEADING_SEPARATOR.sub(r"\1", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text.strip()


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    return "\n\n".join(p for p in paragraphs if p)


# --- inline TeX -------------------------------------------------------------------------

_TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "times": "×",
    "pm": "±", "mp": "∓", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "sim": "~",
    "approx": "≈", "ne": "≠", "neq": "≠", "cdot": "·", "circ": "°", "infty": "∞",
    "partial": "∂", "nabla": "∇", "propto": "∝", "rightarrow": "→", "to": "→",
    "leftarrow": "←", "AA": "Å", "prime": "′", "%": "%", "ldots": "...", "cdots": "...",
}  # fmt: skip
_TEX_FONT = re.compile(
    r"\\(?:rm|it|bf|mathrm|mathit|mathbf|mathsf|mathcal|mathbb|textrm|text|textit|textbf|"
    r"operatorname|left|right|big|Big|bigg|Bigg|displaystyle|scriptstyle)(?![A-Za-z])\s*"
)
_TEX_SPACE = re.compile(r"\\(?:,|;|:|!|quad|qquad)(?![A-Za-z])")
_TEX_OPERATOR = re.compile(r"\s*([=<>≈≤≥±∓×≠→←∝])\s*")
_TEX_CMD = re.compile(r"\\([A-Za-z]+|%)")


_CARET = "\x00"
_NUMERIC = re.compile(r"\s*[\-\u2212+]?\s*\d")


def _superscripts(t: str) -> str:
    """Mark numeric superscripts (``10^{5}``, ``cm^{-1}``) so they survive as ``^5``, ``^-1``."""
    out, i = [], 0
    while i < len(t):
        ch = t[i]
        if ch != "^":
            out.append(ch)
            i += 1
            continue
        j = i + 1
        while j < len(t) and t[j] == " ":
            j += 1
        if j < len(t) and t[j] == "{":
            depth, k = 0, j
            while k < len(t):
                depth += {"{": 1, "}": -1}.get(t[k], 0)
                if depth == 0:
                    break
                k += 1
            group, i = t[j + 1 : k], k + 1
        else:
            group, i = t[j : j + 1], j + 1
        plain = group.replace("{", "").replace("}", "")
        out.append((_CARET if _NUMERIC.match(plain) else "") + plain)
    return "".join(out)


def tex_to_plain(tex: str) -> str:
    """A light plain-text rendering of inline TeX, as a browser shows it without markup.

    ``{{\\rm{Li}}}_{2}`` -> ``Li2``, ``\\alpha \\approx 0.5`` -> ``α ≈ 0.5``,
    ``10^{-3}`` -> ``10^-3``: font commands, braces and subscript markers are dropped (as
    ``H<sub>2</sub>O`` -> ``H2O``), numeric superscripts keep a ``^`` (as HTML ``<sup>``
    does here), common symbols become Unicode and any other command is dropped.
    """
    t = tex.strip()
    if t.startswith("\\(") and t.endswith("\\)"):
        t = t[2:-2]
    t = _TEX_FONT.sub("", t)
    t = _TEX_SPACE.sub(" ", t)
    t = _TEX_CMD.sub(lambda m: _TEX_SYMBOLS.get(m.group(1), " "), t)
    t = _superscripts(t)
    t = t.replace("{", "").replace("}", "").replace("_", "").replace("^", "").replace("~", " ")
    t = t.replace(_CARET, "^")
    t = t.replace("\\", "")
    t = _TEX_OPERATOR.sub(r" \1 ", t)  # relations and binary operators spaced as rendered
    t = re.sub(r"°\s+(?=[CFK]\b)", "°", t)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", squash(t))


def tex_inline(tex: str) -> str:
    """Inline TeX kept verbatim as ``$tex$`` (for ``keep_math``)."""
    t = tex.strip()
    if t.startswith("\\(") and t.endswith("\\)"):
        t = t[2:-2]
    return f"${t.strip()}$"


def tex_display(tex: str) -> str:
    """Display TeX kept verbatim as ``$$tex$$`` (for ``keep_math``)."""
    t = tex.strip()
    if t.startswith("$$") and t.endswith("$$") and len(t) >= 4:
        t = t[2:-2]
    elif t.startswith("\\[") and t.endswith("\\]"):
        t = t[2:-2]
    return f"$${t.strip()}$$"


# --- section titles ---------------------------------------------------------------------

#: Titles of back matter and page chrome: never article text.
BACK_MATTER = frozenset(
    {
        "references",
        "bibliography",
        "acknowledgements",
        "acknowledgments",
        "acknowledgement",
        "acknowledgment",
        "author information",
        "authors and affiliations",
        "author contributions",
        "contributions",
        "competing interests",
        "ethics declarations",
        "peer review",
        "peer review information",
        "additional information",
        "supplementary information",
        "supplementary materials",
        "supplementary material",
        "electronic supplementary material",
        "rights and permissions",
        "about this article",
        "notes",
        "abbreviations",
        "change history",
        "similar content being viewed by others",
        "comments",
        "further reading",
        "cite this article",
        "download references",
        # Declarations and notes of nature.com, BMC, PLoS, OUP and Springer JATS
        "funding",
        "funding information",
        "source data",
        "declarations",
        "conflict of interest",
        "conflicts of interest",
        "competing financial interests",
        "disclosure",
        "authors' contributions",
        "author's contributions",
        "pre-publication history",
        "ethics approval and consent to participate",
        "consent for publication",
        "publisher's note",
        "supporting information",
    }
)
#: Back-matter ids used by nature.com (section ids and heading ids).
BACK_MATTER_IDS = frozenset(
    {
        "Bib1",
        "Ack1",
        "author-information",
        "ethics",
        "additional-information",
        "rightslink",
        "article-info",
        "article-comments",
        "further-reading",
        "notes",
        "peer-review",
        "references",
        "acknowledgements",
        "supplementary-information",
        "change-history",
    }
)

_INTRO = {"introduction", "main", "background", "main text"}
_INTRO_AND = re.compile(r"^introduction (?:and|&) ")  # "Introduction and motivation", not "Introduction of X"
_CONCLUSION_PREFIX = ("conclusion", "concluding remarks", "outlook", "summary")
_METHODS_PREFIX = (
    "method",
    "materials and method",
    "material and method",
    "online method",
    "experimental",
    "experiment",
    "computational method",
    "computational detail",
)


def normalise_title(title: str) -> str:
    t = squash(title).lower().rstrip(".:").replace("\u2019", "'")
    return re.sub(r"^(\d+(\.\d+)*|[ivx]+)\.?\s+", "", t)  # drop numbering "2.", "II."


def is_back_matter(title: str | None, ident: str | None = None) -> bool:
    if ident and (ident in BACK_MATTER_IDS or ident.removesuffix("-section") in BACK_MATTER_IDS):
        return True
    return bool(title) and normalise_title(title or "") in BACK_MATTER


def section_kind(title: str, results_and_discussion: str = "discussion") -> str:
    """Map a top-level section title to a Section kind.

    ``Main`` (Nature-style journals), ``Introduction``, ``Background`` (the whole title, or
    "Introduction and ..."; never "Introduction of Exchange Anodes") are the introduction;
    ``Conclusion(s)``, ``Concluding remarks``, ``Outlook`` and ``Summary`` the conclusion;
    ``Results and discussion`` goes to ``results_and_discussion`` ("discussion" or
    "results"); ``Results ...`` and ``... and results`` are results; anything unrecognised
    (``Data availability``) is other.
    """
    t = normalise_title(title)
    if t.startswith("abstract"):
        return "abstract"
    if t in _INTRO or _INTRO_AND.match(t):
        return "introduction"
    if t.startswith(_CONCLUSION_PREFIX):
        return "conclusion"
    if t.startswith("results") and "discussion" in t:
        return results_and_discussion
    if t.startswith("result") or t.endswith(" and results"):
        return "results"
    if t.startswith("discussion"):
        return "discussion"
    if t.startswith(_METHODS_PREFIX) or t.endswith(" methods"):
        return "methods"
    return "other"


_JATS_SEC_TYPES = {
    "intro": "introduction",
    "introduction": "introduction",
    "results": "results",
    "discussion": "discussion",
    "conclusions": "conclusion",
    "conclusion": "conclusion",
    "methods": "methods",
    "materials|methods": "methods",
    "materials": "methods",
}


def jats_sec_kind(sec_type: str | None, title: str, results_and_discussion: str = "discussion") -> str:
    """Kind from a JATS ``sec-type`` when it is a known one, else from the title."""
    if sec_type:
        st = sec_type.strip().lower()
        if st in _JATS_SEC_TYPES:
            return _JATS_SEC_TYPES[st]
        if st == "results|discussion":
            return results_and_discussion
    return section_kind(title, results_and_discussion)
