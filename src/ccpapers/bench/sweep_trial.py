"""One sweep trial: its config from the suggested parameters, the bench run (the base model kept
resident between trials), the objective told to the study, and the line that reports it."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.sweep_spec import suggest, trial_config
from ccpapers.bench.sweep_workers import census
from ccpapers.errors import CcpapersError

log = logging.getLogger(__name__)
MODEL_KEYS = ("model", "size", "tiny", "dtype", "quant", "attention", "suite", "suite_file", "build")


def _fmt_params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def say_trial(study: Any, number: int, outcome: dict[str, Any], spent: list[float], n_total: int) -> None:
    """One line per trial: parameters, objective (and score, gain), time, the best so far, ETA."""
    from ccpapers.bench import progress

    live = census(study)
    finished = len([t for t in live if t.state.is_finished()])
    complete = [t for t in live if t.state.name == "COMPLETE"]
    best = ""
    if complete:
        pick = max if study.direction.name == "MAXIMIZE" else min
        b = pick(complete, key=lambda t: t.value)
        best = f"; best #{b.number} {b.value:.4g}"
    if outcome["state"] == "COMPLETE":
        extra = ""
        if outcome.get("score") is not None:
            extra = f" (score {outcome['score']:.3f}, gain {outcome['gain']:+.3f})"
        result = f"{outcome['objective']}={outcome['value']:.4g}{extra}"
    else:
        result = outcome["state"].lower() + (f": {outcome['reason']}" if outcome.get("reason") else "")
    left = max(0, n_total - finished)
    eta = progress.duration(left * sum(spent) / len(spent)) if left else "0s"
    progress.say(
        f"trial {number} [{finished}/{n_total} finished] {_fmt_params(outcome['params'])} -> {result} "
        f"in {progress.duration(spent[-1])}{best}; ETA {eta} at this worker's pace ({left} left)",
        run_line=False,
    )


def run_trial(
    study: Any,
    trial: Any,
    sp: dict[str, Any],
    base: BenchConfig,
    explicit: set[str],
    objective_fn: Any,
    resident: dict[tuple, Any],
) -> dict[str, Any]:
    """Run one trial and tell the study; returns what happened (state, value, parameters)."""
    import optuna

    from ccpapers.bench.runner import run_bench

    params = suggest(trial, sp["space"])
    cfg = trial_config(base, sp, params, explicit)
    cfg = replace(
        cfg,
        run_name=f"sweeps/{study.study_name}/trial-{trial.number:05d}",
        objective=sp.get("objective", cfg.objective),
    )
    trial.set_user_attr("run_dir", str(Path(cfg.work) / "bench" / cfg.run_name))
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    history = study._storage.get_trial(trial._trial_id).system_attrs.get("retry_history")
    if history:
        trial.set_user_attr("retry_of", history)
    outcome: dict[str, Any] = {"params": params, "objective": cfg.objective}
    try:
        if objective_fn is not None:
            value = float(objective_fn(cfg, trial))
        else:
            key = tuple(getattr(cfg, k) for k in MODEL_KEYS)
            if key not in resident:
                from ccpapers.bench.inputs import load_suite, tiny_texts
                from ccpapers.bench.models import load_model
                from ccpapers.bench.runner import make_accelerator

                resident.clear()
                texts = tiny_texts(load_suite(cfg)) if cfg.tiny else None
                # on the device the run will use: a model left on the CPU answered the first
                # trial's baseline there (with a warning) until training moved it
                resident[key] = load_model(cfg, texts, device=make_accelerator().device)

            def report(epoch: int, score: float) -> None:
                trial.report(score, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after epoch {epoch} (dev score {score:.4g})")

            summary = run_bench(cfg, resident=resident[key], epoch_hook=report)
            value = float(summary["objective_value"])
            for k in ("score", "gain"):
                trial.set_user_attr(k, summary[k]["mean"])
                outcome[k] = summary[k]["mean"]
            trial.set_user_attr("tokens_per_second", summary["tokens_per_second"])
            trial.set_user_attr("seeds", summary["seeds"])
            trial.set_user_attr("train_seconds", summary["train_seconds"])
            from ccpapers.bench.results import environment_info

            env = environment_info()
            trial.set_user_attr("git_sha", env["git_sha"])
            trial.set_user_attr("versions", env["versions"])
    except optuna.TrialPruned as exc:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return outcome | {"state": "PRUNED", "reason": str(exc)}
    except (CcpapersError, ValueError, RuntimeError) as exc:
        log.error("trial %d failed: %s", trial.number, exc)
        trial.set_user_attr("error", str(exc)[:500])
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return outcome | {"state": "FAIL", "reason": str(exc)[:200]}
    study.tell(trial, value)
    return outcome | {"state": "COMPLETE", "value": value}
