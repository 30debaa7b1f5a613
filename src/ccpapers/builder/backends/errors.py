"""Map HTTP statuses of the Anthropic and OpenAI SDK exceptions to Retryable/Fatal/Rejected."""

from __future__ import annotations

from ccpapers.builder.limits import BackendError, Fatal, Rejected, Retryable
from ccpapers.retry import parse_retry_after

_CONTEXT_WORDS = (
    "context length",
    "context_length",
    "prompt is too long",
    "too many tokens",
    "maximum context",
    "context window",  # llama-cpp-python: "Requested tokens (N) exceed context window of M" (HTTP 500)
)
MESSAGE_CHARS = 500  # enough of the server's own message to act on


def server_message(exc: Exception) -> str:
    """The server's own words: the ``message`` (OpenAI style) or ``detail`` (FastAPI) of a JSON
    error body, else the exception text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = (inner.get("message") or inner.get("detail")) if isinstance(inner, dict) else inner
        if text:
            return str(text)[:MESSAGE_CHARS]
    return str(exc)[:MESSAGE_CHARS]


def classify(exc: Exception, provider: str, key_env: str) -> BackendError:
    """Turn an SDK exception (``APIStatusError``/``APIConnectionError``...) into ours."""
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    message = server_message(exc)
    low = f"{exc} {message}".lower()
    if status is None:  # connection error or timeout
        timed_out = "Timeout" in type(exc).__name__
        return Retryable(f"{provider}: {type(exc).__name__}: {message}", timed_out=timed_out)
    if status in (401, 403):
        return Fatal(
            f"{provider} rejected the API key (HTTP {status}). Set a valid {key_env} in the environment "
            "(keys are never read from config files)."
        )
    if status == 402 or "insufficient_quota" in low or "credit balance" in low:
        return Fatal(
            f"{provider}: quota or credit exhausted (HTTP {status}): {message}. Top up or lower the work."
        )
    busy = status == 429 or status in (408, 409, 529)  # a 429 may say "too many tokens" (per minute)
    if not busy and (status == 413 or any(w in low for w in _CONTEXT_WORDS)):
        return Rejected(f"{provider}: request too long for the model's context: {message}", "context-length")
    if busy or status >= 500:
        return Retryable(f"{provider}: HTTP {status}: {message}", parse_retry_after(headers), status)
    if status == 404:
        return Fatal(f"{provider}: HTTP 404 ({message}). Check the model id (--model) and the base URL.")
    return Rejected(f"{provider}: HTTP {status}: {message}", f"http-{status}")
