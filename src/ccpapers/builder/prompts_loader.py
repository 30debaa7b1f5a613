"""Load versioned prompt templates shipped as package data in ``ccpapers/builder/prompts``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Prompt:
    id: str
    system: str
    instruction: str
    schema: dict[str, Any]  # sent to the provider (the YAML's ``title`` moved to ``name``)
    extra: dict[str, Any]
    sha: str
    name: str = ""

    @property
    def version_tag(self) -> str:
        """``qa.v1@1a2b3c4d``: the prompt id and a hash of its exact text."""
        return f"{self.id}@{self.sha[:8]}"

    @property
    def schema_name(self) -> str:
        return self.name or self.id.replace(".", "_")

    def render(self, **values: Any) -> str:
        return self.instruction.format(**values)


@cache
def load_prompt(prompt_id: str) -> Prompt:
    """``load_prompt("qa.v1")`` reads ``prompts/qa.v1.yaml``."""
    text = (
        resources.files("ccpapers.builder.prompts").joinpath(f"{prompt_id}.yaml").read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text)
    extra = {k: v for k, v in data.items() if k not in ("id", "system", "instruction", "schema")}
    schema = dict(data["schema"])
    name = str(schema.pop("title", ""))
    return Prompt(
        id=data["id"],
        system=data["system"],
        instruction=data["instruction"],
        schema=schema,
        extra=extra,
        sha=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        name=name,
    )
