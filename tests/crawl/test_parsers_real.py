"""Real pages and JATS files (tests/fixtures/real, openly licensed, see SOURCES.md there).

The expectations below were read by eye from each file (its headings, its licence
statement, the first and last sentence of its introduction), not copied from parser
output: title, DOI, licence, paywall flag, every Section's (kind, title) in order, and text
that must or must not appear.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ccpapers.crawl.parsers import ParseError, detect_format, parse_bytes
from ccpapers.licenses import LicensePolicy

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"

ABS, INTRO, RES, DISC, CONC, METH, OTHER = (
    "abstract",
    "introduction",
    "results",
    "discussion",
    "conclusion",
    "methods",
    "other",
)

#: file -> expectations. ``sections``: every (kind, title) in order. ``intro``: (first, last)
#: sentence of the introduction. ``absent``: text that is page chrome or back matter.
EXPECTED: dict[str, dict[str, Any]] = {
    "pages/s41467-025-65314-w.html": dict(
        doi="10.1038/s41467-025-65314-w",
        title="Direct observation of the on-site oxygen 2p two-hole Coulomb energy in La2CuO4",
        journal="Nature Communications",
        licence="cc-by-4.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (DISC, "Results and discussion"),
            (METH, "Methods / Experimental station and measurement details"),
            (METH, "Methods / Sample fabrication and preparation"),
            (METH, "Methods / Data acquisition and processing"),
            (OTHER, "Data availability"),
            (OTHER, "Code availability"),
        ],
        intro=(
            "Electron correlation in functional materials has remained a challenge from a computational "
            "and experimental standpoint.",
            "Our findings are relevant for advanced electronic structure models to understand the role of "
            "electron correlation for the pairing in cuprate high temperature superconductors and a variety "
            "of strongly correlated oxide compounds.",
        ),
        absent=[
            "Article Open access",  # recommendation cards
            "Similar content being viewed",
            "Inline Recommendations",
            "Explore related subjects",
            "Open Access funding enabled",  # Funding: back matter
        ],
    ),
    "pages/ncomms11770.html": dict(
        doi="10.1038/ncomms11770",
        title="Dynamic protein coronas revealed as a modulator of silver nanoparticle sulphidation in vitro",
        journal="Nature Communications",
        licence="cc-by-4.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (RES, "Results / Protein coronas modulate nano-Ag2S formation at Ag NPs"),
            (RES, "Results / Ion release from Ag NPs is necessary for nano-Ag2S formation"),
            (RES, "Results / Sulphur sources and Ag/S ratio influence nano-Ag2S formation"),
            (RES, "Results / Protein corona-mediated sulphidation impacts cell toxicity"),
            (DISC, "Discussion"),
            (METH, "Methods / Particle synthesis and characterization"),
            (METH, "Methods / Particle incubation in cell culture media"),
            (METH, "Methods / Sample analysis post-incubation"),
            (METH, "Methods / EDS and elemental mapping of supernatants"),
            (METH, "Methods / Cell line"),
            (METH, "Methods / Particle pre-incubation and toxicity studies"),
            (METH, "Methods / Data availability"),
        ],
        intro=(
            "The biological effects of engineered nanomaterials as drug delivery vehicles or as "
            "unintentionally released nanoparticles (NPs) are of strong current interest.",
            "As it is known that sulphidation decreases silver toxicity, it is not surprising that under "
            "conditions where Ag NPs were partially or completely transformed into Ag2S in cell culture "
            "media, much less toxicity to J774 macrophages and different cytokine secretion profiles are "
            "seen compared with silver NPs.",
        ),
        absent=["Reprints and Permissions", "Further reading", "The mechanism of cell death induced"],
    ),
    "pages/srep01497.html": dict(
        doi="10.1038/srep01497",
        title="Core–Shell Bimetallic Nanoparticles Robustly Fixed on the Outermost Surface of Magnetic "
        "Silica Microspheres",
        journal="Scientific Reports",
        licence="cc-by-nc-nd-3.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (RES, "Results / Synthetic strategy"),
            (RES, "Results / Structural analysis"),
            (RES, "Results / Catalytic properties and reusability"),
            (DISC, "Discussion"),
            (METH, "Methods"),
            (METH, "Methods / nAg/Au@MSM (d1~d3)"),
            (METH, "Methods / nAu/Au@MSM (e1~e3)"),
            (METH, "Methods / nPd/Au@MSM (f1~f3)"),
            (METH, "Methods / nAg/Au@SM"),
        ],
        intro=(
            "The major challenges in practically utilising the immense potential benefits of nanomaterials "
            "are controlling aggregation and recycling the nanomaterials as well as fabricating "
            "well-defined nanoparticulate materials using innovative methods.",
            "The current synthetic strategy was extended to Au–Pd core–shell bimetallic nanoparticles fixed "
            "on MSM and may pave the way for the beneficial utilisation of nanomaterials.",
        ),
        absent=["Reprints and Permissions"],
    ),
    "pages/ncomms9788.html": dict(
        doi="10.1038/ncomms9788",
        title="Multipole plasmons and their disappearance in few-nanometre silver nanoparticles",
        journal="Nature Communications",
        licence="cc-by-4.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (RES, "Results / Sample preparation"),
            (RES, "Results / EELS and BEM simulations"),
            (RES, "Results / Influence of impact parameter on SP excitation"),
            (RES, "Results / Evolution of SP modes with nanoparticle radius"),
            (RES, "Results / Non-classical effects in encapsulated silver nanoparticles"),
            (DISC, "Discussion"),
            (METH, "Methods / Fabrication"),
            (METH, "Methods / EELS measurements"),
            (METH, "Methods / Image analysis"),
            (METH, "Methods / Simulations"),
        ],
        intro=(
            "The optical properties of noble metal nanoparticles are dominated by their ability to support "
            "localized surface plasmon (SP) excitations, which are collective oscillations of the "
            "free-electron gas confined to the metal surface.",
            "We explain the absence of HO resonances in the EELS signal as a consequence of size-dependent "
            "damping in small metal particles, an effect recently linked to non-local response in metals by "
            "accounting for diffusion in the free-electron gas.",
        ),
        absent=["Encapsulated silver nanoparticles.", "Further reading"],  # figure caption, chrome
    ),
    "pages/s41467-018-06211-3.html": dict(
        doi="10.1038/s41467-018-06211-3",
        title="Seed-mediated atomic-scale reconstruction of silver manganate nanoplates for oxygen reduction "
        "towards high-energy aluminum-air flow batteries",
        journal="Nature Communications",
        licence="cc-by-4.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (RES, "Results / Electrocatalyst preparation and characterization"),
            (RES, "Results / Electrocatalyst activity and stability"),
            (RES, "Results / Aluminum–air flow battery performance"),
            (DISC, "Discussion"),
            (METH, "Methods / Catalyst synthesis"),
            (METH, "Methods / Structural characterization"),
            (METH, "Methods / Preparation of catalyst inks and working electrode"),
            (METH, "Methods / Electrochemical measurements"),
            (METH, "Methods / Kinetic current calculation"),
            (METH, "Methods / Aluminum–air flow cell tests"),
            (OTHER, "Data availability"),
        ],
        intro=(
            "Metal–air cells have been highlighted as next-generation batteries, providing the "
            "possibilities of low cost and high-energy storage.",
            "Remarkably, the precipitation problem has been addressed, achieving the unprecedented energy "
            "density of ~2552 W h kgAl^−1 (~6861 W h LAl^−1) at a high current density of 100 mA cm^−2.",
        ),
        absent=["Peer Review File"],
    ),
    "pages/s41598-017-12553-7.html": dict(
        doi="10.1038/s41598-017-12553-7",
        title="Aligned hierarchical Ag/ZnO nano-heterostructure arrays via electrohydrodynamic nanowire "
        "template for enhanced gas-sensing properties",
        journal="Scientific Reports",
        licence="cc-by-4.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (DISC, "Results and Discussion"),
            (DISC, "Results and Discussion / Morphologies and Structures"),
            (DISC, "Results and Discussion / Sensing mechanism"),
            (DISC, "Results and Discussion / The effect of Ag-NPs on gas sensing performance of ZnO-NAs"),
            (METH, "Materials and Methods / Materials"),
            (METH, "Materials and Methods / Synthesis of patterned ZnO nanorod arrays"),
            (METH, "Materials and Methods / Synthesis of Ag/ZnO-NAs"),
            (METH, "Materials and Methods / Characterization and Measurement of Gas Sensor"),
        ],
        intro=(
            "The quantitative detection of noxious gas such as Nitrogen dioxide (NO2) has been drawn "
            "considerable attention.",
            "The corresponding mechanism has been discussed as well.",
        ),
        absent=[],
    ),
    "pages/s41598-020-77062-6.html": dict(
        doi="10.1038/s41598-020-77062-6",
        title="Au–Ag alloy nanoparticle-incorporated AgBr plasmonic photocatalyst",
        journal="Scientific Reports",
        licence="cc-by-4.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, ""),  # untitled: its paragraphs sit directly in div.c-article-body
            (DISC, "Results and discussion / Photocatalyst characterization"),
            (DISC, "Results and discussion / Photocatalytic activity"),
            (DISC, "Results and discussion / Action mechanism of Au–Ag@AgBr"),
            (CONC, "Conclusions"),
            (METH, "Methods / Catalyst preparation and characterization"),
            (METH, "Methods / Photocatalytic decomposition of 2-naphthol"),
        ],
        intro=(
            "The development of technologies contributing to the solution of the energy and environmental "
            "issues and improvement in the sanitation are highly desired for the realization of "
            "sustainable and safe society.",
            "By taking advantage of the optical tunability of the Au–Ag NPs, we have revealed that the "
            "Au–Ag@AgBr plasmonic photocatalyst works as a LEFE-type plasmonic photocatalyst, and the "
            "Au–Ag NPs mainly contribute to the charge separation enhancement by the LSPR-induced intense "
            "near-field.",
        ),
        absent=["Download PDF"],
    ),
    "pages/srep23945.html": dict(
        doi="10.1038/srep23945",
        title="Dual-functional Memory and Threshold Resistive Switching Based on the Push-Pull Mechanism of "
        "Oxygen Ions",
        journal="Scientific Reports",
        licence="cc-by-4.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (
                RES,
                "Results / Dual-functional resistive switching device structure and its electrical properties",
            ),
            (
                RES,
                "Results / Electrical performance for the memory switching and threshold switching operations",
            ),
            (RES, "Results / Composition redistribution during memory switching of the device"),
            (DISC, "Discussion"),
            (METH, "Methods / Device fabrication"),
            (METH, "Methods / Electrical measurements"),
            (METH, "Methods / Sample preparation for scanning transmission electron microscopy analysis"),
        ],
        intro=(
            "In the near future, the present charge-based flash memories will face the limits to their "
            "applications in the very-large-scale integration (VLSI) technology.",
            "The results suggest that, under voltage sweeps, the push and pull actions on the oxygen ions in "
            "the amorphous TiOx layer and polycrystalline TiOx layer can account for both the memory "
            "switching and threshold switching operations in the device.",
        ),
        absent=[],
    ),
    "jats/springer_oa_api_s11671-021-03631-x.xml": dict(
        doi="10.1186/s11671-021-03631-x",
        title="Nano and Battery Anode: A Review",
        journal="Nanoscale Research Letters",
        licence="cc-by-4.0",
        statement_starts="Open Access This article is licensed under a Creative Commons Attribution 4.0",
        sections=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (OTHER, "Problems of Alloy Anodes"),
            (OTHER, "Nanotechnology Solution"),
            (OTHER, "Different Nano Morphologies"),
            (OTHER, "Electrolyte Decomposition in the Anode"),
            (OTHER, "SEI Problem in Silicon"),
            (OTHER, "Introducing LTO Anode"),
            (OTHER, "TiO2 Anode"),
            (OTHER, "Quasi-capacitive Capacity"),
            (OTHER, "Introduction of Exchange Anodes"),  # not a second introduction
            (OTHER, "Exchange Anode Problems"),
            (OTHER, "Nano Sizing Effects"),
            (OTHER, "Nanomaterials in Batteries"),
            (CONC, "Conclusion"),
            (OTHER, "Availability of Data and Materials"),
        ],
        absent=["REDACTED", "This XML was provided by Springer Nature", "Not applicable"],
    ),
    "jats/pmc_pone.0000217.xml": dict(
        doi="10.1371/journal.pone.0000217",
        title="Quantifying Organismal Complexity using a Population Genetic Approach",
        journal="PLoS ONE",
        licence="cc-by",  # "Creative Commons Attribution License", no version, in <copyright-statement>
        statement_starts="Tenaillon et al. This is an open-access article distributed under the terms",
        sections=[
            (ABS, "Abstract / Background"),
            (ABS, "Abstract / Methodology"),
            (ABS, "Abstract / Conclusions/Significance"),
            (INTRO, "Introduction"),
            (RES, "Model and Results"),
            (RES, "Model and Results / Linear Fitness Decline"),
            (RES, "Model and Results / Exponential-type Fitness Decline"),
            (RES, "Model and Results / Robustness of Fitness Equilibrium to FGM Hypothesis"),
            (RES, "Model and Results / Viral Evolution"),
            (RES, "Model and Results / Maximum Likelihood Estimate of Phenotypic Complexity"),
            (RES, "Model and Results / Estimates of Phenotypic Complexity for VSV and ΦX174"),
            (DISC, "Discussion"),
            (DISC, "Discussion / Robustness of the Model"),
            (DISC, "Discussion / Other Attempts to Estimate Phenotypic Complexity"),
            (DISC, "Discussion / The Concept of Phenotypic Complexity"),
            (DISC, "Discussion / Viral Estimates of Phenotypic Complexity"),
            (DISC, "Discussion / Conclusions"),
            (METH, "Methods / Viral Evolution"),
            (METH, "Methods / Appendix A: Derivation of Fitness Equilibriums"),
            (METH, "Methods / Appendix B: robustness to assumptions / Slope of the fitness function"),
            (METH, "Methods / Appendix B: robustness to assumptions / Ellipsoidal fitness isoclines"),
            (METH, "Methods / Appendix C: Maximum Likelihood Analysis"),
        ],
        absent=[],
    ),
    "jats/pmc_pone.0046493.xml": dict(
        doi="10.1371/journal.pone.0046493",
        title="MmPPOX Inhibits Mycobacterium tuberculosis Lipolytic Enzymes Belonging to the "
        "Hormone-Sensitive Lipase Family and Alters Mycobacterial Growth",
        journal="PLoS ONE",
        licence="cc-by",
        first_kinds=[(ABS, "Abstract"), (INTRO, "Introduction"), (METH, "Materials and Methods / Chemicals")],
        last_kinds=[(RES, "Results / Effect of MmPPOX on mycobacterial growth"), (DISC, "Discussion")],
        absent=["Supporting Information"],
    ),
    "jats/pmc_pntd.0002065.xml": dict(
        doi="10.1371/journal.pntd.0002065",
        title="Serological Evidence of Rift Valley Fever Virus Circulation in Sheep and Goats in Zambézia "
        "Province, Mozambique",
        journal="PLoS Neglected Tropical Diseases",
        licence="cc-by",
        first_kinds=[
            (ABS, "Abstract"),
            (INTRO, "Introduction"),
            (METH, "Materials and Methods / Site description"),
        ],
        last_kinds=[
            (RES, "Results / Assessment of inter-epidemic transmission of RVFV"),
            (DISC, "Discussion"),
        ],
        absent=[],
    ),
    "jats/pmc_1471-2180-11-174.xml": dict(
        doi="10.1186/1471-2180-11-174",
        title="Factors influencing lysis time stochasticity in bacteriophage λ",
        journal="BMC Microbiology",
        licence="cc-by-2.0",
        first_kinds=[
            (ABS, "Abstract / Background"),
            (ABS, "Abstract / Results"),
            (ABS, "Abstract / Conclusions"),
            (INTRO, "Background"),
        ],
        last_kinds=[
            (OTHER, "Appendix B"),
            (METH, "Methods / Bacterial strains"),
            (METH, "Methods / Experimental instrumentation"),
            (METH, "Methods / Sample preparation and lysis time determination"),
            (METH, "Methods / Determination of lysogen growth rate"),
            (METH, "Methods / Statistical analysis"),
        ],  # then back matter: Competing interests ...
        absent=["JJD was responsible", "The authors declare that they have no competing interests", "[,"],
    ),
    "jats/pmc_1472-6831-8-11.xml": dict(
        doi="10.1186/1472-6831-8-11",
        title="The Dutch version of the Oral Health Impact Profile (OHIP-NL): Translation, reliability and "
        "construct validity",
        journal="BMC Oral Health",
        licence="cc-by-2.0",
        first_kinds=[
            (ABS, "Abstract / Background"),
            (ABS, "Abstract / Methods"),
            (ABS, "Abstract / Results"),
            (ABS, "Abstract / Conclusion"),
            (INTRO, "Background"),
        ],
        last_kinds=[(RES, "Results"), (DISC, "Discussion"), (CONC, "Conclusion")],
        absent=["MM carried out the study", "pre-publication history for this paper"],
    ),
    "jats/pmc_mds526.xml": dict(
        doi="10.1093/annonc/mds526",
        journal="Annals of Oncology",
        licence="cc-by-nc-3.0",
        first_kinds=[
            (ABS, "Abstract / Background"),
            (ABS, "Abstract / Patients and methods"),
            (ABS, "Abstract / Results"),
            (ABS, "Abstract / Conclusions"),
            (INTRO, "introduction"),
        ],
        last_kinds=[
            (METH, "methods / data"),
            (METH, "methods / analysis"),
            (RES, "results"),
            (DISC, "discussion"),
        ],
        absent=[
            "This work was supported by a post-doctoral fellowship",
            "The authors have declared no conflicts of interest.",
        ],
    ),
    "jats/pmc_ehp-116-1694.xml": dict(
        doi="10.1289/ehp.11570",
        journal="Environmental Health Perspectives",
        licence="pdm-1.0",
        first_kinds=[
            (ABS, "Abstract / Background"),
            (ABS, "Abstract / Objective"),
            (ABS, "Abstract / Methods"),
            (ABS, "Abstract / Results"),
            (ABS, "Abstract / Conclusions"),
            (INTRO, ""),  # untitled: five <p> in <body> before the first <sec>
            (METH, "Materials and Methods / Animals and housing"),
        ],
        last_kinds=[(RES, "Results / Tissue levels of PBDE-47"), (DISC, "Discussion")],
        intro_starts="Polybrominated diphenyl ethers (PBDEs) are added to plastics, polyurethane foam, paints,",
        absent=[],
    ),
}


def _parse(name: str):
    return parse_bytes((REAL / name).read_bytes())


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=sorted(EXPECTED))
def test_real_file_parses_as_read_by_eye(name: str) -> None:
    exp = EXPECTED[name]
    paper = _parse(name)
    got = [(s.kind, s.title) for s in paper.sections]
    if "sections" in exp:
        assert got == exp["sections"]
    else:
        assert got[: len(exp["first_kinds"])] == exp["first_kinds"]
        assert got[-len(exp["last_kinds"]) :] == exp["last_kinds"]
    assert paper.doi == exp["doi"]
    if "title" in exp:
        assert paper.title == exp["title"]
    assert paper.journal == exp["journal"]
    assert paper.license.hub_id == exp["licence"] and paper.license.conflict is None
    assert not paper.paywalled
    assert LicensePolicy("all").check(paper) == (True, "kept")
    if "statement_starts" in exp:
        assert (paper.license.statement or "").startswith(exp["statement_starts"])
    intro = paper.text_of("introduction")
    if "intro" in exp:
        first, last = exp["intro"]
        assert intro.startswith(first)
        assert intro.endswith(last)
    if "intro_starts" in exp:
        assert intro.startswith(exp["intro_starts"])
    text = "\n".join(s.text for s in paper.sections)
    for chrome in exp["absent"]:
        assert chrome not in text, chrome
    assert "  " not in text


def test_every_real_file_has_expectations() -> None:
    files = {str(p.relative_to(REAL)) for p in REAL.glob("*/*") if p.suffix in (".html", ".xml")}
    assert files - {"jats/pmc_cc11003.xml"} == set(EXPECTED)


def test_springer_oa_api_response_is_detected_as_jats() -> None:
    data = (REAL / "jats" / "springer_oa_api_s11671-021-03631-x.xml").read_bytes()
    assert data.lstrip().startswith(b"<?xml") and b"<response>" in data[:1000]
    assert detect_format(data) == "jats"
    assert parse_bytes(data, format="jats").doi == "10.1186/s11671-021-03631-x"


def test_api_response_with_several_or_no_records_fails_clearly() -> None:
    data = (REAL / "jats" / "springer_oa_api_s11671-021-03631-x.xml").read_bytes()
    start, end = data.index(b"<article "), data.index(b"</article>") + len(b"</article>")
    two = data[:end] + data[start:end] + data[end:]
    with pytest.raises(ParseError, match="2 <article> records"):
        parse_bytes(two, "two.xml")
    none = data[:start] + data[end:]
    with pytest.raises(ParseError, match="no <article> record"):
        parse_bytes(none, "none.xml")


def test_meeting_abstract_parses_with_its_sections() -> None:
    paper = _parse("jats/pmc_cc11003.xml")
    assert paper.article_type == "abstract" and paper.license.hub_id == "cc-by-2.0"
    assert [(s.kind, s.title) for s in paper.sections] == [
        (INTRO, "Introduction"),
        (METH, "Methods"),
        (RES, "Results"),
        (CONC, "Conclusion"),
    ]
