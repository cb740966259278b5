"""The command line surface: commands, flags, help text, parse errors, and the key never taken as a flag."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gate import __version__
from gate.cli import build_parser
from gate.config.flags import parse_arguments
from gate.errors import ExitCode, UsageError
from tests.support.cli import CliResult
from tests.support.config import KEY_ENV, problems
from tests.support.keys import TEST_API_KEY
from tests.support.paths import FIXTURES, REPO

DURATION_FORMS = "use seconds (90, 0.5) or h/m/s units (90s, 15m, 1h, 1h30m, 0.5s)"

COMMANDS = ("run", "wait", "report", "sandbox", "demo")
REPORT_FLAGS = (
    "--config", "--allow-failure", "--junit", "--junit-layout", "--json", "--summary", "--artifacts-dir",
    "--annotations", "--no-annotations", "--job-summary", "--no-job-summary", "--debug",
)  # fmt: skip
#: Options only run and wait take: report reads saved responses and never talks to the API.
API_FLAGS = (
    "--api-url", "--api-key-file", "--timeout", "--poll-interval", "--fail-on-timeout", "--no-fail-on-timeout",
    "--concurrency",
)  # fmt: skip


def parse(*args: str) -> argparse.Namespace:
    return parse_arguments(build_parser(), list(args))


def usage_error(*args: str) -> str:
    with pytest.raises(UsageError) as caught:
        parse(*args)
    assert caught.value.exit_code is ExitCode.USAGE
    return caught.value.message


def test_version_prints_the_program_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints `docketqa-gate <version>` and exits 0."""
    with pytest.raises(SystemExit) as caught:
        parse("--version")
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"docketqa-gate {__version__}"


@pytest.mark.parametrize("command", ["run", "wait", "report"])
def test_every_gate_command_help_documents_environment_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`<command> --help` lists the environment variables it reads and the whole exit code table."""
    with pytest.raises(SystemExit) as caught:
        parse(command, "--help")
    assert caught.value.code == 0
    text = capsys.readouterr().out
    api = ("DOCKET_API_KEY", "DOCKET_API_URL") if command != "report" else ()
    for variable in (*api, "DOCKET_CONFIG", "HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE"):
        assert variable in text
    for code, meaning in (("0", "passed"), ("1", "failed"), ("2", "usage"), ("3", "timed out"), ("4", "API error"),
                          ("130", "SIGINT"), ("143", "SIGTERM"), ("70", "internal error")):  # fmt: skip
        assert any(line.strip().startswith(code + " ") and meaning in line for line in text.splitlines()), code


@pytest.mark.parametrize("command", ["run", "wait", "report"])
def test_gate_commands_document_every_option(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """run and wait list the report and API options in their help; report only the report options."""
    with pytest.raises(SystemExit):
        parse(command, "--help")
    text = capsys.readouterr().out.split("Precedence:")[0]  # the options, not the exit-code table
    for flag in REPORT_FLAGS + (API_FLAGS if command != "report" else ()):
        assert flag in text, flag
    if command == "report":
        assert [flag for flag in API_FLAGS if flag in text] == []
    assert "--api-key " not in text.replace("--api-key-file", "")


def test_top_level_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` names every command."""
    with pytest.raises(SystemExit):
        parse("--help")
    text = capsys.readouterr().out
    assert all(command in text for command in COMMANDS)
    assert "REQUESTS_CA_BUNDLE" in text


def test_repeatable_flags_keep_every_value() -> None:
    """--blueprint, --test-run and --allow-failure collect each occurrence (splitting happens in the config)."""
    args = parse("run", "--blueprint", "180", "--blueprint", "181,182", "--allow-failure", "7", "--allow-failure", "8")
    assert args.blueprints == ["180", "181,182"]
    assert args.allow_failures == ["7", "8"]
    assert parse("wait", "--test-run", "38", "--test-run", "39 40").test_run_ids == ["38", "39 40"]


def test_unset_options_are_none_so_other_sources_can_apply() -> None:
    """Options not given stay None (not their default), so environment and config file can fill them."""
    args = parse("run")
    for name in ("api_url", "timeout", "poll_interval", "fail_on_timeout", "junit", "json", "annotations",
                 "job_summary", "concurrency", "blueprints", "allow_failures"):  # fmt: skip
        assert getattr(args, name) is None, name
    assert parse("run", "--no-fail-on-timeout").fail_on_timeout is False
    assert parse("run", "--fail-on-timeout").fail_on_timeout is True


def test_report_takes_files() -> None:
    """`report` takes one or more saved response files and requires at least one."""
    assert parse("report", "a.json", "b.json").report_files == ["a.json", "b.json"]
    assert usage_error("report") == "the following arguments are required: FILE (see 'docketqa-gate report --help')"


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--api-key", TEST_API_KEY, "--blueprint", "1"],
        ["run", f"--api-key={TEST_API_KEY}"],
        ["wait", "--api-key", TEST_API_KEY],
        ["report", "--api-key", TEST_API_KEY, "x.json"],
        ["--api-key", TEST_API_KEY, "run"],
    ],
)
def test_key_is_never_accepted_as_a_flag(args: list[str]) -> None:
    """Passing the key as a flag is a usage error that explains the alternatives and does not echo it."""
    message = usage_error(*args)
    assert message == (
        "the API key is never accepted as a flag value (it would show in process lists and shell history): "
        "set DOCKET_API_KEY (a masked CI secret) or pass --api-key-file PATH"
    )
    assert TEST_API_KEY not in message


def test_key_flag_through_the_cli_exits_2_without_echoing(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """End to end, `run --api-key KEY` exits 2 with one line on stderr and the key nowhere in the output."""
    result = cli(["run", "--api-key", TEST_API_KEY, "--blueprint", "1"])
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "--api-key-file" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--api-key-f", "k.txt"], "unrecognized arguments: --api-key-f <value> (see 'docketqa-gate run --help')"),
        (["run", "--time", "5m"], "unrecognized arguments: --time <value> (see 'docketqa-gate run --help')"),
        (["run", "180,181"], "unrecognized arguments: 180,181 (see 'docketqa-gate run --help')"),
        (["run", "--timeout"], "argument --timeout: expected one argument (see 'docketqa-gate run --help')"),
        (["sandbox", "--port", "70000"],
         "argument --port: expected a port from 0 to 65535, got '70000' (see 'docketqa-gate sandbox --help')"),
        (["sandbox", "--time-scale", "0"],
         "argument --time-scale: expected a number greater than 0, got '0' (see 'docketqa-gate sandbox --help')"),
    ],
)  # fmt: skip
def test_parse_errors_are_one_clear_line(args: list[str], message: str) -> None:
    """Parse errors are one line naming the problem and where help is; abbreviations are not accepted."""
    assert usage_error(*args) == message


@pytest.mark.parametrize("args", [["run", "--apikey", TEST_API_KEY], ["wait", f"--token={TEST_API_KEY}"],
                                  ["run", "--blueprint", "1", TEST_API_KEY]])  # fmt: skip
def test_unrecognized_values_are_not_echoed(args: list[str]) -> None:
    """A mistyped key flag does not put the key into the error: unknown values are shown as <value>."""
    message = usage_error(*args)
    assert TEST_API_KEY not in message
    assert message.startswith("unrecognized arguments: ") and "<value>" in message


def test_unknown_command_lists_the_commands() -> None:
    """An unknown command is a usage error that names the valid ones."""
    message = usage_error("rn")
    assert message.startswith("argument COMMAND: invalid choice: 'rn'")
    assert all(f"'{command}'" in message for command in COMMANDS)


def test_parse_error_through_the_cli_exits_2(cli: Callable[..., CliResult]) -> None:
    """A bad flag makes the program exit 2 with a single error line, not usage text or a traceback."""
    result = cli(["wait", "--timeout"])
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "docketqa-gate: error: argument --timeout: expected one argument (see 'docketqa-gate wait --help')"
    ]


def test_sandbox_defaults_match_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    """`sandbox` defaults to loopback, a free port, a real scenario and the sandbox's own key; help lists scenarios."""
    from gate.sandbox.registry import scenario_names
    from gate.sandbox.server import DEFAULT_KEY

    args = parse("sandbox")
    assert (args.host, args.port, args.key, args.time_scale) == ("127.0.0.1", 0, DEFAULT_KEY, 1.0)
    assert args.scenario in scenario_names()
    custom = parse("sandbox", "--host", "0.0.0.0", "--port", "8080", "--scenario", "slow", "--key", "k", "--time-scale", "0.1")
    assert (custom.host, custom.port, custom.scenario, custom.key, custom.time_scale) == ("0.0.0.0", 8080, "slow", "k", 0.1)
    with pytest.raises(SystemExit):
        parse("sandbox", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in scenario_names())


def test_demo_defaults() -> None:
    """`demo` writes to ./docketqa-demo unless --out says otherwise."""
    from gate.sandbox.registry import scenario_names

    args = parse("demo")
    assert args.out == "./docketqa-demo"
    assert args.scenario in scenario_names()
    assert parse("demo", "--out", "elsewhere", "--scenario", "failing").out == "elsewhere"


def test_parsing_and_loading_without_a_file_import_neither_requests_nor_yaml(tmp_path: Path) -> None:
    """Cold start: building the parser and a Config with no config file imports no heavy library."""
    code = (
        "import sys; from pathlib import Path\n"
        "from gate.cli import build_parser\n"
        "from gate.config.load import load_config\n"
        "args = build_parser().parse_args(['run', '--blueprint', '1', '--api-key-file', 'k.key'])\n"
        f"load_config(args, env={{}}, cwd=Path({str(tmp_path)!r}))\n"
        "heavy = sorted(m for m in ('requests', 'yaml', 'junit_xml', 'urllib3') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    (tmp_path / "k.key").write_text("key-for-cold-start\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["run", "--timeout", "-5s"], "flag --timeout: the timeout must be more than 0s and at most 24h, got '-5s'"),
        (["run", "--timeout", "-5"], "flag --timeout: the timeout must be more than 0s and at most 24h, got '-5'"),
        (["wait", "--test-run", "1", "--poll-interval", "-0.5s"],
         "flag --poll-interval: the poll interval must be between 0.1s and 1h, got '-0.5s'"),
        (["run", "--concurrency", "-3"], "flag --concurrency: expected a whole number from 1 to 32, got '-3'"),
        (["run", "--blueprint", "-1"], "flag --blueprint: expected positive integer ids, got '-1'"),
        (["run", "--timeout", "-1h30m"], "flag --timeout: the timeout must be more than 0s and at most 24h, got '-1h30m'"),
        (["run", "--timeout", "-.5x"], f"flag --timeout: '-.5x' is not a duration; {DURATION_FORMS}"),
    ],
)  # fmt: skip
def test_a_negative_value_reaches_the_range_check(tmp_path: Path, args: list[str], problem: str) -> None:
    """`--timeout -5s` is the timeout -5s, refused for its range, not "expected one argument"."""
    assert problem in problems(tmp_path, *args)


def test_a_negative_value_through_the_cli_is_one_line(cli: Callable[..., CliResult]) -> None:
    """End to end: exit 2, one line that says what range the timeout takes."""
    result = cli(["run", "--blueprint", "1", "--timeout", "-5s"], env=KEY_ENV)
    assert result.code == 2
    assert result.err.splitlines() == [
        "docketqa-gate: error: configuration error: flag --timeout: the timeout must be more than 0s and at most 24h, "
        + "got '-5s'"
    ]


def test_options_before_the_command_apply_to_it(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """`docketqa-gate --junit j.xml --no-job-summary report FILE` works like the options written after `report`."""
    result = cli(["--junit", "j.xml", "--no-job-summary", "report", str(FIXTURES / "passing.json")], env={}, cwd=tmp_path)
    assert result.code == 0, result.err
    assert (tmp_path / "j.xml").is_file() and not (tmp_path / "docketqa-junit.xml").exists()
    assert parse("--port", "8080", "--scenario=slow", "sandbox").port == 8080
    assert parse("--config", "run", "run").config == "run"  # a value that names a command is still the value


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api-url", "U", "run", "--blueprint", "1"],
         "configuration error: flag --api-url: 'U' is not a valid URL; expected https://host[:port][/path]"),
        (["--blueprint", "1", "wait", "--test-run", "2"],
         "unrecognized arguments: --blueprint 1 (see 'docketqa-gate wait --help')"),
        (["--timeout", "5m", "report", "saved.json"],
         "unrecognized arguments: --timeout (see 'docketqa-gate report --help')"),
        (["--out", "d", "sandbox"], "unrecognized arguments: --out <value> (see 'docketqa-gate sandbox --help')"),
        (["--bogus", "run"], "unrecognized arguments: --bogus (see 'docketqa-gate run --help')"),
    ],
)  # fmt: skip
def test_options_before_the_command_are_checked_as_that_commands(
    cli: Callable[..., CliResult], args: list[str], message: str
) -> None:
    """A gate option before the command is read as if written after it, so its errors are that command's."""
    result = cli(args, env=KEY_ENV)
    assert result.code == 2
    assert result.err.splitlines() == [f"docketqa-gate: error: {message}"]


@pytest.mark.parametrize("flag", ["--api-url=U", "--api-key-file=k", "--timeout=5m", "--poll-interval=5s",
                                  "--concurrency=4", "--fail-on-timeout", "--no-fail-on-timeout"])  # fmt: skip
def test_report_takes_no_api_or_waiting_option(flag: str) -> None:
    """report reads saved responses: options for the API and for waiting are unknown to it."""
    name = flag.split("=")[0]
    value = "=<value>" if "=" in flag else ""
    assert usage_error("report", "saved.json", flag) == (
        f"unrecognized arguments: {name}{value} (see 'docketqa-gate report --help')"
    )


def test_report_ignores_the_api_environment(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """A DOCKET_API_URL or DOCKET_API_KEY that run would refuse does not stop report, which never uses them."""
    env = {"DOCKET_API_URL": "ftp://nowhere", "DOCKET_API_KEY": "not a key"}
    result = cli(["report", str(FIXTURES / "passing.json")], env=env, cwd=tmp_path)
    assert result.code == 0, result.err
