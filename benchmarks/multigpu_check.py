#!/usr/bin/env python3
"""Issue 16 on a two-GPU machine in one command: FSDP full fine-tuning with sharded float32
master weights, LoRA on a larger shape, the real model sharded vs on one GPU, and one sweep
worker per GPU. ``scripts/multigpu_check.sh`` runs it on the GPU machine.

Phases, in this order (each writes ``phase-<name>.json`` into ``--out`` as soon as it ends,
also when it fails or runs out of time; ``multigpu.json`` gathers them, ``multigpu.log`` holds
every output; the whole run stops at ``--budget`` seconds, 525 by default):

* ``issue``: the issue's command as a user types it, ``accelerate launch --config_file
  train/accelerate/fsdp-full.yaml --num_processes 2 -m ccpapers bench --tiny method=full epochs=2
  max_questions=10``, under the collective guard of ``tests/bench/launch_harness`` (every
  collective's tensors on the launch's GPU);
* ``7b``: random-initialised Llama-2-7b shape, full fine-tuning under FSDP over 2 GPUs (float32
  sharded parameters, bf16 compute), one ``fictional`` run end to end: tokens/s per GPU, peak
  memory per GPU, MFU; scaling efficiency against ``--ref-7b-full-tps`` (the best one-GPU
  configuration that learns, measured elsewhere) when given;
* ``13b``: Llama-2-13b shape, LoRA under FSDP over 2 GPUs; whether full fine-tuning's sharded
  float32 states fit (on 80 GB GPUs they do not: the reason is recorded);
* ``smollm2``: the real model (``--smollm2`` or ``$SMOLLM2``: a registry name, a GGUF or a Hugging
  Face folder; default ``smollm2-135m`` from ``$CCPAPERS_MODEL_CACHE``), full
  fine-tuning with ``ccpapers bench`` on one GPU and under FSDP on two, the same seeds and global
  batch; scores per seed and whether they agree within the seed-to-seed spread;
* ``sweep``: one sweep worker per GPU (``CUDA_VISIBLE_DEVICES=i``) on one SQLite storage, one
  worker SIGKILLed mid-trial and restarted: N trials finished, none twice, none lost; wall time
  against one worker;
* ``extras``, as far as time allows: the issue's ``fsdp-lora.yaml`` command, 13b LoRA on one GPU
  (scaling efficiency), 13b full fine-tuning where it fits (H200), 7b full fine-tuning on one GPU
  in the configuration that learns there (the 7b scaling reference), SmolLM2 under FSDP without
  FSDP's mixed precision (the one-GPU recipe: sharding alone against one GPU).

``--cpu``: the same logic on CPU processes (gloo; FSDP through the test harness), tiny shapes and
a tiny stand-in for the real model: a dry run of this script (numbers mean nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "bench" / "launch_harness"
NCCL_SAFETY = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}
PHASES = ("issue", "7b", "13b", "smollm2", "sweep", "extras")


class Check:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.out = Path(a.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.work = Path(a.work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.deadline = a.t0 + a.budget
        self.results: dict[str, Any] = {"cpu_dry_run": a.cpu, "phases": {}}
        self.log_path = self.out / "multigpu.log"

    # ------------------------------------------------------------------ plumbing

    def log(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')} +{time.time() - self.a.t0:5.0f}s] {msg}"
        print(line, flush=True)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def left(self) -> float:
        return self.deadline - time.time()

    def env(self, guard: Path | None = None, **extra: str) -> dict[str, str]:
        paths = [str(ROOT / "src"), str(ROOT)] + ([str(HARNESS)] if (self.a.cpu or guard) else [])
        env = {**os.environ, **NCCL_SAFETY, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH", "")] if p])
        env.setdefault("PYTORCH_ALLOC_CONF", "expandable_segments:True")
        if self.a.cpu:
            env |= {"CCPAPERS_TEST_FSDP_ON_CPU": "1", "OMP_NUM_THREADS": "1"}
        if guard is not None:
            env["CCPAPERS_TEST_HARNESS"] = str(guard)
        return env | extra

    def run(self, cmd: list[str], timeout: float, env: dict[str, str], label: str) -> dict[str, Any]:
        """Run ``cmd`` in its own process group (killed whole at ``timeout``); output to the log."""
        self.log(f"$ {' '.join(cmd)}  (timeout {timeout:.0f}s)")
        t0 = time.time()
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"----- {label}\n")
            fh.flush()
            p = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                rc = p.wait(timeout=max(1.0, timeout))
                timed_out = False
            except subprocess.TimeoutExpired:
                _kill_group(p)
                rc, timed_out = p.wait(), True
        wall = time.time() - t0
        self.log(f"  {label}: rc={rc}{' (timed out)' if timed_out else ''} in {wall:.1f}s")
        return {"rc": rc, "timed_out": timed_out, "wall_seconds": wall, "command": " ".join(cmd)}

    def launch(self, config: str, args: list[str], n: int = 2) -> list[str]:
        return [sys.executable, "-m", "accelerate.commands.launch", "--config_file"] + [
            str(ROOT / "train" / "accelerate" / config),
            "--num_processes",
            str(n),
            "--main_process_port",
            str(_free_port()),
            *args,
        ]

    def save(self, name: str, data: dict[str, Any]) -> None:
        self.results["phases"][name] = data
        (self.out / f"phase-{name}.json").write_text(
            json.dumps(data, indent=1, default=str), encoding="utf-8"
        )
        self.results["wall_seconds"] = time.time() - self.a.t0
        (self.out / "multigpu.json").write_text(
            json.dumps(self.results, indent=1, default=str), encoding="utf-8"
        )

    def budget(self, want: float, reserve: float = 0.0) -> float:
        return max(0.0, min(want, self.left() - reserve - 5))

    # ------------------------------------------------------------------ phases

    def phase_issue(self) -> dict[str, Any]:
        """The issue's command as typed (fsdp-full.yaml, method=full), every collective checked;
        the fsdp-lora.yaml one comes in ``extras``."""
        return {"fsdp_full": self.issue_run("fsdp_full", "fsdp-full.yaml", "method=full")}

    def issue_run(self, name: str, config: str, method: str) -> dict[str, Any]:
        t = self.budget(self.a.issue_timeout)
        if t < 30:
            return {"skipped": "out of time"}
        guard = self.work / f"guard-{name}"
        guard.mkdir(parents=True, exist_ok=True)
        wk = self.work / f"issue-{name}"
        args = ["-m", "ccpapers", "bench", "--tiny", method, "epochs=2", "max_questions=10"]
        args += ["--work", str(wk), "--run-name", name] + self.tiny_suite()
        r = self.run(self.launch(config, args), t, self.env(guard=guard), f"issue {name}")
        r["collectives"] = _guard_summary(guard)
        run = wk / "bench" / name
        if (run / "seed-0.json").is_file():
            seed = json.loads((run / "seed-0.json").read_text())
            r["precision"] = seed.get("precision")
            r["epochs"] = seed.get("epochs")
            r["peak_memory_gib_per_process"] = seed.get("peak_memory_gib_per_process")
            r["world_size"] = _config_event(run).get("world_size")
        return r

    def tiny_suite(self) -> list[str]:
        return (
            ["--suite-file", str(ROOT / "tests" / "bench" / "fixtures" / "fictional_mini.yaml")]
            if self.a.cpu
            else []
        )

    def bench(
        self, shape: str, method: str, n: int, timeout: float, label: str, extra: list[str]
    ) -> dict[str, Any]:
        out_json = self.work / f"{label}.json"
        script = ["-m", "benchmarks.multigpu_bench"]  # from ROOT (the cwd of every run)
        args = ["--shape", shape, "--method", method, "--work", str(self.work / "bench"), "--label", label]
        args += ["--out-json", str(out_json), *extra]
        if self.a.cpu:
            args += ["--suite-file", str(ROOT / "tests" / "bench" / "fixtures" / "fictional_mini.yaml")]
        if n > 1:
            config = "fsdp-full.yaml" if method == "full" else "fsdp-lora.yaml"
            cmd = self.launch(config, script + args, n)
            env = self.env()
        else:
            cmd = [sys.executable, *script, *args]
            env = self.env(CUDA_VISIBLE_DEVICES="0") if not self.a.cpu else self.env()
        r = self.run(cmd, timeout, env, label)
        if r["rc"] != 0 and not r["timed_out"] and "--compile" not in extra and self.left() > 120:
            # regional torch.compile inside FSDP units is the least proven part on GPUs: a failed
            # run is tried once more eagerly, and both outcomes are recorded
            self.log(f"  {label} failed; once more with --compile off")
            first = r
            r = self.run(cmd + ["--compile", "off"], self.budget(timeout), env, f"{label} (eager)")
            r["first_try_with_compile"] = first
        if out_json.is_file():
            r |= json.loads(out_json.read_text())
        return r

    def shape(self, name: str) -> str:
        return "tiny" if self.a.cpu else name

    def phase_7b(self) -> dict[str, Any]:
        t = self.budget(self.a.bench_timeout)
        # 1 row per GPU per step: the global batch of the one-GPU figure (seq 2048, grad_accum 2)
        extra = ["--epochs", "2", "--grad-accum", "1", "--max-new-tokens", "32"]
        r = self.bench(self.shape("7b"), "full", 2, t, "7b-full-fsdp2", extra)
        ref = self.a.ref_7b_full_tps
        if ref and r.get("steady_tokens_per_second_per_gpu"):
            r["scaling_efficiency_vs_ref"] = r["steady_tokens_per_second_per_gpu"] / ref
            r["reference_1gpu_tokens_per_second"] = ref
        else:
            r["scaling_efficiency_vs_ref"] = None
            r["reference_note"] = (
                "7b full fine-tuning with float32 master weights needs about 108 GB: no one-GPU run of it "
                "exists to compare with; pass --ref-7b-full-tps (tokens/s of the best one-GPU configuration "
                "that learns, e.g. a 16-bit optimizer with Kahan summation) to get the ratio"
            )
        return r

    def phase_13b(self) -> dict[str, Any]:
        from benchmarks.multigpu_bench import llama_params

        res: dict[str, Any] = {}
        extra = ["--epochs", "2", "--max-new-tokens", "32"]
        res["lora_fsdp2"] = self.bench(
            self.shape("13b"), "lora", 2, self.budget(self.a.bench_timeout), "13b-lora-fsdp2", extra
        )
        gib = _gpu_memory_gib()
        need = llama_params("13b") * 16 / 2 / 2**30  # float32 params + grads + AdamW m, v; sharded over 2
        fits = self.a.cpu or (gib is not None and need + 14 < gib)
        res["full_fsdp2_estimate"] = {
            "states_gib_per_gpu": need,
            "activation_margin_gib": 14,
            "gpu_memory_gib": gib,
            "fits": fits,
        }
        if not fits:
            res["full_fsdp2"] = {
                "skipped": f"does not fit: float32 master weights, gradients and AdamW states of 13.0 B "
                f"parameters are {need:.0f} GiB per GPU sharded over 2, the GPU has {gib or 0:.0f} GiB"
            }
        else:
            res["full_fsdp2"] = {"pending": "runs in extras if time is left"}
        return res

    def full13b(self) -> dict[str, Any]:
        ex = ["--epochs", "2", "--grad-accum", "1", "--max-new-tokens", "32"]
        t = self.budget(self.a.bench_timeout)
        return self.bench(self.shape("13b"), "full", 2, t, "13b-full-fsdp2", ex)

    def lora13b_one_gpu(self) -> dict[str, Any]:
        """13b LoRA on one GPU: the reference for the two-GPU run's scaling efficiency."""
        extra = ["--epochs", "2", "--max-new-tokens", "32"]
        t = self.budget(self.a.bench_timeout)
        return self.bench(self.shape("13b"), "lora", 1, t, "13b-lora-1gpu", extra)

    def real_model(self) -> str | None:
        """The real model's Hugging Face folder, resolved once (a registry name or a GGUF is
        converted here, before any run, so ranks and workers never convert it side by side)."""
        if hasattr(self, "_real"):
            return self._real
        self._real: str | None = None
        if self.a.cpu:
            self._real = str(_tiny_standin(self.work / "tiny-standin"))
            return self._real
        spec = self.a.smollm2 or os.environ.get("SMOLLM2", "") or "smollm2-135m"
        if (Path(spec) / "config.json").is_file():
            self._real = spec
            return spec
        code = "from ccpapers.bench.localmodels import resolve; import sys; print(resolve(sys.argv[1]))"
        out = subprocess.run(
            [sys.executable, "-c", code, spec],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        path = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else ""
        self.log(f"  real model {spec}: {path or 'not available: ' + out.stderr.strip()[-300:]}")
        self._real = path if path and (Path(path) / "config.json").is_file() else None
        return self._real

    def phase_smollm2(self) -> dict[str, Any]:
        """The real model, full fine-tuning: one GPU (grad_accum=2) and FSDP on two (grad_accum=1),
        the same seeds and global batch; ``extras`` adds FSDP with float32 compute."""
        model = self.real_model()
        if model is None:
            return {
                "skipped": "SmolLM2-135M is not on this machine: put its GGUF in $CCPAPERS_MODEL_CACHE/"
                "smollm2-135m/ (ccpapers bench fetch-model) or pass --smollm2 (name, .gguf or folder)"
            }
        seeds = "seeds=[0,1]" if self.a.cpu else "seeds=[0,1,2]"
        flags = ["--model", model, *self.tiny_suite()]
        # key=value overrides in one block at the end (the CLI takes them as one positional list)
        common = ["method=full", "dtype=fp32", seeds, *self.a.smollm2_args.split()]
        res: dict[str, Any] = {"model": model, "args": flags + common, "_flags": flags, "_common": common}
        for name in ("one_gpu", "fsdp2"):
            res[name] = self.smollm2_run(res, name)
            self.save("smollm2", res)
        return _compare_all(res)

    def smollm2_run(self, res: dict[str, Any], name: str) -> dict[str, Any]:
        bench = ["-m", "ccpapers", "bench"]
        head, batch, env = {
            "one_gpu": (
                [sys.executable, *bench],
                ["grad_accum=2"],
                self.env() if self.a.cpu else self.env(CUDA_VISIBLE_DEVICES="0"),
            ),
            "fsdp2": (self.launch("fsdp-full.yaml", bench), ["grad_accum=1"], self.env()),
            # FSDP without its MixedPrecision: ccpapers' own bf16 autocast on float32 weights, the
            # one-GPU recipe, so only the sharding differs
            "fsdp2_no_mp": (
                self.launch("fsdp-full.yaml", ["--mixed_precision", "no", *bench]),
                ["grad_accum=1"],
                self.env(),
            ),
        }[name]
        t = self.budget(self.a.smollm2_timeout)
        if t < 40:
            return {"skipped": "out of time"}
        extra = res.setdefault("_extra", [])
        wk = self.work / f"smollm2-{name}"
        cmd = head + ["--work", str(wk), "--run-name", name, *res["_flags"], *res["_common"], *batch]
        r = self.run(cmd + extra, t, env, f"smollm2 {name}")
        if r["rc"] != 0 and not r["timed_out"] and not extra and self.left() > 150:
            # regional compile inside FSDP units is the least proven part on GPUs
            self.log(f"  smollm2 {name} failed; it and the runs after it once more with compile=false")
            extra.append("compile=false")
            res["note"] = (
                "compile=false from the first run that failed with compile on (first_try_with_compile)"
            )
            first = r
            shutil.rmtree(wk, ignore_errors=True)
            r = self.run(cmd + extra, self.budget(self.a.smollm2_timeout), env, f"smollm2 {name} (eager)")
            r["first_try_with_compile"] = first
        return r | _run_record(wk / "bench" / name)

    def phase_extras(self) -> dict[str, Any]:
        """What fits in the time left, in this order, each into its phase's file: 7b full
        fine-tuning on one GPU in the configuration that learns there (the 7b scaling reference),
        the issue's fsdp-lora.yaml command, SmolLM2 under FSDP with the one-GPU precision recipe,
        13b LoRA on one GPU (its scaling efficiency), 13b full fine-tuning where it fits."""
        done: dict[str, Any] = {}
        P = self.results["phases"]  # noqa: N806
        if P.get("7b", {}).get("rc") == 0 and self.left() > 150:
            one = self.full7b_one_gpu()
            P["7b"]["one_gpu_reference"] = one
            two = P["7b"].get("steady_tokens_per_second_per_gpu")
            if two and one.get("steady_tokens_per_second_per_gpu"):
                P["7b"]["scaling_efficiency_vs_1gpu"] = two / one["steady_tokens_per_second_per_gpu"]
            self.save("7b", P["7b"])
            done["7b.one_gpu_reference"] = one.get("rc")
        if "issue" in P and self.left() > 70:
            P["issue"]["fsdp_lora"] = self.issue_run("fsdp_lora", "fsdp-lora.yaml", "method=lora")
            self.save("issue", P["issue"])
            done["issue.fsdp_lora"] = P["issue"]["fsdp_lora"].get("rc")
        if "_flags" in P.get("smollm2", {}) and self.left() > 90:
            P["smollm2"]["fsdp2_no_mp"] = self.smollm2_run(P["smollm2"], "fsdp2_no_mp")
            self.save("smollm2", _compare_all(P["smollm2"]))
            done["smollm2.fsdp2_no_mp"] = P["smollm2"]["fsdp2_no_mp"].get("rc")
        if P.get("13b", {}).get("lora_fsdp2", {}).get("rc") == 0 and self.left() > 120:
            one = self.lora13b_one_gpu()
            P["13b"]["lora_1gpu"] = one
            two = P["13b"]["lora_fsdp2"].get("steady_tokens_per_second_per_gpu")
            if two and one.get("steady_tokens_per_second_per_gpu"):
                P["13b"]["lora_scaling_efficiency"] = two / one["steady_tokens_per_second_per_gpu"]
            self.save("13b", P["13b"])
            done["13b.lora_1gpu"] = one.get("rc")
        if P.get("13b", {}).get("full_fsdp2", {}).get("pending") and self.left() > 170:
            P["13b"]["full_fsdp2"] = self.full13b()
            self.save("13b", P["13b"])
            done["13b.full_fsdp2"] = P["13b"]["full_fsdp2"].get("rc")
        return done

    def full7b_one_gpu(self) -> dict[str, Any]:
        """7b full fine-tuning on one GPU with dtype=auto: float32 master weights where 16 bytes a
        parameter fit (H200), else bf16 weights with the stochastic-rounding AdamW (H100); the
        same global batch as the two-GPU run (2 rows of 2048 per step)."""
        extra = ["--epochs", "2", "--grad-accum", "2", "--max-new-tokens", "32", "--dtype", "auto"]
        t = self.budget(self.a.bench_timeout)
        return self.bench(self.shape("7b"), "full", 1, t, "7b-full-1gpu", extra)

    def phase_sweep(self) -> dict[str, Any]:
        from benchmarks.sweep_check import sweep_phase

        return sweep_phase(self)

    def run_all(self) -> int:
        self.results["gpus"] = _gpu_names()
        self.results["env"] = {k: os.environ.get(k) for k in NCCL_SAFETY}
        for name in self.a.phases:
            if self.left() < 30:
                self.save(name, {"skipped": "out of time"})
                continue
            self.log(f"=== phase {name} ({self.left():.0f}s left)")
            t0 = time.time()
            try:
                data = getattr(self, f"phase_{name}")()
            except Exception as exc:  # noqa: BLE001 - recorded; the next phase still runs
                import traceback

                data = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
            data["phase_seconds"] = time.time() - t0
            self.save(name, data)
            self.log(f"=== phase {name} done in {data['phase_seconds']:.0f}s")
        self.log(f"all done in {time.time() - self.a.t0:.0f}s")
        return 0


# ---------------------------------------------------------------------- helpers


def _kill_group(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gpu_names() -> list[str]:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return [line.strip() for line in out.stdout.splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError):
        return []


def _gpu_memory_gib() -> float | None:
    names = _gpu_names()
    if not names:
        return None
    try:
        return min(float(x.split(",")[-1].strip().split()[0]) for x in names) / 1024  # MiB
    except ValueError:
        return None


def _guard_summary(guard: Path) -> dict[str, Any]:
    calls = [
        json.loads(line)
        for f in sorted(guard.glob("collectives-rank*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    ops: dict[str, int] = {}
    for c in calls:
        ops[c["op"]] = ops.get(c["op"], 0) + 1
    return {
        "calls": len(calls),
        "by_op": ops,
        "devices": sorted({d for c in calls for d in c["devices"]}),
        "problems": [c for c in calls if c["problems"]][:5],
        "from_generate": sum(c["function"] == "_has_unfinished_sequences" for c in calls),
    }


def _config_event(run: Path) -> dict[str, Any]:
    p = run / "results.jsonl"
    if not p.is_file():
        return {}
    for line in p.read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        if e["event"] == "config":
            return e
    return {}


def _run_record(run: Path) -> dict[str, Any]:
    """Scores, losses and timings of a finished ``ccpapers bench`` run folder."""
    rec: dict[str, Any] = {"out_dir": str(run)}
    seeds = sorted(run.glob("seed-*.json"), key=lambda p: int(p.stem[5:]))
    if not seeds:
        return rec
    data = [json.loads(p.read_text()) for p in seeds]
    rec["scores"] = {d["seed"]: d["score"] for d in data}
    rec["epoch_losses"] = {d["seed"]: [round(e["loss"], 4) for e in d["epochs"]] for d in data}
    rec["steps"] = {d["seed"]: d["steps"] for d in data}
    rec["precision"] = data[0].get("precision")
    rec["tokens_per_second"] = [d.get("tokens_per_second") for d in data]
    rec["peak_memory_gib_per_process"] = data[0].get("peak_memory_gib_per_process")
    rec["world_size"] = _config_event(run).get("world_size")
    if (run / "summary.json").is_file():
        s = json.loads((run / "summary.json").read_text())
        rec["summary"] = {k: s.get(k) for k in ("base_score", "score", "gain", "n_questions", "n_texts")}
    return rec


def _compare(one: dict[str, float], two: dict[str, float]) -> dict[str, Any]:
    """Do the sharded run's scores agree with the one-GPU run's within the seed-to-seed spread?
    Rule: |mean difference| <= the larger of the two sample SDs over seeds (same seeds both sides)."""
    from ccpapers.bench.evaluation import mean_ci

    a, b = mean_ci(list(one.values())), mean_ci(list(two.values()))
    spread = max(a["sd"], b["sd"])
    diff = b["mean"] - a["mean"]
    common = sorted(set(one) & set(two), key=str)
    return {
        "one_gpu": a,
        "fsdp2": b,
        "mean_difference": diff,
        "seed_spread_sd": spread,
        "per_seed_difference": {s: two[s] - one[s] for s in common},
        "within_seed_spread": abs(diff) <= spread,
        "rule": "|mean(fsdp2) - mean(one_gpu)| <= max(SD over seeds of either side)",
    }


def _compare_all(res: dict[str, Any]) -> dict[str, Any]:
    a = res.get("one_gpu", {})
    for name in ("fsdp2", "fsdp2_no_mp"):
        b = res.get(name, {})
        if a.get("scores") and b.get("scores"):
            res[f"comparison_{name}"] = _compare(a["scores"], b["scores"])
    return res


def _tiny_standin(folder: Path) -> Path:
    """A tiny random Llama saved as a Hugging Face folder: the CPU dry run's real model."""
    if (folder / "config.json").is_file():
        return folder
    from ccpapers.bench.config import BenchConfig
    from ccpapers.bench.inputs import load_suite, tiny_texts
    from ccpapers.bench.tiny import tiny_model, tiny_tokenizer

    suite = load_suite(
        BenchConfig(suite_file=str(ROOT / "tests" / "bench" / "fixtures" / "fictional_mini.yaml"))
    )
    tok = tiny_tokenizer(tiny_texts(suite))
    model = tiny_model(tok, seed=0)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT", "multigpu-out"), help="JSON files and the log")
    p.add_argument("--work", default="", help="run folders (default: /tmp/ccpapers-multigpu)")
    p.add_argument("--cpu", action="store_true", help="dry run on CPU processes (gloo), tiny shapes")
    p.add_argument(
        "--phases", default=",".join(PHASES), help=f"comma-separated, in order: {','.join(PHASES)}"
    )
    p.add_argument(
        "--budget", type=float, default=0.0, help="seconds for everything (default 525; --cpu 2400)"
    )
    p.add_argument("--t0", type=float, default=0.0, help="start time (epoch seconds) the budget counts from")
    p.add_argument(
        "--smollm2", default="", help="real model: registry name, .gguf or HF folder ($SMOLLM2; smollm2-135m)"
    )
    p.add_argument(
        "--smollm2-args",
        default="lr=3e-4 epochs=10 schedule=packed",
        help="bench key=value settings for the SmolLM2 runs",
    )
    p.add_argument("--ref-7b-full-tps", type=float, default=0.0, help="one-GPU tokens/s to compare 7b with")
    p.add_argument("--sweep-trials", type=int, default=0, help="trials per sweep study (default 4; --cpu 3)")
    a = p.parse_args(argv)
    a.phases = [x for x in a.phases.split(",") if x]
    bad = [x for x in a.phases if x not in PHASES]
    if bad:
        p.error(f"unknown phases {bad}; choose from {PHASES}")
    a.t0 = a.t0 or time.time()
    a.budget = a.budget or (2400.0 if a.cpu else 525.0)
    a.work = a.work or "/tmp/ccpapers-multigpu"
    a.sweep_trials = a.sweep_trials or (3 if a.cpu else 4)
    a.issue_timeout = 300.0 if a.cpu else 150.0
    a.bench_timeout = 400.0 if a.cpu else 170.0
    a.smollm2_timeout = 400.0 if a.cpu else 90.0
    if a.cpu:
        a.smollm2_args = "lr=1e-2 epochs=2 max_new_tokens=4 seq_len=128 schedule=packed"
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    return Check(a).run_all()


if __name__ == "__main__":
    raise SystemExit(main())
