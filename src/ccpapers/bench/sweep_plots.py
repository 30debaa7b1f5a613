"""Plots of a sweep: Optuna's own slice, contour and parameter-importance plots, and a heatmap
of the objective over the two most important parameters with continuous values binned.

The study is read from its SQLite file (``WORK/bench/sweeps/<study>.db``, the default
storage) when there is one; otherwise it is rebuilt in memory from the trial folders
(parameters from ``config.resolved.yaml``, value from ``summary.json``), so a study kept in
PostgreSQL reports too.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import yaml

from ccpapers.bench.report_plots import TINY_TITLE, _plt, fmt

MAX_BINS = 5


def load_study(study_dir: Path) -> Any | None:
    """The study of ``WORK/bench/sweeps/<name>/`` or None when it has no complete trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = study_dir.parent / f"{study_dir.name}.db"
    if db.is_file():
        try:
            study = optuna.load_study(study_name=study_dir.name, storage=f"sqlite:///{db.resolve()}")
            if any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
                return study
        except (KeyError, ValueError):
            pass
    return _rebuild(study_dir)


def _rebuild(study_dir: Path) -> Any | None:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    trials = []
    for d in sorted(study_dir.glob("trial-*")):
        try:
            s = json.loads((d / "summary.json").read_text(encoding="utf-8"))
            cfg = yaml.safe_load((d / "config.resolved.yaml").read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            continue
        trials.append((cfg, s["objective_value"]))
    if len(trials) < 2:
        return None
    keys = [k for k in trials[0][0] if k not in ("run_name", "ccpapers_version", "command")]
    params = [k for k in keys if len({json.dumps(c.get(k), default=str) for c, _ in trials}) > 1]
    dists: dict[str, Any] = {}
    for k in params:
        vals = [c.get(k) for c, _ in trials]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            dists[k] = IntDistribution(min(vals), max(vals))
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            lo, hi = float(min(vals)), float(max(vals))
            dists[k] = FloatDistribution(lo, hi, log=lo > 0 and hi / lo >= 20)
        else:
            dists[k] = CategoricalDistribution(sorted({json.dumps(v, default=str) for v in vals}))
    study = optuna.create_study(study_name=study_dir.name, direction="maximize")
    for cfg, value in trials:
        p = {
            k: (
                json.dumps(cfg.get(k), default=str)
                if isinstance(dists[k], CategoricalDistribution)
                else cfg.get(k)
            )
            for k in params
        }
        study.add_trial(optuna.trial.create_trial(params=p, distributions=dists, value=float(value)))
    return study


def _save(ax: Any, path: Path, title: str, tiny: bool) -> Path:
    import numpy as np

    plt = _plt()
    first = np.atleast_1d(ax).flat[0]
    fig = first.figure
    fig.suptitle(title + (f" ({TINY_TITLE})" if tiny else ""), fontsize=9, color="red" if tiny else "black")
    fig.savefig(path, dpi=100, bbox_inches="tight")  # Optuna lays out its own figures (colour bars)
    plt.close(fig)
    return path


def _bins(values: list[Any], log: bool) -> tuple[list[str], list[int]]:
    """Bin labels and each value's bin: every value its own bin when there are few (or they are
    not numbers), else ``MAX_BINS`` equal-width bins (in log space for log-scaled parameters)."""
    distinct = sorted({v for v in values}, key=lambda v: (str(type(v)), v))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric or len(distinct) <= MAX_BINS:
        return [fmt(v) for v in distinct], [distinct.index(v) for v in values]
    tr = (lambda v: math.log10(v)) if log and min(values) > 0 else (lambda v: float(v))
    lo, hi = tr(min(values)), tr(max(values))
    width = (hi - lo) / MAX_BINS
    edges = [lo + i * width for i in range(MAX_BINS + 1)]
    back = (lambda e: 10**e) if log and min(values) > 0 else (lambda e: e)
    labels = [f"{fmt(back(edges[i]))}-{fmt(back(edges[i + 1]))}" for i in range(MAX_BINS)]
    return labels, [min(MAX_BINS - 1, int((tr(v) - lo) / width)) if width else 0 for v in values]


def heatmap(study: Any, pair: tuple[str, str], path: Path, tiny: bool) -> Path:
    """Mean objective per cell of two parameters (binned), with the trial count in each cell."""
    plt = _plt()
    trials = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state.name == "COMPLETE" and set(pair) <= set(t.params)
    ]
    axes = []
    for k in pair:
        dist = trials[0].distributions[k]
        axes.append(_bins([t.params[k] for t in trials], bool(getattr(dist, "log", False))))
    (xl, xi), (yl, yi) = axes
    cells: dict[tuple[int, int], list[float]] = {}
    for t, i, j in zip(trials, xi, yi, strict=True):
        cells.setdefault((i, j), []).append(t.value)
    grid = [
        [sum(cells[(i, j)]) / len(cells[(i, j)]) if (i, j) in cells else float("nan") for i in range(len(xl))]
        for j in range(len(yl))
    ]
    with plt.style.context("default"):  # Optuna's plots switch matplotlib to ggplot
        fig, ax = plt.subplots(figsize=(6.5, 4.8))
    im = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
    ax.grid(False)
    ax.set_xticks(range(len(xl)), xl, rotation=30, fontsize=7, ha="right")
    ax.set_yticks(range(len(yl)), yl, fontsize=7)
    for (i, j), vals in cells.items():
        ax.text(
            i,
            j,
            f"{sum(vals) / len(vals):.3g}\nn={len(vals)}",
            ha="center",
            va="center",
            color="white",
            fontsize=7,
        )
    ax.set_xlabel(pair[0])
    ax.set_ylabel(pair[1])
    fig.colorbar(im, ax=ax, label="mean objective (n = trials in the cell)")
    title = f"{study.study_name}: objective by {pair[0]} x {pair[1]}" + (f"\n{TINY_TITLE}" if tiny else "")
    ax.set_title(title, fontsize=9, color="red" if tiny else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sweep_plots(study_dir: Path, out: Path, tiny: bool = False) -> tuple[list[Path], list[str]]:
    """Optuna's slice, contour and importance plots and the binned heatmap of one study;
    returns the plots and a note for each one not drawn (and why)."""
    import optuna
    from optuna.visualization import matplotlib as ovm

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    name = study_dir.name
    study = load_study(study_dir)
    if study is None:
        return [], [f"sweep {name}: fewer than 2 complete trials, no plots"]
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    params = sorted({p for t in complete for p in t.params})
    plots: list[Path] = []
    notes: list[str] = []
    plots.append(
        _save(
            ovm.plot_slice(study), out / f"sweep_{name}_slice.png", f"{name}: objective per parameter", tiny
        )
    )
    values = {t.value for t in complete}
    if len(values) == 1:  # nothing to attribute: importances of a constant are noise
        notes.append(
            f"sweep {name}: the objective is {next(iter(values)):.4g} in every complete trial; "
            "no importances, contour or heatmap"
        )
        return plots, notes
    ranked = params
    if len(params) >= 2 and len(complete) >= 3:
        try:
            imp = optuna.importance.get_param_importances(study)
            ranked = list(imp)
            ax = ovm.plot_param_importances(study)
            plots.append(
                _save(
                    ax, out / f"sweep_{name}_importances.png", f"{name}: parameter importances (fANOVA)", tiny
                )
            )
        except (RuntimeError, ValueError) as exc:
            notes.append(f"sweep {name}: importances not computed ({exc})")
    else:
        notes.append(f"sweep {name}: importances need 2+ parameters and 3+ complete trials")
    if len(ranked) >= 2:
        pair = (ranked[0], ranked[1])
        try:
            import scipy  # noqa: F401 - Optuna's contour interpolates with scipy

            ax = ovm.plot_contour(study, params=list(pair))
            plots.append(_save(ax, out / f"sweep_{name}_contour.png", f"{name}: objective contour", tiny))
        except ImportError:
            notes.append(f"sweep {name}: contour plot needs scipy (pip install scipy)")
        plots.append(heatmap(study, pair, out / f"sweep_{name}_heatmap.png", tiny))
    else:
        notes.append(f"sweep {name}: contour and heatmap need 2+ varied parameters")
    return plots, notes
