"""End-to-end runs of every suite on the tiny model, resume, early stopping, report and CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch")

from ccpapers.bench.config import BenchConfig  # noqa: E402
from ccpapers.config import ConfigError  # noqa: E402

FIX = Path(__file__).parent / "fixtures"
FAST = dict(
    tiny=True,
    lora_r=8,
    lora_alpha=16,
    lr=5e-3,
    schedule="packed",
    seq_len=256,
    batch_rows=4,
    max_new_tokens=12,
)


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("benchwork")


@pytest.fixture(scope="module")
def fictional_run(work):
    from ccpapers.bench import run_bench

    cfg = BenchConfig(
        work=work,
        suite_file=str(FIX / "fictional_mini.yaml"),
        epochs=2,
        forgetting=True,
        mmlu_limit=6,
        mmlu_shots=2,
        run_name="fict",
        save_adapter=True,
        **FAST,
    )
    return cfg, run_bench(cfg)


def test_fictional_run_outputs(fictional_run, work):
    cfg, s = fictional_run
    out = work / "bench" / "fict"
    assert (
        (out / "config.resolved.yaml").is_file()
        and (out / "summary.json").is_file()
        and (out / "seed-0.json").is_file()
    )
    kinds = [e["event"] for e in events(out)]
    env = events(out)[0]["environment"]
    assert env["versions"]["torch"] and env["device"] == "cpu"
    for k in ("config", "baseline", "loss", "prediction", "seed_result", "summary"):
        assert k in kinds, k
    preds = [e for e in events(out) if e["event"] == "prediction"]
    assert len(preds) == 10 and all(e["gain"] == pytest.approx(e["score"] - e["base_score"]) for e in preds)
    assert s["n_texts"] == 20 and s["texts_per_fact_used"] == 10
    assert s["gain"]["mean"] == pytest.approx(s["score"]["mean"] - s["base_score"])
    assert (
        s["tokens_per_second"] > 0
        and "mfu" in s
        and "flops_basis" in json.loads((out / "seed-0.json").read_text())
    )
    assert s["mmlu"]["n"] == 1 and 0 <= s["base_mmlu"] <= 1 and "mmlu_gain" in s
    assert "NOTHING" in s["warning"]
    assert (out / "adapter-seed0" / "adapter_config.json").is_file()
    assert s["objective_value"] == pytest.approx(s["gain"]["mean"] * 1.3010299956639813)  # log10(20)
    assert s["intervals"]["gain"]["kind"] == "bootstrap over questions"  # one seed: item-level interval
    assert math.isnan(s["gain"]["ci_low"])  # and no zero-width seed interval


def test_lm_eval_harness_style_results(fictional_run, work):
    _, s = fictional_run
    res = json.loads((work / "bench" / "fict" / "results_lm_eval.json").read_text())
    for key in ("results", "versions", "n-shot", "higher_is_better", "n-samples", "configs", "config"):
        assert key in res, key
    task = res["results"]["ccpapers_fictional"]
    assert task["keywords,none"] == pytest.approx(s["score"]["mean"])
    assert task["gain,none"] == pytest.approx(s["gain"]["mean"])
    assert task["base_keywords,none"] == pytest.approx(s["base_score"])
    assert isinstance(task["keywords_stderr,none"], (float, str))
    assert res["results"]["ccpapers_fictional_base"]["keywords,none"] == pytest.approx(s["base_score"])
    assert res["n-shot"]["mmlu_forgetting"] == 2 and res["results"]["mmlu_forgetting"][
        "acc,none"
    ] == pytest.approx(s["mmlu"]["mean"])
    assert res["n-samples"]["ccpapers_fictional"] == {"original": 10, "effective": 10}
    assert (
        res["config"]["model_args"].startswith("pretrained=tiny") and res["config"]["training"]["epochs"] == 2
    )


def test_resume_skips_finished_seeds_and_caches_baseline(fictional_run, work):
    from ccpapers.bench import run_bench

    cfg, first = fictional_run
    from dataclasses import replace

    s = run_bench(replace(cfg, seeds=[0, 1]))
    assert s["seeds"] == [0, 1] and s["baseline_cached"] is True
    seed_events = [e["seed"] for e in events(work / "bench" / "fict") if e["event"] == "seed_result"]
    assert seed_events.count(0) == 1 and seed_events.count(1) == 1  # seed 0 was not re-trained
    assert s["gain"]["n"] == 2


def test_damaged_seed_and_baseline_files_are_recomputed(fictional_run, work, capsys):
    from dataclasses import replace

    from ccpapers.bench import run_bench

    cfg, _ = fictional_run
    cfg = replace(cfg, run_name="damaged", save_adapter=False, max_questions=4, forgetting=False)
    run_bench(cfg)
    out = work / "bench" / "damaged"
    (out / "seed-0.json").write_text('{"seed": 0, "sco')
    caches = sorted((work / "bench" / ".baselines").glob("*.json"))
    for c in caches:
        c.write_text("{not json")
    s = run_bench(cfg)
    err = capsys.readouterr().err
    assert "seed 0: " in err and "seed-0.json is damaged" in err and "recomputing" in err
    assert (out / "seed-0.json.corrupt").is_file() and json.loads((out / "seed-0.json").read_text())[
        "seed"
    ] == 0
    assert s["baseline_cached"] is False and any(Path(str(c) + ".corrupt").is_file() for c in caches)
    assert [e["seed"] for e in events(out) if e["event"] == "seed_result"] == [0, 0]  # re-trained once


def test_keyword_score_rises_after_overfitting(work):
    from ccpapers.bench import run_bench

    data = yaml.safe_load((FIX / "fictional_mini.yaml").read_text())
    for d in data["documents"]:  # a QA variant in the exact plain prompt format
        d["variants"]["qa"] = "\n".join(
            f"Question: {q['question']}\nAnswer: {q['answer']}" for q in d["questions"]
        )
    suite = work / "qa_suite.yaml"
    suite.write_text(yaml.safe_dump(data, allow_unicode=True))
    s = run_bench(
        BenchConfig(
            work=work,
            suite_file=str(suite),
            tiny=True,
            method="full",
            lr=3e-3,
            epochs=80,
            variants=["qa"],
            seq_len=256,
            max_new_tokens=16,
            run_name="overfit",
        )
    )
    assert s["base_score"] == 0.0
    assert s["score"]["mean"] >= 0.2, s["score"]


def test_papers_suite_end_to_end(work):
    from ccpapers.bench import run_bench
    from tests.bench.test_bench_suites import _write_build

    _write_build(work)
    s = run_bench(
        BenchConfig(
            work=work,
            suite="papers",
            build="mini",
            epochs=1,
            n_irrelevant=2,
            run_name="papers",
            prompt="chat",
            **FAST,
        )
    )
    ev = events(work / "bench" / "papers")
    scorers = {e["scorer"] for e in ev if e["event"] == "prediction"}
    assert scorers == {"rouge2", "mcq-loglik"}
    assert s["n_texts"] == 5 and s["n_irrelevant"] == 2  # 3 target texts + 2 irrelevant


def test_mmlu_suite_scores_base_only(work):
    from ccpapers.bench import run_bench

    s = run_bench(
        BenchConfig(work=work, suite="mmlu", epochs=0, mmlu_limit=4, mmlu_shots=1, run_name="mmlu", **FAST)
    )
    assert s["n_questions"] == 4 and s["gain"]["mean"] == 0.0


def test_early_stopping_on_dev_questions(work):
    from ccpapers.bench import run_bench

    with pytest.raises(ConfigError, match="dev_questions"):
        run_bench(BenchConfig(work=work, early_stopping=1, **FAST))
    s = run_bench(
        BenchConfig(
            work=work,
            suite_file=str(FIX / "fictional_mini.yaml"),
            epochs=5,
            dev_questions=2,
            early_stopping=1,
            texts_per_fact=1,
            run_name="es",
            **{**FAST, "lr": 1e-9},
        )
    )
    ev = events(work / "bench" / "es")
    dev = [e for e in ev if e["event"] == "epoch_eval"]
    assert dev and all(e["split"] == "dev" for e in dev)
    assert len(dev) < 5  # a flat dev score stops training early
    assert s["n_questions"] == 8  # 2 of 10 held out


def test_report_writes_markdown_csv_and_plots(fictional_run, work):
    from ccpapers.bench import write_report

    res = write_report(work / "bench", work / "report")
    md = Path(res["markdown"]).read_text()
    assert "TINY" in md and "| fict |" in md
    assert res["runs"] >= 1
    for p in res["plots"]:
        data = Path(p).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    header = Path(res["csv"]).read_text().splitlines()[0]
    assert header.startswith("run,suite,model,method")


def test_cli_run_shows_progress_and_the_interval(work, capsys):
    from ccpapers.cli import main

    args = [
        "bench",
        "epochs=2",
        "--work",
        str(work),
        "--suite-file",
        str(FIX / "fictional_mini.yaml"),
        "--tiny",
        "--lora-r",
        "4",
        "--lora-alpha",
        "8",
        "--seq-len",
        "128",
        "--batch-rows",
        "1",
        "--max-new-tokens",
        "4",
        "--run-name",
        "cli",
    ]
    rc = main([*args, "-v"])
    cap = capsys.readouterr()
    out, err = cap.out, cap.err
    assert (
        rc == 0
        and "TINY MODEL" in out
        and "gain interval: " in out
        and "paired bootstrap over 10 questions" in out
    )
    assert "run cli: suite fictional (10 questions), model tiny" in err
    assert "baseline: the base model answers every question" in err
    assert "seed 0: training on 20 texts" in err
    for epoch in (1, 2):
        assert f"seed 0 epoch {epoch}/2: loss " in err and "tok/s" in err and "training ETA" in err
    assert "  seed 0 step 1/" in err  # -v: a line per optimizer step
    assert "scored 10 questions (keywords) in " in err
    assert yaml.safe_load((work / "bench" / "cli" / "config.resolved.yaml").read_text())["epochs"] == 2
    assert main(["bench", "run", *args[2:]]) == 0  # resumed: nothing trained again
    err = capsys.readouterr().err
    assert "seed 0: finished earlier (seed-0.json), skipped" in err and "step 1/" not in err
    assert main(["bench", "report", "--work", str(work)]) == 0
    assert "ccpapers bench report" in capsys.readouterr().out
    assert (work / "bench" / "report" / "gain_by_run.png").is_file()


def test_tensorboard_tracking_without_a_server(work):
    pytest.importorskip("tensorboardX")
    from tensorboardX.proto import event_pb2

    from ccpapers.bench import run_bench

    run_bench(
        BenchConfig(
            work=work,
            suite_file=str(FIX / "fictional_mini.yaml"),
            epochs=2,
            max_questions=3,
            report_to=["tensorboard"],
            run_name="tracked",
            **FAST,
        )
    )
    tags = set()
    for f in (work / "bench" / "tracked" / "tracking").rglob("events.out.tfevents.*"):
        data = f.read_bytes()
        at = 0
        while at + 12 <= len(data):  # TFRecord: length, crc, payload, crc
            n = int.from_bytes(data[at : at + 8], "little")
            ev = event_pb2.Event.FromString(data[at + 12 : at + 12 + n])
            tags |= {v.tag for v in ev.summary.value}
            at += 12 + n + 4
    for tag in ("seed0/train/loss", "seed0/train/epoch_loss", "seed0/train/tokens_per_second", "eval/gain"):
        assert tag in tags, (tag, sorted(tags))


def test_wandb_tracking_when_installed_and_a_clear_error_when_not(work, monkeypatch):
    import importlib.machinery
    import sys
    import types

    from ccpapers.bench import run_bench

    cfg = BenchConfig(
        work=work,
        suite_file=str(FIX / "fictional_mini.yaml"),
        epochs=1,
        max_questions=3,
        run_name="wb",
        **FAST,
    )
    from dataclasses import replace

    if "wandb" not in sys.modules:
        with pytest.raises(ConfigError, match="report_to: not installed: wandb"):
            run_bench(replace(cfg, report_to=["wandb"]))
    logged, finished = [], []
    fake = types.ModuleType("wandb")
    fake.__spec__ = importlib.machinery.ModuleSpec("wandb", None)
    fake.config = types.SimpleNamespace(
        update=lambda values, allow_val_change=True: logged.append(("config", values))
    )
    fake.init = lambda project, **kw: types.SimpleNamespace(
        log=lambda values, step=None: logged.append((step, values)), finish=lambda: finished.append(project)
    )
    monkeypatch.setitem(sys.modules, "wandb", fake)
    run_bench(replace(cfg, report_to=["wandb"]))
    assert finished == ["wb"] and logged[0][0] == "config" and logged[0][1]["epochs"] == 1
    keys = {k for _, v in logged[1:] for k in v}
    assert {"seed0/train/loss", "eval/score", "eval/gain"} <= keys


class _FakeJudgeBackend:
    """Speaks the build backends' protocol (payload -> send -> parse) without any network."""

    name = "fake-judge"
    supports = frozenset({"chat"})
    key_envs: tuple[str, ...] = ()
    prompts: list[str] = []

    def __init__(self, model: str = "", **_):
        self.model = model or "fake"

    def payload(self, request):
        return {"prompt": request.instruction}

    def send(self, payload, **_):
        type(self).prompts.append(payload["prompt"])
        return {"text": '{"explanation": "ok", "rating": 8}'}

    def parse(self, raw):
        from ccpapers.builder.backends.base import Reply

        return Reply(texts=[raw["text"]])


def test_optional_judge_through_backend_registry(work, monkeypatch):
    from ccpapers.bench import run_bench
    from ccpapers.registry import BACKENDS

    BACKENDS.names()  # the built-ins first; the fake leaves the registry with the test
    monkeypatch.setitem(BACKENDS._targets, "fake-judge", _FakeJudgeBackend)
    s = run_bench(
        BenchConfig(
            work=work,
            suite_file=str(FIX / "fictional_mini.yaml"),
            epochs=1,
            judge="fake-judge",
            max_questions=3,
            run_name="judge",
            **FAST,
        )
    )
    preds = [e for e in events(work / "bench" / "judge") if e["event"] == "prediction"]
    assert [e["judge_rating"] for e in preds] == [8.0, 8.0, 8.0]
    assert "[The Start of Reference Answer]\nMira Osei discovered aurelite." in _FakeJudgeBackend.prompts[0]
    assert json.loads((work / "bench" / "judge" / "seed-0.json").read_text())["judge"] == 8.0
    assert s["n_questions"] == 3


def test_shipped_experiment_configs_resolve():
    from ccpapers.config import config_from_mapping
    from ccpapers.resources import recipe_dir

    files = sorted((recipe_dir("train") / "experiments").glob("*.yaml"))
    assert len(files) >= 4
    for f in files:
        cfg = config_from_mapping(BenchConfig, yaml.safe_load(f.read_text()), origin=str(f))
        cfg.validate()


@pytest.mark.parametrize("method", ["lora", "full"])
def test_resident_base_is_restored_after_a_run(work, method):
    """Sweeps reuse one loaded base model: after a run it must be bit-identical to before."""
    import torch

    from ccpapers.bench.inputs import load_suite, tiny_texts
    from ccpapers.bench.models import load_model
    from ccpapers.bench.runner import run_bench

    cfg = BenchConfig(
        work=work,
        suite_file=str(FIX / "fictional_mini.yaml"),
        epochs=2,
        method=method,
        texts_per_fact=2,
        run_name=f"resident-{method}",
        **FAST,
    )
    lm = load_model(cfg, tiny_texts(load_suite(cfg)))
    before = {k: v.clone() for k, v in lm.model.state_dict().items()}
    s = run_bench(cfg, resident=lm)
    assert s["tokens_per_second"] > 0
    after = lm.model.state_dict()
    assert set(after) == set(before)  # no adapter modules left behind
    assert all(torch.equal(after[k], before[k]) for k in before)
