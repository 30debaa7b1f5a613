"""The journal table (slug, name, eISSN, DOI code, first year) and year windows.

The shipped table lives in ``journals.yaml`` beside this module; a user YAML file of the
same shape (``--journals-file``) adds or overrides entries, so any nature.com journal can
be crawled without code changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccpapers.config import ConfigError, read_yaml_mapping

_TABLE = Path(__file__).with_name("journals.yaml")
_ISSN = re.compile(r"^\d{4}-\d{3}[\dXx]$")


@dataclass(frozen=True)
class Journal:
    slug: str
    name: str
    eissn: str
    doi_code: str | None = None
    first_year: int | None = None
    doi_prefix: str = "10.1038"


def _entries(path: Path) -> dict[str, Any]:
    data = read_yaml_mapping(path, "journals file")
    table = data.get("journals", data)
    if not isinstance(table, dict):
        raise ConfigError(f"journals file {path}: expected 'journals:' mapping slug -> fields")
    return table


def _make(slug: str, fields: Any, origin: Path) -> Journal:
    if not isinstance(fields, dict) or "eissn" not in fields:
        raise ConfigError(f"journals file {origin}: journal {slug!r} needs at least name and eissn")
    eissn = str(fields["eissn"]).strip()
    if not _ISSN.match(eissn):
        raise ConfigError(f"journals file {origin}: journal {slug!r} has eissn {eissn!r}; expected NNNN-NNNN")
    unknown = set(fields) - {"name", "eissn", "doi_code", "first_year", "doi_prefix"}
    if unknown:
        raise ConfigError(f"journals file {origin}: journal {slug!r} has unknown field(s) {sorted(unknown)}")
    return Journal(
        slug=slug,
        name=str(fields.get("name", slug)),
        eissn=eissn,
        doi_code=fields.get("doi_code"),
        first_year=int(fields["first_year"]) if fields.get("first_year") else None,
        doi_prefix=str(fields.get("doi_prefix", "10.1038")),
    )


def load_journals(extra: str | Path | None = None) -> dict[str, Journal]:
    """The shipped journal table, plus (overriding) the entries of ``extra``."""
    table = {slug: _make(slug, f, _TABLE) for slug, f in _entries(_TABLE).items()}
    if extra:
        path = Path(extra).expanduser()
        if not path.is_file():
            raise ConfigError(f"journals_file {path} does not exist")
        table.update({str(slug): _make(str(slug), f, path) for slug, f in _entries(path).items()})
    return table


def select_journals(slugs: list[str], table: dict[str, Journal]) -> list[Journal]:
    out = []
    for slug in slugs:
        if slug not in table:
            import difflib

            close = difflib.get_close_matches(slug, table, n=2)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise ConfigError(
                f"journals: unknown journal slug {slug!r}.{hint} Known: {', '.join(sorted(table))}. "
                "Add it with --journals-file FILE (YAML: journals: {slug: {name, eissn, doi_code}})."
            )
        out.append(table[slug])
    return out


def parse_years(text: str) -> tuple[int, int]:
    """``"2010-2023"`` or ``"2021"`` -> inclusive (first, last)."""
    m = re.fullmatch(r"\s*(\d{4})\s*(?:[-:]\s*(\d{4})\s*)?", str(text))
    if not m:
        raise ConfigError(f"years={text!r}: expected YYYY or YYYY-YYYY, e.g. 2010-2023")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if last < first:
        raise ConfigError(f"years={text!r}: the range ends before it starts")
    return first, last


def journal_years(journal: Journal, years: tuple[int, int], since: str | None = None) -> list[int]:
    """The years of the window this journal can have papers in (first year and --since respected)."""
    first, last = years
    if journal.first_year:
        first = max(first, journal.first_year)
    if since:
        first = max(first, int(since[:4]))
    return list(range(first, last + 1))


def journal_for_doi(doi: str, table: dict[str, Journal]) -> Journal | None:
    """Guess the journal of a DOI from its DOI code or legacy slug prefix."""
    suffix = doi.split("/", 1)[-1].lower()
    for j in table.values():
        if j.doi_code and suffix.startswith(j.doi_code.lower() + "-"):
            return j
    for j in sorted(table.values(), key=lambda j: -len(j.slug)):
        if suffix.startswith(j.slug):
            return j
    return None
