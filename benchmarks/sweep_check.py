"""The sweep phase of ``benchmarks/multigpu_check.py``: one ``ccpapers bench sweep`` worker per
GPU (``CUDA_VISIBLE_DEVICES=i``) on one SQLite storage, worker 0 killed with SIGKILL in the middle
of a trial and started again; then the study is read back: N live trials all complete, no trial
run twice (one ``config`` and one ``summary`` event per run folder), the killed trial failed and
re-run once with its parameters. The same study run by one worker gives the wall-time reference."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml


def _spec(chk: Any, model: str | None, n: int) -> dict[str, Any]:
    cpu = chk.a.cpu
    base: dict[str, Any] = {
        "method": "lora",
        "lora_preset": "attention",
        "epochs": 2 if cpu else 3,
        "max_questions": 4 if cpu else 10,
        "max_new_tokens": 4 if cpu else 24,
        "lora_r": 4 if cpu else 16,
        "lora_alpha": 8 if cpu else 48,
        "texts_per_fact": 2,
    }
    base |= {"model": model} if model else {"tiny": True}
    if cpu:
        base |= {"seq_len": 128, "suite_file": str(Path(chk.tiny_suite()[1]))}
    return {
        "study_name": "multigpu-check",
        "objective": "gain",
        "n_trials": n,
        "sampler": {"name": "tpe", "seed": 0},
        "heartbeat": {"interval": 1, "grace": 3} if cpu else {"interval": 2, "grace": 6},
        "poll_seconds": 0.5,
        "base": base,
        "space": {"lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-3, "log": True}},
    }


def _worker(chk: Any, spec: Path, url: str, n: int, gpu: int, work: Path, tag: str) -> tuple[Any, Path]:
    log = work / f"worker-{tag}.log"
    cmd = [sys.executable, "-m", "ccpapers", "bench", "sweep", "--sweep", str(spec), "--storage", url]
    cmd += ["--n-trials", str(n), "--work", str(work)]
    env = chk.env() if chk.a.cpu else chk.env(CUDA_VISIBLE_DEVICES=str(gpu))
    fh = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed after the process ends
    p = subprocess.Popen(cmd, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    p._log_fh = fh  # type: ignore[attr-defined]
    chk.log(f"  worker {tag} (pid {p.pid}, GPU {gpu}): {' '.join(cmd)}")
    return p, log


def _finish(chk: Any, procs: list[tuple[Any, Path]], deadline: float) -> list[int | None]:
    rcs: list[int | None] = []
    for p, log in procs:
        try:
            rcs.append(p.wait(timeout=max(1.0, deadline - time.time())))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rcs.append(None)
        p._log_fh.close()
        with open(chk.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"----- {log.name}\n{log.read_text(encoding='utf-8', errors='replace')[-6000:]}\n")
    return rcs


def _storage(url: str) -> Any:
    import optuna

    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def _running_of(url: str, study: str, pid: int, min_age: float) -> Any:
    import optuna

    try:
        s = optuna.load_study(study_name=study, storage=_storage(url))
    except KeyError:
        return None
    now = time.time()
    for t in s.get_trials(deepcopy=False):
        if (
            t.state == optuna.trial.TrialState.RUNNING
            and t.user_attrs.get("worker", "").endswith(f":{pid}")
            and t.datetime_start is not None
            and now - t.datetime_start.timestamp() >= min_age
        ):
            return t
    return None


def verify(url: str, study: str, n: int, victim: Any) -> dict[str, Any]:
    import optuna

    from ccpapers.bench.sweep import census

    s = optuna.load_study(study_name=study, storage=_storage(url))
    trials = s.get_trials(deepcopy=False)
    live = census(s)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    twice = []
    for t in complete:
        p = Path(t.user_attrs.get("run_dir", "")) / "results.jsonl"
        text = p.read_text(encoding="utf-8") if p.is_file() else ""
        if text.count('"event": "config"') != 1 or text.count('"event": "summary"') != 1:
            twice.append(t.number)
    out: dict[str, Any] = {
        "trials_in_storage": len(trials),
        "states": {st.name: sum(t.state == st for t in trials) for st in optuna.trial.TrialState},
        "live": len(live),
        "live_all_complete": all(t.state == optuna.trial.TrialState.COMPLETE for t in live),
        "complete": len(complete),
        "run_folders_not_exactly_once": twice,
        "workers": sorted({t.user_attrs.get("worker", "?") for t in complete}),
        "values": {t.number: t.value for t in complete},
    }
    if victim is not None:
        killed = next(t for t in trials if t.number == victim.number)
        retry = [t for t in complete if victim.number in (t.system_attrs.get("retry_history") or [])]
        out["killed_trial"] = {
            "number": victim.number,
            "state": killed.state.name,
            "params": victim.params,
            "retried_as": [t.number for t in retry],
            "retry_same_params": bool(retry) and all(t.params == victim.params for t in retry),
        }
    out["ok"] = (
        out["live"] == n
        and out["live_all_complete"]
        and out["complete"] == n
        and not twice
        and (
            victim is None
            or (out["killed_trial"]["state"] == "FAIL" and len(out["killed_trial"]["retried_as"]) == 1)
        )
    )
    return out


def sweep_phase(chk: Any) -> dict[str, Any]:
    n = chk.a.sweep_trials
    model = chk.real_model()
    work = chk.work / "sweep"
    work.mkdir(parents=True, exist_ok=True)
    spec_path = work / "spec.yaml"
    spec = _spec(chk, model, n)
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    res: dict[str, Any] = {"n_trials": n, "model": model or "tiny (no SmolLM2 folder given)", "spec": spec}
    study = spec["study_name"]

    # one worker: the wall-time reference
    url1 = f"sqlite:///{work / 'one-worker.db'}"
    deadline = time.time() + chk.budget(
        200.0 if not chk.a.cpu else 900.0, reserve=60.0 if not chk.a.cpu else 0
    )
    (work / "w1").mkdir(exist_ok=True)
    t0 = time.time()
    rcs = _finish(chk, [_worker(chk, spec_path, url1, n, 0, work / "w1", "one")], deadline)
    res["one_worker"] = {"wall_seconds": time.time() - t0, "rc": rcs} | verify(url1, study, n, None)
    chk.save("sweep", res)

    # two workers, one per GPU; worker 0 killed mid-trial and restarted
    url2 = f"sqlite:///{work / 'two-workers.db'}"
    (work / "w2").mkdir(exist_ok=True)
    deadline = time.time() + chk.budget(240.0 if not chk.a.cpu else 900.0)
    t0 = time.time()
    w0 = _worker(chk, spec_path, url2, n, 0, work / "w2", "gpu0")
    w1 = _worker(chk, spec_path, url2, n, 1, work / "w2", "gpu1")
    victim, killed_at = None, None
    min_age = 1.0 if chk.a.cpu else 2.0
    while victim is None and time.time() < deadline and w0[0].poll() is None:
        time.sleep(0.2)
        victim = _running_of(url2, study, w0[0].pid, min_age)
    procs = [w1]
    if victim is not None:
        os.killpg(w0[0].pid, signal.SIGKILL)
        w0[0].wait()
        killed_at = time.time() - t0
        chk.log(f"  SIGKILL worker gpu0 in trial {victim.number} at +{killed_at:.1f}s; restarting it")
        _finish(chk, [w0], time.time() + 5)
        procs.append(_worker(chk, spec_path, url2, n, 0, work / "w2", "gpu0-restarted"))
    else:
        procs.append(w0)
    rcs = _finish(chk, procs, deadline)
    wall2 = time.time() - t0
    res["two_workers"] = {
        "wall_seconds": wall2,
        "rc": rcs,
        "killed_at_seconds": killed_at,
        "kill": "done" if victim is not None else "no running trial of worker 0 was seen to kill",
    } | verify(url2, study, n, victim)
    one_wall = res["one_worker"]["wall_seconds"]
    res["speedup_two_workers_with_kill_vs_one"] = one_wall / wall2 if wall2 else None
    res["note"] = (
        "two-worker wall time includes the kill, the heartbeat grace before the killed trial is re-run, "
        "and the restarted worker's start-up and model load"
    )
    return res
