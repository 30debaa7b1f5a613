"""Plots of ``ccpapers bench report`` (matplotlib, PNG).

Runs are grouped by the parameters that vary among them: a line per combination of the
others, never an average over runs with different settings. Every point carries its run's
interval (t over seeds, or the paired bootstrap over questions with fewer than 3 seeds). A plot
against a parameter is drawn only when some line has two or more values of it, so one run
gives no single dot on a meaningless axis: it gets the per-run gain plot and its loss curve.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

# study parameters a report groups by (in this order in labels)
GROUP_KEYS = [
    "suite",
    "model",
    "method",
    "lora_preset",
    "lora_r",
    "lora_alpha",
    "lr",
    "epochs",
    "quant",
    "texts_per_fact_used",
    "n_irrelevant",
]
X_AXES = {
    "texts_per_fact_used": ("texts per fact (document variants used)", False),
    "n_irrelevant": ("irrelevant texts mixed in", True),
    "lr": ("learning rate", True),
    "lora_r": ("LoRA rank", True),
    "epochs": ("epochs", False),
}
TINY_TITLE = "TINY random model: numbers mean nothing"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use("default")  # Optuna's plots leave matplotlib in its ggplot style
    return plt


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.3g}"
    return "" if v is None else str(v)


def varying(rows: list[dict[str, Any]], keys: list[str] = GROUP_KEYS) -> list[str]:
    return [k for k in keys if len({fmt(r.get(k)) for r in rows}) > 1]


def label(row: dict[str, Any], keys: list[str]) -> str:
    return " ".join(f"{k}={fmt(row.get(k))}" for k in keys) or "all runs"


def _finish(fig: Any, ax: Any, rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    tiny = any(r.get("tiny") for r in rows)
    ax.set_title(title + (f"\n{TINY_TITLE}" if tiny else ""), fontsize=9, color="red" if tiny else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def gain_by_run(rows: list[dict[str, Any]], path: Path, limit: int = 40) -> Path:
    """Each run's gain over its base model with its interval (a forest plot), best first."""
    plt = _plt()
    keys = varying(rows) or ["run"]
    shown = sorted(rows, key=lambda r: -(r.get("gain") if r.get("gain") == r.get("gain") else -9))[:limit]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.35 * len(shown)))
    for i, r in enumerate(shown):
        lo, hi = r.get("gain_ci_low"), r.get("gain_ci_high")
        g = r.get("gain")
        if lo is not None and hi is not None and lo == lo:
            ax.errorbar([g], [i], xerr=[[g - lo], [hi - g]], fmt="o", color="C0", capsize=3)
        else:
            ax.plot([g], [i], "o", color="C0")
    ax.axvline(0, color="grey", linestyle=":")
    ax.set_yticks(
        range(len(shown)), [label(r, keys) if keys != ["run"] else r["run"] for r in shown], fontsize=7
    )
    ax.invert_yaxis()
    kinds = sorted({r.get("interval") or "none" for r in shown})
    ax.set_xlabel("gain over the base model (bars: " + "; ".join(kinds) + ")", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _finish(fig, ax, shown, path, "gain per run")


def loss_curves(rows: list[dict[str, Any]], runs_dir: Path, path: Path, limit: int = 12) -> Path | None:
    """Training loss per optimizer step of each run (every seed), from results.jsonl."""
    plt = _plt()
    keys = varying(rows)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    drawn = 0
    for r in rows[:limit]:
        log = runs_dir / r["run"] / "results.jsonl"
        curves: dict[int, list[tuple[int, float]]] = defaultdict(list)
        if log.is_file():
            for line in log.read_text(encoding="utf-8").splitlines():
                try:
                    e = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash
                if e.get("event") == "loss":
                    curves[e.get("seed", 0)].append((e["step"], e["loss"]))
        for seed, pts in sorted(curves.items()):
            xs, ys = zip(*pts, strict=True)
            name = (label(r, keys) if keys else r["run"]) + (f" seed {seed}" if len(curves) > 1 else "")
            ax.plot(xs, ys, label=name, linewidth=1)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _finish(fig, ax, rows, path, "training loss")


def score_vs(rows: list[dict[str, Any]], x: str, path: Path) -> Path | None:
    """Score against ``x``, one line per combination of the other varying parameters; None
    when no line has two values of ``x`` (nothing to compare)."""
    plt = _plt()
    others = [k for k in varying(rows) if k != x]
    series: dict[str, dict[float, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.get(x) is not None and r.get("score") is not None:
            series[label(r, others)][float(r[x])].append(r)
    if not any(len(pts) >= 2 for pts in series.values()):
        return None
    xlabel, logx = X_AXES[x]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (name, pts) in enumerate(sorted(series.items())):
        xs = sorted(pts)
        ys, lo, hi = [], [], []
        for v in xs:
            group = pts[v]  # identical settings (e.g. the same config under two run names)
            m = sum(p["score"] for p in group) / len(group)
            ys.append(m)
            lows = [p.get("score_ci_low") for p in group if p.get("score_ci_low") == p.get("score_ci_low")]
            highs = [
                p.get("score_ci_high") for p in group if p.get("score_ci_high") == p.get("score_ci_high")
            ]
            lo.append(m - min(lows) if lows and None not in lows else 0.0)
            hi.append(max(highs) - m if highs and None not in highs else 0.0)
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=name, color=f"C{i % 10}")
        base = [p["base_score"] for v in xs for p in pts[v] if p.get("base_score") is not None]
        if base:
            ax.axhline(sum(base) / len(base), linestyle=":", color=f"C{i % 10}", alpha=0.6)
    if logx and all(v > 0 for pts in series.values() for v in pts):
        ax.set_xscale("log")
    elif logx:
        ax.set_xscale("symlog", linthresh=1)
    ax.margins(x=0.08)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score (bars: each run's interval; dotted: base model)", fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _finish(fig, ax, rows, path, f"score vs {xlabel}")
