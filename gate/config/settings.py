"""The one table of settings: each row's flag, environment variable, config-file key, action input, parser and help."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator
from typing import Any

from gate.config import (
    DEFAULT_API_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WAIT_TIMEOUT_S,
    Command,
    CommentMode,
    JunitLayout,
    ReportPaths,
)
from gate.config.values import (
    parse_api_url,
    parse_blueprints,
    parse_bool,
    parse_comment_key,
    parse_comment_mode,
    parse_concurrency,
    parse_id_list_value,
    parse_layout,
    parse_login,
    parse_optional_path,
    parse_path,
    parse_paths,
    parse_poll_interval,
    parse_pr_number,
    parse_statuses,
    parse_target_urls,
    parse_text,
    parse_timeout,
    parse_wait_timeout,
)


class FlagKind(enum.Enum):
    """How argparse takes the flag (argparse keeps every value raw and None when not given)."""

    VALUE = "value"  # --x VALUE
    REPEATABLE = "repeatable"  # --x VALUE, as often as wanted: a tuple of texts
    SWITCH = "switch"  # --x / --no-x
    ON = "on"  # --x only
    ARGUMENTS = "arguments"  # positional: one or more


class FileShape(enum.Enum):
    """What the config-file key holds; the file reader checks the YAML type and reports it with line and key path."""

    TEXT = "text"
    #: A word from a fixed list: `pr_comment: off` is a YAML 1.1 boolean, yet the user wrote the word "off".
    WORD = "word"
    DURATION = "duration"  # text or a number of seconds
    BOOLEAN = "boolean"
    WHOLE_NUMBER = "whole number"
    PATH_OR_NULL = "path or null"
    IDS = "list of ids"
    TEXTS = "list of texts"
    STATUSES = "status codes"  # text such as 200,401, or one number
    BLUEPRINTS = "list of blueprints"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting, written down once: every source that can give it and how its value is checked."""

    name: str  #: the key a source's values are filed under
    help: str  #: the --help line (and what the setting is for)
    #: Text (or the config file's checked value) -> value; None: the loader checks it itself (the API key).
    parse: Callable[[Any], Any] | None
    default: object = None
    commands: frozenset[Command] = frozenset({Command.RUN, Command.WAIT, Command.REPORT})
    flag: str | None = None  #: --x (for ARGUMENTS: None; the metavar names it)
    metavar: str | None = None
    kind: FlagKind = FlagKind.VALUE
    group: str | None = None  #: the --help section; None: the command's own options
    env: str | None = None
    env_help: str | None = None
    file_key: str | None = None  #: ``timeout`` or ``reports.junit``
    file_expects: str | None = None  #: what to write, for the file's error messages
    file_shape: FileShape = FileShape.TEXT
    action_input: str | None = None
    secret: bool = False  #: the value is wrapped in a Secret the moment it is read
    #: ``--no-junit``: a flag that turns the report off (the value becomes REPORT_OFF, which parses to None).
    off_flag: str | None = None

    @property
    def on_command_line(self) -> bool:
        return self.flag is not None or self.kind is FlagKind.ARGUMENTS

    @property
    def source(self) -> str:
        """How messages name the flag: ``flag --timeout`` or ``argument FILE``."""
        return f"argument {self.metavar}" if self.kind is FlagKind.ARGUMENTS else f"flag {self.flag}"


_CONFIGURATION, _API, _WAITING, _REPORTS = "configuration", "DocketQA API", "waiting", "reports"
_COMMENT = "pull-request comment"
_RESUME, _TARGET = "re-runs (resume from an earlier attempt)", "wait for the target before triggering"
_RUN = frozenset({Command.RUN})
_DEFAULT_REPORTS = ReportPaths()
#: Settings for talking to DocketQA and waiting: ``report`` reads saved responses and takes none of them.
_ONLINE = frozenset({Command.RUN, Command.WAIT})
_BOOLEAN = "true or false"

#: Every setting, in --help order (the groups are printed in the order they first appear).
SETTINGS: tuple[Setting, ...] = (
    Setting("blueprints", "blueprint id(s) to trigger; repeatable, commas or spaces also separate ids "
            "(replaces the config file's list; its names and allow_failure still apply)",
            parse_blueprints, default=(), commands=frozenset({Command.RUN}), flag="--blueprint",
            metavar="ID[,ID...]", kind=FlagKind.REPEATABLE, file_key="blueprints",
            file_shape=FileShape.BLUEPRINTS, action_input="blueprint-ids"),
    Setting("test_run_ids", "test run id(s) to follow; repeatable, commas or spaces also separate ids",
            parse_id_list_value, default=(), commands=frozenset({Command.WAIT}), flag="--test-run",
            metavar="ID[,ID...]", kind=FlagKind.REPEATABLE, action_input="test-run-ids"),
    Setting("report_files", "saved GET /test_run bodies (one object or a list) or the gate's own --json results; merged, each run once", parse_paths, default=(),
            commands=frozenset({Command.REPORT}), metavar="FILE", kind=FlagKind.ARGUMENTS),
    Setting("api_key", "the API key (keep it in a masked CI secret); or use --api-key-file PATH", None,
            commands=_ONLINE, env="DOCKET_API_KEY",
            env_help="the API key (keep it in a masked CI secret); or use --api-key-file PATH",
            action_input="api-key", secret=True),
    Setting("config", "config file (env DOCKET_CONFIG; default .docketqa.yml if present)", parse_path,
            flag="--config", metavar="PATH", group=_CONFIGURATION, env="DOCKET_CONFIG",
            env_help="config file (default: .docketqa.yml in the working directory, if present)",
            action_input="config"),
    Setting("allow_failures", "quarantine: report this blueprint's failures but never fail the gate; repeatable",
            parse_id_list_value, default=(), flag="--allow-failure", metavar="BLUEPRINT_ID",
            kind=FlagKind.REPEATABLE, group=_CONFIGURATION, file_key="allow_failures", file_shape=FileShape.IDS,
            action_input="allow-failures"),
    Setting("api_url", "API base URL (env DOCKET_API_URL; default https://api.docketqa.com); "
            "https only, except for a loopback host", parse_api_url, default=DEFAULT_API_URL,
            commands=_ONLINE, flag="--api-url", metavar="URL", group=_API, env="DOCKET_API_URL",
            env_help="API base URL (default https://api.docketqa.com); --api-url overrides it",
            file_key="api_url", file_expects="a URL such as https://api.docketqa.com", action_input="api-url"),
    Setting("api_key_file", "read the API key from this file (else env DOCKET_API_KEY)", parse_path,
            commands=_ONLINE, flag="--api-key-file", metavar="PATH", group=_API),
    Setting("concurrency", "at most N requests in flight, 1..32 (default 8)", parse_concurrency,
            default=DEFAULT_CONCURRENCY, commands=_ONLINE, flag="--concurrency", metavar="N", group=_API,
            file_key="concurrency", file_expects="a whole number from 1 to 32", file_shape=FileShape.WHOLE_NUMBER),
    Setting("timeout", "overall deadline: 90, 90s, 15m, 1h, 1h30m (default 30m)", parse_timeout,
            default=DEFAULT_TIMEOUT_S, commands=_ONLINE, flag="--timeout", metavar="DURATION", group=_WAITING,
            file_key="timeout", file_expects="a duration such as 30m", file_shape=FileShape.DURATION,
            action_input="timeout"),
    Setting("poll_interval", "poll the lead run (every run when failing fast) this often, at least 0.1s "
            "(default 5s)", parse_poll_interval, default=DEFAULT_POLL_INTERVAL_S, commands=_ONLINE,
            flag="--poll-interval", metavar="DURATION", group=_WAITING, file_key="poll_interval",
            file_expects="a duration such as 5s", file_shape=FileShape.DURATION, action_input="poll-interval"),
    Setting("fail_on_timeout", "runs unfinished at the deadline fail the gate with exit 3 (default); with "
            "--no-fail-on-timeout they are a warning", parse_bool, default=True, commands=_ONLINE,
            flag="--fail-on-timeout", kind=FlagKind.SWITCH, group=_WAITING, file_key="fail_on_timeout",
            file_expects=_BOOLEAN, file_shape=FileShape.BOOLEAN, action_input="fail-on-timeout"),
    Setting("fail_fast", "stop at the first run that fails (allowed failures aside), exit 1; runs still going "
            "are reported as not awaited; polls every run every interval (default off: one lead run is polled "
            "every interval, the others when it finishes)", parse_bool, default=False, commands=_ONLINE,
            flag="--fail-fast", kind=FlagKind.SWITCH, group=_WAITING, file_key="fail_fast", file_expects=_BOOLEAN,
            file_shape=FileShape.BOOLEAN, action_input="fail-fast"),
    Setting("junit", "JUnit XML report (default docketqa-junit.xml)", parse_optional_path,
            default=_DEFAULT_REPORTS.junit, flag="--junit", metavar="PATH", group=_REPORTS, file_key="reports.junit",
            off_flag="--no-junit",
            file_expects="a path (or null for no JUnit file)", file_shape=FileShape.PATH_OR_NULL,
            action_input="junit-path"),
    Setting("junit_layout", "one testcase per test run (test, default) or per step (step)", parse_layout,
            default=JunitLayout.TEST, flag="--junit-layout", metavar="{test,step}", group=_REPORTS,
            file_key="reports.junit_layout", file_expects="'test' or 'step'", action_input="junit-layout"),
    Setting("json", "machine-readable JSON result (default: not written)", parse_optional_path,
            default=_DEFAULT_REPORTS.json, flag="--json", metavar="PATH", group=_REPORTS, file_key="reports.json",
            off_flag="--no-json",
            file_expects="a path (or null)", file_shape=FileShape.PATH_OR_NULL, action_input="json-path"),
    Setting("summary", "Markdown summary file (default: not written; on GitHub the job summary is written anyway)",
            parse_optional_path, default=_DEFAULT_REPORTS.summary, flag="--summary", metavar="PATH", group=_REPORTS,
            off_flag="--no-summary",
            file_key="reports.summary", file_expects="a path (or null)", file_shape=FileShape.PATH_OR_NULL),
    Setting("artifacts_dir", "download failing steps' screenshots and videos here", parse_optional_path,
            default=_DEFAULT_REPORTS.artifacts_dir, flag="--artifacts-dir", metavar="DIR", group=_REPORTS,
            file_key="reports.artifacts_dir", file_expects="a directory path (or null)",
            file_shape=FileShape.PATH_OR_NULL, action_input="artifacts-dir"),
    Setting("annotations", "annotate failed, timed-out, flaky and quarantined runs in CI (default on)", parse_bool,
            default=True, flag="--annotations", kind=FlagKind.SWITCH, group=_REPORTS, file_key="annotations",
            file_expects=_BOOLEAN, file_shape=FileShape.BOOLEAN, action_input="annotations"),
    Setting("job_summary", "write the CI job summary (default on)", parse_bool, default=True, flag="--job-summary",
            kind=FlagKind.SWITCH, group=_REPORTS, file_key="job_summary", file_expects=_BOOLEAN,
            file_shape=FileShape.BOOLEAN, action_input="job-summary"),
    Setting("pr_comment", "keep one comment on the pull (merge) request, updated on every run: off (default), "
            "always, or failures (create only when the gate does not pass; always update)", parse_comment_mode,
            default=CommentMode.OFF, flag="--pr-comment", metavar="{off,always,failures}", group=_COMMENT,
            file_key="pr_comment", file_expects="'off', 'always' or 'failures'", file_shape=FileShape.WORD,
            action_input="pr-comment"),
    Setting("comment_key", "which comment this gate job owns (default: workflow / job on GitHub, the job name "
            "on GitLab)", parse_comment_key, flag="--comment-key", metavar="TEXT", group=_COMMENT,
            file_key="comment_key", file_expects="a short text such as 'e2e'", action_input="comment-key"),
    Setting("pr", "the pull request (GitHub) or merge request IID (GitLab) to comment on when the event does not "
            "say", parse_pr_number, flag="--pr", metavar="NUMBER", group=_COMMENT, action_input="pr-number"),
    Setting("comment_author", "the GitHub login the token comments as (default github-actions[bot])", parse_login,
            flag="--comment-author", metavar="LOGIN", group=_COMMENT, action_input="comment-author"),
    Setting("github_token", "the GitHub token for --pr-comment; or use --github-token-file PATH", None,
            env="GITHUB_TOKEN", env_help="the GitHub token for --pr-comment; or use --github-token-file PATH",
            action_input="github-token", secret=True),
    Setting("github_token_file", "read the GitHub token for --pr-comment from this file (else env GITHUB_TOKEN)",
            parse_path, flag="--github-token-file", metavar="PATH", group=_COMMENT),
    Setting("gitlab_token", "a GitLab access token with the api scope, for --pr-comment", None,
            env="DOCKETQA_GITLAB_TOKEN",
            env_help="a GitLab access token with the api scope, for --pr-comment (CI_JOB_TOKEN cannot write notes)",
            secret=True),
    Setting("resume", "the JSON result (--json) of an earlier attempt: runs that passed are carried over, unfinished "
            "ones followed again, only the rest triggered; a missing file runs everything", parse_path,
            commands=_ONLINE, flag="--resume", metavar="PATH", group=_RESUME, file_key="resume",
            file_expects="a path such as docketqa-result.json", file_shape=FileShape.TEXT, action_input="resume-from"),
    Setting("resume_any_commit", "--resume also from a result of another commit (default: only the same commit)",
            parse_bool, default=False, commands=_ONLINE, flag="--resume-any-commit", kind=FlagKind.ON,
            group=_RESUME, file_key="resume_any_commit", file_expects=_BOOLEAN, file_shape=FileShape.BOOLEAN,
            action_input="resume-any-commit"),
    Setting("wait_for_urls", "before triggering, wait until this URL answers as asked; repeatable", parse_target_urls,
            default=(), commands=_RUN, flag="--wait-for-url", metavar="URL", kind=FlagKind.REPEATABLE, group=_TARGET,
            file_key="wait_for.urls", file_expects="a list of http(s) URLs", file_shape=FileShape.TEXTS,
            action_input="wait-for-url"),
    Setting("wait_for_text", "the target's answer must contain this text, e.g. the commit SHA a /version page serves",
            parse_text, commands=_RUN, flag="--wait-for-text", metavar="TEXT", group=_TARGET,
            file_key="wait_for.text", file_expects="a text such as a commit SHA", file_shape=FileShape.TEXT,
            action_input="wait-for-text"),
    Setting("wait_for_status", "statuses that count as ready, e.g. 200,401 (default: any 2xx)", parse_statuses,
            commands=_RUN, flag="--wait-for-status", metavar="CODES", group=_TARGET, file_key="wait_for.status",
            file_expects="status codes such as 200,401", file_shape=FileShape.STATUSES, action_input="wait-for-status"),
    Setting("wait_timeout", "give up waiting for the target after this long: exit 3, nothing triggered "
            "(default 10m; --timeout counts from when the target is ready)", parse_wait_timeout,
            default=DEFAULT_WAIT_TIMEOUT_S, commands=_RUN, flag="--wait-timeout", metavar="DURATION", group=_TARGET,
            file_key="wait_for.timeout", file_expects="a duration such as 10m", file_shape=FileShape.DURATION,
            action_input="wait-timeout"),
    # Read by gate/cli.py from argv itself: an internal error may come before any Config exists.
    Setting("debug", "show tracebacks for internal errors", parse_bool, default=False, flag="--debug",
            kind=FlagKind.ON),
)  # fmt: skip


def rows(command: Command | None = None) -> Iterator[Setting]:
    """Every setting (read when called, so a row added to SETTINGS is seen everywhere), or those of one command."""
    return (row for row in SETTINGS if command is None or command in row.commands)


def setting(name: str) -> Setting:
    found = next((row for row in SETTINGS if row.name == name), None)
    if found is None:
        raise KeyError(f"no setting named {name!r}")  # a programming error, not user input
    return found


def names() -> frozenset[str]:
    return frozenset(row.name for row in SETTINGS)


def action_inputs() -> tuple[str, ...]:
    """Every input the action reads (action.yml declares the same; a contract test compares them)."""
    return tuple(row.action_input for row in SETTINGS if row.action_input)


def file_keys(section: str | None = None) -> dict[str, Setting]:
    """Config-file key (within ``section``, e.g. ``reports``; None: top level) -> its setting."""
    found = {}
    for row in SETTINGS:
        if row.file_key is None:
            continue
        parent, _, key = row.file_key.rpartition(".")
        if (parent or None) == section:
            found[key] = row
    return found


def file_sections() -> tuple[str, ...]:
    """Top-level keys that hold a mapping of settings (``reports``)."""
    return tuple(dict.fromkeys(row.file_key.split(".")[0] for row in SETTINGS if row.file_key and "." in row.file_key))


__all__ = ["SETTINGS", "FileShape", "FlagKind", "Setting", "action_inputs", "file_keys", "file_sections", "names",
           "rows", "setting"]  # fmt: skip
