"""The table a run prints at the end: study-style against ccpapers, phase by phase."""

from __future__ import annotations

from typing import Any

from benchmarks.bench_gpu.results import GpuBenchResults


def fmt(x: Any, spec: str = ",.0f") -> str:
    if x is None:
        return "-"
    return format(x, spec)


def ratio(a: Any, b: Any) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def table(res: GpuBenchResults) -> str:
    """The study-style vs ccpapers table printed at the end of a run."""
    R = res.to_dict()
    L = [
        f"device: {R['device']}  torch {R['versions']['torch']}  transformers {R['versions']['transformers']}"
    ]
    L.append(f"{'':34}{'study-style':>14}{'ccpapers':>14}{'ratio':>9}")

    def row(name: str, b: Any, c: Any, spec: str = ",.0f", r: str | None = None) -> None:
        L.append(f"{name:34}{fmt(b, spec):>14}{fmt(c, spec):>14}{(r if r is not None else ratio(c, b)):>9}")

    for key, label, k in (("lora", "LoRA", "4N"), ("full", "full FT", "6N")):
        if key not in R or "ccpapers" not in R[key]:
            continue
        b, c = R[key]["baseline"], R[key]["ccpapers"]
        if "ccpapers_text" in R[key]:
            t = R[key]["ccpapers_text"]
            row(f"{label} one text/step tokens/s", b["tokens_per_second"], t["tokens_per_second"])
        row(f"{label} train tokens/s", b["tokens_per_second"], c["tokens_per_second"])
        row(f"{label} MFU ({k}, 989 TFLOP/s)", b["mfu"], c["mfu"], ".1%")
        row(f"{label} peak memory (GiB)", b["peak_memory_gib"], c["peak_memory_gib"], ".1f", "")
    if "eval" in R:
        e = R["eval"]
        b, c = e["baseline"]["extrapolated_seconds"], e["ccpapers"]["seconds"]
        row(f"eval {e['questions']} q x {e['max_new_tokens']} tok (s)", b, c, ",.1f", ratio(b, c))
        L.append(
            f"  (baseline timed on {e['baseline']['questions']} questions and scaled; ccpapers first call "
            f"{e['ccpapers']['first_call_seconds']:.1f} s)"
        )
        c = e["ccpapers"]
        L.append(
            f"  (other {e['questions']} questions {c['other_questions_seconds']:.1f} s; "
            f"{c['forward_passes']} forward passes per call = batches x (prefill + decode steps))"
        )
        if "identity_fp32" in e:
            f = e["identity_fp32"]
            L.append(
                f"  float32: identical to unbatched greedy {f['identical']}/{f['checked']} (batch {f['batch']})"
            )
        i = e["identity"]
        L.append(
            f"  answers identical to unbatched greedy: {i['identical']}/{i['checked']}"
            + (
                f" (differing ones had min top-2 logit gap {i['min_gap_different']})"
                if not i["all_identical"]
                else ""
            )
        )
    if "trial_switch" in R:
        t = R["trial_switch"]
        L.append(
            f"trial switch (unload + fresh adapter): {t['seconds']:.3f} s, base logits max diff {t['max_abs_logit_diff_vs_base']}"
        )
    if "fictional" in R:
        for m, f in R["fictional"].items():
            ep = ", ".join(f"{e['seconds']:.1f}" for e in f.get("epochs") or [])
            L.append(
                f"fictional {m}: peak {fmt(f['peak_memory_gib'], '.1f')} GiB, s/epoch [{ep}], "
                f"{fmt(f['tokens_per_second'])} tok/s, eval {f['eval_seconds']:.1f} s"
            )
    if R.get("targets"):
        L.append("targets: " + ", ".join(f"{k} {'MET' if v else 'missed'}" for k, v in R["targets"].items()))
    return "\n".join(L)
