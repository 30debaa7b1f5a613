"""Load the model and tokenizer a run asks for, add LoRA, and restore the base between runs."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.bench.localmodels import is_local_spec
from ccpapers.bench.localmodels import resolve as resolve_local
from ccpapers.config import ConfigError

log = logging.getLogger(__name__)


# float32 weight + float32 gradient + two float32 Adam moments
MASTER_BYTES_PER_PARAM = 16


def full_ft_fits_fp32(n_params: int, total_bytes: int) -> bool:
    """Whether full fine-tuning with float32 master weights fits a GPU of ``total_bytes``
    (16 bytes/parameter, plus a quarter for activations and 2 GiB for the CUDA context)."""
    return n_params * MASTER_BYTES_PER_PARAM * 1.25 + 2 * 2**30 <= total_bytes


def count_params(model_path: str) -> int:
    """Parameters of a model, counted on the meta device from its config (nothing loaded)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    conf = AutoConfig.from_pretrained(model_path)
    with torch.device("meta"):
        m = AutoModelForCausalLM.from_config(conf)
    return sum(p.numel() for p in m.parameters())


def resolve_device_options(cfg: BenchConfig, n_params: int | None = None) -> tuple[Any, str]:
    """(torch dtype, attention implementation) for this machine and config.

    ``dtype=auto`` on CUDA: float32 master weights for full fine-tuning when ``n_params``
    (unknown: assumed to fit) fit the GPU at 16 bytes/parameter, else bf16 (the optimizer then
    uses stochastic rounding); a bf16 base for LoRA (fp16 without bf16); float32 on CPU."""
    import torch

    cuda = torch.cuda.is_available()
    if cfg.dtype == "auto":
        low = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float16
        if not cuda:
            dtype = torch.float32
        elif cfg.method == "full" and low == torch.bfloat16:
            total = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
            fits = n_params is None or full_ft_fits_fp32(n_params, total)
            dtype = torch.float32 if fits else torch.bfloat16
            if not fits:
                log.info(
                    "full fine-tuning: %.2f B parameters x 16 bytes do not fit %.0f GiB with float32 master "
                    "weights; bf16 weights with the stochastic-rounding AdamW (optimizer=adamw-sr)",
                    n_params / 1e9,
                    total / 2**30,
                )
        else:
            dtype = low
    else:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[cfg.dtype]
    attention = cfg.attention
    if attention == "auto":
        attention = "flex" if cuda else "sdpa"
    return dtype, attention


def hf_attn_name(attention: str) -> str:
    return {"flex": "flex_attention", "sdpa": "sdpa", "eager": "eager"}[attention]


def _quantization_config(cfg: BenchConfig, dtype: Any) -> Any:
    if cfg.quant != "4bit":
        return None
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "quant=4bit needs the 'bitsandbytes' package (CUDA only): pip install bitsandbytes, "
            "or run with quant=none"
        ) from exc
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=dtype,
        bnb_4bit_use_double_quant=True,
    )


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    model_id: str
    dtype: Any
    attention: str
    info: dict[str, Any] = field(default_factory=dict)


def load_model(cfg: BenchConfig, tiny_texts: list[str] | None = None, device: Any = None) -> LoadedModel:
    """The base causal LM (greedy generation config, pad token set) and its tokenizer."""
    import torch

    mid = cfg.model_id()
    path = mid
    if not cfg.tiny and is_local_spec(mid):
        path = str(resolve_local(mid))  # registry name or .gguf -> cached HF folder (converted once)
    n_params = None
    if not cfg.tiny and cfg.dtype == "auto" and cfg.method == "full" and torch.cuda.is_available():
        n_params = count_params(path)
    dtype, attention = resolve_device_options(cfg, n_params)
    quant = _quantization_config(cfg, dtype)
    if cfg.tiny:
        from ccpapers.bench.tiny import tiny_model, tiny_tokenizer

        tok = tiny_tokenizer(tiny_texts or [])
        # flex on CPU is slow to build; the tiny model keeps sdpa/eager there
        attn = hf_attn_name(attention) if (attention != "flex" or torch.cuda.is_available()) else "sdpa"
        model = tiny_model(tok, seed=0, attn_implementation=attn).to(dtype)
        attention = {"flex_attention": "flex"}.get(attn, attn)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": hf_attn_name(attention)}
        if quant is not None:
            kwargs["quantization_config"] = quant
        try:
            tok = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"model {mid!r} could not be loaded ({exc}); pass a local path or a Hub id you have access to "
                "(Llama-2 needs an accepted licence and HF_TOKEN)"
            ) from exc
    if tok.pad_token_id is None:
        tok.pad_token = tok.unk_token if tok.unk_token is not None else tok.eos_token
    gc = model.generation_config
    gc.do_sample, gc.temperature, gc.top_p, gc.top_k = False, None, None, None
    gc.pad_token_id = tok.pad_token_id
    model.config.use_cache = False
    if device is not None and quant is None:
        model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    n_matmul = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    info = {
        "model": cfg.model_id(),
        "dtype": str(dtype).replace("torch.", ""),
        "attention": attention,
        "params": n_params,
        "matmul_params": n_matmul,
        "quant": cfg.quant,
    }
    return LoadedModel(model, tok, cfg.model_id(), dtype, attention, info)


def add_lora(model: Any, cfg: BenchConfig) -> Any:
    """Wrap ``model`` with fresh LoRA adapters on the configured target modules."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    targets = cfg.lora_target_modules()
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    missing = [t for t in targets if t not in names]
    if missing:
        raise ConfigError(
            f"LoRA targets {missing} are not modules of this model; it has e.g. {sorted(names)[:20]}"
        )
    targets = tied_head_targets(model, targets, cfg.tied_lm_head)
    if cfg.quant == "4bit":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    lcfg = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    # FSDP flattens each wrapped block into one buffer of one dtype: under ``accelerate launch``
    # with FSDP keep the adapters in the base dtype instead of peft's float32 (the default).
    fsdp = os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true"
    return get_peft_model(model, lcfg, autocast_adapter_dtype=not fsdp)


def output_head_name(model: Any) -> str | None:
    """The module name of the output embeddings (``lm_head`` for Llama-family models)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None:
        return None
    return next((n.rsplit(".", 1)[-1] for n, m in model.named_modules() if m is head), None)


def heads_tied(model: Any) -> bool:
    """True when the output head's weight *is* the input embedding matrix."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    return head is not None and emb is not None and head.weight is emb.weight


def tied_head_targets(model: Any, targets: list[str], mode: str) -> list[str]:
    """LoRA targets for a model whose lm_head shares the input embeddings. A LoRA on the tied
    head trains fine but merging it writes into the one shared matrix, so the input embeddings
    change too and the merged model is no longer the trained one. ``skip`` drops the head from
    the targets (logged); ``untie`` gives the head its own copy (re-tied by :func:`retie_head`)."""
    head = output_head_name(model)
    if head is None or head not in targets or not heads_tied(model):
        return targets
    if mode == "untie":
        import torch

        out = model.get_output_embeddings()
        out.weight = torch.nn.Parameter(out.weight.detach().clone(), requires_grad=False)
        model.config.tie_word_embeddings = False
        model._ccpapers_untied_head = True
        log.info(
            "%s shares the input embeddings: untied (own copy) so LoRA can adapt it (tied_lm_head=untie)",
            head,
        )
        return targets
    rest = [t for t in targets if t != head]
    log.info(
        "%s shares the input embeddings on this model: left out of the LoRA targets, which are now %s "
        "(tied_lm_head=skip; tied_lm_head=untie adapts an untied copy)",
        head,
        rest,
    )
    if not rest:
        raise ConfigError(f"LoRA targets {targets}: only the tied {head} was named; add other modules")
    return rest


def retie_head(model: Any) -> None:
    """Undo ``tied_lm_head=untie``: the output head shares the input embeddings again."""
    if getattr(model, "_ccpapers_untied_head", False):
        model.get_output_embeddings().weight = model.get_input_embeddings().weight
        model.config.tie_word_embeddings = True
        model._ccpapers_untied_head = False


def is_peft(model: Any) -> bool:
    return hasattr(model, "peft_config")


def enable_checkpointing(model: Any) -> None:
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if is_peft(model):
        model.enable_input_require_grads()


@contextmanager
def merged_lora(model: Any, enabled: bool = True) -> Iterator[Any]:
    """Merge LoRA into the base weights for fast generation, then unmerge and restore the
    base weights exactly from a copy (a low-precision merge/unmerge round trip is not exact)."""
    if not enabled or not is_peft(model):
        yield model
        return
    from peft.tuners.lora import LoraLayer

    layers = [m for m in model.modules() if isinstance(m, LoraLayer)]
    backups = [m.get_base_layer().weight.detach().clone() for m in layers]
    model.merge_adapter()
    try:
        yield model
    finally:
        model.unmerge_adapter()
        for m, w in zip(layers, backups, strict=True):
            m.get_base_layer().weight.data.copy_(w)


def snapshot_weights(model: Any) -> dict[str, Any]:
    """A CPU copy of every parameter, to restore the base after full fine-tuning."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def restore_weights(model: Any, snapshot: dict[str, Any]) -> None:
    model.load_state_dict(snapshot)


@contextmanager
def trainable_model(lm: LoadedModel, cfg: BenchConfig, train_now: bool = True) -> Iterator[Any]:
    """The model to train for one seed (fresh LoRA adapters, or the base for full fine-tuning);
    on exit, also after an error or a pruned trial, ``lm.model`` is the untouched base again
    (adapters removed, full fine-tuning undone from a CPU snapshot)."""
    if not train_now:
        yield lm.model
        return
    snap = snapshot_weights(lm.model) if cfg.method == "full" else None
    model = add_lora(lm.model, cfg) if cfg.method == "lora" else lm.model
    if cfg.method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
    if cfg.gradient_checkpointing:
        enable_checkpointing(model)
    try:
        yield model
    finally:
        if is_peft(model):
            lm.model = model.unload()
            retie_head(lm.model)
        elif snap is not None:
            restore_weights(model, snap)
            lm.model = model
        if cfg.gradient_checkpointing:
            lm.model.gradient_checkpointing_disable()
        lm.model.zero_grad(set_to_none=True)
