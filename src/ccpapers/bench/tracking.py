"""Optional experiment tracking through accelerate's trackers (``report_to=tensorboard,wandb``).

TensorBoard needs no server: event files go to ``WORK/bench/<run>/tracking/`` (view them with
``tensorboard --logdir WORK/bench``); it needs ``tensorboard`` or ``tensorboardX`` installed.
W&B needs ``wandb`` installed and logged in (or ``WANDB_MODE=offline``). Neither is a
dependency of ccpapers: a tracker whose package is missing is a config error before any work.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

TRACKERS = ("tensorboard", "wandb")
PACKAGES = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",)}


def missing_packages(names: list[str]) -> list[str]:
    """The trackers in ``names`` whose package is not installed (as 'name (pip install pkg)')."""
    out = []
    for name in names:
        pkgs = PACKAGES.get(name, ())
        if not any(importlib.util.find_spec(p) is not None for p in pkgs):
            out.append(f"{name} (pip install {pkgs[-1] if pkgs else name})")
    return out


def _flat_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as the trackers take them: bool, str, int, float (lists joined)."""
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        if isinstance(v, (list, tuple)):
            v = ",".join(map(str, v))
        out[k] = v if isinstance(v, (bool, str, int, float)) else str(v)
    return out


class Trackers:
    """The run's open accelerate trackers; ``log`` fans a dict of scalars out to each."""

    def __init__(self, trackers: list[Any]) -> None:
        self.trackers = trackers

    def log(self, values: dict[str, Any], step: int | None = None) -> None:
        clean = {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and v == v}
        if clean:
            for t in self.trackers:
                t.log(clean, step=step)

    def finish(self) -> None:
        for t in self.trackers:
            t.finish()


def open_trackers(names: list[str], run_name: str, out_dir: Path, config: dict[str, Any]) -> Trackers | None:
    if not names:
        return None
    from accelerate.tracking import TensorBoardTracker, WandBTracker

    opened = []
    for name in names:
        if name == "tensorboard":
            t = TensorBoardTracker(run_name, out_dir / "tracking")
        elif name == "wandb":
            t = WandBTracker(run_name)
        else:  # validated before; kept for callers that bypass the config
            continue
        t.start()
        t.store_init_configuration(_flat_config(config))
        opened.append(t)
    return Trackers(opened)
