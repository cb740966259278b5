"""The command line: argparse for run, wait, report, sandbox and demo (values stay raw; gate.config checks them)."""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn

from gate import PROG, __version__
from gate.errors import UsageError

UNRECOGNIZED = "unrecognized arguments: "
DEFAULT_DEMO_DIR = "./docketqa-demo"
DEFAULT_SCENARIO = "mixed"
KNOWN_SCENARIOS = "passing, failing, mixed, flaky, slow, edge, hostile, huge, generated:RUNSxSTEPS[:fail_every=N]"
#: Same value as gate.sandbox.server.DEFAULT_KEY (a test keeps them equal); not imported, to keep --help light.
SANDBOX_DEFAULT_KEY = "docketqa-sandbox-key"
KEY_FLAG_REFUSED = (
    "the API key is never accepted as a flag value (it would show in process lists and shell history): "
    "set DOCKET_API_KEY (a masked CI secret) or pass --api-key-file PATH"
)

ENVIRONMENT_HELP = """\
environment:
  DOCKET_API_KEY         the API key (keep it in a masked CI secret); or use --api-key-file PATH
  DOCKET_API_URL         API base URL (default https://api.docketqa.com); --api-url overrides it
  DOCKET_CONFIG          config file (default: .docketqa.yml in the working directory, if present)
  HTTPS_PROXY, NO_PROXY  proxy settings (honoured by requests)
  REQUESTS_CA_BUNDLE     CA bundle to trust, e.g. behind a TLS-inspecting proxy
"""
EXIT_CODES_HELP = """\
exit codes:
  0    every run passed (allowed failures and, with --no-fail-on-timeout, timeouts do not count)
  1    at least one run failed, or ended in a status the gate does not know
  2    usage or configuration error
  3    timed out
  4    DocketQA API error (auth, not found, unreachable after retries, malformed response)
  130  interrupted by SIGINT
  143  interrupted by SIGTERM
  70   internal error (traceback only with --debug)
  When several apply: 1 before 4 before 3.
"""
PRECEDENCE_HELP = "Precedence: flag > environment > config file > default.\n\n"
EPILOG = PRECEDENCE_HELP + ENVIRONMENT_HELP + "\n" + EXIT_CODES_HELP


class GateArgumentParser(argparse.ArgumentParser):
    """Parse errors become one ``UsageError`` line (exit 2 via cli.main) instead of usage text on stderr."""

    def error(self, message: str) -> NoReturn:
        if message.startswith(UNRECOGNIZED):
            message = UNRECOGNIZED + " ".join(_shown(token) for token in message[len(UNRECOGNIZED) :].split(" "))
        raise UsageError(f"{message} (see '{self.prog} --help')")


def parse_arguments(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    """Parse ``args``; leftovers are reported against the command they followed, whose --help lists its flags."""
    namespace, extras = parser.parse_known_args(args)
    if extras:
        command = getattr(namespace, "command", None)
        prog = f"{PROG} {command}" if command else PROG
        raise UsageError(UNRECOGNIZED + " ".join(_shown(token) for token in extras) + f" (see '{prog} --help')")
    return namespace


def _shown(token: str) -> str:
    """An unrecognized token as echoed: option names and ids, but no other value (it may be a mistyped key)."""
    if token.startswith("-"):
        return token.split("=", 1)[0] + ("=<value>" if "=" in token else "")
    return token if re.fullmatch(r"[0-9,]*", token) else "<value>"


class _RefuseKeyValue(argparse.Action):
    """``--api-key VALUE`` fails without echoing VALUE (argparse would quote it as an unrecognized argument)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        raise UsageError(KEY_FLAG_REFUSED)


def build_parser() -> argparse.ArgumentParser:
    """The full parser; repeatable flags default to None so gate.config can tell "not given" from a default."""
    parser = _new(PROG, description="CI gate for DocketQA browser tests: trigger or follow runs, report, decide.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=GateArgumentParser)
    run = _command(commands, "run", summary="trigger one group run for the blueprints, then wait for every run it starts")
    run.add_argument("--blueprint", dest="blueprints", action="append", metavar="ID[,ID...]",
                     help="blueprint id(s) to trigger; repeatable, commas or spaces also separate ids "
                          "(replaces the config file's list; its names and allow_failure still apply)")  # fmt: skip
    wait = _command(commands, "wait", summary="wait for test runs that were started elsewhere")
    wait.add_argument("--test-run", dest="test_run_ids", action="append", metavar="ID[,ID...]",
                      help="test run id(s) to follow; repeatable, commas or spaces also separate ids")  # fmt: skip
    report = _command(commands, "report", summary="no network: judge saved GET /test_run responses like a live run")
    report.add_argument("report_files", nargs="+", metavar="FILE",
                        help="saved response JSON: one test run object or a list of them")  # fmt: skip
    for sub in (run, wait, report):
        _add_gate_options(sub)
    _add_sandbox(commands)
    _add_demo(commands)
    return parser


def _new(prog: str, **kwargs: Any) -> GateArgumentParser:
    # allow_abbrev=False: "--api-key X" must never be read as an abbreviation of "--api-key-file X".
    parser = GateArgumentParser(prog=prog, allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=EPILOG, **kwargs)  # fmt: skip
    _refuse_key_flag(parser)
    return parser


def _command(commands: Any, name: str, *, summary: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=summary, allow_abbrev=False, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _refuse_key_flag(sub)
    return sub


def _refuse_key_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-key", dest="refused_api_key", nargs="?", action=_RefuseKeyValue, help=argparse.SUPPRESS)


def _add_gate_options(sub: argparse.ArgumentParser) -> None:
    """Options shared by run, wait and report; every default is None (= not given on the command line)."""
    api = sub.add_argument_group("DocketQA API")
    api.add_argument("--api-url", metavar="URL", help="API base URL (env DOCKET_API_URL; default https://api.docketqa.com); "
                     "https only, except for a loopback host")  # fmt: skip
    api.add_argument("--api-key-file", metavar="PATH", help="read the API key from this file (else env DOCKET_API_KEY)")
    api.add_argument("--config", metavar="PATH", help="config file (env DOCKET_CONFIG; default .docketqa.yml if present)")
    api.add_argument("--concurrency", metavar="N", help="at most N requests in flight, 1..32 (default 8)")
    waiting = sub.add_argument_group("waiting")
    waiting.add_argument("--timeout", metavar="DURATION", help="overall deadline: 90, 90s, 15m, 1h, 1h30m (default 30m)")
    waiting.add_argument("--poll-interval", metavar="DURATION", help="poll each unfinished run this often, "
                         "at least 0.1s (default 5s)")  # fmt: skip
    waiting.add_argument("--fail-on-timeout", action=argparse.BooleanOptionalAction, default=None,
                         help="runs unfinished at the deadline fail the gate with exit 3 (default); with "
                              "--no-fail-on-timeout they are a warning")  # fmt: skip
    waiting.add_argument("--allow-failure", dest="allow_failures", action="append", metavar="BLUEPRINT_ID",
                         help="quarantine: report this blueprint's failures but never fail the gate; repeatable")  # fmt: skip
    reports = sub.add_argument_group("reports")
    reports.add_argument("--junit", metavar="PATH", help="JUnit XML report (default docketqa-junit.xml)")
    reports.add_argument("--junit-layout", metavar="{test,step}", help="one testcase per test run (test, default) "
                         "or per step (step)")  # fmt: skip
    reports.add_argument("--json", metavar="PATH", help="machine-readable JSON result (default: not written)")
    reports.add_argument("--summary", metavar="PATH", help="Markdown summary file (default: not written; on GitHub "
                         "the job summary is written anyway)")  # fmt: skip
    reports.add_argument("--artifacts-dir", metavar="DIR", help="download failing steps' screenshots and videos here")
    reports.add_argument("--annotations", action=argparse.BooleanOptionalAction, default=None,
                         help="annotate failed, timed-out, flaky and quarantined runs in CI (default on)")  # fmt: skip
    reports.add_argument("--job-summary", action=argparse.BooleanOptionalAction, default=None,
                         help="write the CI job summary (default on)")  # fmt: skip
    sub.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")


def _add_sandbox(commands: Any) -> None:
    sandbox = _command(commands, "sandbox", summary="serve a local DocketQA-compatible API to rehearse a pipeline against")
    sandbox.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=_port, default=0, help="port, 0 picks a free one (default 0)")
    sandbox.add_argument("--scenario", default=DEFAULT_SCENARIO,
                         help=f"scenario: {KNOWN_SCENARIOS} (default {DEFAULT_SCENARIO})")  # fmt: skip
    sandbox.add_argument("--key", default=SANDBOX_DEFAULT_KEY, help="API key the sandbox accepts (a made-up key, "
                         f"never a real one; default {SANDBOX_DEFAULT_KEY})")  # fmt: skip
    sandbox.add_argument("--time-scale", type=_positive_float, default=1.0, metavar="FACTOR",
                         help="multiply the scenario's run durations by FACTOR; 0.1 finishes ten times sooner "
                              "(default 1)")  # fmt: skip


def _add_demo(commands: Any) -> None:
    demo = _command(commands, "demo", summary="run the gate against a built-in sandbox and write every report; "
                    "needs no account and no network")  # fmt: skip
    demo.add_argument("--out", default=DEFAULT_DEMO_DIR, metavar="DIR",
                      help=f"directory for the reports (default {DEFAULT_DEMO_DIR})")  # fmt: skip
    demo.add_argument("--scenario", default=DEFAULT_SCENARIO,
                      help=f"scenario: {KNOWN_SCENARIOS} (default {DEFAULT_SCENARIO})")  # fmt: skip


def _port(text: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number greater than 0, got {text!r}")
    return value


__all__ = ["EPILOG", "KEY_FLAG_REFUSED", "PROG", "GateArgumentParser", "build_parser"]
