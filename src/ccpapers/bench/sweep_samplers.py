"""The sweep's samplers and pruners, built from the spec's ``sampler:`` and ``pruner:`` mappings."""

from __future__ import annotations

from typing import Any

from ccpapers.bench.sweep_spec import grid_values
from ccpapers.config import ConfigError


def _grid_class() -> Any:
    import optuna

    class AskTellGrid(optuna.samplers.GridSampler):
        """GridSampler without its ``study.stop()`` call (which only works inside optimize);
        the worker loop stops by counting trials instead."""

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            return None

    return AskTellGrid


def _AskTellGrid(space: dict[str, Any], seed: int = 0) -> Any:  # noqa: N802
    return _grid_class()(space, seed=seed)


def make_sampler(sp: dict[str, Any], worker: int = 0) -> Any:
    """TPE (multivariate, grouped; seeded) or an exhaustive grid over the space's choices.

    ``worker`` is mixed into the seed: workers sharing one storage with one seed would
    otherwise propose the same points (TPE's random start-up trials, the grid's order)."""
    import optuna

    s_cfg = sp.get("sampler") or {}
    seed = s_cfg.get("seed", 0 if s_cfg.get("name") == "grid" else None)
    if seed is not None:
        seed = (int(seed) + worker) % 2**32
    if s_cfg.get("name") == "grid":
        space = {k: grid_values(d) for k, d in sp["space"].items()}
        return _AskTellGrid(space, seed=seed)
    return optuna.samplers.TPESampler(
        seed=seed,
        multivariate=bool(s_cfg.get("multivariate", True)),
        group=bool(s_cfg.get("group", True)),
        n_startup_trials=int(s_cfg.get("n_startup_trials", 10)),
    )


def make_pruner(sp: dict[str, Any]) -> Any:
    """``pruner: {name: median|threshold|halving|none, n_startup_trials, n_warmup_steps, lower}``; prunes on the
    per-epoch dev score (set ``dev_questions`` and ``eval_each_epoch`` in the sweep's base)."""
    import optuna

    p = sp.get("pruner") or {"name": "none"}
    name = p.get("name", "none")
    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=int(p.get("n_startup_trials", 5)), n_warmup_steps=int(p.get("n_warmup_steps", 1))
        )
    if name == "threshold":  # prune when the dev score is below `lower` after the warm-up epochs
        return optuna.pruners.ThresholdPruner(
            lower=float(p["lower"]), n_warmup_steps=int(p.get("n_warmup_steps", 0))
        )
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"sweep pruner {name!r}: choose median, threshold, halving or none")
