"""Licence parsing, normalisation to Hub ids, evidence combination and keep/reject policy.

Public API:
    parse_license(evidence) -> License      one piece of evidence (URL, statement, code)
    license_from_id(hub_id) -> License|None what a licence id (``cc-by-nc-nd-4.0``) permits
    id_url_conflict(hub_id, url) -> str|None  why a row's licence id and licence URL disagree
    decide(evidence) -> License             several pieces combined; conflicts reported
    LicensePolicy(tier).check(x) -> (keep, reason)
    tier_allows(policy_tier, licence_tier) -> bool
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ccpapers.types import TIERS, License, Paper

#: Creative Commons ids as listed by the Hugging Face Hub (others use ``other``).
HUB_LICENSE_IDS: frozenset[str] = frozenset(
    {
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-2.5",
        "cc-by-3.0",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "cc-by-nc-2.0",
        "cc-by-nc-3.0",
        "cc-by-nc-4.0",
        "cc-by-nd-4.0",
        "cc-by-nc-nd-3.0",
        "cc-by-nc-nd-4.0",
        "cc-by-nc-sa-2.0",
        "cc-by-nc-sa-3.0",
        "cc-by-nc-sa-4.0",
    }
)

_KNOWN_VERSIONS = ("1.0", "2.0", "2.1", "2.5", "3.0", "4.0")
_DASHES = re.compile(r"[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad_]")
_URL = re.compile(
    r"(?:https?://)?(?:www\.)?creativecommons\.org/"
    r"(?:licen[sc]es/(?P<type>[a-z\-]+)(?:/(?P<ver>\d\.\d))?"
    r"|publicdomain/(?P<pd>zero|mark)(?:/(?P<pdver>\d\.\d))?)",
    re.I,
)
_BARE_URL = re.compile(r"^\s*\S+://\S+\s*$")
_SHORT_CODE = re.compile(
    r"\bcc[\s\-]?(?P<code>0|zero|by(?:[\s\-]+(?:nc|nd|sa)){0,2})\b(?:[\s\-]*(?P<ver>\d\.\d))?",
    re.I,
)
_LONG_FORM = re.compile(
    r"creative\s+commons\s+(?P<body>(?:(?:attribution|noncommercial|sharealike|noderivatives|"
    r"zero|cc0|public\s+domain(?:\s+dedication)?|universal|international|unported|generic|"
    r"licen[sc]e|\d\.\d|\(cc[^)]*\)|[,\-\s]))+)",
    re.I,
)


def normalise_text(text: str) -> str:
    """Lower case, one space, unified dashes and spellings (licence, non-commercial ...)."""
    t = _DASHES.sub("-", text)
    t = t.replace("\u00a0", " ")
    t = re.sub(r"\s+", " ", t).strip()
    low = t.lower()
    low = re.sub(r"licen[cs]e", "license", low)
    low = re.sub(r"non[\s\-]?commercial", "noncommercial", low)
    low = re.sub(r"no[\s\-]?deriv(?:ative)?s?(?:[\s\-]?works)?", "noderivatives", low)
    low = re.sub(r"share[\s\-]?a[\s\-]?like", "sharealike", low)
    low = re.sub(r"attribution[\s\-]+", "attribution ", low)
    return low


def _make(flags: frozenset[str], version: str | None, statement: str | None) -> License:
    """Build a License from a set of CC elements (by/nc/nd/sa, or zero/mark)."""
    if "zero" in flags:
        hub_id, url = "cc0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"
        return License(hub_id, url, True, True, False, "by", statement)
    if "mark" in flags:
        hub_id, url = "pdm-1.0", "https://creativecommons.org/publicdomain/mark/1.0/"
        return License(hub_id, url, True, True, False, "by", statement)
    if "nd" in flags and "sa" in flags:
        return License(statement=statement)  # not a real licence
    parts = ["by"] + [p for p in ("nc", "nd", "sa") if p in flags]
    code = "-".join(parts)
    nc, nd, sa = "nc" in flags, "nd" in flags, "sa" in flags
    tier = "all" if nd else "nc" if nc else "sa" if sa else "by"
    if version is not None and version not in _KNOWN_VERSIONS:
        version = None
    hub_id = f"cc-{code}-{version}" if version else f"cc-{code}"
    url = f"https://creativecommons.org/licenses/{code}/{version}/" if version else None
    return License(hub_id, url, not nc, not nd, sa, tier, statement)


def _from_url(text: str) -> License | None:
    m = _URL.search(text)
    if not m:
        return None
    if m.group("pd"):
        return _make(frozenset({m.group("pd").lower()}), m.group("pdver"), None)
    kind = m.group("type").lower()
    parts = kind.split("-")
    if not parts or parts[0] != "by" or not set(parts[1:]) <= {"nc", "nd", "sa"}:
        return None
    return _make(frozenset(parts[1:]), m.group("ver"), None)


def _flags_from_words(body: str) -> tuple[frozenset[str], str | None] | None:
    if re.search(r"\b(zero|cc0)\b|public domain dedication", body):
        return frozenset({"zero"}), "1.0"
    if "attribution" not in body:
        return None
    flags = {
        flag
        for word, flag in (("noncommercial", "nc"), ("noderivatives", "nd"), ("sharealike", "sa"))
        if word in body
    }
    ver = re.search(r"\b(\d\.\d)\b", body)
    return frozenset(flags), ver.group(1) if ver else None


# --- reading one piece of evidence ---------------------------------------------------------
#
# A statement counts only where it speaks about the article as a whole. It is read sentence by
# sentence: a sentence naming a licence counts when the words before the licence name the article
# ("This article is licensed under ...", "This is an open access article distributed under ...")
# or are little more than a code ("CC BY 4.0", "oa=CC BY"); it is set aside when they name a part
# of the article (a figure, data, code, third-party material) and it denies when they negate
# ("... is not published under ..."). "To view a copy of this licence" follows the sentence
# before it. Licences named for the article must agree with each other and with the statement's
# own restrictions (non-commercial, no derivatives); otherwise the statement is in doubt.

_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"\u201c\u00a9])|;\s+")
_CC_ANY = re.compile(r"creative ?commons|\bcc[\s\-]?(?:by|0|zero)\b")
_PART = re.compile(
    r"\b(?:fig(?:ure)?s?|tables?|images?|photo(?:graph)?s?|micrographs?|illustrations?|drawings?|maps?"
    r"|videos?|movies?|data(?:sets?|base)?|code|software|scripts?|materials?|third[\s\-]?party"
    r"|supplementary|appendix|adapted|reproduced|reprinted|modified|courtesy|credits?)\b"
)
_SELF = re.compile(
    r"\b(?:this|the present|the) (?:article|work|paper|chapter|book|version|publication|manuscript)\b"
    r"|\bthis is an open[\s\-]?access\b|^\W*open[\s\-]?access"
    r"|^\W*(?:licen[sc]e[sd]?|rights|published|distributed)\b"
)
_BACK_REFERENCE = re.compile(r"\b(?:this|the|that) license\b|\ba copy of\b")
_NEGATION = re.compile(r"\b(?:not|never|no longer|neither|nor|cannot|no)\b(?! otherwise)|n't\b")
_NON_COMMERCIAL = re.compile(
    r"\bnoncommercial\b|\bnot\b[^.;]{0,40}\bcommercial\b|\bcommercial\b[^.;]{0,30}\b(?:not|prohibited)\b"
)
_NO_DERIVATIVES = re.compile(r"\bnoderivatives\b")
#: Evidence that speaks against any CC licence: a closed flag, a licence that has not started yet.
_AGAINST = re.compile(r"^\s*(?:copyright\.open\s*=\s*false|licen[cs]e not in force until\b.*)$", re.I | re.S)


@dataclass
class Reading:
    """What one piece of evidence says: licences named for the article, a denial, a doubt."""

    licences: list[License] = field(default_factory=list)
    against: str | None = None  # the article is said not to be (yet) under a CC licence
    doubt: str | None = None  # the evidence contradicts itself
    aside: list[str] = field(default_factory=list)  # sentences naming a licence of something else


def _mentions(norm: str) -> list[tuple[int, License]]:
    """Every CC licence named in a normalised sentence, with its position."""
    found: list[tuple[int, License]] = []
    for m in _URL.finditer(norm):
        lic = _from_url(m.group(0))
        if lic:
            found.append((m.start(), lic))
    for m in re.finditer(r"public domain mark|publicdomain/mark", norm):
        found.append((m.start(), _make(frozenset({"mark"}), "1.0", None)))
    for m in _LONG_FORM.finditer(norm):
        parsed = _flags_from_words(m.group("body"))
        if parsed:
            found.append((m.start(), _make(parsed[0], parsed[1], None)))
    for m in _SHORT_CODE.finditer(norm):
        code = re.sub(r"[\s\-]+", "-", m.group("code").lower())
        if code in ("0", "zero"):
            found.append((m.start(), _make(frozenset({"zero"}), "1.0", None)))
        else:
            found.append((m.start(), _make(frozenset(code.split("-")[1:]), m.group("ver"), None)))
    return sorted(found, key=lambda f: f[0])


_ID = re.compile(r"^(?:(?P<pd>cc0|pdm)-1\.0|cc-by(?P<parts>(?:-(?:nc|nd|sa))*)(?:-(?P<ver>\d\.\d))?)$")


def license_from_id(hub_id: str | None) -> License | None:
    """The licence a canonical id names (``cc-by-4.0``, ``cc-by-nc-nd-3.0``, ``cc0-1.0``, ``pdm-1.0``,
    versionless ``cc-by``), with its permissions derived from the id alone; None for anything else.

    Stages that act on permissions (no rewrites of ND papers, tiers at publish) use this, never
    the stored ``derivatives_ok``/``tier`` flags, which a hand-edited papers file can contradict.
    A versionless id gets the URL of the licence family (the statement named no version).
    """
    m = _ID.match(hub_id or "")
    if m is None:
        return None
    if m.group("pd"):
        return _make(frozenset({"zero" if m.group("pd") == "cc0" else "mark"}), "1.0", None)
    flags = frozenset(p for p in m.group("parts").split("-") if p)
    lic = _make(flags, m.group("ver"), None)
    if lic.hub_id != hub_id:  # unknown element order (cc-by-nd-nc) or ND+SA: not a real licence id
        return None
    if lic.url is None:
        lic = replace(lic, url=f"https://creativecommons.org/licenses/{hub_id.removeprefix('cc-')}/")
    return lic


def id_url_conflict(hub_id: str | None, url: str | None) -> str | None:
    """Why a licence id and a licence URL name different licences (None when they agree or the
    URL is missing). A versionless side agrees with any version of the same licence."""
    if not url:
        return None
    named, linked = license_from_id(hub_id), parse_license(url)
    if named is None:
        return f"license `{hub_id}` is not a known licence id"
    if linked.hub_id == "unknown":
        return f"license_url {url} is not a Creative Commons licence URL"
    same_family = _family(named.hub_id) == _family(linked.hub_id)
    a, b = _version(named.hub_id), _version(linked.hub_id)
    if not same_family or (a and b and a != b):
        return f"license `{hub_id}` but license_url {url} is {linked.hub_id}"
    return None


def _is_short(norm: str) -> bool:
    """Little more than a licence code ("CC BY 4.0", "oa=CC BY-NC", "Licence: CC0")."""
    leftover = _URL.sub(" ", _SHORT_CODE.sub(" ", norm))
    leftover = re.sub(
        r"creative commons|attribution|noncommercial|sharealike|noderivatives|public domain|mark"
        r"|international|unported|universal|license|\d\.\d|[^a-z ]",
        " ",
        leftover,
    )
    return len(leftover.split()) <= 3


def _sentence_role(lead: str, norm: str, previous: str | None) -> str:
    """``article``, ``part`` or ``other`` for a sentence naming a licence, from the words before it."""
    if _PART.search(lead):
        return "part"
    if _BACK_REFERENCE.search(lead):
        return previous or "article"
    if _SELF.search(lead) or _is_short(norm):
        return "article"
    return "other"


def read_evidence(text: str) -> Reading:
    """Read one piece of evidence (a CC URL, a code, a statement, a flag) about the article."""
    text = (text or "").strip()
    if not text:
        return Reading()
    if _AGAINST.match(text):
        return Reading(against=text)
    reading, previous, restrictions = Reading(), None, set()
    for sentence in _SENTENCES.split(text):
        norm = normalise_text(sentence)
        named = _mentions(norm)
        any_cc = _CC_ANY.search(norm)
        starts = [p for p, _ in named] + ([any_cc.start()] if any_cc else [])
        if not starts:
            if not _PART.search(norm):
                restrictions |= {
                    f for f, rx in (("nc", _NON_COMMERCIAL), ("nd", _NO_DERIVATIVES)) if rx.search(norm)
                }
            continue
        lead = norm[: min(starts)]
        role = _sentence_role(lead, norm, previous)
        if named:
            previous = role
        if role != "article":
            reading.aside.append(norm)
            continue
        if _NEGATION.search(lead):
            reading.against = reading.against or f"denies a Creative Commons licence: {_squash(sentence)}"
            continue
        reading.licences += [lic for _, lic in named]
        restrictions |= {f for f, rx in (("nc", _NON_COMMERCIAL), ("nd", _NO_DERIVATIVES)) if rx.search(norm)}
    if reading.licences:
        merged = _merge([("statement", lic) for lic in reading.licences])
        if isinstance(merged, str):
            reading.doubt = f"names different licences ({merged})"
        elif reading.against:
            reading.doubt = f"both names {merged.hub_id} and {reading.against}"
        else:
            missing = [f for f in sorted(restrictions) if f not in merged.hub_id.split("-")]
            if missing and merged.hub_id.startswith("cc-by"):
                words = {"nc": "non-commercial use", "nd": "no derivatives"}
                reading.doubt = (
                    f"restricts to {' and '.join(words[f] for f in missing)} but names {merged.hub_id}"
                )
            reading.licences = [merged]
    return reading


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def parse_license(evidence: str) -> License:
    """Parse one piece of licence evidence: a CC URL, a statement or a short code.

    Returns a License with ``hub_id="unknown"`` for anything that is not a Creative
    Commons licence of this work (copyright lines, paywall notices, sentences about a
    figure, data or third-party material, negations); a statement that contradicts
    itself is ``unknown`` with ``conflict`` saying why.
    """
    text = (evidence or "").strip()
    if not text:
        return License(statement=None)
    reading = read_evidence(text)
    if reading.doubt:
        return License(statement=text, conflict=reading.doubt)
    if not reading.licences:
        return License(statement=text)
    return replace(reading.licences[0], statement=text)


def _label(item: str | tuple[str, str]) -> tuple[str, str]:
    if isinstance(item, tuple):
        return item
    return "evidence", item


def _version(hub_id: str) -> str | None:
    m = re.search(r"(\d\.\d)$", hub_id)
    return m.group(1) if m else None


def _family(hub_id: str) -> str:
    return re.sub(r"-\d\.\d$", "", hub_id)


def _merge(found: list[tuple[str, License]]) -> License | str:
    """The most specific of agreeing licences, or a description of the disagreement."""
    families = {_family(lic.hub_id) for _, lic in found}
    versions = {v for _, lic in found if (v := _version(lic.hub_id))}
    if len(families) > 1 or len(versions) > 1:
        return "; ".join(f"{src}={lic.hub_id}" for src, lic in found)
    # Prefer a versioned licence, and a statement from prose over a bare URL.
    best = max(found, key=lambda f: (_version(f[1].hub_id) is not None, f[1].url is not None))[1]
    prose = [lic.statement for _, lic in found if lic.statement and not _BARE_URL.match(lic.statement)]
    return replace(best, statement=max(prose, key=len) if prose else best.statement)


def decide(evidence: Sequence[str | tuple[str, str]]) -> License:
    """Combine several pieces of evidence into one licence, or report a conflict.

    Each item is either a string or a ``(source, text)`` pair (e.g. ``("crossref",
    "http://creativecommons.org/licenses/by/4.0/")``). Evidence that is not a CC
    licence of the article is recorded but ignored. Evidence that agrees (same licence
    family and the same version, or no version given) is merged into the most specific
    licence. Disagreement, a denial (a negated statement, ``copyright.open=false``, a
    licence not yet in force) beside a licence, or a statement that contradicts itself
    yields ``hub_id="unknown"`` with ``conflict`` set: never a guess.
    """
    recorded: list[str] = []
    found: list[tuple[str, License]] = []
    against: list[str] = []
    doubts: list[str] = []
    for item in evidence:
        source, text = _label(item)
        if not text:
            continue
        recorded.append(f"{source}: {text}")
        reading = read_evidence(text)
        if reading.doubt:
            doubts.append(f"{source} {reading.doubt}")
        elif reading.licences:
            found.append((source, replace(reading.licences[0], statement=text)))
        elif reading.against:
            against.append(f"{source} {reading.against}")
    if doubts:
        return License(evidence=recorded, conflict=f"licence evidence in doubt: {'; '.join(doubts)}")
    if not found:
        return License(evidence=recorded)
    merged = _merge(found)
    if isinstance(merged, str):
        return License(evidence=recorded, conflict=f"licence evidence disagrees: {merged}")
    if against:
        detail = "; ".join(f"{src}={lic.hub_id}" for src, lic in found)
        return License(
            evidence=recorded, conflict=f"licence evidence disagrees: {detail}; but {'; '.join(against)}"
        )
    return replace(merged, evidence=recorded)


def tier_allows(policy_tier: str, licence_tier: str | None) -> bool:
    """True when a licence of ``licence_tier`` is inside ``policy_tier`` (by < sa < nc < all)."""
    if policy_tier not in TIERS:
        raise ValueError(f"unknown licence tier {policy_tier!r}; choose one of {', '.join(TIERS)}")
    return licence_tier in TIERS and TIERS.index(licence_tier) <= TIERS.index(policy_tier)


@dataclass(frozen=True)
class LicensePolicy:
    """Keep papers whose licence is within ``tier``; every rejection has a reason code.

    Reason codes: ``kept``, ``unknown-license``, ``license-conflict``,
    ``paywalled``, ``above-policy:<tier>``.
    """

    tier: str = "all"

    def __post_init__(self) -> None:
        tier_allows(self.tier, "by")  # validates the tier name

    def check(self, item: Paper | License) -> tuple[bool, str]:
        if isinstance(item, Paper):
            if item.paywalled:
                return False, "paywalled"
            lic = item.license
        else:
            lic = item
        if lic.conflict:
            return False, "license-conflict"
        if lic.hub_id == "unknown" or lic.tier is None:
            return False, "unknown-license"
        if not tier_allows(self.tier, lic.tier):
            return False, f"above-policy:{lic.tier}"
        return True, "kept"
