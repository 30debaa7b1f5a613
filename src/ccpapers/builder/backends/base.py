"""Requests, replies and the Backend protocol shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ccpapers.builder.cost import Usage
from ccpapers.builder.limits import Fatal


@dataclass
class ChatRequest:
    """A JSON-answering chat request. ``context`` (the passage) goes first so that
    every task on the same passage shares a cacheable prefix; ``instruction`` last."""

    system: str
    context: str
    instruction: str
    schema: dict[str, Any]
    schema_name: str
    max_tokens: int = 1024


@dataclass
class TranslateRequest:
    texts: list[str]
    target_lang: str
    source_lang: str = "en"
    context: str | None = None


@dataclass
class Reply:
    texts: list[str]
    usage: Usage = field(default_factory=Usage)
    finish: str | None = None


class Backend(Protocol):
    name: str
    model: str
    supports: frozenset[str]  # "chat", "translate", "batch", "local-batch"
    key_envs: tuple[str, ...]  # environment variables of which one must be set to use it; () none

    def payload(self, request: ChatRequest | TranslateRequest) -> dict[str, Any]: ...

    def send(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]: ...

    def parse(self, raw: dict[str, Any]) -> Reply: ...


def model_name(model_id: str) -> str:
    """What rows call a model: a hub-style id as it is, a local path by its file or folder
    name without ``.gguf`` (llama-cpp-python lists the full path of the GGUF it serves)."""
    text = model_id.strip()
    is_path = text.lower().endswith(".gguf") or text.startswith(("/", "./", "../", "~")) or "\\" in text
    if not is_path:
        return text
    name = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name[: -len(".gguf")] if name.lower().endswith(".gguf") else name


def user_text(request: ChatRequest) -> str:
    return f"{request.context}\n\n{request.instruction}" if request.context else request.instruction


class OfflineBackend:
    """No model at all: the offline generator needs none, and nothing can be sent."""

    name = "offline"
    supports: frozenset[str] = frozenset()
    key_envs: tuple[str, ...] = ()

    def __init__(self, model: str = "", **_: Any) -> None:
        self.model = "none"

    def payload(self, request: ChatRequest | TranslateRequest) -> dict[str, Any]:
        raise Fatal(
            "the offline backend cannot answer model requests; choose --backend anthropic|openai|deepl"
        )

    def send(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        raise Fatal("the offline backend cannot send requests")

    def parse(self, raw: dict[str, Any]) -> Reply:
        raise Fatal("the offline backend has no replies")
