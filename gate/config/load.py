"""Validate every layer's raw settings, add the config file's layer, and merge them into one frozen Config."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gate.config import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_WAIT_TIMEOUT_S,
    Blueprint,
    Command,
    CommentMode,
    CommentSettings,
    Config,
    ReportPaths,
    WaitFor,
)
from gate.config.file import read_config_file, unusable
from gate.config.settings import setting
from gate.config.sources import (
    ACTION_HINTS,
    CLI_HINTS,
    Given,
    Hints,
    Layer,
    action_layer,
    env_layer,
    flag_layer,
)
from gate.config.values import parse_blueprints, parse_path, show
from gate.errors import ConfigError, os_reason
from gate.secret import Secret

#: A key file holds one key; anything bigger is the wrong file (and is not worth reading into memory).
MAX_KEY_FILE_BYTES = 4096


def load_config(args: argparse.Namespace, *, env: Mapping[str, str], cwd: Path) -> Config:
    """Config for ``run``/``wait``/``report`` from parsed flags, the environment and the config file.

    Precedence: flag > environment > config file > default. Raises one ``ConfigError`` listing every problem.
    """
    command = Command(args.command)
    return merge([flag_layer(args, command), env_layer(env, command)], command=command, cwd=cwd, hints=CLI_HINTS)


def load_action_config(env: Mapping[str, str], *, cwd: Path) -> Config:
    """Config for ``entrypoint.py`` run with no arguments under ``GITHUB_ACTIONS=true``.

    Precedence: input > environment (DOCKET_*) > config file > default. ``test-run-ids`` means ``wait``;
    otherwise ``run`` with ``blueprint-ids`` or the config file's blueprints.
    """
    layer = action_layer(env)
    waiting = "test_run_ids" in layer.values and "blueprints" not in layer.values
    command = Command.WAIT if waiting else Command.RUN
    return merge([layer, env_layer(env, command)], command=command, cwd=cwd, hints=ACTION_HINTS)


class _Problems:
    """Problems listed source by source in precedence order (the file's by line), then what is missing."""

    def __init__(self, *, file_index: int, display: str | None) -> None:
        self.file_index = file_index
        self._at_line = re.compile(re.escape(display) + r":(\d+): ") if display else None
        self._found: list[tuple[int, int, int, str]] = []
        self.missing: list[str] = []

    def add(self, layer_index: int, text: str) -> None:
        match = self._at_line.match(text) if self._at_line and layer_index == self.file_index else None
        self._found.append((layer_index, int(match.group(1)) if match else 0, len(self._found), text))

    def __bool__(self) -> bool:
        return bool(self._found or self.missing)

    def ordered(self) -> list[str]:
        return [text for *_, text in sorted(self._found)] + self.missing


class _LayeredSettings:
    """Validates a setting in every layer (so a broken file is reported even when a flag overrides it)."""

    def __init__(self, layers: Sequence[Layer], problems: _Problems) -> None:
        self.layers = layers
        self.problems = problems
        #: Settings given somewhere with a wrong value (their "missing" hint would be noise).
        self.failed: set[str] = set().union(*(layer.failed for layer in layers))
        for index, layer in enumerate(layers):
            for problem in layer.problems:
                problems.add(index, problem)

    def all(self, name: str) -> list[Any]:
        """The value from every layer that gives one, checked by the setting's parser (highest precedence first)."""
        parse: Callable[[Any], Any] | None = setting(name).parse
        assert parse is not None, name  # settings without a parser are read by their own code (the key)
        values = []
        for index, layer in enumerate(self.layers):
            given = layer.values.get(name)
            if given is None:
                continue
            try:
                values.append(parse(given.value))
            except ValueError as exc:
                self.problems.add(index, f"{given.source}: {exc}")
                self.failed.add(name)
        return values

    def first(self, name: str) -> Any:
        """The highest-precedence value, or the setting's default."""
        values = self.all(name)
        return values[0] if values else setting(name).default


def merge(layers: Sequence[Layer], *, command: Command, cwd: Path, hints: Hints) -> Config:
    """Highest-precedence layer first; raises one ``ConfigError`` naming every problem and its source."""
    file_layer, file_path, display = _config_file_layer(layers, cwd=cwd)
    problems = _Problems(file_index=len(layers), display=display)
    pick = _LayeredSettings([*layers, file_layer], problems)
    blueprints = _blueprints(pick, file_layer)
    test_run_ids = pick.first("test_run_ids")
    api_key = _api_key(pick, cwd=cwd) if command in (Command.RUN, Command.WAIT) else None
    # Say what is missing only when no given value was wrong: "no blueprints" after "'x' is not an id" is noise.
    if command is Command.RUN and not blueprints and "blueprints" not in pick.failed:
        problems.missing.append(hints.no_blueprints)
    if command is Command.WAIT and not test_run_ids and "test_run_ids" not in pick.failed:
        problems.missing.append(hints.no_test_runs)
    if command in (Command.RUN, Command.WAIT) and api_key is None and "api_key" not in pick.failed:
        problems.missing.append(hints.no_key)

    config = Config(
        command=command,
        api_url=pick.first("api_url"),
        api_key=api_key,
        blueprints=blueprints,
        test_run_ids=test_run_ids,
        report_files=pick.first("report_files"),
        timeout_s=pick.first("timeout"),
        poll_interval_s=pick.first("poll_interval"),
        fail_on_timeout=pick.first("fail_on_timeout"),
        fail_fast=pick.first("fail_fast"),
        # Quarantine adds up across sources, like the file's per-blueprint allow_failure that flags cannot undo.
        allow_failures=frozenset(i for ids in pick.all("allow_failures") for i in ids),
        reports=_reports(pick),
        annotations=pick.first("annotations"),
        job_summary=pick.first("job_summary"),
        concurrency=pick.first("concurrency"),
        config_file=file_path,
        comment=_comment(pick, cwd=cwd),
        resume=pick.first("resume"),
        resume_any_commit=pick.first("resume_any_commit"),
        wait_for=_wait_for(pick),
    )
    if problems:
        raise ConfigError(problems.ordered())
    return config


def _blueprints(pick: _LayeredSettings, file_layer: Layer) -> tuple[Blueprint, ...]:
    """The chosen ids; ids given elsewhere replace the file's list but keep its names and allow_failure."""
    chosen: tuple[Blueprint, ...] = pick.first("blueprints")
    from_file = file_layer.values.get("blueprints")
    entries = {b.id: b for b in parse_blueprints(from_file.value)} if from_file else {}
    return tuple(entries.get(b.id, b) for b in chosen)


def _wait_for(pick: _LayeredSettings) -> WaitFor | None:
    """The targets to wait for; text, statuses or a timeout without a URL would silently do nothing: a problem."""
    urls, text, statuses = pick.first("wait_for_urls"), pick.first("wait_for_text"), pick.first("wait_for_status")
    timeout = pick.all("wait_timeout")
    if not urls:
        if (text is not None or statuses is not None or timeout) and "wait_for_urls" not in pick.failed:
            pick.problems.missing.append(
                "--wait-for-text, --wait-for-status and --wait-timeout need a URL to wait for: pass --wait-for-url URL"
            )
        return None
    return WaitFor(urls=urls, text=text, statuses=statuses, timeout_s=timeout[0] if timeout else DEFAULT_WAIT_TIMEOUT_S)


def _reports(pick: _LayeredSettings) -> ReportPaths:
    return ReportPaths(
        junit=pick.first("junit"),
        json=pick.first("json"),
        summary=pick.first("summary"),
        junit_layout=pick.first("junit_layout"),
        artifacts_dir=pick.first("artifacts_dir"),
    )


# --- the API key ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _SecretSpec:
    """A secret setting, the setting naming a file that may hold it instead, and how messages name it."""

    name: str
    file_name: str | None
    what: str
    origin: str


_API_KEY = _SecretSpec("api_key", "api_key_file", "the API key", "DocketQA")
_GITHUB_TOKEN = _SecretSpec("github_token", "github_token_file", "the GitHub token", "GitHub")
_GITLAB_TOKEN = _SecretSpec("gitlab_token", None, "the GitLab token", "GitLab")


def _api_key(pick: _LayeredSettings, *, cwd: Path) -> Secret | None:
    return _secret(pick, _API_KEY, cwd=cwd)


def _comment(pick: _LayeredSettings, *, cwd: Path) -> CommentSettings:
    """The pull-request comment's settings; its tokens are read only when a comment may be written."""
    mode: CommentMode = pick.first("pr_comment")
    wanted = mode is not CommentMode.OFF
    return CommentSettings(
        mode=mode, key=pick.first("comment_key"), pr=pick.first("pr"), author=pick.first("comment_author"),
        github_token=_secret(pick, _GITHUB_TOKEN, cwd=cwd) if wanted else None,
        gitlab_token=_secret(pick, _GITLAB_TOKEN, cwd=cwd) if wanted else None,
    )


def _secret(pick: _LayeredSettings, spec: _SecretSpec, *, cwd: Path) -> Secret | None:
    """The secret from the highest-precedence source that has one; its problems never quote it."""
    for index, layer in enumerate(pick.layers):
        key_file = layer.values.get(spec.file_name) if spec.file_name else None
        key = layer.values.get(spec.name)
        if key_file is None and (key is None or not isinstance(key.value, Secret)):
            continue
        try:
            if key_file is not None:
                return _read_key_file(key_file, spec=spec, cwd=cwd)
            assert key is not None and isinstance(key.value, Secret)
            return _checked_key(key.value, spec=spec, source=key.source)
        except ValueError as exc:
            pick.problems.add(index, str(exc))
            pick.failed.add(spec.name)
            return None
    return None


def _read_key_file(given: Given, *, spec: _SecretSpec, cwd: Path) -> Secret:
    """The stripped secret from the file; ValueError naming the path (never the content) when unusable."""
    try:
        path = parse_path(str(given.value))
    except ValueError as exc:
        raise ValueError(f"{given.source}: {exc}") from None
    where = f"{given.source}: {show(str(path))}"
    try:
        with open(cwd / path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{given.source}: cannot read {show(str(path))}: {os_reason(exc)}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ValueError(f"{where} is larger than 4 KB; it should hold only {spec.what}")
    try:
        text = data.decode("utf-8-sig")  # -sig: editors on Windows add a byte-order mark
    except UnicodeDecodeError:
        raise ValueError(f"{where} is not UTF-8 text; it should hold only {spec.what}") from None
    return _checked_key(Secret(text.strip()), spec=spec, source=where)


def _checked_key(key: Secret, *, spec: _SecretSpec, source: str) -> Secret:
    text = key.reveal()
    if not text:
        raise ValueError(f"{source}: {spec.what} is empty")
    # A header value with a line break or non-ASCII text fails deep in requests, possibly quoting it.
    if any(not 33 <= ord(char) < 127 for char in text):
        raise ValueError(
            f"{source}: {spec.what} contains spaces, line breaks or non-ASCII characters; copy it again from "
            f"{spec.origin}"
        )
    return key


# --- the config file --------------------------------------------------------------------------------------


def _config_file_layer(layers: Sequence[Layer], *, cwd: Path) -> tuple[Layer, Path | None, str | None]:
    """``--config`` / ``DOCKET_CONFIG`` / the config input if given (must exist), else ``.docketqa.yml`` if present."""
    explicit = next((layer.values["config"] for layer in layers if "config" in layer.values), None)
    if explicit is None:
        default = cwd / DEFAULT_CONFIG_FILE
        if not default.exists():
            return Layer(), None, None
        return read_config_file(default, display=DEFAULT_CONFIG_FILE, origin=None), default, DEFAULT_CONFIG_FILE
    try:
        path = parse_path(str(explicit.value))
    except ValueError as exc:
        return unusable(f"{explicit.source}: {exc}"), None, None
    display = str(path)
    return read_config_file(cwd / path, display=display, origin=explicit.source), cwd / path, display


__all__ = ["MAX_KEY_FILE_BYTES", "load_action_config", "load_config", "merge"]
