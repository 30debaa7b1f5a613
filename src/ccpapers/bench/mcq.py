"""Multiple choice by log-likelihood, as lm-evaluation-harness scores MMLU.

Prompt: a subject header, k dev shots, then the item, each as ``question / A. .. / Answer: X``
separated by a blank line; the choice is the option letter (``" A"`` .. ``" D"``) with the
highest log-likelihood after ``Answer:``. Context and continuation are encoded jointly and the
continuation is what the joint encoding adds. When every continuation is one token (Llama's
``▁B``) a single forward of the context scores all options at once.
"""

from __future__ import annotations

from typing import Any

from ccpapers.bench.suites.base import Question

LETTERS = "ABCDEFGHIJ"


def format_item(q: Question, with_answer: bool) -> str:
    lines = [q.question.strip()] + [f"{LETTERS[i]}. {c}" for i, c in enumerate(q.choices)]
    tail = f"Answer: {LETTERS[q.answer_index]}" if with_answer and q.answer_index is not None else "Answer:"
    return "\n".join(lines + [tail])


def mcq_context(q: Question, shots: list[Question] | None = None) -> str:
    parts = []
    if q.subject:
        parts.append(
            f"The following are multiple choice questions (with answers) about {q.subject.replace('_', ' ')}.\n\n"
        )
    body = [format_item(s, True) for s in shots or []] + [format_item(q, False)]
    return "".join(parts) + "\n\n".join(body)


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) with trailing spaces moved onto the continuation."""
    n_space = len(context) - len(context.rstrip())
    if n_space:
        continuation = context[-n_space:] + continuation
        context = context[:-n_space]
    whole = tokenizer(context + continuation, add_special_tokens=True)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=True)["input_ids"]
    return list(whole[: len(ctx)]), list(whole[len(ctx) :])


def _right_padded_logits(model: Any, seqs: list[list[int]], device: Any) -> Any:
    """One forward over right-padded token sequences (nothing is generated, so right is fine)."""
    import torch

    width = max(len(x) for x in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, x in enumerate(seqs):
        ids[r, : len(x)] = torch.tensor(x)
        mask[r, : len(x)] = 1
    with torch.no_grad():
        return model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False).logits


def loglik(
    model: Any, requests: list[tuple[list[int], list[int]]], batch_size: int = 16, per_request: float = 0.0
) -> list[float]:
    """Sum of log-probabilities of each continuation given its context (right-padded batches);
    ``per_request``: progress units (questions) one request stands for."""
    import torch

    from ccpapers.bench import progress

    device = next(model.parameters()).device
    out = [0.0] * len(requests)
    order = sorted(range(len(requests)), key=lambda i: -len(requests[i][0]) - len(requests[i][1]))
    was_training = model.training
    model.eval()
    try:
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            seqs = [(requests[i][0] + requests[i][1])[:-1] for i in idx]
            logits = _right_padded_logits(model, seqs, device)
            logp = torch.log_softmax(logits.float(), dim=-1)
            for r, i in enumerate(idx):
                ctx, cont = requests[i]
                start = len(ctx) - 1
                pos = torch.arange(start, start + len(cont), device=logp.device)
                tgt = torch.tensor(cont, device=logp.device)
                out[i] = float(logp[r, pos, tgt].sum())
            progress.advance(len(idx) * per_request)
    finally:
        model.train(was_training)
    return out


def choose(
    model: Any,
    tokenizer: Any,
    questions: list[Question],
    shots: dict[str, list[Question]] | None = None,
    n_shots: int = 0,
    batch_size: int = 16,
) -> list[dict[str, Any]]:
    """For each question: option log-likelihoods and the chosen index (argmax)."""
    requests: list[tuple[list[int], list[int]]] = []
    spans: list[tuple[int, int]] = []
    for q in questions:
        sh = (shots or {}).get(q.subject or "", [])[:n_shots]
        context = mcq_context(q, sh)
        start = len(requests)
        for i in range(len(q.choices)):
            requests.append(encode_pair(tokenizer, context, f" {LETTERS[i]}"))
        spans.append((start, len(requests)))
    single = all(len(c) == 1 for _, c in requests) and all(
        requests[k][0] == requests[a][0] for a, b in spans for k in range(a, b)
    )
    if single:  # one forward per question scores every option
        ctx_only = [(requests[a][0][:-1], [requests[a][0][-1]]) for a, _ in spans]
        scores = _next_token_scores(
            model, ctx_only, [[requests[k][1][0] for k in range(a, b)] for a, b in spans], batch_size
        )
    else:
        flat = loglik(model, requests, batch_size, per_request=len(questions) / max(1, len(requests)))
        scores = [flat[a:b] for a, b in spans]
    results = []
    for q, sc in zip(questions, scores, strict=True):
        pick = max(range(len(sc)), key=lambda i: sc[i])
        results.append({"loglik": sc, "choice": pick, "correct": float(pick == q.answer_index)})
    return results


def _next_token_scores(
    model: Any, ctx: list[tuple[list[int], list[int]]], options: list[list[int]], batch_size: int
) -> list[list[float]]:
    import torch

    from ccpapers.bench import progress

    device = next(model.parameters()).device
    out: list[list[float]] = [[] for _ in ctx]
    order = sorted(range(len(ctx)), key=lambda i: -len(ctx[i][0]))
    was_training = model.training
    model.eval()
    try:
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            seqs = [ctx[i][0] + ctx[i][1] for i in idx]
            logits = _right_padded_logits(model, seqs, device)
            for r, i in enumerate(idx):
                last = torch.log_softmax(logits[r, len(seqs[r]) - 1].float(), dim=-1)
                out[i] = [float(last[t]) for t in options[i]]
            progress.advance(len(idx))
    finally:
        model.train(was_training)
    return out
