"""Console progress of bench runs and sweeps, on stderr, as ``datasets`` and the HF Trainer give it.

* On a terminal: tqdm bars with rate and ETA for training steps (loss, tokens/s in the
  postfix) and for answering questions.
* Everywhere (log files too): one line per epoch (loss, tokens/s, time, ETA), per evaluation
  (questions, time) and per sweep trial (parameters, objective, ETA of the study).
* ``-v`` adds a line per optimizer step and shows the run lines inside sweeps; ``-vv`` adds
  each answer.

The module keeps one process-wide state (set by the CLI with :func:`configure`); only the
main process of a distributed launch prints. Every event is also passed to the run's
experiment trackers (:mod:`ccpapers.bench.tracking`), if any are open.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_STATE: dict[str, Any] = {
    "verbose": 0,
    "bars": None,  # None = only when stderr is a terminal
    "enabled": True,  # False on non-main processes
    "quiet": 0,  # >0 inside sweeps: run lines only with -v
    "trackers": None,
    "active": [],
}


def configure(verbose: int | None = None, bars: bool | None = None, enabled: bool | None = None) -> None:
    """Set verbosity (``-v`` count), force bars on/off (None = on a terminal) and whether this
    process prints at all."""
    if verbose is not None:
        _STATE["verbose"] = int(verbose)
    if bars is not None:
        _STATE["bars"] = bars
    if enabled is not None:
        _STATE["enabled"] = enabled


def verbosity() -> int:
    return int(_STATE["verbose"])


@contextmanager
def quiet() -> Iterator[None]:
    """Inside a sweep: the per-run lines are shown only with ``-v`` (trial lines always)."""
    _STATE["quiet"] += 1
    try:
        yield
    finally:
        _STATE["quiet"] -= 1


def _bars_on() -> bool:
    if not _STATE["enabled"]:
        return False
    if _STATE["bars"] is not None:
        return bool(_STATE["bars"])
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def say(message: str, level: int = 0, run_line: bool = True) -> None:
    """Print ``message`` on stderr if the verbosity reaches ``level`` (run lines are hidden
    inside sweeps unless ``-v``)."""
    if not _STATE["enabled"] or _STATE["verbose"] < level:
        return
    if run_line and _STATE["quiet"] and _STATE["verbose"] < 1:
        return
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def duration(seconds: float | None) -> str:
    """``4.2s``, ``42s``, ``3m05s``, ``1h02m``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds < 10:
        return f"{seconds:.1f}s"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Bar:
    """A tqdm bar on a terminal, nothing elsewhere; ``advance`` feeds the innermost open bar."""

    def __init__(self, total: int, desc: str, unit: str) -> None:
        self._tqdm = None
        self._postfix: dict[str, Any] = {}
        if _bars_on() and not (_STATE["quiet"] and _STATE["verbose"] < 1):
            from tqdm import tqdm

            self._tqdm = tqdm(
                total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True
            )

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance by ``n``; ``postfix`` values are kept until replaced (loss and tok/s arrive apart)."""
        if self._tqdm is not None:
            if postfix:
                self._postfix.update(postfix)
                self._tqdm.set_postfix(self._postfix, refresh=n == 0)
            self._tqdm.update(n)

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None


@contextmanager
def task(total: int, desc: str, unit: str = "it") -> Iterator[Bar]:
    bar = Bar(total, desc, unit)
    _STATE["active"].append(bar)
    try:
        yield bar
    finally:
        _STATE["active"].remove(bar)
        bar.close()


def advance(n: int = 1) -> None:
    """Advance the innermost open bar (called by generation and MCQ scoring per batch)."""
    if _STATE["active"]:
        _STATE["active"][-1].update(n)


# ---------------------------------------------------------------- experiment trackers
def track(values: dict[str, Any], step: int | None = None) -> None:
    if _STATE["trackers"] is not None and _STATE["enabled"]:
        _STATE["trackers"].log(values, step=step)


# ---------------------------------------------------------------- training
class TrainProgress:
    """Progress of one seed's training: a step bar and one line per epoch with ETA."""

    def __init__(self, total_steps: int, epochs: int, seed: int = 0, label: str = "") -> None:
        self.total, self.epochs, self.seed = total_steps, epochs, seed
        self.prefix = f"{label}seed {seed}"
        self.t0 = time.perf_counter()
        self.tokens = 0
        self.steps = 0
        self.bar = Bar(total_steps, f"train {self.prefix}", "step")

    def tick(self, tokens: int) -> None:
        """After each optimizer step; ``tokens``: real tokens trained so far (all processes).

        Only the bar moves here: the step's loss stays on the device until the epoch ends, so
        progress never forces a host sync per step.
        """
        self.tokens = tokens
        self.steps += 1
        elapsed = time.perf_counter() - self.t0
        self.bar.update(1, tok_s=f"{self.tokens / elapsed if elapsed else 0.0:,.0f}")

    def step(self, step: int, loss: float, lr: float, epoch: int) -> None:
        """A finished step's loss (reported when the epoch's losses come off the device)."""
        self.bar.update(0, loss=f"{loss:.4g}")
        say(
            f"  {self.prefix} step {step}/{self.total} (epoch {epoch}): loss {loss:.4f}, lr {lr:.3g}", level=1
        )
        track({f"seed{self.seed}/train/loss": loss, f"seed{self.seed}/train/lr": lr}, step=step)

    def epoch(self, rec: dict[str, Any]) -> None:
        elapsed = time.perf_counter() - self.t0
        done = rec["epoch"]
        left = (self.total - rec["steps"]) * elapsed / rec["steps"] if rec.get("steps") else None
        tps = rec["tokens"] / rec["seconds"] if rec.get("seconds") else 0.0
        dev = f", dev score {rec['dev_score']:.3f}" if rec.get("dev_score") is not None else ""
        say(
            f"{self.prefix} epoch {done}/{self.epochs}: loss {rec['loss']:.4f}, {tps:,.0f} tok/s, "
            f"{duration(rec.get('seconds'))}{dev}; training ETA {duration(left)}"
        )
        vals = {"train/epoch_loss": rec["loss"], "train/tokens_per_second": tps}
        if rec.get("dev_score") is not None:
            vals["dev/score"] = rec["dev_score"]
        track({f"seed{self.seed}/{k}": v for k, v in vals.items()}, step=rec.get("steps"))

    def close(self) -> None:
        self.bar.close()


def open_trackers(cfg: Any, out_dir: Any) -> None:
    """Open the experiment trackers the config asks for (main process only)."""
    close_trackers()
    names = list(getattr(cfg, "report_to", []) or [])
    if not names or not _STATE["enabled"]:
        return
    from ccpapers.bench.tracking import open_trackers as _open
    from ccpapers.config import config_to_dict

    _STATE["trackers"] = _open(names, out_dir.name, out_dir, config_to_dict(cfg))


def close_trackers() -> None:
    if _STATE["trackers"] is not None:
        _STATE["trackers"].finish()
        _STATE["trackers"] = None


def track_summary(summary: dict[str, Any]) -> None:
    """The run's headline numbers to the trackers."""
    vals = {"eval/base_score": summary.get("base_score")}
    for key in ("score", "gain", "mmlu", "mmlu_gain"):
        if isinstance(summary.get(key), dict):
            vals[f"eval/{key}"] = summary[key]["mean"]
    vals["train/tokens_per_second_mean"] = summary.get("tokens_per_second")
    track({k: v for k, v in vals.items() if v is not None})
