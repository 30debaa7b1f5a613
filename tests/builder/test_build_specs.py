from __future__ import annotations

from pathlib import Path

import pytest

from ccpapers.builder.cost import PriceTable, Usage
from ccpapers.builder.spec import load_spec
from ccpapers.config import ConfigError
from ccpapers.ratelimit import RateLimiter
from ccpapers.registry import BACKENDS, GENERATORS
from ccpapers.resources import recipe_dir
from ccpapers.retry import parse_retry_after


def test_every_shipped_builder_spec_loads() -> None:
    names = sorted(p.stem for p in recipe_dir("builders").glob("*.yaml"))
    assert {"demo", "nature-family-ccpapers", "fictional"} <= set(names)
    for name in names:
        spec = load_spec(name)
        assert spec.name == name
        for split in spec.generate:
            assert split.generator in GENERATORS.names()
    nature = load_spec("nature-family-ccpapers")
    assert {s.split for s in nature.generate} == {"qa", "mcq", "translation"}
    tr = [s for s in nature.generate if s.split == "translation"][0]
    assert tr.options["languages"] == ["es", "de", "it"] and tr.sources == ["introduction"]
    assert load_spec("demo").backend == "offline"


def test_spec_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ngenerate:\n  quiz: {generator: qa}\n")
    with pytest.raises(ConfigError, match="quiz"):
        load_spec(bad)
    with pytest.raises(ConfigError, match="Shipped"):
        load_spec("no-such-spec")


def test_registries_list_the_backends_and_generators() -> None:
    assert {"anthropic", "openai", "deepl", "transformers", "offline"} <= set(BACKENDS.names())
    assert {"qa", "mcq", "rewrite", "translate", "offline"} <= set(GENERATORS.names())


def test_generators_are_chosen_through_the_registry_by_what_they_declare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ccpapers.builder.backend_choice import BackendPool
    from ccpapers.builder.plan import choose_generator
    from ccpapers.builder.spec import SplitSpec

    def split(name: str, generator: str, backend: str | None = None) -> SplitSpec:
        return SplitSpec(name, generator, ["abstract"], ["target"], backend, False, {})

    for name in GENERATORS.names():
        cls = GENERATORS.get(name)
        assert isinstance(cls.needs_backend, bool) and callable(cls.for_split), name
        assert cls.stand_in is None or not GENERATORS.get(cls.stand_in).needs_backend
    offline = BackendPool("offline", "", {}, 0)
    for name in ("qa", "mcq"):  # no model at all: offline cloze questions stand in
        chosen = choose_generator(split(name, name), "offline", offline)
        assert chosen.generator.name == "offline" and chosen.generator.mode == name
        assert chosen.backend is None and not chosen.generator.needs_backend
    assert "language model" in choose_generator(split("rewrite", "rewrite"), "offline", offline).why_not
    assert choose_generator(split("translation", "translate"), "offline", offline).generator is None
    deepl = choose_generator(split("translation", "translate", "deepl"), "offline", offline, assume_keys=True)
    assert deepl.generator.mode == "deepl" and deepl.backend.name == "deepl"
    by_main = choose_generator(split("translation", "translate"), "deepl", BackendPool("deepl", "", {}, 0))
    assert by_main.generator.mode == "deepl" and by_main.backend.name == "deepl"
    with pytest.raises(ConfigError, match="generate.qa: unknown generator 'quiz'"):
        choose_generator(split("qa", "quiz"), "offline", offline)


def test_backends_declare_capabilities_and_keys_and_callers_ask_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No caller knows a backend by name: a newly registered chat backend with a key of its own
    is chosen, judged and refused exactly like the built-in ones."""
    from ccpapers.builder import backend_choice as bc
    from ccpapers.builder.backends.base import OfflineBackend
    from ccpapers.builder.judge import judge_for
    from ccpapers.builder.spec import SplitSpec

    built_in = ["anthropic", "deepl", "offline", "openai", "transformers"]  # other tests register fakes
    for name in built_in:
        cls = BACKENDS.get(name)
        assert isinstance(cls.supports, frozenset) and isinstance(cls.key_envs, tuple), name
    assert [n for n in built_in if bc.supports(n, "chat")] == ["anthropic", "openai", "transformers"]
    assert bc.key_envs("deepl") == ("DEEPL_AUTH_KEY",) and bc.key_envs("no-such") == ()
    assert bc.has_credentials("offline") and bc.has_credentials("transformers")
    assert not bc.has_credentials("no-such") and not bc.supports("no-such", "chat")

    class LabBackend(OfflineBackend):
        name = "lab"
        supports = frozenset({"chat"})
        key_envs = ("LAB_KEY",)

    monkeypatch.setitem(BACKENDS._targets, "lab", LabBackend)
    monkeypatch.delenv("LAB_KEY", raising=False)
    with pytest.raises(ConfigError, match="backend=lab: set LAB_KEY in the environment"):
        bc.main_backend_name("lab", "")
    assert bc.keys_assumed({"lab", "offline"}) == ["LAB_KEY"]
    split = SplitSpec("qa", "qa", ["abstract"], ["target"], None, False, {"judge": {"backend": "lab"}})
    pool = bc.BackendPool("offline", "", {}, 0)
    assert judge_for(split, "offline", pool)[2] == "the judge needs a language model backend (now lab)"
    monkeypatch.setenv("LAB_KEY", "k")
    assert bc.main_backend_name("lab", "") == ("lab", True) and bc.keys_assumed({"lab"}) == []
    judge, backend, why_not = judge_for(split, "offline", pool)
    assert judge is not None and backend.name == "lab" and why_not is None


def test_price_table_override_and_prefix_lookup(tmp_path: Path) -> None:
    table = PriceTable.load()
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=1_000_000)
    assert table.cost("claude-sonnet-4-6", usage) == pytest.approx(3 + 15 + 0.3)
    assert table.cost("claude-sonnet-4-6", usage, batch=True) == pytest.approx((3 + 15 + 0.3) / 2)
    assert not table.known("my-local-model") and table.cost("my-local-model", usage) == 0
    override = tmp_path / "p.yaml"
    override.write_text("claude-sonnet-4-6: {input: 1, output: 2}\n")
    assert PriceTable.load(override).cost("claude-sonnet-4-6", Usage(1_000_000, 1_000_000)) == pytest.approx(
        3
    )
    override.write_text("- not a mapping\n")
    with pytest.raises(ConfigError, match="mapping"):
        PriceTable.load(override)


def test_rate_limiter_spaces_requests_and_pauses() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    lim = RateLimiter.per_minute(rpm=600, clock=lambda: now[0], sleep=sleep)
    for _ in range(11):
        lim.acquire()
    assert now[0] == pytest.approx(1.0)  # 10 per second, evenly spaced
    lim.pause(5.0)
    t = now[0]
    lim.acquire()
    assert now[0] - t >= 5.0
    tok = RateLimiter(tpm=6000, clock=lambda: now[0], sleep=sleep)
    tok.acquire(6000)
    t = now[0]
    tok.acquire(3000)  # the bucket refills at 100 tokens/s
    assert now[0] - t == pytest.approx(30.0, rel=0.05)


def test_retry_after_headers() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({}) is None
