"""Issue 15: configs checked before any work, strings kept as typed, help and errors of the
bench CLI, honest intervals and t quantiles. No model is trained here (fast)."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import pytest

from ccpapers.bench.config import BenchConfig
from ccpapers.cli import main
from ccpapers.config import ConfigError, config_from_mapping, parse_overrides

FIX = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    "override, key",
    [
        ("max_grad_norm=-1", "max_grad_norm"),
        ("texts_per_fact=-3", "texts_per_fact"),
        ("max_questions=-1", "max_questions"),
        ("warmup_ratio=2", "warmup_ratio"),
        ("gen_batch_size=-1", "gen_batch_size"),
        ("mmlu_shots=-1", "mmlu_shots"),
        ("lr=-1", "lr"),
        ("lr=nan", "lr"),
        ("lora_dropout=1.5", "lora_dropout"),
        ("max_new_tokens=0", "max_new_tokens"),
        ("prompt_template={foo}", "prompt_template"),
        ("prompt_template=no placeholder", "prompt_template"),
        ("n_irrelevant=-5", "n_irrelevant"),
        ("objective=bogus", "objective"),
        ("epochs=2.5", "epochs"),
        ("seeds=[0,0]", "seeds"),
        ("report_to=[mlflow]", "report_to"),
        ("suite=nope", "suite"),
    ],
)
def test_bad_values_are_config_errors_before_any_work(override, key, tmp_path, capsys):
    rc = main(["bench", "--tiny", override, "--work", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("ccpapers bench: ") and key in err and "Traceback" not in err
    assert not (tmp_path / "bench").exists()  # nothing was started


def test_missing_mmlu_file_and_forgetting_objective_are_config_errors(tmp_path, capsys):
    assert (
        main(["bench", "--tiny", "forgetting=true", "mmlu=nowhere/mmlu.jsonl", "--work", str(tmp_path)]) == 2
    )
    assert "mmlu='nowhere/mmlu.jsonl'" in capsys.readouterr().err
    assert main(["bench", "--tiny", "objective=forgetting_gain", "--work", str(tmp_path)]) == 2
    assert "forgetting=true" in capsys.readouterr().err


def test_dev_questions_leaving_no_test_questions_fails_before_the_model(tmp_path):
    from ccpapers.bench.runner import run_bench

    cfg = BenchConfig(
        work=tmp_path, tiny=True, suite_file=str(FIX / "fictional_mini.yaml"), dev_questions=1000
    )
    with pytest.raises(ConfigError, match="dev_questions=1000 leaves no test questions"):
        run_bench(cfg)
    assert not list((tmp_path / "bench").glob("*/summary.json"))


def test_text_overrides_stay_strings():
    got = parse_overrides(
        [
            "system_prompt=Role: tutor",
            "prompt_template=Q: {question} A:",
            "lr=1e-3",
            "seeds=[0, 1]",
            "run_name=007",
        ],
        BenchConfig,
    )
    assert got["system_prompt"] == "Role: tutor" and got["prompt_template"] == "Q: {question} A:"
    assert got["run_name"] == "007" and got["seeds"] == [0, 1]
    cfg = config_from_mapping(BenchConfig, got)
    assert cfg.lr == 1e-3
    cfg.validate()
    assert cfg.prompt_template.format(question="x") == "Q: x A:"
    with pytest.raises(ConfigError, match="system_prompt"):  # a YAML mapping is not a string
        config_from_mapping(BenchConfig, {"system_prompt": {"Role": "tutor"}})
    with pytest.raises(ConfigError, match="lora_r"):
        config_from_mapping(BenchConfig, {"lora_r": 2.5})


def _sweep(tmp_path, **kw):
    spec = {
        "study_name": "bad",
        "space": {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        "heartbeat": {"interval": 1, "grace": 2},
    }
    spec.update(kw)
    return spec


@pytest.mark.parametrize(
    "change, words",
    [
        ({"n_trials": -2}, "n_trials=-2"),
        ({"objective": "bogus"}, "objective 'bogus'"),
        ({"space": {"lr": {"type": "float", "low": 1e-2, "high": 1e-4}}}, "low <= high"),
        ({"space": {"lora_r": {"choices": []}}}, "non-empty list"),
        (
            {"space": {"lr": {"type": "float", "low": 0, "high": 1e-2, "log": True}}},
            "log scale needs low > 0",
        ),
        ({"space": {"lr": {"type": "float", "low": -1, "high": 1e-2}}}, "the learning rate must be > 0"),
        ({"space": {"lora_dropout": {"choices": [0.1, 1.5]}}}, "lora_dropout"),
        ({"space": {"lr": {"type": "beta"}}}, "type must be float, int or categorical"),
        ({"sampler": {"name": "cmaes"}}, "sampler 'cmaes'"),
    ],
)
def test_sweep_specs_are_checked_before_any_trial(tmp_path, change, words):
    pytest.importorskip("optuna")
    from ccpapers.bench.sweep import run_sweep

    ran = []
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace("*", r"\*")):
        run_sweep(
            _sweep(tmp_path, **change),
            BenchConfig(work=tmp_path),
            storage=f"sqlite:///{tmp_path}/s.db",
            objective_fn=lambda cfg, t: ran.append(1) or 0.0,
        )
    assert not ran
    with pytest.raises(ConfigError, match="n_trials=0"):
        run_sweep(_sweep(tmp_path), BenchConfig(work=tmp_path), n_trials=0, objective_fn=lambda c, t: 0.0)


# ---------------------------------------------------------------- help and errors
def test_each_action_has_its_own_help_with_choices(capsys):
    for argv, present, absent in (
        (["bench", "--help"], ["run", "sweep", "report", "ACTION --help", "accelerate launch"], ["--lora-r"]),
        (
            ["bench", "run", "--help"],
            ["--texts-per-fact", "{lora,full}", "{partial,attention,all}"],
            ["--n-trials"],
        ),
        (["bench", "sweep", "--help"], ["--n-trials", "--storage", "--lr", "tiny-smoke"], ["--runs"]),
        (["bench", "report", "--help"], ["--runs", "--out", "--work"], ["--texts-per-fact", "--n-trials"]),
    ):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        for word in present:
            assert word in text, (argv, word)
        for word in absent:
            assert word not in text, (argv, word)


def test_invalid_choice_is_a_short_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "run", "--method", "bogus"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) <= 3
    assert "invalid choice: 'bogus'" in err and "'lora', 'full'" in err and "usage:" not in err


def test_verbose_after_the_subcommand_and_overrides_anywhere():
    from ccpapers.cli import _normalize, build_parser

    parser = build_parser()
    for argv, verbose in (
        (["bench", "run", "-v", "--tiny"], 1),
        (["bench", "sweep", "-vv"], 2),
        (["-v", "bench", "report", "-v"], 2),
        (["bench", "--tiny", "-v"], 1),
    ):
        args = parser.parse_args(_normalize(argv))
        assert args.verbose + getattr(args, "sub_verbose", 0) == verbose, argv
    args = parser.parse_args(
        _normalize(["bench", "--tiny", "epochs=1", "--lora-r", "4", "lr=1e-3", "--compile"])
    )
    assert args.action == "run" and args.overrides == ["epochs=1", "lr=1e-3"] and args.cfg_lora_r == "4"


# ---------------------------------------------------------------- statistics
@pytest.mark.parametrize(
    "p, df, expected",
    [
        (0.975, 1, 12.7062),
        (0.975, 4, 2.7764),
        (0.95, 4, 2.1318),
        (0.995, 10, 3.1693),
        (0.9, 2, 1.8856),
        (0.975, 30, 2.0423),
        (0.05, 3, -2.3534),
    ],
)
def test_t_quantile_without_scipy_matches_the_tables(p, df, expected, monkeypatch):
    from ccpapers.bench.stats import t_quantile

    monkeypatch.setitem(sys.modules, "scipy", None)  # as if scipy were not installed
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-4)


def test_mean_ci_respects_level_and_uses_scipy_when_installed(monkeypatch):
    from ccpapers.bench.stats import mean_ci

    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    xs = [0.1, 0.3, 0.2, 0.4]
    w95 = mean_ci(xs, 0.95)["ci_high"] - mean_ci(xs, 0.95)["ci_low"]
    w80 = mean_ci(xs, 0.80)["ci_high"] - mean_ci(xs, 0.80)["ci_low"]
    assert w80 < w95 and w95 / w80 == pytest.approx(3.1824 / 1.6377, rel=1e-3)
    one = mean_ci([0.3])
    assert one["mean"] == 0.3 and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
    fake = types.ModuleType("scipy.stats")
    fake.t = types.SimpleNamespace(ppf=lambda p, df: 100.0)
    monkeypatch.setitem(sys.modules, "scipy", types.ModuleType("scipy"))
    monkeypatch.setitem(sys.modules, "scipy.stats", fake)
    assert mean_ci([0.0, 1.0])["ci_high"] == pytest.approx(0.5 + 100.0 * math.sqrt(0.5) / math.sqrt(2))


def test_few_seeds_show_the_item_bootstrap_and_say_so():
    from ccpapers.bench.results import shown_intervals

    base = [0.0, 0.0, 0.5, 0.5, 0.0, 1.0, 0.0, 0.5]
    after = [1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.5, 0.5]
    seed = {"score": sum(after) / 8, "gain": (sum(after) - sum(base)) / 8, "test_scores": after}
    one = shown_intervals([seed], base)["gain"]
    assert one["kind"] == "bootstrap over questions" and "8 questions" in one["label"]
    assert one["low"] < seed["gain"] < one["high"]  # a real interval, not a point
    seeds = [dict(seed, gain=g, score=g) for g in (0.1, 0.2, 0.3)]
    three = shown_intervals(seeds, base)["gain"]
    assert three["kind"] == "t over seeds" and three["n"] == 3 and "3 seeds" in three["label"]
    assert three["high"] - three["low"] == pytest.approx(2 * 4.3027 * 0.1 / math.sqrt(3), rel=1e-3)


def test_console_summary_names_the_interval_shown(capsys):
    from ccpapers.bench.command import _print_summary

    s = {
        "out_dir": "x",
        "suite": "fictional",
        "model": "tiny",
        "method": "lora",
        "n_texts": 3,
        "n_questions": 30,
        "seeds": [0],
        "base_score": 0.3,
        "score": {"mean": 0.333, "ci_low": float("nan"), "ci_high": float("nan"), "n": 1},
        "gain": {"mean": 0.033, "ci_low": float("nan"), "ci_high": float("nan"), "n": 1},
        "intervals": {
            "gain": {"low": -0.066, "high": 0.131, "label": "95% paired bootstrap over 30 questions (1 seed)"}
        },
        "tokens_per_second": 1.0,
        "train_seconds": 1.0,
        "eval_seconds": 1.0,
        "objective": "gain",
        "objective_value": 0.033,
    }
    _print_summary(s)
    out = capsys.readouterr().out
    assert "-0.066..+0.131 (95% paired bootstrap over 30 questions (1 seed))" in out
    assert "+0.033..+0.033" not in out


# ---------------------------------------------------------------- threads
def test_tiny_model_runs_on_one_cpu_thread_unless_omp_says_otherwise(monkeypatch):
    torch = pytest.importorskip("torch")
    from ccpapers.bench.threads import cpu_threads, tiny_cpu_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    with cpu_threads(BenchConfig(tiny=True)):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    assert tiny_cpu_threads(BenchConfig(tiny=False)) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert tiny_cpu_threads(BenchConfig(tiny=True)) is None


# ---------------------------------------------------------------- progress
def test_progress_bars_on_a_terminal_and_lines_everywhere(capsys):
    from ccpapers.bench import progress

    progress.configure(bars=True, verbose=0)
    try:
        shown = progress.TrainProgress(total_steps=4, epochs=2, seed=3)
        for step in (1, 2):
            shown.tick(tokens=512 * step)
            shown.step(step, loss=7.0 - step, lr=1e-3, epoch=1)
        shown.epoch({"epoch": 1, "loss": 6.5, "steps": 2, "seconds": 2.0, "tokens": 1024})
        with progress.task(10, "answer", "q") as bar:
            progress.advance(4)
            progress.advance(6)
            assert bar._tqdm is not None and bar._tqdm.n == 10 and bar._tqdm.total == 10
        shown.close()
        with progress.quiet():
            progress.say("hidden inside a sweep")
            progress.say("trial line", run_line=False)
    finally:
        progress.configure(bars=None)
    err = capsys.readouterr().err
    assert "train seed 3" in err and "loss=5" in err and "tok_s=" in err  # the tqdm bar's postfix
    assert "answer" in err
    assert "seed 3 epoch 1/2: loss 6.5000, 512 tok/s, 2.0s" in err and "training ETA " in err
    assert "hidden inside a sweep" not in err and "trial line" in err
    assert (
        progress.duration(3725) == "1h02m"
        and progress.duration(65) == "1m05s"
        and progress.duration(None) == "?"
    )


def test_tracking_does_not_change_the_run_folder():
    pytest.importorskip("torch")
    from ccpapers.bench.runner import default_run_name

    assert default_run_name(BenchConfig(tiny=True)) == default_run_name(
        BenchConfig(tiny=True, report_to=["wandb"])
    )
