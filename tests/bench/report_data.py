"""Synthetic run folders and a sweep study for report tests (no training: summaries as a run writes them)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml


def write_run(runs: Path, name: str, seeds: int = 1, **params) -> Path:
    rng = random.Random(name)
    d = runs / name
    d.mkdir(parents=True, exist_ok=True)
    score = 0.3 + 0.05 * params.get("texts_per_fact_used", 1) + rng.uniform(-0.02, 0.02)
    base = 0.25
    s = {
        "suite": "fictional",
        "model": "tiny",
        "method": "lora",
        "tiny": True,
        "lora_preset": "partial",
        "lora_r": 8,
        "lora_alpha": 16,
        "lr": 1e-3,
        "epochs": 2,
        "quant": "none",
        "n_irrelevant": 0,
        "texts_per_fact_used": 1,
        "n_texts": 10,
        "n_questions": 50,
        "base_score": base,
        "seeds": list(range(seeds)),
        "tokens_per_second": 1000.0,
        "objective": "gain",
        **params,
    }
    s["score"] = {"mean": score, "ci_low": float("nan"), "ci_high": float("nan"), "n": seeds}
    s["gain"] = {"mean": score - base, "ci_low": float("nan"), "ci_high": float("nan"), "n": seeds}
    s["intervals"] = {
        "score": {
            "low": score - 0.05,
            "high": score + 0.05,
            "label": "95% paired bootstrap over 50 questions (1 seed)",
        },
        "gain": {
            "low": score - base - 0.06,
            "high": score - base + 0.06,
            "label": "95% paired bootstrap over 50 questions (1 seed)",
        },
    }
    s["objective_value"] = s["gain"]["mean"]
    (d / "summary.json").write_text(json.dumps(s))
    events = (
        [{"event": "config"}]
        + [
            {"event": "loss", "seed": 0, "step": i, "loss": 7.5 - 0.3 * i + rng.uniform(0, 0.1)}
            for i in range(1, 11)
        ]
        + [{"event": "summary", **s}]
    )
    (d / "results.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    cfg = {k: s[k] for k in ("method", "lora_r", "lora_alpha", "lr", "epochs", "n_irrelevant")}
    (d / "config.resolved.yaml").write_text(yaml.safe_dump({**cfg, "run_name": name}))
    return d


def write_sweep(runs: Path, name: str = "unit-sweep", n: int = 12) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = runs / "sweeps" / f"{name}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=name,
        storage=f"sqlite:///{db}",
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    for _ in range(n):
        t = study.ask()
        lr = t.suggest_float("lr", 1e-5, 1e-2, log=True)
        r = t.suggest_categorical("lora_r", [4, 8, 16])
        value = 0.1 - abs(__import__("math").log10(lr) + 3) * 0.02 + r / 400
        run = write_run(runs / "sweeps" / name, f"trial-{t.number:05d}", lr=lr, lora_r=r)
        t.set_user_attr("run_dir", str(run))
        study.tell(t, value)
