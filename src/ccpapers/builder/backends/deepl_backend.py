"""DeepL translation (up to 50 texts per request), billed characters recorded.

``DEEPL_SERVER_URL`` (optional) points the client at another server (tests, proxies).
DeepL's own retries are turned off so that 429 handling and the limiter are ours.
"""

from __future__ import annotations

import os
from typing import Any

from ccpapers.builder.backends.base import ChatRequest, Reply, TranslateRequest
from ccpapers.builder.cost import Usage
from ccpapers.builder.limits import Fatal, Rejected, Retryable

KEY_ENV = "DEEPL_AUTH_KEY"
MAX_TEXTS = 50
_TARGETS = {"en": "EN-US", "pt": "PT-PT"}  # DeepL refuses bare EN/PT as targets


class DeepLBackend:
    name = "deepl"
    supports = frozenset({"translate"})
    key_envs = (KEY_ENV,)

    def __init__(
        self, model: str = "", timeout: float = 120.0, base_url: str | None = None, **_: Any
    ) -> None:
        self.model = model or "deepl"
        self.base_url = base_url or os.environ.get("DEEPL_SERVER_URL") or None
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import deepl

            key = os.environ.get(KEY_ENV)
            if not key:
                raise Fatal(f"backend deepl needs {KEY_ENV} in the environment")
            deepl.http_client.max_network_retries = 0
            self._client = deepl.DeepLClient(key, server_url=self.base_url, send_platform_info=False)
        return self._client

    def payload(self, request: ChatRequest | TranslateRequest) -> dict[str, Any]:
        if not isinstance(request, TranslateRequest):
            raise Rejected("deepl backend only translates", "unsupported-request")
        if len(request.texts) > MAX_TEXTS:
            raise ValueError(f"DeepL takes at most {MAX_TEXTS} texts per request")
        target = _TARGETS.get(request.target_lang.lower(), request.target_lang.upper())
        body: dict[str, Any] = {
            "text": list(request.texts),
            "target_lang": target,
            "source_lang": request.source_lang.upper(),
            "formality": "prefer_more",
        }
        if request.context:
            body["context"] = request.context
        return body

    def send(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        import deepl

        try:
            results = self.client.translate_text(**payload)
        except deepl.AuthorizationException as exc:
            raise Fatal(f"DeepL rejected the key: set a valid {KEY_ENV} ({exc})") from exc
        except deepl.QuotaExceededException as exc:
            raise Fatal(f"DeepL quota for this billing period is used up (HTTP 456): {exc}") from exc
        except deepl.ConnectionException as exc:
            raise Retryable(f"deepl: {exc}") from exc
        except deepl.DeepLException as exc:
            status = exc.http_status_code
            if exc.should_retry or status == 429 or (status or 0) >= 500:
                raise Retryable(f"deepl: HTTP {status}: {exc}", None, status) from exc
            raise Rejected(f"deepl: HTTP {status}: {exc}", f"http-{status}") from exc
        if not isinstance(results, list):
            results = [results]
        return {
            "translations": [
                {
                    "text": r.text,
                    "billed_characters": r.billed_characters,
                    "detected_source_language": r.detected_source_lang,
                }
                for r in results
            ]
        }

    def parse(self, raw: dict[str, Any]) -> Reply:
        items = raw.get("translations") or []
        billed = sum(int(t.get("billed_characters") or 0) for t in items)
        return Reply([t.get("text") or "" for t in items], Usage(billed_characters=billed), "end")
