"""The base model's answers, asked once per content: cached under ``WORK/bench/.baselines/``.

The key is the first 24 hex digits of ``sha256`` over what decides the answers (model, prompt,
generation settings, questions, MMLU items, world size); the file is indented JSON. A damaged
file is moved aside as ``<name>.corrupt`` (with a warning) and the answers are recomputed.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.evaluation import score_questions
from ccpapers.bench.suites.base import Question, Suite


def baseline_key(lm: Any, questions: list[Question], mmlu: Suite | None, cfg: BenchConfig, acc: Any) -> str:
    key_data = {
        "model": lm.info,
        "prompt": [cfg.prompt, cfg.prompt_template, cfg.system_prompt],
        "max_new": cfg.max_new_tokens,
        "stop": [cfg.stop, cfg.stop_new_turn],
        "gen_batch": cfg.gen_batch_size,
        "q": [(q.id, q.question, q.answer, q.keywords, q.choices) for q in questions],
        "mmlu": [(q.id, q.question) for q in mmlu.questions] if mmlu else None,
        "shots": cfg.mmlu_shots,
        "tiny_vocab": len(lm.tokenizer) if cfg.tiny else None,
        "world": acc.num_processes,
    }
    return hashlib.sha256(json.dumps(key_data, sort_keys=True, default=str).encode()).hexdigest()[:24]


def baseline_answers(
    lm: Any, questions: list[Question], mmlu: Suite | None, cfg: BenchConfig, acc: Any, cache_dir: Path
) -> dict[str, Any]:
    """The base model's answers (``lm.model``: under FSDP already wrapped, with fresh zero-effect
    LoRA adapters when LoRA trains), cached by content; ``cached`` says whether they were."""
    from ccpapers.bench import progress
    from ccpapers.bench.results import set_aside
    from ccpapers.io import write_json
    from ccpapers.jsoncache import JsonCache

    cache = JsonCache(
        cache_dir,
        write=write_json,
        required=("rows", "mmlu"),
        on_damaged=lambda path, problem: set_aside(path, problem, "cached baseline answers"),
    )
    key = baseline_key(lm, questions, mmlu, cfg, acc)
    cached = cache.get(key)
    if cached is not None:
        progress.say(f"baseline: cached answers ({cache.path(key).name})")
        return cached | {"cached": True}
    progress.say("baseline: the base model answers every question")
    t0 = time.perf_counter()
    rows = score_questions(lm.model, lm.tokenizer, questions, cfg, acc)
    mm = (
        score_questions(lm.model, lm.tokenizer, mmlu.questions, cfg, acc, mmlu.shots, cfg.mmlu_shots)
        if mmlu
        else []
    )
    out = {"rows": rows, "mmlu": mm, "seconds": time.perf_counter() - t0}
    if acc.is_main_process:
        cache.put(key, out)
    return out | {"cached": False}
