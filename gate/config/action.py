"""GitHub Action inputs (``INPUT_API-KEY``, ...) to the same Config the CLI builds, through the same merge."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gate.config import Command, Config, Hints, Layer, Setting, env_layer, resolve
from gate.secret import Secret

#: Every input this code reads, as declared in action.yml (a contract test compares the two).
ACTION_INPUTS = (
    "api-key",
    "blueprint-ids",
    "test-run-ids",
    "config",
    "api-url",
    "timeout",
    "poll-interval",
    "fail-on-timeout",
    "allow-failures",
    "junit-path",
    "junit-layout",
    "json-path",
    "job-summary",
    "annotations",
    "artifacts-dir",
)
#: Input -> the setting it feeds (the same settings the CLI flags feed).
_SETTING_FOR = {
    "api-key": "api_key",
    "blueprint-ids": "blueprints",
    "test-run-ids": "test_run_ids",
    "config": "config",
    "api-url": "api_url",
    "timeout": "timeout",
    "poll-interval": "poll_interval",
    "fail-on-timeout": "fail_on_timeout",
    "allow-failures": "allow_failures",
    "junit-path": "junit",
    "junit-layout": "junit_layout",
    "json-path": "json",
    "job-summary": "job_summary",
    "annotations": "annotations",
    "artifacts-dir": "artifacts_dir",
}
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


def input_variable(name: str) -> str:
    """How the runner exports an input: ``INPUT_`` + upper case, spaces to ``_``, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def load_action_config(env: Mapping[str, str], *, cwd: Path) -> Config:
    """Config for ``entrypoint.py`` run with no arguments under ``GITHUB_ACTIONS=true``.

    Precedence: input > environment (DOCKET_*) > config file > default. ``test-run-ids`` means ``wait``;
    otherwise ``run`` with ``blueprint-ids`` or the config file's blueprints. ``RUNNER_DEBUG=1`` (the
    runner's debug logging) turns on ``debug``.
    """
    layer = action_layer(env)
    waiting = "test_run_ids" in layer.settings and "blueprints" not in layer.settings
    return resolve(
        [layer, env_layer(env)],
        command=Command.WAIT if waiting else Command.RUN,
        cwd=cwd,
        hints=ACTION_HINTS,
        debug=env.get("RUNNER_DEBUG", "").strip() == "1",
    )


def action_layer(env: Mapping[str, str]) -> Layer:
    """The inputs that are set; the runner passes unset inputs as empty strings, so empty means unset."""
    settings: dict[str, Setting] = {}
    for name in ACTION_INPUTS:
        text = env.get(input_variable(name), "").strip()
        if text:
            setting = _SETTING_FOR[name]
            settings[setting] = Setting(Secret(text) if setting == "api_key" else text, f"action input {name}")
    both = "blueprints" in settings and "test_run_ids" in settings
    return Layer(settings, (BOTH_ID_INPUTS,) if both else ())


__all__ = ["ACTION_HINTS", "ACTION_INPUTS", "action_layer", "input_variable", "load_action_config"]
