"""Builder specs (``builders/*.yaml``): which splits to make, with which generator and options.

```yaml
name: demo
target_fraction: 0.5          # share of papers (by DOI hash) in the target group
max_words: 2000               # introduction chunk size
text_splits: [introduction, abstract, conclusion]
backend: offline              # default backend ("auto": first whose key is set)
models: {anthropic: claude-sonnet-4-6, openai: gpt-4.1-mini}  # + openai-compatible: <id> (OPENAI_BASE_URL)
rpm: 0                        # default request limit
generate:                     # generated split name -> generator and options
  qa:  {generator: qa, sources: [abstract, introduction, conclusion], groups: [target], per_passage: 5}
  mcq: {generator: mcq, options: 4}
  rewrite: {generator: rewrite, sources: [introduction], styles: [qa, article], variants: 1}
  translation: {generator: translate, sources: [introduction], languages: [es, de, it], backend: deepl}
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccpapers.config import ConfigError, read_yaml_mapping
from ccpapers.resources import resolve_recipe
from ccpapers.types import GENERATED_SPLITS, TEXT_SPLITS

DEFAULT_SOURCES = {
    "qa": list(TEXT_SPLITS),
    "mcq": list(TEXT_SPLITS),
    "rewrite": ["introduction"],
    "translation": ["introduction"],
}
DEFAULT_GROUPS = {
    "qa": ["target"],
    "mcq": ["target"],
    "rewrite": ["target", "irrelevant"],
    "translation": ["target", "irrelevant"],
}
_GENERATORS = {"qa": "qa", "mcq": "mcq", "rewrite": "rewrite", "translation": "translate"}


@dataclass
class SplitSpec:
    split: str
    generator: str
    sources: list[str]
    groups: list[str]
    backend: str | None
    allow_nd: bool
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildSpec:
    name: str
    path: Path
    target_fraction: float = 0.5
    max_words: int = 2000
    text_splits: list[str] = field(default_factory=lambda: list(TEXT_SPLITS))
    backend: str = "auto"
    models: dict[str, str] = field(default_factory=dict)
    rpm: float = 0.0
    tpm: float = 0.0
    seed: int = 0
    generate: list[SplitSpec] = field(default_factory=list)
    description: str = ""


_TOP = {
    "name",
    "description",
    "target_fraction",
    "max_words",
    "text_splits",
    "backend",
    "models",
    "rpm",
    "tpm",
    "seed",
    "generate",
    "notes",
}
_SPLIT_KEYS = {"generator", "sources", "groups", "backend", "allow_nd"}


def load_spec(name_or_path: str | Path) -> BuildSpec:
    """Load a shipped spec by name (``demo``) or a YAML path; errors name the key to fix."""
    try:
        path = resolve_recipe("builders", name_or_path)
    except FileNotFoundError as exc:
        raise ConfigError(f"spec={name_or_path}: {exc}") from exc
    data = read_yaml_mapping(path, "builder spec")
    unknown = set(data) - _TOP
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP)}")
    spec = BuildSpec(
        name=str(data.get("name") or path.stem),
        path=path,
        target_fraction=float(data.get("target_fraction", 0.5)),
        max_words=int(data.get("max_words", 2000)),
        text_splits=list(data.get("text_splits", TEXT_SPLITS)),
        backend=str(data.get("backend", "auto")),
        models={str(k): str(v) for k, v in (data.get("models") or {}).items()},
        rpm=float(data.get("rpm", 0) or 0),
        tpm=float(data.get("tpm", 0) or 0),
        seed=int(data.get("seed", 0)),
        description=str(data.get("description", "")),
    )
    bad = [s for s in spec.text_splits if s not in TEXT_SPLITS]
    if bad:
        raise ConfigError(f"{path}: text_splits {bad} unknown; choose from {list(TEXT_SPLITS)}")
    if not 0.0 <= spec.target_fraction <= 1.0:
        raise ConfigError(f"{path}: target_fraction must be between 0 and 1")
    for split, body in (data.get("generate") or {}).items():
        body = dict(body or {})
        if split not in GENERATED_SPLITS:
            raise ConfigError(f"{path}: generate.{split}: split names are {list(GENERATED_SPLITS)}")
        generator = str(body.get("generator", _GENERATORS[split]))
        sources = list(body.get("sources", DEFAULT_SOURCES[split]))
        bad = [s for s in sources if s not in TEXT_SPLITS]
        if bad:
            raise ConfigError(
                f"{path}: generate.{split}.sources {bad} unknown; choose from {list(TEXT_SPLITS)}"
            )
        spec.generate.append(
            SplitSpec(
                split=split,
                generator=generator,
                sources=sources,
                groups=list(body.get("groups", DEFAULT_GROUPS[split])),
                backend=body.get("backend"),
                allow_nd=bool(body.get("allow_nd", False)),
                options={k: v for k, v in body.items() if k not in _SPLIT_KEYS},
            )
        )
    return spec
