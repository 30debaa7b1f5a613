"""Anthropic Messages API with structured output (``output_config`` json_schema).

The schema goes through the SDK's ``transform_schema``: constraints the API refuses
(``maxItems``, ``minItems`` above 1) move into the description instead of failing the request.

The passage block carries ``cache_control`` so every task on one passage reuses the
cached prefix (reads cost about 0.1x). No temperature: anthropic 2.x removed it.
"""

from __future__ import annotations

import os
from typing import Any

from ccpapers.builder.backends.base import ChatRequest, Reply, TranslateRequest
from ccpapers.builder.backends.errors import classify
from ccpapers.builder.cost import Usage
from ccpapers.builder.limits import Fatal, Rejected

KEY_ENV = "ANTHROPIC_API_KEY"


class AnthropicBackend:
    name = "anthropic"
    supports = frozenset({"chat", "batch"})
    key_envs = (KEY_ENV, "ANTHROPIC_AUTH_TOKEN")

    def __init__(
        self, model: str = "", timeout: float = 120.0, base_url: str | None = None, **_: Any
    ) -> None:
        if not model:
            raise Fatal(
                "backend anthropic needs a model id: pass --model (e.g. claude-sonnet-4-6) or set it in the spec"
            )
        self.model = model
        self.timeout = timeout
        self.base_url = base_url
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import anthropic

            key = os.environ.get(KEY_ENV) or os.environ.get("ANTHROPIC_AUTH_TOKEN")
            if not key:
                raise Fatal(f"backend anthropic needs {KEY_ENV} in the environment")
            kwargs: dict[str, Any] = {"api_key": key, "max_retries": 0, "timeout": self.timeout}
            if self.base_url:
                kwargs["base_url"] = self.base_url
            self._client = anthropic.Anthropic(**kwargs)
        return self._client

    def payload(self, request: ChatRequest | TranslateRequest) -> dict[str, Any]:
        if not isinstance(request, ChatRequest):
            raise Rejected("anthropic backend answers chat requests only", "unsupported-request")
        content: list[dict[str, Any]] = []
        if request.context:
            content.append({"type": "text", "text": request.context, "cache_control": {"type": "ephemeral"}})
        content.append({"type": "text", "text": request.instruction})
        return {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "system": request.system,
            "messages": [{"role": "user", "content": content}],
            "output_config": {"format": {"type": "json_schema", "schema": _api_schema(request.schema)}},
        }

    def send(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        import anthropic

        try:
            message = self.client.messages.create(**payload, **({"timeout": timeout} if timeout else {}))
        except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
            raise classify(exc, "anthropic", KEY_ENV) from exc
        return message.model_dump(mode="json")

    def parse(self, raw: dict[str, Any]) -> Reply:
        text = "".join(b.get("text", "") for b in raw.get("content") or [] if b.get("type") == "text")
        u = raw.get("usage") or {}
        usage = Usage(
            input_tokens=int(u.get("input_tokens") or 0),
            output_tokens=int(u.get("output_tokens") or 0),
            cache_read_tokens=int(u.get("cache_read_input_tokens") or 0),
            cache_write_tokens=int(u.get("cache_creation_input_tokens") or 0),
        )
        return Reply([text], usage, raw.get("stop_reason"))

    # -- Message Batches -----------------------------------------------------
    def submit_batch(self, items: list[tuple[str, dict[str, Any]]]) -> str:
        import anthropic

        try:
            batch = self.client.messages.batches.create(
                requests=[{"custom_id": cid, "params": params} for cid, params in items]
            )
        except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
            raise classify(exc, "anthropic", KEY_ENV) from exc
        return batch.id

    def batch_done(self, batch_id: str) -> bool:
        return self.client.messages.batches.retrieve(batch_id).processing_status == "ended"

    def batch_results(self, batch_id: str) -> dict[str, dict[str, Any] | str]:
        """custom_id -> raw message (succeeded) or an error string."""
        out: dict[str, dict[str, Any] | str] = {}
        for item in self.client.messages.batches.results(batch_id):
            result = item.result
            if result.type == "succeeded":
                out[item.custom_id] = result.message.model_dump(mode="json")
            else:
                out[item.custom_id] = f"batch-{result.type}"
        return out


def _api_schema(schema: dict[str, Any]) -> dict[str, Any]:
    from anthropic import transform_schema

    return transform_schema(schema)
