"""Collect licence evidence from a page or a JATS file as ``(source, text)`` pairs.

The pairs go to :func:`ccpapers.licenses.decide`, which reads each one, merges agreeing
evidence and reports conflicts and doubt (``decide_licence`` wraps it to keep the verbatim
statement). Only article-level places are read: a licence link in a figure credit or a JATS
``<license>`` inside ``<fig>`` is not the article's. ``dc.rights`` is never used (a copyright
notice, not a licence).

HTML sources: ``rights-link`` (CC link in the Rights and permissions section, unless its
sentence speaks of a figure, data or third-party material), ``rel-license`` (a ``<link
rel="license">`` in the head), ``rights-statement`` (the statement paragraph, verbatim),
``rightslink-oa`` (the ``oa=`` parameter of the RightsLink "Reprints and permissions"
URL), ``datalayer-licence`` / ``datalayer-open`` (``webtrendsLicenceType`` and
``copyright.open`` from the dataLayer script; ``copyright.open=false`` speaks against
any CC licence).
JATS sources (``front/article-meta`` only): ``jats-ali`` (``ali:license_ref``),
``jats-license-href`` (``license/@xlink:href``), ``jats-ext-link`` (CC link inside
``license-p``), ``jats-license-p`` (statement text), ``jats-license-type`` (a licence-like
``@license-type``; "open-access" is a flag and is skipped), ``jats-copyright-statement``
(old PMC files state the licence there), ``jats-license-pending`` (the only licences start
after today: not in force).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ccpapers.crawl.parsers.text import squash
from ccpapers.licenses import decide, normalise_text, parse_license, read_evidence
from ccpapers.types import License

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_RIGHTS_XPATH = (
    "//section[@data-title='Rights and permissions'] | //*[@id='rightslink-content']"
    " | //section[@aria-labelledby='rightslink']"
)


class _Pairs:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, source: str, text: str | None) -> None:
        text = squash(text or "")
        if text and (source, text) not in self.items:
            self.items.append((source, text))


def rightslink_oa(href: str) -> str | None:
    """The ``oa=`` value of a RightsLink (s100.copyright.com) URL, e.g. ``CC BY``."""
    if "copyright.com" not in href:
        return None
    values = parse_qs(urlsplit(href).query).get("oa")
    return values[0] if values else None


def datalayer(doc: Any) -> dict[str, Any] | None:
    """The first object of the page's ``dataLayer = [{...}];`` script, or None."""
    for script in doc.iter("script"):
        text = script.text or ""
        if "dataLayer" not in text:
            continue
        start, end = text.find("[{"), text.rfind("}]")
        if start < 0 or end < start:
            continue
        try:
            data = json.loads(text[start : end + 2])
        except ValueError:
            continue
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return data[0]
    return None


def _dig(data: dict[str, Any], *keys: str) -> Any:
    cur: Any = data
    for key in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def _article_links(p: Any) -> list[str]:
    """The CC links of a Rights paragraph that speak for the article.

    The paragraph is read with each link's address in place of its text, sentence by
    sentence: a link in a sentence about a figure, data or third-party material ("Figure 2
    was adapted ... under a <a>CC BY licence</a>") is not the article's licence.
    """
    hrefs = [a.get("href") or "" for a in p.iter("a")]
    hrefs = [h for h in hrefs if "creativecommons.org" in h]
    if not hrefs:
        return []
    clone = copy.deepcopy(p)
    for a in clone.iter("a"):
        href = a.get("href") or ""
        if "creativecommons.org" in href:
            for child in list(a):
                a.remove(child)
            a.text = f" {href} "
    aside = " ".join(read_evidence(squash(clone.text_content())).aside)
    return [h for h in hrefs if normalise_text(h) not in aside]


def html_evidence(doc: Any) -> list[tuple[str, str]]:
    """Licence evidence from an lxml.html document of a nature.com article page.

    Only article-level places count: the Rights and permissions section, a ``<link
    rel="license">`` in the head, the RightsLink URL and the dataLayer. A ``rel="license"``
    link elsewhere (a figure credit, a body paragraph) is not the page's licence.
    """
    pairs = _Pairs()
    for container in doc.xpath(_RIGHTS_XPATH):
        for a in container.iter("a"):
            href = a.get("href") or ""
            if "creativecommons.org" in href and a.xpath("ancestor::p") == []:
                pairs.add("rights-link", href)
        for p in container.iter("p"):
            if "c-article-rights" in (p.get("class") or "").split():
                continue
            for href in _article_links(p):
                pairs.add("rights-link", href)
            pairs.add("rights-statement", p.text_content())  # closed wording kept as provenance
    for link in doc.xpath("//head//link[@rel='license']"):
        href = link.get("href") or ""
        if "creativecommons.org" in href and ("rights-link", squash(href)) not in pairs.items:
            pairs.add("rel-license", href)
    for a in doc.xpath("//a[contains(@href, 'copyright.com')]"):
        pairs.add("rightslink-oa", rightslink_oa(a.get("href") or ""))
    layer = datalayer(doc)
    if layer:
        copyright = _dig(layer, "content", "attributes", "copyright") or {}
        lic = _dig(copyright, "legacy", "webtrendsLicenceType")
        if isinstance(lic, str):
            pairs.add("datalayer-licence", lic)
        if isinstance(copyright, dict) and isinstance(copyright.get("open"), bool):
            pairs.add("datalayer-open", f"copyright.open={str(copyright['open']).lower()}")
    return pairs.items


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _start_date(lic: Any) -> str | None:
    for el in lic.iter():
        if _local(el) == "license_ref" and el.get("start_date"):
            return el.get("start_date")
    return lic.get("start_date")


def _in_force(licences: list[Any], today: dt.date) -> tuple[list[Any], list[tuple[str, Any]]]:
    """(licences in force, pending ones): of several started licences the latest counts.

    Undated licences stay. A licence whose start date is still ahead is not in force; it is
    returned as pending when nothing else is in force, so the decision can say why.
    """
    started = [(d, lic) for lic in licences if (d := _start_date(lic)) and d[:10] <= today.isoformat()]
    pending = [(d, lic) for lic in licences if (d := _start_date(lic)) and d[:10] > today.isoformat()]
    latest = {id(max(started, key=lambda x: x[0])[1])} if started else set()
    keep = [lic for lic in licences if not _start_date(lic) or id(lic) in latest]
    return keep, ([] if keep else pending)


def _children(el: Any | None, name: str) -> list[Any]:
    return [c for c in (el if el is not None else []) if _local(c) == name]


def _licence_text(p: Any) -> str:
    """Text of a ``license-p``; a leading bold label keeps its space ("Open Access This ...")."""
    parts = [p.text or ""]
    for child in p:
        text = "".join(child.itertext())
        tail = child.tail or ""
        if _local(child) == "bold" and not "".join(parts).strip() and tail[:1].isalnum():
            text += " "
        parts += [text, tail]
    return "".join(parts)


def jats_evidence(root: Any, today: dt.date | None = None) -> list[tuple[str, str]]:
    """Licence evidence from a parsed JATS ``<article>`` (Springer Nature or PMC flavour).

    Only the article's own permissions count: ``front/article-meta/permissions/license``
    and the copyright statement of ``article-meta`` (old PMC files put the licence sentence
    there, outside ``<permissions>``). Licences of figures, tables or supplementary files
    are not the article's.
    """
    pairs = _Pairs()
    meta = next(iter(_children(next(iter(_children(root, "front")), None), "article-meta")), None)
    permissions = _children(meta, "permissions")
    licences = [lic for perm in permissions for lic in _children(perm, "license")]
    in_force, pending = _in_force(licences, today or dt.date.today())
    for start, lic in pending:
        hrefs = [lic.get(XLINK_HREF) or ""] + [
            el.text or "" for el in lic.iter() if _local(el) == "license_ref"
        ]
        pairs.add(
            "jats-license-pending",
            f"licence not in force until {start[:10]}: {' '.join(h for h in hrefs if h)}",
        )
    for lic in in_force:
        for el in lic.iter():
            name = _local(el)
            if name == "license_ref":
                pairs.add("jats-ali", el.text)
            elif name in ("ext-link", "uri"):
                href = el.get(XLINK_HREF) or el.text or ""
                if "creativecommons.org" in href:
                    pairs.add("jats-ext-link", href)
        pairs.add("jats-license-href", lic.get(XLINK_HREF))
        ltype = (lic.get("license-type") or "").strip()
        if ltype and re.sub(r"[\s_\-]", "", ltype.lower()) not in ("openaccess", "open"):
            pairs.add("jats-license-type", ltype)
        for p in lic.iter():
            if _local(p) == "license-p":
                pairs.add("jats-license-p", _licence_text(p))
    for holder in [meta, *permissions]:
        for statement in _children(holder, "copyright-statement"):
            pairs.add("jats-copyright-statement", "".join(statement.itertext()))
    return pairs.items


_STATEMENT_SOURCES = ("rights-statement", "jats-license-p")


def decide_licence(evidence: list[str | tuple[str, str]]) -> License:
    """:func:`ccpapers.licenses.decide`, keeping the page's verbatim statement.

    ``decide`` prefers statements without a URL; the nature.com statement ends with the
    licence URL as link text, so the agreeing statement paragraph is put back here.
    """
    lic = decide(evidence)
    if lic.hub_id == "unknown" or lic.conflict:
        return lic
    for item in evidence:
        if isinstance(item, tuple) and item[0] in _STATEMENT_SOURCES:
            if parse_license(item[1]).hub_id == lic.hub_id:
                lic.statement = item[1]
                break
    return lic
