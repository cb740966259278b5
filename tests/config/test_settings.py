"""The settings table is the one source: --help, argparse, action.yml, README and the file check all follow it."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from gate.cli import build_parser
from gate.config import Command
from gate.config import settings as table
from gate.config.file import parse_config_text
from gate.config.flags import parse_arguments
from gate.config.settings import SETTINGS, FileShape, FlagKind, Setting, rows
from gate.config.sources import action_layer, env_layer, flag_layer, input_variable
from gate.config.values import parse_concurrency
from tests.support.contract import code_spans, readme, section
from tests.support.contract import table as readme_table
from tests.support.paths import REPO
from tests.support.shipping import load_yaml

GATE_COMMANDS = (Command.RUN, Command.WAIT, Command.REPORT)
#: The config family's modules in import order: each may import only those before it.
FAMILY_ORDER = ("__init__", "values", "settings", "sources", "flags", "yaml_nodes", "file", "load")


def command_help(command: Command) -> str:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(commands.choices[command.value].format_help().split())


def argv_form(row: Setting) -> str:
    """How --help shows the row: ``--junit PATH``, ``--annotations, --no-annotations``, ``FILE [FILE ...]``."""
    if row.kind is FlagKind.ARGUMENTS:
        return f"{row.metavar} [{row.metavar} ...]"
    if row.kind is FlagKind.SWITCH:
        return f"{row.flag}, --no-{str(row.flag)[2:]}"
    return f"{row.flag} {row.metavar}" if row.metavar else str(row.flag)


@pytest.mark.parametrize("command", GATE_COMMANDS, ids=lambda c: c.value)
def test_every_row_of_a_command_is_in_its_help_and_no_other_row(command: Command) -> None:
    """`COMMAND --help` shows each of its settings with its help line, and no option of another command."""
    text = command_help(command)
    for row in rows(command):
        if row.on_command_line:
            assert argv_form(row) in text, row.name
            assert " ".join(row.help.split()) in text, row.name
        if row.env_help:
            assert f"{row.env} {row.env_help}" in text, row.name
    for row in SETTINGS:
        if row.flag and command not in row.commands:
            assert not re.search(rf"{re.escape(row.flag)}\b", text), (command, row.flag)


@pytest.mark.parametrize("relative", ["action.yml", "composite/action.yml"])
def test_every_row_with_an_input_is_declared_by_the_action(relative: str) -> None:
    """action.yml declares exactly the inputs the table names."""
    assert sorted(load_yaml(relative)["inputs"]) == sorted(row.action_input for row in SETTINGS if row.action_input)


def test_every_row_is_in_the_readme_tables_with_its_flag_variable_key_and_input() -> None:
    """README's Options table has a row for each setting naming the same flag, variable, file key and input;
    each input is in the Action inputs table."""
    options = readme_table(section(readme(), "Options"))
    inputs = {span for row in readme_table(section(readme(), "Action inputs")) for span in code_spans(row["input"])}
    for row in SETTINGS:
        if row.kind is FlagKind.ARGUMENTS:
            continue  # `report FILE...` is documented in the Commands table
        names = {"flag": row.flag, "environment": row.env, "config file": row.file_key, "action input": row.action_input}
        wanted = {column: name for column, name in names.items() if name}
        matches = [r for r in options if any(_names(r[column], name) for column, name in wanted.items())]
        assert len(matches) == 1, (row.name, matches)
        for column, name in wanted.items():
            assert _names(matches[0][column], name), (row.name, column)
        if row.action_input:
            assert row.action_input in inputs, row.name


def _names(cell: str, name: str) -> bool:
    return any(re.fullmatch(rf"{re.escape(name)}(?: .*)?", span) for span in code_spans(cell))


def test_config_file_keys_are_the_tables() -> None:
    """The file accepts every key the table names (nested ones under their section) and rejects others."""
    top_problem, nested_problem = parse_config_text("reports: {bogus: 1}\nbogus: 1\n", display="f.yml").problems
    top = {str(row.file_key).split(".")[0] for row in SETTINGS if row.file_key}
    assert top_problem.endswith(f"known keys: {', '.join(sorted(top))}")
    nested = sorted(str(row.file_key).split(".")[1] for row in SETTINGS if row.file_key and "." in row.file_key)
    assert nested_problem.endswith(f"known keys: {', '.join(nested)}")


def test_a_row_added_to_the_table_reaches_every_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A new row needs no other edit to become a flag in --help, an environment variable, an input and a file key."""
    row = Setting("retries", "retry each failed run N times", parse_concurrency, default=0, flag="--retries",
                  metavar="N", group="waiting", env="DOCKET_RETRIES", env_help="how often to retry a failed run",
                  file_key="retries", file_expects="a whole number", file_shape=FileShape.WHOLE_NUMBER,
                  action_input="retries")  # fmt: skip
    monkeypatch.setattr(table, "SETTINGS", (*SETTINGS, row))
    args = parse_arguments(build_parser(), ["run", "--retries", "3"])
    given = flag_layer(args, Command.RUN).values["retries"]
    assert (given.value, given.source) == ("3", "flag --retries")
    assert "--retries N retry each failed run N times" in command_help(Command.WAIT)
    assert "DOCKET_RETRIES how often to retry a failed run" in command_help(Command.RUN)
    assert env_layer({"DOCKET_RETRIES": "2"}, Command.RUN).values["retries"].source == "env DOCKET_RETRIES"
    assert action_layer({input_variable("retries"): "4"}).values["retries"].value == "4"
    layer = parse_config_text("retries: 5\n", display="f.yml")
    assert (layer.problems, layer.values["retries"].source) == ((), "f.yml:1: retries")


def test_the_config_family_imports_point_one_way() -> None:
    """types <- values <- settings <- sources/flags <- yaml_nodes <- file <- load: no module imports a later one,
    even inside a function."""
    folder = REPO / "gate" / "config"
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted(FAMILY_ORDER)
    for rank, name in enumerate(FAMILY_ORDER):
        tree = ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        family = {module.removeprefix("gate.config").lstrip(".") or "__init__" for module in imported
                  if module == "gate.config" or module.startswith("gate.config.")}  # fmt: skip
        later = sorted(module for module in family if FAMILY_ORDER.index(module) >= rank and module != "__init__")
        assert later == [], name
        assert name != "__init__" or family == set(), "the types module imports nothing of the family"
