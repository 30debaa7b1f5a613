"""Behaviour of the nature-html and jats parsers beyond the goldens."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.crawl.parsers import ParseError, Parser, detect_format, parse_bytes
from ccpapers.crawl.parsers.jats import JatsParser
from ccpapers.crawl.parsers.nature_html import NatureHtmlParser
from ccpapers.crawl.parsers.text import section_kind, tex_to_plain
from ccpapers.licenses import LicensePolicy
from ccpapers.registry import PARSERS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGES = FIXTURES / "pages"
JATS = FIXTURES / "jats"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def all_text(paper) -> str:
    return "\n".join(s.text for s in paper.sections)


def test_registry_and_protocol() -> None:
    assert {"nature-html", "jats"} <= set(PARSERS.names())
    for name in ("nature-html", "jats"):
        parser = PARSERS.create(name)
        assert isinstance(parser, Parser)
        assert parser.name == name and parser.version
    html, xml = page("current_intro_ccby4.html"), (JATS / "springer_oa_ccby.xml").read_bytes()
    assert NatureHtmlParser().can_parse(html) and not NatureHtmlParser().can_parse(xml)
    assert JatsParser().can_parse(xml) and not JatsParser().can_parse(html)
    paper = parse_bytes(html)
    assert (paper.parser, paper.parser_version) == ("nature-html", NatureHtmlParser.version)


def test_strips_citations_figures_chrome_and_back_matter() -> None:
    paper = parse_bytes(page("current_intro_ccby4.html"))
    text = all_text(paper)
    assert "hard to densify. Liquid-phase" in text  # citation sup removed, no "densify1,2."
    for debris in (
        "Full size image",
        "Similar content",
        "different imaginary study",  # recommendation card
        "Densification curves",  # figure caption
        "Error bars",  # figure description
        "Quill, B.",  # reference list
        "Reprints",
        "Springer Nature remains neutral",
        "competing interests",
        "Peer Review File",
        "Open Access",
        "ORCID",
        "Accesses",
    ):
        assert debris not in text, debris
    titles = [s.title for s in paper.sections]
    assert not any(
        t.split(" / ")[0] in ("References", "Acknowledgements", "Author information") for t in titles
    )


def test_inline_markup_spacing() -> None:
    text = all_text(parse_bytes(page("current_intro_ccby4.html")))
    assert "Zr2TbO5" in text and "B2O3 or Li2O" in text and "a-axis" in text
    assert "Zr 2" not in text and "  " not in text
    assert "4.1 MPa m^1/2" in text  # numeric superscripts keep a caret, never "m1/2"
    assert "(Fig. 1)" in text  # figure anchors are text, kept


def test_math_default_and_keep_math() -> None:
    data = page("equations_figures_tables_commsmat.html")
    plain = all_text(parse_bytes(data))
    assert "$" not in plain and "\\(" not in plain and "\\rm" not in plain
    assert "Eg = 1.42 eV" in plain and "α = -90 ± 5 meV" in plain
    assert "Deformation potentials" not in plain  # table caption dropped
    assert "reference sample" not in plain  # footnote dropped, and its "a" marker too
    assert "per %." in plain
    kept = all_text(parse_bytes(data, keep_math=True))
    assert "$${E}_{{\\rm{g}}}(\\varepsilon)={E}_{{\\rm{g}}}^{0}+\\alpha \\varepsilon,$$" in kept
    assert "$\\alpha =-90\\pm 5$ meV" in kept
    assert "(1)" not in kept  # equation number dropped


def test_tex_to_plain() -> None:
    assert tex_to_plain(r"\({{{\rm{Li}}}}_{2}{\rm{O}}\)") == "Li2O"
    assert tex_to_plain(r"3\times {10}^{5}\,{\rm{cm}}^{-1}") == "3 × 10^5 cm^-1"
    assert tex_to_plain(r"\alpha \approx 0.5") == "α ≈ 0.5"


@pytest.mark.parametrize(
    "title, kind",
    [
        ("Main", "introduction"),
        ("Introduction", "introduction"),
        ("Results", "results"),
        ("Results and discussion", "discussion"),
        ("Discussion", "discussion"),
        ("Conclusions", "conclusion"),
        ("Concluding remarks", "conclusion"),
        ("Outlook", "conclusion"),
        ("Summary", "conclusion"),
        ("Methods", "methods"),
        ("Materials and methods", "methods"),
        ("Online Methods", "methods"),
        ("Data availability", "other"),
        ("1. Introduction", "introduction"),
        ("Introduction and motivation", "introduction"),
        ("Introduction of Exchange Anodes", "other"),  # a body section of a review, not the introduction
        ("Introducing LTO Anode", "other"),
        ("Model and Results", "results"),
        ("Authors\u2019 Contributions", "other"),
    ],
)
def test_section_kinds(title: str, kind: str) -> None:
    assert section_kind(title) == kind


def test_results_and_discussion_by_config() -> None:
    paper = NatureHtmlParser(results_and_discussion="results").parse(page("nc_nd_4_srep2016.html"))
    assert [s.kind for s in paper.sections if s.title == "Results and Discussion"] == ["results"]
    with pytest.raises(ValueError):
        NatureHtmlParser(results_and_discussion="both")


def test_paywalled_preview_is_flagged_and_rejected_by_policy() -> None:
    paper = parse_bytes(page("paywalled_preview_nature2021.html"))
    assert paper.paywalled and [s.kind for s in paper.sections] == ["abstract"]
    assert LicensePolicy("all").check(paper) == (False, "paywalled")


def test_closed_page_has_unknown_licence_and_ignores_dc_rights() -> None:
    paper = parse_bytes(page("closed_no_licence_natcomputsci.html"))
    assert not paper.paywalled and paper.license.hub_id == "unknown"
    assert not any("exclusive licence to Springer Nature America" in e for e in paper.license.evidence)
    assert LicensePolicy("all").check(paper) == (False, "unknown-license")


def test_licence_signals_are_all_recorded() -> None:
    lic = parse_bytes(page("nc_sa_3_ncomms2014.html")).license
    sources = {e.split(":", 1)[0] for e in lic.evidence}
    assert {
        "rights-link",
        "rights-statement",
        "rightslink-oa",
        "datalayer-licence",
        "datalayer-open",
    } <= sources
    assert lic.hub_id == "cc-by-nc-sa-3.0" and lic.tier == "nc" and lic.share_alike
    assert lic.statement.startswith(
        "This work is licensed under a Creative Commons Attribution-NonCommercial"
    )


def test_extra_evidence_from_crossref() -> None:
    html = page("current_intro_ccby4.html")
    agree = parse_bytes(html, extra_evidence=[("crossref", "http://creativecommons.org/licenses/by/4.0/")])
    assert agree.license.hub_id == "cc-by-4.0"
    assert "crossref: http://creativecommons.org/licenses/by/4.0/" in agree.license.evidence
    clash = parse_bytes(
        html, extra_evidence=[("crossref", "https://creativecommons.org/licenses/by-nc-nd/4.0/")]
    )
    assert clash.license.hub_id == "unknown" and "crossref=cc-by-nc-nd-4.0" in clash.license.conflict


def test_pages_without_article_body_raise_parse_error_naming_the_url() -> None:
    blocked = b"<!DOCTYPE html><html><head><title>Blocked</title></head><body><h1>403 Forbidden - Blocked</h1></body></html>"
    url = "https://www.nature.com/articles/s41467-099-00001-1"
    with pytest.raises(ParseError, match="s41467-099-00001-1.*no article body"):
        parse_bytes(blocked, url)
    html = page("current_intro_ccby4.html")
    cut = html[: html.index(b'<div class="main-content">')]  # truncated right after the abstract
    with pytest.raises(ParseError, match="no main-text section"):
        parse_bytes(cut, url)


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7 binary", b"just some text", b"\x00\xff\xfe garbage"])
def test_not_html_nor_jats(data: bytes) -> None:
    with pytest.raises(ParseError, match="neither an HTML article page nor JATS"):
        detect_format(data, "file.bin")


def test_truncated_page_keeps_what_is_there() -> None:
    paper = parse_bytes(page("truncated_download.html"))
    assert [s.kind for s in paper.sections] == ["abstract", "introduction", "results", "results"]
    assert paper.license.hub_id == "cc-by-4.0"  # from the dataLayer in <head> only
    assert all(e.startswith("datalayer") for e in paper.license.evidence)
    for n in range(200, len(page("truncated_download.html")), 997):  # any cut: paper or ParseError
        try:
            parse_bytes(page("current_intro_ccby4.html")[:n])
        except ParseError:
            pass


def test_fallback_over_section_content_blocks() -> None:
    html = b"""<!DOCTYPE html><html><head><meta name="citation_doi" content="10.1038/x1"></head><body>
    <div class="c-article-section" id="Sec1-section"><h2 class="c-article-section__title" id="Sec1">Introduction</h2>
    <div class="c-article-section__content" id="Sec1-content"><p>Intro text.</p></div></div>
    <div class="c-article-section" id="Bib1-section"><h2 class="c-article-section__title" id="Bib1">References</h2>
    <div class="c-article-section__content" id="Bib1-content"><p>Ref one.</p></div></div></body></html>"""
    paper = parse_bytes(html)
    assert [(s.kind, s.title, s.text) for s in paper.sections] == [
        ("introduction", "Introduction", "Intro text.")
    ]


def test_jats_strips_citations_footnotes_and_summary_abstract() -> None:
    paper = parse_bytes((JATS / "pmc_ali_ccbync.xml").read_bytes())
    text = all_text(paper)
    assert "editor's summary" not in text and "footnote" not in text
    assert "[" not in text and "( )" not in text and "()" not in text
    assert "store large amounts of carbon. Their" in text
    assert paper.authors[-1] == "The Imaginary Tundra Consortium"
    springer = parse_bytes((JATS / "springer_oa_ccby.xml").read_bytes())
    stext = all_text(springer)
    assert (
        "documentclass" not in stext
        and "Screening workflow" not in stext
        and "Predicted and simulated" not in stext
    )
    assert "online version contains supplementary" not in stext
    assert "follows with Ea between" in stext
    kept = all_text(parse_bytes((JATS / "springer_oa_ccby.xml").read_bytes(), keep_math=True))
    assert "$$\\sigma T={A}\\exp \\left(-\\frac{{E}_{a}}{{k}_{B}T}\\right)$$" in kept


@pytest.mark.parametrize("extra", ["", '<!ENTITY % pe SYSTEM "file://{secret}"> %pe;'])
def test_jats_never_resolves_external_entities(tmp_path: Path, extra: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    extra = extra.format(secret=secret)
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}"> {extra}]>
<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><article-meta>
<article-id pub-id-type="doi">10.1/x</article-id><title-group><article-title>T &xxe;</article-title></title-group>
</article-meta></front><body><sec><title>Introduction</title><p>Leak: &xxe; end.</p></sec></body></article>"""
    paper = parse_bytes(xxe.encode())
    dumped = str(paper.to_dict())
    assert "TOP-SECRET" not in dumped
    assert paper.sections[-1].text.startswith("Leak:")


def test_jats_takes_the_licence_in_force() -> None:
    xml = b"""<?xml version="1.0"?><article xmlns:ali="http://www.niso.org/schemas/ali/1.0/"
    xmlns:xlink="http://www.w3.org/1999/xlink"><front><article-meta><article-id pub-id-type="doi">10.1/y</article-id>
    <permissions>
      <license><ali:license_ref start_date="2020-01-01">https://creativecommons.org/licenses/by-nc/4.0/</ali:license_ref></license>
      <license><ali:license_ref start_date="2020-07-01">https://creativecommons.org/licenses/by/4.0/</ali:license_ref></license>
      <license><ali:license_ref start_date="2999-01-01">https://creativecommons.org/licenses/by-nd/4.0/</ali:license_ref></license>
    </permissions></article-meta></front><body><sec><title>Results</title><p>R.</p></sec></body></article>"""
    assert parse_bytes(xml).license.hub_id == "cc-by-4.0"


def test_jats_errors() -> None:
    with pytest.raises(ParseError, match="no <body> text"):
        parse_bytes(b'<?xml version="1.0"?><article><front><article-meta/></front></article>', "a.xml")
    with pytest.raises(ParseError, match="article-meta"):
        parse_bytes(b'<?xml version="1.0"?><article><body><p>x</p></body></article>', "b.xml")


@pytest.mark.parametrize(
    "head, fmt",
    [
        (b"\xef\xbb\xbf  <!-- cached copy --><!DOCTYPE html><html lang='en'>", "nature-html"),
        (
            b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x.dtd"><html>',
            "nature-html",
        ),
        (b'<?xml version="1.0"?><!DOCTYPE article [<!ENTITY a "]>">]><article><body>', "jats"),
        (b'<?xml version="1.0"?><j:article xmlns:j="http://jats.nlm.nih.gov"><j:body>', "jats"),
    ],
)
def test_detect_format_by_root_element(head: bytes, fmt: str) -> None:
    assert detect_format(head) == fmt


def test_declared_charset_is_honoured() -> None:
    html = (
        b'<html><head><meta charset="iso-8859-1"><meta name="citation_title" content="Caf\xe9"></head>'
        b'<body><div class="c-article-body"><section data-title="Introduction"><p>Na\xefve caf\xe9.</p>'
        b"</section></div></body></html>"
    )
    paper = parse_bytes(html)
    assert paper.title == "Café" and paper.sections[0].text == "Naïve café."


def _body_page(body: str) -> bytes:
    return (
        '<!DOCTYPE html><html><head><meta name="citation_doi" content="10.1038/x2"></head><body>'
        f'<div class="c-article-body">{body}</div></body></html>'
    ).encode()


ABSTRACT = (
    '<section data-title="Abstract"><div class="c-article-section"><h2>Abstract</h2>'
    '<div class="c-article-section__content"><p>Abstract text.</p></div></div></section>'
)


@pytest.mark.parametrize(
    "chrome",
    [
        '<section data-title="Inline Recommendations" class="c-article-recommendations"><h3>Similar</h3>'
        "<article><h3>Some paper</h3><p>Article Open access 05 June 2024</p></article></section>",
        '<div data-test="article-recommendations"><section data-title="Related"><p>Recommended text</p>'
        "</section></div>",
        '<section class="app-explore-related-subjects" aria-labelledby="content-related-subjects">'
        "<h3>Explore related subjects</h3><p>Chemistry</p></section>",
        '<div class="c-related-content" data-track-component="related-content"><p>Related text</p></div>',
    ],
)
def test_recommendation_and_related_blocks_are_dropped_wherever_they_sit(chrome: str) -> None:
    intro = (
        '<section data-title="Introduction"><div class="c-article-section"><h2>Introduction</h2>'
        f'<div class="c-article-section__content"><p>Intro text.</p>{chrome}<p>More intro.</p></div></div>'
        "</section>"
    )
    for body in (ABSTRACT + chrome + intro, ABSTRACT + intro):
        paper = parse_bytes(_body_page(body))
        assert [(s.kind, s.title, s.text) for s in paper.sections] == [
            ("abstract", "Abstract", "Abstract text."),
            ("introduction", "Introduction", "Intro text.\n\nMore intro."),
        ]


def test_untitled_text_before_the_first_section_is_the_introduction() -> None:
    loose = '<div class="c-article-section__content"><p>Untitled intro.</p></div>'
    results = (
        '<section data-title="Results"><div class="c-article-section"><h2>Results</h2>'
        '<div class="c-article-section__content"><p>Result text.</p></div></div></section>'
    )
    paper = parse_bytes(_body_page(ABSTRACT + loose + results))
    assert [(s.kind, s.title) for s in paper.sections] == [
        ("abstract", "Abstract"),
        ("introduction", ""),
        ("results", "Results"),
    ]
    assert paper.text_of("introduction") == "Untitled intro."
    # After a titled introduction, or after the first main section, untitled text is "other".
    titled = results.replace("Results", "Introduction")
    paper = parse_bytes(_body_page(ABSTRACT + titled + loose))
    assert [(s.kind, s.title) for s in paper.sections][-1] == ("other", "")
