"""The multi-process launch path on CPU: `accelerate launch` with two gloo processes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("accelerate")
REPO = Path(__file__).resolve().parents[2]
FIX = Path(__file__).parent / "fixtures"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_accelerate_launch_two_cpu_processes(tmp_path):
    launcher = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or shutil.which("accelerate")
    assert launcher, "accelerate CLI not found"
    cmd = [
        launcher,
        "launch",
        "--config_file",
        str(REPO / "train" / "accelerate" / "cpu-2proc.yaml"),
        "--main_process_port",
        str(_free_port()),
        "-m",
        "ccpapers",
        "bench",
        "--work",
        str(tmp_path),
        "--suite-file",
        str(FIX / "fictional_mini.yaml"),
        "--tiny",
        "epochs=3",
        "lr=1e-2",
        "--lora-r",
        "4",
        "--lora-alpha",
        "8",
        "--seq-len",
        "128",
        "--max-new-tokens",
        "6",
        "--run-name",
        "ddp",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert res.stdout.count("run: ") == 1  # only rank 0 prints the summary
    out = tmp_path / "bench" / "ddp"
    ev = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [e for e in ev if e["event"] == "config"][0]["world_size"] == 2
    preds = [e for e in ev if e["event"] == "prediction"]
    assert sorted(e["id"] for e in preds) == sorted({e["id"] for e in preds}) and len(preds) == 10
    seed = json.loads((out / "seed-0.json").read_text())
    a, b = seed["trainable_checksums"]
    assert a == pytest.approx(b, rel=1e-9)  # gradients were all-reduced: both ranks hold the same adapters
    assert seed["steps"] > 0 and (out / "summary.json").is_file()
