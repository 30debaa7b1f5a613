"""The ccpapers side of a training comparison: ``bench.training.fit`` on packed rows (or one
text per step), measured as ``ccpapers bench`` runs it."""

from __future__ import annotations

from typing import Any

from benchmarks.bench_gpu.measure import mfu, peak_gib, reset_peak


def ccpapers_train(lm: Any, model: Any, packed: Any, cfg: Any, acc: Any) -> dict:
    """Train ``model`` on ``packed`` with ``cfg``; steady tokens/s (last epoch), MFU, peak memory."""
    from ccpapers.bench.training import fit

    reset_peak(acc.device)
    res = fit(model, packed, cfg, acc, lm.attention, 0, lm.info["matmul_params"]).record
    acc.free_memory()
    last = res["epochs"][-1]
    k = 4 if cfg.method == "lora" else 6
    steady = last["tokens"] / last["seconds"]
    by_text = res.get("schedule") == "text"
    return {
        "tokens_per_second": steady,
        "mfu": mfu(steady, k, lm.info["matmul_params"], acc.device),
        "tokens_per_second_incl_compile": res["tokens_per_second"],
        "peak_memory_gib": peak_gib(acc.device),
        "epochs": res["epochs"],
        "schedule": res.get("schedule"),
        "optimizer_steps": res.get("steps"),
        "tokens_per_step": res.get("tokens_per_step"),
        "precision": res.get("precision"),
        "rows": len(packed),
        "row_tokens": None if by_text else cfg.seq_len,
        "real_tokens_per_epoch": packed.n_tokens,
        "padding_share": 0.0 if by_text else 1 - packed.n_tokens / (len(packed) * cfg.seq_len),
        "compile": cfg.compile,
        "loss_first_last": [res["losses"][0]["loss"], res["losses"][-1]["loss"]] if res["losses"] else None,
    }
