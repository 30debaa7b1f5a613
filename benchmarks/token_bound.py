"""How tight is the budget's input-token bound? ratio = bound / a real tokenizer's count.

The budget (``--max-cost``) reserves :func:`ccpapers.builder.tokens.upper_bound_tokens` of every
request's canonical payload: the ratio must stay >= 1 for every text (else a cap could be
overrun) and should stay small for English (else a build stops early). Compared against the
tokenizer of a real model (default: SmolLM2-135M-Instruct's GGUF, a GPT-2-style 49k BPE), on the
sections of papers parsed from real pages plus Japanese, Korean and German passages. The old
estimate (``len // 3``) is shown beside it.

    python -m benchmarks.token_bound --gguf DIR/SmolLM2-135M-Instruct.Q4_1.gguf --papers papers.jsonl
    (papers.jsonl: ``ccpapers parse /work/shared/real-pages/*.html --out papers.jsonl``)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ccpapers.builder.cache import canonical
from ccpapers.builder.tokens import typical_tokens, upper_bound_tokens

EXTRA = {
    "ja": "層状のゾルブラックス結晶は京都で気相法により初めて合成された。結晶は410 °Cで焼きなますと厚さ3.5 nmに達する。",
    "ko": "리튬 이온 전도도는 25 °C에서 38 mS/cm이다. 산화 티타늄(TiO2) 피막이 안정성을 높였다. ",
    "de": "Die Filme aus TiO2 wachsen bei 1.000 K in 12 h auf 3,5 nm; die ß-Phase zeigt Übergänge bei 410 °C. ",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, required=True, help="a GGUF file whose tokenizer is the reference")
    ap.add_argument("--papers", type=Path, required=True, help="Paper records (.jsonl)")
    args = ap.parse_args()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(args.gguf.parent), gguf_file=args.gguf.name)
    texts = [
        (f"en {p['doi'][-10:]} {s['kind']}", s["text"])
        for p in map(json.loads, args.papers.read_text(encoding="utf-8").splitlines())
        for s in p["sections"]
        if len(s["text"]) >= 200
    ]
    texts += [(lang, text * 20) for lang, text in EXTRA.items()]
    print(
        f"{'text':28s} {'chars':>7s} {'tokens':>7s} {'bound':>7s} {'ratio':>6s} {'typical':>8s} {'len//3':>7s}"
    )
    ratios: dict[str, list[float]] = {}
    for name, text in texts:
        payload = canonical({"messages": [{"role": "user", "content": f"<passage>\n{text}\n</passage>"}]})
        real, bound = len(tok.encode(payload)), upper_bound_tokens(payload)
        ratios.setdefault(name.split()[0], []).append(bound / real)
        print(f"{name:28s} {len(payload):7d} {real:7d} {bound:7d} {bound / real:6.2f} "
              f"{typical_tokens(payload):8d} {len(payload) // 3:7d}")  # fmt: skip
    for lang, values in ratios.items():
        print(f"{lang}: bound/tokens min {min(values):.2f}, max {max(values):.2f} over {len(values)} texts")


if __name__ == "__main__":
    main()
