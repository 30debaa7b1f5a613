"""Pure quality checks: stand-alone questions, grounding, near-duplicates, number/unit/formula
preservation in translations, and repair of malformed JSON replies."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

# -- stand-alone questions ------------------------------------------------------
_CONTEXT = re.compile(
    r"\b(this|the present|our|the current|the above|that) (study|work|paper|article|research|analysis|passage|text|report|experiment)s?\b"
    r"|\bthe (authors?|researchers|passage|text above|paper)\b"
    r"|\b(fig|figs|figure|figures|table|tables|eq|equation|scheme|supplementary)\.?\s*\(?[0-9ivx]+"
    r"|\bet al\b|\b(we|our|us)\b|\bmentioned above\b",
    re.I,
)


def context_dependent(text: str) -> bool:
    """True when a question leans on the source ("this study", "Fig. 2", "the authors", "we")."""
    return bool(_CONTEXT.search(text))


# -- grounding and duplicates --------------------------------------------------
_STOP = frozenset(
    "a an the of in on at to for and or but is are was were be been by with as from that this these those "
    "it its into than then which what who whom how why when where does do did can could may might their there "
    "has have had not no yes also such both each per about over under between".split()
)
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")


def content_tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


def grounded(answer: str, passage: str, min_overlap: float = 0.5) -> bool:
    """Every number of the answer is in the passage, and most of its content words are."""
    p_numbers = set(number_keys(passage))
    if any(n not in p_numbers for n in number_keys(answer)):
        return False
    tokens = content_tokens(answer)
    if not tokens:
        return False
    p_tokens = set(content_tokens(passage))
    hit = sum(1 for t in tokens if t in p_tokens or t.rstrip("s") in p_tokens)
    return hit / len(tokens) >= min_overlap


def similarity(a: str, b: str) -> float:
    ta, tb = set(content_tokens(a)), set(content_tokens(b))
    if not ta or not tb:
        return 1.0 if a.strip().lower() == b.strip().lower() else 0.0
    return len(ta & tb) / len(ta | tb)


def normalised(text: str) -> str:
    return " ".join(content_tokens(text))


# -- numbers, units, formulas ----------------------------------------------------
_NUMBER = re.compile(r"(?<![A-Za-z0-9])[-−+]?\d+(?:[.,\u202f\u00a0]\d+)*")
_UNIT = re.compile(
    r"(?<=\d)\s?(nm|µm|μm|mm|cm|km|m|Å|K|°C|°|%|eV|meV|keV|MeV|GPa|MPa|kPa|Pa|mV|kV|V|mA|µA|μA|nA|A|mW|kW|MW|W|"
    r"THz|GHz|MHz|kHz|Hz|ms|µs|μs|ns|ps|fs|s|h|min|mmol|µmol|μmol|mol|mM|µM|μM|nM|M|mg|µg|μg|ng|kg|g|"
    r"mL|µL|μL|L|mT|T|kJ|J|dB|ppm|wt%|at%)(?![A-Za-z])"
)
_FORMULA = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z][a-z]?\d*(?:\.\d+)?){2,}(?:[+-]|\d[+-])?(?![A-Za-z0-9])")
_ELEMENTS = frozenset(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y "
    "Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re "
    "Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr".split()
)
_ELEMENT_RUN = re.compile(r"[A-Z][a-z]?")


def number_keys(text: str) -> list[str]:
    """Numbers as digit strings, separators removed, so 3.5 == 3,5 and 1,000 == 1.000."""
    out = []
    for m in _NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if digits:
            out.append(digits.lstrip("0") or "0")
    return out


def units(text: str) -> list[str]:
    return [m.group(1).replace("μ", "µ") for m in _UNIT.finditer(text)]


def formulas(text: str) -> list[str]:
    """Chemical formulas: two or more element symbols with a digit or a two-letter symbol (H2O, TiO2, NaCl)."""
    out = []
    for m in _FORMULA.finditer(text):
        token = m.group()
        symbols = _ELEMENT_RUN.findall(token)
        if not all(s in _ELEMENTS for s in symbols):
            continue
        if any(c.isdigit() for c in token) or any(len(s) == 2 for s in symbols):
            out.append(token)
    return out


def preservation_problem(source: str, target: str) -> tuple[str, str] | None:
    """(reason, detail) when the target loses or changes a number, unit or formula of the source."""
    src, dst = Counter(number_keys(source)), Counter(number_keys(target))
    missing = src - dst
    if missing:
        return "changed-number", f"missing or changed number(s): {', '.join(sorted(missing))}"
    src_u, dst_u = Counter(units(source)), Counter(units(target))
    missing_u = src_u - dst_u
    if missing_u:
        return "lost-unit", f"missing unit(s): {', '.join(sorted(missing_u))}"
    src_f, dst_f = Counter(formulas(source)), Counter(formulas(target))
    missing_f = src_f - dst_f
    if missing_f:
        return "lost-formula", f"missing formula(s): {', '.join(sorted(missing_f))}"
    return None


# -- JSON replies ----------------------------------------------------------------
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I | re.M)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def parse_json_reply(text: str) -> tuple[Any | None, str]:
    """Parse a model's JSON reply; returns (object, "ok" | "repaired" | "malformed-json").

    Repairs: code fences, prose around the object, trailing commas, and a reply cut
    off mid-list (the complete items are kept).
    """
    text = (text or "").strip()
    try:
        return json.loads(text), "ok"
    except json.JSONDecodeError:
        pass
    candidate = _FENCE.sub("", text).strip()
    start = candidate.find("{")
    if start < 0:
        return None, "malformed-json"
    candidate = candidate[start:]
    for attempt in _repairs(candidate):
        try:
            obj = json.loads(attempt)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj, "repaired"
    return None, "malformed-json"


def _repairs(text: str):
    end = text.rfind("}")
    if end >= 0:
        yield text[: end + 1]
        yield _TRAILING_COMMA.sub(r"\1", text[: end + 1])
    # truncated: cut after the last complete object inside a list and close the brackets
    for cut in _object_ends(text):
        head = _TRAILING_COMMA.sub(r"\1", text[: cut + 1])
        yield head + _closers(head)


def _outside_strings(text: str) -> Iterator[tuple[int, str]]:
    """(index, char) of every character that is not inside a JSON string literal."""
    in_str = esc = False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        else:
            yield i, ch


def _object_ends(text: str) -> list[int]:
    ends = [i for i, ch in _outside_strings(text) if ch == "}"]
    return list(reversed(ends))[:20]


def _closers(text: str) -> str:
    stack: list[str] = []
    for _, ch in _outside_strings(text):
        if ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    return "".join(reversed(stack))
