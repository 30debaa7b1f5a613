"""benchmarks.multigpu_check (the two-GPU run of issue 16): its arithmetic, and a dry run of
every phase on CPU processes (gloo, FSDP through the launch harness) so the GPU call does not
fail on a bug in the script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_llama_shapes_have_the_published_parameter_counts():
    from benchmarks.multigpu_bench import llama_params

    assert llama_params("7b") == 6_738_415_616  # Llama-2-7b
    assert llama_params("13b") == 13_015_864_320  # Llama-2-13b


def test_sharded_vs_one_gpu_comparison_rule():
    from benchmarks.multigpu_check import _compare

    same = _compare({0: 0.20, 1: 0.24, 2: 0.22}, {0: 0.21, 1: 0.23, 2: 0.22})
    assert same["within_seed_spread"] and same["per_seed_difference"][0] == pytest.approx(0.01)
    apart = _compare({0: 0.20, 1: 0.24, 2: 0.22}, {0: 0.50, 1: 0.52, 2: 0.51})
    assert not apart["within_seed_spread"] and apart["mean_difference"] == pytest.approx(0.29)


def test_unknown_phase_is_refused():
    from benchmarks.multigpu_check import parse

    with pytest.raises(SystemExit):
        parse(["--phases", "7b,70b"])
    a = parse(["--phases", "sweep,7b", "--out", "x"])
    assert a.phases == ["sweep", "7b"] and a.budget == 525.0
    assert parse(["--out", "x"]).phases == ["issue", "7b", "13b", "smollm2", "sweep", "extras"]


@pytest.mark.slow
def test_dry_run_of_every_phase_on_cpu(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.multigpu_check", "--cpu", "--out", str(out)]
        + ["--work", str(work)],
        capture_output=True,
        text=True,
        timeout=3000,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8  # what one device call brings back from $OUT
    R = json.loads((out / "multigpu.json").read_text())["phases"]
    for name in ("fsdp_full", "fsdp_lora"):
        r = R["issue"][name]
        assert r["rc"] == 0 and r["world_size"] == 2, r
        assert r["collectives"]["from_generate"] > 0 and not r["collectives"]["problems"]
        assert r["precision"]["master_dtypes"] == ["float32"]
    assert (
        R["7b"]["rc"] == 0 and R["7b"]["world_size"] == 2 and R["7b"]["steady_tokens_per_second_per_gpu"] > 0
    )
    assert len(R["7b"]["peak_memory_gib_per_process"]) == 2
    s = R["smollm2"]
    assert s["one_gpu"]["rc"] == 0 and s["fsdp2"]["rc"] == 0, s
    assert set(s["one_gpu"]["scores"]) == set(s["fsdp2"]["scores"]) == {"0", "1"}
    assert s["fsdp2"]["world_size"] == 2 and "within_seed_spread" in s["comparison_fsdp2"]
    # the same global batch both sides: the same number of optimizer steps per seed
    assert s["one_gpu"]["steps"] == s["fsdp2"]["steps"]
    sw = R["sweep"]
    assert sw["one_worker"]["ok"] and sw["two_workers"]["ok"], sw
    assert sw["two_workers"]["kill"] == "done" and sw["two_workers"]["killed_trial"]["retry_same_params"]
    b = R["13b"]
    assert b["lora_fsdp2"]["rc"] == 0 and b["lora_fsdp2"]["world_size"] == 2
    # extras (the CPU budget leaves time for all of them)
    assert b["lora_1gpu"]["rc"] == 0 and b["lora_1gpu"]["world_size"] == 1 and b["full_fsdp2"]["rc"] == 0
    assert s["fsdp2_no_mp"]["rc"] == 0 and s["fsdp2_no_mp"]["precision"]["mixed_precision"] == "no"
    assert R["extras"]["issue.fsdp_lora"] == 0
    one = R["7b"]["one_gpu_reference"]
    assert one["rc"] == 0 and one["world_size"] == 1 and R["7b"]["scaling_efficiency_vs_1gpu"] > 0
