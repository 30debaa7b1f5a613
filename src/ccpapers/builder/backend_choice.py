"""Which backend serves which split, decided from flags, the spec and the environment.

What a backend can do (``supports``: chat, translate, ...) and which keys it needs (``key_envs``)
are declared by its class in the BACKENDS registry; nothing here knows them by name.
"""

from __future__ import annotations

import os
from typing import Any

from ccpapers.config import ConfigError
from ccpapers.registry import BACKENDS

AUTO_ORDER = ("anthropic", "openai")  # ``auto`` takes the first of these whose key is set
CLIENT_TIMEOUT = 900.0  # the clients' own limit; the engine passes a fitted one with each request


def _declared(name: str) -> Any:
    """The class registered as backend ``name`` (its declarations), or None for an unknown name."""
    return BACKENDS.get(name) if name in BACKENDS else None


def supports(name: str, capability: str) -> bool:
    """Whether backend ``name`` declares ``capability`` (``"chat"``: a language model)."""
    cls = _declared(name)
    return cls is not None and capability in cls.supports


def key_envs(name: str) -> tuple[str, ...]:
    """The environment variables of which backend ``name`` needs one; () for none (or unknown)."""
    cls = _declared(name)
    return tuple(cls.key_envs) if cls is not None else ()


def has_credentials(name: str) -> bool:
    """A known backend that needs no key, or one of whose key variables is set."""
    cls = _declared(name)
    return cls is not None and (not cls.key_envs or any(os.environ.get(env) for env in cls.key_envs))


def auto_backend() -> str:
    """The first chat backend whose key (or OPENAI_BASE_URL) is set, else ``offline``."""
    for name in AUTO_ORDER:
        if has_credentials(name):
            return name
    return "offline"


def main_backend_name(flag: str, spec_backend: str) -> tuple[str, bool]:
    """(name, explicit). Explicit choices must have their key; ``auto`` falls back to offline.
    (``--estimate`` uses :func:`estimate_backend` instead: it needs no key.)"""
    if flag:
        name, explicit = flag, True
    elif spec_backend and spec_backend != "auto":
        name, explicit = spec_backend, False
    else:
        return auto_backend(), False
    BACKENDS.get(name)  # "did you mean" for typos
    if not has_credentials(name):
        if explicit:
            envs = " or ".join(key_envs(name))
            raise ConfigError(
                f"backend={name}: set {envs} in the environment (keys are never read from files)"
            )
        return auto_backend(), False
    return name, explicit


def estimate_backend(flag: str, spec_backend: str, spec_models: dict[str, str]) -> str:
    """``--estimate``: the backend the build would use once the spec's keys are set (none needed now).

    ``--backend`` wins, then the spec's named backend; ``auto`` takes the first whose key is set,
    else the first chat backend the spec names a model for (so a user without keys sees the price
    of the real build, not of the offline one)."""
    if flag:
        BACKENDS.get(flag)
        return flag
    if spec_backend and spec_backend != "auto":
        return spec_backend
    found = auto_backend()
    if found != "offline":
        return found
    return next((name for name in AUTO_ORDER if spec_models.get(name)), "offline")


def keys_assumed(backends: set[str]) -> list[str]:
    """The key variables an estimate for ``backends`` assumed although they are not set."""
    return [key_envs(name)[0] for name in sorted(backends) if key_envs(name) and not has_credentials(name)]


class BackendPool:
    """Creates each backend once: model from --model (main backend) or the spec's ``models``."""

    def __init__(
        self,
        main: str,
        model_flag: str,
        spec_models: dict[str, str],
        timeout: float,
        state_dir: Any = None,
    ) -> None:
        self.main = main
        self.model_flag = model_flag
        self.spec_models = spec_models
        self.timeout = timeout or CLIENT_TIMEOUT  # 0 = fitted per request by the engine
        self.state_dir = state_dir
        self._made: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._made:
            flagged = name == self.main and bool(self.model_flag)
            model = self.model_flag if flagged else self.spec_models.get(name, "")
            if name == "openai" and _compatible_server() and not flagged:
                # the spec's openai model names an OpenAI model; a local server is asked what it serves
                model = self.spec_models.get("openai-compatible", "")
            self._made[name] = BACKENDS.create(
                name, model=model, timeout=self.timeout, state_dir=self.state_dir
            )
        return self._made[name]


def _compatible_server() -> bool:
    url = os.environ.get("OPENAI_BASE_URL", "")
    return bool(url) and "api.openai.com" not in url
