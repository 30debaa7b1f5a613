#!/usr/bin/env python3
"""The seed study's findings on a real pretrained model, on one GPU (issue 11).

Every run is an ordinary ``ccpapers bench`` run (``run_bench`` with a config: the key=value
pairs recorded in ``study.json`` reproduce it with ``ccpapers bench --model smollm2-135m
key=value ...``), three seeds each. A 135 M model at batch 1 keeps a GPU far from busy, so
``--workers`` processes share it, each with its base model resident, pulling runs from one
queue. Phases:

* ``sweep``: full fine-tuning and LoRA at three learning rates each, 1 and 10 texts per fact;
  the setting with the largest score(10 texts) - score(1 text) wins (per method and overall,
  written to ``best.json``);
* ``findings``: at the winning setting, texts per fact (1, 2, 3, 5 English; 2, 3, 5, 10 with
  translations), irrelevant texts (10 and 100 real paragraphs with 10 texts per fact), LoRA
  presets, the packed schedule against one text per step, 20 epochs.

Runs already finished (``summary.json``) are skipped, so a second invocation continues. No new
run starts after ``--deadline`` minus ``--reserve`` seconds; at the deadline workers are
stopped (finished seeds stay on disk). ``study.json`` (every run: config, per-seed scores,
mean and 95 % CI, optimizer steps, tokens per step, precision, seconds) and ``runs.tar.gz``
go to ``--out``.

    python scripts/real_study.py --model smollm2-135m --work /tmp/study --out $OUT --workers 8
    python scripts/real_study.py --tiny --workers 2 --work /tmp/s --out /tmp/o   # CPU check
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import tarfile
import time
import traceback
from pathlib import Path
from typing import Any

ENGLISH = ["original", "qa", "article", "interview", "textbook"]
TRANSLATED = ["original", "de", "es", "it", "ko", "ja", "qa", "article", "interview", "textbook"]
SWEEP_LR = {"full": [3e-5, 1e-4, 3e-4], "lora": [3e-4, 1e-3, 3e-3]}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- plans


def job(group: str, name: str, **cfg: Any) -> dict[str, Any]:
    return {"group": group, "name": name, "cfg": cfg}


def sweep_jobs(a: argparse.Namespace) -> list[dict[str, Any]]:
    jobs = []
    for t in (10, 1):  # the long runs first: the tail of the phase is then short
        for method, lrs in SWEEP_LR.items():
            for lr in lrs:
                jobs.append(job("sweep", f"{method}-lr{lr:g}-t{t}", method=method, lr=lr, texts_per_fact=t))
    return jobs


def finding_jobs(best: dict[str, Any], a: argparse.Namespace) -> list[dict[str, Any]]:
    """The study's one-factor experiments at the winning setting (``best``: method, lr, ...)."""
    b = {k: best[k] for k in ("method", "lr")}
    lora = {k: best["lora"][k] for k in ("method", "lr")}
    jobs = []
    for t in (2, 3, 5):
        jobs.append(job("texts", f"en-t{t}", texts_per_fact=t, variants=ENGLISH, **b))
        jobs.append(job("texts", f"tr-t{t}", texts_per_fact=t, variants=TRANSLATED, **b))
    for n in (10, 100):
        jobs.append(job("irrelevant", f"t10-i{n}", texts_per_fact=10, n_irrelevant=n, **b))
    for preset, extra in (("attention", {}), ("all", {}), ("partial-untie", {"tied_lm_head": "untie"})):
        jobs.append(
            job(
                "presets",
                f"{preset}-t10",
                texts_per_fact=10,
                lora_preset=preset.split("-")[0],
                **extra,
                **lora,
            )
        )
    for t in (10, 1):
        jobs.append(job("schedule", f"packed-t{t}", texts_per_fact=t, schedule="packed", **b))
        jobs.append(job("epochs", f"e20-t{t}", texts_per_fact=t, epochs=20, **b))
    return jobs


def base_config(a: argparse.Namespace) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        suite="fictional", seeds=[0, 1, 2], epochs=10, schedule="text", prompt="plain", work=str(a.work)
    )
    if a.tiny:
        base.update(
            tiny=True, epochs=1, max_questions=10, seeds=[0, 1], lora_r=8, lora_alpha=24, max_new_tokens=16
        )
    else:
        base.update(model=a.model)
    if a.quick:
        base.update(epochs=1, seeds=[0], max_questions=5, max_new_tokens=16)
    return base


# --------------------------------------------------------------------------- workers


def run_dir(a: argparse.Namespace, j: dict[str, Any]) -> Path:
    return Path(a.work) / "bench" / "study" / j["group"] / j["name"]


def worker(wid: int, jobs: Any, results: Any, a: argparse.Namespace, stop_at: float) -> None:
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    import logging

    logging.basicConfig(level=logging.WARNING, format=f"[w{wid}] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ccpapers").setLevel(logging.INFO)
    import torch
    from accelerate import Accelerator

    from ccpapers.bench.config import BenchConfig
    from ccpapers.bench.inputs import load_suite, tiny_texts
    from ccpapers.bench.models import load_model, resolve_device_options
    from ccpapers.bench.runner import run_bench
    from ccpapers.config import config_from_mapping

    torch.set_num_threads(1)  # many workers share the cores (2 threads each crawled on a busy CPU)
    acc = Accelerator(cpu=not torch.cuda.is_available())
    resident: dict[tuple, Any] = {}
    while True:
        try:
            j = jobs.get(timeout=1.0)
        except queue.Empty:
            continue
        if j is None:
            return
        if time.time() > stop_at:
            results.put({"job": j, "skipped": "deadline"})
            continue
        t0 = time.time()
        try:
            cfg = config_from_mapping(
                BenchConfig,
                base_config(a) | j["cfg"] | {"run_name": f"study/{j['group']}/{j['name']}"},
                origin=j["name"],
            )
            dtype, _ = resolve_device_options(cfg)
            key = (cfg.model_id(), str(dtype))
            if key not in resident:
                resident.clear()  # one base model at a time per worker
                torch.cuda.empty_cache() if torch.cuda.is_available() else None
                resident[key] = load_model(
                    cfg, tiny_texts(load_suite(cfg)) if cfg.tiny else None, device=acc.device
                )
            summary = run_bench(cfg, accelerator=acc, resident=resident[key])
            results.put({"job": j, "worker": wid, "seconds": time.time() - t0, "summary": summary})
        except Exception as exc:  # noqa: BLE001 - report and go on with the next run
            results.put({"job": j, "worker": wid, "error": f"{exc}\n{traceback.format_exc()[-3000:]}"})


def run_jobs(
    a: argparse.Namespace, jobs: list[dict[str, Any]], stop_at: float, deadline: float
) -> list[dict]:
    """Run ``jobs`` on ``a.workers`` processes; returns the result records (errors included)."""
    import multiprocessing as mp

    todo = [j for j in jobs if not (run_dir(a, j) / "summary.json").is_file()]
    log(f"{len(todo)} runs to do ({len(jobs) - len(todo)} done before)")
    if not todo:
        return []
    ctx = mp.get_context("spawn")
    jq, rq = ctx.Queue(), ctx.Queue()
    for j in todo:
        jq.put(j)
    n = min(a.workers, len(todo))
    for _ in range(n):
        jq.put(None)
    procs = [ctx.Process(target=worker, args=(i, jq, rq, a, stop_at), daemon=True) for i in range(n)]
    for p in procs:
        p.start()
    out: list[dict] = []
    while len(out) < len(todo) and time.time() < deadline:
        try:
            r = rq.get(timeout=2.0)
        except queue.Empty:
            if not any(p.is_alive() for p in procs):
                break
            continue
        out.append(r)
        name = f"{r['job']['group']}/{r['job']['name']}"
        if "summary" in r:
            s = r["summary"]
            log(
                f"done {name} in {r['seconds']:.0f}s (w{r['worker']}): score {s['score']['mean']:.3f} "
                f"[{s['score']['ci_low']:.3f}, {s['score']['ci_high']:.3f}], steps {s['optimizer_steps']:.0f}"
            )
        elif "error" in r:
            log(f"FAILED {name}: {r['error'][:2000]}")
        else:
            log(f"skipped {name} ({r.get('skipped')})")
    for p in procs:
        p.join(timeout=max(0.0, min(5.0, deadline - time.time())))
        if p.is_alive():
            p.terminate()
    return out


# --------------------------------------------------------------------------- results


def collect(a: argparse.Namespace) -> list[dict[str, Any]]:
    """Every run folder under WORK/bench/study: config overrides, per-seed results, mean + CI
    (from summary.json, or from the finished seed files of a run stopped at the deadline)."""
    import yaml

    from ccpapers.bench.evaluation import mean_ci

    rows = []
    for d in sorted((Path(a.work) / "bench" / "study").glob("*/*")):
        seeds = [json.loads(p.read_text()) for p in sorted(d.glob("seed-*.json"))]
        if not seeds:
            continue
        cfg_path = d / "config.resolved.yaml"
        cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else {}
        summ = json.loads((d / "summary.json").read_text()) if (d / "summary.json").is_file() else {}
        rows.append(
            {
                "group": d.parent.name,
                "name": d.name,
                "complete": bool(summ),
                "config": {k: v for k, v in cfg.items() if k not in ("work", "run_name")},
                "base_score": summ.get("base_score"),
                "score": mean_ci([s["score"] for s in seeds]),
                "gain": mean_ci([s["gain"] for s in seeds]),
                "score_uncut": mean_ci([s.get("score_uncut", s["score"]) for s in seeds]),
                "base_score_uncut": summ.get("base_score_uncut"),
                "seeds": [
                    {
                        k: s.get(k)
                        for k in (
                            "seed",
                            "score",
                            "gain",
                            "score_uncut",
                            "n_texts",
                            "steps",
                            "tokens_per_step",
                            "train_tokens",
                            "train_seconds",
                            "eval_seconds",
                            "tokens_per_second",
                            "schedule",
                            "precision",
                            "peak_memory_gib",
                        )
                    }
                    | {"final_loss": s["epochs"][-1]["loss"] if s.get("epochs") else None}
                    for s in seeds
                ],
            }
        )
    return rows


def choose(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method the sweep setting with the largest score(10 texts/fact) - score(1 text/fact);
    overall the better of the two (ties: higher score at 10 texts)."""
    by = {
        (r["config"]["method"], r["config"]["lr"], r["config"]["texts_per_fact"]): r
        for r in rows
        if r["group"] == "sweep"
    }
    best: dict[str, Any] = {}
    for method, lrs in SWEEP_LR.items():
        cands = []
        for lr in lrs:
            hi, lo = by.get((method, lr, 10)), by.get((method, lr, 1))
            if hi and lo:
                s10, s1 = hi["score"]["mean"], lo["score"]["mean"]
                cands.append(
                    {"method": method, "lr": lr, "score10": s10, "score1": s1, "separation": s10 - s1}
                )
        if cands:
            best[method] = max(cands, key=lambda c: (c["separation"], c["score10"]))
    if not best:
        return {}
    overall = max(best.values(), key=lambda c: (c["separation"], c["score10"]))
    out = dict(overall)
    out["full"] = best.get("full", overall)
    out["lora"] = best.get("lora", {"method": "lora", "lr": SWEEP_LR["lora"][1]})
    return out


def write_outputs(a: argparse.Namespace, extra: dict[str, Any]) -> None:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = collect(a)
    device = "cpu"
    try:
        import torch

        if torch.cuda.is_available():
            device = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    data = {"device": device, "args": {k: str(v) for k, v in vars(a).items()}, "runs": rows, **extra}
    (out / "study.json").write_text(json.dumps(data, indent=1, default=str))
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        tar.add(Path(a.work) / "bench" / "study", arcname="study")
    log(f"wrote {out / 'study.json'} ({len(rows)} runs) and runs.tar.gz")


# --------------------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--tiny", action="store_true", help="tiny random model on CPU (a check of this script)")
    p.add_argument("--quick", action="store_true", help="1 epoch, 1 seed, 5 questions (a check)")
    p.add_argument("--work", default="study-work")
    p.add_argument("--out", default="study-out")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--phases", default="sweep,findings")
    p.add_argument("--deadline", type=float, default=540.0, help="seconds from start: workers stopped")
    p.add_argument("--reserve", type=float, default=75.0, help="no run starts in the last N seconds")
    a = p.parse_args(argv)
    a.work = Path(a.work).resolve()
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    t_start = time.time()
    deadline = t_start + a.deadline
    stop_at = deadline - a.reserve
    phases = a.phases.split(",")
    state = Path(a.work) / "best.json"
    extra: dict[str, Any] = {"phases": phases}
    try:
        if "sweep" in phases:
            run_jobs(a, sweep_jobs(a), stop_at, deadline)
            best = choose(collect(a))
            if best:
                state.write_text(json.dumps(best, indent=1))
            log(f"best: {best}")
        if "findings" in phases:
            best = json.loads(state.read_text()) if state.is_file() else {}
            if not best:
                log("no sweep result to build on: findings skipped")
            elif time.time() < stop_at:
                run_jobs(a, finding_jobs(best, a), stop_at, deadline)
        extra["best"] = json.loads(state.read_text()) if state.is_file() else None
    finally:
        extra["seconds"] = time.time() - t_start
        write_outputs(a, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
