"""``run_bench``: score the base model, train (LoRA or full) per seed, score again, report gains.

Output folder ``WORK/bench/<run>/``: ``config.resolved.yaml``, ``results.jsonl`` (events
written as they happen: config, baseline answers, losses, epochs, predictions, timings,
summary), ``seed-<n>.json`` per finished seed (a re-run skips finished seeds) and
``summary.json``. Baseline answers are cached by content under ``WORK/bench/.baselines/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from ccpapers.bench.baseline import baseline_answers
from ccpapers.bench.config import BenchConfig
from ccpapers.bench.evaluation import mean
from ccpapers.bench.inputs import load_inputs, tiny_texts
from ccpapers.bench.results import EventLog, environment_info, summarize
from ccpapers.bench.seed_run import BenchRun, run_seed
from ccpapers.bench.suites.base import Suite
from ccpapers.config import ConfigError, config_to_dict, write_resolved_config

log = logging.getLogger(__name__)


def make_accelerator() -> Any:
    """Single device, or the distributed setup of ``accelerate launch`` / ``torchrun``
    (on machines without CUDA: gloo over CPU processes)."""
    import torch
    from accelerate import Accelerator

    try:
        return Accelerator(cpu=not torch.cuda.is_available())
    except RuntimeError as exc:
        if "no available devices" not in str(exc):
            raise
        raise ConfigError(
            "the accelerate config asks for FSDP, which needs GPUs (no CUDA device here): launch with "
            "train/accelerate/cpu-2proc.yaml on CPU, or without accelerate launch"
        ) from exc


__all__ = ["config_hash", "default_run_name", "make_accelerator", "run_bench"]


def config_hash(cfg: BenchConfig, drop: tuple[str, ...] = ("run_name", "seeds", "work", "report_to")) -> str:
    d = {k: v for k, v in config_to_dict(cfg).items() if k not in drop}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


def default_run_name(cfg: BenchConfig) -> str:
    model = "tiny" if cfg.tiny else cfg.model_id().rstrip("/").split("/")[-1]
    return f"{cfg.suite}-{model}-{cfg.method}-t{cfg.texts_per_fact or 'all'}-i{cfg.n_irrelevant}-{config_hash(cfg)}"


def run_bench(
    cfg: BenchConfig, accelerator: Any = None, resident: Any = None, epoch_hook: Any = None
) -> dict[str, Any]:
    """Run one benchmark configuration (all seeds); returns the summary dict.

    ``resident``: an already loaded :class:`~ccpapers.bench.models.LoadedModel` to reuse
    (sweeps keep the base in memory; LoRA is removed and full fine-tuning restored after).
    Under FSDP it is used unplaced and sharded in place, so it serves this one run only.
    ``epoch_hook(epoch, dev_score)``: called after each per-epoch evaluation (sweep pruning;
    it may raise to stop the run, the base model is restored all the same)."""
    from ccpapers.bench import progress
    from ccpapers.bench.threads import cpu_threads

    try:
        with cpu_threads(cfg):
            return _run_bench(cfg, accelerator, resident, epoch_hook)
    finally:
        progress.close_trackers()


def _run_bench(cfg: BenchConfig, accelerator: Any, resident: Any, epoch_hook: Any) -> dict[str, Any]:
    from ccpapers.bench import progress

    acc = accelerator or make_accelerator()
    cfg = cfg.for_device(cuda=acc.device.type == "cuda")
    cfg.validate()
    if not acc.is_main_process:
        progress.configure(enabled=False)  # one process prints
    inputs = load_inputs(cfg)
    out_dir = _open_run_folder(cfg, acc.is_main_process)
    events = EventLog(out_dir / "results.jsonl", acc.is_main_process)
    progress.open_trackers(cfg, out_dir)
    if cfg.tiny and acc.is_main_process:
        from ccpapers.bench.tiny import TINY_WARNING

        log.warning(TINY_WARNING)
    t_load = time.perf_counter()
    lm, sharded, snapshot = _place_model(cfg, acc, inputs.suite, resident, out_dir)
    load_s = time.perf_counter() - t_load
    progress.say(
        f"run {out_dir.name}: suite {cfg.suite} ({len(inputs.questions)} questions), model {cfg.model_id()} "
        f"({lm.info['params']:,} params, {lm.info['dtype']}), {cfg.method}, {cfg.epochs} epochs, "
        f"seeds {list(cfg.seeds)}; loaded in {progress.duration(load_s)}"
    )
    events(
        "config",
        config=config_to_dict(cfg),
        suite=inputs.suite.summary(),
        model=lm.info,
        world_size=acc.num_processes,
        tiny_warning=cfg.tiny,
        environment=environment_info(),
        mcq_protocol=f"lm-eval-harness style: plain prompt, {cfg.mmlu_shots}-shot (MMLU), argmax loglik of ' A'..",
    )
    base = baseline_answers(
        lm, inputs.questions, inputs.mmlu, cfg, acc, Path(cfg.work) / "bench" / ".baselines"
    )
    for r in base["rows"]:
        events("baseline", **r)
    for r in base["mmlu"]:
        events("baseline_mmlu", **r)
    run = BenchRun(cfg, acc, inputs, out_dir, events, lm, sharded, snapshot, base, epoch_hook)
    seed_results = [run_seed(run, seed) for seed in cfg.seeds]
    return _finish(run, seed_results, load_s)


def _open_run_folder(cfg: BenchConfig, main: bool) -> Path:
    """``WORK/bench/<run>/`` with the resolved config in it (written by the main process)."""
    out_dir = Path(cfg.work) / "bench" / (cfg.run_name or default_run_name(cfg))
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_resolved_config(cfg, out_dir)
    return out_dir


def _place_model(
    cfg: BenchConfig, acc: Any, suite: Suite, resident: Any, out_dir: Path
) -> tuple[Any, Any, Any]:
    """(the loaded model, under FSDP its wrapped form, and the base shards when full fine-tuning
    runs several seeds). Under FSDP the model is loaded unplaced and used only once FSDP has
    wrapped it (placed on the launch device, sharded); elsewhere it is loaded onto the device."""
    from ccpapers.bench.distributed import fsdp_units, is_fsdp, prepare_sharded, snapshot_shards
    from ccpapers.bench.models import load_model

    fsdp = is_fsdp(acc)
    if fsdp and resident is not None and fsdp_units(resident.model):
        raise ConfigError(
            "under FSDP a model serves one run (it is sharded in place): run sweeps one worker per GPU, "
            "without accelerate launch"
        )
    device = None if fsdp else acc.device
    lm = resident or load_model(cfg, tiny_texts(suite) if cfg.tiny else None, device=device)
    if not fsdp:
        return lm, None, None
    pending = [s for s in cfg.seeds if not (out_dir / f"seed-{s}.json").is_file()]
    sharded = prepare_sharded(lm, cfg, acc, pending[0] if pending else cfg.seeds[0])
    snapshot = snapshot_shards(sharded) if cfg.method == "full" and len(pending) > 1 else None
    return lm, sharded, snapshot


def _finish(run: BenchRun, seed_results: list[dict[str, Any]], load_s: float) -> dict[str, Any]:
    """The summary over seeds: logged, tracked, written with the lm-eval-style results."""
    from ccpapers.bench import progress

    cfg, base, mmlu = run.cfg, run.base, run.inputs.mmlu
    base_test = [r["score"] for r in base["rows"] if r["split"] == "test"]
    base_mmlu = mean([r["score"] for r in base["mmlu"]]) if mmlu else None
    summary = summarize(cfg, seed_results, base_test, base_mmlu, base, load_s, run.lm.info)
    run.events("summary", **summary)
    run.events.close()
    progress.track_summary(summary)
    if run.main:
        from ccpapers.bench.export import write_lm_eval_results
        from ccpapers.io import write_json

        write_json(run.out_dir / "summary.json", summary)
        write_lm_eval_results(run.out_dir, cfg, summary, run.inputs.suite, seed_results, base_test)
    summary["out_dir"] = str(run.out_dir)
    return summary
