"""``ccpapers bench report``: tables (markdown + CSV) and plots over runs and sweeps.

Standalone runs: the gain of each run with its interval, the training loss curves, and score
against each study parameter that varies (one line per combination of the other varying
parameters; see :mod:`ccpapers.bench.report_plots`). Sweeps: Optuna's slice, contour and
importance plots and a binned heatmap (:mod:`ccpapers.bench.sweep_plots`). A damaged
``summary.json`` is recomputed from the run's ``results.jsonl``, else named and left out.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from ccpapers.bench.report_plots import GROUP_KEYS
from ccpapers.errors import InputError

COLUMNS = [
    "run",
    *GROUP_KEYS,
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
SHOWN = [
    "run",
    "method",
    "model",
    "lora_preset",
    "lora_r",
    "lr",
    "epochs",
    "texts_per_fact_used",
    "n_irrelevant",
    "seeds",
    "base_score",
    "score",
    "gain",
    "gain_ci_low",
    "gain_ci_high",
    "interval",
    "mmlu_gain",
    "tokens_per_second",
]


def read_summary(path: Path) -> tuple[dict[str, Any] | None, str]:
    """A run's summary: summary.json, else (damaged or missing) the last ``summary`` event of
    its results.jsonl; (None, why) when neither holds one."""
    try:
        s = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(s, dict) and "score" in s and "gain" in s:
            return s, ""
        problem = "not a run summary"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"unreadable ({exc})"
    log = path.parent / "results.jsonl"
    found = None
    if log.is_file():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            if e.get("event") == "summary":
                found = {k: v for k, v in e.items() if k not in ("event", "time")}
    if found is not None:
        from ccpapers.io import write_json

        aside = path.with_name(path.name + ".corrupt")
        if path.is_file():
            path.replace(aside)
        write_json(path, found)
        return (
            found,
            f"{path}: {problem}; recomputed from {log.name} (the damaged file is kept as {aside.name})",
        )
    return None, (
        f"{path}: {problem} and {log.name} holds no summary; left out. Re-run the run with "
        f"`ccpapers bench --config {path.parent / 'config.resolved.yaml'}` (finished seeds are kept) to rewrite it"
    )


def _row(s: dict[str, Any], run: str) -> dict[str, Any]:
    row = {k: s.get(k) for k in COLUMNS if not isinstance(s.get(k), dict)}
    row["run"] = run
    row["seeds"] = len(s.get("seeds") or [])
    for key in ("score", "gain", "mmlu", "mmlu_gain"):
        v = s.get(key)
        if isinstance(v, dict):
            row[key] = v["mean"]
            if key in ("score", "gain"):
                row[f"{key}_ci_low"], row[f"{key}_ci_high"] = v.get("ci_low"), v.get("ci_high")
    for key, iv in (s.get("intervals") or {}).items():  # the interval the run shows
        if key in ("score", "gain"):
            row[f"{key}_ci_low"], row[f"{key}_ci_high"] = iv["low"], iv["high"]
            if key == "gain":
                row["interval"] = iv["label"]
    row.setdefault("interval", f"95% t over {row['seeds']} seeds" if row["seeds"] > 1 else "none")
    return row


def collect_runs(runs_dir: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], list[str]]:
    """(standalone runs, sweep trials by study, notes on damaged files)."""
    runs: list[dict[str, Any]] = []
    sweeps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    notes: list[str] = []
    for path in sorted(Path(runs_dir).rglob("summary.json")):
        parts = path.relative_to(runs_dir).parts
        if parts[:1] == ("report",):
            continue
        s, note = read_summary(path)
        if note:
            notes.append(note)
        if s is None:
            continue
        row = _row(s, str(path.parent.relative_to(runs_dir)))
        if parts[0] == "sweeps" and len(parts) >= 3:
            sweeps[parts[1]].append(row)
        else:
            runs.append(row)
    return runs, dict(sweeps), notes


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)


def _table(rows: list[dict[str, Any]], cols: list[str]) -> list[str]:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in sorted(rows, key=lambda r: -(r.get("gain") if r.get("gain") == r.get("gain") else -1e9)):
        lines.append("| " + " | ".join(_fmt(r.get(k)) for k in cols) + " |")
    return lines


def write_report(runs_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Write ``report.md``, ``runs.csv`` and the plots that have something to show."""
    from ccpapers.bench import report_plots as rp

    runs_dir, out = Path(runs_dir), Path(out_dir)
    if not runs_dir.is_dir():
        raise InputError(f"{runs_dir} does not exist; run `ccpapers bench` first or pass --work")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):  # plots of an earlier report that may not apply any more
        old.unlink()
    runs, sweeps, notes = collect_runs(runs_dir)
    for note in notes:
        from ccpapers.bench import progress

        progress.say(f"!! {note}", run_line=False)
    from ccpapers.io import atomic_write

    every = runs + [r for rows in sweeps.values() for r in rows]
    with atomic_write(out / "runs.csv") as fh:
        w = csv.DictWriter(fh, fieldnames=[*COLUMNS, "interval"], extrasaction="ignore")
        w.writeheader()
        w.writerows(every)
    plots: list[Path] = []
    skipped: list[str] = []
    if runs:
        plots.append(rp.gain_by_run(runs, out / "gain_by_run.png"))
        curves = rp.loss_curves(runs, runs_dir, out / "loss_curves.png")
        if curves:
            plots.append(curves)
        for x in rp.X_AXES:
            p = rp.score_vs(runs, x, out / f"score_vs_{x}.png")
            if p:
                plots.append(p)
            elif len({_fmt(r.get(x)) for r in runs}) < 2:
                skipped.append(f"score vs {x}: all runs share {x}={_fmt(runs[0].get(x))}")
            else:
                skipped.append(f"score vs {x}: no two runs differ in {x} alone")
    for name in sorted(sweeps):
        from ccpapers.bench.sweep_plots import sweep_plots

        got, why = sweep_plots(runs_dir / "sweeps" / name, out, tiny=any(r.get("tiny") for r in sweeps[name]))
        plots += got
        skipped += why
    lines = ["# ccpapers bench report", ""]
    if any(r.get("tiny") for r in every):
        lines += [
            "> **WARNING: some runs use the TINY random-initialised model. Their scores, gains and speeds mean "
            "NOTHING; they only show that the pipeline runs.**",
            "",
        ]
    lines += [
        f"{len(runs)} runs and {len(sweeps)} sweeps from `{runs_dir}`. Score = mean over test questions "
        "(keywords share, ROUGE-2 F stemmed, or MCQ accuracy); gain = score - base model's score on the "
        "same questions; the interval of each run is the one named in its `interval` column: a 95 % "
        "t-interval over seeds with 3 or more seeds, else the 95 % paired bootstrap over questions.",
        "",
    ]
    if runs:
        lines += ["## Runs", "", *_table(runs, SHOWN), ""]
    for name, rows in sorted(sweeps.items()):
        cols = ["run", *rp.varying(rows), "score", "gain", "objective_value"]
        best = sorted(rows, key=lambda r: -(r.get("objective_value") or -1e9))[:10]
        lines += [f"## Sweep `{name}` ({len(rows)} finished trials; best 10)", "", *_table(best, cols), ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})\n" for p in plots]
    if skipped or notes:
        lines += ["## Not drawn or left out", ""] + [f"- {s}" for s in skipped + notes] + [""]
    with atomic_write(out / "report.md") as fh:
        fh.write("\n".join(lines))
    return {
        "markdown": str(out / "report.md"),
        "csv": str(out / "runs.csv"),
        "plots": [str(p) for p in plots],
        "runs": len(every),
        "skipped": skipped,
        "notes": notes,
    }
