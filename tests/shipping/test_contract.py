"""The public surface agrees everywhere: action files, code, README, --help, .ci/run and published image tags."""

from __future__ import annotations

import argparse
import io
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import gate
from gate.cli import build_parser
from gate.config.settings import action_inputs, file_keys
from gate.config.sources import action_layer
from gate.errors import ExitCode
from gate.platforms import OUTPUT_NAMES, GitHubPlatform
from tests.support.cli import CliResult
from tests.support.contract import (
    ROOT,
    and_list,
    code_spans,
    fenced_blocks,
    flags_in,
    prose,
    readme,
    runner_input_variable,
    section,
    shell_commands,
    table,
)
from tests.support.edge import mixed_outcome, parse_github_output_file
from tests.support.shipping import load_yaml, project

ACTIONS = ("action.yml", "composite/action.yml")
#: Stands for "whatever version you release" in README's release notes; every other tag is the real version.
TAG_PLACEHOLDER = "X.Y.Z"
IMAGE_TAG = re.compile(r"docketqa-gate:([\w.+-]+)")
#: Files users copy image tags and action refs from (README and the template must name a tag).
VERSIONED = (
    "README.md",
    "templates/docketqa.gitlab-ci.yml",
    *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("examples/*.yml")),
)
ACTION_REF = re.compile(r"docketqa-gate(?:/composite)?@v(\d+)\b")


def first_column(title: str) -> list[str]:
    """The code-span names in the first column of the table under README's heading ``title``."""
    rows = table(section(readme(), title))
    return [name for row in rows for name in code_spans(next(iter(row.values())))]


def subcommand(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    chosen: argparse.ArgumentParser = commands.choices[name]
    return chosen


def long_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every documented long option (hidden ones such as the refused --api-key, and --help, excluded)."""
    return {
        option
        for action in parser._actions
        if action.help is not argparse.SUPPRESS and not isinstance(action, argparse._HelpAction)
        for option in action.option_strings
        if option.startswith("--")
    }


# --- inputs ---


@pytest.mark.parametrize("relative", ACTIONS)
def test_every_declared_input_is_read_by_the_code_and_nothing_else(relative: str) -> None:
    """Each input the action file declares reaches the gate's configuration under its own name, and vice versa."""
    declared = list(load_yaml(relative)["inputs"])
    assert sorted(declared) == sorted(action_inputs())
    for name in declared:
        layer = action_layer({runner_input_variable(name): "180"})
        assert [given.source for given in layer.values.values()] == [f"action input {name}"], name


def test_every_input_is_documented_in_the_readme_table() -> None:
    """README's "Action inputs" table lists each input exactly once, and no input the action lacks."""
    documented = first_column("Action inputs")
    assert Counter(documented) == Counter(action_inputs())


def test_the_options_table_names_only_real_action_inputs() -> None:
    """The "action input" column of README's Options table names inputs the action really has."""
    rows = table(section(readme(), "Options"))
    named = [s for row in rows for s in code_spans(row["action input"]) if re.fullmatch(r"[a-z][a-z-]*", s)]
    assert named and set(named) <= set(action_inputs())


# --- outputs ---


def written_outputs(tmp_path: Path) -> list[str]:
    """The names the GitHub adapter writes to $GITHUB_OUTPUT for a real outcome, read as the runner reads them."""
    output, summary = tmp_path / "output", tmp_path / "summary"
    platform = GitHubPlatform(
        stdout=io.StringIO(),
        workspace=tmp_path,
        env={"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)},
    )
    written = {kind: tmp_path / f"report.{kind}" for kind in ("junit", "json", "summary")}
    notes = platform.publish(mixed_outcome(), summary_markdown="## summary", written=written)
    assert notes == []
    return list(parse_github_output_file(output.read_text(encoding="utf-8")))


@pytest.mark.parametrize("relative", ACTIONS)
def test_every_output_the_gate_writes_is_declared_and_nothing_else(relative: str, tmp_path: Path) -> None:
    """A workflow can read every output the gate sets, and no declared output is left unset."""
    written = written_outputs(tmp_path)
    assert written == list(OUTPUT_NAMES)
    assert list(load_yaml(relative)["outputs"]) == written


def test_every_output_is_documented_in_the_readme_table(tmp_path: Path) -> None:
    """README's "Action outputs" table lists each output the gate writes exactly once, and nothing else."""
    assert Counter(first_column("Action outputs")) == Counter(written_outputs(tmp_path))


# --- versions ---


def test_package_version_agrees_with_the_module_version(cli: Callable[..., CliResult]) -> None:
    """`pip show` (pyproject.toml), `gate.__version__` and `docketqa-gate --version` report the same version."""
    assert project()["version"] == gate.__version__
    assert cli(["--version"]).out == f"docketqa-gate {gate.__version__}\n"


@pytest.mark.parametrize("relative", VERSIONED)
def test_published_image_tags_and_action_refs_name_this_version(relative: str) -> None:
    """Every `docketqa-gate:<tag>` a user copies is the released version, and every `@vN` its major."""
    text = (ROOT / relative).read_text(encoding="utf-8")
    tags = [tag.rstrip(".") for tag in IMAGE_TAG.findall(text) if tag != TAG_PLACEHOLDER]
    assert set(tags) <= {gate.__version__}, relative
    assert set(ACTION_REF.findall(text)) <= {gate.__version__.split(".")[0]}, relative
    if relative in VERSIONED[:2]:
        assert tags, f"{relative} names no image tag"


# --- command line ---


def test_every_run_flag_is_in_the_readme_options_table_and_every_listed_flag_exists() -> None:
    """README's Options table documents each `run` option, and names no option the CLI lacks."""
    rows = table(section(readme(), "Options"))
    documented = set().union(*(flags_in(row["flag"]) for row in rows))
    run = long_options(subcommand("run"))
    known = run | long_options(subcommand("wait")) | long_options(subcommand("report"))
    assert sorted(run - documented) == []
    assert sorted(documented - known) == []


def test_every_config_file_key_is_documented() -> None:
    """README's Config file section names every top-level and `reports` key the loader knows."""
    text = section(readme(), "Config file")
    (example,) = [b.body for b in fenced_blocks(text) if b.info == "yaml"]
    import yaml

    loaded = yaml.safe_load(example)
    spans = code_spans(prose(text))
    top = set(loaded) | {m.group(1) for s in spans if (m := re.fullmatch(r"(\w+)(?::.*)?", s))}
    reports = set(loaded.get("reports", {})) | {m.group(1) for s in spans if (m := re.match(r"reports\.(\w+)", s))}
    assert sorted(set(file_keys()) - top) == []
    assert sorted(set(file_keys("reports")) - reports) == []


def test_the_readme_config_example_is_accepted_as_is(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """Copied into .docketqa.yml, README's example config is accepted and the reports it names are written."""
    (example,) = [b.body for b in fenced_blocks(section(readme(), "Config file")) if b.info == "yaml"]
    (tmp_path / ".docketqa.yml").write_text(example, encoding="utf-8")
    result = cli(["report", str(ROOT / "tests/fixtures/passing.json")], env={}, cwd=tmp_path)
    assert result.code == 0, result.err
    import yaml

    names = sorted(Path(p).name for p in yaml.safe_load(example)["reports"].values())
    assert names == sorted(p.name for p in tmp_path.iterdir() if p.name != ".docketqa.yml")


def help_exit_codes() -> list[int]:
    """The codes in the exit-code table at the end of `docketqa-gate run --help`."""
    text = subcommand("run").format_help()
    table_text = text[text.index("exit codes:") :]
    return [int(code) for code in re.findall(r"(?m)^\s+(\d+)\s", table_text)]


def test_exit_code_tables_agree_with_the_code() -> None:
    """README's exit-code table and --help's list the same codes, in the same order, as ExitCode defines."""
    rows = table(section(readme(), "Exit codes"))
    documented = [int(code) for row in rows for span in code_spans(row["code"]) for code in re.findall(r"\d+", span)]
    assert sorted(documented) == sorted(int(code) for code in ExitCode)
    assert documented == help_exit_codes()


# --- the newcomer's first commands ---


def test_the_first_code_block_holds_exactly_the_two_newcomer_commands() -> None:
    """README opens with two commands: one ending in the demo, one ending in the exact command CI runs."""
    first = fenced_blocks(readme())[0]
    commands = shell_commands(first.body)
    assert len(commands) == 2, commands
    demo, tests = commands
    assert and_list(demo)[-1] == "docketqa-gate demo"
    ci = shell_commands((ROOT / ".ci/run").read_text(encoding="utf-8"))
    assert and_list(tests)[-1] == and_list(ci[-1])[-1]
    # The same test extra as CI installs, or the command fails on a fresh machine.
    installs = [c for c in and_list(tests) if " install " in f" {c} "]
    assert installs and all("-e '.[test]'" in c or '-e ".[test]"' in c for c in installs)
    assert any("'.[test]'" in c for c in ci)
