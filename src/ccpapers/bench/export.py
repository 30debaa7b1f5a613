"""``results_lm_eval.json``: a run's results in lm-evaluation-harness's layout.

Beside ``summary.json`` each run writes the shape lm-evaluation-harness (0.4) writes, so the
tools that read harness results (leaderboards, comparison scripts) read ours: ``results``
(metric ``name,filter`` keys with ``_stderr`` companions), ``versions``, ``n-shot``,
``higher_is_better``, ``n-samples``, ``configs`` (per task) and ``config`` (model and run).
Task ``ccpapers_<suite>`` is the suite after training (with ``gain`` and the base model's
score beside it); ``ccpapers_<suite>_base`` the base model; ``mmlu_forgetting`` the MMLU
check, when run. Standard errors are over questions (sample SD / sqrt(n)).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

METRIC = {"keywords": "keywords", "rouge2": "rouge2", "mcq-loglik": "acc"}


def _stderr(xs: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return float("nan")
    m = sum(xs) / n
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1) / n)


def _acc_stderr(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / (n - 1)) if n > 1 and p == p else float("nan")


def _na(v: Any) -> Any:
    """lm-evaluation-harness writes "N/A" where a number does not exist (never NaN)."""
    if isinstance(v, float) and not math.isfinite(v):
        return "N/A"
    if isinstance(v, dict):
        return {k: _na(x) for k, x in v.items()}
    return v


def lm_eval_results(
    cfg: Any, summary: dict[str, Any], suite: Any, seeds: list[dict[str, Any]], base_items: list[float]
) -> dict[str, Any]:
    from ccpapers.bench.results import environment_info
    from ccpapers.config import config_to_dict

    test_q = suite.questions[: cfg.max_questions or None]
    scorers = sorted({q.scorer for q in test_q}) or ["keywords"]
    metric = METRIC.get(scorers[0], "score") if len(scorers) == 1 else "score"
    task = f"ccpapers_{cfg.suite}"
    items = [r["test_scores"] for r in seeds if isinstance(r.get("test_scores"), list)]
    after = [sum(c) / len(c) for c in zip(*items, strict=True)] if items else []
    gains = [a - b for a, b in zip(after, base_items, strict=False)] if len(after) == len(base_items) else []
    n = summary.get("n_questions", len(after))
    results: dict[str, dict[str, Any]] = {
        task: {
            "alias": f"ccpapers {cfg.suite} after training",
            f"{metric},none": summary["score"]["mean"],
            f"{metric}_stderr,none": _stderr(after) if after else float("nan"),
            "gain,none": summary["gain"]["mean"],
            "gain_stderr,none": _stderr(gains) if gains else float("nan"),
            f"base_{metric},none": summary["base_score"],
        },
        f"{task}_base": {
            "alias": f"ccpapers {cfg.suite} base model",
            f"{metric},none": summary["base_score"],
            f"{metric}_stderr,none": _stderr(base_items) if base_items else float("nan"),
        },
    }
    gen_cfg = {
        "output_type": "generate_until" if "mcq-loglik" not in scorers else "mixed",
        "num_fewshot": 0,
        "metric_list": [{"metric": metric, "aggregation": "mean", "higher_is_better": True}],
        "generation_kwargs": {"max_gen_toks": cfg.max_new_tokens, "do_sample": False, "until": []},
        "doc_to_text": cfg.prompt_template if cfg.prompt == "plain" else "chat template",
    }
    configs = {task: {"task": task, **gen_cfg}, f"{task}_base": {"task": f"{task}_base", **gen_cfg}}
    n_shot = {task: 0, f"{task}_base": 0}
    hib = {task: {metric: True, "gain": True}, f"{task}_base": {metric: True}}
    versions = {
        task: str(getattr(suite, "version", "1")),
        f"{task}_base": str(getattr(suite, "version", "1")),
    }
    samples = {task: {"original": n, "effective": n}, f"{task}_base": {"original": n, "effective": n}}
    if isinstance(summary.get("mmlu"), dict):
        m = summary.get("n_mmlu") or 0
        acc = summary["mmlu"]["mean"]
        results["mmlu_forgetting"] = {
            "alias": "MMLU-format forgetting check after training",
            "acc,none": acc,
            "acc_stderr,none": _acc_stderr(acc, m),
            "base_acc,none": summary.get("base_mmlu"),
            "gain,none": summary["mmlu_gain"]["mean"],
        }
        configs["mmlu_forgetting"] = {
            "task": "mmlu_forgetting",
            "output_type": "multiple_choice",
            "num_fewshot": cfg.mmlu_shots,
            "dataset_path": cfg.mmlu,
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        }
        n_shot["mmlu_forgetting"] = cfg.mmlu_shots
        hib["mmlu_forgetting"] = {"acc": True, "gain": True}
        versions["mmlu_forgetting"] = Path(str(cfg.mmlu)).name
        samples["mmlu_forgetting"] = {"original": m, "effective": m}
    env = environment_info()
    model_args = f"pretrained={cfg.model_id()},dtype={summary.get('model_info', {}).get('dtype', cfg.dtype)}"
    return {
        "results": _na(results),
        "groups": {},
        "group_subtasks": {k: [] for k in results},
        "configs": configs,
        "versions": versions,
        "n-shot": n_shot,
        "higher_is_better": hib,
        "n-samples": samples,
        "config": {
            "model": "hf",
            "model_args": model_args,
            "batch_size": cfg.gen_batch_size,
            "device": env["device"],
            "limit": cfg.max_questions or None,
            "bootstrap_iters": 2000,
            "random_seed": list(cfg.seeds),
            "training": config_to_dict(cfg),
        },
        "git_hash": (env["git_sha"] or "")[:7] or None,
        "date": time.time(),
        "transformers_version": env["versions"].get("transformers"),
        "model_name": cfg.model_id(),
        "model_name_sanitized": cfg.model_id().replace("/", "__"),
        "total_evaluation_time_seconds": str(
            (summary.get("eval_seconds") or 0) + (summary.get("baseline_seconds") or 0)
        ),
    }


def write_lm_eval_results(
    out_dir: Path,
    cfg: Any,
    summary: dict[str, Any],
    suite: Any,
    seeds: list[dict[str, Any]],
    base_items: list[float],
) -> Path:
    from ccpapers.io import write_json

    path = Path(out_dir) / "results_lm_eval.json"
    write_json(path, lm_eval_results(cfg, summary, suite, seeds, base_items))
    return path
