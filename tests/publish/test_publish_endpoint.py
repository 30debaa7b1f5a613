"""No test in this repo can reach huggingface.co: every endpoint points at the fake Hub."""

from __future__ import annotations

import os


def test_hf_endpoint_is_local_fake_hub(fake_hub):
    import datasets.config
    import huggingface_hub.constants
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import api

    for value in (
        os.environ["HF_ENDPOINT"],
        huggingface_hub.constants.ENDPOINT,
        api.endpoint,
        HfApi().endpoint,
        datasets.config.HF_ENDPOINT,
    ):
        assert value.startswith("http://127.0.0.1:"), value
    assert huggingface_hub.constants.HF_HUB_DISABLE_XET
    assert os.environ["HF_HOME"] != os.path.expanduser("~/.cache/huggingface")


def test_fake_hub_answers_whoami(fake_hub):
    from huggingface_hub import HfApi

    assert HfApi().whoami()["name"] == "tester"
    assert ("GET", "/api/whoami-v2") in fake_hub.state.requests
