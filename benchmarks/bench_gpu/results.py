"""The benchmark's results, typed: one field per phase (each a JSON-ready record, filled as the
phase goes so a crash keeps what was measured), written as ``bench_gpu.json``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.bench_gpu.shapes import TARGETS


@dataclass
class GpuBenchResults:
    device: str
    versions: dict[str, str]
    tiny: bool
    args: dict[str, Any]
    model: dict[str, Any] = field(default_factory=dict)
    mix: dict[str, Any] = field(default_factory=dict)
    lora: dict[str, Any] | None = None  # baseline, ccpapers, profile
    trial_switch: dict[str, Any] | None = None
    eval: dict[str, Any] | None = None  # ccpapers, baseline, identity (+ identity_fp32)
    full: dict[str, Any] | None = None  # baseline, precision, ccpapers_text, ccpapers, profile
    fictional: dict[str, Any] | None = None  # method -> run_bench figures
    targets: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: phases that did not run are left out."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }

    def save(self, out: Path) -> None:
        """Recompute the targets and write ``out/bench_gpu.json``."""
        self.targets = targets(self)
        (out / "bench_gpu.json").write_text(json.dumps(self.to_dict(), indent=1, default=str))


def targets(r: GpuBenchResults) -> dict[str, bool]:
    """Which of the issue's speed targets the ccpapers path met (on a GPU; MFU is None on CPU)."""
    t: dict[str, bool] = {}
    if r.lora and "ccpapers" in r.lora and r.lora["ccpapers"]["mfu"] is not None:
        c = r.lora["ccpapers"]
        t["LoRA >= 15k tok/s"] = c["tokens_per_second"] >= TARGETS["lora_tps"]
        t["LoRA MFU >= 40%"] = c["mfu"] >= TARGETS["lora_mfu"]
    if r.full and "ccpapers" in r.full and r.full["ccpapers"]["mfu"] is not None:
        t["full FT MFU >= 35%"] = r.full["ccpapers"]["mfu"] >= TARGETS["full_mfu"]
    if r.eval:
        t["eval < 10 s"] = r.eval["ccpapers"]["seconds"] < TARGETS["eval_s"]
        t["answers identical"] = r.eval["identity"]["all_identical"]
    return t
