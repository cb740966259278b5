"""What `--version`, `--help`, no arguments, a wrong command and `entrypoint.py` show a user, through the real CLI."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import gate
from tests.support.cli import REPO, CliResult, gate_command, run_child

Cli = Callable[..., CliResult]
COMMANDS = ("run", "wait", "report", "sandbox", "demo")
REPORT_OPTIONS = (
    "--config PATH", "--allow-failure BLUEPRINT_ID", "--junit PATH", "--json PATH", "--summary PATH",
    "--junit-layout {test,step}", "--artifacts-dir DIR", "--annotations, --no-annotations",
    "--job-summary, --no-job-summary", "--debug", "--pr-comment {off,always,failures}", "--comment-key TEXT",
    "--pr NUMBER", "--comment-author LOGIN", "--github-token-file PATH",
)  # fmt: skip
#: What run and wait take beyond report's options: the API and waiting.
NETWORK_OPTIONS = (
    "--api-url URL", "--api-key-file PATH", "--timeout DURATION", "--poll-interval DURATION",
    "--fail-on-timeout, --no-fail-on-timeout", "--concurrency N",
)  # fmt: skip
OWN_OPTIONS = {
    "run": ("--blueprint ID[,ID...]", *REPORT_OPTIONS, *NETWORK_OPTIONS),
    "wait": ("--test-run ID[,ID...]", *REPORT_OPTIONS, *NETWORK_OPTIONS),
    "report": ("FILE [FILE ...]", *REPORT_OPTIONS),
    "sandbox": ("--host HOST", "--port PORT", "--scenario SCENARIO", "--key KEY", "--time-scale FACTOR"),
    "demo": ("--out DIR", "--scenario SCENARIO"),
}
PROXY_ENVIRONMENT = ("HTTPS_PROXY, NO_PROXY ", "REQUESTS_CA_BUNDLE ")
ENVIRONMENT = {
    "run": ("DOCKETQA_GITLAB_TOKEN ", "DOCKET_API_KEY ", "DOCKET_API_URL ", "DOCKET_CONFIG ", "GITHUB_TOKEN ",
            *PROXY_ENVIRONMENT),
    "wait": ("DOCKETQA_GITLAB_TOKEN ", "DOCKET_API_KEY ", "DOCKET_API_URL ", "DOCKET_CONFIG ", "GITHUB_TOKEN ",
             *PROXY_ENVIRONMENT),
    "report": ("DOCKETQA_GITLAB_TOKEN ", "DOCKET_CONFIG ", "GITHUB_TOKEN ", *PROXY_ENVIRONMENT),
}
EXIT_TABLE = (
    "  0    every run passed (allowed failures and, with --no-fail-on-timeout, timeouts do not count)",
    "  1    at least one run failed, or ended in a status the gate does not know",
    "  2    usage or configuration error",
    "  3    timed out",
    "  4    DocketQA API error (auth, not found, unreachable after retries, malformed response)",
    "  130  interrupted by SIGINT",
    "  143  interrupted by SIGTERM",
    "  70   internal error (traceback only with --debug)",
    "  When several apply: 1 before 4 before 3.",
)
OWN_EXIT_TABLES = {
    "sandbox": (
        "  0    stopped with Ctrl-C (SIGINT) or SIGTERM",
        "  2    usage error: an unknown scenario, a bad option, or an address already in use",
        "  70   internal error (a bug: please report it)",
    ),
    "demo": (
        "  0    the demo ran; it prints the exit code a real gate would have returned",
        "  2    usage error: an unknown scenario, or an --out directory that cannot be written",
        "  70   internal error (a bug: please report it)",
    ),
}


def test_version_is_the_package_and_pyproject_version(cli: Cli) -> None:
    """--version prints `docketqa-gate 1.0.0`, the same version as gate.__version__ and pyproject.toml."""
    result = cli(["--version"])
    pyproject = re.search(r'^version = "([^"]+)"$', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    assert pyproject is not None
    assert (result.code, result.out, result.err) == (0, "docketqa-gate 1.0.0\n", "")
    assert gate.__version__ == pyproject.group(1) == "1.0.0"


@pytest.mark.parametrize("command", ["run", "wait", "report"])
def test_every_gate_command_help_documents_options_environment_and_exit_codes(cli: Cli, command: str) -> None:
    """`COMMAND --help` exits 0 and lists its options, the environment variables it reads and the exit-code table."""
    result = cli([command, "--help"])
    assert result.code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith(f"usage: docketqa-gate {command} ")
    missing = [option for option in OWN_OPTIONS[command] if option not in result.out]
    assert not missing
    assert "Precedence: flag > environment > config file > default." in lines
    environment = lines[lines.index("environment:") + 1 : lines.index("exit codes:") - 1]
    assert [line[2:].split("  ")[0] + " " for line in environment] == list(ENVIRONMENT[command])
    table = lines.index("exit codes:")
    assert tuple(lines[table + 1 : table + 1 + len(EXIT_TABLE)]) == EXIT_TABLE


def test_report_help_lists_no_api_or_waiting_option_and_says_what_reaches_the_network(cli: Cli) -> None:
    """`report --help` shows only options report uses, and says --artifacts-dir is its one use of the network."""
    text = cli(["report", "--help"]).out
    assert [option for option in NETWORK_OPTIONS if option.split(" ")[0].rstrip(",") in text] == []
    assert "DOCKET_API_KEY" not in text and "DOCKET_API_URL" not in text
    flat = " ".join(text.split())
    assert "judge saved GET /test_run responses like a live run; only --artifacts-dir and --pr-comment use the " \
           "network" in flat  # fmt: skip
    assert "--artifacts-dir DIR download failing steps' screenshots and videos here" in flat


@pytest.mark.parametrize("command", ["sandbox", "demo"])
def test_sandbox_and_demo_help_show_their_own_exit_codes_and_no_gate_environment(cli: Cli, command: str) -> None:
    """`sandbox --help` and `demo --help` list their options and their own exit codes, not the gate's variables."""
    result = cli([command, "--help"])
    assert result.code == 0 and result.err == ""
    assert not [option for option in OWN_OPTIONS[command] if option not in result.out]
    lines = result.out.splitlines()
    assert "environment:" not in lines and "DOCKET_" not in result.out and "Precedence" not in result.out
    table = lines.index("exit codes:")
    assert tuple(lines[table + 1 :]) == OWN_EXIT_TABLES[command]


def test_top_level_help_lists_every_command_and_the_exit_codes(cli: Cli) -> None:
    """--help names each command with what it does, and the exit-code table."""
    result = cli(["--help"])
    assert result.code == 0
    for command in COMMANDS:
        assert re.search(rf"^    {command} +\S", result.out, re.MULTILINE), command
    assert EXIT_TABLE[0] in result.out.splitlines()


def test_no_arguments_prints_help_and_exits_2(cli: Cli) -> None:
    """A bare `docketqa-gate` (outside GitHub Actions) shows the help on stdout and exits 2 (a usage error)."""
    result = cli([])
    assert result.code == 2 and result.err == ""
    assert result.out.startswith("usage: docketqa-gate [-h] [--version] COMMAND ...\n")
    assert "exit codes:" in result.out


def test_an_unknown_command_is_one_line_and_exit_2(cli: Cli) -> None:
    """`docketqa-gate deploy`: one line naming the allowed commands and --help, exit 2, nothing on stdout."""
    result = cli(["deploy"])
    assert result.code == 2 and result.out == ""
    (line,) = result.err.splitlines()
    assert line.startswith("docketqa-gate: error: argument COMMAND: invalid choice: 'deploy' (choose from ")
    assert all(f"'{command}'" in line for command in COMMANDS) and line.endswith("(see 'docketqa-gate --help')")


def test_help_and_version_import_no_heavy_library() -> None:
    """Cold start: --version and every command's --help go through main() without importing requests, yaml or
    junit_xml."""
    code = (
        "import io, sys\n"
        "from gate.cli import main\n"
        f"for args in [['--version'], ['--help'], *[[c, '--help'] for c in {list(COMMANDS)!r}]]:\n"
        "    assert main(args, {}, stdout=io.StringIO(), stderr=io.StringIO()) == 0, args\n"
        "print(sorted(m for m in ('requests', 'yaml', 'junit_xml', 'urllib3') if m in sys.modules))\n"
    )
    result = run_child([sys.executable, "-c", code], cwd=REPO)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "[]", "")


def test_entrypoint_with_arguments_behaves_exactly_like_the_cli(tmp_path: Path) -> None:
    """`python entrypoint.py report ...` (the container's command) gives the CLI's exit code, output and reports."""
    body = {"test_run": {"id": 5, "status": "failed", "test_blueprint_id": 180, "blueprint_metadata": {
        "id": 180, "title": "Login Flow"}, "results": [{"step_number": 1, "task": "Open the login page",
        "is_successful": False, "result": "no login form", "duration": 4, "actions": []}]}}  # fmt: skip
    (tmp_path / "saved.json").write_text(json.dumps(body))
    results = []
    for command, name in (([sys.executable, str(REPO / "entrypoint.py")], "entry"), (gate_command(), "cli")):
        results.append(run_child([*command, "report", "saved.json", "--json", f"{name}.json"], cwd=tmp_path))
    entry, cli = results
    assert entry.returncode == cli.returncode == 1
    assert entry.stderr == cli.stderr == ""
    assert entry.stdout.replace("entry.json", "cli.json") == cli.stdout
    assert "Step 1 failed: Open the login page: no login form" in entry.stdout
    assert json.loads((tmp_path / "entry.json").read_text()) == json.loads((tmp_path / "cli.json").read_text())
    version = run_child([sys.executable, str(REPO / "entrypoint.py"), "--version"], cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, "docketqa-gate 1.0.0\n")
