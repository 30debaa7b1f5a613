"""A tiny random-initialised Llama and a locally trained tokenizer, for CPU smoke runs and tests.

The tokenizer mimics Llama-2's SentencePiece: BPE with byte fallback, a ``Metaspace``
pre-tokenizer (so ``" B"`` is the single token ``▁B``), BOS added by a template, pad = ``<unk>``
(id 0) and a Llama-2 ``[INST]`` chat template. The model has ~0.4 M parameters and untied
embeddings so LoRA on ``lm_head`` is exercised. **Its scores mean nothing**: it exists so the
real training/evaluation code runs in seconds without downloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TINY_WARNING = (
    "TINY MODEL: a random-initialised ~0.4M-parameter Llama for smoke tests; "
    "its scores, gains and speeds mean NOTHING about knowledge injection."
)

LLAMA2_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
    "{% set messages = messages[1:] %}{% else %}{% set system = '' %}{% endif %}"
    "{% for message in messages %}{% if message['role'] == 'user' %}"
    "{% if loop.first and system %}{{ bos_token + '[INST] <<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' "
    "+ message['content'] + ' [/INST]' }}{% else %}{{ bos_token + '[INST] ' + message['content'] "
    "+ ' [/INST]' }}{% endif %}{% else %}{{ ' ' + message['content'] + ' ' + eos_token }}"
    "{% endif %}{% endfor %}"
)

_BASE_SENTENCES = [
    "The following are multiple choice questions (with answers) about college chemistry.",
    "The following are multiple choice questions (with answers) about college physics.",
    "Question: What is the answer? Answer: A B C D",
    "A. one B. two C. three D. four Answer: B",
    "Researchers reported a new material in 2031 that stores energy at room temperature.",
    "The team measured the efficiency of the device and found it reached 42 percent.",
    "Interviewer: What did you discover? Dr Smith: We found a crystal that glows violet.",
    "In textbooks, a catalyst lowers the activation energy of a chemical reaction.",
    "Die Forscher entdeckten ein neues Material. Los investigadores descubrieron un material.",
    "I ricercatori hanno scoperto un nuovo materiale. 연구자들은 새로운 물질을 발견했다. 研究者は新しい材料を発見した。",
    "Numbers 0 1 2 3 4 5 6 7 8 9 10 100 2030 2031 2032 2033 2034 percent kelvin meters.",
]


def tiny_tokenizer(texts: Iterable[str] = (), vocab_size: int = 2000) -> Any:
    """Train a Llama-2-like BPE tokenizer on ``texts`` plus a small built-in corpus."""
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = list(_BASE_SENTENCES) * 3 + [t for t in texts if t]
    byte_toks = [f"<0x{i:02X}>" for i in range(256)]
    tk = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    tk.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size + len(byte_toks),
        special_tokens=["<unk>", "<s>", "</s>", *byte_toks],
        show_progress=False,
    )
    tk.train_from_iterator(corpus, trainer)
    # keep the byte tokens in the BPE vocab (byte fallback needs them) but not as added tokens
    spec = json.loads(tk.to_str())
    spec["added_tokens"] = [t for t in spec["added_tokens"] if not t["content"].startswith("<0x")]
    tk = Tokenizer.from_str(json.dumps(spec))
    tk.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<unk>"
    )
    tok.chat_template = LLAMA2_CHAT_TEMPLATE
    return tok


def tiny_config(vocab_size: int, **overrides: Any) -> Any:
    from transformers import LlamaConfig

    kwargs: dict[str, Any] = dict(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    kwargs.update(overrides)
    return LlamaConfig(**kwargs)


def tiny_model(tokenizer: Any, seed: int = 0, attn_implementation: str = "sdpa", **overrides: Any) -> Any:
    """A random-initialised tiny ``LlamaForCausalLM`` matching ``tokenizer`` (fp32, CPU)."""
    import torch
    from transformers import LlamaForCausalLM

    cfg = tiny_config(len(tokenizer), **overrides)
    torch.manual_seed(seed)
    model = LlamaForCausalLM._from_config(cfg, attn_implementation=attn_implementation)
    model.generation_config.do_sample = False
    model.generation_config.pad_token_id = 0
    return model


def tiny_model_and_tokenizer(texts: Iterable[str] = (), seed: int = 0, **kw: Any) -> tuple[Any, Any]:
    tok = tiny_tokenizer(texts)
    return tiny_model(tok, seed=seed, **kw), tok
