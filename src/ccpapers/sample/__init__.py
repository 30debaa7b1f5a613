"""The bundled fictional sample journal: articles (``articles.yaml``), renderer, local site.

``ccpapers.sample.site.serve_sample()`` serves it on 127.0.0.1 in nature.com's templates
(articles, listing pages, Crossref-style API, robots.txt) for the demo and the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ccpapers.errors import InputError

ARTICLES_FILE = Path(__file__).with_name("articles.yaml")


def load_sample(path: str | Path | None = None) -> dict[str, Any]:
    """The sample journal header and its articles (``{"journal": {...}, "articles": [...]}``)."""
    p = Path(path) if path else ARTICLES_FILE
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "journal" not in data or "articles" not in data:
        raise InputError(
            f"{p}: expected 'journal:' and 'articles:' (see src/ccpapers/sample/SAMPLE_SCHEMA.md)"
        )
    return data
