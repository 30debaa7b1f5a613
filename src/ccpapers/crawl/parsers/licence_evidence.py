"""Collect licence evidence from a page or a JATS file as ``(source, text)`` pairs.

The pairs go to :func:`ccpapers.licenses.decide`, which merges agreeing evidence and
reports conflicts (``decide_licence`` wraps it to keep the verbatim statement); ``dc.rights``/copyright lines are never used
(they are copyright notices, not licences).

HTML sources: ``rights-link`` (CC link in the Rights and permissions section or any
``rel="license"`` link), ``rights-statement`` (the statement paragraph, verbatim),
``rightslink-oa`` (the ``oa=`` parameter of the RightsLink "Reprints and permissions"
URL), ``datalayer-licence`` / ``datalayer-open`` (``webtrendsLicenceType`` and
``copyright.open`` from the dataLayer script).
JATS sources: ``jats-ali`` (``ali:license_ref``), ``jats-license-href``
(``license/@xlink:href``), ``jats-ext-link`` (CC link inside ``license-p``),
``jats-license-p`` (statement text), ``jats-license-type`` (a licence-like
``@license-type``; "open-access" is a flag and is skipped).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ccpapers.crawl.parsers.text import squash
from ccpapers.licenses import decide, parse_license
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


def html_evidence(doc: Any) -> list[tuple[str, str]]:
    """Licence evidence from an lxml.html document of a nature.com article page."""
    pairs = _Pairs()
    for container in doc.xpath(_RIGHTS_XPATH):
        for a in container.iter("a"):
            href = a.get("href") or ""
            if "creativecommons.org" in href:
                pairs.add("rights-link", href)
        for p in container.iter("p"):
            if "c-article-rights" in (p.get("class") or "").split():
                continue
            pairs.add("rights-statement", p.text_content())  # closed wording kept as provenance
    for a in doc.xpath("//a[@rel='license'] | //link[@rel='license']"):
        href = a.get("href") or ""
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


def _in_force(licences: list[Any], today: dt.date) -> list[Any]:
    """Of several dated licences keep the latest that has started; undated ones stay."""
    dated = [(d, lic) for lic in licences if (d := _start_date(lic))]
    if len(dated) < 2:
        return licences
    started = [(d, lic) for d, lic in dated if d[:10] <= today.isoformat()]
    keep = {id(max(started, key=lambda x: x[0])[1])} if started else set()
    return [lic for lic in licences if not _start_date(lic) or id(lic) in keep]


def jats_evidence(root: Any, today: dt.date | None = None) -> list[tuple[str, str]]:
    """Licence evidence from a parsed JATS tree (Springer Nature or PMC flavour)."""
    pairs = _Pairs()
    licences = [el for el in root.iter() if _local(el) == "license"]
    for lic in _in_force(licences, today or dt.date.today()):
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
                pairs.add("jats-license-p", "".join(p.itertext()))
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
