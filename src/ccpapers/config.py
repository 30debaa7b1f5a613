"""Typed command configs: defaults < YAML file < ``key=value`` overrides < explicit flags.

A command's config is a dataclass whose fields carry their help text in
``field(metadata={"help": ...})``; :func:`add_config_arguments` turns those fields into
``--flags`` and :func:`resolve_config` builds the resolved instance. The resolved config
is written into every output folder with :func:`write_resolved_config`. Configs never
hold secrets: those are read from the environment where they are used.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import yaml

from ccpapers.errors import CcpapersError

C = TypeVar("C")

DEFAULT_WORK = Path("ccpapers-work")


def opt(default: Any, help: str, **kwargs: Any) -> Any:
    """A config field with its CLI help text (``default`` may be a list: copied per instance)."""
    if isinstance(default, (list, dict)):
        factory = lambda d=default: type(d)(d)  # noqa: E731
        return field(default_factory=factory, metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class CommonConfig:
    work: Path = opt(DEFAULT_WORK, "work directory holding every stage's outputs")


class ConfigError(CcpapersError, ValueError):
    """A config value that cannot be used; the message names the key and what to do."""


def _base_type(hint: Any) -> Any:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else str
    return hint


def coerce(hint: Any, value: Any, key: str) -> Any:
    """Convert a YAML/CLI value to the field's declared type, or raise ConfigError."""
    if value is None:
        return None
    base = _base_type(hint)
    origin = get_origin(base)
    try:
        if origin is Literal:
            choices = get_args(base)
            if value not in choices:
                raise ConfigError(f"{key}={value!r}: choose one of {', '.join(map(str, choices))}")
            return value
        if origin is list:
            (item,) = get_args(base) or (str,)
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            return [coerce(item, v, key) for v in value]
        if origin is dict:
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: expected a mapping, got {value!r}")
            return dict(value)
        if base is bool:
            if isinstance(value, str):
                low = value.lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ConfigError(f"{key}={value!r}: expected true or false")
            return bool(value)
        if base is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if base in (str, Path):
            if isinstance(value, (dict, list, tuple, set)):
                raise ConfigError(f"{key}: expected a single text value, got {value!r} (quote it in YAML)")
            return base(value)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{key}={value!r}: expected {getattr(base, '__name__', base)}") from exc
    return value


def _fields(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    hints = get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def config_from_mapping(cls: type[C], data: dict[str, Any], origin: str = "config") -> C:
    fields = _fields(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        import difflib

        hints = [difflib.get_close_matches(u, fields, n=1) for u in unknown]
        detail = ", ".join(
            f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
            for u, h in zip(unknown, hints, strict=True)
        )
        raise ConfigError(f"{origin}: unknown key(s) {detail}")
    return cls(**{k: coerce(fields[k][1], v, k) for k, v in data.items()})


def _is_text(hint: Any) -> bool:
    base = _base_type(hint)
    if get_origin(base) is Literal:
        return all(isinstance(c, str) for c in get_args(base))
    return base in (str, Path)


def parse_overrides(pairs: list[str], cls: type | None = None) -> dict[str, Any]:
    """``key=value`` pairs; values are YAML (numbers, lists, booleans) except for text fields
    of ``cls``, whose values stay exactly the string typed (``system_prompt=Role: tutor``)."""
    text = {name for name, (_, hint) in _fields(cls).items() if _is_text(hint)} if cls else set()
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {pair!r} is not key=value")
        key = key.strip().replace("-", "_")
        if key in text:
            out[key] = value
            continue
        try:
            out[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {pair!r}: the value is not valid YAML ({exc.problem})") from None
    return out


def read_yaml_mapping(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """Read a user's YAML file that must hold a mapping; every problem is a ConfigError naming it.

    ``what`` says what the file is for ("builder spec", "sweep", ...) so the message can say so.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {p}: cannot read it ({exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{what} {p}: not valid YAML{where} ({problem}); fix the file") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {p} must hold a mapping of key: value, not {type(data).__name__}")
    return data


def load_yaml(path: str | Path) -> dict[str, Any]:
    return read_yaml_mapping(path, "config file")


def add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add ``--config``, ``key=value`` overrides and one ``--flag`` per config field."""
    parser.add_argument("--config", metavar="FILE", help="YAML file filling this command's config")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        default=[],
        help="config overrides, applied after --config",
    )
    for name, (f, hint) in _fields(cls).items():
        flag = "--" + name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
            )
        )
        base = _base_type(hint)
        kwargs: dict[str, Any] = {"dest": f"cfg_{name}", "default": argparse.SUPPRESS}
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif get_origin(base) is Literal:  # argparse shows the choices: --method {lora,full}
            kwargs["choices"] = list(get_args(base))
        else:
            kwargs["metavar"] = f.metadata.get("metavar", name.upper())
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        kwargs["help"] = f"{help_text} (default: {shown})" if shown not in (None, "", []) else help_text
        parser.add_argument(flag, **kwargs)


def resolve_config_and_keys(cls: type[C], args: argparse.Namespace) -> tuple[C, set[str]]:
    """Defaults < --config YAML < key=value overrides < explicit --flags.

    Also returns the keys the user gave (in the YAML, as overrides or as flags), for the rules
    that depend on whether a value was chosen or defaulted (``--repo`` implies ``--push``; a
    sweep's base keeps what the user set).
    """
    data: dict[str, Any] = {}
    if getattr(args, "config", None):
        data.update(load_yaml(args.config))
    data.update(parse_overrides(getattr(args, "overrides", []) or [], cls))
    for key, value in vars(args).items():
        if key.startswith("cfg_"):
            data[key[4:]] = value
    cfg = config_from_mapping(cls, data, origin=getattr(args, "config", None) or "config")
    return cfg, set(data)


def resolve_config(cls: type[C], args: argparse.Namespace) -> C:
    """Defaults < --config YAML < key=value overrides < explicit --flags."""
    return resolve_config_and_keys(cls, args)[0]


def config_to_dict(cfg: Any) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in dataclasses.asdict(cfg).items()}


def write_resolved_config(cfg: Any, folder: str | Path, name: str = "config.resolved.yaml") -> Path:
    """Write the resolved config (with the ccpapers version) into an output folder."""
    from ccpapers import __version__
    from ccpapers.io import atomic_write

    path = Path(folder) / name
    payload = {"ccpapers_version": __version__, "command": type(cfg).__name__, **config_to_dict(cfg)}
    with atomic_write(path) as fh:
        yaml.safe_dump(payload, fh, sort_keys=False, allow_unicode=True)
    return path
