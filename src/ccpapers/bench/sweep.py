"""Optuna sweeps over ``BenchConfig`` with crash-safe parallel workers.

Start ``ccpapers bench sweep`` once per GPU against one shared storage. Each worker loops:
fail stale trials, claim a slot (:mod:`ccpapers.bench.sweep_workers`: storage, census,
heartbeats), then run one trial (:mod:`ccpapers.bench.sweep_trial`). A worker exits when
``n_trials`` live trials have finished, so the last survivor also re-runs a killed worker's
trial. The spec is read and checked by :mod:`ccpapers.bench.sweep_spec`; samplers and pruners
come from :mod:`ccpapers.bench.sweep_samplers`.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.sweep_samplers import make_pruner, make_sampler
from ccpapers.bench.sweep_spec import check_spec, grid_size, load_sweep_spec, trial_config
from ccpapers.bench.sweep_trial import run_trial, say_trial
from ccpapers.bench.sweep_workers import Heartbeat, census, make_storage
from ccpapers.config import ConfigError

__all__ = ["census", "load_sweep_spec", "make_sampler", "make_storage", "run_sweep", "trial_config"]


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

    from ccpapers.bench import progress

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    sp = spec if isinstance(spec, dict) else load_sweep_spec(spec)
    base = base or BenchConfig()
    if "objective" in (explicit or set()) and sp.get("objective", base.objective) != base.objective:
        raise ConfigError(
            f"objective={base.objective} was given, but the sweep spec sets objective: {sp['objective']} "
            "(a study compares its trials under one objective); edit the spec's objective, or give it a "
            "new study_name"
        )
    check_spec(sp, replace(base, objective=sp.get("objective", base.objective)), n_trials)
    name = study_name or sp["study_name"]
    hb = sp.get("heartbeat") or {}
    interval, grace = int(hb.get("interval", 30)), int(hb.get("grace", 90))
    url = storage or f"sqlite:///{(Path(base.work) / 'bench' / 'sweeps' / f'{name}.db').resolve()}"
    stor = make_storage(url, interval, grace)
    study = _open_study(sp, name, stor)
    n_total = _trial_count(sp, n_trials)
    poll = float(sp.get("poll_seconds", max(1, interval)))
    resident: dict[tuple, Any] = {}
    ran = 0
    spent: list[float] = []
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
        with Heartbeat(stor, trial._trial_id, interval):
            order = census(study)
            rank = next((i for i, t in enumerate(order) if t.number == trial.number), len(order))
            if rank >= n_total:
                trial.set_user_attr("surplus", True)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            ran += 1
            t0 = time.perf_counter()
            with progress.quiet():
                outcome = run_trial(study, trial, sp, base, explicit or set(), objective_fn, resident)
            spent.append(time.perf_counter() - t0)
            say_trial(study, trial.number, outcome, spent, n_total)
    return _result(study, name, url, n_total, ran)


def _open_study(sp: dict[str, Any], name: str, storage: Any) -> Any:
    """The study ``name`` in ``storage`` (created by the first worker), with this worker's sampler."""
    import optuna

    return optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(sp, worker=os.getpid()),
        load_if_exists=True,
        direction=sp.get("direction", "maximize"),
        pruner=make_pruner(sp),
    )


def _trial_count(sp: dict[str, Any], n_trials: int | None) -> int:
    """``n_trials`` as given, else the spec's; a grid without either runs every point once."""
    if n_trials is not None:
        return int(n_trials)
    if (sp.get("sampler") or {}).get("name") == "grid" and "n_trials" not in sp:
        return grid_size(sp["space"])
    return int(sp.get("n_trials", 20))


def _result(study: Any, name: str, url: str, n_total: int, ran: int) -> dict[str, Any]:
    live = census(study)
    complete = [t for t in live if t.state.name == "COMPLETE"]
    best = None
    if complete:
        pick = max if study.direction.name == "MAXIMIZE" else min
        b = pick(complete, key=lambda t: t.value)
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
