"""Planning a build: which generator makes each generated split, from which rows, with which requests.

Nothing is sent here: each split of the spec becomes a :class:`SplitPlan` (its generator, the
backend answering it, its tasks and the engine jobs for them), or a reason it cannot be made.
Every row left out on the way is counted with its reason in :class:`Drops`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccpapers.builder.backend_choice import BackendPool
from ccpapers.builder.cache import canonical, request_key
from ccpapers.builder.config import BuildConfig
from ccpapers.builder.engine import Job
from ccpapers.builder.generators.base import Choice, GenContext, Outcome, Task
from ccpapers.builder.spec import BuildSpec, SplitSpec
from ccpapers.builder.tokens import input_bound, tokenizer_for, typical_tokens
from ccpapers.config import ConfigError
from ccpapers.licenses import license_from_id
from ccpapers.registry import GENERATORS
from ccpapers.types import REPHRASED_SPLITS, Paper, Record

EXAMPLES_PER_REASON = 3


class Drops:
    """Rows left out, counted per split and reason, with a few examples of each."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.examples: dict[str, dict[str, list[str]]] = {}

    def add(self, split: str, reason: str, detail: str = "", n: int = 1) -> None:
        bucket = self.counts.setdefault(split, {})
        bucket[reason] = bucket.get(reason, 0) + n
        if detail:
            ex = self.examples.setdefault(split, {}).setdefault(reason, [])
            if len(ex) < EXAMPLES_PER_REASON:
                ex.append(detail)

    def merge(self, split: str, outcome: Outcome) -> None:
        for reason, detail in outcome.drops:
            self.add(split, reason, detail)


@dataclass
class SplitPlan:
    """One generated split, planned: its tasks, and the engine jobs answering them (none for a
    generator that needs no backend)."""

    split: SplitSpec
    generator: Any
    backend: Any  # None: the generator makes its rows by rule
    ctx: GenContext
    tasks: list[Task]
    jobs: list[Job]


@dataclass
class BuildPlan:
    plans: list[SplitPlan] = field(default_factory=list)
    cannot: dict[str, str] = field(default_factory=dict)  # split -> why it cannot be made
    substituted: dict[str, str] = field(default_factory=dict)  # split -> which stand-in makes it

    @property
    def jobs(self) -> list[Job]:
        return [j for plan in self.plans for j in plan.jobs]

    @property
    def splits(self) -> set[str]:
        return {plan.split.split for plan in self.plans}


def choose_generator(split: SplitSpec, main: str, pool: BackendPool, assume_keys: bool = False) -> Choice:
    """The generator (and its backend) the registry builds for one generated split, or why none.
    A generator with a ``stand_in`` is replaced by it when the build has no model at all
    (``main`` supports nothing: the offline backend). ``assume_keys`` (``--estimate``): choose
    as if every key the spec needs were set."""
    if split.generator not in GENERATORS:
        raise ConfigError(f"generate.{split.split}: unknown generator {split.generator!r}")
    cls = GENERATORS.get(split.generator)
    if cls.stand_in and not pool.get(main).supports:
        cls = GENERATORS.get(cls.stand_in)
    return cls.for_split(split, main, pool, assume_keys)


def licence_ok(split: SplitSpec, rec: Record, paper: Paper, drops: Drops) -> bool:
    """Permissions come from the licence id alone: a papers file whose ``derivatives_ok`` says
    otherwise must not make us pay for rewrites that publish would have to drop."""
    derivative = split.split in REPHRASED_SPLITS
    named = license_from_id(paper.license.hub_id)
    if not (named and named.derivatives_ok) and (derivative or not split.allow_nd):
        drops.add(split.split, "nd-license", rec.id)
        return False
    return True


def make_job(task: Task, gen: Any, backend: Any, label: str) -> Job:
    """The engine job for one task: its payload, cache key and size estimates."""
    payload = backend.payload(task.request)
    key = request_key(backend.name, backend.model, payload, f"{gen.name}/{gen.version}", task.variant)
    text = canonical(payload)
    chars = sum(len(t) for t in getattr(task.request, "texts", []))
    chat = hasattr(task.request, "max_tokens")
    return Job(
        key=key,
        backend=backend,
        payload=payload,
        est_input=typical_tokens(text) if chat else 0,
        est_output=task.expected_output_tokens if chat else 0,
        max_output=task.request.max_tokens if chat else 0,  # type: ignore[union-attr]
        est_chars=chars,
        label=label,
        max_input=input_bound(text, tokenizer_for(backend.name, backend.model)) if chat else 0,
    )


def model_name(backend: Any) -> str:
    return getattr(backend, "model_name", "") or backend.model


def plan_splits(
    spec: BuildSpec,
    cfg: BuildConfig,
    text: list[Record],
    by_doi: dict[str, Paper],
    main: str,
    pool: BackendPool,
    drops: Drops,
) -> BuildPlan:
    """Plan every generated split of ``spec`` over the text records."""
    out = BuildPlan()
    for split in spec.generate:
        choice = choose_generator(split, main, pool, assume_keys=cfg.estimate)
        gen, backend = choice.generator, choice.backend
        if gen is None:
            out.cannot[split.split] = choice.why_not or "unavailable"
            continue
        if gen.name != split.generator:  # a stand-in
            out.substituted[split.split] = (
                f"offline cloze, not the spec's {split.generator!r} generator (no language model key set)"
            )
        if split.split == "rewrite" and cfg.variants > 0:
            gen.variants = cfg.variants
        sources = [
            r
            for r in text
            if r.split in split.sources
            and r.group in split.groups
            and licence_ok(split, r, by_doi[r.doi], drops)
        ]
        ctx = GenContext(
            backend.name if backend else "offline",
            model_name(backend) if backend else "none",
            by_doi,
            split.options,
            spec.seed,
            texts=text,
        )
        tasks = gen.plan(sources, ctx)
        jobs = [make_job(t, gen, backend, split.split) for t in tasks] if gen.needs_backend else []
        out.plans.append(SplitPlan(split, gen, backend, ctx, tasks, jobs))
    return out
