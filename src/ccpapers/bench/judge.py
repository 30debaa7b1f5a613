"""Optional reference-guided LLM judge (MT-Bench style, 1-10), a thin layer over the build
stage: its backends build and send the request, its engine (:mod:`ccpapers.builder.engine`)
retries, paces, prices and books every call in the spend ledger, and the replies are kept in
the shared JSON cache. The prompt and the parser are pure.

Cache files sit under ``WORK/bench/.judge_cache/<key>.json``, ``key`` the first 32 hex digits
of ``sha256`` of ``[judge model, prompt version, prompt]``. Files written before the judge went
through the engine hold ``{"model", "version", "reply"}`` (the reply already as text) and are
hits all the same; new ones hold the engine's entry (raw reply, usage, cost).
"""

from __future__ import annotations

import hashlib
import json
import re
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


SYSTEM = "You are a strict, impartial grader of factual answers."
MAX_TOKENS = 512
LEDGER_NAME = "bench-judge"  # the judge's paid calls in WORK/spend.jsonl


def judge_request(prompt: str) -> Any:
    from ccpapers.builder.backends.base import ChatRequest

    return ChatRequest(
        system=SYSTEM,
        context="",
        instruction=prompt,
        schema=JUDGE_SCHEMA,
        schema_name="judgement",
        max_tokens=MAX_TOKENS,
    )


def judge_key(model: str, prompt: str) -> str:
    """The cache key (unchanged since the first judge: old replies stay hits)."""
    return hashlib.sha256(json.dumps([model, JUDGE_PROMPT_VERSION, prompt]).encode()).hexdigest()[:32]


def make_backend(name: str, model: str = "") -> Any:
    """A build backend (``ccpapers.registry.BACKENDS``) by name; keys come from the environment
    as in the build stage."""
    from ccpapers.registry import BACKENDS

    factory = BACKENDS.get(name)
    return factory(model=model) if model else factory()


class Judge:
    """Rates answers with a build ``backend`` (payload -> send -> parse) through the build
    engine; replies are cached on disk by (question, reference, answer, judge model, prompt
    version). ``stats`` is the engine's account: calls, cache hits, retries, usage, cost."""

    def __init__(self, backend: Any, model: str, cache_dir: Path, work: Path | None = None) -> None:
        from ccpapers.builder.cost import PriceTable
        from ccpapers.builder.engine import Engine
        from ccpapers.builder.ledger import SpendLedger
        from ccpapers.io import write_json
        from ccpapers.jsoncache import JsonCache

        self.backend, self.model = backend, model
        cache = JsonCache(cache_dir, write=write_json)
        ledger = SpendLedger(work, LEDGER_NAME) if work is not None else None
        # the engine needs only get/put of its cache (batch bookkeeping is for batch runs, not used here)
        self.engine = Engine(cache, PriceTable.load(), ledger=ledger)  # type: ignore[arg-type]

    @property
    def stats(self) -> Any:
        return self.engine.stats

    def _job(self, prompt: str) -> Any:
        from ccpapers.builder.engine import Job
        from ccpapers.builder.tokens import typical_tokens, upper_bound_tokens
        from ccpapers.jsoncache import canonical

        payload = self.backend.payload(judge_request(prompt))
        text = canonical(payload)
        return Job(
            key=judge_key(self.model, prompt),
            backend=self.backend,
            payload=payload,
            est_input=typical_tokens(text),
            est_output=MAX_TOKENS // 2,
            max_output=MAX_TOKENS,
            label="judge",
            max_input=upper_bound_tokens(text),
        )

    def _reply(self, entry: dict[str, Any] | None) -> str:
        if entry is None:  # the engine gave up on it (counted in stats.failed): no rating
            return ""
        if "reply" in entry:  # written before the judge went through the engine
            return str(entry["reply"])
        reply = self.backend.parse(entry["raw"])
        return reply_to_text(reply.texts[0] if reply.texts else "")

    def rate_all(self, items: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
        """Ratings for (question, reference, answer) triples, asked at once (cache first)."""
        jobs = [self._job(judge_prompt(*item)) for item in items]
        entries = self.engine.run(jobs)
        return [
            {
                "judge_rating": parse_rating(self._reply(entries.get(job.key))),
                "judge_model": self.model,
                "judge_version": JUDGE_PROMPT_VERSION,
            }
            for job in jobs
        ]

    def rate(self, question: str, reference: str, answer: str) -> dict[str, Any]:
        return self.rate_all([(question, reference, answer)])[0]


def judge_rows(cfg: Any, questions: list[Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Add the configured judge's 1-10 rating to the open-question rows of a bench run (no
    rating: None); returns the judge's account (calls, cache hits, retries, usage, cost)."""
    judge = Judge(
        make_backend(cfg.judge, cfg.judge_model),
        cfg.judge_model or cfg.judge,
        Path(cfg.work) / "bench" / ".judge_cache",
        work=Path(cfg.work),
    )
    by_id = {q.id: q for q in questions}
    open_rows = [r for r in rows if not by_id[r["id"]].is_mcq and by_id[r["id"]].answer]
    items = [(by_id[r["id"]].question, by_id[r["id"]].answer, r["prediction"]) for r in open_rows]
    for r, rating in zip(open_rows, judge.rate_all(items), strict=True):
        r.update(rating)
    return judge.stats.to_dict()
