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
from gate.config.values import (
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


class _Picker:
    """Validates a setting in every layer (so a broken file is reported even when a flag overrides it)."""

    def __init__(self, layers: Sequence[Layer], problems: _Problems) -> None:
        self.layers = layers
        self.problems = problems
        #: Settings given somewhere with a wrong value (their "missing" hint would be noise).
        self.failed: set[str] = set()
        for index, layer in enumerate(layers):
            for problem in layer.problems:
                problems.add(index, problem)

    def all(self, name: str, parse: Callable[[Any], T]) -> list[T]:
        values: list[T] = []
        for index, layer in enumerate(self.layers):
            setting = layer.settings.get(name)
            if setting is None:
                continue
            try:
                values.append(parse(setting.value))
            except ValueError as exc:
                self.problems.add(index, f"{setting.source}: {exc}")
                self.failed.add(name)
        return values

    def first(self, name: str, parse: Callable[[Any], T], *, default: T) -> T:
        values = self.all(name, parse)
        return values[0] if values else default


def merge(layers: Sequence[Layer], *, command: Command, cwd: Path, hints: Hints, debug: bool) -> Config:
    """Highest-precedence layer first; raises one ``ConfigError`` naming every problem and its source."""
    file_layer, file_path, display = _config_file_layer(layers, cwd=cwd)
    problems = _Problems(file_index=len(layers), display=display)
    pick = _Picker([*layers, file_layer], problems)
    blueprints = _blueprints(pick, file_layer)
    test_run_ids = pick.first("test_run_ids", parse_id_list_value, default=_NO_IDS)
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
        api_url=pick.first("api_url", parse_api_url, default=DEFAULT_API_URL),
        api_key=api_key,
        blueprints=blueprints,
        test_run_ids=test_run_ids,
        report_files=pick.first("report_files", _paths, default=_NO_PATHS),
        timeout_s=pick.first("timeout", parse_timeout, default=DEFAULT_TIMEOUT_S),
        poll_interval_s=pick.first("poll_interval", parse_poll_interval, default=DEFAULT_POLL_INTERVAL_S),
        fail_on_timeout=pick.first("fail_on_timeout", parse_bool, default=True),
        # Quarantine adds up across sources, like the file's per-blueprint allow_failure that flags cannot undo.
        allow_failures=frozenset(i for ids in pick.all("allow_failures", parse_id_list_value) for i in ids),
        reports=_reports(pick),
        annotations=pick.first("annotations", parse_bool, default=True),
        job_summary=pick.first("job_summary", parse_bool, default=True),
        concurrency=pick.first("concurrency", parse_concurrency, default=DEFAULT_CONCURRENCY),
        debug=debug,
        config_file=file_path,
    )
    if problems:
        raise ConfigError(problems.ordered())
    return config


def parse_id_list_value(value: object) -> tuple[int, ...]:
    """Ids from text (``"180, 181"``), texts (repeated flags), or ints the config file already checked."""
    if isinstance(value, tuple) and all(isinstance(item, int) for item in value):
        return value
    return parse_id_list(_texts(value))


def _blueprints(pick: _Picker, file_layer: Layer) -> tuple[Blueprint, ...]:
    """The chosen ids; ids given elsewhere replace the file's list but keep its names and allow_failure."""
    chosen = pick.first("blueprints", _parse_blueprints, default=_NO_BLUEPRINTS)
    from_file = file_layer.settings.get("blueprints")
    entries = {b.id: b for b in _parse_blueprints(from_file.value)} if from_file else {}
    return tuple(entries.get(b.id, b) for b in chosen)


def _parse_blueprints(value: object) -> tuple[Blueprint, ...]:
    if isinstance(value, tuple) and all(isinstance(item, Blueprint) for item in value):
        return value
    return tuple(Blueprint(id=i) for i in parse_id_list(_texts(value)))


def _reports(pick: _Picker) -> ReportPaths:
    return ReportPaths(
        junit=pick.first("junit", parse_optional_path, default=_DEFAULT_REPORTS.junit),
        json=pick.first("json", parse_optional_path, default=_DEFAULT_REPORTS.json),
        summary=pick.first("summary", parse_optional_path, default=_DEFAULT_REPORTS.summary),
        junit_layout=pick.first("junit_layout", parse_layout, default=JunitLayout.TEST),
        artifacts_dir=pick.first("artifacts_dir", parse_optional_path, default=_DEFAULT_REPORTS.artifacts_dir),
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


def _api_key(pick: _Picker, *, cwd: Path) -> Secret | None:
    """The key from the highest-precedence source that has one; its problems never quote the key."""
    for index, layer in enumerate(pick.layers):
        key_file, key = layer.settings.get("api_key_file"), layer.settings.get("api_key")
        if key_file is None and (key is None or not isinstance(key.value, Secret)):
            continue
        try:
            if key_file is not None:
                return _read_key_file(key_file, cwd=cwd)
            assert key is not None and isinstance(key.value, Secret)
            return _checked_key(key.value, source=key.source)
        except ValueError as exc:
            pick.problems.add(index, str(exc))
            pick.failed.add("api_key")
            return None
    return None


def _read_key_file(setting: Setting, *, cwd: Path) -> Secret:
    """The stripped key from the file; ValueError naming the path (never the content) when unusable."""
    try:
        path = parse_path(str(setting.value))
    except ValueError as exc:
        raise ValueError(f"{setting.source}: {exc}") from None
    where = f"{setting.source}: {show(str(path))}"
    try:
        with open(cwd / path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{setting.source}: cannot read {show(str(path))}: {os_reason(exc)}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ValueError(f"{where} is larger than 4 KB; it should hold only the API key")
    try:
        text = data.decode("utf-8-sig")  # -sig: editors on Windows add a byte-order mark
    except UnicodeDecodeError:
        raise ValueError(f"{where} is not UTF-8 text; it should hold only the API key") from None
    return _checked_key(Secret(text.strip()), source=where)


def _checked_key(key: Secret, *, source: str) -> Secret:
    text = key.reveal()
    if not text:
        raise ValueError(f"{source}: the API key is empty")
    # A header value with a line break or non-ASCII text fails deep in requests, possibly quoting it.
    if any(not 33 <= ord(char) < 127 for char in text):
        raise ValueError(
            f"{source}: the API key contains spaces, line breaks or non-ASCII characters; copy it again from DocketQA"
        )
    return key


# --- the config file --------------------------------------------------------------------------------------


def _config_file_layer(layers: Sequence[Layer], *, cwd: Path) -> tuple[Layer, Path | None, str | None]:
    """``--config`` / ``DOCKET_CONFIG`` / the config input if given (must exist), else ``.docketqa.yml`` if present."""
    from gate.config.file import read_config_file

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
