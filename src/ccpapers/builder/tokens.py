"""Input-token counts for the budget: an upper bound that holds for every script, and a typical
estimate for ``--estimate``.

Without the model's own tokenizer the bound is computed by script, from what every byte-level BPE
(GPT, Claude, Llama 3, Qwen) and every byte-fallback SentencePiece (Llama 2, Mistral) guarantee: a
token covers at least one UTF-8 byte. So a non-ASCII character counts as its UTF-8 bytes (3 for a
CJK character: ``len // 3``, the old estimate, was four times too low for Japanese), a digit as
one token (Llama splits every digit), a punctuation mark or whitespace run as one, and a run of
ASCII letters as one token per two letters. With a tokenizer at hand (the transformers backend's
local model, or ``tiktoken`` for OpenAI models when it is installed and its tables are cached)
the bound is its count plus a margin for the chat template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_PIECE = re.compile(r"[A-Za-z]+|[0-9]|\s+|[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]|[^\x00-\x7f]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
TEMPLATE_MARGIN = 32  # role markers and separators a chat template adds around the messages

Counter = Callable[[str], int]


def upper_bound_tokens(text: str) -> int:
    """At least as many tokens as any byte-level tokenizer gives ``text`` (ASCII words are
    bounded at one token per two letters, which holds for prose, formulas and identifiers)."""
    total = 0
    for piece in _PIECE.findall(text):
        first = piece[0]
        if first.isascii() and first.isalpha():
            total += (len(piece) + 1) // 2
        elif first.isascii():
            total += 1  # a digit, a punctuation mark or a whitespace run
        else:
            total += len(piece.encode("utf-8"))
    return max(1, total)


def typical_tokens(text: str) -> int:
    """What a modern tokenizer usually gives: about 4 ASCII characters per token, one token
    per CJK character, two characters per token for other scripts (for ``--estimate``)."""
    cjk = len(_CJK.findall(text))
    ascii_chars = sum(1 for ch in text if ch.isascii())
    other = len(text) - cjk - ascii_chars
    return max(1, ascii_chars // 4 + cjk + (other + 1) // 2)


@lru_cache(maxsize=16)
def tokenizer_for(backend: str, model: str) -> Counter | None:
    """The model's own token counter when one is available offline, else None."""
    try:
        if backend == "transformers" and model:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(model, local_files_only=True)
            return lambda text: len(tok.encode(text, add_special_tokens=True))
        if backend == "openai" and model:
            import tiktoken

            enc = tiktoken.encoding_for_model(model)
            return lambda text: len(enc.encode(text, disallowed_special=()))
    except Exception:  # noqa: BLE001 - no tokenizer (not installed, not cached, unknown model): by script
        return None
    return None


def input_bound(text: str, counter: Counter | None = None) -> int:
    """Upper bound on the input tokens of a request whose text (the canonical payload) is ``text``."""
    if counter is not None:
        try:
            return counter(text) + TEMPLATE_MARGIN
        except Exception:  # noqa: BLE001 - a tokenizer that fails on odd input: fall back
            pass
    return upper_bound_tokens(text) + TEMPLATE_MARGIN
