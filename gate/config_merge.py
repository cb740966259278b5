"""Validate every layer's raw settings, add the config file's layer, and merge them into one frozen Config."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from gate.config import (
    DEFAULT_API_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_CONFIG_FILE,
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    Blueprint,
    Command,
    Config,
    Hints,
    JunitLayout,
    Layer,
    ReportPaths,
    Setting,
)
from gate.config_values import (
    os_reason,
    parse_api_url,
    parse_bool,
    parse_concurrency,
    parse_id_list,
    parse_layout,
    parse_optional_path,
    parse_path,
    parse_poll_interval,
    parse_timeout,
    show,
)
from gate.errors import ConfigError
from gate.secret import Secret

T = TypeVar("T")
_NO_IDS: tuple[int, ...] = ()
_NO_BLUEPRINTS: tuple[Blueprint, ...] = ()
_NO_PATHS: tuple[Path, ...] = ()
#: A key file holds one key; anything bigger is the wrong file (and is not worth reading into memory).
MAX_KEY_FILE_BYTES = 4096
_DEFAULT_REPORTS = ReportPaths()


class _Picker:
    """Validates a setting in every layer (so a broken file is reported even when a flag overrides it)."""

    def __init__(self, layers: Sequence[Layer], problems: list[str]) -> None:
        self.layers = layers
        self.problems = problems

    def all(self, name: str, parse: Callable[[Any], T]) -> list[T]:
        values: list[T] = []
        for layer in self.layers:
            setting = layer.settings.get(name)
            if setting is None:
                continue
            try:
                values.append(parse(setting.value))
            except ValueError as exc:
                self.problems.append(f"{setting.source}: {exc}")
        return values

    def first(self, name: str, parse: Callable[[Any], T], default: T) -> T:
        values = self.all(name, parse)
        return values[0] if values else default


def merge(layers: Sequence[Layer], *, command: Command, cwd: Path, hints: Hints, debug: bool) -> Config:
    """Highest-precedence layer first; raises one ``ConfigError`` naming every problem and its source."""
    problems = [problem for layer in layers for problem in layer.problems]
    file_layer, file_path, display = _config_file_layer(layers, cwd=cwd)
    problems += file_layer.problems
    pick = _Picker([*layers, file_layer], problems)

    before = len(problems)
    blueprints = _blueprints(pick, file_layer)
    if command is Command.RUN and not blueprints and len(problems) == before:
        problems.append(hints.no_blueprints)
    before = len(problems)
    test_run_ids = pick.first("test_run_ids", parse_id_list_value, _NO_IDS)
    if command is Command.WAIT and not test_run_ids and len(problems) == before:
        problems.append(hints.no_test_runs)
    api_key = _api_key(pick, cwd=cwd, hints=hints) if command in (Command.RUN, Command.WAIT) else None

    config = Config(
        command=command,
        api_url=pick.first("api_url", parse_api_url, DEFAULT_API_URL),
        api_key=api_key,
        blueprints=blueprints,
        test_run_ids=test_run_ids,
        report_files=pick.first("report_files", _paths, _NO_PATHS),
        timeout_s=pick.first("timeout", parse_timeout, DEFAULT_TIMEOUT_S),
        poll_interval_s=pick.first("poll_interval", parse_poll_interval, DEFAULT_POLL_INTERVAL_S),
        fail_on_timeout=pick.first("fail_on_timeout", parse_bool, True),
        # Quarantine adds up across sources, like the file's per-blueprint allow_failure that flags cannot undo.
        allow_failures=frozenset(i for ids in pick.all("allow_failures", parse_id_list_value) for i in ids),
        reports=_reports(pick),
        annotations=pick.first("annotations", parse_bool, True),
        job_summary=pick.first("job_summary", parse_bool, True),
        concurrency=pick.first("concurrency", parse_concurrency, DEFAULT_CONCURRENCY),
        debug=debug,
        config_file=file_path,
    )
    if problems:
        raise ConfigError(_in_reading_order(problems, display=display))
    return config


def _in_reading_order(problems: list[str], *, display: str | None) -> list[str]:
    """Other sources first, then the config file's problems by line, so the list reads like the file."""
    if display is None:
        return problems
    at_line = re.compile(re.escape(display) + r":(\d+): ")

    def key(item: tuple[int, str]) -> tuple[int, int, int]:
        match = at_line.match(item[1])
        return (1, int(match.group(1)), item[0]) if match else (0, 0, item[0])

    return [text for _, text in sorted(enumerate(problems), key=key)]


def parse_id_list_value(value: object) -> tuple[int, ...]:
    """Ids from text (``"180, 181"``), texts (repeated flags), or ints the config file already checked."""
    if isinstance(value, tuple) and all(isinstance(item, int) for item in value):
        return value
    return parse_id_list(_texts(value))


def _blueprints(pick: _Picker, file_layer: Layer) -> tuple[Blueprint, ...]:
    """The chosen ids; ids given elsewhere replace the file's list but keep its names and allow_failure."""
    chosen = pick.first("blueprints", _parse_blueprints, _NO_BLUEPRINTS)
    from_file = file_layer.settings.get("blueprints")
    entries = {b.id: b for b in _parse_blueprints(from_file.value)} if from_file else {}
    return tuple(entries.get(b.id, b) for b in chosen)


def _parse_blueprints(value: object) -> tuple[Blueprint, ...]:
    if isinstance(value, tuple) and all(isinstance(item, Blueprint) for item in value):
        return value
    return tuple(Blueprint(id=i) for i in parse_id_list(_texts(value)))


def _reports(pick: _Picker) -> ReportPaths:
    return ReportPaths(
        junit=pick.first("junit", parse_optional_path, _DEFAULT_REPORTS.junit),
        json=pick.first("json", parse_optional_path, _DEFAULT_REPORTS.json),
        summary=pick.first("summary", parse_optional_path, _DEFAULT_REPORTS.summary),
        junit_layout=pick.first("junit_layout", parse_layout, JunitLayout.TEST),
        artifacts_dir=pick.first("artifacts_dir", parse_optional_path, _DEFAULT_REPORTS.artifacts_dir),
    )


def _paths(value: object) -> tuple[Path, ...]:
    return tuple(parse_path(text) for text in _texts(value))


def _texts(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return value
    raise TypeError(f"unexpected setting value of type {type(value).__name__}")  # a layer-building bug


# --- the API key ----------------------------------------------------------------------------------------


def _api_key(pick: _Picker, *, cwd: Path, hints: Hints) -> Secret | None:
    """The key from the highest-precedence source that has one; its problems never quote the key."""
    for layer in pick.layers:
        key_file = layer.settings.get("api_key_file")
        if key_file is not None:
            return _read_key_file(key_file, cwd=cwd, problems=pick.problems)
        key = layer.settings.get("api_key")
        if key is not None and isinstance(key.value, Secret):
            return _checked_key(key.value, source=key.source, problems=pick.problems)
    pick.problems.append(hints.no_key)
    return None


def _read_key_file(setting: Setting, *, cwd: Path, problems: list[str]) -> Secret | None:
    try:
        path = parse_path(str(setting.value))
    except ValueError as exc:
        problems.append(f"{setting.source}: {exc}")
        return None
    where = f"{setting.source}: {show(str(path))}"
    try:
        with open(cwd / path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        problems.append(f"{setting.source}: cannot read {show(str(path))}: {os_reason(exc)}")
        return None
    if len(data) > MAX_KEY_FILE_BYTES:
        problems.append(f"{where} is larger than 4 KB; it should hold only the API key")
        return None
    try:
        text = data.decode("utf-8-sig")  # -sig: editors on Windows add a byte-order mark
    except UnicodeDecodeError:
        problems.append(f"{where} is not UTF-8 text; it should hold only the API key")
        return None
    return _checked_key(Secret(text.strip()), source=where, problems=problems)


def _checked_key(key: Secret, *, source: str, problems: list[str]) -> Secret | None:
    text = key.reveal()
    if not text:
        problems.append(f"{source}: the API key is empty")
        return None
    # A header value with a line break or non-ASCII text fails deep in requests, possibly quoting it.
    if any(not 33 <= ord(char) < 127 for char in text):
        problems.append(
            f"{source}: the API key contains spaces, line breaks or non-ASCII characters; copy it again from DocketQA"
        )
        return None
    return key


# --- the config file --------------------------------------------------------------------------------------


def _config_file_layer(layers: Sequence[Layer], *, cwd: Path) -> tuple[Layer, Path | None, str | None]:
    """``--config`` / ``DOCKET_CONFIG`` / the config input if given (must exist), else ``.docketqa.yml`` if present."""
    from gate.config_file import read_config_file

    explicit = next((layer.settings["config"] for layer in layers if "config" in layer.settings), None)
    if explicit is None:
        default = cwd / DEFAULT_CONFIG_FILE
        if not default.exists():
            return Layer(), None, None
        return read_config_file(default, display=DEFAULT_CONFIG_FILE, origin=None), default, DEFAULT_CONFIG_FILE
    try:
        path = parse_path(str(explicit.value))
    except ValueError as exc:
        return Layer(problems=(f"{explicit.source}: {exc}",)), None, None
    display = str(path)
    return read_config_file(cwd / path, display=display, origin=explicit.source), cwd / path, display


__all__ = ["MAX_KEY_FILE_BYTES", "merge", "parse_id_list_value"]
