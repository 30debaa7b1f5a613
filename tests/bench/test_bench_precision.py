"""Full fine-tuning that learns: stochastic rounding, the optimizer choice, float32 master weights."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")

from ccpapers.bench.optim import make_optimizer, resolve_optimizer, stochastic_round_  # noqa: E402


def test_stochastic_rounding_is_unbiased_where_plain_rounding_loses_the_update():
    x = torch.full((200_000,), 1.0 + 1e-3)  # bf16 steps near 1.0 are 2**-7 = 0.0078
    assert torch.all(x.to(torch.bfloat16) == 1.0)  # round-to-nearest loses the 1e-3 entirely
    out = torch.empty_like(x, dtype=torch.bfloat16)
    stochastic_round_(out, x)
    vals = set(out.float().unique().tolist())
    assert vals <= {1.0, 1.0078125}
    assert out.float().mean().item() == pytest.approx(1.001, abs=1e-4)
    neg = torch.empty_like(out)
    stochastic_round_(neg, -x)
    assert neg.float().mean().item() == pytest.approx(-1.001, abs=1e-4)


def test_optimizer_choice_never_picks_pure_bf16_silently(caplog):
    bf16 = [torch.nn.Parameter(torch.zeros(3, dtype=torch.bfloat16))]
    fp32 = [torch.nn.Parameter(torch.zeros(3))]
    assert resolve_optimizer("auto", bf16) == "adamw-sr"
    assert resolve_optimizer("auto", fp32) == "adamw"
    with caplog.at_level(logging.WARNING):
        assert resolve_optimizer("adamw", bf16) == "adamw"
    assert "pure 16-bit AdamW" in caplog.text


def _train_steps(model, tok, opt_name, steps, lr=1e-5):
    ids = torch.tensor([tok("Aurelite stores 412 watt hours per kilogram at 25 degrees.")["input_ids"]])
    params = [p for p in model.parameters() if p.requires_grad]
    opt, name = make_optimizer(params, opt_name, lr, 0.0)
    losses = []
    for _ in range(steps):
        out = model(input_ids=ids, labels=ids, use_cache=False)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(out.loss))
    return losses, name


def test_bf16_full_finetuning_moves_like_float32_with_stochastic_rounding(tiny_tok):
    """One model three ways at lr 1e-5: float32 (reference), bf16 weights with the default
    optimizer (stochastic rounding) and bf16 with pure bf16 AdamW (the old default)."""
    from ccpapers.bench.tiny import tiny_model

    torch.manual_seed(0)
    ref = tiny_model(tiny_tok, seed=0)
    w0 = {k: v.clone() for k, v in ref.state_dict().items()}
    runs = {}
    for label, dtype, opt in (
        ("fp32", torch.float32, "auto"),
        ("sr", torch.bfloat16, "auto"),
        ("pure", torch.bfloat16, "adamw"),
    ):
        m = tiny_model(tiny_tok, seed=0).to(dtype)
        start = {k: v.float().clone() for k, v in m.state_dict().items()}
        torch.manual_seed(1)
        losses, name = _train_steps(m, tiny_tok, opt, 1)
        delta = torch.cat([(v.float() - start[k]).flatten() for k, v in m.state_dict().items()])
        runs[label] = (delta, name)
    assert runs["sr"][1] == "adamw-sr" and runs["pure"][1] == "adamw"
    moved = {k: float((d != 0).float().mean()) for k, (d, _) in runs.items()}
    # one Adam step moves every weight by about lr = 1e-5: float32 moves nearly all of them,
    # pure bf16 AdamW (steps of 2**-7 relative) almost none, stochastic rounding a fraction
    # whose expected size equals the float32 step
    assert moved["fp32"] > 0.9 and moved["pure"] < 0.02 and moved["sr"] > 0.02
    d_ref, d_sr, d_pure = runs["fp32"][0], runs["sr"][0], runs["pure"][0]
    assert d_sr.abs().sum() == pytest.approx(d_ref.abs().sum(), rel=0.5)
    assert float(d_pure.abs().sum()) < 0.1 * float(d_ref.abs().sum())
    cos = torch.nn.functional.cosine_similarity(d_sr, d_ref, dim=0)
    assert cos > 0.3  # noisy per weight, aligned in aggregate
    assert w0  # the reference model itself was not trained


def test_float32_master_weights_fit_rule():
    from ccpapers.bench.models import full_ft_fits_fp32

    gib = 2**30
    assert full_ft_fits_fp32(134_515_008, 80 * gib)  # SmolLM2-135M: 2 GiB of weights + Adam
    assert not full_ft_fits_fp32(6_738_415_616, 80 * gib)  # Llama-2-7B on an 80 GB H100: 108 GB
    assert full_ft_fits_fp32(6_738_415_616, 141 * gib)  # ... fits an H200


def test_precision_is_recorded_and_cpu_training_is_float32(tiny_lm, tiny_tok):
    from accelerate import Accelerator

    from ccpapers.bench.config import BenchConfig
    from ccpapers.bench.packing import text_rows, tokenize_texts
    from ccpapers.bench.training import train

    for p in tiny_lm.parameters():
        p.requires_grad_(True)
    cfg = BenchConfig(tiny=True, method="full", lr=1e-5, epochs=1).for_device(cuda=False)
    rows = text_rows(tokenize_texts(tiny_tok, ["Zorblax crystals glow green."]), 64)
    hist = train(tiny_lm, rows, cfg, Accelerator(cpu=True), "sdpa")
    assert hist["precision"] == {"weights": "float32", "autocast": None, "optimizer": "adamw"}
