"""Helpers for the configuration tests: parse real argv, load a Config, or collect the problems."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from gate.cli import build_parser
from gate.config import Config
from gate.config.load import load_action_config, load_config
from gate.config.settings import action_inputs
from gate.config.sources import input_variable
from gate.errors import ConfigError, ExitCode
from tests.support.keys import TEST_API_KEY

KEY_ENV = {"DOCKET_API_KEY": TEST_API_KEY}


def load(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> Config:
    """The Config the CLI would build for ``args`` (the key comes from DOCKET_API_KEY unless env says otherwise)."""
    return load_config(build_parser().parse_args(list(args)), env=KEY_ENV if env is None else env, cwd=cwd)


def problems(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The problems one ConfigError reports for ``args``; fails if loading succeeds."""
    with pytest.raises(ConfigError) as caught:
        load(cwd, *args, env=env)
    error = caught.value
    assert error.exit_code is ExitCode.USAGE
    assert TEST_API_KEY not in str(error)
    return error.problems


def action_env(**inputs: str) -> dict[str, str]:
    """Every declared input as the runner passes it (empty when unset), with the given ones set.

    Keyword names use underscores for hyphens: ``api_key="..."`` sets ``INPUT_API-KEY``.
    """
    env = {input_variable(name): "" for name in action_inputs()}
    env["GITHUB_ACTIONS"] = "true"
    for name, value in inputs.items():
        env[input_variable(name.replace("_", "-"))] = value
    return env


def load_action(cwd: Path, **inputs: str) -> Config:
    return load_action_config(action_env(**inputs), cwd=cwd)


def action_problems(cwd: Path, env: Mapping[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_action_config(env, cwd=cwd)
    assert caught.value.exit_code is ExitCode.USAGE
    assert TEST_API_KEY not in str(caught.value)
    return caught.value.problems


def write(cwd: Path, name: str, text: str) -> Path:
    path = cwd / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
