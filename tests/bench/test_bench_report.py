"""Issue 15: report plots grouped by what varies (with intervals, no single-dot plots), sweep
plots from Optuna, damaged summaries. Run folders are synthetic (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from ccpapers.bench.report import collect_runs, write_report  # noqa: E402
from tests.bench.report_data import write_run, write_sweep  # noqa: E402


def _is_png(p: str | Path) -> bool:
    data = Path(p).read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_one_run_gets_no_single_dot_plots(tmp_path):
    write_run(tmp_path / "bench", "single")
    res = write_report(tmp_path / "bench", tmp_path / "out")
    names = sorted(Path(p).name for p in res["plots"])
    assert names == ["gain_by_run.png", "loss_curves.png"]  # both meaningful with one run
    assert all(_is_png(p) for p in res["plots"])
    assert any("all runs share texts_per_fact_used=1" in s for s in res["skipped"])
    md = Path(res["markdown"]).read_text()
    assert "Not drawn" in md and "paired bootstrap over 50 questions" in md


def test_runs_are_grouped_by_the_parameters_that_vary(tmp_path, monkeypatch):
    from ccpapers.bench import report_plots

    runs = tmp_path / "bench"
    for tpf in (1, 3, 5):
        for lr in (1e-3, 1e-4):
            write_run(runs, f"tpf{tpf}-lr{lr}", texts_per_fact_used=tpf, lr=lr)
    rows, _, _ = collect_runs(runs)
    assert report_plots.varying(rows) == ["lr", "texts_per_fact_used"]
    assert all(r["score_ci_low"] < r["score"] < r["score_ci_high"] for r in rows)  # each run's interval
    seen = {}
    real_finish = report_plots._finish

    def capture(fig, ax, rows_, path, title):
        seen[Path(path).name] = {
            "labels": [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else [],
            "errorbars": len(ax.containers),
        }
        return real_finish(fig, ax, rows_, path, title)

    monkeypatch.setattr(report_plots, "_finish", capture)
    res = write_report(runs, tmp_path / "out")
    tpf = seen["score_vs_texts_per_fact_used.png"]
    assert (
        tpf["labels"] == ["lr=0.0001", "lr=0.001"] and tpf["errorbars"] == 2
    )  # one line per lr, not averaged
    assert seen["score_vs_lr.png"]["labels"] == [f"texts_per_fact_used={k}" for k in (1, 3, 5)]
    assert "score_vs_lora_r.png" not in seen
    assert any(s.startswith("score vs lora_r: all runs share") for s in res["skipped"])


def test_sweep_report_uses_optuna_plots_and_bins_the_heatmap(tmp_path):
    pytest.importorskip("optuna")
    runs = tmp_path / "bench"
    write_sweep(runs, n=12)
    res = write_report(runs, tmp_path / "out")
    names = {Path(p).name for p in res["plots"]}
    for kind in ("slice", "importances", "contour", "heatmap"):
        assert f"sweep_unit-sweep_{kind}.png" in names, kind
    assert all(_is_png(p) for p in res["plots"])
    from ccpapers.bench.sweep_plots import MAX_BINS, _bins

    lrs = [1e-5 * 1.7**i for i in range(12)]  # twelve sampled learning rates
    labels, idx = _bins(lrs, log=True)
    assert len(labels) == MAX_BINS and set(idx) <= set(range(MAX_BINS)) and idx == sorted(idx)
    assert _bins([4, 8, 16, 8], log=False) == (["4", "8", "16"], [0, 1, 2, 1])  # few values: one bin each
    md = Path(res["markdown"]).read_text()
    assert "## Sweep `unit-sweep` (12 finished trials; best 10)" in md


def test_sweep_without_its_database_is_rebuilt_from_trial_folders(tmp_path):
    pytest.importorskip("optuna")
    runs = tmp_path / "bench"
    write_sweep(runs, n=6)
    (runs / "sweeps" / "unit-sweep.db").unlink()  # e.g. the study lives in PostgreSQL
    from ccpapers.bench.sweep_plots import load_study

    study = load_study(runs / "sweeps" / "unit-sweep")
    assert len(study.trials) == 6 and set(study.trials[0].params) == {"lr", "lora_r"}


def test_damaged_summary_is_recomputed_or_named(tmp_path, capsys):
    runs = tmp_path / "bench"
    good = write_run(runs, "good")
    write_run(runs, "lost")
    (good / "summary.json").write_text('{"score": {"mean": 0.4')  # cut mid-write
    (runs / "lost" / "summary.json").write_text("garbage")
    (runs / "lost" / "results.jsonl").write_text('{"event": "config"}\n')
    res = write_report(runs, tmp_path / "out")
    assert res["runs"] == 1
    assert json.loads((good / "summary.json").read_text())["score"]["mean"] > 0  # rewritten
    assert (good / "summary.json.corrupt").is_file()
    err = capsys.readouterr().err
    assert "recomputed from results.jsonl" in err
    assert f"{runs / 'lost' / 'summary.json'}: unreadable" in err and "ccpapers bench --config" in err


def test_sweep_with_a_constant_objective_gets_no_importances(tmp_path):
    optuna = pytest.importorskip("optuna")
    from ccpapers.bench.sweep_plots import sweep_plots

    db = tmp_path / "sweeps" / "flat.db"
    db.parent.mkdir(parents=True)
    study = optuna.create_study(study_name="flat", storage=f"sqlite:///{db}", direction="maximize")
    for _ in range(4):
        t = study.ask()
        t.suggest_float("lr", 1e-4, 1e-2, log=True)
        t.suggest_categorical("lora_r", [4, 8])
        study.tell(t, 0.0)
    plots, notes = sweep_plots(tmp_path / "sweeps" / "flat", tmp_path)
    assert [p.name for p in plots] == ["sweep_flat_slice.png"]
    assert "the objective is 0 in every complete trial" in notes[0]
