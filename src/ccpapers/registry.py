"""One small name -> implementation registry with lazy imports and "did you mean".

Each extension point (source, parser, backend, generator, scorer, suite) has one
:class:`Registry`; implementations build themselves from the config and declare what they can
do, so callers look a name up here and never branch on it. (The licence policy is no
extension point: the config names a tier of the one :class:`ccpapers.licenses.LicensePolicy`.) Implementations are registered as ``"package.module:attribute"``
strings so that looking up a name imports only what it needs (torch stays unimported
until a bench component is asked for). The package that owns an extension point
registers its names when imported; ``Registry.get`` imports that package on first use.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any

from ccpapers.errors import CcpapersError


class UnknownNameError(CcpapersError, KeyError):
    """Raised for a name no implementation is registered under."""


class Registry:
    def __init__(self, kind: str, home: str | None = None) -> None:
        self.kind = kind
        self.home = home  # package whose import registers the built-in names
        self._targets: dict[str, str | Any] = {}
        self._loaded_home = home is None

    def register(self, name: str, target: str | Any | None = None) -> Any:
        """Register ``target`` (an object or a lazy "module:attr" string) under ``name``.

        Without ``target`` it returns a decorator.
        """
        if target is None:

            def decorator(obj: Any) -> Any:
                self._targets[name] = obj
                return obj

            return decorator
        self._targets[name] = target
        return target

    def _ensure_home(self) -> None:
        if not self._loaded_home:
            self._loaded_home = True
            importlib.import_module(self.home)  # type: ignore[arg-type]

    def names(self) -> list[str]:
        self._ensure_home()
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        self._ensure_home()
        return name in self._targets

    def get(self, name: str) -> Any:
        self._ensure_home()
        if name not in self._targets:
            close = difflib.get_close_matches(name, self._targets, n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}"
            )
        target = self._targets[name]
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            self._targets[name] = target
        return target

    def create(self, name: str, **kwargs: Any) -> Any:
        """Look up ``name`` and call it with keyword arguments."""
        factory: Callable[..., Any] = self.get(name)
        return factory(**kwargs)


SOURCES = Registry("source", "ccpapers.crawl.sources")
PARSERS = Registry("parser", "ccpapers.crawl.parsers")
BACKENDS = Registry("backend", "ccpapers.builder.backends")
GENERATORS = Registry("generator", "ccpapers.builder.generators")
SCORERS = Registry("scorer", "ccpapers.bench.scorers")
SUITES = Registry("suite", "ccpapers.bench.suites")
