"""Small hand-made papers for the build tests (invented facts, varied licences)."""

from __future__ import annotations

from ccpapers.licenses import parse_license
from ccpapers.types import Paper, Section

_TOPICS = [
    ("Zorblax", "ZrB2", "Kyoto", "3.5 nm", "410 °C", "38 mS"),
    ("Quenlite", "TiO2", "Glasgow", "12 nm", "250 °C", "91%"),
    ("Morvium", "LiFePO4", "Lisbon", "7.2 nm", "600 K", "45%"),
    ("Pelucid", "NaCl", "Oslo", "40 µm", "120 °C", "2.3 eV"),
    ("Vantorine", "MgO", "Quito", "5 mm", "80 K", "1.5 GPa"),
    ("Halcyte", "CO2", "Nairobi", "18 nm", "35 °C", "72%"),
]
LICENSES = ["cc-by-4.0", "cc-by-sa-4.0", "cc-by-nd-4.0", "cc-by-4.0", "cc-by-nc-4.0", "cc-by-4.0"]
_URLS = {
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc-by-sa-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "cc-by-nd-4.0": "https://creativecommons.org/licenses/by-nd/4.0/",
    "cc-by-nc-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
}


def make_paper(
    i: int, license_id: str | None = None, conclusion: bool = True, long_intro: bool = False, family: int = 0
) -> Paper:
    """Paper ``i``; ``family`` > 0 gives a different paper with a different material name."""
    name, formula, city, size, temp, value = _TOPICS[i % len(_TOPICS)]
    if family:
        name = f"{name}-{family}"
    lic = parse_license(_URLS[license_id or LICENSES[i % len(LICENSES)]])
    intro_paras = [
        f"Layered {name} crystals made from {formula} were first grown in {city} by a vapour route. "
        f"The crystals reach a thickness of {size} when annealed at {temp}.",
        f"Earlier samples of {name} degraded in humid air within days, which limited their use in sensors. "
        f"A protective coating based on {formula} changed this picture in 2029.",
    ]
    if long_intro:
        intro_paras = intro_paras * 30  # about 1,500 words: several chunks at max_words=400
    sections = [
        Section(
            "abstract",
            "Abstract",
            f"{name} films of {formula} grown in {city} reach {value} at {temp}. "
            f"The films remain stable for 300 days in air.",
        ),
        Section("introduction", "Introduction", "\n\n".join(intro_paras)),
        Section("results", "Results", f"The {name} lattice expands by {size} on heating."),
        Section(
            "discussion",
            "Discussion",
            f"Stability of {name} comes from the {formula} shell.\n\n"
            f"The {name} shell of {formula} also blocks oxygen at {temp}.",
        ),
    ]
    if conclusion:
        sections.append(
            Section(
                "conclusion",
                "Conclusions",
                f"{name} grown from {formula} reaches {value} "
                f"and lasts 300 days, which makes {name} a candidate for sensors in {city}.",
            )
        )
    return Paper(
        doi=f"10.9999/test-{i:03d}" + (f"-{family}" if family else ""),
        title=f"Stable {name} films from {formula}",
        journal="Journal of Tests",
        license=lic,
        sections=sections,
        year=2030,
        authors=["A. Tester"],
    )


def make_papers(n: int = 6, families: int = 1) -> list[Paper]:
    return [make_paper(i, conclusion=(i != 3), family=f) for f in range(families) for i in range(n)]
