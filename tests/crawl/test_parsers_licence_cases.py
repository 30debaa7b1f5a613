"""Crafted pages and JATS files: only article-level licence evidence counts, doubt rejects.

Each row is a small page or JATS file built around one trap (a licence link in a figure
credit, a JATS ``<license>`` inside ``<fig>``, a licence that starts in the future ...) and
the decision the parser must reach: the Hub id, and whether a conflict must be reported.
"""

from __future__ import annotations

import json

import pytest

from ccpapers.crawl.parsers import parse_bytes
from ccpapers.licenses import LicensePolicy

BY4 = "http://creativecommons.org/licenses/by/4.0/"
BY_NC4 = "http://creativecommons.org/licenses/by-nc/4.0/"


def html_page(body: str = "", rights: str = "", head: str = "", layer: dict | None = None) -> bytes:
    """A current-template nature.com page with one Introduction, ``body`` inside it."""
    script = f'<script data-test="dataLayer">dataLayer = [{json.dumps(layer)}];</script>' if layer else ""
    rights_section = (
        '<section data-title="Rights and permissions"><div class="c-article-section">'
        '<h2 id="rightslink">Rights and permissions</h2><div id="rightslink-content">'
        f"{rights}</div></div></section>"
        if rights
        else ""
    )
    return (
        f'<!DOCTYPE html><html><head><meta name="citation_doi" content="10.1038/s41467-099-00001-1">'
        f'{head}{script}</head><body><div class="c-article-body">'
        '<section data-title="Introduction"><div class="c-article-section"><h2>Introduction</h2>'
        f'<div class="c-article-section__content"><p>Intro text.</p>{body}</div></div></section>'
        f"{rights_section}</div></body></html>"
    ).encode()


def jats(permissions: str = "", body: str = "", meta: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><article xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:ali="http://www.niso.org/schemas/ali/1.0/"><front><article-meta>'
        f'<article-id pub-id-type="doi">10.1/x</article-id>{meta}{permissions}</article-meta></front>'
        f"<body><sec><title>Introduction</title><p>Intro text.</p>{body}</sec></body></article>"
    ).encode()


FIGURE_CREDIT = (
    '<div class="c-article-section__figure" data-test="figure"><figure><figcaption>Fig. 1: Map. '
    f'Base map: OpenStreetMap, <a rel="license" href="{BY4}">CC BY 4.0</a>.</figcaption></figure></div>'
)
FIGURE_CREDIT_IN_TEXT = (
    f'<p>Base map adapted from OpenStreetMap (<a rel="license" href="{BY4}">CC BY</a>).</p>'
)
CLOSED = {"content": {"attributes": {"copyright": {"open": False, "legacy": {"webtrendsLicenceType": None}}}}}
OA_STATEMENT = (
    "<p><b>Open Access</b> This article is licensed under a Creative Commons Attribution 4.0 International "
    f'License. To view a copy of this licence, visit <a href="{BY4}" rel="license">{BY4}</a>.</p>'
)

#: (case, file bytes, extra evidence, expected hub_id, words the conflict must hold or None)
CASES: list[tuple[str, bytes, list[tuple[str, str]], str, str | None]] = [
    ("html: rel=license in a figure credit", html_page(FIGURE_CREDIT), [], "unknown", None),
    ("html: rel=license in a body paragraph", html_page(FIGURE_CREDIT_IN_TEXT), [], "unknown", None),
    (
        "html: Rights section speaks of a figure, with a link",
        html_page(
            rights=f'<p>Figure 2 was adapted from ref. 3 under a <a href="{BY4}">CC BY 4.0 licence</a>.</p>'
        ),
        [],
        "unknown",
        None,
    ),
    (
        "html: Rights section speaks of third-party material",
        html_page(
            rights="<p>Third-party material in this article is included under a Creative Commons "
            f'Attribution 4.0 licence from their original sources (<a href="{BY4}">licence</a>).</p>'
        ),
        [],
        "unknown",
        None,
    ),
    (
        "html: data-availability sentence in the Rights section",
        html_page(
            rights="<p>The data that support the findings of this study are openly available under "
            f'<a href="{BY4}">CC BY 4.0</a>.</p>'
        ),
        [],
        "unknown",
        None,
    ),
    (
        "html: negated statement with a link",
        html_page(
            rights="<p>This article is not published under a Creative Commons Attribution licence "
            f'(<a href="{BY4}">CC BY</a>).</p>'
        ),
        [],
        "unknown",
        "denies",
    ),
    (
        "html: NonCommercial statement ending with a by/4.0 link",
        html_page(rights=OA_STATEMENT.replace("Attribution 4.0", "Attribution-NonCommercial 4.0")),
        [],
        "unknown",
        "cc-by-nc-4.0",
    ),
    (
        "html: dataLayer copyright.open=false beside a CC BY statement",
        html_page(rights=OA_STATEMENT, layer=CLOSED),
        [],
        "unknown",
        "copyright.open=false",
    ),
    ("html: a CC BY statement in the Rights section", html_page(rights=OA_STATEMENT), [], "cc-by-4.0", None),
    (
        "html: <link rel=license> in the head",
        html_page(head=f'<link rel="license" href="{BY4}">'),
        [],
        "cc-by-4.0",
        None,
    ),
    (
        "jats: <license> inside <fig>",
        jats(
            body=f'<fig id="F1"><caption><p>Map.</p></caption><permissions><license xlink:href="{BY4}">'
            "<license-p>CC BY 4.0</license-p></license></permissions></fig>"
        ),
        [],
        "unknown",
        None,
    ),
    (
        "jats: <license> inside <supplementary-material>",
        jats(
            body=f"<supplementary-material><permissions><license><ali:license_ref>{BY4}</ali:license_ref>"
            "</license></permissions></supplementary-material>"
        ),
        [],
        "unknown",
        None,
    ),
    (
        "jats: article licence beside a figure's other licence",
        jats(
            permissions=f'<permissions><license xlink:href="{BY4}"><license-p>This article is licensed under '
            "a Creative Commons Attribution 4.0 International License.</license-p></license></permissions>",
            body=f'<fig><permissions><license xlink:href="{BY_NC4}"/></permissions></fig>',
        ),
        [],
        "cc-by-4.0",
        None,
    ),
    (
        "jats: the only licence starts in the future",
        jats(
            f'<permissions><license><ali:license_ref start_date="2999-01-01">{BY4}</ali:license_ref>'
            "</license></permissions>"
        ),
        [],
        "unknown",
        None,
    ),
    (
        "jats: licence not yet in force beside Crossref's CC BY",
        jats(
            f'<permissions><license><ali:license_ref start_date="2999-01-01">{BY4}</ali:license_ref>'
            "</license></permissions>"
        ),
        [("crossref", BY4)],
        "unknown",
        "2999-01-01",
    ),
    (
        "jats: negated license-p beside an ali licence",
        jats(
            f"<permissions><license><ali:license_ref>{BY4}</ali:license_ref><license-p>This article is not "
            "distributed under a Creative Commons licence.</license-p></license></permissions>"
        ),
        [],
        "unknown",
        "denies",
    ),
    (
        "jats: old PMC copyright-statement outside <permissions>",
        jats(
            meta="<copyright-statement>Smith et al. This is an open-access article distributed under the "
            "terms of the Creative Commons Attribution License, which permits unrestricted use, distribution, "
            "and reproduction in any medium, provided the original author and source are credited."
            "</copyright-statement><copyright-year>2007</copyright-year>"
        ),
        [],
        "cc-by",
        None,
    ),
    (
        "jats: copyright line only",
        jats(
            meta="<permissions><copyright-statement>\u00a9 Springer-Verlag Berlin Heidelberg 2014"
            "</copyright-statement></permissions>"
        ),
        [],
        "unknown",
        None,
    ),
]


@pytest.mark.parametrize(("case", "data", "extra", "hub_id", "conflict"), CASES, ids=[c[0] for c in CASES])
def test_only_article_level_evidence_counts(
    case: str, data: bytes, extra: list[tuple[str, str]], hub_id: str, conflict: str | None
) -> None:
    lic = parse_bytes(data, extra_evidence=extra).license
    assert lic.hub_id == hub_id, lic
    if conflict is None:
        assert lic.conflict is None, lic.conflict
    else:
        assert conflict in (lic.conflict or ""), lic.conflict
    if hub_id == "unknown":
        assert not LicensePolicy("all").check(lic)[0]


def test_pending_licence_is_recorded_with_its_date() -> None:
    data = jats(
        f'<permissions><license><ali:license_ref start_date="2999-01-01">{BY4}</ali:license_ref>'
        "</license></permissions>"
    )
    lic = parse_bytes(data).license
    assert any("not in force until 2999-01-01" in e for e in lic.evidence), lic.evidence
