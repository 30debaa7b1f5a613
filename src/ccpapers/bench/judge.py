"""Optional reference-guided LLM judge (MT-Bench style, 1-10), a thin layer over the build
stage's backends. The prompt and the parser are pure; the call is injected."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

JUDGE_PROMPT_VERSION = "ref-guided-v1"

JUDGE_TEMPLATE = """[Instruction]
Please act as an impartial judge and evaluate the correctness of the answer provided by an AI \
assistant to the question below. A reference answer is given: compare the assistant's answer \
with it, identify and correct any mistakes, and judge mainly by factual correctness \
(10 = every key fact right, 1 = wrong or hallucinated). Be as objective as possible. After a \
short explanation, rate the answer strictly in this format: "[[rating]]", e.g. "Rating: [[5]]".

[Question]
{question}

[The Start of Reference Answer]
{reference}
[The End of Reference Answer]

[The Start of Assistant's Answer]
{answer}
[The End of Assistant's Answer]"""

_RATING = [
    re.compile(r"\[\[(\d+(?:\.\d+)?)\]\]"),
    re.compile(r"\[(\d+(?:\.\d+)?)\]"),
    re.compile(r"[Rr]ating:\s*(\d+(?:\.\d+)?)"),
]


def judge_prompt(question: str, reference: str, answer: str) -> str:
    return JUDGE_TEMPLATE.format(
        question=question.strip(), reference=reference.strip(), answer=(answer or "").strip()
    )


def parse_rating(text: str) -> float | None:
    """The 1-10 rating in a judge reply, or None (a parse failure counts as missing, not 0)."""
    for pat in _RATING:
        m = pat.search(text or "")
        if m:
            v = float(m.group(1))
            return v if 1 <= v <= 10 else None
    return None


class Judge:
    """Rates answers with ``call(prompt) -> reply``; replies are cached on disk by
    (question, reference, answer, judge model, prompt version)."""

    def __init__(self, call: Callable[[str], str], model: str = "", cache_dir: Path | None = None) -> None:
        self.call, self.model, self.cache_dir = call, model, cache_dir

    def _key(self, prompt: str) -> str:
        return hashlib.sha256(json.dumps([self.model, JUDGE_PROMPT_VERSION, prompt]).encode()).hexdigest()[
            :32
        ]

    def rate(self, question: str, reference: str, answer: str) -> dict[str, Any]:
        prompt = judge_prompt(question, reference, answer)
        path = self.cache_dir / f"{self._key(prompt)}.json" if self.cache_dir else None
        if path and path.is_file():
            reply = json.loads(path.read_text(encoding="utf-8"))["reply"]
        else:
            reply = self.call(prompt)
            if path:
                from ccpapers.io import write_json

                write_json(path, {"model": self.model, "version": JUDGE_PROMPT_VERSION, "reply": reply})
        return {
            "judge_rating": parse_rating(reply),
            "judge_model": self.model,
            "judge_version": JUDGE_PROMPT_VERSION,
        }


JUDGE_SCHEMA = {
    "type": "object",
    "properties": {
        "explanation": {"type": "string"},
        "rating": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["explanation", "rating"],
}


def reply_to_text(text: str) -> str:
    """Backends answer JSON ({"explanation", "rating"}); turn it into MT-Bench's "[[N]]" form."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return text
    if isinstance(data, dict) and "rating" in data:
        return f"{data.get('explanation', '')}\nRating: [[{data['rating']}]]"
    return text


def backend_call(name: str, model: str = "") -> Callable[[str], str]:
    """Adapt a build backend (``ccpapers.registry.BACKENDS``: payload -> send -> parse) to
    ``prompt -> reply``; keys come from the environment as in the build stage."""
    from ccpapers.builder.backends.base import ChatRequest
    from ccpapers.registry import BACKENDS

    factory = BACKENDS.get(name)
    backend = factory(model=model) if model else factory()

    def call(prompt: str) -> str:
        req = ChatRequest(
            system="You are a strict, impartial grader of factual answers.",
            context="",
            instruction=prompt,
            schema=JUDGE_SCHEMA,
            schema_name="judgement",
            max_tokens=512,
        )
        reply = backend.parse(backend.send(backend.payload(req)))
        return reply_to_text(reply.texts[0] if reply.texts else "")

    return call
