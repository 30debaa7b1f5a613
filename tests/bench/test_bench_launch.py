"""The multi-process launch path on CPU: `accelerate launch` with two gloo processes, plain data
parallel and FSDP (full fine-tuning and LoRA), every collective checked by the harness in
``launch_harness/sitecustomize.py`` (the tensors' device and the placement of the module that
issues it: on GPUs, NCCL rejects a collective on tensors derived from a model left on the CPU)."""

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
HARNESS = Path(__file__).parent / "launch_harness"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(
    tmp_path: Path, config: str, args: list[str], fsdp_on_cpu: bool = False, launch_args: list[str] = ()
) -> dict:
    """Run ``accelerate launch --config_file train/accelerate/<config> -m ccpapers bench ARGS``
    on two CPU processes under the collective guard; returns the events and collective records."""
    launcher = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or shutil.which("accelerate")
    assert launcher, "accelerate CLI not found"
    guard = tmp_path / "collectives"
    guard.mkdir()
    cmd = [
        launcher,
        "launch",
        "--config_file",
        str(REPO / "train" / "accelerate" / config),
        "--num_processes",
        "2",
        "--main_process_port",
        str(_free_port()),
        *launch_args,
        "-m",
        "ccpapers",
        "bench",
        "--work",
        str(tmp_path),
        "--suite-file",
        str(FIX / "fictional_mini.yaml"),
        "--tiny",
        "--run-name",
        "launch",
        *args,
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HARNESS), str(REPO / "src")]),
        "OMP_NUM_THREADS": "1",
        "CCPAPERS_TEST_HARNESS": str(guard),
        "CCPAPERS_TEST_FSDP_ON_CPU": "1" if fsdp_on_cpu else "0",
    }
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-6000:]
    assert res.stdout.count("run: ") == 1  # only rank 0 prints the summary
    out = tmp_path / "bench" / "launch"
    calls = [
        json.loads(line)
        for f in sorted(guard.glob("collectives-rank*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    return {
        "events": [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()],
        "seed": json.loads((out / "seed-0.json").read_text()),
        "seeds": {int(p.stem[5:]): json.loads(p.read_text()) for p in out.glob("seed-*.json")},
        "calls": calls,
        "out": out,
    }


def _check_common(r: dict, n_questions: int) -> None:
    ev = r["events"]
    assert [e for e in ev if e["event"] == "config"][0]["world_size"] == 2
    preds = [e for e in ev if e["event"] == "prediction" and e["seed"] == 0]
    assert sorted(e["id"] for e in preds) == sorted({e["id"] for e in preds}) and len(preds) == n_questions
    assert r["seed"]["steps"] > 0 and (r["out"] / "summary.json").is_file()
    assert r["calls"], "the guard saw no collective: the harness is not active"
    assert not [c for c in r["calls"] if c["problems"]]  # (a violation would have failed the launch)
    # the linear decay spans the whole run on 2 processes as on one: one scheduler step per optimizer
    # step (accelerate's prepared scheduler steps once per process, reaching 0 halfway)
    lr0 = [e for e in ev if e["event"] == "config"][0]["config"]["lr"]
    lrs = [e["lr"] for e in ev if e["event"] == "loss" and e["seed"] == 0]
    n = len(lrs)
    assert n == r["seed"]["steps"] and lrs[0] == pytest.approx(lr0 * (n - 1) / n), lrs
    assert all(x > 0 for x in lrs[:-1]) and lrs[-1] == 0.0, lrs


def test_accelerate_launch_two_cpu_processes(tmp_path):
    r = _launch(
        tmp_path,
        "cpu-2proc.yaml",
        [
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
        ],
    )
    _check_common(r, 10)
    a, b = r["seed"]["trainable_checksums"]
    assert a == pytest.approx(b, rel=1e-9)  # gradients were all-reduced: both ranks hold the same adapters
    assert {c["op"] for c in r["calls"]} >= {
        "_broadcast_coalesced",
        "all_gather",
    }  # DDP set-up, gather_object


def _check_fsdp(r: dict) -> None:
    seed = r["seed"]
    # sharded float32 master weights, bf16 compute (mixed_precision: bf16 in the accelerate config)
    assert seed["precision"]["master_dtypes"] == ["float32"], seed["precision"]
    assert seed["precision"]["compute_dtype"] == "bfloat16"
    assert seed["precision"]["sharding"] == "FULL_SHARD"
    ep = seed["epochs"]
    assert ep[-1]["loss"] < ep[0]["loss"]  # the optimizer updated the sharded parameters
    # every rank generated through the sharded model in lock-step: synced all_reduce from generate
    gen = [c for c in r["calls"] if c["function"] == "_has_unfinished_sequences"]
    assert gen and all(c["devices"] == ["cpu"] for c in gen)
    fsdp_ops = {
        c["op"] for c in r["calls"] if c["caller"].startswith(("_flat_param.py", "_runtime_utils.py"))
    }
    assert any("gather" in op for op in fsdp_ops) and any("reduce_scatter" in op for op in fsdp_ops), fsdp_ops
    per_rank = seed["peak_memory_gib_per_process"]
    assert len(per_rank) == 2
    # a second seed starts from the base again (full: restored shards; LoRA: fresh adapters), not
    # from the first seed's trained weights
    s1 = r["seeds"][1]
    assert s1["epochs"][0]["loss"] > ep[-1]["loss"], (s1["epochs"], ep)


def test_fsdp_full_finetuning_two_cpu_processes(tmp_path):
    """The issue's command (`fsdp-full.yaml --num_processes 2 ... --tiny method=full epochs=2
    max_questions=10`) on gloo: it failed at the first collective of the baseline (the model was
    left unplaced before FSDP wrapped it) and, past that, evaluated the unwrapped inner module
    whose embeddings were still sharded."""
    r = _launch(
        tmp_path,
        "fsdp-full.yaml",
        [
            "method=full",
            "epochs=2",
            "max_questions=10",
            "lr=1e-2",
            "seeds=[0,1]",
            "--seq-len",
            "128",
            "--max-new-tokens",
            "6",
        ],
        fsdp_on_cpu=True,
    )
    _check_common(r, 10)
    _check_fsdp(r)


def test_fsdp_lora_two_cpu_processes(tmp_path):
    r = _launch(
        tmp_path,
        "fsdp-lora.yaml",
        [
            "method=lora",
            "epochs=2",
            "max_questions=6",
            "lr=1e-2",
            "seeds=[0,1]",
            "lora_preset=attention",
            "grad_accum=2",
        ]
        + ["--lora-r", "4", "--lora-alpha", "8", "--seq-len", "128", "--max-new-tokens", "6"],
        fsdp_on_cpu=True,
    )
    _check_common(r, 6)
    _check_fsdp(r)


def test_fsdp_config_without_gpus_is_a_clear_error(monkeypatch):
    """An FSDP accelerate config on a machine without CUDA: a ConfigError naming what to use."""
    import torch

    from ccpapers.bench.runner import make_accelerator
    from ccpapers.errors import CcpapersError

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    monkeypatch.setenv("FSDP_SYNC_MODULE_STATES", "true")
    with pytest.raises(CcpapersError, match="cpu-2proc.yaml"):
        make_accelerator()


@pytest.mark.slow
def test_fsdp_bf16_weights_train_with_stochastic_rounding(tmp_path):
    """FSDP without mixed precision on a bf16 model: the flat parameters are bf16, so
    optimizer=auto takes the stochastic-rounding AdamW (as on one GPU), never pure bf16 AdamW;
    the choice is read from the flat parameters (their views still showed the load dtype)."""
    r = _launch(
        tmp_path,
        "fsdp-full.yaml",
        ["method=full", "dtype=bf16", "epochs=2", "max_questions=2", "lr=1e-2"]
        + ["--seq-len", "128", "--max-new-tokens", "4"],
        fsdp_on_cpu=True,
        launch_args=["--mixed_precision", "no"],
    )
    p = r["seed"]["precision"]
    assert (
        p["master_dtypes"] == ["bfloat16"] and p["optimizer"] == "adamw-sr" and p["mixed_precision"] == "no"
    )
    ep = r["seed"]["epochs"]
    assert ep[-1]["loss"] < ep[0]["loss"]
