"""Flags, environment and config file become one Config: precedence, validation, the key, every problem at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gate.config import (
    DEFAULT_API_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    Blueprint,
    Command,
    Config,
    JunitLayout,
)
from gate.secret import Secret
from tests.support.cli import CliResult
from tests.support.config import KEY_ENV, load, problems, write
from tests.support.keys import TEST_API_KEY

NO_KEY = "no API key: set DOCKET_API_KEY (a masked CI secret) or pass --api-key-file PATH"
DURATION_FORMS = "use seconds (90, 0.5) or h/m/s units (90s, 15m, 1h, 1h30m, 0.5s)"


def test_defaults(tmp_path: Path) -> None:
    """With only blueprints and a key, every other setting has its documented default."""
    config = load(tmp_path, "run", "--blueprint", "180")
    assert config == Config(
        command=Command.RUN,
        api_key=Secret(TEST_API_KEY),
        blueprints=(Blueprint(id=180),),
    )
    assert (config.api_url, config.timeout_s, config.poll_interval_s) == (DEFAULT_API_URL, 1800.0, 5.0)
    assert (config.reports.junit, config.reports.json, config.reports.summary) == (Path("docketqa-junit.xml"), None, None)
    assert (config.fail_on_timeout, config.annotations, config.job_summary, config.concurrency) == (True, True, True, 8)
    assert config.config_file is None


# (flags, config file line, how to read the Config, value from the flag, from the file, default)
PRECEDENCE: list[tuple[list[str], str, Callable[[Config], Any], Any, Any, Any]] = [
    (["--timeout", "10m"], "timeout: 20m", lambda c: c.timeout_s, 600.0, 1200.0, DEFAULT_TIMEOUT_S),
    (["--poll-interval", "2s"], "poll_interval: 3", lambda c: c.poll_interval_s, 2.0, 3.0, DEFAULT_POLL_INTERVAL_S),
    (["--no-fail-on-timeout"], "fail_on_timeout: false", lambda c: c.fail_on_timeout, False, False, True),
    (["--fail-on-timeout"], "fail_on_timeout: false", lambda c: c.fail_on_timeout, True, False, True),
    (["--junit", "a.xml"], "reports: {junit: b.xml}", lambda c: c.reports.junit, Path("a.xml"), Path("b.xml"),
     Path("docketqa-junit.xml")),
    (["--json", "a.json"], "reports: {json: b.json}", lambda c: c.reports.json, Path("a.json"), Path("b.json"), None),
    (["--summary", "a.md"], "reports: {summary: b.md}", lambda c: c.reports.summary, Path("a.md"), Path("b.md"), None),
    (["--junit-layout", "step"], "reports: {junit_layout: test}", lambda c: c.reports.junit_layout, JunitLayout.STEP,
     JunitLayout.TEST, JunitLayout.TEST),
    (["--artifacts-dir", "ev"], "reports: {artifacts_dir: other}", lambda c: c.reports.artifacts_dir, Path("ev"),
     Path("other"), None),
    (["--no-annotations"], "annotations: true", lambda c: c.annotations, False, True, True),
    (["--no-job-summary"], "job_summary: true", lambda c: c.job_summary, False, True, True),
    (["--concurrency", "3"], "concurrency: 16", lambda c: c.concurrency, 3, 16, DEFAULT_CONCURRENCY),
    (["--api-url", "https://a.example"], "api_url: https://b.example", lambda c: c.api_url, "https://a.example",
     "https://b.example", DEFAULT_API_URL),
]  # fmt: skip


@pytest.mark.parametrize(("flags", "line", "read", "from_flag", "from_file", "default"), PRECEDENCE)
def test_flag_beats_config_file_beats_default(
    tmp_path: Path, flags: list[str], line: str, read: Callable[[Config], Any], from_flag: Any, from_file: Any, default: Any
) -> None:
    """Each option: the flag wins over .docketqa.yml, which wins over the default."""
    assert read(load(tmp_path, "run", "--blueprint", "1")) == default
    write(tmp_path, ".docketqa.yml", line + "\n")
    assert read(load(tmp_path, "run", "--blueprint", "1")) == from_file
    assert read(load(tmp_path, "run", "--blueprint", "1", *flags)) == from_flag


def test_api_url_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    """DOCKET_API_URL sits between the flag and the config file."""
    write(tmp_path, ".docketqa.yml", "api_url: https://file.example\n")
    env = {**KEY_ENV, "DOCKET_API_URL": "https://env.example/"}
    assert load(tmp_path, "run", "--blueprint", "1", env=env).api_url == "https://env.example"
    assert load(tmp_path, "run", "--blueprint", "1", "--api-url", "https://flag.example", env=env).api_url == (
        "https://flag.example"
    )
    assert load(tmp_path, "run", "--blueprint", "1", env={**env, "DOCKET_API_URL": ""}).api_url == "https://file.example"


def test_config_file_choice_flag_then_environment_then_default(tmp_path: Path) -> None:
    """--config beats DOCKET_CONFIG beats ./.docketqa.yml, and Config.config_file records the one read."""
    write(tmp_path, ".docketqa.yml", "timeout: 1m\n")
    write(tmp_path, "env.yml", "timeout: 2m\n")
    write(tmp_path, "ci/flag.yml", "timeout: 3m\n")
    env = {**KEY_ENV, "DOCKET_CONFIG": "env.yml"}
    default = load(tmp_path, "run", "--blueprint", "1")
    assert (default.timeout_s, default.config_file) == (60.0, tmp_path / ".docketqa.yml")
    from_env = load(tmp_path, "run", "--blueprint", "1", env=env)
    assert (from_env.timeout_s, from_env.config_file) == (120.0, tmp_path / "env.yml")
    from_flag = load(tmp_path, "run", "--blueprint", "1", "--config", "ci/flag.yml", env=env)
    assert (from_flag.timeout_s, from_flag.config_file) == (180.0, tmp_path / "ci/flag.yml")


def test_named_config_file_must_exist(tmp_path: Path) -> None:
    """A config file named by flag or environment that is missing is an error naming where it was named."""
    assert problems(tmp_path, "run", "--blueprint", "1", "--config", "nope.yml") == [
        "flag --config: cannot read 'nope.yml': No such file or directory"
    ]
    assert problems(tmp_path, "run", "--blueprint", "1", env={**KEY_ENV, "DOCKET_CONFIG": "gone.yml"}) == [
        "env DOCKET_CONFIG: cannot read 'gone.yml': No such file or directory"
    ]
    (tmp_path / "adir").mkdir()
    assert problems(tmp_path, "run", "--blueprint", "1", "--config", "adir") == [
        "flag --config: cannot read 'adir': Is a directory"
    ]


def test_blueprint_ids_split_on_commas_and_whitespace(tmp_path: Path) -> None:
    """--blueprint is repeatable and each value may hold several ids separated by commas, spaces or newlines."""
    config = load(tmp_path, "run", "--blueprint", "180", "--blueprint", "181,182", "--blueprint", " 183 ,\n184 ")
    assert [b.id for b in config.blueprints] == [180, 181, 182, 183, 184]
    waited = load(tmp_path, "wait", "--test-run", "38, 39", "--test-run", "40")
    assert (waited.command, waited.test_run_ids) == (Command.WAIT, (38, 39, 40))


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--blueprint", "180,abc", "--blueprint", "-1"], "flag --blueprint: expected positive integer ids, got 'abc', '-1'"),
        (["--blueprint", "0"], "flag --blueprint: expected positive integer ids, got '0'"),
        (["--blueprint", "180", "--blueprint", "181 180"], "flag --blueprint: id 180 given more than once"),
        (["--blueprint", " , "], ("flag --blueprint: expected one or more positive integer ids (separated by commas or "
                                 "spaces), got none")),
        (["--blueprint", "1", "--allow-failure", "x"], "flag --allow-failure: expected positive integer ids, got 'x'"),
    ],
)  # fmt: skip
def test_bad_ids_are_named(tmp_path: Path, flags: list[str], problem: str) -> None:
    """Every bad or repeated id is named in one problem for its flag."""
    assert problems(tmp_path, "run", *flags) == [problem]


def test_command_line_blueprints_replace_the_file_list_but_keep_its_names(tmp_path: Path) -> None:
    """--blueprint replaces the file's list; a file entry's name and allow_failure still apply to the same id."""
    write(tmp_path, ".docketqa.yml", "blueprints:\n  - 180\n  - id: 181\n    name: Checkout\n    allow_failure: true\n")
    config = load(tmp_path, "run", "--blueprint", "181,182")
    assert config.blueprints == (Blueprint(id=181, name="Checkout", allow_failure=True), Blueprint(id=182))
    assert config.name_for(181) == "Checkout" and config.is_allowed_failure(181)
    from_file = load(tmp_path, "run")
    assert [b.id for b in from_file.blueprints] == [180, 181]


def test_wait_keeps_the_file_blueprints_for_names(tmp_path: Path) -> None:
    """`wait` follows test run ids but still knows the file's display names and quarantine."""
    write(tmp_path, ".docketqa.yml", "blueprints: [{id: 181, name: Checkout, allow_failure: true}]\n")
    config = load(tmp_path, "wait", "--test-run", "38")
    assert config.name_for(181) == "Checkout" and config.is_allowed_failure(181)


def test_allow_failures_add_up_across_sources(tmp_path: Path) -> None:
    """Quarantined ids from flags, the file's allow_failures and its entries all apply together."""
    write(tmp_path, ".docketqa.yml", "allow_failures: [8]\nblueprints: [{id: 9, allow_failure: true}, 10]\n")
    config = load(tmp_path, "run", "--allow-failure", "7", "--allow-failure", "11,12")
    assert config.allow_failures == frozenset({7, 8, 11, 12})
    assert [config.is_allowed_failure(i) for i in (7, 8, 9, 10)] == [True, True, True, False]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["run"], "no blueprints to run: pass --blueprint ID or list them under 'blueprints:' in .docketqa.yml"),
        (["wait"], "no test runs to wait for: pass --test-run ID"),
    ],
)
def test_required_ids(tmp_path: Path, args: list[str], problem: str) -> None:
    """run needs at least one blueprint and wait at least one test run, with a message saying how to give them."""
    assert problems(tmp_path, *args) == [problem]


def test_run_and_wait_need_a_key_report_does_not(tmp_path: Path) -> None:
    """Without a key run and wait fail with the documented message; report works offline without one."""
    assert problems(tmp_path, "run", "--blueprint", "1", env={}) == [NO_KEY]
    assert problems(tmp_path, "wait", "--test-run", "1", env={"DOCKET_API_KEY": "  "}) == [NO_KEY]
    config = load(tmp_path, "report", "saved.json", "more.json", env={})
    assert (config.command, config.api_key, config.report_files) == (
        Command.REPORT, None, (Path("saved.json"), Path("more.json"))
    )  # fmt: skip


def test_key_file_is_read_stripped_and_beats_the_environment(tmp_path: Path) -> None:
    """--api-key-file is read (trailing newline stripped) and wins over DOCKET_API_KEY."""
    write(tmp_path, "ci/docket.key", f"\ufeff  {TEST_API_KEY}\r\n")
    config = load(tmp_path, "run", "--blueprint", "1", "--api-key-file", "ci/docket.key", env={"DOCKET_API_KEY": "other"})
    assert config.api_key == Secret(TEST_API_KEY)
    assert TEST_API_KEY not in repr(config)
    assert load(tmp_path, "run", "--blueprint", "1", env={"DOCKET_API_KEY": f" {TEST_API_KEY}\n"}).api_key == Secret(
        TEST_API_KEY
    )


def test_key_file_problems_name_the_path_never_the_content(tmp_path: Path) -> None:
    """Missing, empty, oversized, binary or malformed key files are reported by path; the content never shows."""
    write(tmp_path, "empty.key", "\n")
    write(tmp_path, "spaced.key", f"{TEST_API_KEY} {TEST_API_KEY}\n")
    write(tmp_path, "big.key", TEST_API_KEY * 200)
    (tmp_path / "binary.key").write_bytes(b"\xff\xfe" + TEST_API_KEY.encode())
    cases = {
        "missing.key": "flag --api-key-file: cannot read 'missing.key': No such file or directory",
        "empty.key": "flag --api-key-file: 'empty.key': the API key is empty",
        "spaced.key": "flag --api-key-file: 'spaced.key': the API key contains spaces, line breaks or non-ASCII "
                      "characters; copy it again from DocketQA",
        "big.key": "flag --api-key-file: 'big.key' is larger than 4 KB; it should hold only the API key",
        "binary.key": "flag --api-key-file: 'binary.key' is not UTF-8 text; it should hold only the API key",
    }  # fmt: skip
    for name, problem in cases.items():
        assert problems(tmp_path, "run", "--blueprint", "1", "--api-key-file", name, env={}) == [problem]


def test_key_from_environment_with_a_line_break_is_refused_without_showing_it(tmp_path: Path) -> None:
    """A key with inner whitespace (a bad copy) is refused by its source, never quoted."""
    assert problems(tmp_path, "run", "--blueprint", "1", env={"DOCKET_API_KEY": f"{TEST_API_KEY}\nx"}) == [
        "env DOCKET_API_KEY: the API key contains spaces, line breaks or non-ASCII characters; copy it again from DocketQA"
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.9.9.9/api/", "http://127.9.9.9/api"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("http://LOCALHOST", "http://LOCALHOST"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("https://api.docketqa.com/", "https://api.docketqa.com"),
        ("https://proxy.example:8443/docketqa", "https://proxy.example:8443/docketqa"),
    ],
)
def test_https_or_loopback_http_urls_are_accepted(tmp_path: Path, url: str, expected: str) -> None:
    """https anywhere, plain http only on a loopback host; a trailing slash is dropped."""
    assert load(tmp_path, "run", "--blueprint", "1", "--api-url", url).api_url == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://api.docketqa.com", ("'http://api.docketqa.com' uses plain http, which would send the API key "
         "unencrypted; use https (http is allowed only for loopback hosts: localhost, 127.0.0.0/8, ::1)")),
        ("http://128.0.0.1", ("'http://128.0.0.1' uses plain http, which would send the API key unencrypted; use https "
         "(http is allowed only for loopback hosts: localhost, 127.0.0.0/8, ::1)")),
        ("http://localhost.evil.example", ("'http://localhost.evil.example' uses plain http, which would send the API "
         "key unencrypted; use https (http is allowed only for loopback hosts: localhost, 127.0.0.0/8, ::1)")),
        ("api.docketqa.com", "'api.docketqa.com' is not a valid URL; expected https://host[:port][/path]"),
        ("ftp://api.docketqa.com", "'ftp://api.docketqa.com' is not a valid URL; expected https://host[:port][/path]"),
        ("https://", "'https://' is not a valid URL; expected https://host[:port][/path]"),
        ("https://api.docketqa.com:99999", ("'https://api.docketqa.com:99999' is not a valid URL; expected "
         "https://host[:port][/path]")),
        ("https://a b.example", "'https://a b.example' is not a valid URL; expected https://host[:port][/path]"),
        (f"https://user:{TEST_API_KEY}@api.docketqa.com", ("the URL must not contain a user name or password; pass the "
         "key via DOCKET_API_KEY")),
        ("https://api.docketqa.com/?x=1", ("'https://api.docketqa.com/?x=1' must not have a query or fragment ('?' or "
         "'#')")),
    ],
)  # fmt: skip
def test_unsafe_or_malformed_urls_are_refused(tmp_path: Path, url: str, problem: str) -> None:
    """Remote plain http, other schemes, malformed URLs, credentials and queries are refused with the reason."""
    assert problems(tmp_path, "run", "--blueprint", "1", "--api-url", url) == [f"flag --api-url: {problem}"]


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--timeout", "0"], "flag --timeout: the timeout must be more than 0s and at most 24h, got '0'"),
        (["--timeout", "25h"], "flag --timeout: the timeout must be more than 0s and at most 24h, got '25h'"),
        (["--timeout", "soon"], f"flag --timeout: 'soon' is not a duration; {DURATION_FORMS}"),
        (["--poll-interval", "0.05s"], "flag --poll-interval: the poll interval must be between 0.1s and 1h, got '0.05s'"),
        (["--poll-interval", "2h"], "flag --poll-interval: the poll interval must be between 0.1s and 1h, got '2h'"),
        (["--concurrency", "0"], "flag --concurrency: expected a whole number from 1 to 32, got '0'"),
        (["--concurrency", "33"], "flag --concurrency: expected a whole number from 1 to 32, got '33'"),
        (["--concurrency", "four"], "flag --concurrency: expected a whole number from 1 to 32, got 'four'"),
        (["--junit-layout", "steps"], "flag --junit-layout: expected 'test' or 'step', got 'steps'"),
        (["--junit", ""], "flag --junit: expected a path, got an empty value"),
    ],
)  # fmt: skip
def test_out_of_range_values_are_refused(tmp_path: Path, flags: list[str], problem: str) -> None:
    """Durations, intervals, concurrency and layouts are range-checked with the allowed range in the message."""
    assert problems(tmp_path, "run", "--blueprint", "1", *flags) == [problem]


def test_boundary_values_are_accepted(tmp_path: Path) -> None:
    """The documented bounds themselves are valid: 0.1 s polling (sandbox rehearsals), 24 h, 1 and 32 requests."""
    config = load(tmp_path, "run", "--blueprint", "1", "--poll-interval", "0.1", "--timeout", "24h", "--concurrency", "32")
    assert (config.poll_interval_s, config.timeout_s, config.concurrency) == (0.1, 86400.0, 32)
    assert load(tmp_path, "run", "--blueprint", "1", "--concurrency", "1", "--timeout", "0.5s").concurrency == 1


def test_every_problem_from_every_source_in_one_error(tmp_path: Path) -> None:
    """Every problem is reported together, source by source (the file's by line), then what is missing."""
    write(tmp_path, ".docketqa.yml", "timeout: forever\nreports:\n  junit_layout: flat\nfail_on_timeout: maybe\n")
    found = problems(
        tmp_path, "run", "--blueprint", "x", "--concurrency", "99", "--poll-interval", "0",
        env={"DOCKET_API_URL": "http://remote.example"},
    )  # fmt: skip
    assert found == [
        "flag --blueprint: expected positive integer ids, got 'x'",
        "flag --poll-interval: the poll interval must be between 0.1s and 1h, got '0'",
        "flag --concurrency: expected a whole number from 1 to 32, got '99'",
        ("env DOCKET_API_URL: 'http://remote.example' uses plain http, which would send the API key unencrypted; use "
        "https (http is allowed only for loopback hosts: localhost, 127.0.0.0/8, ::1)"),
        f".docketqa.yml:1: timeout: 'forever' is not a duration; {DURATION_FORMS}",
        ".docketqa.yml:3: reports.junit_layout: expected 'test' or 'step', got 'flat'",
        ".docketqa.yml:4: fail_on_timeout: expected true or false, got the text 'maybe'",
        NO_KEY,
    ]


def test_a_broken_file_is_reported_even_when_flags_override_it(tmp_path: Path) -> None:
    """A bad value in the file is still an error when a flag overrides that setting (the file is broken)."""
    write(tmp_path, ".docketqa.yml", "timeout: 1:30\n")
    assert problems(tmp_path, "run", "--blueprint", "1", "--timeout", "5m") == [
        f".docketqa.yml:1: timeout: '1:30' is not a duration; {DURATION_FORMS}"
    ]


def test_configuration_errors_exit_2_on_one_line(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """Through the CLI, configuration problems are one stderr line and exit code 2, with no traceback."""
    result = cli(["run", "--blueprint", "1", "--timeout", "0"], env=KEY_ENV, cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        ("docketqa-gate: error: configuration error: flag --timeout: the timeout must be more than 0s and at most 24h, "
        "got '0'")
    ]
