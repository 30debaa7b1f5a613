"""`ccpapers publish` on the command line: --repo implies --push, --no-push, --dry-run, errors."""

from __future__ import annotations

import pytest

from ccpapers.cli import build_parser, main
from ccpapers.publish.command import resolve

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def _cfg(argv):
    return resolve(build_parser().parse_args(["publish", *argv]))


def test_repo_implies_push_unless_no_push_or_dry_run():
    assert _cfg([]).push is False
    assert _cfg([]).repo_id() == "local/ccpapers-demo"
    assert _cfg(["--repo", "me/x"]).push is True
    assert _cfg(["repo=me/x"]).push is True
    assert _cfg(["--repo", "me/x", "--no-push"]).push is False
    dry = _cfg(["--repo", "me/x", "--dry-run"])
    assert dry.push is True and dry.dry_run is True


def test_bad_repo_id_is_a_config_error(work, capsys):
    rc = main(["publish", "--work", str(work), "--repo", "no-slash"])
    assert rc == 2
    assert "expected OWNER/NAME" in capsys.readouterr().err


def test_cli_writes_validates_and_pushes(fake_hub, work, capsys):
    assert main(["publish", "--work", str(work)]) == 0
    out = capsys.readouterr().out
    assert "abstract-by" in out and "(default)" in out and "not pushed" in out
    assert fake_hub.state.repos == {}
    assert (work / "hub" / "local" / "ccpapers-demo" / "README.md").is_file()

    assert main(["publish", "--work", str(work), "--repo", "tester/cli", "--tag", "v0.1.0"]) == 0
    out = capsys.readouterr().out
    assert "pushed commit" in out and "tagged v0.1.0" in out
    repo = fake_hub.state.repos[("dataset", "tester/cli")]
    assert "v0.1.0" in repo.tags

    assert main(["publish", "--work", str(work), "--repo", "tester/cli", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing was uploaded" in out and "(no commit needed)" in out


def test_cli_missing_build_exits_1_with_a_clear_message(tmp_path, capsys):
    assert main(["publish", "--work", str(tmp_path), "--spec", "nope"]) == 1
    err = capsys.readouterr().err
    assert "builds/nope does not exist: run `ccpapers build` first" in err


def test_build_push_hook_publishes_the_named_build(fake_hub, work):
    from ccpapers.builder.config import BuildConfig
    from ccpapers.config import ConfigError
    from ccpapers.publish import publish_after_build

    with pytest.raises(ConfigError, match="--push needs --repo"):
        publish_after_build(BuildConfig(work=work, push=True), "demo")
    summary = publish_after_build(BuildConfig(work=work, push=True, repo="tester/b", tag="v1.0.0"), "demo")
    assert summary["push"]["commit"] and "v1.0.0" in fake_hub.state.repos[("dataset", "tester/b")].tags


def test_push_without_repo_is_refused_and_dry_run_without_repo_stays_local(fake_hub, work, capsys):
    assert main(["publish", "--work", str(work), "--push"]) == 2
    assert "push needs repo=OWNER/NAME" in capsys.readouterr().err
    assert main(["publish", "--work", str(work), "--dry-run"]) == 0
    assert fake_hub.state.requests == []
