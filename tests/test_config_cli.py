from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
import yaml

from ccpapers.cli import COMMANDS, build_parser, main
from ccpapers.config import (
    CommonConfig,
    ConfigError,
    add_config_arguments,
    opt,
    resolve_config,
    write_resolved_config,
)
from ccpapers.registry import Registry, UnknownNameError
from ccpapers.resources import recipe_dir, resolve_recipe


@dataclass
class DemoConfig(CommonConfig):
    journals: list[str] = opt(["ncomms"], "journal slugs")
    max_papers: int | None = opt(None, "stop after N papers")
    policy: Literal["by", "sa", "nc", "all"] = opt("all", "licence policy")
    dry_run: bool = opt(False, "discover only")


def parse(argv: list[str]) -> DemoConfig:
    p = argparse.ArgumentParser()
    add_config_arguments(p, DemoConfig)
    return resolve_config(DemoConfig, p.parse_args(argv))


def test_precedence_defaults_yaml_overrides_flags(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(yaml.safe_dump({"journals": ["srep"], "max_papers": 5, "policy": "by"}))
    cfg = parse(["--config", str(cfg_file), "max_papers=7", "--journals", "a,b", "--dry-run"])
    assert cfg.journals == ["a", "b"] and cfg.max_papers == 7 and cfg.policy == "by" and cfg.dry_run
    assert parse([]).journals == ["ncomms"]
    out = write_resolved_config(cfg, tmp_path / "out")
    data = yaml.safe_load(out.read_text())
    assert (
        data["journals"] == ["a", "b"] and data["command"] == "DemoConfig" and data["work"] == "ccpapers-work"
    )


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_papers='many'"):
        parse(["max_papers=many"])
    with pytest.raises(ConfigError, match="did you mean 'max_papers'"):
        parse(["max_paper=3"])
    with pytest.raises(ConfigError, match="is not key=value"):
        parse(["oops"])
    with pytest.raises(ConfigError, match="does not exist"):
        parse(["--config", str(tmp_path / "missing.yaml")])
    with pytest.raises(SystemExit):
        parse(["--policy", "commercial"])


def test_registry_lazy_and_did_you_mean() -> None:
    reg = Registry("widget")
    reg.register("json-dumps", "json:dumps")
    reg.register("b")(len)
    assert reg.get("json-dumps")({"a": 1}) == '{"a": 1}'
    with pytest.raises(UnknownNameError, match="Did you mean 'json-dumps'"):
        reg.get("json-dump")


def test_cli_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("crawl", "parse", "build", "publish", "bench", "demo"):
        assert name in out
    assert set(COMMANDS) == {"crawl", "parse", "build", "publish", "bench", "demo"}
    parser = build_parser()
    for name in COMMANDS:
        sub = parser._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
        assert sub.format_help()


def test_console_script_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ccpapers", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("ccpapers ")


def test_recipes_resolve() -> None:
    for kind in ("builders", "cards", "train"):
        assert recipe_dir(kind).is_dir()
    with pytest.raises(FileNotFoundError, match="neither a file nor a shipped recipe"):
        resolve_recipe("builders", "no-such-spec")


def test_a_folder_named_like_a_recipe_does_not_shadow_it(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()  # e.g. a work folder called demo/
    assert resolve_recipe("builders", "demo") == recipe_dir("builders") / "demo.yaml"
    (tmp_path / "mine.yaml").write_text("name: mine\n")
    assert resolve_recipe("builders", "mine.yaml") == Path("mine.yaml")
