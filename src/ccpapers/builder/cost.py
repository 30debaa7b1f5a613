"""Per-model price table (USD per million tokens; DeepL per million characters) and usage.

The built-in table is a starting point: prices change, so users override it with a
YAML file (``--prices``) mapping model id -> {input, output, cache_read, cache_write}.
A model not in the table is priced by its longest matching prefix, else at zero
(local servers) with a warning in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccpapers.config import ConfigError, read_yaml_mapping

# USD per 1M tokens. Verify against the providers' price pages before relying on them.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "claude-opus": {"input": 15.0, "output": 75.0, "cache_read": 1.5, "cache_write": 18.75},
    "claude-sonnet": {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75},
    "claude-haiku": {"input": 1.0, "output": 5.0, "cache_read": 0.1, "cache_write": 1.25},
    "gpt-4.1-mini": {"input": 0.4, "output": 1.6, "cache_read": 0.1},
    "gpt-4.1-nano": {"input": 0.1, "output": 0.4, "cache_read": 0.025},
    "gpt-4.1": {"input": 2.0, "output": 8.0, "cache_read": 0.5},
    "gpt-4o-mini": {"input": 0.15, "output": 0.6, "cache_read": 0.075},
    "gpt-4o": {"input": 2.5, "output": 10.0, "cache_read": 1.25},
    "gpt-5-mini": {"input": 0.25, "output": 2.0, "cache_read": 0.025},
    "gpt-5": {"input": 1.25, "output": 10.0, "cache_read": 0.125},
    # DeepL API Pro: USD per 1M characters (billed_characters)
    "deepl": {"characters": 25.0},
}
BATCH_DISCOUNT = 0.5


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    billed_characters: int = 0

    def add(self, other: Usage) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        data = data or {}
        return cls(**{k: int(data.get(k) or 0) for k in cls.__dataclass_fields__})


@dataclass
class PriceTable:
    prices: dict[str, dict[str, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    @classmethod
    def load(cls, override: str | Path | None = None) -> PriceTable:
        table = cls()
        if override:
            data = read_yaml_mapping(override, "prices file (a YAML of model: {input, output})")
            for model, row in data.items():
                if not isinstance(row, dict):
                    raise ConfigError(f"prices={override}: {model!r} must map to {{input: .., output: ..}}")
                table.prices[str(model)] = {k: float(v) for k, v in row.items()}
        return table

    def lookup(self, model: str) -> dict[str, float] | None:
        if model in self.prices:
            return self.prices[model]
        matches = [k for k in self.prices if model.startswith(k)]
        return self.prices[max(matches, key=len)] if matches else None

    def known(self, model: str) -> bool:
        return self.lookup(model) is not None

    def cost(self, model: str, usage: Usage, batch: bool = False) -> float:
        row = self.lookup(model) or {}
        usd = (
            usage.input_tokens * row.get("input", 0.0)
            + usage.output_tokens * row.get("output", 0.0)
            + usage.cache_read_tokens * row.get("cache_read", row.get("input", 0.0))
            + usage.cache_write_tokens * row.get("cache_write", row.get("input", 0.0))
            + usage.billed_characters * row.get("characters", 0.0)
        ) / 1e6
        return usd * (BATCH_DISCOUNT if batch else 1.0)
