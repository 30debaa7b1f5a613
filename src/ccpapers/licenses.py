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
from dataclasses import dataclass, replace

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
# Phrases that make a sentence a licence statement about *this* work.
_SELF_REFERENCE = re.compile(
    r"\b(this|the present) (article|work|paper|chapter|book|version|publication)\b"
    r"|\bopen access\b|\bunder the terms of the creative commons\b"
    r"|^\W*(licen[sc]e|rights)\b",
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


def _normalise_text(text: str) -> str:
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


def _from_words(norm: str) -> License | None:
    if re.search(r"public domain mark|publicdomain/mark", norm):
        return _make(frozenset({"mark"}), "1.0", None)
    m = _LONG_FORM.search(norm)
    if m:
        parsed = _flags_from_words(m.group("body"))
        if parsed:
            return _make(parsed[0], parsed[1], None)
    m = _SHORT_CODE.search(norm)
    if m:
        code = re.sub(r"[\s\-]+", "-", m.group("code").lower())
        if code in ("0", "zero"):
            return _make(frozenset({"zero"}), "1.0", None)
        return _make(frozenset(code.split("-")[1:]), m.group("ver"), None)
    return None


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


def _is_about_this_work(norm: str) -> bool:
    """A statement counts if it speaks about this work, or is little more than a code."""
    if _SELF_REFERENCE.search(norm):
        return True
    leftover = _SHORT_CODE.sub(" ", norm)
    leftover = re.sub(
        r"creative commons|attribution|noncommercial|sharealike|noderivatives"
        r"|international|unported|license|\d\.\d|[^a-z ]",
        " ",
        leftover,
    )
    return len(leftover.split()) <= 3


def parse_license(evidence: str) -> License:
    """Parse one piece of licence evidence: a CC URL, a statement or a short code.

    Returns a License with ``hub_id="unknown"`` for anything that is not a Creative
    Commons licence of this work (copyright lines, paywall notices, sentences that
    merely mention a licence of something else).
    """
    text = (evidence or "").strip()
    if not text:
        return License(statement=None)
    lic = _from_url(text)
    if lic is None:
        norm = _normalise_text(text)
        lic = _from_words(norm) if _is_about_this_work(norm) else None
    if lic is None:
        return License(statement=text)
    return replace(lic, statement=text)


def _label(item: str | tuple[str, str]) -> tuple[str, str]:
    if isinstance(item, tuple):
        return item
    return "evidence", item


def _version(hub_id: str) -> str | None:
    m = re.search(r"(\d\.\d)$", hub_id)
    return m.group(1) if m else None


def _family(hub_id: str) -> str:
    return re.sub(r"-\d\.\d$", "", hub_id)


def decide(evidence: Sequence[str | tuple[str, str]]) -> License:
    """Combine several pieces of evidence into one licence, or report a conflict.

    Each item is either a string or a ``(source, text)`` pair (e.g. ``("crossref",
    "http://creativecommons.org/licenses/by/4.0/")``). Evidence that is not a CC
    licence is recorded but ignored. Evidence that agrees (same licence family and the
    same version, or no version given) is merged into the most specific licence;
    disagreement yields ``hub_id="unknown"`` with ``conflict`` set, never a guess.
    """
    recorded: list[str] = []
    found: list[tuple[str, License]] = []
    for item in evidence:
        source, text = _label(item)
        if not text:
            continue
        recorded.append(f"{source}: {text}")
        lic = parse_license(text)
        if lic.hub_id != "unknown":
            found.append((source, lic))
    if not found:
        return License(evidence=recorded)
    families = {_family(lic.hub_id) for _, lic in found}
    versions = {v for _, lic in found if (v := _version(lic.hub_id))}
    if len(families) > 1 or len(versions) > 1:
        detail = "; ".join(f"{src}={lic.hub_id}" for src, lic in found)
        return License(evidence=recorded, conflict=f"licence evidence disagrees: {detail}")
    # Prefer a versioned licence, and a statement from prose over a bare URL.
    best = max(found, key=lambda f: (_version(f[1].hub_id) is not None, f[1].url is not None))[1]
    prose = [lic.statement for _, lic in found if lic.statement and not _BARE_URL.match(lic.statement)]
    statement = max(prose, key=len) if prose else best.statement
    return replace(best, statement=statement, evidence=recorded)


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
