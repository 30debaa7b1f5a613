"""A fake model provider on 127.0.0.1 speaking the Anthropic, OpenAI and DeepL wire formats.

Real ``anthropic``, ``openai`` and ``deepl`` clients are pointed at it (``base_url`` /
``server_url``). Endpoints: Anthropic ``POST /v1/messages`` and ``/v1/messages/batches``
(+ retrieve, results); OpenAI ``POST /v1/chat/completions``, ``GET /v1/models``,
``/v1/files`` (+ content) and ``/v1/batches``; DeepL ``POST /v2/translate``, ``GET /v2/usage``.

Injectable behaviour: ``latency`` (seconds per request), ``rpm_limit`` (a server-side
limiter answering 429 + Retry-After), ``fail_429`` (answer the next N model requests with
429 and ``retry_after``), ``malformed`` (queue of "truncate" / "garbage" chat replies),
``formats`` (the ``response_format`` types accepted; others get ``format_refusal``),
``ignore_format`` (accept ``response_format`` but answer free-form, JSON in a fence), ``slots``
(requests computed at once; the rest queue, as on a CPU server), ``props`` (llama.cpp's
``GET /props``), ``translate_hook`` (rewrite DeepL output),
``judge`` (RACAR scores per pair for judge requests), ``omit_usage`` (OpenAI replies without ``usage``; ``billed`` keeps what each reply would have
billed), ``batch_id`` (the id an OpenAI batch gets), ``batch_pending_polls`` (batches report in-progress
for that many retrievals), ``errors``
(queue of (status, message) answers; ``{key}`` in a message becomes the key the client sent, as
servers that echo it back do), ``auth_fail`` (401/403 for every model request).

:func:`imitate` sets these to what a real server was recorded doing (``SERVERS``).

Replies are computed from the request: the passage between ``<passage>`` tags is turned
into questions, multiple choice, rewrites, translations or judge scores depending on the JSON
schema named in the request (``ccpapers_qa``, ``ccpapers_mcq``, ``ccpapers_rewrite``,
``ccpapers_translation``, ``ccpapers_judge``) or, without a schema, by the instruction's wording.
Translations keep numbers, units, formulas and names and replace the other words by words of the
target language (:func:`fake_translate`), as a real translation would pass the language checks.
"""

from __future__ import annotations

import email.parser
import json
import math
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_NUM_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s?(nm|µm|mm|K|°C|%|eV|GPa|mS|days)")


def _passage(text: str) -> str:
    m = re.search(r"<passage>\n(.*?)\n</passage>", text, re.S)
    return m.group(1) if m else ""


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")) if len(s.strip()) > 20]


_WORDS = {
    "de": {"the": "die", "and": "und", "of": "von", "in": "in", "at": "bei", "for": "für", "is": "ist",
           "are": "sind", "with": "mit", "from": "aus", "by": "durch", "a": "ein", "to": "zu", "on": "auf"},
    "es": {"the": "los", "and": "y", "of": "de", "in": "en", "at": "a", "for": "para", "is": "es",
           "are": "son", "with": "con", "from": "de", "by": "por", "a": "una", "to": "a", "on": "en"},
    "it": {"the": "il", "and": "e", "of": "di", "in": "nel", "at": "a", "for": "per", "is": "è",
           "are": "sono", "with": "con", "from": "da", "by": "per", "a": "una", "to": "a", "on": "su"},
}  # fmt: skip
_SUFFIX = {"de": "ung", "es": "ado", "it": "ato"}
_CJK_WORD = {"ja": ("の", "語"), "ko": ("의", "어"), "zh": ("的", "语")}
_LANG_CODES = {"German": "de", "Spanish": "es", "Italian": "it", "Japanese": "ja", "Korean": "ko",
               "Chinese": "zh", "French": "fr", "Portuguese": "pt"}  # fmt: skip


def fake_translate(text: str, lang: str) -> str:
    """A translation as a fake can make one: numbers, units, formulas and names kept verbatim,
    every other English word replaced by a word of the target language (function words by their
    real counterparts), so the result passes the language and preservation checks."""
    lang = lang.lower()
    out = []
    for token in re.findall(r"[A-Za-z]+|[^A-Za-z]+", text):
        if not token.isalpha() or token[0].isupper() or any(c.isupper() for c in token[1:]):
            out.append(token)  # numbers, units (mS), formulas (ZrB2), names, punctuation
        elif lang in _CJK_WORD:
            particle, word = _CJK_WORD[lang]
            out.append(particle if len(token) <= 3 else word)
        else:
            out.append(_WORDS.get(lang, {}).get(token.lower(), token + _SUFFIX.get(lang, "o")))
    return "".join(out)


def default_judge(question: str, answer: str, passage: str) -> dict[str, int]:
    """RACAR scores a sensible judge would give: 3s, agnosticism 1 for context-dependent
    questions, accuracy 1 for answers the passage does not contain."""
    context = re.search(r"\b(this|the) (study|paper|work)\b|\bFig\.|\bthe authors\b", question, re.I)
    return {"relevance": 3, "agnosticism": 1 if context else 3, "completeness": 3,
            "accuracy": 3 if answer.strip() in passage else 1, "reasonableness": 3}  # fmt: skip


def judge_reply(body_text: str, judge: Callable[[str, str, str], dict[str, int]]) -> str | None:
    """The scores reply to a judge request (None when the request is not one)."""
    if "ccpapers_judge" not in body_text and "Grade each pair" not in body_text:
        return None
    pairs = re.findall(r"Pair (\d+)\nQuestion: (.*?)\nAnswer: (.*?)(?=\n\nPair \d+\n|\n\nReply with)",
                       body_text, re.S)  # fmt: skip
    passage = _passage(body_text)
    return json.dumps({"scores": [{"pair": int(n), **judge(q, a, passage)} for n, q, a in pairs]})


def default_chat(body_text: str) -> str:
    """The JSON a helpful model would return for the task named in the request."""
    passage = _passage(body_text)
    sents = _sentences(passage)
    if "ccpapers_mcq" in body_text or "multiple-choice questions" in body_text:
        items = []
        for s in sents:
            m = _NUM_UNIT.search(s)
            if not m:
                continue
            value, unit = float(m.group(1)), m.group(2)
            head = " ".join(s.split()[:6])
            items.append(
                {
                    "question": f"Which value is reported for {head}?",
                    "answer": m.group(0),
                    "distractors": [f"{value * f:g} {unit}" for f in (2, 3, 5)],
                }
            )
        return json.dumps({"items": items[:3]})
    if "ccpapers_qa" in body_text or "question-answer pairs" in body_text:
        items = [
            {"question": f"Which fact about {' '.join(s.split()[:6])} holds?", "answer": s} for s in sents[:2]
        ]
        items.append(
            {"question": "What does this study show in Fig. 2?", "answer": sents[0] if sents else "x"}
        )
        return json.dumps({"items": items})
    if "ccpapers_rewrite" in body_text or "Rewrite it as" in body_text:
        style = re.search(r"Rewrite it as (a|an) ([a-z\-]+)", body_text)
        variant = re.search(r"This is variant (\d+)", body_text)
        tag = f"[{style.group(2) if style else '?'} v{variant.group(1) if variant else '?'}]"
        return json.dumps({"text": f"{tag} {passage}"})
    if "ccpapers_translation" in body_text or "Translate the passage" in body_text:
        lang = re.search(r"into ([A-Z][a-z]+)\.", body_text)
        code = _LANG_CODES.get(lang.group(1), "de") if lang else "de"
        return json.dumps({"translation": fake_translate(passage, code)}, ensure_ascii=False)
    return json.dumps({"items": []})


# What real servers were recorded doing (docs/build.md, "Real servers"), as FakeProvider settings.
LLAMA_CPP_PYTHON_500 = (  # recorded: str(RequestValidationError) for response_format {"type": "json_schema"}
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n"
    '  File "/venv/lib/python3.11/site-packages/llama_cpp/server/app.py", line 376, in create_chat_completion\n'
    "    POST /v1/chat/completions"
)
SERVERS: dict[str, dict[str, Any]] = {
    # llama-cpp-python 0.3.36 `python -m llama_cpp.server --model X.gguf` (recorded here, and its source):
    # response_format types are 'text' | 'json_object' (+ optional 'schema', grammar-constrained);
    # json_schema fails pydantic validation, which its RouteErrorHandler answers with HTTP 500
    # {"error": {"message": str(error), "type": "internal_server_error"}}; /v1/models lists the
    # model's path (the default model_alias); one completion at a time (a lock around the model).
    "llama-cpp-python": {
        "slots": 1,
        "formats": {"text", "json_object"},
        "format_refusal": (
            500,
            {
                "error": {
                    "message": LLAMA_CPP_PYTHON_500,
                    "type": "internal_server_error",
                    "param": None,
                    "code": None,
                }
            },
        ),  # fmt: skip
        "models": ["/models/SmolLM2-135M-Instruct.Q4_1.gguf"],
    },
    # transformers 5.23.0 `transformers serve /path/to/SmolLM2-135M-Instruct`: one generate() at a
    # time on an inference thread, computed to the end after the client left; response_format
    # only logged ("Ignoring unsupported fields in the request: {'response_format'}"); GET
    # /v1/models scans the HF cache and answers 500 when there is none; another model id -> 400.
    "transformers-serve": {
        "slots": 1,
        "ignore_format": True,
        "models_error": (500, "Internal Server Error"),
        "pinned": "/models/SmolLM2-135M-Instruct",
    },
}


def imitate(fake: FakeProvider, server: str) -> FakeProvider:
    """Make ``fake`` answer as the recorded ``server`` did."""
    for name, value in SERVERS[server].items():
        setattr(fake, name, value)
    return fake


def _client_gone(h: BaseHTTPRequestHandler) -> bool:
    """True when the client closed the connection (it timed out and went away)."""
    import select
    import socket

    try:
        readable, _, _ = select.select([h.connection], [], [], 0)
        return bool(readable) and h.connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _credential(h: BaseHTTPRequestHandler) -> str:
    """The key a client sent: ``Authorization: Bearer k`` / ``DeepL-Auth-Key k`` or ``x-api-key: k``."""
    auth = h.headers.get("Authorization") or ""
    return auth.split(" ", 1)[-1] if auth else h.headers.get("x-api-key") or ""


def _flatten(obj: Any) -> str:
    """Every string in a request body (prompt texts and the schema title), one per line."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        return "\n".join(_flatten(v) for v in obj.values())
    if isinstance(obj, list):
        return "\n".join(_flatten(v) for v in obj)
    return ""


class FakeProvider:
    def __init__(self, latency: float = 0.0, rpm_limit: float = 0.0, burst: float | None = None) -> None:
        self.latency = latency
        self.rpm_limit = rpm_limit
        self.burst = burst if burst is not None else max(1.0, rpm_limit / 60.0)
        self.fail_429 = 0
        self.retry_after = "1"
        self.malformed: list[str] = []
        self.formats: set[str] | None = None  # None: every response_format type is accepted
        self.format_refusal: tuple[int, dict[str, Any]] = (
            400,
            {
                "error": {
                    "message": "response_format json_schema is not supported",
                    "type": "invalid_request_error",
                }
            },
        )
        self.ignore_format = False
        self.slots = 0  # >0: at most this many requests computed at once, the rest wait in line
        self.props: dict[str, Any] | None = None
        self.busy = 0.0  # seconds spent computing replies
        self.abandoned = 0  # replies computed for a client that had already gone (timed out)
        self.computed = 0  # chat replies computed
        self.active = self.max_active = 0  # chat requests being computed now / at most at once
        self.models_error: tuple[int, str] | None = None  # GET /v1/models answers this (plain text)
        self.pinned: str | None = None  # chat requests naming another model get a 400
        self.refuse: Callable[[dict[str, Any]], tuple[int, str] | None] | None = None  # per-body error
        self.translate_hook: Callable[[str, str], str] | None = None
        self.chat: Callable[[str], str] = default_chat
        self.judge: Callable[[str, str, str], dict[str, int]] = default_judge  # (question, answer, passage)
        self.batch_pending_polls = 0
        self.batch_id: str | None = None  # the id the next OpenAI batch gets (default batch_<n>)
        self.omit_usage = False  # OpenAI replies without `usage` (some compatible servers)
        self.billed: list[tuple[int, int]] = []  # (prompt, completion) tokens of each OpenAI reply
        self.models = ["fake-model-1"]
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.events: list[tuple[float, str, int]] = []  # (time, path, status) of each response
        self.arrivals: list[float] = []  # arrival time of each model request
        self.auth_fail = False
        self.errors: list[tuple[int, str]] = []  # queue of (status, message) for the next model requests
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._tokens_at = time.monotonic()
        self._server: ThreadingHTTPServer | None = None
        self._slot_lock = threading.Lock()
        self._slot_sem: threading.Semaphore | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> str:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                provider._dispatch(self, "GET")

            def do_POST(self) -> None:
                provider._dispatch(self, "POST")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away (killed build) is expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def model_calls(self) -> int:
        return sum(self.calls[k] for k in ("anthropic", "openai", "deepl"))

    # -- plumbing --------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> None:  # fmt: skip
        data = raw if raw is not None else json.dumps(payload).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
        with self._lock:
            self.events.append((time.monotonic(), h.path, status))

    def _limited(self) -> float | None:
        """Seconds to wait when the server-side limiter refuses this request."""
        with self._lock:
            if self.fail_429 > 0:
                self.fail_429 -= 1
                return float(self.retry_after)
            if not self.rpm_limit:
                return None
            now = time.monotonic()
            rate = self.rpm_limit / 60.0
            self._tokens = min(self.burst, self._tokens + (now - self._tokens_at) * rate)
            self._tokens_at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return (1.0 - self._tokens) / rate

    def _dispatch(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        path = h.path.split("?")[0]
        model_call = method == "POST" and path in ("/v1/messages", "/v1/chat/completions", "/v2/translate")
        if model_call:
            with self._lock:
                self.arrivals.append(time.monotonic())
            with self._lock:
                queued = self.errors.pop(0) if self.errors else None
            if queued:
                message = queued[1].replace("{key}", _credential(h))  # servers that echo the key back
                body: dict[str, Any] = {"error": {"type": "invalid_request_error", "message": message}}
                self._send(h, queued[0], {"message": message} if path == "/v2/translate" else body)
                return
            if self.auth_fail:
                status = 403 if path == "/v2/translate" else 401
                self._send(
                    h, status, {"error": {"type": "authentication_error", "message": "invalid x-api-key"}}
                )
                return
            wait = self._limited()
            if wait is not None:
                with self._lock:
                    self.calls["429"] += 1
                headers = {
                    "retry-after": str(max(1, math.ceil(wait))),
                    "retry-after-ms": str(int(wait * 1000)),
                }
                self._send(h, 429, {"error": {"type": "rate_limit_error", "message": "slow down"}}, headers)
                return
        try:
            if model_call and path == "/v1/chat/completions":
                self._compute_chat(h, raw)
                return
            if model_call and self.latency:
                time.sleep(self.latency)
            self._route(h, method, path, raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client was killed mid-request
        except Exception as exc:  # pragma: no cover - a bug in the fake shows up in the test
            self._send(h, 500, {"error": {"message": f"fake provider error: {exc!r}"}})

    def _slot(self) -> threading.Semaphore | None:
        with self._slot_lock:
            if self.slots and self._slot_sem is None:
                self._slot_sem = threading.Semaphore(self.slots)
            return self._slot_sem

    def _compute_chat(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        """Chat Completions the way a server with ``slots`` compute slots serves them: a request
        waits for a slot, then takes ``latency`` seconds, and is computed to the end even when
        its client has stopped waiting (as llama-cpp-python and ``transformers serve`` do)."""
        body = json.loads(raw)
        if self.pinned and body.get("model") not in (None, self.pinned):
            detail = f"Server is pinned to '{self.pinned}'; requested '{body.get('model')}'."
            self._send(h, 400, {"detail": detail})
            return
        fmt = (body.get("response_format") or {}).get("type")
        if fmt and self.formats is not None and fmt not in self.formats:
            with self._lock:
                self.calls["rejected_schema"] += 1
            self._send(h, self.format_refusal[0], self.format_refusal[1])
            return
        refusal = self.refuse(body) if self.refuse else None
        if refusal:
            self._send(h, refusal[0], {"error": {"message": refusal[1], "type": "server_error"}})
            return
        slot = self._slot()
        if slot is not None:
            slot.acquire()
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            started = time.monotonic()
            if self.latency:
                time.sleep(self.latency)
            self._record("openai", body)
            reply = self._openai_completion(body)
            with self._lock:
                self.busy += time.monotonic() - started
                self.computed += 1
                if _client_gone(h):
                    self.abandoned += 1
        finally:
            with self._lock:
                self.active -= 1
            if slot is not None:
                slot.release()
        self._send(h, 200, reply)

    def _route(self, h: BaseHTTPRequestHandler, method: str, path: str, raw: bytes) -> None:
        if method == "POST" and path == "/v1/messages":
            body = json.loads(raw)
            self._record("anthropic", body)
            self._send(h, 200, self._anthropic_message(body))
        elif method == "GET" and path == "/props" and self.props is not None:
            self._send(h, 200, self.props)
        elif method == "GET" and path == "/v1/models" and self.models_error:
            self._send(h, self.models_error[0], None, raw=self.models_error[1].encode())
        elif method == "GET" and path == "/v1/models":
            self._send(h, 200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]})  # fmt: skip
        elif method == "POST" and path == "/v2/translate":
            body = json.loads(raw)
            self._record("deepl", body)
            self._send(h, 200, self._deepl(body))
        elif method == "GET" and path == "/v2/usage":
            self._send(h, 200, {"character_count": 0, "character_limit": 500000})
        elif path.startswith("/v1/messages/batches"):
            self._anthropic_batches(h, method, path, raw)
        elif path.startswith("/v1/files"):
            self._files(h, method, path, raw)
        elif path.startswith("/v1/batches"):
            self._openai_batches(h, method, path, raw)
        else:
            self._send(h, 404, {"error": {"message": f"no route {method} {path}"}})

    def _record(self, kind: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.calls[kind] += 1
            self.bodies.append((kind, body))

    def _reply_text(self, body: dict[str, Any]) -> str:
        flat = _flatten(body)
        text = judge_reply(flat, self.judge) or self.chat(flat)
        if self.ignore_format or ("response_format" not in body and "output_config" not in body):
            text = f"Here is the JSON you asked for:\n```json\n{text}\n```"  # unconstrained model
        with self._lock:
            mode = self.malformed.pop(0) if self.malformed else None
        if mode == "truncate":
            return "```json\n" + text[: max(0, len(text) - 40)]
        if mode == "garbage":
            return "Sorry, I cannot produce JSON for this."
        return text

    # -- Anthropic ---------------------------------------------------------------------
    def _anthropic_message(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self._reply_text(body)
        return {
            "id": f"msg_{len(self.bodies)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "?"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": len(json.dumps(body)) // 4,
                "output_tokens": max(1, len(text) // 4),
                "cache_read_input_tokens": 7,
                "cache_creation_input_tokens": 0,
            },
        }

    def _batch_status(self, batch: dict[str, Any]) -> str:
        batch["polls"] += 1
        return "ended" if batch["polls"] > self.batch_pending_polls else "in_progress"

    def _anthropic_batches(self, h: BaseHTTPRequestHandler, method: str, path: str, raw: bytes) -> None:
        parts = path.strip("/").split("/")  # v1 messages batches [id] [results]
        if method == "POST" and len(parts) == 3:
            body = json.loads(raw)
            bid = f"msgbatch_{len(self.batches) + 1}"
            results = []
            for req in body["requests"]:
                self._record("anthropic_batch_item", req["params"])
                results.append({"custom_id": req["custom_id"],
                                "result": {"type": "succeeded", "message": self._anthropic_message(req["params"])}})  # fmt: skip
            with self._lock:
                self.calls["anthropic_batch_create"] += 1
                self.batches[bid] = {"results": results, "polls": 0, "n": len(results)}
            self._send(h, 200, self._anthropic_batch_obj(bid, "in_progress"))
        elif method == "GET" and len(parts) == 4:
            batch = self.batches[parts[3]]
            self._send(h, 200, self._anthropic_batch_obj(parts[3], self._batch_status(batch)))
        elif method == "GET" and len(parts) == 5 and parts[4] == "results":
            lines = "\n".join(json.dumps(r) for r in reversed(self.batches[parts[3]]["results"])) + "\n"
            self._send(h, 200, None, raw=lines.encode("utf-8"))
        else:
            self._send(h, 404, {"error": {"message": "no such batch route"}})

    def _anthropic_batch_obj(self, bid: str, status: str) -> dict[str, Any]:
        n = self.batches[bid]["n"]
        return {
            "id": bid,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {
                "processing": 0 if status == "ended" else n,
                "succeeded": n if status == "ended" else 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },  # fmt: skip
            "created_at": "2030-01-01T00:00:00Z",
            "expires_at": "2030-01-02T00:00:00Z",
            "ended_at": "2030-01-01T00:10:00Z" if status == "ended" else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{bid}/results" if status == "ended" else None,
        }

    # -- OpenAI --------------------------------------------------------------------------
    def _openai_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self._reply_text(body)
        prompt = len(json.dumps(body)) // 4  # JSON-escaped: a CJK character is 6 characters, 1.5 tokens
        with self._lock:
            self.billed.append((prompt, max(1, len(text) // 4)))
        reply = {
            "id": f"chatcmpl-{len(self.bodies)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "?"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],  # fmt: skip
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": max(1, len(text) // 4),
                "total_tokens": prompt + len(text) // 4,
                "prompt_tokens_details": {"cached_tokens": 0},
            },  # fmt: skip
        }
        if self.omit_usage:
            del reply["usage"]
        return reply

    def _files(self, h: BaseHTTPRequestHandler, method: str, path: str, raw: bytes) -> None:
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 2:
            msg = email.parser.BytesParser().parsebytes(
                b"Content-Type: " + h.headers["Content-Type"].encode() + b"\r\n\r\n" + raw
            )
            content, purpose = b"", ""
            for part in msg.get_payload():
                name = part.get_param("name", header="content-disposition")
                if name == "file":
                    content = part.get_payload(decode=True)
                elif name == "purpose":
                    purpose = part.get_payload(decode=True).decode()
            fid = f"file-{len(self.files) + 1}"
            self.files[fid] = content
            self._send(h, 200, {"id": fid, "object": "file", "bytes": len(content), "created_at": 0,
                                "filename": "batch.jsonl", "purpose": purpose, "status": "processed"})  # fmt: skip
        elif method == "GET" and len(parts) == 4 and parts[3] == "content":
            self._send(h, 200, None, raw=self.files[parts[2]])
        else:
            self._send(h, 404, {"error": {"message": "no such file route"}})

    def _openai_batches(self, h: BaseHTTPRequestHandler, method: str, path: str, raw: bytes) -> None:
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 2:
            body = json.loads(raw)
            out_lines = []
            for line in self.files[body["input_file_id"]].decode().splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                self._record("openai_batch_item", item["body"])
                resp = {
                    "status_code": 200,
                    "request_id": "req",
                    "body": self._openai_completion(item["body"]),
                }
                out_lines.append(
                    json.dumps({"id": "bi", "custom_id": item["custom_id"], "response": resp, "error": None})
                )
            out_id = f"file-{len(self.files) + 1}"
            self.files[out_id] = ("\n".join(reversed(out_lines)) + "\n").encode()
            bid = self.batch_id or f"batch_{len(self.batches) + 1}"
            with self._lock:
                self.calls["openai_batch_create"] += 1
                self.batches[bid] = {
                    "polls": 0,
                    "n": len(out_lines),
                    "output": out_id,
                    "input": body["input_file_id"],
                }
            self._send(h, 200, self._openai_batch_obj(bid, "in_progress"))
        elif method == "GET" and len(parts) == 3:
            bid = urllib.parse.unquote(parts[2])  # the SDK percent-encodes odd ids ("../x")
            status = "completed" if self._batch_status(self.batches[bid]) == "ended" else "in_progress"
            self._send(h, 200, self._openai_batch_obj(bid, status))
        else:
            self._send(h, 404, {"error": {"message": "no such batch route"}})

    def _openai_batch_obj(self, bid: str, status: str) -> dict[str, Any]:
        b = self.batches[bid]
        return {"id": bid, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
                "input_file_id": b["input"], "completion_window": "24h", "status": status,
                "output_file_id": b["output"] if status == "completed" else None, "error_file_id": None,
                "created_at": 0, "request_counts": {"total": b["n"], "completed": b["n"], "failed": 0}}  # fmt: skip

    # -- DeepL ------------------------------------------------------------------------------
    def _deepl(self, body: dict[str, Any]) -> dict[str, Any]:
        lang = body.get("target_lang", "?")
        out = []
        for text in body.get("text", []):
            translated = fake_translate(text, lang)
            if self.translate_hook:
                translated = self.translate_hook(translated, lang)
            out.append({"detected_source_language": "EN", "text": translated, "billed_characters": len(text)})
        return {"translations": out}
