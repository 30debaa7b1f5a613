"""Session-wide tiny tokenizer/model (built once: training and torch imports cost seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def mini_suite():
    from ccpapers.bench.suites.fictional import load_fictional

    return load_fictional(FIX / "fictional_mini.yaml")


@pytest.fixture(scope="session")
def tiny_tok(mini_suite):
    from ccpapers.bench.inputs import tiny_texts
    from ccpapers.bench.tiny import tiny_tokenizer

    return tiny_tokenizer(tiny_texts(mini_suite))


@pytest.fixture()
def tiny_lm(tiny_tok):
    """A fresh tiny model per test (building it takes milliseconds)."""
    from ccpapers.bench.tiny import tiny_model

    return tiny_model(tiny_tok, seed=0)
