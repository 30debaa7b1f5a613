"""OpenAI Chat Completions, also for any OpenAI-compatible server (vLLM, llama.cpp, Ollama).

Structured output: servers differ in what ``response_format`` they accept, so the backend
tries the best first and steps down, once per server, when an answer (4xx or 5xx) names
``response_format``/``json_schema``/``grammar``: ``json_schema`` (OpenAI, vLLM, llama.cpp's
llama-server) -> ``json_object`` with ``schema`` (llama-cpp-python, whose json_schema answer
is HTTP 500) -> plain ``json_object`` -> none. On a compatible server the first request
goes alone, so the others never see the refusal. The instruction always spells out the
JSON shape and replies are repaired when parsed, so a server that ignores
``response_format`` (``transformers serve``) still gets usable replies.

With ``OPENAI_BASE_URL`` set and no key, the key "EMPTY" is sent (local servers ignore it).
The model then defaults to the first one the server lists; the listing is remembered in
the work directory so that a fully cached re-run needs no server. Rows name the model by
:func:`~ccpapers.builder.backends.base.model_name` (llama-cpp-python lists the GGUF's path).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from ccpapers.builder.backends.base import ChatRequest, Reply, TranslateRequest, model_name, user_text
from ccpapers.builder.backends.errors import classify, server_message
from ccpapers.builder.cost import Usage
from ccpapers.builder.limits import Fatal, Rejected
from ccpapers.io import atomic_write

log = logging.getLogger(__name__)
KEY_ENV = "OPENAI_API_KEY"
MODES = ("json_schema", "json_object_schema", "json_object", "none")
LOCAL_FREQUENCY_PENALTY = 0.1  # transformers serve applies it as repetition_penalty 1.1
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "grammar", "structured")


class OpenAIBackend:
    name = "openai"
    supports = frozenset({"chat", "batch"})
    key_envs = (KEY_ENV, "OPENAI_BASE_URL")  # a local server (OPENAI_BASE_URL) needs no key

    def __init__(
        self,
        model: str = "",
        timeout: float = 120.0,
        base_url: str | None = None,
        state_dir: str | Path | None = None,
        **_: Any,
    ) -> None:
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.official = not self.base_url or "api.openai.com" in self.base_url
        self.timeout = timeout
        self.state_dir = Path(state_dir) if state_dir else None
        self._client: Any = None
        self.mode = MODES[0]  # the best structured output this server has not refused
        self.mode_changes: list[str] = []
        self._answered = False  # a reply came back (so ``mode`` was really used)
        self._settled = self.official  # api.openai.com takes json_schema
        self._first = threading.Lock()
        self._lock = threading.Lock()
        if not model and self.official:
            raise Fatal(
                "backend openai needs a model id: pass --model (e.g. gpt-4.1-mini) or set it in the spec"
            )
        self.model = model or self._first_served_model()
        self.model_name = model_name(self.model)

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

    # -- which model, how many at once --------------------------------------------
    def _memo_path(self) -> Path | None:
        if self.state_dir is None or not self.base_url:
            return None
        digest = hashlib.sha256(self.base_url.encode("utf-8")).hexdigest()[:16]
        return self.state_dir / "servers" / f"{digest}.json"

    def _first_served_model(self) -> str:
        import openai

        memo = self._memo_path()
        try:
            models = [m.id for m in self.client.with_options(timeout=15.0).models.list()]
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            found = self._pinned_model() if isinstance(exc, openai.APIStatusError) else None
            if found:
                models = [found]
            elif memo is not None and memo.is_file():
                remembered = json.loads(memo.read_text(encoding="utf-8"))["model"]
                log.warning("%s/models not reachable (%s); using %s, listed there last time",
                            self.base_url, type(exc).__name__, remembered)  # fmt: skip
                return remembered
            else:
                raise Fatal(
                    f"no --model given and {self.base_url}/models could not be listed: {server_message(exc)}. "
                    "Start the server (or fix OPENAI_BASE_URL), or pass --model with the id it serves."
                ) from exc
        if not models:
            raise Fatal(f"no --model given and the server at {self.base_url} lists no models")
        if memo is not None:
            with atomic_write(memo) as fh:
                fh.write(json.dumps({"model": models[0]}))
        return models[0]

    def _pinned_model(self) -> str | None:
        """The model a server started for one model names when asked for another: `transformers
        serve MODEL` answers 400 "Server is pinned to 'MODEL'; requested '?'" (its /v1/models lists
        the Hugging Face cache instead, and fails where there is none)."""
        import openai

        try:
            self.client.with_options(timeout=30.0).chat.completions.create(
                model="?", messages=[{"role": "user", "content": "?"}], max_tokens=1
            )
        except openai.APIStatusError as exc:
            match = re.search(r"pinned to '([^']+)'", server_message(exc))
            return match.group(1) if match else None
        except openai.APIConnectionError:
            return None
        return None

    def start_concurrency(self) -> int | None:
        """Requests a local server gets at first: its slot count (llama.cpp's ``/props``), else 1.
        None for api.openai.com, which takes the configured concurrency at once."""
        if self.official:
            return None
        return _server_slots(self.base_url or "") or 1

    # -- requests -------------------------------------------------------------------
    def payload(self, request: ChatRequest | TranslateRequest) -> dict[str, Any]:
        if not isinstance(request, ChatRequest):
            raise Rejected("openai backend answers chat requests only", "unsupported-request")
        limit_key = "max_completion_tokens" if self.official else "max_tokens"
        body: dict[str, Any] = {
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
        if not self.official:  # small local models repeat themselves up to max_tokens without it
            body["frequency_penalty"] = LOCAL_FREQUENCY_PENALTY
        return body

    def send(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        if not self._settled:
            with self._first:  # the first request finds out what the server accepts; the rest wait
                if not self._settled:
                    raw = self._send(payload, timeout)
                    self._settled = True
                    return raw
        return self._send(payload, timeout)

    def _send(self, payload: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        import openai

        while True:
            mode = self.mode
            body = with_mode(payload, mode)
            try:
                completion = self.client.chat.completions.create(
                    **body, **({"timeout": timeout} if timeout else {})
                )
            except openai.APIStatusError as exc:
                if mode != "none" and _names_response_format(exc):
                    self._step_down(mode, exc)
                    continue  # the same request in the next mode, not a retry
                raise classify(exc, "openai", KEY_ENV) from exc
            except openai.APIConnectionError as exc:
                raise classify(exc, "openai", KEY_ENV) from exc
            self._answered = True
            return completion.model_dump(mode="json")

    @property
    def structured_output(self) -> str | None:
        """The response_format mode replies came back with in this run (None: nothing was sent)."""
        return self.mode if self._answered else None

    def _step_down(self, mode: str, exc: Any) -> None:
        with self._lock:
            if self.mode != mode:
                return  # another request already stepped down from this mode
            self.mode = MODES[MODES.index(mode) + 1]
            note = f"{mode} refused (HTTP {exc.status_code}: {server_message(exc)}); using {self.mode}"
            self.mode_changes.append(note)
        log.warning("%s: response_format %s", self.base_url or "openai", note)

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


def with_mode(payload: dict[str, Any], mode: str) -> dict[str, Any]:
    """``payload`` (built for json_schema) rewritten for a server that takes ``mode``."""
    fmt = payload.get("response_format")
    if mode == "json_schema" or not fmt:
        return payload
    body = {k: v for k, v in payload.items() if k != "response_format"}
    if mode == "json_object_schema":
        body["response_format"] = {"type": "json_object", "schema": fmt["json_schema"]["schema"]}
    elif mode == "json_object":
        body["response_format"] = {"type": "json_object"}
    return body


def _names_response_format(exc: Any) -> bool:
    status = getattr(exc, "status_code", 0) or 0
    if status in (401, 402, 403, 429) or status < 400:
        return False
    text = f"{exc} {server_message(exc)}".lower()
    return any(w in text for w in _FORMAT_WORDS)


def _server_slots(base_url: str) -> int | None:
    """``total_slots`` from llama.cpp's ``GET /props``; None where the server has no such page."""
    import httpx2

    root = base_url.rstrip("/").removesuffix("/v1")
    key = os.environ.get(KEY_ENV)
    try:
        reply = httpx2.get(
            f"{root}/props", timeout=5.0, headers={"Authorization": f"Bearer {key}"} if key else None
        )
        slots = reply.json().get("total_slots") if reply.status_code == 200 else None
        return int(slots) if slots else None
    except Exception:  # no /props, not JSON, unreachable: the slot count is unknown
        return None
