"""What a bench run reads before any model loads: the suite (through the registry), the questions
asked (dev ones marked), the optional MMLU forgetting check and the irrelevant-text pool."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.suites.base import Question, Suite

log = logging.getLogger(__name__)


@dataclass
class BenchInputs:
    suite: Suite
    questions: list[Question]  # at most max_questions, dev ones marked
    mmlu: Suite | None  # the forgetting check, when asked for and not the suite itself
    pool: list[str] | None  # irrelevant texts (none named a question keyword)


def load_suite(cfg: BenchConfig) -> Suite:
    """The suite ``cfg.suite`` names, built by its registry entry from the config."""
    from ccpapers.registry import SUITES

    return SUITES.get(cfg.suite).from_config(cfg)


def load_inputs(cfg: BenchConfig) -> BenchInputs:
    suite = load_suite(cfg)
    cfg.check_questions(len(suite.questions[: cfg.max_questions or None]))
    questions = mark_dev(suite.questions[: cfg.max_questions or None], cfg.dev_questions)
    mmlu = None
    if cfg.forgetting and not cfg.suite_is_forgetting_check():
        from ccpapers.bench.suites.mmlu import load_mmlu

        mmlu = load_mmlu(cfg.mmlu, cfg.mmlu_subjects, cfg.mmlu_limit)
    return BenchInputs(suite, questions, mmlu, irrelevant_pool(cfg, suite) if cfg.n_irrelevant else None)


def mark_dev(questions: list[Question], n_dev: int) -> list[Question]:
    """Hold out ``n_dev`` questions spread evenly over the list as the dev set."""
    if not n_dev:
        return questions
    step = max(1, len(questions) // n_dev)
    dev_idx = set(list(range(0, len(questions), step))[:n_dev])
    return [replace(q, split="dev") if i in dev_idx else q for i, q in enumerate(questions)]


def irrelevant_pool(cfg: BenchConfig, suite: Suite) -> list[str]:
    """The suite's own irrelevant texts (unless ``irrelevant`` names others), less any that name a
    keyword of the suite's questions (counted in a warning)."""
    from ccpapers.bench.packing import drop_overlapping, load_irrelevant

    pool = (
        suite.irrelevant
        if (suite.irrelevant and not cfg.irrelevant)
        else load_irrelevant(cfg.irrelevant, Path(cfg.work))
    )
    clean = drop_overlapping(pool, suite)
    if len(clean) < len(pool):
        log.warning(
            "irrelevant texts: dropped %d of %d that name a keyword of the suite's questions",
            len(pool) - len(clean),
            len(pool),
        )
    return clean


def tiny_texts(suite: Suite) -> list[str]:
    """The texts a tiny model's tokenizer is trained on: every document text and question."""
    return [t for d in suite.documents for t in d.texts.values()] + [
        f"{q.question} {q.answer} {' '.join(q.keywords)}" for q in suite.questions
    ]
