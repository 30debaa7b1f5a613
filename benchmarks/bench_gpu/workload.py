"""What the benchmark trains and asks: a tokenizer covering the model's vocabulary, the
random-initialised model, token-id texts of two lengths and question-like prompts."""

from __future__ import annotations

import json
import random
from typing import Any

from benchmarks.bench_gpu.shapes import SHAPES


def padded_tokenizer(texts: list[str], vocab_size: int) -> Any:
    """The tiny Llama-2-like tokenizer trained on ``texts``, its vocabulary padded with
    filler tokens to ``vocab_size`` so every id a 32000-vocab model emits decodes."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    from ccpapers.bench.tiny import LLAMA2_CHAT_TEMPLATE, tiny_tokenizer

    spec = json.loads(tiny_tokenizer(texts).backend_tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    for i in range(max(vocab.values()) + 1, vocab_size):
        vocab[f"▁w{i}"] = i
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<unk>",
    )
    tok.chat_template = LLAMA2_CHAT_TEMPLATE
    if len(tok) != vocab_size:
        raise RuntimeError(f"padded tokenizer has {len(tok)} tokens, wanted {vocab_size}")
    return tok


def build_model(
    tiny: bool, tok: Any, device: Any, dtype: Any, attention: str, shape: str = "llama2-7b"
) -> Any:
    """Random-initialised model (Llama-2-7b shape, or the tiny test shape) and its info,
    wrapped as the ``LoadedModel`` ``run_bench`` accepts as ``resident``."""
    from transformers import LlamaConfig

    from ccpapers.bench.tiny import tiny_config

    cfg = tiny_config(len(tok)) if tiny else LlamaConfig(**SHAPES[shape])
    name = "random-init " + ("tiny" if tiny else f"{shape} shape")
    return random_model(cfg, tok, device, dtype, attention, name)


def random_model(cfg: Any, tok: Any, device: Any, dtype: Any, attention: str, name: str) -> Any:
    """A ``LoadedModel`` of a random-initialised Llama with config ``cfg`` built on ``device``
    from seed 0 (every process gets the same weights), greedy decoding, no KV cache in training."""
    import torch
    from transformers import LlamaForCausalLM

    from ccpapers.bench.models import LoadedModel, hf_attn_name

    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(cfg, attn_implementation=hf_attn_name(attention), dtype=dtype)
    gc_ = model.generation_config
    gc_.do_sample, gc_.temperature, gc_.top_p, gc_.top_k = False, None, None, None
    gc_.pad_token_id = tok.pad_token_id
    model.config.use_cache = False
    info = {
        "model": name,
        "dtype": str(dtype).replace("torch.", ""),
        "attention": attention,
        "params": sum(p.numel() for p in model.parameters()),
        "matmul_params": sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear)),
        "quant": "none",
    }
    return LoadedModel(model, tok, info["model"], dtype, attention, info)


def text_mix(n_short: int, short: tuple[int, int], n_long: int, long: tuple[int, int], vocab: int, seed: int):
    """Token-id documents: many short Q&A-sized texts and some introduction-sized ones
    (2000 words are about 2600-2900 Llama-2 tokens). Returns (all shuffled, short, long)."""
    rng = random.Random(seed)

    def doc(n: int) -> list[int]:
        return [1] + [rng.randrange(3, vocab) for _ in range(n - 2)] + [2]

    s = [doc(rng.randint(*short)) for _ in range(n_short)]
    lg = [doc(rng.randint(*long)) for _ in range(n_long)]
    mix = s + lg
    rng.shuffle(mix)
    return mix, s, lg


def make_questions(texts: list[str], n: int, seed: int, tok: Any, max_tokens: int = 60) -> list[Any]:
    """Question-like prompts cut from English texts, at most ``max_tokens`` tokens each
    (Llama-2 tokenises real quiz questions to about 15-60 tokens)."""
    from ccpapers.bench.suites.base import Question

    words = [w for w in " ".join(texts).split() if w.isascii()]
    rng = random.Random(seed)
    out: list[Any] = []
    while len(out) < n:
        k = rng.randint(4, 24)
        at = rng.randrange(0, max(1, len(words) - k))
        q = " ".join(words[at : at + k]).rstrip(".,;:") + "?"
        if len(tok(q)["input_ids"]) <= max_tokens:
            out.append(Question(id=f"q{len(out)}", question=q, answer="x", keywords=["x"], scorer="keywords"))
    return out
