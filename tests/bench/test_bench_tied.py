"""LoRA on a model whose lm_head shares the input embeddings (SmolLM2 and most small models)."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")

from ccpapers.bench.config import BenchConfig  # noqa: E402


@pytest.fixture()
def tied_lm(tiny_tok):
    from ccpapers.bench.tiny import tiny_model

    m = tiny_model(tiny_tok, seed=0, tie_word_embeddings=True)
    assert m.lm_head.weight is m.model.embed_tokens.weight
    return m


def _cfg(**kw):
    return BenchConfig(tiny=True, lora_r=8, lora_alpha=16, **kw)


def _nonzero(model):
    for n, p in model.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.05)


def test_plain_peft_merge_into_a_tied_head_changes_the_input_embeddings(tied_lm, tiny_tok):
    """The hazard: merging a LoRA on the tied lm_head writes into the shared matrix."""
    from peft import LoraConfig, get_peft_model

    emb0 = tied_lm.model.embed_tokens.weight.detach().clone()
    m = get_peft_model(tied_lm, LoraConfig(r=8, lora_alpha=16, target_modules=["lm_head", "v_proj"]))
    _nonzero(m)
    m.merge_adapter()
    assert not torch.equal(m.get_input_embeddings().weight, emb0)


def test_skip_leaves_the_tied_head_out_with_a_note(tied_lm, tiny_tok, caplog):
    from peft.tuners.lora import LoraLayer

    from ccpapers.bench.models import add_lora, merged_lora

    emb0 = tied_lm.model.embed_tokens.weight.detach().clone()
    with caplog.at_level(logging.INFO, logger="ccpapers"):
        model = add_lora(tied_lm, _cfg())  # preset partial names lm_head
    assert "lm_head shares the input embeddings" in caplog.text
    wrapped = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, LoraLayer)}
    assert "lm_head" not in wrapped and {"v_proj", "o_proj", "gate_proj", "up_proj"} <= wrapped
    _nonzero(model)
    with merged_lora(model):
        assert torch.equal(model.get_input_embeddings().weight, emb0)


def test_untie_adapts_a_copy_and_the_merged_model_is_the_trained_one(tied_lm, tiny_tok):
    from peft.tuners.lora import LoraLayer

    from ccpapers.bench.models import LoadedModel, merged_lora, trainable_model

    probe = torch.tensor([tiny_tok("Zorblax crystals glow")["input_ids"]])
    with torch.no_grad():
        base_logits = tied_lm(input_ids=probe, use_cache=False).logits.clone()
    emb0 = tied_lm.model.embed_tokens.weight.detach().clone()
    lm = LoadedModel(tied_lm, tiny_tok, "tiny", torch.float32, "sdpa")
    with trainable_model(lm, _cfg(tied_lm_head="untie")) as model:
        wrapped = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, LoraLayer)}
        assert "lm_head" in wrapped
        _nonzero(model)
        with torch.no_grad():
            trained = model(input_ids=probe, use_cache=False).logits.clone()
            with merged_lora(model):
                assert torch.equal(model.get_input_embeddings().weight, emb0)
                merged = model(input_ids=probe, use_cache=False).logits
        assert torch.allclose(merged, trained, atol=1e-5)
    base = lm.model
    assert base.lm_head.weight is base.model.embed_tokens.weight and base.config.tie_word_embeddings
    with torch.no_grad():
        assert torch.equal(base(input_ids=probe, use_cache=False).logits, base_logits)


def test_only_the_tied_head_named_is_an_error(tied_lm):
    from ccpapers.bench.models import add_lora
    from ccpapers.config import ConfigError

    with pytest.raises(ConfigError, match="only the tied lm_head"):
        add_lora(tied_lm, _cfg(lora_targets=["lm_head"]))
