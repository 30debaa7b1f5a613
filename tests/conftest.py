"""Repo-wide test setup: no test can ever reach huggingface.co.

At import time (before any test module imports ``huggingface_hub`` or ``datasets``, which
read these settings once) this file:
- starts the fake Hub (``tests/publish/fakehub.py``) on 127.0.0.1, port 0, in a daemon thread;
- points ``HF_ENDPOINT`` at it, disables Xet and telemetry, sets a dummy ``HF_TOKEN``;
- sends ``HF_HOME`` / ``HF_DATASETS_CACHE`` to a temporary folder.
If the libraries were somehow imported already, their endpoint constants are patched too.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

_HF_TMP = tempfile.mkdtemp(prefix="ccpapers-tests-hf-")
atexit.register(shutil.rmtree, _HF_TMP, ignore_errors=True)


def _load_fakehub():
    path = Path(__file__).parent / "publish" / "fakehub.py"
    spec = importlib.util.spec_from_file_location("ccpapers_tests_fakehub", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fakehub = _load_fakehub()
FAKE_HUB = fakehub.start()
atexit.register(FAKE_HUB.stop)

os.environ.update(
    {
        "HF_ENDPOINT": FAKE_HUB.url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "0",
        "HF_TOKEN": "hf_fake_test_token",
        "HF_HOME": os.path.join(_HF_TMP, "home"),
        "HF_DATASETS_CACHE": os.path.join(_HF_TMP, "datasets"),
        "HF_HUB_CACHE": os.path.join(_HF_TMP, "hub"),
        "HF_XET_CACHE": os.path.join(_HF_TMP, "xet"),
        "DO_NOT_TRACK": "1",
    }
)
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.pop("HF_DATASETS_OFFLINE", None)


def _patch_if_imported() -> None:
    """Libraries imported before this file read the old endpoint: patch their constants."""
    hub = sys.modules.get("huggingface_hub.constants")
    if hub is not None:
        hub.ENDPOINT = FAKE_HUB.url
        hub.HUGGINGFACE_CO_URL_TEMPLATE = FAKE_HUB.url + "/{repo_id}/resolve/{revision}/{filename}"
        hub.HF_HUB_DISABLE_XET = True
        hub.HF_HUB_DISABLE_TELEMETRY = True
    api = sys.modules.get("huggingface_hub.hf_api")
    if api is not None:
        api.api.endpoint = FAKE_HUB.url
    ds = sys.modules.get("datasets.config")
    if ds is not None:
        ds.HF_ENDPOINT = FAKE_HUB.url
        ds.HUB_DATASETS_URL = FAKE_HUB.url + "/datasets/{repo_id}/resolve/{revision}/{path}"


_patch_if_imported()

import pytest  # noqa: E402


@pytest.fixture
def fake_hub():
    """The running fake Hub, emptied before the test."""
    FAKE_HUB.state.reset()
    return FAKE_HUB
