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
        losses.append(float(out.loss.detach()))
    return losses, name


def test_bf16_full_finetuning_moves_like_float32_with_stochastic_rounding(tiny_tok):
    """One model three ways, one step at lr 1e-5: float32 (reference), bf16 weights with the
    default optimizer (stochastic rounding) and bf16 with pure bf16 AdamW (the old default).
    Adam's first step moves every weight with a gradient by lr; where bf16's spacing exceeds
    twice that (|w| > ~2.6e-3), round-to-nearest drops the update, stochastic rounding keeps it
    on average."""
    from ccpapers.bench.tiny import tiny_model

    runs = {}
    for label, dtype, opt in (
        ("fp32", torch.float32, "auto"),
        ("sr", torch.bfloat16, "auto"),
        ("pure", torch.bfloat16, "adamw"),
    ):
        m = tiny_model(tiny_tok, seed=0).to(dtype)
        start = torch.cat([v.float().flatten() for v in m.state_dict().values()])
        torch.manual_seed(1)
        _, name = _train_steps(m, tiny_tok, opt, 1)
        now = torch.cat([v.float().flatten() for v in m.state_dict().values()])
        runs[label] = (now - start, start, name)
    assert runs["sr"][2] == "adamw-sr" and runs["pure"][2] == "adamw"
    d_ref, w = runs["fp32"][0], runs["fp32"][1]
    coarse = (d_ref != 0) & (w.abs() > 4e-3)  # bf16 spacing > 2 x the update here
    assert int(coarse.sum()) > 1000
    along = {k: float((d * d_ref.sign())[coarse].mean()) for k, (d, _, _) in runs.items()}
    assert along["fp32"] == pytest.approx(1e-5, rel=0.01)
    assert along["sr"] == pytest.approx(1e-5, rel=0.15)  # unbiased: the float32 step on average
    assert abs(along["pure"]) < 1e-7  # round-to-nearest: nothing moves
    assert float((runs["pure"][0][coarse] != 0).float().mean()) == 0.0


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
    from ccpapers.bench.training import fit

    for p in tiny_lm.parameters():
        p.requires_grad_(True)
    cfg = BenchConfig(tiny=True, method="full", lr=1e-5, epochs=1).for_device(cuda=False)
    rows = text_rows(tokenize_texts(tiny_tok, ["Zorblax crystals glow green."]), 64)
    hist = fit(tiny_lm, rows, cfg, Accelerator(cpu=True), "sdpa").record
    assert hist["precision"] == {
        "weights": "float32",
        "autocast": None,
        "optimizer": "adamw",
        "master_dtypes": ["float32"],
        "compute_dtype": "float32",
        "mixed_precision": "no",
        "sharding": None,
    }
