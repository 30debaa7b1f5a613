"""Map HTTP statuses of the Anthropic and OpenAI SDK exceptions to Retryable/Fatal/Rejected."""

from __future__ import annotations

from ccpapers.builder.limits import BackendError, Fatal, Rejected, Retryable, parse_retry_after

_CONTEXT_WORDS = (
    "context length",
    "context_length",
    "prompt is too long",
    "too many tokens",
    "maximum context",
)


def classify(exc: Exception, provider: str, key_env: str) -> BackendError:
    """Turn an SDK exception (``APIStatusError``/``APIConnectionError``...) into ours."""
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    message = str(exc)
    low = message.lower()
    if status is None:  # connection error or timeout
        return Retryable(f"{provider}: {type(exc).__name__}: {message}")
    if status in (401, 403):
        return Fatal(
            f"{provider} rejected the API key (HTTP {status}). Set a valid {key_env} in the environment "
            "(keys are never read from config files)."
        )
    if status == 402 or "insufficient_quota" in low or "credit balance" in low:
        return Fatal(
            f"{provider}: quota or credit exhausted (HTTP {status}): {message}. Top up or lower the work."
        )
    if status == 429 or status in (408, 409, 529) or status >= 500:
        return Retryable(f"{provider}: HTTP {status}", parse_retry_after(headers), status)
    if status == 404:
        return Fatal(f"{provider}: HTTP 404 ({message}). Check the model id (--model) and the base URL.")
    if status == 413 or any(w in low for w in _CONTEXT_WORDS):
        return Rejected(f"{provider}: request too long for the model's context: {message}", "context-length")
    return Rejected(f"{provider}: HTTP {status}: {message}", f"http-{status}")
