"""The real model code paths on the tiny Llama: packing masks, generation, MCQ, LoRA, merging."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ccpapers.bench.config import BenchConfig  # noqa: E402
from ccpapers.bench.packing import dense_block_mask, pack  # noqa: E402


def _logits_separately(model, docs):
    out = []
    for d in docs:
        ids = torch.tensor([d])
        out.append(model(input_ids=ids, use_cache=False).logits[0])
    return out


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_logits_equal_separate_documents(tiny_tok, attn):
    from ccpapers.bench.tiny import tiny_model

    model = tiny_model(tiny_tok, attn_implementation=attn).eval()
    texts = ["Aurelite stores 412 watt hours.", "Zorblax crystals glow green.", "Mira Osei found it in 2031."]
    docs = [tiny_tok(t)["input_ids"] for t in texts]
    p = pack(docs, seq_len=64)
    assert len(p) == 1
    mask = dense_block_mask(p.doc_ids, torch.float32)
    with torch.no_grad():
        packed = model(
            input_ids=p.input_ids, position_ids=p.position_ids, attention_mask=mask, use_cache=False
        ).logits[0]
        sep = _logits_separately(model, docs)
        at = 0
        starts = {}
        for i in range(64):
            if p.doc_ids[0, i] and (i == 0 or p.doc_ids[0, i] != p.doc_ids[0, i - 1]):
                starts[int(p.doc_ids[0, i])] = i
        for k, d in enumerate(sorted(docs, key=len, reverse=True), start=1):
            at = starts[k]
            j = [x for x in range(len(docs)) if docs[x] == d][0]
            assert torch.allclose(packed[at : at + len(d)], sep[j], atol=1e-5)
        # with a KV cache and no explicit mask, packed documents attend to each other (the trap
        # that use_cache=False plus our explicit block mask guard against)
        leaky = model(input_ids=p.input_ids, position_ids=p.position_ids, use_cache=True).logits[0]
        d = sorted(docs, key=len, reverse=True)[1]
        j = docs.index(d)
        assert not torch.allclose(leaky[starts[2] : starts[2] + len(d)], sep[j], atol=1e-5)


def test_batched_left_padded_generation_matches_one_by_one(tiny_lm, tiny_tok):
    from ccpapers.bench.generation import generate_batched, prompt_ids

    cfg = BenchConfig()
    prompts = [
        prompt_ids(tiny_tok, q, cfg)
        for q in ["Who discovered aurelite?", "What?", "How long does the zorblax glow last in the detector?"]
    ]
    batched = generate_batched(tiny_lm, tiny_tok, prompts, max_new_tokens=8, batch_size=3)
    single = [generate_batched(tiny_lm, tiny_tok, [p], max_new_tokens=8, batch_size=1)[0] for p in prompts]
    assert batched == single
    assert generate_batched(tiny_lm, tiny_tok, prompts, 8, 2) == batched  # deterministic, bucket-independent


def test_chat_prompt_has_single_bos(tiny_tok):
    from ccpapers.bench.generation import prompt_ids

    ids = prompt_ids(tiny_tok, "Who?", BenchConfig(prompt="chat"))
    assert ids.count(tiny_tok.bos_token_id) == 1 and ids[0] == tiny_tok.bos_token_id


def test_mcq_loglik_matches_hand_computation(tiny_lm, tiny_tok):
    from ccpapers.bench.mcq import choose, encode_pair, mcq_context
    from ccpapers.bench.suites.mmlu import load_mmlu

    suite = load_mmlu(subjects=["college_physics"])
    qs = suite.questions[:3]
    res = choose(tiny_lm, tiny_tok, qs, suite.shots, n_shots=2, batch_size=2)
    for q, r in zip(qs, res, strict=True):
        ctx = mcq_context(q, suite.shots["college_physics"][:2])
        assert ctx.startswith(
            "The following are multiple choice questions (with answers) about college physics.\n\n"
        )
        assert ctx.endswith("Answer:") and ctx.count("Answer:") == 3
        manual = []
        for letter in "ABCD":
            c, cont = encode_pair(tiny_tok, ctx, f" {letter}")
            assert len(cont) == 1 and tiny_tok.convert_ids_to_tokens(cont) == [f"▁{letter}"]
            with torch.no_grad():
                logits = tiny_lm(input_ids=torch.tensor([c]), use_cache=False).logits[0, -1]
            manual.append(float(torch.log_softmax(logits, -1)[cont[0]]))
        assert r["loglik"] == pytest.approx(manual, abs=1e-4)
        assert r["choice"] == max(range(4), key=lambda i: manual[i])
        assert r["correct"] == float(r["choice"] == q.answer_index)


def test_mcq_multi_token_path_agrees(tiny_lm, tiny_tok):
    from ccpapers.bench.mcq import encode_pair, loglik

    ctx = "Question: which?\nAnswer:"
    reqs = [encode_pair(tiny_tok, ctx, " B"), encode_pair(tiny_tok, ctx, " zorblax crystals")]
    got = loglik(tiny_lm, reqs, batch_size=2)
    for (c, cont), value in zip(reqs, got, strict=True):
        with torch.no_grad():
            lp = torch.log_softmax(tiny_lm(input_ids=torch.tensor([c + cont]), use_cache=False).logits[0], -1)
        manual = sum(float(lp[len(c) - 1 + i, t]) for i, t in enumerate(cont))
        assert value == pytest.approx(manual, abs=1e-4)


def _lora_cfg(**kw):
    return BenchConfig(tiny=True, lora_r=8, lora_alpha=16, lr=1e-2, epochs=2, seq_len=64, **kw)


def _packed(tok, texts):
    from ccpapers.bench.packing import tokenize_texts

    return pack(tokenize_texts(tok, texts), 64)


TEXTS = ["Aurelite stores 412 watt hours per kilogram.", "Zorblax crystals glow green for 14 seconds."]


def test_lora_training_changes_adapters_not_base_and_unload_restores(tiny_lm, tiny_tok):
    from accelerate import Accelerator

    from ccpapers.bench.models import add_lora
    from ccpapers.bench.training import fit

    probe = torch.tensor([tiny_tok("Aurelite stores")["input_ids"]])
    with torch.no_grad():
        base_logits = tiny_lm(input_ids=probe, use_cache=False).logits.clone()
    base = {k: v.clone() for k, v in tiny_lm.state_dict().items()}
    cfg = _lora_cfg()
    model = add_lora(tiny_lm, cfg)
    lora_before = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_B" in n}
    assert any("lm_head" in n for n in lora_before)  # the study's preset adapts lm_head
    res = fit(model, _packed(tiny_tok, TEXTS), cfg, Accelerator(cpu=True), "sdpa", 0, 1000)
    hist = res.record
    assert hist["steps"] == 2 and hist["tokens_per_second"] > 0 and "mfu" in hist
    for n, p in res.model.named_parameters():
        if "lora_B" in n:
            assert not torch.equal(p, lora_before[n]), n
    restored = res.model.unload()
    for k, v in restored.state_dict().items():
        assert torch.equal(v, base[k]), k
    with torch.no_grad():
        assert torch.equal(restored(input_ids=probe, use_cache=False).logits, base_logits)


def test_full_finetuning_changes_base_weights(tiny_lm, tiny_tok):
    from accelerate import Accelerator

    from ccpapers.bench.models import restore_weights, snapshot_weights
    from ccpapers.bench.training import fit

    snap = snapshot_weights(tiny_lm)
    cfg = _lora_cfg(method="full")
    for p in tiny_lm.parameters():
        p.requires_grad_(True)
    fit(tiny_lm, _packed(tiny_tok, TEXTS), cfg, Accelerator(cpu=True), "sdpa", 0, 1000)
    changed = [k for k, v in tiny_lm.state_dict().items() if not torch.equal(v, snap[k])]
    assert "model.layers.0.self_attn.q_proj.weight" in changed and "lm_head.weight" in changed
    restore_weights(tiny_lm, snap)
    assert all(torch.equal(v, snap[k]) for k, v in tiny_lm.state_dict().items())


def test_merged_lora_is_exact_and_restores(tiny_lm, tiny_tok):
    from ccpapers.bench.models import add_lora, merged_lora

    model = add_lora(tiny_lm, _lora_cfg())
    for n, p in model.named_parameters():  # make the adapters non-zero
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.05)
    probe = torch.tensor([tiny_tok("Zorblax crystals")["input_ids"]])
    with torch.no_grad():
        unmerged = model(input_ids=probe, use_cache=False).logits.clone()
        weights = {k: v.clone() for k, v in model.state_dict().items()}
        with merged_lora(model):
            merged = model(input_ids=probe, use_cache=False).logits
        after = model(input_ids=probe, use_cache=False).logits
    assert torch.allclose(merged, unmerged, atol=1e-5)
    assert torch.equal(after, unmerged)
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_reset_adapter_reproduces_base_logits(tiny_lm, tiny_tok):
    from peft.tuners.lora import LoraLayer

    from ccpapers.bench.models import add_lora

    probe = torch.tensor([tiny_tok("Mira Osei")["input_ids"]])
    with torch.no_grad():
        base = tiny_lm(input_ids=probe, use_cache=False).logits.clone()
    model = add_lora(tiny_lm, _lora_cfg())
    for n, p in model.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.05)
    for m in model.modules():
        if isinstance(m, LoraLayer):
            m.reset_lora_parameters("default", True)
    with torch.no_grad():
        assert torch.equal(model(input_ids=probe, use_cache=False).logits, base)


def test_4bit_without_bitsandbytes_names_the_package():
    import importlib.util

    from ccpapers.bench.models import load_model
    from ccpapers.config import ConfigError

    if importlib.util.find_spec("bitsandbytes"):
        pytest.skip("bitsandbytes is installed here")
    with pytest.raises(ConfigError, match="bitsandbytes"):
        load_model(BenchConfig(tiny=True, quant="4bit"))


def test_lora_targets_must_exist(tiny_lm):
    from ccpapers.bench.models import add_lora
    from ccpapers.config import ConfigError

    with pytest.raises(ConfigError, match="not modules"):
        add_lora(tiny_lm, BenchConfig(lora_targets=["c_attn"]))


def test_saved_adapter_round_trips_exactly_without_base_lm_head(tiny_tok, tmp_path):
    from peft import PeftModel
    from safetensors.torch import load_file

    from ccpapers.bench.models import add_lora
    from ccpapers.bench.tiny import tiny_model

    model = add_lora(tiny_model(tiny_tok), _lora_cfg())
    for n, p in model.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.05)
    probe = torch.tensor([tiny_tok("Aurelite is violet")["input_ids"]])
    with torch.no_grad():
        want = model(input_ids=probe, use_cache=False).logits
    model.save_pretrained(tmp_path / "ad", save_embedding_layers=False)
    keys = load_file(tmp_path / "ad" / "adapter_model.safetensors").keys()
    assert keys and all("lora_" in k for k in keys)  # no full lm_head / embedding copy
    again = PeftModel.from_pretrained(tiny_model(tiny_tok), tmp_path / "ad")
    with torch.no_grad():
        assert torch.equal(again(input_ids=probe, use_cache=False).logits, want)
