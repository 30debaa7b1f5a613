"""A local Hugging Face model (a folder path or a cached model id): batched, greedy generation.

torch/transformers are imported only when the backend is created. Uses the GPU when
one is present. Requests are answered in batches of ``batch_size`` (``send_batch``);
the payload also names the model so cache keys differ between models.
"""

from __future__ import annotations

from typing import Any

from ccpapers.builder.backends.base import ChatRequest, Reply, TranslateRequest, user_text
from ccpapers.builder.cost import Usage
from ccpapers.builder.limits import Fatal, Rejected


class TransformersBackend:
    name = "transformers"
    supports = frozenset({"chat", "local-batch"})

    def __init__(self, model: str = "", batch_size: int = 8, **_: Any) -> None:
        if not model:
            raise Fatal("backend transformers needs --model PATH (a local model folder)")
        self.model = model
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
            device = "cuda" if torch.cuda.is_available() else "cpu"
            tok = AutoTokenizer.from_pretrained(self.model)
            tok.padding_side = "left"
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            model = AutoModelForCausalLM.from_pretrained(
                self.model, dtype=torch.bfloat16 if device == "cuda" else torch.float32
            ).to(device)
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
        }

    def _prompt(self, tok: Any, payload: dict[str, Any]) -> str:
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template(payload["messages"], tokenize=False, add_generation_prompt=True)
        return "\n\n".join(m["content"] for m in payload["messages"]) + "\n\n"

    def send_batch(self, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        torch, tok, model = self._load()
        prompts = [self._prompt(tok, p) for p in payloads]
        enc = tok(prompts, return_tensors="pt", padding=True).to(model.device)
        max_new = max(p["max_new_tokens"] for p in payloads)
        with torch.no_grad():
            out = model.generate(
                **enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id
            )
        width = enc["input_ids"].shape[1]
        raws = []
        for i, _ in enumerate(payloads):
            new = out[i, width:]
            text = tok.decode(new, skip_special_tokens=True)
            raws.append(
                {
                    "text": text,
                    "usage": {
                        "input_tokens": int(enc["attention_mask"][i].sum()),
                        "output_tokens": int((new != tok.pad_token_id).sum()),
                    },
                }
            )
        return raws

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.send_batch([payload])[0]

    def parse(self, raw: dict[str, Any]) -> Reply:
        return Reply([raw.get("text", "")], Usage.from_dict(raw.get("usage")), "end")
