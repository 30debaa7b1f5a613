"""Render the dataset card (README.md) and LICENSE.md from the templates in ``cards/``.

Templates use :class:`string.Template` (``${name}`` placeholders; ``$$`` for a literal
dollar), so no template engine is needed. The YAML front matter is built with
``huggingface_hub.DatasetCardData`` plus ``datasets``' own ``DatasetInfosDict`` so that
``dataset_info`` looks exactly as ``push_to_hub`` would write it. Output is deterministic:
rendering the same build twice gives the same bytes (no timestamps besides stored ones).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import yaml

from ccpapers.licenses import HUB_LICENSE_IDS
from ccpapers.publish.shards import DERIVED_KINDS, SPLIT_NAME, licence_info
from ccpapers.resources import resolve_recipe

HATAKEYAMA_BIBTEX = """@article{hatakeyama2023teaching,
  title   = {Teaching Specific Scientific Knowledge into Large Language Models through Additional Training},
  author  = {Hatakeyama-Sato, Kan and Igarashi, Yasuhiko and Katakami, Shun and Nabae, Yuta and Hayakawa, Teruaki},
  journal = {arXiv preprint arXiv:2312.03360},
  year    = {2023},
  doi     = {10.48550/arXiv.2312.03360}
}"""

FIELD_HELP: dict[str, str] = {
    "id": "stable row id (DOI + section/variant)",
    "split": "build split the row comes from (abstract, introduction, qa, mcq, ...)",
    "doi": "DOI of the source paper",
    "license": "licence of this row (Hugging Face id; share-alike forced on derived rows)",
    "license_url": "URL of the licence's legal code",
    "section": "source section kind (abstract, introduction, ...)",
    "text": "the text (text, rewrite and translation splits)",
    "question": "question (qa and mcq splits)",
    "answer": "answer (qa and mcq splits)",
    "choices": "answer options (mcq split)",
    "answer_index": "index of the correct option in `choices` (mcq split)",
    "lang": "language code of the row",
    "title": "title of the source paper",
    "journal": "journal of the source paper",
    "year": "publication year of the source paper",
    "group": "`target` (papers used for evaluation) or `irrelevant` (distractor papers)",
    "source_id": "id of the paper section or record this row was derived from",
    "source_span": "character span of the source text, when known",
    "generator": "ccpapers generator that produced the row",
    "generator_version": "version of that generator",
    "backend": "generation backend (anthropic, openai, deepl, offline, ...)",
    "model": "model used by the backend",
    "prompt_hash": "hash of the prompt template (prompt version)",
    "variant": "variant index (several rewrites/questions per source)",
    "style": "rewrite style, when any",
    "modified": "true when the text was adapted from the source (CC asks to indicate changes)",
    "modification_note": "how the text was changed",
    "flags": "quality flags raised while building",
}
TASKS = {"qa": "question-answering", "mcq": "multiple-choice", "translation": "translation"}
SECRET_KEY = re.compile(r"token|secret|password|api_?key|auth", re.I)


@dataclass
class ConfigStats:
    name: str
    kind: str
    tier: str
    rows: int
    licences: Counter[str]
    files: list[str]
    num_bytes: int  # in-memory Arrow size
    file_bytes: int  # Parquet size on disk
    default: bool = False


@dataclass
class CardContext:
    repo_id: str
    pretty_name: str
    configs: list[ConfigStats]
    schema: Any  # pyarrow.Schema shared by every config
    rows: list[dict[str, Any]]  # distinct rows of the build (largest tier of each kind)
    build_report: dict[str, Any]
    build_config: dict[str, Any]
    drops: Counter[tuple[str, str]]  # (split, reason) -> rows
    changelog: list[dict[str, Any]]
    ccpapers_version: str
    spec: str
    extra: dict[str, Any] = field(default_factory=dict)


def _size_category(n: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]
    bounds += [(10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    for bound, label in bounds:
        if n < bound:
            return label
    return "1B<n<10B"


def card_metadata(ctx: CardContext) -> dict[str, Any]:
    """The README YAML front matter as a plain dict (keys in a readable order)."""
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    licences = sorted({lic for c in ctx.configs for lic in c.licences})
    kinds = {c.kind for c in ctx.configs}
    langs = sorted({r["lang"] for r in ctx.rows if r.get("lang")}) or ["en"]
    tasks = sorted({TASKS.get(k, "text-generation") for k in kinds})
    derived = bool(kinds & set(DERIVED_KINDS))
    data = DatasetCardData(
        pretty_name=ctx.pretty_name,
        license=licences,
        language=langs,
        language_creators=["found", "machine-generated"] if derived else ["found"],
        annotations_creators=["machine-generated"] if derived else ["no-annotation"],
        multilinguality=["multilingual" if len(langs) > 1 else "monolingual"],
        source_datasets=["original"],
        task_categories=tasks,
        size_categories=[_size_category(len(ctx.rows))],
        tags=["science", "scholarly", "creative-commons", "nature-family", "knowledge-injection", "ccpapers"],
    )
    bad = [lic for lic in licences if lic not in HUB_LICENSE_IDS]
    if bad:  # not on the Hub's list: declare `other` and point to LICENSE.md
        data.license = sorted({lic for lic in licences if lic in HUB_LICENSE_IDS} | {"other"})
        data.license_name = "ccpapers-mixed-cc"
        data.license_link = "LICENSE.md"
    data.configs = [
        {
            "config_name": c.name,
            **({"default": True} if c.default else {}),
            "data_files": [{"split": SPLIT_NAME, "path": f"data/{c.name}/{SPLIT_NAME}-*"}],
        }
        for c in ctx.configs
    ]
    features = Features.from_arrow_schema(ctx.schema)
    infos = DatasetInfosDict()
    for c in ctx.configs:
        splits = SplitDict()
        splits.add(SplitInfo(name=SPLIT_NAME, num_bytes=c.num_bytes, num_examples=c.rows))
        infos[c.name] = DatasetInfo(
            features=features,
            splits=splits,
            download_size=c.file_bytes,
            dataset_size=c.num_bytes,
            config_name=c.name,
        )
    infos.to_dataset_card_data(data)
    return data.to_dict()


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(out)


def _fmt_licences(counter: Counter[str]) -> str:
    return ", ".join(f"`{lic}` ({n})" for lic, n in sorted(counter.items()))


def _configs_table(ctx: CardContext) -> str:
    rows = [
        [
            f"`{c.name}`" + (" (default)" if c.default else ""),
            c.kind,
            f"`{c.tier}`",
            c.rows,
            len(c.files),
            f'`load_dataset("{ctx.repo_id}", "{c.name}")`',
        ]
        for c in ctx.configs
    ]
    return _table(["Config", "Kind", "Tier", "Rows", "Shards", "Load with"], rows)


def _licence_table(ctx: CardContext) -> str:
    rows = [[f"`{c.name}`", _fmt_licences(c.licences), c.rows] for c in ctx.configs]
    return _table(["Config", "Licences (rows)", "Total"], rows)


def _fields_table(ctx: CardContext) -> str:
    rows = [[f"`{f.name}`", f"`{f.type}`", FIELD_HELP.get(f.name, "")] for f in ctx.schema]
    return _table(["Field", "Type", "Meaning"], rows)


def _count_table(ctx: CardContext, key: str, label: str) -> str:
    papers: dict[Any, set[str]] = {}
    rows: Counter[Any] = Counter()
    for r in ctx.rows:
        k = r.get(key) if r.get(key) is not None else "unknown"
        papers.setdefault(k, set()).add(r["doi"])
        rows[k] += 1
    order = sorted(papers, key=lambda k: (str(k) == "unknown", str(k)))
    return _table([label, "Papers", "Rows"], [[k, len(papers[k]), rows[k]] for k in order])


def _missing(rep: dict[str, Any]) -> list[str]:
    """Lines naming the splits the build spec asked for but the build could not make, and the
    splits made by a fallback generator instead of the one the spec names."""
    lines = []
    cannot = rep.get("cannot_make") or {}
    if isinstance(cannot, dict) and cannot:
        lines += [
            "**Missing splits:** the build spec asked for these splits, but this build could not make them:",
            "",
        ]
        lines += [f"- `{split}`: {why}" for split, why in sorted(cannot.items())]
    substituted = rep.get("substituted") or {}
    if isinstance(substituted, dict) and substituted:
        lines += ["", "**Made by a fallback generator:**", ""]
        lines += [f"- `{split}`: {why}" for split, why in sorted(substituted.items())]
    return lines


def _generation(ctx: CardContext) -> str:
    rep = ctx.build_report
    lines = [f"Build spec: `{rep.get('spec') or ctx.spec}`."]
    if "papers_used" in rep or "papers" in rep:
        lines[0] += f" Papers read: {rep.get('papers', '?')}, used: {rep.get('papers_used', '?')}."
    missing = _missing(rep)
    if missing:
        lines += ["", *missing]
    gens = rep.get("generators")
    if isinstance(gens, dict) and gens:
        header = ["Split", "Generator", "Version", "Prompt version", "Backend", "Model"]
        rows = [
            [f"`{split}`", g.get("generator", "-"), g.get("version", "-"), g.get("prompt") or "-"]
            + [g.get("backend", "-"), g.get("model", "-")]
            for split, g in sorted(gens.items())
            if isinstance(g, dict)
        ]
        lines += ["", "Generators of the build:", "", _table(header, rows)]
    combos: Counter[tuple[str, ...]] = Counter()
    prompts: dict[str, set[str]] = {}
    for r in ctx.rows:
        gen = f"{r.get('generator') or '-'} {r.get('generator_version') or ''}".strip()
        combos[(r["split"], gen, r.get("backend") or "-", r.get("model") or "-")] += 1
        if r.get("prompt_hash"):
            prompts.setdefault(r.get("generator") or "-", set()).add(r["prompt_hash"])
    table_rows = [list(k) + [n] for k, n in sorted(combos.items())]
    lines += ["", "Published rows by generator, backend and model:", ""]
    lines += [_table(["Split", "Generator", "Backend", "Model", "Rows"], table_rows)]
    if prompts:
        lines += ["", "Prompt versions (template hashes):"]
        lines += [f"- `{g}`: " + ", ".join(f"`{h}`" for h in sorted(hs)) for g, hs in sorted(prompts.items())]
    usage = {k: rep[k] for k in ("cost_usd", "calls", "cache_hits", "tokens") if k in rep}
    usage.update({k: v for k, v in rep.items() if "cost" in k.lower() and k not in usage})
    if usage:
        lines += [
            "",
            "Cost and usage of the build: " + "; ".join(f"{k}: {_plain(v)}" for k, v in usage.items()),
        ]
    for key in ("backends", "models", "prompt_versions"):
        if key in rep:
            lines += ["", f"{key.replace('_', ' ').capitalize()} (from the build report): {_plain(rep[key])}"]
    if rep.get("drops"):
        lines += ["", f"Left out while building (reason: count): {_plain(rep['drops'])}"]
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "`" + yaml.safe_dump(value, default_flow_style=True, sort_keys=True, width=10**6).strip() + "`"
    return str(value)


def _drops(ctx: CardContext) -> str:
    if not ctx.drops:
        return "No build row was left out of the configs."
    rows = [[f"`{split}`", reason, n] for (split, reason), n in sorted(ctx.drops.items())]
    return "Rows of the build left out of every config:\n\n" + _table(["Split", "Reason", "Rows"], rows)


def redact(value: Any) -> Any:
    """Drop anything secret-looking from a config before it is shown."""
    if isinstance(value, dict):
        return {k: ("<redacted>" if SECRET_KEY.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and re.match(r"^(/|~|[A-Za-z]:[\\/])", value):
        return "<local path>"  # never publish the publisher's file system layout
    return value


def _changelog(ctx: CardContext) -> str:
    if not ctx.changelog:
        return "- (first release)"
    lines = []
    for e in reversed(ctx.changelog):
        version = e.get("version") or "unreleased"
        lines.append(
            f"- **{version}** ({e.get('date', '?')}): {e.get('note', '')} ({e.get('rows', '?')} rows)"
        )
    return "\n".join(lines)


def _citation(ctx: CardContext) -> str:
    owner, name = ctx.repo_id.split("/")
    year = (ctx.changelog[0].get("date", "") if ctx.changelog else "")[:4] or "2024"
    key = re.sub(r"[^a-z0-9]+", "_", name.lower())
    own = (
        f"@misc{{{key},\n  title        = {{{{{ctx.pretty_name}}}}},\n  author       = {{{owner}}},\n"
        f"  year         = {{{year}}},\n  howpublished = {{\\url{{https://huggingface.co/datasets/{ctx.repo_id}}}}},\n"
        f"  note         = {{Built with ccpapers {ctx.ccpapers_version}}}\n}}"
    )
    return own + "\n\n" + HATAKEYAMA_BIBTEX


def _summary(ctx: CardContext) -> str:
    dois = {r["doi"] for r in ctx.rows}
    journals = sorted({r["journal"] for r in ctx.rows if r.get("journal")})
    kinds = []
    for c in ctx.configs:
        if c.kind not in kinds:
            kinds.append(c.kind)
    cannot = ctx.build_report.get("cannot_make") or {}
    missing = (
        f" **Missing splits** (asked for by the build spec, not made): {', '.join(f'`{s}`' for s in cannot)};"
        " see *How the data was generated*."
        if isinstance(cannot, dict) and cannot
        else ""
    )
    return (
        f"Knowledge-injection training data built from {len(dois)} Creative-Commons licensed "
        f"scientific papers ({', '.join(journals) or 'journals unknown'}): {len(ctx.rows)} rows in "
        f"{len(kinds)} kinds ({', '.join(kinds)}), offered as {len(ctx.configs)} licence-tier configs."
        + missing
    )


def render_card(ctx: CardContext, template: str | Path = "dataset_card.md") -> str:
    """The full README.md text."""
    text = resolve_recipe("cards", str(template), suffixes=(".md",)).read_text(encoding="utf-8")
    default = next((c.name for c in ctx.configs if c.default), ctx.configs[0].name)
    latest = next((e["version"] for e in reversed(ctx.changelog) if e.get("version")), None)
    build_cfg = yaml.safe_dump(redact(ctx.build_config), sort_keys=False, allow_unicode=True).strip()
    values = {
        "front_matter": yaml.safe_dump(card_metadata(ctx), sort_keys=False, allow_unicode=True).strip(),
        "pretty_name": ctx.pretty_name,
        "summary": _summary(ctx),
        "ccpapers_version": ctx.ccpapers_version,
        "repo_id": ctx.repo_id,
        "default_config": default,
        "pin_revision": latest or "v1.0.0",
        "configs_table": _configs_table(ctx),
        "licence_table": _licence_table(ctx),
        "fields_table": _fields_table(ctx),
        "journal_table": _count_table(ctx, "journal", "Journal"),
        "year_table": _count_table(ctx, "year", "Year"),
        "generation": _generation(ctx),
        "drops": _drops(ctx),
        "build_config": build_cfg or "# no config.resolved.yaml in the build folder",
        "citation": _citation(ctx),
        "changelog": _changelog(ctx),
        **ctx.extra,
    }
    return Template(text).substitute(values)


def render_license(ctx: CardContext, template: str | Path = "LICENSE.md") -> str:
    text = resolve_recipe("cards", str(template), suffixes=(".md",)).read_text(encoding="utf-8")
    matrix = _table(
        ["Config", "Tier", "Licences (rows)"],
        [[f"`{c.name}`", f"`{c.tier}`", _fmt_licences(c.licences)] for c in ctx.configs],
    )
    used = sorted({lic for c in ctx.configs for lic in c.licences})
    codes = "\n".join(f"- `{lic}`: {licence_info(lic)[1] or 'see the row license_url'}" for lic in used)
    values = {
        "repo_id": ctx.repo_id,
        "licence_matrix": matrix,
        "legal_codes": codes,
        "ccpapers_version": ctx.ccpapers_version,
    }
    return Template(text).substitute(values)
