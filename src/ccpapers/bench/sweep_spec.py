"""Sweep files: loading, checking every part before a trial runs, sampling the search space,
and turning sampled parameters into a trial's :class:`BenchConfig`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccpapers.bench.config import BenchConfig
from ccpapers.config import ConfigError, config_from_mapping, config_to_dict, read_yaml_mapping


def load_sweep_spec(spec: str | Path) -> dict[str, Any]:
    from ccpapers.resources import resolve_recipe

    try:
        path = (
            resolve_recipe("train", spec)
            if Path(str(spec)).exists()
            else resolve_recipe("train", f"sweeps/{spec}")
        )
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from exc
    data = read_yaml_mapping(path, "sweep")
    if not isinstance(data.get("space"), dict) or not data["space"]:
        raise ConfigError(f"sweep {path}: needs a non-empty 'space' mapping of config key -> distribution")
    fields = set(config_to_dict(BenchConfig()))
    bad = [k for k in [*data["space"], *(data.get("base") or {})] if k not in fields]
    if bad:
        raise ConfigError(f"sweep {path}: {bad} are not bench config keys")
    data.setdefault("study_name", Path(path).stem)
    data["_path"] = str(path)
    return data


def _number(d: dict[str, Any], key: str, where: str) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}: '{key}' must be a number, got {v!r}")
    return float(v)


def check_spec(sp: dict[str, Any], base: BenchConfig, n_trials: int | None = None) -> None:
    """Every part of a sweep checked before any trial runs: distributions, sampler, pruner,
    objective, counts, and each bound or choice as a value of its config key."""
    import math

    origin = sp.get("_path", "sweep")
    space = sp.get("space")
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"sweep {origin}: needs a non-empty 'space' mapping of config key -> distribution")
    probes: list[dict[str, Any]] = []
    for name, d in space.items():
        where = f"sweep {origin}: space {name!r}"
        if not isinstance(d, dict):
            raise ConfigError(f"{where}: expected {{type: float|int, low, high}} or {{choices: [...]}}")
        kind = d.get("type", "categorical" if "choices" in d else "float")
        if kind == "categorical":
            choices = d.get("choices")
            if not isinstance(choices, list) or not choices:
                raise ConfigError(f"{where}: 'choices' must be a non-empty list")
            probes += [{name: c} for c in choices]
        elif kind in ("float", "int"):
            low, high = _number(d, "low", where), _number(d, "high", where)
            if not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise ConfigError(f"{where}: needs finite low <= high, got low={low:g} high={high:g}")
            if d.get("log") and low <= 0:
                raise ConfigError(f"{where}: log scale needs low > 0, got low={low:g}")
            if kind == "int":
                step = d.get("step", 1)
                if not isinstance(step, int) or step < 1 or (d.get("log") and step != 1):
                    raise ConfigError(f"{where}: step must be an integer >= 1 (and 1 with log)")
                low, high = int(low), int(high)
            probes += [{name: low}, {name: high}]
        else:
            raise ConfigError(f"{where}: type must be float, int or categorical (choices), got {kind!r}")
    objectives = ("gain_x_log10_texts", "gain", "score", "forgetting_gain")
    if sp.get("objective", base.objective) not in objectives:
        raise ConfigError(
            f"sweep {origin}: objective {sp.get('objective')!r}: choose one of {', '.join(objectives)}"
        )
    if sp.get("direction", "maximize") not in ("maximize", "minimize"):
        raise ConfigError(f"sweep {origin}: direction must be maximize or minimize")
    sampler = (sp.get("sampler") or {}).get("name", "tpe")
    if sampler not in ("tpe", "grid"):
        raise ConfigError(f"sweep {origin}: sampler {sampler!r}: choose tpe or grid")
    if sampler == "grid":
        grid_size(space)
    total = n_trials if n_trials is not None else sp.get("n_trials", 20)
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ConfigError(f"sweep {origin}: n_trials={total!r} must be an integer >= 1")
    hb = sp.get("heartbeat") or {}
    if int(hb.get("interval", 30)) < 1 or int(hb.get("grace", 90)) <= int(hb.get("interval", 30)):
        raise ConfigError(f"sweep {origin}: heartbeat needs interval >= 1 and grace > interval (seconds)")
    p = sp.get("pruner") or {}
    if p.get("name", "none") == "threshold" and "lower" not in p:
        raise ConfigError(f"sweep {origin}: pruner threshold needs 'lower'")
    from ccpapers.bench.sweep_samplers import make_pruner

    make_pruner(sp)
    for probe in probes or [{}]:  # each bound/choice must be a valid value of its key
        try:
            trial_config(base, sp, probe, set()).validate()
        except ConfigError as exc:
            raise ConfigError(f"sweep {origin}: with {probe}: {exc}") from None


def suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Sample one config from the YAML search space (float/int with low/high/log, categorical)."""
    params: dict[str, Any] = {}
    for name, d in space.items():
        kind = d.get("type", "categorical" if "choices" in d else "float")
        if kind == "float":
            params[name] = trial.suggest_float(
                name, float(d["low"]), float(d["high"]), log=bool(d.get("log", False))
            )
        elif kind == "int":
            params[name] = trial.suggest_int(
                name, int(d["low"]), int(d["high"]), log=bool(d.get("log", False)), step=int(d.get("step", 1))
            )
        elif kind == "categorical" or "choices" in d:
            params[name] = trial.suggest_categorical(name, list(d["choices"]))
        else:
            raise ConfigError(f"sweep space {name!r}: type must be float, int or categorical")
    return params


def grid_values(d: dict[str, Any]) -> list[Any]:
    if "choices" in d:
        return list(d["choices"])
    if d.get("type") == "int":
        return list(range(int(d["low"]), int(d["high"]) + 1, int(d.get("step", 1))))
    raise ConfigError("grid sweeps need 'choices' (or int low/high/step) for every key")


def grid_size(space: dict[str, Any]) -> int:
    n = 1
    for d in space.values():
        n *= len(grid_values(d))
    return n


def trial_config(
    base: BenchConfig, spec: dict[str, Any], params: dict[str, Any], explicit: set[str]
) -> BenchConfig:
    data = config_to_dict(base)
    sweep_base = dict(spec.get("base") or {})
    for k, v in sweep_base.items():
        if k not in explicit:
            data[k] = v
    data.update(params)
    return config_from_mapping(BenchConfig, data, origin=spec.get("_path", "sweep"))
