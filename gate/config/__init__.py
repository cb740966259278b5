"""Flags + environment + .docketqa.yml -> one frozen Config; every problem reported at once."""

from __future__ import annotations

import argparse
import dataclasses
import enum
from collections.abc import Mapping, Sequence
from pathlib import Path

from gate.secret import Secret

DEFAULT_API_URL = "https://api.docketqa.com"
DEFAULT_TIMEOUT_S = 30 * 60.0
DEFAULT_POLL_INTERVAL_S = 5.0
DEFAULT_JUNIT = "docketqa-junit.xml"
DEFAULT_CONCURRENCY = 8


class Command(enum.Enum):
    RUN = "run"
    WAIT = "wait"
    REPORT = "report"


class JunitLayout(enum.Enum):
    TEST = "test"
    STEP = "step"


@dataclasses.dataclass(frozen=True)
class Blueprint:
    id: int
    name: str | None = None
    allow_failure: bool = False


@dataclasses.dataclass(frozen=True)
class ReportPaths:
    """Where reports go; None means "do not write". Relative paths are resolved against the workspace."""

    junit: Path | None = Path(DEFAULT_JUNIT)
    json: Path | None = None
    summary: Path | None = None
    junit_layout: JunitLayout = JunitLayout.TEST
    artifacts_dir: Path | None = None


@dataclasses.dataclass(frozen=True)
class Config:
    command: Command
    api_url: str = DEFAULT_API_URL
    api_key: Secret | None = None
    blueprints: tuple[Blueprint, ...] = ()
    test_run_ids: tuple[int, ...] = ()
    report_files: tuple[Path, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S
    fail_on_timeout: bool = True
    #: Blueprint ids whose failures are reported but never fail the gate (flags + file entries).
    allow_failures: frozenset[int] = frozenset()
    reports: ReportPaths = ReportPaths()
    annotations: bool = True
    job_summary: bool = True
    concurrency: int = DEFAULT_CONCURRENCY
    debug: bool = False
    #: The config file that was read, if any (logged so users know it was used).
    config_file: Path | None = None

    def name_for(self, blueprint_id: int | None) -> str | None:
        return next((b.name for b in self.blueprints if b.id == blueprint_id and b.name), None)

    def is_allowed_failure(self, blueprint_id: int | None) -> bool:
        return blueprint_id is not None and (
            blueprint_id in self.allow_failures or any(b.id == blueprint_id and b.allow_failure for b in self.blueprints)
        )


# --- loading: every source becomes a Layer of raw settings; one function validates and merges them ------------

#: Setting names a Layer may carry (the Config field each feeds is named alike, or noted in ``resolve``).
SETTING_KEYS = frozenset(
    {
        "api_url", "api_key", "api_key_file", "config", "blueprints", "test_run_ids", "report_files",
        "timeout", "poll_interval", "fail_on_timeout", "allow_failures", "junit", "junit_layout", "json",
        "summary", "artifacts_dir", "annotations", "job_summary", "concurrency",
    }
)  # fmt: skip
DEFAULT_CONFIG_FILE = ".docketqa.yml"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One raw value and where it came from (``flag --timeout``, ``.docketqa.yml:7: timeout``, ...).

    ``value`` is text from flags, environment and action inputs (a bool for --x/--no-x flags, a tuple of
    texts for repeatable flags, a ``Secret`` for the key); the config file hands over scalar text, and
    already-checked ``Blueprint``/id tuples because it reports those per item with their own lines.
    """

    value: object
    source: str


@dataclasses.dataclass(frozen=True)
class Layer:
    """The settings one source provides, plus problems found while reading that source."""

    settings: Mapping[str, Setting] = dataclasses.field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.settings) - SETTING_KEYS
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

#: Namespace attribute (== setting name) -> how the flag is spelled in messages.
_FLAGS = {
    "api_url": "--api-url", "api_key_file": "--api-key-file", "config": "--config", "timeout": "--timeout",
    "poll_interval": "--poll-interval", "fail_on_timeout": "--fail-on-timeout", "allow_failures": "--allow-failure",
    "junit": "--junit", "junit_layout": "--junit-layout", "json": "--json", "summary": "--summary",
    "artifacts_dir": "--artifacts-dir", "annotations": "--annotations", "job_summary": "--job-summary",
    "concurrency": "--concurrency", "blueprints": "--blueprint", "test_run_ids": "--test-run",
    "report_files": "FILE",
}  # fmt: skip
_ENV = {"DOCKET_API_URL": "api_url", "DOCKET_API_KEY": "api_key", "DOCKET_CONFIG": "config"}


def load_config(args: argparse.Namespace, *, env: Mapping[str, str], cwd: Path) -> Config:
    """Config for ``run``/``wait``/``report`` from parsed flags, the environment and the config file.

    Precedence: flag > environment > config file > default. Raises one ``ConfigError`` listing every problem.
    """
    return resolve(
        [flag_layer(args), env_layer(env)],
        command=Command(args.command),
        cwd=cwd,
        hints=CLI_HINTS,
        debug=bool(getattr(args, "debug", False)),
    )


def flag_layer(args: argparse.Namespace) -> Layer:
    """Flags the user gave (argparse leaves the others None); repeatable flags become tuples of texts."""
    settings = {}
    for name, flag in _FLAGS.items():
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = Setting(tuple(value) if isinstance(value, list) else value, f"flag {flag}")
    if "report_files" in settings:
        settings["report_files"] = Setting(settings["report_files"].value, "argument FILE")
    return Layer(settings)


def env_layer(env: Mapping[str, str]) -> Layer:
    """DOCKET_API_URL, DOCKET_API_KEY and DOCKET_CONFIG; empty means unset."""
    settings = {}
    for variable, name in _ENV.items():
        text = env.get(variable, "").strip()
        if text:
            settings[name] = Setting(Secret(text) if name == "api_key" else text, f"env {variable}")
    return Layer(settings)


def resolve(layers: Sequence[Layer], *, command: Command, cwd: Path, hints: Hints, debug: bool = False) -> Config:
    """Validate every layer's settings, add the config file's layer, merge by precedence (first layer wins)."""
    from gate.config.load import merge

    return merge(layers, command=command, cwd=cwd, hints=hints, debug=debug)
