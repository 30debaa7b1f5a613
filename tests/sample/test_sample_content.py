"""Validate the bundled fictional content against src/ccpapers/sample/SAMPLE_SCHEMA.md.

Two files are checked: the sample journal ``src/ccpapers/sample/articles.yaml`` (rendered into a
fake nature.com site for the crawler) and the bench's fictional suite
``train/suites/fictional.yaml`` (documents, style variants, translations and keyword questions).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccpapers.licenses import parse_license
from ccpapers.resources import resolve_recipe, sample_dir

ID_RE = re.compile(r"^s49013-0\d\d-\d{5}-\d$")
ALLOWED_TAGS = {"sub", "sup", "i", "b"}
TAG_RE = re.compile(r"</?([a-zA-Z]+)[^>]*>")
CITE_RE = re.compile(r"\{cite:\d+(?:,\d+)*\}")
INLINE_MATH_RE = re.compile(r"\\\(.+?\\\)")
FULL_VARIANTS = {"current", "main", "transition", "broken"}
VARIANT_KEYS = {"qa", "article", "interview", "textbook"}
LANGS = {"de", "es", "it", "ko", "ja"}
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")


# ---------------------------------------------------------------- loading


@pytest.fixture(scope="module")
def journal() -> dict[str, Any]:
    path = sample_dir() / "articles.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} must hold a mapping"
    return data


@pytest.fixture(scope="module")
def articles(journal: dict[str, Any]) -> list[dict[str, Any]]:
    return journal["articles"]


@pytest.fixture(scope="module")
def suite() -> dict[str, Any]:
    path = resolve_recipe("train", "suites/fictional.yaml")
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} must hold a mapping"
    return data


def paragraphs_of(article: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for section in article["sections"]:
        out += section.get("paragraphs", [])
        for sub in section.get("subsections", []):
            out += sub["paragraphs"]
    return out


def words(text: str) -> int:
    return len(TAG_RE.sub("", text).split())


def number_pattern(number: str) -> re.Pattern[str]:
    """A number such as 1,840 or 0.41 may be written 1.840, 1 840, 1840 or 0,41 in a translation."""
    groups = re.split(r"[.,]", number)
    body = r"[.,\s\u00a0\u202f']?".join(re.escape(g) for g in groups)
    return re.compile(rf"(?<![\d])(?<!\d[.,]){body}(?![.,]?\d)")


# ---------------------------------------------------------------- journal


def test_journal_header(journal: dict[str, Any]) -> None:
    header = journal["journal"]
    assert header["name"] == "Journal of Emergent Materials"
    assert header["slug"] == "jemergmat"
    assert header["eissn"] == "2999-0013"
    assert header["doi_code"] == "s49013"
    assert header["first_year"] == 2030
    assert header["publisher"]


def test_article_ids_dates_and_required_keys(articles: list[dict[str, Any]]) -> None:
    assert len(articles) == 12
    required = {
        "id",
        "title",
        "published",
        "article_type",
        "authors",
        "license",
        "variant",
        "keywords",
        "sections",
    }
    ids = [a["id"] for a in articles]
    assert len(set(ids)) == 12, f"duplicate ids: {Counter(ids).most_common(2)}"
    years = set()
    for a in articles:
        missing = required - a.keys()
        assert not missing, f"{a.get('id')}: missing {missing}"
        assert ID_RE.match(a["id"]), a["id"]
        date = dt.date.fromisoformat(a["published"])
        assert 2030 <= date.year <= 2034, a["id"]
        # the id's volume part (0YY) matches the publication year, as on nature.com
        assert a["id"].split("-")[1] == f"0{date.year % 100:02d}", a["id"]
        years.add(date.year)
        assert a["title"].strip() and a["authors"] and all(isinstance(x, str) for x in a["authors"])
        assert len(a["keywords"]) >= 2
    assert years == {2030, 2031, 2032, 2033, 2034}


def test_licence_and_variant_mix(articles: list[dict[str, Any]]) -> None:
    by_variant = Counter(a["variant"] for a in articles)
    assert by_variant == {"current": 8, "main": 1, "transition": 1, "paywalled": 1, "broken": 1}
    not_broken = Counter(a["license"] for a in articles if a["variant"] != "broken")
    assert not_broken == {
        "cc-by-4.0": 6,
        "cc-by-3.0": 2,
        "cc-by-nc-sa-3.0": 1,
        "cc-by-nc-nd-4.0": 1,
        "none": 1,
    }
    for a in articles:
        if a["variant"] in ("main", "transition"):
            assert a["license"] == "cc-by-4.0", a["id"]
        if a["variant"] == "paywalled":
            assert a["license"] == "none"
        if a["license"] != "none":
            assert parse_license(a["license"]).hub_id == a["license"]


def test_paywalled_article_has_only_abstract_and_introduction(articles: list[dict[str, Any]]) -> None:
    (paywalled,) = [a for a in articles if a["variant"] == "paywalled"]
    assert [s["title"] for s in paywalled["sections"]] == ["Abstract", "Introduction"]
    assert len(paywalled["sections"][1]["paragraphs"]) == 1


def test_full_articles_section_structure(articles: list[dict[str, Any]]) -> None:
    with_conclusions = without = results_and_discussion = 0
    for a in (a for a in articles if a["variant"] in FULL_VARIANTS):
        titles = [s["title"] for s in a["sections"]]
        assert titles[0] == "Abstract", a["id"]
        assert titles[1] == ("Main" if a["variant"] == "main" else "Introduction"), a["id"]
        assert 2 <= len(a["sections"][1]["paragraphs"]) <= 4, a["id"]
        assert titles[-1] == "Methods", a["id"]
        results = [s for s in a["sections"] if s["title"] in ("Results", "Results and discussion")]
        assert len(results) == 1, a["id"]
        assert 2 <= len(results[0]["subsections"]) <= 3, a["id"]
        for sub in results[0]["subsections"]:
            assert sub["title"] and sub["paragraphs"], a["id"]
        if "Conclusions" in titles:
            with_conclusions += 1
        else:
            without += 1
        if "Results and discussion" in titles:
            results_and_discussion += 1
        else:
            assert "Discussion" in titles, a["id"]
        abstract = words(" ".join(a["sections"][0]["paragraphs"]))
        assert 100 <= abstract <= 190, (a["id"], abstract)
        total = sum(words(p) for p in paragraphs_of(a))
        assert 650 <= total <= 1200, (a["id"], total)
    assert with_conclusions >= 3 and without >= 2 and results_and_discussion >= 1


def test_inline_markup_is_limited_and_well_formed(articles: list[dict[str, Any]]) -> None:
    figures = equations = inline_math = cited = paragraphs = 0
    saw_sub = False
    for a in articles:
        for p in paragraphs_of(a):
            assert isinstance(p, str) and p.strip(), a["id"]
            tags = TAG_RE.findall(p)
            assert set(tags) <= ALLOWED_TAGS, (a["id"], set(tags) - ALLOWED_TAGS)
            for tag in ALLOWED_TAGS:
                assert p.count(f"<{tag}>") == p.count(f"</{tag}>"), (a["id"], tag, p[:60])
            saw_sub = saw_sub or "<sub>" in p
            # braces only in citation markers or inside inline math
            stripped = INLINE_MATH_RE.sub("", CITE_RE.sub("", p))
            assert "{" not in stripped and "}" not in stripped, (a["id"], p[:80])
            inline_math += len(INLINE_MATH_RE.findall(p))
            paragraphs += 1
            cited += bool(CITE_RE.search(p))
        for section in a["sections"]:
            for sub in section.get("subsections", []):
                figures += "figure" in sub
                equations += "equation" in sub
                if "figure" in sub:
                    assert re.match(r"^Fig\. \d+: \S", sub["figure"]), sub["figure"]
    assert saw_sub and figures >= 2 and equations >= 1 and inline_math >= 1
    assert cited / paragraphs > 0.5, f"only {cited}/{paragraphs} paragraphs cite"


# ---------------------------------------------------------------- fictional suite


def test_suite_header_and_documents(suite: dict[str, Any]) -> None:
    assert suite["name"] == "fictional"
    assert isinstance(suite["version"], int)
    assert suite["description"].strip()
    docs = suite["documents"]
    assert len(docs) == 10
    ids = [d["id"] for d in docs]
    assert len(set(ids)) == 10
    for d in docs:
        assert re.match(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", d["id"]), d["id"]
        assert d["title"].strip()
        assert 150 <= words(d["text"]) <= 250, (d["id"], words(d["text"]))
        assert set(d["variants"]) == VARIANT_KEYS, d["id"]
        assert set(d["translations"]) == LANGS, d["id"]
        for key, variant in d["variants"].items():
            assert words(variant) >= 60 and variant.strip() != d["text"].strip(), (d["id"], key)
        assert "Q:" in d["variants"]["qa"] and "A:" in d["variants"]["qa"], d["id"]
        assert "Interviewer:" in d["variants"]["interview"], d["id"]
        assert len(d["questions"]) == 5, d["id"]
        for q in d["questions"]:
            assert set(q) == {"question", "answer", "keywords"}, d["id"]
            assert q["question"].strip().endswith("?"), (d["id"], q["question"])
            assert q["answer"].strip(), d["id"]
            assert 1 <= len(q["keywords"]) <= 3, (d["id"], q["question"])


def test_translations_look_like_their_language(suite: dict[str, Any]) -> None:
    scripts = {"ko": re.compile(r"[\uac00-\ud7a3]"), "ja": re.compile(r"[\u3040-\u30ff]")}
    markers = {"de": r"\b(der|die|und)\b", "es": r"\b(el|los|que)\b", "it": r"\b(il|che|della)\b"}
    for d in suite["documents"]:
        for lang, text in d["translations"].items():
            assert len(text) >= 0.5 * len(d["text"]) or lang in scripts, (d["id"], lang)
            if lang in scripts:
                assert len(scripts[lang].findall(text)) >= 50, (d["id"], lang)
            else:
                assert re.search(markers[lang], text), (d["id"], lang)
                assert text.strip() != d["text"].strip(), (d["id"], lang)


def test_keywords_appear_in_text_and_every_english_variant(suite: dict[str, Any]) -> None:
    for d in suite["documents"]:
        english = {"text": d["text"], **d["variants"]}
        for q in d["questions"]:
            for kw in q["keywords"]:
                for name, body in english.items():
                    assert kw.lower() in body.lower(), f"{d['id']}: keyword {kw!r} missing from {name}"


def test_keyword_numbers_survive_in_every_translation(suite: dict[str, Any]) -> None:
    checked = 0
    for d in suite["documents"]:
        for q in d["questions"]:
            numbers = [n for kw in q["keywords"] for n in NUMBER_RE.findall(kw)]
            for n in numbers:
                for lang, text in d["translations"].items():
                    assert number_pattern(n).search(text), f"{d['id']}: number {n} missing from {lang}"
                    checked += 1
    assert checked >= 10 * 5  # most questions ask about a number


def test_number_pattern_accepts_local_separators_only() -> None:
    assert number_pattern("1,840").search("1.840 Tonnen")
    assert number_pattern("1,840").search("1840 t")
    assert number_pattern("0.41").search("0,41 g")
    assert not number_pattern("41").search("0,41 g")
    assert not number_pattern("184").search("1840")
