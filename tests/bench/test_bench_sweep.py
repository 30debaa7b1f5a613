"""Sweeps: search-space sampling, exact trial counts, resume, and two workers with a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from ccpapers.bench.config import BenchConfig  # noqa: E402
from ccpapers.bench.sweep import census, load_sweep_spec, run_sweep, trial_config  # noqa: E402
from ccpapers.config import ConfigError  # noqa: E402

FIX = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def _spec(**kw):
    spec = {
        "study_name": "unit",
        "space": {
            "lr": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True},
            "lora_preset": {"choices": ["partial", "attention"]},
        },
        "base": {"epochs": 3},
        "heartbeat": {"interval": 1, "grace": 2},
    }
    spec.update(kw)
    return spec


def test_shipped_sweeps_load():
    names = sorted(p.stem for p in (REPO / "train" / "sweeps").glob("*.yaml"))
    assert {
        "fictional-lora",
        "texts-per-fact",
        "irrelevant-texts",
        "lora-vs-full",
        "lora-presets",
        "quant-bits",
    } <= set(names)
    for n in names:
        load_sweep_spec(n)
    with pytest.raises(ConfigError, match="not bench config keys"):
        load_sweep_spec(_write(FIX.parent, {"space": {"learning_rate": {"choices": [1]}}}))


def _write(tmp, data):
    import yaml

    p = Path(tmp) / "tmp_bad_sweep.yaml"
    if Path(tmp) == FIX.parent:
        import tempfile

        p = Path(tempfile.mkdtemp()) / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_trial_config_precedence():
    base = BenchConfig(epochs=7, lr=1.0)
    cfg = trial_config(base, _spec(), {"lr": 2e-4}, explicit={"epochs"})
    assert cfg.epochs == 7  # set explicitly on the command line: wins over the sweep's base
    assert cfg.lr == 2e-4  # sampled
    cfg2 = trial_config(base, _spec(), {"lr": 2e-4}, explicit=set())
    assert cfg2.epochs == 3


def test_an_objective_given_on_the_command_line_is_not_overridden_by_the_spec(tmp_path):
    """The spec's objective used to win silently over objective= on the command line."""
    base = BenchConfig(work=tmp_path, objective="score")
    with pytest.raises(
        ConfigError, match="objective=score was given, but the sweep spec sets objective: gain"
    ):
        run_sweep(_spec(objective="gain"), base, storage=f"sqlite:///{tmp_path}/o.db", explicit={"objective"})


def test_exact_count_and_resume(tmp_path):
    seen = []

    def fake(cfg, trial):
        seen.append((trial.number, cfg.lr, cfg.lora_preset))
        return cfg.lr * 1000

    url = f"sqlite:///{tmp_path}/s.db"
    r = run_sweep(_spec(), BenchConfig(work=tmp_path), storage=url, n_trials=3, objective_fn=fake)
    assert r["complete"] == 3 and r["ran_here"] == 3 and len(seen) == 3
    again = run_sweep(_spec(), BenchConfig(work=tmp_path), storage=url, n_trials=3, objective_fn=fake)
    assert again["ran_here"] == 0  # nothing left to do
    more = run_sweep(_spec(), BenchConfig(work=tmp_path), storage=url, n_trials=5, objective_fn=fake)
    assert more["complete"] == 5 and more["ran_here"] == 2
    assert r["best"]["value"] <= more["best"]["value"]


def test_sweep_prints_a_line_per_trial_with_parameters_objective_and_eta(tmp_path, capsys):
    def fake(cfg, trial):
        if trial.number == 1:
            raise optuna.TrialPruned("pruned after epoch 1 (dev score 0.1)")
        return cfg.lr * 1000

    run_sweep(
        _spec(),
        BenchConfig(work=tmp_path),
        storage=f"sqlite:///{tmp_path}/p.db",
        n_trials=3,
        objective_fn=fake,
    )
    err = capsys.readouterr().err
    assert "study unit: 3 trials, 0 finished before; objective gain_x_log10_texts (maximize)" in err
    lines = [line for line in err.splitlines() if line.startswith("trial ")]
    assert len(lines) == 3
    assert lines[0].startswith("trial 0 [1/3 finished] lr=") and "lora_preset=" in lines[0]
    assert "-> gain_x_log10_texts=" in lines[0] and "; best #0 " in lines[0] and "ETA " in lines[0]
    assert "(2 left)" in lines[0] and lines[2].endswith("(0 left)")
    assert "-> pruned: pruned after epoch 1" in lines[1]


def test_grid_sweep_runs_every_point(tmp_path):
    spec = _spec(sampler={"name": "grid"}, space={"texts_per_fact": {"choices": [1, 2, 3]}})
    got = []
    r = run_sweep(
        spec,
        BenchConfig(work=tmp_path),
        storage=f"sqlite:///{tmp_path}/g.db",
        objective_fn=lambda cfg, t: got.append(cfg.texts_per_fact) or 0.0,
    )
    assert r["n_trials"] == 3 and sorted(got) == [1, 2, 3]


def _worker(tmp_path, url, n):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "ccpapers",
        "bench",
        "sweep",
        "--sweep",
        str(FIX / "sweep_tiny.yaml"),
        "--storage",
        url,
        "--n-trials",
        str(n),
        "--work",
        str(tmp_path),
        "--suite-file",
        str(FIX / "fictional_mini.yaml"),
    ]
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_two_workers_kill9_and_restart_lose_and_repeat_nothing(tmp_path):
    """Two workers share one SQLite study of N trials; worker A is killed with SIGKILL in the
    middle of a trial and started again. Every slot ends with exactly one complete trial, the
    killed trial is re-run under its parameters, and no run folder was written twice."""
    n = 3
    url = f"sqlite:///{tmp_path}/study.db"
    a, b = _worker(tmp_path, url, n), _worker(tmp_path, url, n)
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    victim = None
    deadline = time.time() + 120
    while victim is None and time.time() < deadline:
        time.sleep(0.2)
        try:
            study = optuna.load_study(study_name="tiny-test", storage=storage)
        except KeyError:
            continue
        for t in study.get_trials(deepcopy=False):
            if t.state == optuna.trial.TrialState.RUNNING and t.user_attrs.get("worker", "").endswith(
                f":{a.pid}"
            ):
                victim = t
    assert victim is not None, "worker A never started a trial"
    time.sleep(0.5)  # let it get into training
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    a2 = _worker(tmp_path, url, n)
    outs = []
    for p in (b, a2):
        out, _ = p.communicate(timeout=240)
        outs.append(out.decode())
        assert p.returncode == 0, out.decode()[-3000:]
    study = optuna.load_study(study_name="tiny-test", storage=storage)
    trials = study.get_trials(deepcopy=False)
    live = census(study)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(live) == n and all(t.state == optuna.trial.TrialState.COMPLETE for t in live)
    assert len(complete) == n  # no extra trial ran
    killed = next(t for t in trials if t.number == victim.number)
    assert killed.state == optuna.trial.TrialState.FAIL
    retry = [t for t in complete if victim.number in (t.system_attrs.get("retry_history") or [])]
    assert len(retry) == 1 and retry[0].params == victim.params
    for t in complete:  # each complete trial ran once: one config and one summary event in its folder
        log = (Path(t.user_attrs["run_dir"]) / "results.jsonl").read_text()
        assert log.count('"event": "config"') == 1 and log.count('"event": "summary"') == 1, t.number
    workers = {t.user_attrs["worker"] for t in complete}
    assert len(workers) >= 2  # the work was shared


def test_pruned_trial_restores_resident_base(tmp_path):
    """A trial pruned mid-training is told PRUNED and leaves the shared base model untouched."""
    import torch

    import ccpapers.bench.sweep as sweep_mod

    spec = {
        "study_name": "prune",
        "n_trials": 2,
        "heartbeat": {"interval": 1, "grace": 2},
        "pruner": {"name": "threshold", "lower": 2.0},  # scores are <= 1: every trial is pruned
        "base": {
            "tiny": True,
            "suite_file": str(FIX / "fictional_mini.yaml"),
            "epochs": 3,
            "lr": 1e-2,
            "lora_r": 4,
            "lora_alpha": 8,
            "seq_len": 128,
            "max_new_tokens": 4,
            "dev_questions": 2,
            "eval_each_epoch": True,
            "texts_per_fact": 1,
        },
        "space": {"lora_preset": {"choices": ["partial", "attention"]}},
    }
    seen = {}
    real_run = sweep_mod.run_trial

    def spy(study, trial, sp, base, explicit, objective_fn, resident):
        if resident:
            lm = next(iter(resident.values()))
            seen.setdefault("before", {k: v.clone() for k, v in lm.model.state_dict().items()})
        outcome = real_run(study, trial, sp, base, explicit, objective_fn, resident)
        lm = next(iter(resident.values()))
        seen["after"] = lm.model.state_dict()
        return outcome

    sweep_mod.run_trial = spy
    try:
        r = run_sweep(spec, BenchConfig(work=tmp_path), storage=f"sqlite:///{tmp_path}/p.db")
    finally:
        sweep_mod.run_trial = real_run
    study = optuna.load_study(study_name="prune", storage=f"sqlite:///{tmp_path}/p.db")
    trials = study.get_trials()
    assert r["finished"] == 2 and [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert all(list(t.intermediate_values) == [1] for t in trials)  # stopped after the first epoch
    # the second trial found the base exactly as the first one had found it
    assert set(seen["after"]) == set(seen["before"])
    assert all(torch.equal(seen["after"][k], seen["before"][k]) for k in seen["before"])


def test_resident_model_is_loaded_on_the_run_device(tmp_path, monkeypatch):
    """The model a sweep keeps between trials is loaded onto the device the runs use (on a GPU
    machine the first trial's baseline otherwise answered on the CPU until training moved it)."""
    import ccpapers.bench.models as models_mod
    from ccpapers.bench.runner import make_accelerator

    devices = []
    real_load = models_mod.load_model

    def spy(cfg, tiny_texts=None, device=None):
        devices.append(device)
        return real_load(cfg, tiny_texts, device=device)

    monkeypatch.setattr(models_mod, "load_model", spy)
    spec = {
        "study_name": "device",
        "n_trials": 1,
        "heartbeat": {"interval": 1, "grace": 2},
        "base": {
            "tiny": True,
            "suite_file": str(FIX / "fictional_mini.yaml"),
            "epochs": 1,
            "lora_r": 4,
            "lora_alpha": 8,
            "seq_len": 128,
            "max_new_tokens": 4,
            "texts_per_fact": 1,
        },
        "space": {"lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
    }
    r = run_sweep(spec, BenchConfig(work=tmp_path), storage=f"sqlite:///{tmp_path}/d.db")
    assert r["finished"] == 1
    assert devices and all(d is not None and str(d) == str(make_accelerator().device) for d in devices)
