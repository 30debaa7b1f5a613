"""``BenchConfig``: every knob of one knowledge-injection run (CLI flags, YAML, key=value)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from ccpapers.config import CommonConfig, ConfigError, opt

LORA_PRESETS: dict[str, list[str] | str] = {
    # the study's choice; lm_head included (peft's "all-linear" would exclude it)
    "partial": ["v_proj", "o_proj", "gate_proj", "up_proj", "lm_head"],
    "attention": ["q_proj", "v_proj"],
    "all": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"],
}
LLAMA2 = "meta-llama/Llama-2-{size}-chat-hf"


@dataclass
class BenchConfig(CommonConfig):
    # what to measure
    suite: str = opt("fictional", "suite: fictional | papers | mmlu (registry names)")
    suite_file: str = opt("", "fictional suite YAML (default: shipped train/suites/fictional.yaml)")
    build: str = opt("", "papers suite: build folder or spec name under WORK/builds/")
    texts_per_fact: int = opt(0, "texts used per document/fact: 1..all variants (0 = all)")
    variants: list[str] = opt([], "variant order/selection, e.g. original,qa,article,de (empty = all)")
    n_irrelevant: int = opt(0, "number of irrelevant texts mixed into training")
    irrelevant: str = opt(
        "",
        "irrelevant texts: a build folder, a .jsonl with 'text', 'real' (101 paragraphs of real CC BY "
        "articles) or 'sample' (the sample journal; it describes the fictional suite's facts). Default: "
        "the suite's own, else 'real'; texts naming a question keyword are always dropped",
    )
    max_questions: int = opt(0, "ask at most this many questions (0 = all; for smoke runs)")
    dev_questions: int = opt(
        0, "questions held out as dev set for per-epoch early stopping (never the test set)"
    )
    forgetting: bool = opt(False, "also score MMLU-format multiple choice before/after (forgetting check)")
    mmlu: str = opt("mmlu/mini.jsonl", "MMLU-format source: local .jsonl or a Hub id like cais/mmlu")
    mmlu_subjects: list[str] = opt(["college_chemistry", "college_physics"], "MMLU subjects")
    mmlu_shots: int = opt(5, "few-shot examples (first k dev items per subject)")
    mmlu_limit: int = opt(0, "score at most this many MMLU items (0 = all)")
    # model
    model: str = opt(
        "",
        "a named local model (smollm2-135m: see `ccpapers bench fetch-model`), a .gguf file, a local "
        "folder or a Hub id of a causal LM (overrides --size)",
    )
    size: Literal["7b", "13b", "70b"] = opt("7b", "Llama-2 chat size: meta-llama/Llama-2-{size}-chat-hf")
    tiny: bool = opt(
        False, "tiny random-init Llama for a CPU smoke run (numbers mean nothing; seq_len capped at 512)"
    )
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = opt(
        "auto",
        "weights' dtype. auto: on GPU, full fine-tuning keeps float32 master weights (bf16 autocast) "
        "where 16 bytes/parameter fit the GPU, else bf16 with the stochastic-rounding optimizer; LoRA "
        "keeps a bf16 base (fp16 without bf16); fp32 on CPU",
    )
    autocast: bool | None = opt(
        None,
        "run the matmuls in bf16 (fp16) autocast when float32 parameters train on a GPU (mixed "
        "precision, float32 master weights, as Trainer(bf16=True)); unset = on with CUDA",
    )
    optimizer: Literal["auto", "adamw", "adamw-sr"] = opt(
        "auto",
        "auto = AdamW; on 16-bit trainable weights AdamW with stochastic rounding (adamw-sr: float32 "
        "update math, unbiased rounding, so updates far below bf16 resolution still count). adamw on "
        "16-bit weights is pure 16-bit AdamW: at the study's learning rates most updates are lost",
    )
    quant: Literal["none", "4bit"] = opt("none", "4bit = QLoRA-style NF4 via bitsandbytes")
    attention: Literal["auto", "flex", "sdpa", "eager"] = opt(
        "auto", "attention kernel; auto = flex on CUDA, sdpa on CPU"
    )
    compile: bool | None = opt(
        None, "torch.compile each decoder layer for training (first steps compile); unset = on with CUDA"
    )
    gradient_checkpointing: bool = opt(
        False, "trade about 30 percent of training speed for activation memory"
    )
    # training
    method: Literal["lora", "full"] = opt("lora", "LoRA adapters (peft) or full fine-tuning")
    lora_preset: Literal["partial", "attention", "all"] = opt(
        "partial", "partial = v,o,gate,up,lm_head; attention = q,v; all"
    )
    lora_targets: list[str] = opt([], "explicit LoRA target modules (overrides lora_preset)")
    lora_r: int = opt(100, "LoRA rank")
    lora_alpha: float = opt(300.0, "LoRA alpha (scale = alpha / r)")
    lora_dropout: float = opt(0.0, "LoRA dropout")
    tied_lm_head: Literal["skip", "untie"] = opt(
        "skip",
        "models whose lm_head shares the input embeddings (SmolLM2, most small models): skip = leave "
        "lm_head out of the LoRA targets (logged); untie = give lm_head its own weight copy to adapt",
    )
    lr: float = opt(2e-4, "peak learning rate (AdamW)")
    epochs: int = opt(10, "training epochs")
    schedule: Literal["auto", "text", "packed"] = opt(
        "auto",
        "text = one unpadded text per micro-step (the study's batch-1 schedule: one optimizer step per "
        "text); packed = texts packed into seq_len rows (far fewer steps); auto = text (packed when "
        "batch_rows > 1)",
    )
    seq_len: int = opt(
        0,
        "packed row length in tokens (schedule=text: longest text piece), documents never attend across "
        "each other; 0 = auto: 4096 on CUDA, 2048 elsewhere, 512 for --tiny",
    )
    batch_rows: int = opt(1, "packed rows per micro-step (schedule=packed)")
    grad_accum: int = opt(1, "micro-steps per optimizer step")
    warmup_ratio: float = opt(0.0, "share of steps with linear warm-up")
    weight_decay: float = opt(0.0, "AdamW weight decay")
    max_grad_norm: float = opt(1.0, "gradient clipping (0 = off)")
    early_stopping: int = opt(
        0, "stop after this many epochs without dev-score gain (needs dev_questions; 0 = off)"
    )
    eval_each_epoch: bool = opt(False, "score the dev questions (or all) after each epoch")
    seeds: list[int] = opt([0], "seeds; several give mean and a 95 percent confidence interval")
    # evaluation
    prompt: Literal["plain", "chat"] = opt(
        "plain", "plain = the study's 'Question/Answer' prompt; chat = the model's chat template"
    )
    prompt_template: str = opt("Question: {question}\nAnswer:", "plain prompt template ({question})")
    system_prompt: str = opt("", "system message for the chat template (empty = none)")
    max_new_tokens: int = opt(100, "greedy tokens generated per answer")
    stop: list[str] = opt(
        ["\\n\\n", "Question:", "Interviewer:", "\\nQ:"],
        "the answer ends at EOS or before the first of these strings (\\n = newline), so invented "
        "continuations earn no score; the uncut answer's score is recorded too",
    )
    stop_new_turn: bool = opt(
        True,
        "also end the answer at a line opening a new labelled turn (a label of up to 40 characters and "
        "a colon: 'A: ', 'Explanation: ', 'Dr Osei: ')",
    )
    gen_batch_size: int = opt(
        0, "prompts per generation batch (length-bucketed, left-padded); 0 = auto: 256 on CUDA, 32 elsewhere"
    )
    mcq_batch_size: int = opt(16, "sequences per log-likelihood forward")
    merge_for_eval: bool = opt(
        True, "merge LoRA into the weights while generating (restored exactly afterwards)"
    )
    judge: str = opt("", "optional LLM judge: a build backend name (e.g. anthropic, openai); empty = off")
    judge_model: str = opt("", "judge model name for the backend")
    # bookkeeping
    objective: Literal["gain_x_log10_texts", "gain", "score", "forgetting_gain"] = opt(
        "gain_x_log10_texts", "sweep objective (forgetting_gain needs forgetting=true)"
    )
    run_name: str = opt("", "output folder name under WORK/bench/ (default: derived from the config)")
    save_adapter: bool = opt(
        False, "save each seed's LoRA adapter to WORK/bench/<run>/adapter-seed<n>/ (no base lm_head copy)"
    )
    max_steps: int = opt(0, "stop training after this many optimizer steps (0 = off; smoke tests)")
    report_to: list[str] = opt(
        [],
        "experiment tracking via accelerate: tensorboard (files under WORK/bench/<run>/tracking/, no "
        "server) and/or wandb (when installed); empty = off",
    )

    def model_id(self) -> str:
        if self.tiny:
            return "tiny"
        return self.model or LLAMA2.format(size=self.size)

    def lora_target_modules(self) -> list[str]:
        return list(self.lora_targets) or list(LORA_PRESETS[self.lora_preset])

    def for_device(self, cuda: bool) -> BenchConfig:
        """Resolve the automatic settings: the measured fast path on CUDA (docs/gpu.md),
        small rows and batches on CPU, where dense masks and long rows cost seconds."""
        seq_len = self.seq_len or (512 if self.tiny else 4096 if cuda else 2048)
        if self.tiny:
            seq_len = min(seq_len, 512)
        return replace(
            self,
            schedule=self.schedule
            if self.schedule != "auto"
            else ("packed" if self.batch_rows > 1 else "text"),
            autocast=cuda if self.autocast is None else self.autocast,
            seq_len=seq_len,
            gen_batch_size=self.gen_batch_size or (256 if cuda else 32),
            compile=cuda if self.compile is None else self.compile,
        )

    def validate(self) -> None:
        """Check every value against its type's range before any work starts (ConfigError
        naming the key, the value and what is allowed)."""
        import math

        def need(ok: bool, key: str, rule: str) -> None:
            if not ok:
                raise ConfigError(f"{key}={getattr(self, key)!r}: {rule}")

        for key in ("lr", "lora_alpha", "lora_dropout", "warmup_ratio", "weight_decay", "max_grad_norm"):
            need(math.isfinite(getattr(self, key)), key, "must be a finite number")
        need(self.lr > 0, "lr", "the learning rate must be > 0")
        need(self.lora_dropout >= 0 and self.lora_dropout < 1, "lora_dropout", "must be in [0, 1)")
        need(0 <= self.warmup_ratio <= 1, "warmup_ratio", "is a share of the steps: 0 .. 1")
        need(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        need(self.max_grad_norm >= 0, "max_grad_norm", "must be >= 0 (0 = no clipping)")
        for key in (
            "texts_per_fact",
            "n_irrelevant",
            "max_questions",
            "dev_questions",
            "mmlu_shots",
            "mmlu_limit",
            "epochs",
            "early_stopping",
            "gen_batch_size",
            "max_steps",
        ):
            need(getattr(self, key) >= 0, key, "must be >= 0")
        need(self.seq_len == 0 or self.seq_len >= 16, "seq_len", "must be >= 16 (or 0 = auto)")
        for key in ("batch_rows", "grad_accum", "mcq_batch_size", "max_new_tokens"):
            need(getattr(self, key) >= 1, key, "must be >= 1")
        if self.method == "lora":
            need(self.lora_r >= 1, "lora_r", "must be >= 1")
            need(self.lora_alpha > 0, "lora_alpha", "must be > 0")
        if self.quant == "4bit" and self.method == "full":
            raise ConfigError(
                "quant=4bit works with method=lora only (4-bit weights cannot be trained directly)"
            )
        if self.schedule == "text" and self.batch_rows != 1:
            raise ConfigError(
                "schedule=text trains one text per micro-step: use grad_accum for more texts per optimizer "
                "step (batch_rows applies to schedule=packed)"
            )
        if self.early_stopping and not self.dev_questions:
            raise ConfigError("early_stopping needs dev_questions > 0 (never stop on test questions)")
        if not self.seeds:
            raise ConfigError("seeds: give at least one seed")
        need(len(set(self.seeds)) == len(self.seeds), "seeds", "each seed once")
        entry = self.suite_entry()
        if entry is not None and entry.needs_build and not self.build:
            raise ConfigError(
                f"suite={self.suite} needs build=<spec name or folder> (a `ccpapers build` output)"
            )
        if self.objective == "forgetting_gain" and not (self.forgetting or self.suite_is_forgetting_check()):
            raise ConfigError("objective=forgetting_gain needs forgetting=true (the MMLU check)")
        self._check_prompt()
        self._check_names()

    def suite_entry(self) -> Any:
        """The registry entry of ``suite`` (a ``SuiteEntry``), or None for an unknown name (the
        name check reports it)."""
        from ccpapers.registry import SUITES

        return SUITES.get(self.suite) if self.suite in SUITES else None

    def suite_is_forgetting_check(self) -> bool:
        entry = self.suite_entry()
        return bool(entry is not None and entry.forgetting_check)

    def _check_prompt(self) -> None:
        if self.prompt != "plain":
            return
        try:
            text = self.prompt_template.format(question="Q")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"prompt_template={self.prompt_template!r}: only {{question}} may be in braces "
                f"(write {{{{ and }}}} for literal braces): {exc!r}"
            ) from None
        if "{question}" not in self.prompt_template or "Q" not in text:
            raise ConfigError(f"prompt_template={self.prompt_template!r}: must contain {{question}}")

    def _check_names(self) -> None:
        """Registry names, files and optional packages the run needs, checked up front."""
        from pathlib import Path

        from ccpapers.registry import SUITES
        from ccpapers.resources import resolve_recipe

        if self.suite not in SUITES.names():
            raise ConfigError(f"suite={self.suite!r}: choose one of {', '.join(SUITES.names())}")
        if (self.forgetting or self.suite_is_forgetting_check()) and self.mmlu:
            src = str(self.mmlu)
            try:
                resolve_recipe("train", src, suffixes=(".jsonl",))
            except FileNotFoundError:
                if src.endswith(".jsonl") or Path(src).suffix or "/" not in src:
                    raise ConfigError(
                        f"mmlu={src!r}: no such file; pass a local MMLU-format .jsonl or a Hub id "
                        "like cais/mmlu (the shipped fixture is mmlu/mini.jsonl)"
                    ) from None
        if self.suite_file:
            from ccpapers.resources import resolve_recipe

            try:
                resolve_recipe("train", self.suite_file)
            except FileNotFoundError:
                raise ConfigError(f"suite_file={self.suite_file!r}: no such file") from None
        from ccpapers.bench.tracking import TRACKERS, missing_packages

        bad = [t for t in self.report_to if t not in TRACKERS]
        if bad:
            raise ConfigError(f"report_to: {bad} unknown; choose from {', '.join(TRACKERS)}")
        missing = missing_packages(list(self.report_to))
        if missing:
            raise ConfigError(f"report_to: not installed: {', '.join(missing)}")
        if self.judge:
            from ccpapers.registry import BACKENDS

            if self.judge not in BACKENDS.names():
                raise ConfigError(f"judge={self.judge!r}: choose a backend: {', '.join(BACKENDS.names())}")

    def check_questions(self, n_questions: int) -> None:
        """After the suite is loaded, before the model: dev questions must leave test questions."""
        if n_questions == 0:
            raise ConfigError(f"suite {self.suite!r} has no questions to ask")
        if self.dev_questions >= n_questions:
            raise ConfigError(
                f"dev_questions={self.dev_questions} leaves no test questions: the suite asks {n_questions} "
                f"(after max_questions); use dev_questions < {n_questions}"
            )
