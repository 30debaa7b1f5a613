"""Table-driven tests of the licence engine on real-world statement and URL strings."""

from __future__ import annotations

import pytest

from ccpapers.licenses import LicensePolicy, decide, parse_license, tier_allows
from ccpapers.types import License, Paper

POSITIVES: list[tuple[str, str, str]] = [
    # (evidence, hub_id, tier)
    ("http://creativecommons.org/licenses/by/4.0/", "cc-by-4.0", "by"),
    ("https://creativecommons.org/licenses/by/4.0", "cc-by-4.0", "by"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode", "cc-by-4.0", "by"),
    ("https://creativecommons.org/licenses/by/4.0/deed.en", "cc-by-4.0", "by"),
    ("http://www.creativecommons.org/licenses/by/3.0/", "cc-by-3.0", "by"),
    ("https://creativecommons.org/licenses/by/3.0/us/", "cc-by-3.0", "by"),
    ("http://creativecommons.org/licenses/by-nc-sa/3.0/", "cc-by-nc-sa-3.0", "nc"),
    ("http://creativecommons.org/licenses/by-nc-nd/4.0/", "cc-by-nc-nd-4.0", "all"),
    ("http://creativecommons.org/licenses/by-nc-nd/3.0/", "cc-by-nc-nd-3.0", "all"),
    ("https://creativecommons.org/licenses/by-nc/4.0/legalcode.en", "cc-by-nc-4.0", "nc"),
    ("https://creativecommons.org/licenses/by-sa/4.0/", "cc-by-sa-4.0", "sa"),
    ("https://creativecommons.org/licenses/by-nd/4.0/", "cc-by-nd-4.0", "all"),
    ("https://creativecommons.org/licenses/by-nd/3.0/", "cc-by-nd-3.0", "all"),
    ("https://creativecommons.org/publicdomain/zero/1.0/", "cc0-1.0", "by"),
    ("http://creativecommons.org/publicdomain/mark/1.0/", "pdm-1.0", "by"),
    (
        "This article is licensed under a Creative Commons Attribution 4.0 International License, "
        "which permits use, sharing, adaptation, distribution and reproduction in any medium or format.",
        "cc-by-4.0",
        "by",
    ),
    (
        "Open Access This article is licensed under a Creative Commons Attribution 4.0 International "
        "License. To view a copy of this licence, visit http://creativecommons.org/licenses/by/4.0/.",
        "cc-by-4.0",
        "by",
    ),
    (
        "This work is licensed under a Creative Commons Attribution 4.0 International License. The "
        "images or other third party material in this article are included in the article's Creative "
        "Commons license, unless indicated otherwise in the credit line.",
        "cc-by-4.0",
        "by",
    ),
    (
        "This work is licensed under a Creative Commons Attribution 3.0 Unported License.",
        "cc-by-3.0",
        "by",
    ),
    (
        "This work is licensed under a Creative Commons Attribution-NonCommercial-ShareAlike 3.0 "
        "Unported Licence.",
        "cc-by-nc-sa-3.0",
        "nc",
    ),
    (
        "This article is licensed under a Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 "
        "International License, which permits any non-commercial use, sharing, distribution and "
        "reproduction in any medium or format.",
        "cc-by-nc-nd-4.0",
        "all",
    ),
    (
        "This work is licensed under a Creative Commons Attribution-NonCommercial-NoDerivs 3.0 Unported "
        "License.",
        "cc-by-nc-nd-3.0",
        "all",
    ),
    (
        "Where not otherwise stated, this work is licensed under a Creative Commons Attribution 4.0 "
        "International License.",
        "cc-by-4.0",
        "by",
    ),
    ("CC BY-NC-ND 4.0", "cc-by-nc-nd-4.0", "all"),
    ("CC BY 4.0", "cc-by-4.0", "by"),
    ("CC-BY-4.0", "cc-by-4.0", "by"),
    ("cc by-nc 3.0", "cc-by-nc-3.0", "nc"),
    ("CC BY-SA 4.0", "cc-by-sa-4.0", "sa"),
    ("oa=CC BY-NC-SA", "cc-by-nc-sa", "nc"),
    ("CC0", "cc0-1.0", "by"),
    ("CC0 1.0 Universal", "cc0-1.0", "by"),
    ("Public Domain Mark", "pdm-1.0", "by"),
    ("This work is free of known copyright restrictions (public domain mark 1.0).", "pdm-1.0", "by"),
    # messy variants
    (
        "This article is licensed under a Creative Commons Attribution\u2010NonCommercial\u2010ShareAlike "
        "3.0 Unported Licence",
        "cc-by-nc-sa-3.0",
        "nc",
    ),
    (
        "This article is licensed under a Creative  Commons Attribution  4.0 International Licence",
        "cc-by-4.0",
        "by",
    ),
    (
        "This article is distributed under the terms of the Creative Commons Attribution Non-Commercial "
        "Share Alike 4.0 International License",
        "cc-by-nc-sa-4.0",
        "nc",
    ),
    (
        "Open Access: this article is licensed under the Creative Commons Attribution-ShareALike 4.0 license",
        "cc-by-sa-4.0",
        "sa",
    ),
    (
        "This article is published under a Creative Commons Attribution-Non Commercial-No Derivatives "
        "license",
        "cc-by-nc-nd",
        "all",
    ),
    ("This work is licensed under a Creative Commons Attribution License.", "cc-by", "by"),
    ("Open Access This article is licensed under a CC BY 4.0 licence.", "cc-by-4.0", "by"),
    (
        "This article is licensed under a Creative Commons \u2013 Attribution 4.0 International license",
        "cc-by-4.0",
        "by",
    ),
    (
        "This article is dedicated to the public domain under the Creative Commons CC0 1.0 Universal "
        "Public Domain Dedication.",
        "cc0-1.0",
        "by",
    ),
]

NEGATIVES = [
    "This is a preview of subscription content, access via your institution",
    "\u00a9 2020 Springer Nature",
    "The Author(s) 2022",
    "\u00a9 The Author(s), under exclusive licence to Springer Nature Limited 2023",
    "Springer Nature or its licensor (e.g. a society or other partner) holds exclusive rights to this "
    "article under a publishing agreement with the author(s) or other rightsholder(s).",
    "Satellite images were obtained from the Sentinel archive and are available under CC BY 4.0; we "
    "processed them with custom Python scripts.",
    "Micrographs from a public repository released under a CC BY licence were segmented with ImageJ.",
    "http://www.springer.com/tdm",
    "https://www.springernature.com/gp/researchers/text-and-data-mining",
    "Reprints and permissions",
    "",
    "https://creativecommons.org/licenses/by-nd-sa/4.0/",
]


@pytest.mark.parametrize(("evidence", "hub_id", "tier"), POSITIVES)
def test_parse_positive(evidence: str, hub_id: str, tier: str) -> None:
    lic = parse_license(evidence)
    assert lic.hub_id == hub_id
    assert lic.tier == tier
    assert lic.statement == evidence


@pytest.mark.parametrize("evidence", NEGATIVES)
def test_parse_negative(evidence: str) -> None:
    lic = parse_license(evidence)
    assert lic.hub_id == "unknown"
    assert lic.tier is None
    keep, reason = LicensePolicy("all").check(lic)
    assert not keep and reason == "unknown-license"


def test_enough_cases() -> None:
    assert len(POSITIVES) + len(NEGATIVES) >= 40
    assert {t for _, _, t in POSITIVES} == {"by", "sa", "nc", "all"}


@pytest.mark.parametrize(
    ("hub_id", "commercial", "derivatives", "share_alike", "on_hub"),
    [
        ("cc-by-4.0", True, True, False, True),
        ("cc-by-sa-4.0", True, True, True, True),
        ("cc-by-nc-4.0", False, True, False, True),
        ("cc-by-nc-sa-3.0", False, True, True, True),
        ("cc-by-nd-4.0", True, False, False, True),
        ("cc-by-nc-nd-4.0", False, False, False, True),
        ("cc-by-nd-3.0", True, False, False, False),
        ("cc0-1.0", True, True, False, True),
    ],
)
def test_flags(hub_id: str, commercial: bool, derivatives: bool, share_alike: bool, on_hub: bool) -> None:
    code = hub_id.removeprefix("cc-").rsplit("-", 1)[0]
    url = (
        "https://creativecommons.org/publicdomain/zero/1.0/"
        if hub_id == "cc0-1.0"
        else f"https://creativecommons.org/licenses/{code}/{hub_id.rsplit('-', 1)[1]}/"
    )
    lic = parse_license(url)
    assert lic.hub_id == hub_id
    assert (lic.commercial_ok, lic.derivatives_ok, lic.share_alike, lic.on_hub) == (
        commercial,
        derivatives,
        share_alike,
        on_hub,
    )
    assert lic.url == url


def test_canonical_url_is_https_with_slash() -> None:
    assert parse_license("http://creativecommons.org/licenses/by-nc-nd/4.0/legalcode").url == (
        "https://creativecommons.org/licenses/by-nc-nd/4.0/"
    )


def test_decide_agreeing_evidence_merges_and_keeps_statement() -> None:
    statement = "This article is licensed under a Creative Commons Attribution 4.0 International License"
    lic = decide(
        [
            ("crossref", "http://creativecommons.org/licenses/by/4.0/"),
            ("crossref", "http://www.springer.com/tdm"),
            ("rightslink", "oa=CC BY"),
            ("statement", statement),
        ]
    )
    assert lic.hub_id == "cc-by-4.0" and lic.conflict is None
    assert lic.statement == statement
    assert len(lic.evidence) == 4 and lic.evidence[0].startswith("crossref: ")


def test_decide_prefers_full_statement_ending_with_url() -> None:
    statement = (
        "Open Access This article is licensed under a Creative Commons Attribution 4.0 International "
        "License. To view a copy of this licence, visit http://creativecommons.org/licenses/by/4.0/."
    )
    lic = decide(
        [
            ("rights-link", "http://creativecommons.org/licenses/by/4.0/"),
            ("rightslink", "oa=CC BY"),
            ("statement", statement),
        ]
    )
    assert lic.statement == statement


def test_decide_versionless_refined_by_versioned() -> None:
    lic = decide(["oa=CC BY-NC-ND", "https://creativecommons.org/licenses/by-nc-nd/3.0/"])
    assert lic.hub_id == "cc-by-nc-nd-3.0"


def test_decide_reports_conflict_instead_of_guessing() -> None:
    lic = decide([("crossref", "http://creativecommons.org/licenses/by/4.0/"), ("page", "CC BY-NC-ND 4.0")])
    assert lic.hub_id == "unknown"
    assert "crossref=cc-by-4.0" in (lic.conflict or "") and "page=cc-by-nc-nd-4.0" in (lic.conflict or "")
    assert LicensePolicy("all").check(lic) == (False, "license-conflict")


def test_decide_version_conflict() -> None:
    lic = decide(["https://creativecommons.org/licenses/by/3.0/", "CC BY 4.0"])
    assert lic.conflict and lic.hub_id == "unknown"


def test_decide_no_cc_evidence_is_unknown() -> None:
    lic = decide(["\u00a9 2020 Springer Nature", "http://www.springer.com/tdm"])
    assert lic.hub_id == "unknown" and lic.conflict is None and len(lic.evidence) == 2


@pytest.mark.parametrize(
    ("policy", "kept"),
    [
        ("by", {"cc-by-4.0", "cc0-1.0", "pdm-1.0"}),
        ("sa", {"cc-by-4.0", "cc0-1.0", "pdm-1.0", "cc-by-sa-4.0"}),
        ("nc", {"cc-by-4.0", "cc0-1.0", "pdm-1.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-3.0"}),
        (
            "all",
            {
                "cc-by-4.0",
                "cc0-1.0",
                "pdm-1.0",
                "cc-by-sa-4.0",
                "cc-by-nc-4.0",
                "cc-by-nc-sa-3.0",
                "cc-by-nd-4.0",
                "cc-by-nc-nd-4.0",
            },
        ),
    ],
)
def test_policy_tiers(policy: str, kept: set[str]) -> None:
    evidence = {
        "cc-by-4.0": "CC BY 4.0",
        "cc0-1.0": "CC0",
        "pdm-1.0": "Public Domain Mark",
        "cc-by-sa-4.0": "CC BY-SA 4.0",
        "cc-by-nc-4.0": "CC BY-NC 4.0",
        "cc-by-nc-sa-3.0": "CC BY-NC-SA 3.0",
        "cc-by-nd-4.0": "CC BY-ND 4.0",
        "cc-by-nc-nd-4.0": "CC BY-NC-ND 4.0",
        "unknown": "The Author(s) 2022",
    }
    pol = LicensePolicy(policy)
    got = {hub for hub, text in evidence.items() if pol.check(parse_license(text))[0]}
    assert got == kept
    keep, reason = pol.check(parse_license("CC BY-NC-ND 4.0"))
    assert keep == (policy == "all")
    assert reason == ("kept" if keep else "above-policy:all")


def test_policy_rejects_paywalled_paper_and_bad_tier() -> None:
    paper = Paper(doi="10.1/x", title="t", journal="j", license=parse_license("CC BY 4.0"), paywalled=True)
    assert LicensePolicy().check(paper) == (False, "paywalled")
    with pytest.raises(ValueError, match="unknown licence tier"):
        LicensePolicy("commercial")
    assert tier_allows("nc", "sa") and not tier_allows("by", "sa") and not tier_allows("all", None)


def test_unknown_default_license_is_never_kept() -> None:
    for tier in ("by", "sa", "nc", "all"):
        assert LicensePolicy(tier).check(License()) == (False, "unknown-license")


# --- Licences never guess: only article-level evidence counts; doubt rejects with a reason ------------

BY4 = "http://creativecommons.org/licenses/by/4.0/"

#: (case, evidence, hub_id, words the conflict must hold, or None when there must be no conflict)
NO_GUESS: list[tuple[str, list[tuple[str, str]], str, str | None]] = [
    (
        "figure adapted under CC BY",
        [("rights-statement", "Figure 2 was adapted from ref. 14 under a CC BY 4.0 licence.")],
        "unknown",
        None,
    ),
    (
        "third-party material from original sources",
        [
            (
                "rights-statement",
                "Images and other third-party material in this article are included under a Creative "
                "Commons Attribution 4.0 licence from their original sources.",
            )
        ],
        "unknown",
        None,
    ),
    ("figures are CC BY", [("rights-statement", "Figures 1-3 are CC BY.")], "unknown", None),
    (
        "data availability",
        [
            (
                "rights-statement",
                "The data that support the findings of this study are available from Zenodo under a "
                "Creative Commons Attribution 4.0 International licence.",
            )
        ],
        "unknown",
        None,
    ),
    (
        "code availability",
        [("statement", "All code written for this work is released under CC BY 4.0 on GitHub.")],
        "unknown",
        None,
    ),
    (
        "figure statement then 'a copy of this licence'",
        [
            (
                "rights-statement",
                "Figure 3 is reproduced from ref. 9 under a CC BY 4.0 licence. To view a copy of this "
                f"licence, visit {BY4}.",
            )
        ],
        "unknown",
        None,
    ),
    (
        "negation alone",
        [("rights-statement", "This article is not published under a Creative Commons Attribution licence.")],
        "unknown",
        None,
    ),
    (
        "negation beside a CC link",
        [
            ("rights-link", BY4),
            (
                "rights-statement",
                "This article is not published under a Creative Commons Attribution licence.",
            ),
        ],
        "unknown",
        "denies",
    ),
    (
        "NonCommercial statement ending with a by/4.0 link",
        [
            (
                "rights-statement",
                "Open Access This article is licensed under a Creative Commons Attribution-NonCommercial 4.0 "
                f"International License. To view a copy of this licence, visit {BY4}.",
            )
        ],
        "unknown",
        "cc-by-nc-4.0",
    ),
    (
        "non-commercial words with a by/4.0 link",
        [
            (
                "rights-statement",
                "This article may be reused for non-commercial purposes only. To view a copy of the licence, "
                f"visit {BY4}.",
            )
        ],
        "unknown",
        "non-commercial",
    ),
    (
        "closed dataLayer flag beside a CC BY link",
        [("rights-link", BY4), ("datalayer-open", "copyright.open=false")],
        "unknown",
        "copyright.open=false",
    ),
    (
        "licence not yet in force beside Crossref's CC BY",
        [("crossref", BY4), ("jats-license-pending", f"licence not in force until 2999-01-01: {BY4}")],
        "unknown",
        "2999-01-01",
    ),
    # Article-level evidence still decides when parts of the article are mentioned too.
    (
        "article licence with a figure exception",
        [
            (
                "rights-statement",
                "This article is licensed under a Creative Commons Attribution 4.0 International License. "
                "Figure 3 is reproduced from ref. 9 under a CC BY-NC 4.0 licence.",
            )
        ],
        "cc-by-4.0",
        None,
    ),
    (
        "open dataLayer flag beside a CC BY link",
        [("rights-link", BY4), ("datalayer-open", "copyright.open=true")],
        "cc-by-4.0",
        None,
    ),
    (
        "NC-ND statement permitting non-commercial use",
        [
            (
                "rights-statement",
                "This article is licensed under a Creative Commons Attribution-NonCommercial-NoDerivatives "
                "4.0 International License, which permits any non-commercial use, sharing, distribution and "
                "reproduction in any medium or format. You do not have permission under this licence to share "
                "adapted material derived from this article or parts of it. To view a copy of this licence, "
                "visit http://creativecommons.org/licenses/by-nc-nd/4.0/.",
            )
        ],
        "cc-by-nc-nd-4.0",
        None,
    ),
    (
        "BMC statement: CC BY for the article, CC0 waiver for its data",
        [
            (
                "jats-license-p",
                "Open Access This article is distributed under the terms of the Creative Commons Attribution "
                "4.0 International License (http://creativecommons.org/licenses/by/4.0/), which permits "
                "unrestricted use, distribution, and reproduction in any medium. The Creative Commons Public "
                "Domain Dedication waiver (http://creativecommons.org/publicdomain/zero/1.0/) applies to the "
                "data made available in this article, unless otherwise stated.",
            )
        ],
        "cc-by-4.0",
        None,
    ),
    (
        "Attribution licence 'not used for commercial purposes'",
        [
            (
                "statement",
                "This is an open access article under the terms of the Creative Commons Attribution License, "
                "which permits use, distribution and reproduction in any medium, provided the original work is "
                "properly cited and is not used for commercial purposes.",
            )
        ],
        "unknown",
        "non-commercial",
    ),
    (
        "statement whose lost space glued 'Open Access' to 'This'",
        [
            (
                "jats-license-p",
                "Open AccessThis article is licensed under a Creative Commons Attribution 4.0 International "
                f"License. To view a copy of this licence, visit {BY4}.",
            )
        ],
        "cc-by-4.0",
        None,
    ),
]


@pytest.mark.parametrize(("case", "evidence", "hub_id", "conflict"), NO_GUESS, ids=[c[0] for c in NO_GUESS])
def test_licences_never_guess(
    case: str, evidence: list[tuple[str, str]], hub_id: str, conflict: str | None
) -> None:
    lic = decide(evidence)
    assert lic.hub_id == hub_id, lic
    if conflict is None:
        assert lic.conflict is None
    else:
        assert conflict in (lic.conflict or ""), lic.conflict
        assert LicensePolicy("all").check(lic) == (False, "license-conflict")
    assert len(lic.evidence) == len(evidence)  # every signal is recorded, kept or not


def test_negated_statement_alone_is_not_a_licence() -> None:
    lic = parse_license("This article is not published under a Creative Commons Attribution licence.")
    assert lic.hub_id == "unknown" and lic.tier is None
