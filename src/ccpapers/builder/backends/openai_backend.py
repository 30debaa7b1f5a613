"""OpenAI Chat Completions, also for any OpenAI-compatible server (vLLM, llama.cpp, Ollama).

Structured output through ``response_format`` json_schema; a server that rejects it
(400 naming response_format/json_schema/grammar) is asked again without it: the
instruction always spells out the JSON shape, and replies are repaired when parsed.
With ``OPENAI_BASE_URL`` set and no key, the key "EMPTY" is sent (local servers ignore it).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ccpapers.builder.backends.base import ChatRequest, Reply, TranslateRequest, user_text
from ccpapers.builder.backends.errors import classify
from ccpapers.builder.cost import Usage
from ccpapers.builder.limits import Fatal, Rejected

KEY_ENV = "OPENAI_API_KEY"
_SCHEMA_WORDS = ("response_format", "json_schema", "grammar", "structured")


class OpenAIBackend:
    name = "openai"

    def __init__(
        self, model: str = "", timeout: float = 120.0, base_url: str | None = None, **_: Any
    ) -> None:
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.official = not self.base_url or "api.openai.com" in self.base_url
        self.supports = frozenset({"chat", "batch"})
        self.timeout = timeout
        self._client: Any = None
        self._schema_ok = True
        self._lock = threading.Lock()
        if not model and self.official:
            raise Fatal(
                "backend openai needs a model id: pass --model (e.g. gpt-4.1-mini) or set it in the spec"
            )
        self.model = model or self._first_served_model()

    @property
    def client(self) -> Any:
        if self._client is None:
            import openai

            key = os.environ.get(KEY_ENV)
            if not key and self.official:
                raise Fatal(
                    f"backend openai needs {KEY_ENV} in the environment (or OPENAI_BASE_URL for a local server)"
                )
            kwargs: dict[str, Any] = {"api_key": key or "EMPTY", "max_retries": 0, "timeout": self.timeout}
            if self.base_url:
                kwargs["base_url"] = self.base_url
            self._client = openai.OpenAI(**kwargs)
        return self._client

    def _first_served_model(self) -> str:
        import openai

        try:
            models = [m.id for m in self.client.models.list()]
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            raise Fatal(f"no --model given and {self.base_url}/models could not be listed: {exc}") from exc
        if not models:
            raise Fatal(f"no --model given and the server at {self.base_url} lists no models")
        return models[0]

    def payload(self, request: ChatRequest | TranslateRequest) -> dict[str, Any]:
        if not isinstance(request, ChatRequest):
            raise Rejected("openai backend answers chat requests only", "unsupported-request")
        limit_key = "max_completion_tokens" if self.official else "max_tokens"
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": user_text(request)},
            ],
            limit_key: request.max_tokens,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": True},
            },
        }

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        import openai

        body = payload if self._schema_ok else _without_schema(payload)
        try:
            completion = self.client.chat.completions.create(**body)
        except openai.BadRequestError as exc:
            if body is payload and any(w in str(exc).lower() for w in _SCHEMA_WORDS):
                with self._lock:
                    self._schema_ok = False  # this server cannot do json_schema: prompt-only JSON from now on
                return self.send(payload)
            raise classify(exc, "openai", KEY_ENV) from exc
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            raise classify(exc, "openai", KEY_ENV) from exc
        return completion.model_dump(mode="json")

    def parse(self, raw: dict[str, Any]) -> Reply:
        choice = (raw.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        u = raw.get("usage") or {}
        cached = int(((u.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
        usage = Usage(
            input_tokens=int(u.get("prompt_tokens") or 0) - cached,
            output_tokens=int(u.get("completion_tokens") or 0),
            cache_read_tokens=cached,
        )
        return Reply([message.get("content") or ""], usage, choice.get("finish_reason"))

    # -- Batch API ---------------------------------------------------------------
    def submit_batch(self, items: list[tuple[str, dict[str, Any]]]) -> str:
        import json

        import openai

        lines = [
            json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": body})
            for cid, body in items
        ]
        try:
            file = self.client.files.create(
                file=("ccpapers-batch.jsonl", ("\n".join(lines) + "\n").encode("utf-8")), purpose="batch"
            )
            batch = self.client.batches.create(
                input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
        except openai.NotFoundError as exc:
            raise Fatal(
                f"the server at {self.base_url or 'api.openai.com'} has no Batch API (HTTP 404): run without --batch"
            ) from exc
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            raise classify(exc, "openai", KEY_ENV) from exc
        return batch.id

    def batch_done(self, batch_id: str) -> bool:
        status = self.client.batches.retrieve(batch_id).status
        return status in ("completed", "failed", "expired", "cancelled")

    def batch_results(self, batch_id: str) -> dict[str, dict[str, Any] | str]:
        import json

        batch = self.client.batches.retrieve(batch_id)
        out: dict[str, dict[str, Any] | str] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            for line in self.client.files.content(file_id).text.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                resp = item.get("response") or {}
                if resp.get("status_code") == 200:
                    out[item["custom_id"]] = resp["body"]
                else:
                    out[item["custom_id"]] = f"batch-error-{resp.get('status_code')}"
        return out


def _without_schema(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "response_format"}
