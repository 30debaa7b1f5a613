"""``ccpapers bench report``: one table (markdown + CSV) and PNG plots over many runs.

Plots: score vs texts per fact, score vs irrelevant texts (both with 95 % CI error bars,
one line per method), and a heatmap of two hyperparameters against mean gain.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from ccpapers.errors import InputError

COLUMNS = [
    "run",
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
    "n_texts",
    "n_questions",
    "seeds",
    "base_score",
    "score",
    "score_ci_low",
    "score_ci_high",
    "gain",
    "gain_ci_low",
    "gain_ci_high",
    "base_mmlu",
    "mmlu",
    "mmlu_gain",
    "tokens_per_second",
    "mfu",
    "objective_value",
    "tiny",
]
HEATMAP_PAIRS = [
    ("lr", "lora_r"),
    ("lr", "epochs"),
    ("lora_r", "lora_alpha"),
    ("lora_preset", "lr"),
    ("lr", "texts_per_fact_used"),
]


def collect_runs(runs_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(Path(runs_dir).rglob("summary.json")):
        if "report" in path.relative_to(runs_dir).parts[:1]:
            continue
        s = json.loads(path.read_text(encoding="utf-8"))
        row = {k: s.get(k) for k in COLUMNS if not isinstance(s.get(k), dict)}
        row["run"] = str(path.parent.relative_to(runs_dir))
        row["seeds"] = len(s.get("seeds") or [])
        for key in ("score", "gain", "mmlu", "mmlu_gain"):
            v = s.get(key)
            if isinstance(v, dict):
                row[key] = v["mean"]
                if key in ("score", "gain"):
                    row[f"{key}_ci_low"], row[f"{key}_ci_high"] = v["ci_low"], v["ci_high"]
        rows.append(row)
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)


def _line_plot(rows: list[dict[str, Any]], x: str, xlabel: str, path: Path, logx: bool = False) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    groups: dict[str, dict[float, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.get(x) is not None and r.get("score") is not None:
            groups[f"{r['method']} ({r['model']})"][float(r[x])].append(r)
    for label, pts in sorted(groups.items()):
        xs = sorted(pts)
        ys = [sum(p["score"] for p in pts[v]) / len(pts[v]) for v in xs]
        lo = [ys[i] - min(p.get("score_ci_low", p["score"]) for p in pts[v]) for i, v in enumerate(xs)]
        hi = [max(p.get("score_ci_high", p["score"]) for p in pts[v]) - ys[i] for i, v in enumerate(xs)]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
        base = [p["base_score"] for v in xs for p in pts[v] if p.get("base_score") is not None]
        if base:
            ax.axhline(sum(base) / len(base), linestyle=":", color="grey")
    if logx and any(float(r.get(x) or 0) > 0 for r in rows):
        ax.set_xscale("symlog", linthresh=1)
    ax.margins(x=0.08)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score (mean; bars: 95% CI over seeds/runs;\ndotted: base model)", fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no runs", ha="center", transform=ax.transAxes)
    if any(r.get("tiny") for r in rows):
        ax.set_title("TINY random model: numbers mean nothing", color="red", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _heatmap(rows: list[dict[str, Any]], path: Path) -> tuple[Path, tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def varied(k: str) -> int:
        return len({r.get(k) for r in rows if r.get(k) is not None})

    pair = max(HEATMAP_PAIRS, key=lambda p: (min(varied(p[0]), varied(p[1])), varied(p[0]) * varied(p[1])))
    xk, yk = pair
    xs = sorted({r.get(xk) for r in rows if r.get(xk) is not None}, key=str if xk == "lora_preset" else float)
    ys = sorted({r.get(yk) for r in rows if r.get(yk) is not None}, key=str if yk == "lora_preset" else float)
    cells: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        if r.get("gain") is not None and r.get(xk) is not None and r.get(yk) is not None:
            cells[(r[xk], r[yk])].append(r["gain"])
    grid = [
        [(sum(cells[(x, y)]) / len(cells[(x, y)])) if cells.get((x, y)) else float("nan") for x in xs]
        for y in ys
    ]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    im = ax.imshow(grid or [[float("nan")]], cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(len(xs)), [_fmt(x) for x in xs], rotation=45, fontsize=8)
    ax.set_yticks(range(len(ys)), [_fmt(y) for y in ys], fontsize=8)
    for j, row in enumerate(grid):
        for i, v in enumerate(row):
            if not math.isnan(v):
                ax.text(i, j, f"{v:+.2f}", ha="center", va="center", color="white", fontsize=7)
    ax.set_xlabel(xk)
    ax.set_ylabel(yk)
    fig.colorbar(im, ax=ax, label="mean gain over base")
    ax.set_title(
        "gain by hyperparameters"
        + (" (TINY model: meaningless)" if any(r.get("tiny") for r in rows) else ""),
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path, pair


def write_report(runs_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Write ``report.md``, ``runs.csv`` and three PNG plots; returns their paths."""
    runs_dir, out = Path(runs_dir), Path(out_dir)
    if not runs_dir.is_dir():
        raise InputError(f"{runs_dir} does not exist; run `ccpapers bench` first or pass --work")
    out.mkdir(parents=True, exist_ok=True)
    rows = collect_runs(runs_dir)
    from ccpapers.io import atomic_write

    with atomic_write(out / "runs.csv") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    plots = [
        _line_plot(
            rows,
            "texts_per_fact_used",
            "texts per fact (document variants used)",
            out / "score_vs_texts_per_fact.png",
        ),
        _line_plot(
            rows, "n_irrelevant", "irrelevant texts mixed in", out / "score_vs_irrelevant.png", logx=True
        ),
    ]
    heat, pair = _heatmap(rows, out / "heatmap_hyperparameters.png")
    plots.append(heat)
    shown = [
        "run",
        "method",
        "model",
        "lora_preset",
        "lora_r",
        "lr",
        "epochs",
        "texts_per_fact_used",
        "n_irrelevant",
        "base_score",
        "score",
        "gain",
        "gain_ci_low",
        "gain_ci_high",
        "mmlu_gain",
        "tokens_per_second",
    ]
    lines = ["# ccpapers bench report", ""]
    if any(r.get("tiny") for r in rows):
        lines += [
            "> **WARNING: some runs use the TINY random-initialised model. Their scores, gains and speeds mean "
            "NOTHING; they only show that the pipeline runs.**",
            "",
        ]
    lines += [
        f"{len(rows)} runs from `{runs_dir}`. Score = mean over test questions (keywords share, ROUGE-2 F "
        "stemmed, or MCQ accuracy); gain = score - base model's score on the same questions; "
        "CI = 95 % t-interval over seeds.",
        "",
        "| " + " | ".join(shown) + " |",
        "|" + "---|" * len(shown),
    ]
    for r in sorted(rows, key=lambda r: -(r.get("gain") or -1e9)):
        lines.append("| " + " | ".join(_fmt(r.get(k)) for k in shown) + " |")
    lines += [
        "",
        "## Plots",
        "",
        "![score vs texts per fact](score_vs_texts_per_fact.png)",
        "",
        "![score vs irrelevant texts](score_vs_irrelevant.png)",
        "",
        f"![heatmap {pair[0]} x {pair[1]}](heatmap_hyperparameters.png)",
        "",
    ]
    with atomic_write(out / "report.md") as fh:
        fh.write("\n".join(lines))
    return {
        "markdown": str(out / "report.md"),
        "csv": str(out / "runs.csv"),
        "plots": [str(p) for p in plots],
        "runs": len(rows),
    }
