"""The one scrubber every message passes before ccpapers prints, logs or writes it.

:func:`scrub` replaces, in any text:

- the value of every secret-looking environment variable (``ANTHROPIC_API_KEY``,
  ``OPENAI_API_KEY``, ``DEEPL_AUTH_KEY``, ``HF_TOKEN``... and any name with a KEY, TOKEN,
  SECRET, PASSWORD, AUTH or CREDENTIAL part), so a server that echoes the key back in an
  error body cannot make us print it;
- credentials in URLs (``http://user:pw@host`` -> ``http://[redacted]@host``);
- ``Authorization``-looking values (``Bearer ...``, ``DeepL-Auth-Key ...``, ``x-api-key: ...``,
  ``api_key=...``) and well-known key shapes (``sk-...``, ``hf_...``, DeepL ``...:fx``).

Where it is applied: ``cli.main`` scrubs its error line, installs :class:`ScrubFilter` on the
logging handlers and routes stdout/stderr through :func:`scrubbed_output` while a command
runs; :func:`ccpapers.io.write_json` scrubs every report it writes; ``CcpapersError`` and the
build's backend errors scrub their own messages, so library callers get clean text too.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

MASK = "[redacted]"
MIN_SECRET_LEN = 8  # shorter env values ("1", "true") are flags, not secrets
SECRET_ENVS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "DEEPL_AUTH_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
)
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIALS?)(?:_|$)", re.I
)
_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    # scheme://user:password@host (also a lone user or token before the @)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@'\"<>]+@"), rf"\1{MASK}@"),
    # Authorization: Bearer x / Basic x / DeepL-Auth-Key x (header or repr of a header dict)
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)"
            r"(?:(bearer|basic|token|deepl-auth-key)\s+)?[^\s'\",;}]+"
        ),
        lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}{MASK}",
    ),
    (re.compile(r"(?i)\b(bearer|deepl-auth-key)\s+[A-Za-z0-9._~+/=:\-]{6,}"), rf"\1 {MASK}"),
    # api_key=x, "x-api-key": "x", token: x, password=x
    (
        re.compile(
            r"(?i)\b((?:x-)?api[_-]?key|auth[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd"
            r"|token)(['\"]?\s*[:=]\s*['\"]?)(?!\[redacted\])[^\s'\",;&}]{4,}"
        ),
        rf"\1\2{MASK}",
    ),
    # key shapes: OpenAI/Anthropic sk-..., Hugging Face hf_..., GitHub gh?_..., DeepL uuid:fx
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), MASK),
    (re.compile(r"\bhf_[A-Za-z0-9]{16,}"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), MASK),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:fx\b", re.I), MASK),
]


def is_secret_name(name: str) -> bool:
    return name in SECRET_ENVS or bool(_SECRET_NAME.search(name))


def secret_values(environ: Any = None) -> list[str]:
    """Values of the secret-looking environment variables, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if v and len(v) >= MIN_SECRET_LEN and is_secret_name(k)}
    return sorted(values, key=len, reverse=True)


def scrub(text: Any) -> str:
    """``text`` with every secret replaced by ``[redacted]`` (non-strings are ``str()``-ed)."""
    text = text if isinstance(text, str) else str(text)
    if not text:
        return text
    for value in secret_values():
        if value in text:
            text = text.replace(value, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def scrub_obj(obj: Any) -> Any:
    """A copy of a JSON-like object with every string (keys included) scrubbed."""
    if isinstance(obj, str):
        return scrub(obj)
    if isinstance(obj, dict):
        return {scrub_obj(k): scrub_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub_obj(v) for v in obj]
    return obj


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs the formatted message and any traceback of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as it is
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Add :class:`ScrubFilter` to every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())


class _ScrubbingStream:
    """Wraps a text stream: every ``write`` is scrubbed; everything else is the stream's own."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(scrub(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextmanager
def scrubbed_output() -> Iterator[None]:
    """Route ``sys.stdout`` and ``sys.stderr`` through :func:`scrub` for the duration."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ScrubbingStream(out), _ScrubbingStream(err)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
