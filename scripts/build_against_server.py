#!/usr/bin/env python3
"""Run ``ccpapers build`` against a real local OpenAI-compatible server and report what happened.

Starts the server on 127.0.0.1 from its own virtual environment, waits until it answers, runs
``ccpapers build`` with ``OPENAI_BASE_URL`` pointing at it (the build's own defaults unless
arguments follow ``--``), stops the server, and prints the command lines, the HTTP requests the
server logged (by path and status), rows kept and dropped per split by reason, the structured
output mode found, the pacing and the time. The summary is also written as JSON (``--out``).

    # llama-cpp-python 0.3.36 (pip install 'llama-cpp-python[server]' into its own venv)
    python scripts/build_against_server.py --server llama-cpp-python \\
        --python /work/venvs/llamacpp/bin/python --model SmolLM2-135M-Instruct.Q4_1.gguf \\
        --work ccpapers-work/demo -- --spec nature-family-augmented --limit 3

    # transformers serve (pip install 'transformers[serving]' torch into its own venv)
    python scripts/build_against_server.py --server transformers-serve \\
        --python /work/venvs/tfserve/bin/python --model path/to/SmolLM2-135M-Instruct \\
        --work ccpapers-work/demo -- --spec nature-family-augmented --limit 3

The work directory must hold the papers (``ccpapers demo --no-bench --work DIR`` makes the demo's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # python then turns it into KeyboardInterrupt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(server: str, python: str, model: str, port: int) -> list[str]:
    if server == "llama-cpp-python":
        return [
            python,
            "-m",
            "llama_cpp.server",
            "--model",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    cli = str(Path(python).parent / "transformers")
    return [cli, "serve", model, "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]


def wait_until_up(url: str, proc: subprocess.Popen, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode} before answering")
        for path in ("/health", "/v1/models"):
            try:
                with urllib.request.urlopen(url + path, timeout=5) as reply:
                    if reply.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
        time.sleep(2)
    raise SystemExit(f"the server did not answer within {limit:.0f} s")


def logged_requests(log_text: str) -> dict[str, int]:
    """uvicorn's access log lines: ``"POST /v1/chat/completions HTTP/1.1" 500``."""
    found = re.findall(r'"(GET|POST) (\S+) HTTP/[\d.]+" (\d{3})', log_text)
    return dict(Counter(f"{method} {path} {status}" for method, path, status in found))


def summarise(report: dict) -> dict:
    gens = report.get("generators", {})
    return {
        "spec": report.get("spec"),
        "papers_used": report.get("papers_used"),
        "calls": report.get("calls"),
        "cache_hits": report.get("cache_hits"),
        "rows": report.get("splits"),
        "drops": report.get("drops"),
        "empty_splits": report.get("empty_splits"),
        "structured_output": {s: g.get("structured_output") for s, g in gens.items()},
        "structured_output_changes": sorted(
            {c for g in gens.values() for c in g.get("structured_output_changes") or []}
        ),
        "model": sorted({g.get("model") for g in gens.values()}),
        "failed": report.get("engine", {}).get("failed"),
        "failure_messages": report.get("engine", {}).get("failure_messages"),
        "retries": report.get("engine", {}).get("retries"),
        "pacing": report.get("engine", {}).get("pacing"),
        "tokens": report.get("tokens"),
        "elapsed_s": report.get("elapsed_s"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", choices=["llama-cpp-python", "transformers-serve"], required=True)
    ap.add_argument("--python", required=True, help="the server venv's python")
    ap.add_argument("--model", required=True, help="GGUF file (llama-cpp-python) or model folder")
    ap.add_argument("--work", required=True, help="ccpapers work directory holding papers/papers.parquet")
    ap.add_argument("--out", default="", help="write the summary JSON here")
    ap.add_argument("--startup", type=float, default=900.0, help="seconds to wait for the server")
    ap.add_argument("build_args", nargs="*", help="after --: arguments for `ccpapers build`")
    args = ap.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = Path(args.work) / f"{args.server}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    server_cmd = server_command(args.server, args.python, args.model, port)
    build_cmd = [
        sys.executable,
        "-m",
        "ccpapers",
        "build",
        "--work",
        args.work,
        "--no-progress",
        *args.build_args,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    print("server:", shlex.join(server_cmd), flush=True)
    with open(log_path, "w") as log:
        server = subprocess.Popen(server_cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            ready = wait_until_up(base, server, args.startup)
            print(f"server up after {ready:.0f} s", flush=True)
            print(f"build:  OPENAI_BASE_URL={base}/v1 {shlex.join(build_cmd[1:])}", flush=True)
            started, began = time.monotonic(), time.time()
            build = subprocess.run(
                build_cmd,
                env={**env, "OPENAI_BASE_URL": f"{base}/v1"},
                capture_output=True,
                text=True,
                preexec_fn=_interruptible,  # Ctrl-C (SIGINT) reaches the build even from a background job
            )
            wall = time.monotonic() - started
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    print(build.stdout[-6000:])
    print(build.stderr[-4000:], file=sys.stderr)
    reports = sorted(
        (p for p in Path(args.work, "builds").glob("*/report.json") if p.stat().st_mtime >= began),
        key=lambda p: p.stat().st_mtime,
    )  # only a report this build wrote (a stopped build writes none)
    summary = {
        "server": args.server,
        "server_command": shlex.join(server_cmd),
        "build_command": f"OPENAI_BASE_URL={base}/v1 " + shlex.join(["ccpapers", *build_cmd[3:]]),
        "exit_code": build.returncode,
        "wall_s": round(wall, 1),
        "server_requests": logged_requests(log_path.read_text(errors="replace")),
        "stderr_tail": build.stderr.strip().splitlines()[-12:],
        "report": summarise(json.loads(reports[-1].read_text())) if reports else None,
    }
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    return build.returncode


if __name__ == "__main__":
    sys.exit(main())
