"""``translate``: translations of text records (DeepL, or an LLM with a preserving prompt).

A translation that loses or changes a number, unit or chemical formula of its source
is rejected with the reason and what was lost; so is an untranslated copy, or text in another
language or script than asked (:func:`ccpapers.builder.quality.translation_problem`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccpapers.builder.backend_choice import has_credentials, supports
from ccpapers.builder.backends.base import Reply, TranslateRequest
from ccpapers.builder.checks import parse_json_reply, preservation_problem
from ccpapers.builder.generators.base import (
    Choice,
    GenContext,
    Outcome,
    Task,
    derived,
    output_budget,
    paper_meta,
    passage_request,
    reply_text,
    unusable_reason,
)
from ccpapers.builder.prompts_loader import load_prompt
from ccpapers.builder.quality import translation_problem
from ccpapers.types import Paper, Record

if TYPE_CHECKING:
    from ccpapers.builder.backend_choice import BackendPool
    from ccpapers.builder.spec import SplitSpec

DEFAULT_LANGUAGES = ("de", "es", "it", "ko", "ja")
LANGUAGE_NAMES = {"de": "German", "es": "Spanish", "it": "Italian", "ko": "Korean", "ja": "Japanese",
                  "fr": "French", "zh": "Chinese", "pt": "Portuguese", "en": "English"}  # fmt: skip
MAX_TEXTS = 50
MAX_CHARS = 100_000  # DeepL request bodies are limited to 128 KiB


def _context(paper: Paper | None) -> str | None:
    """Title and abstract steer DeepL's terminology (context is not billed)."""
    if paper is None:
        return None
    return f"{paper.title}\n\n{paper.text_of('abstract')}".strip()[:4000] or None


class TranslateGenerator:
    name = "translate"
    version = "1"
    split = "translation"
    needs_backend = True
    stand_in = None

    def __init__(
        self, languages: list[str] | None = None, mode: str = "deepl", max_tokens: int = 0, **_: Any
    ) -> None:
        self.languages = [lang.lower() for lang in (languages or DEFAULT_LANGUAGES)]
        if mode not in ("deepl", "llm"):
            raise ValueError(f"translate mode {mode!r}: choose deepl or llm")
        self.mode = mode
        self.max_tokens = max_tokens
        self.prompt = load_prompt("translate.v1")

    @classmethod
    def for_split(cls, split: SplitSpec, main: str, pool: BackendPool, assume_keys: bool = False) -> Choice:
        """DeepL when the split asks for it and its key is set (``assume_keys``: as if it were), or
        the build's backend when it translates; else the build's chat backend with the prompt."""
        opts = dict(split.options)
        service = split.backend or ""
        if supports(service, "translate") and (has_credentials(service) or assume_keys):
            return Choice(cls(mode="deepl", **opts), pool.get(service))
        if "translate" in pool.get(main).supports:  # the build's backend is a translation service
            return Choice(cls(mode="deepl", **opts), pool.get(main))
        if supports(main, "chat"):
            return Choice(cls(mode="llm", **opts), pool.get(main))
        return Choice(
            None,
            why_not="needs DEEPL_AUTH_KEY or a language model backend (no rewrites or translations offline)",
        )

    @property
    def prompt_tag(self) -> str | None:
        return self.prompt.version_tag if self.mode == "llm" else None

    def plan(self, sources: list[Record], ctx: GenContext) -> list[Task]:
        tasks: list[Task] = []
        ordered = sorted(sources, key=lambda r: r.id)
        for lang in self.languages:
            if self.mode == "llm":
                for src in ordered:
                    meta = paper_meta(ctx.papers.get(src.doi))
                    instruction = self.prompt.render(language=LANGUAGE_NAMES.get(lang, lang), **meta)
                    budget = self.max_tokens or output_budget(src.text or "", 3.0)
                    request = passage_request(self.prompt, src, instruction, budget)
                    tasks.append(Task(request, [src], 0, {"lang": lang}, int(len(src.text or "") / 3)))
                continue
            by_paper: dict[str, list[Record]] = {}
            for src in ordered:  # one paper per request: cache keys stay put when papers are added
                by_paper.setdefault(src.doi, []).append(src)
            for doi, records in by_paper.items():
                context = _context(ctx.papers.get(doi))
                chunk: list[Record] = []
                size = 0
                for src in records:
                    n = len(src.text or "")
                    if chunk and (len(chunk) >= MAX_TEXTS or size + n > MAX_CHARS):
                        tasks.append(self._deepl_task(chunk, lang, context))
                        chunk, size = [], 0
                    chunk.append(src)
                    size += n
                if chunk:
                    tasks.append(self._deepl_task(chunk, lang, context))
        return tasks

    def _deepl_task(self, chunk: list[Record], lang: str, context: str | None) -> Task:
        request = TranslateRequest(texts=[r.text or "" for r in chunk], target_lang=lang, context=context)
        return Task(request, list(chunk), 0, {"lang": lang}, 0)

    def parse(self, task: Task, reply: Reply, ctx: GenContext) -> Outcome:
        out = Outcome()
        lang = task.meta["lang"]
        if self.mode == "llm":
            obj, _ = parse_json_reply(reply_text(reply))
            text = obj.get("translation") if isinstance(obj, dict) else None
            texts = [text] if isinstance(text, str) else [None]
            if obj is None:
                out.drop(unusable_reason(reply, False), f"{task.sources[0].id} -> {lang}")
                return out
        else:
            texts = list(reply.texts)
        if len(texts) != len(task.sources):
            out.drop("reply-count-mismatch", f"{len(texts)} translations for {len(task.sources)} texts")
            return out
        for src, text in zip(task.sources, texts, strict=True):
            if not text or not text.strip():
                out.drop("malformed-json" if self.mode == "llm" else "empty", src.id)
                continue
            problem = preservation_problem(src.text or "", text)
            if problem:
                out.drop(f"translation-{problem[0]}", f"{src.id} -> {lang}: {problem[1]}")
                continue
            wrong = translation_problem(src.text or "", text, lang)
            if wrong:
                out.drop(wrong[0], f"{src.id} -> {lang}: {wrong[1]}")
                continue
            rec = derived(
                src, "translation", lang, self.name, self.version, ctx, self.prompt_tag, 0,
                f"{src.section} translated into {LANGUAGE_NAMES.get(lang, lang)} by {ctx.backend}/{ctx.model}",
                text=text.strip(), lang=lang,
            )  # fmt: skip
            out.records.append(rec)
        return out

    def finalize(self, records: list[Record], ctx: GenContext) -> Outcome:
        return Outcome(records=records)
