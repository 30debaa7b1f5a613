"""Find shipped recipes (builders/, cards/, train/) and the bundled sample.

In a source checkout they are the top-level folders; in an installed wheel they are
package data under ``ccpapers/_recipes/``. A path given by the user always wins.
"""

from __future__ import annotations

from pathlib import Path

RECIPE_KINDS = ("builders", "cards", "train")
_PACKAGE = Path(__file__).resolve().parent


def recipe_dir(kind: str) -> Path:
    """The folder holding shipped recipes of ``kind`` (builders, cards or train)."""
    if kind not in RECIPE_KINDS:
        raise ValueError(f"unknown recipe kind {kind!r}; expected one of {RECIPE_KINDS}")
    packaged = _PACKAGE / "_recipes" / kind
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE.parent.parent / kind  # src/ccpapers -> repo root
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"shipped {kind}/ folder not found (looked in {packaged} and {checkout})")


def resolve_recipe(kind: str, name: str | Path, suffixes: tuple[str, ...] = (".yaml", ".yml")) -> Path:
    """Resolve a recipe: an existing user path first, then a shipped file by name.

    ``resolve_recipe("builders", "demo")`` finds ``builders/demo.yaml``;
    ``resolve_recipe("train", "suites/fictional.yaml")`` finds nested files.
    """
    path = Path(name).expanduser()
    if path.is_file():  # a folder that happens to share a recipe's name (./demo/) is not one
        return path
    base = recipe_dir(kind)
    for candidate in [base / str(name), *(base / f"{name}{s}" for s in suffixes)]:
        if candidate.is_file():
            return candidate
    shipped = sorted(
        str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and p.suffix in suffixes
    )
    raise FileNotFoundError(
        f"{kind} recipe {str(name)!r} is neither a file nor a shipped recipe. "
        f"Shipped: {', '.join(shipped) or 'none'}"
    )


def sample_dir() -> Path:
    """The bundled fictional sample journal (package data)."""
    return _PACKAGE / "sample"
