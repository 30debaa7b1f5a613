"""Bookkeeping of a bench run: the JSONL event log, environment record, summary and objective."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.stats import mean, mean_ci, paired_bootstrap
from ccpapers.jsoncache import read_checked

log = logging.getLogger(__name__)
MIN_SEEDS_FOR_T = 3  # fewer seeds: the interval shown is the item-level bootstrap


class EventLog:
    """Append-only JSONL, flushed per line (only the main process writes)."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path, self.enabled = path, enabled
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def __call__(self, event: str, **data: Any) -> None:
        if self.enabled:
            self._fh.write(
                json.dumps({"event": event, "time": time.time(), **data}, ensure_ascii=False, default=str)
                + "\n"
            )
            self._fh.flush()

    def close(self) -> None:
        if self.enabled:
            self._fh.close()


def environment_info() -> dict[str, Any]:
    """Package versions, git commit and device, recorded with every run."""
    import importlib.metadata as md
    import platform
    import subprocess

    versions = {}
    for pkg in ("ccpapers", "torch", "transformers", "peft", "accelerate", "optuna", "bitsandbytes"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    try:
        sha = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=Path(__file__).parent,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        sha = None
    device = "cpu"
    try:
        import torch

        if torch.cuda.is_available():
            device = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return {"versions": versions, "git_sha": sha, "python": platform.python_version(), "device": device}


def read_result(path: Path, required: tuple[str, ...], what: str) -> dict[str, Any] | None:
    """A results file written by an earlier run, or None when it is damaged (not JSON, not an
    object, or missing ``required`` keys): the damaged file is moved to ``<name>.corrupt`` and a
    warning names it, so the caller recomputes what it held."""
    data, problem = read_checked(path, required)
    if data is None:
        set_aside(path, problem, what)
    return data


def set_aside(path: Path, problem: str, what: str) -> None:
    """Move a damaged results file to ``<name>.corrupt`` and say so (log and progress)."""
    aside = path.with_name(path.name + ".corrupt")
    try:
        path.replace(aside)
    except OSError:
        aside = path
    log.warning(
        "%s: %s is damaged (%s); recomputing it (the damaged file is kept as %s)",
        what,
        path,
        problem,
        aside.name,
    )
    from ccpapers.bench import progress

    progress.say(f"!! {what}: {path} is damaged ({problem}); recomputing it (kept as {aside.name})")


def shown_intervals(
    seeds: list[dict[str, Any]], base_test: list[float], level: float = 0.95
) -> dict[str, dict[str, Any]]:
    """The intervals a run reports for score and gain, and which kind they are.

    With at least ``MIN_SEEDS_FOR_T`` seeds: a t-interval over the seeds' means (seed to seed
    variation). With fewer, a t-interval over one or two values says nothing (one value has
    none at all), so the interval is the paired bootstrap over questions of the seed-averaged
    per-question scores: how much the result depends on which questions were asked."""
    out: dict[str, dict[str, Any]] = {}
    if len(seeds) >= MIN_SEEDS_FOR_T:
        for key in ("score", "gain"):
            ci = mean_ci([r[key] for r in seeds], level)
            out[key] = {
                "kind": "t over seeds",
                "level": level,
                "low": ci["ci_low"],
                "high": ci["ci_high"],
                "n": ci["n"],
                "label": f"{level:.0%} t-interval over {ci['n']} seeds",
            }
        return out
    items = [r.get("test_scores") for r in seeds]
    if seeds and all(isinstance(x, list) and len(x) == len(base_test) for x in items):
        after = [sum(col) / len(col) for col in zip(*items, strict=True)]
        label = f"{level:.0%} paired bootstrap over {len(after)} questions ({len(seeds)} seed{'s' * (len(seeds) > 1)})"
        g = paired_bootstrap(after, base_test, seed=0, level=level)
        sc = paired_bootstrap(after, [0.0] * len(after), seed=0, level=level)
        for key, ci in (("score", sc), ("gain", g)):
            out[key] = {
                "kind": "bootstrap over questions",
                "level": level,
                "low": ci["ci_low"],
                "high": ci["ci_high"],
                "n": len(after),
                "label": label,
            }
    elif len(seeds) == 1 and seeds[0].get("gain_items_ci"):  # results of older versions
        ci = seeds[0]["gain_items_ci"]
        out["gain"] = {
            "kind": "bootstrap over questions",
            "level": level,
            "low": ci["ci_low"],
            "high": ci["ci_high"],
            "n": len(base_test),
            "label": f"{level:.0%} paired bootstrap over {len(base_test)} questions (1 seed)",
        }
    return out


def trainable_checksum(model: Any) -> float:
    """Sum of trainable weights (in DDP every rank must end with the same value)."""
    return float(sum(p.detach().double().sum() for p in model.parameters() if p.requires_grad))


def gather_all(acc: Any, value: Any) -> list[Any]:
    if acc.num_processes == 1:
        return [value]
    from accelerate.utils import gather_object

    return list(gather_object([value]))


def objective_value(name: str, summary: dict[str, Any]) -> float:
    if name == "gain_x_log10_texts":
        return summary["gain"]["mean"] * math.log10(max(1, summary["n_texts"]))
    if name == "gain":
        return summary["gain"]["mean"]
    if name == "score":
        return summary["score"]["mean"]
    if name == "forgetting_gain":
        return summary["mmlu_gain"]["mean"] if summary.get("mmlu_gain") else float("nan")
    raise ValueError(f"unknown objective {name!r}: gain_x_log10_texts | gain | score | forgetting_gain")


def summarize(
    cfg: BenchConfig,
    seeds: list[dict[str, Any]],
    base_test: list[float],
    base_mmlu: float | None,
    base: dict[str, Any],
    load_s: float,
    model_info: dict[str, Any],
) -> dict[str, Any]:
    base_rows = [r for r in base.get("rows", []) if r.get("split") == "test"]
    s: dict[str, Any] = {
        "suite": cfg.suite,
        "model": cfg.model_id(),
        "method": cfg.method,
        "tiny": cfg.tiny,
        "texts_per_fact": cfg.texts_per_fact,
        "n_irrelevant": cfg.n_irrelevant,
        "lora_preset": cfg.lora_preset if cfg.method == "lora" else None,
        "lora_r": cfg.lora_r,
        "lora_alpha": cfg.lora_alpha,
        "lr": cfg.lr,
        "epochs": cfg.epochs,
        "quant": cfg.quant,
        "n_texts": seeds[0]["n_texts"] if seeds else 0,
        "n_questions": len(base_test),
        "texts_per_fact_used": (seeds[0]["n_target_texts"] / max(1, seeds[0]["n_documents"])) if seeds else 0,
        "base_score": mean(base_test),
        "score": mean_ci([r["score"] for r in seeds]),
        "gain": mean_ci([r["gain"] for r in seeds]),
        "score_uncut": mean_ci([r.get("score_uncut", r["score"]) for r in seeds]),
        "base_score_uncut": mean([r.get("score_uncut", r["score"]) for r in base_rows]),
        "schedule": cfg.schedule,
        "optimizer_steps": mean([r.get("steps", 0) for r in seeds]),
        "tokens_per_step": mean([r.get("tokens_per_step", 0.0) for r in seeds]),
        "precision": seeds[0].get("precision") if seeds else None,
        "gain_items_ci": [r.get("gain_items_ci") for r in seeds],
        "seeds": [r["seed"] for r in seeds],
        "tokens_per_second": mean([r.get("tokens_per_second", 0.0) for r in seeds]),
        "mfu": seeds[0].get("mfu") if seeds else None,
        "train_seconds": mean([r["train_seconds"] for r in seeds]),
        "eval_seconds": mean([r["eval_seconds"] for r in seeds]),
        "baseline_seconds": base.get("seconds"),
        "baseline_cached": base.get("cached"),
        "load_seconds": load_s,
        "model_info": model_info,
    }
    s["intervals"] = shown_intervals(seeds, base_test)
    if base_mmlu is not None:
        s["n_mmlu"] = len(base.get("mmlu") or [])
        s["base_mmlu"] = base_mmlu
        s["mmlu"] = mean_ci([r["mmlu"] for r in seeds])
        s["mmlu_gain"] = mean_ci([r["mmlu_gain"] for r in seeds])
    s["objective"] = cfg.objective
    s["objective_value"] = objective_value(cfg.objective, s)
    if cfg.tiny:
        from ccpapers.bench.tiny import TINY_WARNING

        s["warning"] = TINY_WARNING
    return s
