"""Flags, environment and GitHub Action inputs to Layers of raw values, read through the settings table."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping

from gate.config import Command
from gate.config.settings import names, rows
from gate.secret import Secret


@dataclasses.dataclass(frozen=True)
class Given:
    """One raw value and where it came from (``flag --timeout``, ``.docketqa.yml:7: timeout``, ...).

    ``value`` is text from flags, environment and action inputs (a bool for --x/--no-x flags, a tuple of
    texts for repeatable flags, a ``Secret`` for the key); the config file hands over scalar text, and
    already-checked ``Blueprint``/id tuples because it reports those per item with their own lines.
    """

    value: object
    source: str


@dataclasses.dataclass(frozen=True)
class Layer:
    """The values one source gives, by setting name, plus problems found while reading that source."""

    values: Mapping[str, Given] = dataclasses.field(default_factory=dict)
    problems: tuple[str, ...] = ()
    #: Settings this source gave wrongly (or may have given, when it could not be read at all).
    failed: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.values) - names()
        if unknown:
            raise ValueError(f"unknown setting names {sorted(unknown)}")  # a programming error, not user input


@dataclasses.dataclass(frozen=True)
class Hints:
    """What to tell the user when something required is missing, in the words of their entry point."""

    no_key: str
    no_blueprints: str
    no_test_runs: str


CLI_HINTS = Hints(
    no_key="no API key: set DOCKET_API_KEY (a masked CI secret) or pass --api-key-file PATH",
    no_blueprints="no blueprints to run: pass --blueprint ID or list them under 'blueprints:' in .docketqa.yml",
    no_test_runs="no test runs to wait for: pass --test-run ID",
)
ACTION_HINTS = Hints(
    no_key="no API key: set the api-key input from a secret, e.g. 'api-key: ${{ secrets.DOCKET_API_KEY }}'",
    no_blueprints=(
        "no blueprints to run: set the blueprint-ids input (or test-run-ids to follow runs started elsewhere), "
        "or list them under 'blueprints:' in .docketqa.yml"
    ),
    no_test_runs="no test runs to wait for: set the test-run-ids input",
)
BOTH_ID_INPUTS = (
    "action inputs blueprint-ids and test-run-ids: set one, not both "
    "(blueprint-ids triggers new runs, test-run-ids follows runs started elsewhere)"
)


def flag_layer(args: argparse.Namespace, command: Command) -> Layer:
    """Flags the user gave (argparse leaves the others None); repeatable flags become tuples of texts."""
    values = {}
    for row in rows(command):
        value = getattr(args, row.name, None) if row.on_command_line else None
        if value is not None:
            values[row.name] = Given(tuple(value) if isinstance(value, list) else value, row.source)
    return Layer(values)


def env_layer(env: Mapping[str, str], command: Command) -> Layer:
    """The settings' environment variables (DOCKET_API_URL, DOCKET_API_KEY, DOCKET_CONFIG); empty means unset."""
    values = {}
    for row in rows(command):
        text = env.get(row.env, "").strip() if row.env else ""
        if text:
            values[row.name] = Given(Secret(text) if row.secret else text, f"env {row.env}")
    return Layer(values)


def input_variable(name: str) -> str:
    """How the runner exports an input: ``INPUT_`` + upper case, spaces to ``_``, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def action_layer(env: Mapping[str, str]) -> Layer:
    """The inputs that are set; the runner passes unset inputs as empty strings, so empty means unset."""
    values: dict[str, Given] = {}
    for row in rows():
        text = env.get(input_variable(row.action_input), "").strip() if row.action_input else ""
        if text:
            values[row.name] = Given(Secret(text) if row.secret else text, f"action input {row.action_input}")
    both = "blueprints" in values and "test_run_ids" in values
    return Layer(values, (BOTH_ID_INPUTS,) if both else ())


__all__ = ["ACTION_HINTS", "CLI_HINTS", "Given", "Hints", "Layer", "action_layer", "env_layer", "flag_layer",
           "input_variable"]  # fmt: skip
