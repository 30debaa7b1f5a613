#!/usr/bin/env python3
"""Tables (markdown) and plots (PNG) of ``scripts/real_study.py``'s ``study.json`` files.

    python scripts/real_study_report.py STUDY.json [MORE.json ...] --out docs/results
Later files win for a run present in several (a run continued in a second call).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def load(paths: list[str]) -> tuple[dict[str, dict], dict[str, Any]]:
    runs: dict[str, dict] = {}
    meta: dict[str, Any] = {}
    for p in paths:
        data = json.loads(Path(p).read_text())
        meta = {k: v for k, v in data.items() if k != "runs"} | {"device": data.get("device")}
        for r in data["runs"]:
            runs[f"{r['group']}/{r['name']}"] = r
    return runs, meta


def rescore(runs: Path) -> dict[str, dict]:
    """Score every recorded continuation again under today's default stop rules (the keyword
    scorer is a pure function of the answer text): run -> mean and 95 % CI over seeds."""
    from ccpapers.bench.config import BenchConfig
    from ccpapers.bench.evaluation import mean_ci, scorer
    from ccpapers.bench.generation import clean_answer
    from ccpapers.bench.inputs import load_suite

    kw = scorer("keywords")
    keys = {q.id: q.keywords for q in load_suite(BenchConfig()).questions}
    now = BenchConfig()
    out = {}
    for d in sorted(runs.glob("*/*")):
        per_seed: dict[int, list[float]] = {}
        for line in (d / "results.jsonl").read_text().splitlines():
            e = json.loads(line)
            if e["event"] == "prediction":
                raw = e.get("uncut") or e["prediction"]
                per_seed.setdefault(e["seed"], []).append(kw(clean_answer(raw, now), keys[e["id"]]))
        if per_seed:
            out[f"{d.parent.name}/{d.name}"] = mean_ci([sum(v) / len(v) for v in per_seed.values()])
    return out


def ci(s: dict) -> str:
    return f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"


RESCORED: dict[str, dict] = {}


def row(r: dict, label: str) -> str:
    seeds = r["seeds"]
    now = RESCORED.get(f"{r['group']}/{r['name']}")
    steps = sum(s["steps"] or 0 for s in seeds) / len(seeds)
    tps = sum(s["tokens_per_step"] or 0 for s in seeds) / len(seeds)
    loss = sum(s["final_loss"] or 0 for s in seeds) / len(seeds)
    prec = seeds[0].get("precision") or {}
    return (
        f"| {label} | {ci(r['score'])} | {r['score_uncut']['mean']:.3f} | "
        f"{(format(now['mean'], '.3f') if now else '-')} | {len(seeds)} | {seeds[0]['n_texts']} "
        f"| {steps:.0f} | {tps:.0f} | {loss:.3f} | {prec.get('weights', '')}/{prec.get('optimizer', '')} |"
    )


HEAD = (
    "| run | score, mean [95 % CI] | uncut | + new-turn stop | seeds | texts | optimizer steps | tokens/step "
    "| final loss | weights/optimizer |\n|---|---|---|---|---|---|---|---|---|---|"
)


def table(runs: dict[str, dict], items: list[tuple[str, str]]) -> str:
    lines = [HEAD]
    for key, label in items:
        if key in runs:
            lines.append(row(runs[key], label))
        else:
            lines.append(f"| {label} | not run | | | | | | | | |")
    return "\n".join(lines)


def plot_curve(
    path: Path,
    series: list[tuple[str, list[tuple[float, dict]]]],
    xlabel: str,
    title: str,
    logx: bool = False,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, pts in series:
        pts = [(x, s) for x, s in pts if s is not None]
        if not pts:
            continue
        xs = [x for x, _ in pts]
        ys = [s["mean"] for _, s in pts]
        lo = [s["mean"] - s["ci_low"] for _, s in pts]
        hi = [s["ci_high"] - s["mean"] for _, s in pts]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
    ax.set_xlabel(xlabel)
    if logx:
        ax.set_xscale("log")
    ax.set_ylabel("keyword score (50 questions)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("studies", nargs="+")
    p.add_argument("--out", default="docs/results")
    p.add_argument(
        "--runs", default=None, help="the runs folder of runs.tar.gz: rescore the recorded uncut answers"
    )
    a = p.parse_args(argv)
    if a.runs:
        RESCORED.update(rescore(Path(a.runs)))
        (Path(a.out) / "rescored.json").parent.mkdir(parents=True, exist_ok=True)
        (Path(a.out) / "rescored.json").write_text(json.dumps(RESCORED, indent=1))
    runs, meta = load(a.studies)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    best = meta.get("best") or {}
    m, lr = best.get("method", "full"), best.get("lr")
    tag = f"{m}-lr{lr:g}" if lr else m

    def s(key: str) -> dict | None:
        return runs[key]["score"] if key in runs else None

    md = [f"device: {meta.get('device')}; best: {json.dumps(best)}\n"]
    sweep = [
        (f"sweep/{meth}-lr{x:g}-t{t}", f"{meth} lr {x:g}, {t} text/fact")
        for meth, lrs in (("full", (3e-5, 1e-4, 3e-4)), ("lora", (3e-4, 1e-3, 3e-3)))
        for x in lrs
        for t in (1, 10)
    ]
    md += ["## sweep", table(runs, sweep), ""]
    en = [(1, f"sweep/{tag}-t1")] + [(t, f"texts/en-t{t}") for t in (2, 3, 5)]
    tr = [(1, f"sweep/{tag}-t1")] + [(t, f"texts/tr-t{t}") for t in (2, 3, 5)] + [(10, f"sweep/{tag}-t10")]
    md += ["## texts per fact (English only)", table(runs, [(k, f"{t}") for t, k in en]), ""]
    md += ["## texts per fact (with translations)", table(runs, [(k, f"{t}") for t, k in tr]), ""]
    plot_curve(
        out / "texts_per_fact.png",
        [("English variants", [(t, s(k)) for t, k in en]), ("with translations", [(t, s(k)) for t, k in tr])],
        "texts per fact",
        f"SmolLM2-135M, {tag}, 10 epochs, one text per step",
    )
    irr = [(0, f"sweep/{tag}-t10")] + [(n, f"irrelevant/t10-i{n}") for n in (10, 100)]
    md += [
        "## irrelevant texts (10 texts per fact)",
        table(runs, [(k, f"{n} irrelevant") for n, k in irr]),
        "",
    ]
    plot_curve(
        out / "irrelevant.png",
        [("10 texts per fact", [(n, s(k)) for n, k in irr])],
        "irrelevant texts added (real CC BY paragraphs)",
        f"SmolLM2-135M, {tag}",
    )
    lora = best.get("lora") or {}
    ltag = f"lora-lr{lora.get('lr', 1e-3):g}"
    presets = [(f"sweep/{ltag}-t10", "partial (v,o,gate,up; tied lm_head skipped)")] + [
        (f"presets/{p}-t10", p) for p in ("partial-untie", "attention", "all")
    ]
    md += ["## LoRA presets (10 texts per fact)", table(runs, presets), ""]
    other = [
        ("schedule/packed-t10", "packed 4096-token rows, 10 texts/fact"),
        ("schedule/packed-t1", "packed 4096-token rows, 1 text/fact"),
        ("epochs/e20-t10", "20 epochs, 10 texts/fact"),
        ("epochs/e20-t1", "20 epochs, 1 text/fact"),
    ]
    md += ["## schedule and epochs (best setting)", table(runs, other), ""]
    lrs = {
        meth: [(x, s(f"sweep/{meth}-lr{x:g}-t10")) for x in xs]
        for meth, xs in (("full", (3e-5, 1e-4, 3e-4)), ("lora", (3e-4, 1e-3, 3e-3)))
    }
    plot_curve(
        out / "learning_rate.png",
        [(f"{k}, 10 texts/fact", v) for k, v in lrs.items()],
        "learning rate",
        "SmolLM2-135M, 10 epochs, one text per step",
        logx=True,
    )
    (out / "tables.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
