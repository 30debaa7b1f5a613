"""Optuna sweeps over ``BenchConfig`` with crash-safe parallel workers.

Start ``ccpapers bench sweep`` once per GPU against one shared storage. Each worker loops:
fail stale trials (a worker killed with ``kill -9`` stops sending heartbeats; after the grace
period its RUNNING trial becomes FAIL and ``RetryHeartbeatStaleTrialCallback`` enqueues a WAITING copy
with the same parameters), then claims a slot and runs one trial.

Claim logic (exactly ``n_trials`` trials, none twice, none lost): each trial occupies a
*slot*, its own number, or for a retry the number of the trial it replaces. A trial superseded
by a retry no longer counts. After ``ask()`` a worker counts the live trials ordered before its
own (by slot, then number); if ``n_trials`` are already ahead it marks its trial ``surplus``
and waits. A worker exits when ``n_trials`` live trials have finished, so the last survivor
also re-runs a killed worker's trial.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.sweep_spec import (  # noqa: F401 - re-exported
    check_spec,
    grid_size,
    grid_values,
    load_sweep_spec,
    suggest,
    trial_config,
)
from ccpapers.config import ConfigError
from ccpapers.errors import CcpapersError

log = logging.getLogger(__name__)
MODEL_KEYS = ("model", "size", "tiny", "dtype", "quant", "attention", "suite", "suite_file", "build")


def _grid_class() -> Any:
    import optuna

    class AskTellGrid(optuna.samplers.GridSampler):
        """GridSampler without its ``study.stop()`` call (which only works inside optimize);
        the worker loop stops by counting trials instead."""

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            return None

    return AskTellGrid


def _AskTellGrid(space: dict[str, Any], seed: int = 0) -> Any:  # noqa: N802
    return _grid_class()(space, seed=seed)


def make_sampler(sp: dict[str, Any], worker: int = 0) -> Any:
    """TPE (multivariate, grouped; seeded) or an exhaustive grid over the space's choices.

    ``worker`` is mixed into the seed: workers sharing one storage with one seed would
    otherwise propose the same points (TPE's random start-up trials, the grid's order)."""
    import optuna

    s_cfg = sp.get("sampler") or {}
    seed = s_cfg.get("seed", 0 if s_cfg.get("name") == "grid" else None)
    if seed is not None:
        seed = (int(seed) + worker) % 2**32
    if s_cfg.get("name") == "grid":
        space = {k: grid_values(d) for k, d in sp["space"].items()}
        return _AskTellGrid(space, seed=seed)
    return optuna.samplers.TPESampler(
        seed=seed,
        multivariate=bool(s_cfg.get("multivariate", True)),
        group=bool(s_cfg.get("group", True)),
        n_startup_trials=int(s_cfg.get("n_startup_trials", 10)),
    )


def make_pruner(sp: dict[str, Any]) -> Any:
    """``pruner: {name: median|threshold|halving|none, n_startup_trials, n_warmup_steps, lower}``; prunes on the
    per-epoch dev score (set ``dev_questions`` and ``eval_each_epoch`` in the sweep's base)."""
    import optuna

    p = sp.get("pruner") or {"name": "none"}
    name = p.get("name", "none")
    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=int(p.get("n_startup_trials", 5)), n_warmup_steps=int(p.get("n_warmup_steps", 1))
        )
    if name == "threshold":  # prune when the dev score is below `lower` after the warm-up epochs
        return optuna.pruners.ThresholdPruner(
            lower=float(p["lower"]), n_warmup_steps=int(p.get("n_warmup_steps", 0))
        )
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"sweep pruner {name!r}: choose median, threshold, halving or none")


def make_storage(url: str, heartbeat: int, grace: int) -> Any:
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(6):
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=kwargs,
                heartbeat_interval=heartbeat,
                grace_period=grace,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
            )
        except (OperationalError, IntegrityError) as exc:
            # workers started together race to create the schema ("table ... already exists",
            # a duplicate alembic_version row): the loser waits and connects to the winner's
            if attempt == 5 or not ("already exists" in str(exc) or "UNIQUE constraint" in str(exc)):
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _slot(t: Any) -> int:
    hist = t.system_attrs.get("retry_history") or []
    return min(hist) if hist else t.number


def census(study: Any) -> list[Any]:
    """Live trials (not superseded by a retry, not surplus), ordered by (slot, number)."""
    trials = study.get_trials(deepcopy=False)
    superseded = {n for t in trials for n in (t.system_attrs.get("retry_history") or [])}
    live = [t for t in trials if t.number not in superseded and not t.user_attrs.get("surplus")]
    seen: set[int] = set()
    out = []
    for t in sorted(live, key=lambda t: (_slot(t), t.number)):
        if _slot(t) in seen:  # a duplicate retry of the same slot
            continue
        seen.add(_slot(t))
        out.append(t)
    return out


class _Heartbeat:
    def __init__(self, storage: Any, trial_id: int, interval: float) -> None:
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried next interval
                log.debug("heartbeat failed", exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self.storage.record_heartbeat(self.trial_id)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def run_sweep(
    spec: str | Path | dict[str, Any],
    base: BenchConfig | None = None,
    storage: str | None = None,
    n_trials: int | None = None,
    study_name: str | None = None,
    explicit: set[str] | None = None,
    objective_fn: Any = None,
) -> dict[str, Any]:
    """Run trials of one study until it holds ``n_trials`` finished trials; returns counts and best."""
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    sp = spec if isinstance(spec, dict) else load_sweep_spec(spec)
    base = base or BenchConfig()
    check_spec(sp, replace(base, objective=sp.get("objective", base.objective)), n_trials)
    name = study_name or sp["study_name"]
    n_total = int(n_trials if n_trials is not None else sp.get("n_trials", 20))
    hb = sp.get("heartbeat") or {}
    interval, grace = int(hb.get("interval", 30)), int(hb.get("grace", 90))
    url = storage or f"sqlite:///{(Path(base.work) / 'bench' / 'sweeps' / f'{name}.db').resolve()}"
    stor = make_storage(url, interval, grace)
    sampler = make_sampler(sp, worker=os.getpid())
    if n_trials is None and (sp.get("sampler") or {}).get("name") == "grid" and "n_trials" not in sp:
        n_total = grid_size(sp["space"])
    study = optuna.create_study(
        study_name=name,
        storage=stor,
        sampler=sampler,
        load_if_exists=True,
        direction=sp.get("direction", "maximize"),
        pruner=make_pruner(sp),
    )
    poll = float(sp.get("poll_seconds", max(1, interval)))
    resident: dict[tuple, Any] = {}
    ran = 0
    spent: list[float] = []
    from ccpapers.bench import progress

    done0 = len([t for t in census(study) if t.state.is_finished()])
    progress.say(
        f"study {name}: {n_total} trials, {done0} finished before; objective "
        f"{sp.get('objective', base.objective)} ({study.direction.name.lower()}); storage {url}",
        run_line=False,
    )
    while True:
        optuna.storages.fail_stale_trials(study)
        live = census(study)
        finished = [t for t in live if t.state.is_finished()]
        if len(finished) >= n_total:
            break
        waiting = [t for t in live if t.state == optuna.trial.TrialState.WAITING]
        if len(live) >= n_total and not waiting:
            time.sleep(poll)  # the rest are running elsewhere; wait for them (or for them to go stale)
            continue
        trial = study.ask()
        with _Heartbeat(stor, trial._trial_id, interval):
            order = census(study)
            rank = next((i for i, t in enumerate(order) if t.number == trial.number), len(order))
            if rank >= n_total:
                trial.set_user_attr("surplus", True)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            ran += 1
            t0 = time.perf_counter()
            with progress.quiet():
                outcome = _run_trial(study, trial, sp, base, explicit or set(), objective_fn, resident)
            spent.append(time.perf_counter() - t0)
            _say_trial(study, trial.number, outcome, spent, n_total)
    live = census(study)
    complete = [t for t in live if t.state == optuna.trial.TrialState.COMPLETE]
    best = None
    if complete:
        b = (
            max(complete, key=lambda t: t.value)
            if study.direction.name == "MAXIMIZE"
            else min(complete, key=lambda t: t.value)
        )
        best = {"number": b.number, "value": b.value, "params": b.params}
    return {
        "study": name,
        "storage": url,
        "n_trials": n_total,
        "complete": len(complete),
        "finished": len([t for t in live if t.state.is_finished()]),
        "ran_here": ran,
        "best": best,
    }


def _fmt_params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _say_trial(study: Any, number: int, outcome: dict[str, Any], spent: list[float], n_total: int) -> None:
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


def _run_trial(
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

                resident.clear()
                resident[key] = load_model(cfg, tiny_texts(load_suite(cfg)) if cfg.tiny else None)

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
