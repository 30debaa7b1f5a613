"""Batched greedy generation: prompts formatted, grouped by length, left-padded."""

from __future__ import annotations

import re
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.suites.base import Question


def prompt_ids(tokenizer: Any, question: str, cfg: BenchConfig) -> list[int]:
    """Token ids of the prompt for one open question (plain template or chat template)."""
    if cfg.prompt == "chat":
        if not getattr(tokenizer, "chat_template", None):
            from ccpapers.config import ConfigError

            raise ConfigError("prompt=chat but the tokenizer has no chat template; use prompt=plain")
        msgs = ([{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []) + [
            {"role": "user", "content": question}
        ]
        text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])  # template holds <s>
    text = cfg.prompt_template.format(question=question)
    return list(tokenizer(text, add_special_tokens=True)["input_ids"])


# a line that opens a new labelled turn: "A: ...", "Explanation: ...", "Mira K. Osei: ..."
NEW_TURN = re.compile(r"\n[^\n:]{1,40}:(?=\s|$)")


def stop_strings(cfg: BenchConfig) -> list[str]:
    """``cfg.stop`` with ``\\n`` read as a newline, plus the plain prompt's own head (a new turn)."""
    stops = [s.replace("\\n", "\n") for s in cfg.stop if s]
    if cfg.prompt == "plain":
        head = cfg.prompt_template.split("{question}")[0].strip()
        if head and head not in stops:
            stops.append(head)
    return stops


def clean_answer(text: str, cfg: BenchConfig) -> str:
    """The answer up to the first stop string (blank line, a new "Question:"/"Interviewer:"
    turn, ...) or, with ``stop_new_turn``, the first line opening another labelled turn;
    generation already ended at EOS. An invented continuation earns no score."""
    text = text.lstrip()
    cut = len(text)
    for s in stop_strings(cfg):
        i = text.find(s)
        if i >= 0:
            cut = min(cut, i)
    if cfg.stop_new_turn:
        m = NEW_TURN.search(text)
        if m:
            cut = min(cut, m.start())
    return text[:cut].strip()


def generate_batched(
    model: Any,
    tokenizer: Any,
    prompts: list[list[int]],
    max_new_tokens: int,
    batch_size: int,
    synced_gpus: bool = False,
) -> list[str]:
    """Greedy continuations of ``prompts`` (token id lists), in input order.

    Prompts are sorted by length so each batch pads little; padding is on the left."""
    import torch

    from ccpapers.bench import progress
    from ccpapers.bench.fastgen import generation_ready

    pad = tokenizer.pad_token_id
    device = next(model.parameters()).device
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[str] = [""] * len(prompts)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(prompts[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                p = prompts[i]
                ids[row, width - len(p) :] = torch.tensor(p)
                mask[row, width - len(p) :] = 1
            with torch.no_grad(), generation_ready(model):  # sdpa + eager blocks while decoding
                gen = model.generate(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    num_beams=1,
                    pad_token_id=pad,
                    eos_token_id=tokenizer.eos_token_id,
                    use_cache=True,
                    synced_gpus=synced_gpus,
                )
            texts = tokenizer.batch_decode(gen[:, width:], skip_special_tokens=True)
            for row, i in enumerate(idx):
                out[i] = texts[row]
            progress.advance(len(idx))
    finally:
        model.train(was_training)
    return out


def answer_questions(
    model: Any, tokenizer: Any, questions: list[Question], cfg: BenchConfig, synced_gpus: bool = False
) -> list[tuple[str, str]]:
    """``(answer, uncut continuation)`` per question: the answer ends at a stop string."""
    prompts = [prompt_ids(tokenizer, q.question, cfg) for q in questions]
    raw = generate_batched(model, tokenizer, prompts, cfg.max_new_tokens, cfg.gen_batch_size, synced_gpus)
    return [(clean_answer(t, cfg), t.strip()) for t in raw]
