"""A local Hugging Face model in this process: batched generation, truncation reported, no loops.

``--model`` takes a model folder, a hub id already in the local cache, a ``.gguf`` file or a
name of the bench's model registry (``smollm2-135m``): see :func:`model_source`. Rows name the
model by :func:`~ccpapers.builder.backends.base.model_name`, never by its path.

Decoding (``DECODING``, part of every payload and so of every cache key): greedy with a mild
repetition penalty, and a stopping rule that ends a sequence whose tail has become one short
span repeated over and over. Small models otherwise repeat themselves up to ``max_tokens``
(SmolLM2-135M did on most build prompts); such a reply is reported ``finish="loop"``, one cut
at ``max_tokens`` ``finish="length"``, so the generators count them as truncated, not as
malformed JSON. torch/transformers are imported only when the first batch is generated.
"""

from __future__ import annotations

from typing import Any

from ccpapers.builder.backends.base import ChatRequest, Reply, TranslateRequest, model_name, user_text
from ccpapers.builder.cost import Usage
from ccpapers.builder.limits import Fatal, Rejected

DECODING: dict[str, Any] = {"do_sample": False, "repetition_penalty": 1.1}
LOOP_PERIOD = 64  # longest repeated span (tokens) the loop rule looks for
LOOP_REPEATS = 4  # ... and how many times in a row it must appear
LOOP_MIN_TOKENS = 64  # never stop a sequence shorter than this


def model_source(spec: str) -> str:
    """What ``from_pretrained`` loads for ``--model spec``: a name of the bench's model registry
    (``smollm2-135m``) or a ``.gguf`` file becomes the registry's cached model folder (converted
    once, ``ccpapers.bench.localmodels``), so bench and build share one registry; anything else
    (a model folder, a hub id already downloaded) is loaded as it is."""
    from ccpapers.bench import localmodels

    if localmodels.is_local_spec(spec):
        return str(localmodels.resolve(spec))
    return spec


def loop_length(tail: list[int], generated: int) -> int:
    """Length of the repeated end of a sequence of ``generated`` tokens whose last tokens are
    ``tail``: one span of at most ``LOOP_PERIOD`` tokens repeated ``LOOP_REPEATS`` times in a
    row (and at least 16 tokens in all: "}}}}" is no loop), else 0."""
    if generated < LOOP_MIN_TOKENS:
        return 0
    n = len(tail)
    for period in range(4, LOOP_PERIOD + 1):
        span = period * LOOP_REPEATS
        if span > n:
            break
        end = tail[n - span :]
        if all(end[i] == end[i % period] for i in range(period, span)):
            return span
    return 0


class TransformersBackend:
    name = "transformers"
    supports = frozenset({"chat", "local-batch"})
    key_envs: tuple[str, ...] = ()  # a local model: no key

    def __init__(self, model: str = "", batch_size: int = 8, **_: Any) -> None:
        if not model:
            raise Fatal(
                "backend transformers needs --model: a model folder, a hub id in the local cache or a .gguf file"
            )
        self.model = model
        self.model_name = model_name(model)
        self.batch_size = batch_size
        self._loaded: tuple[Any, Any, Any] | None = None

    def _load(self) -> tuple[Any, Any, Any]:
        if self._loaded is None:
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as exc:
                raise Fatal(
                    "backend transformers needs the [bench] extra: pip install 'ccpapers[bench]'"
                ) from exc
            source = model_source(self.model)
            device = "cuda" if torch.cuda.is_available() else "cpu"
            try:
                tok = AutoTokenizer.from_pretrained(source)
                model = AutoModelForCausalLM.from_pretrained(
                    source, dtype=torch.bfloat16 if device == "cuda" else torch.float32
                ).to(device)
            except (OSError, ValueError, KeyError, ImportError) as exc:
                raise Fatal(
                    f"--model {self.model}: transformers could not load it ({type(exc).__name__}: {exc}). "
                    "Give a model folder, a hub id already downloaded, or a .gguf file."
                ) from exc
            tok.padding_side = "left"
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            model.eval()
            self._loaded = (torch, tok, model)
        return self._loaded

    def payload(self, request: ChatRequest | TranslateRequest) -> dict[str, Any]:
        if not isinstance(request, ChatRequest):
            raise Rejected("transformers backend answers chat requests only", "unsupported-request")
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": user_text(request)},
            ],
            "max_new_tokens": request.max_tokens,
            "decoding": dict(DECODING),
        }

    def _prompt(self, tok: Any, payload: dict[str, Any]) -> str:
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template(payload["messages"], tokenize=False, add_generation_prompt=True)
        return "\n\n".join(m["content"] for m in payload["messages"]) + "\n\n"

    def send_batch(self, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        torch, tok, model = self._load()
        from transformers import StoppingCriteria, StoppingCriteriaList

        prompts = [self._prompt(tok, p) for p in payloads]
        enc = tok(prompts, return_tensors="pt", padding=True).to(model.device)
        width = enc["input_ids"].shape[1]
        max_new = max(p["max_new_tokens"] for p in payloads)
        looped: dict[int, int] = {}  # row -> tokens generated when the loop rule stopped it

        class LoopStop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                generated = input_ids.shape[1] - width
                if generated < LOOP_MIN_TOKENS or generated % 4:
                    return done  # looked at every 4th step: a loop runs on a few tokens at most
                tails = input_ids[:, -LOOP_PERIOD * LOOP_REPEATS :].tolist()
                for i, tail in enumerate(tails):
                    if i not in looped and loop_length(tail, generated):
                        done[i] = True
                        looped[i] = generated
                return done

        decoding = payloads[0].get("decoding") or DECODING
        with torch.no_grad():
            out = model.generate(
                **enc,
                max_new_tokens=max_new,
                pad_token_id=tok.pad_token_id,
                stopping_criteria=StoppingCriteriaList([LoopStop()]),
                **decoding,
            )
        eos = _eos_ids(tok, model)
        raws = []
        for i, payload in enumerate(payloads):
            cap = payload["max_new_tokens"]
            new = out[i, width:].tolist()
            ended = next((j for j, t in enumerate(new) if t in eos), None)  # padding is eos too
            if i in looped and (ended is None or ended >= looped[i]) and looped[i] <= cap:
                generated = new[: looped[i]]
                finish = "loop"
            elif ended is not None and ended < cap:
                generated = new[: ended + 1]
                finish = "stop"
            else:
                generated = new[:cap]
                finish = "length"
            text_ids = generated
            if finish == "loop":  # keep the text before the repetition
                tail = generated[-LOOP_PERIOD * LOOP_REPEATS :]
                text_ids = generated[: len(generated) - loop_length(tail, len(generated))]
            raws.append(
                {
                    "text": tok.decode(text_ids, skip_special_tokens=True),
                    "finish_reason": finish,
                    "usage": {
                        "input_tokens": int(enc["attention_mask"][i].sum()),
                        "output_tokens": len(generated),
                    },
                }
            )
        return raws

    def send(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        return self.send_batch([payload])[0]

    def parse(self, raw: dict[str, Any]) -> Reply:
        return Reply(
            [raw.get("text", "")], Usage.from_dict(raw.get("usage")), raw.get("finish_reason", "end")
        )


def _eos_ids(tok: Any, model: Any) -> set[int]:
    ids = model.generation_config.eos_token_id
    found = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tok.eos_token_id is not None:
        found.add(tok.eos_token_id)
    return found
