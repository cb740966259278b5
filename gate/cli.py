"""The command line: parse, run the chosen command, and turn every outcome or error into the exit code."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gate import PROG, __version__
from gate.config import Command
from gate.config.flags import (
    GateArgumentParser,
    add_command,
    add_setting_options,
    epilog,
    parse_arguments,
    refuse_key_flag,
)
from gate.errors import ExitCode, GateError, Interrupted
from gate.platforms import is_action_entry_point

if TYPE_CHECKING:
    import datetime as dt

    from gate.clock import Clock
    from gate.config import Config
    from gate.execute import Tuning

DEFAULT_DEMO_DIR = "./docketqa-demo"
DEFAULT_SCENARIO = "mixed"
KNOWN_SCENARIOS = "passing, failing, mixed, flaky, slow, edge, hostile, huge, generated:RUNSxSTEPS[:fail_every=N]"
#: Same value as gate.sandbox.server.DEFAULT_KEY (a test keeps them equal); not imported, to keep --help light.
SANDBOX_DEFAULT_KEY = "docketqa-sandbox-key"
#: What each gate command does (its --help description).
SUMMARIES = {
    Command.RUN: "trigger one group run for the blueprints, then wait for every run it starts",
    Command.WAIT: "wait for test runs that were started elsewhere",
    Command.REPORT: "judge saved GET /test_run responses like a live run; only --artifacts-dir and --pr-comment use "
                    "the network",
}
SANDBOX_EPILOG = """\
exit codes:
  0    stopped with Ctrl-C (SIGINT) or SIGTERM
  2    usage error: an unknown scenario, a bad option, or an address already in use
  70   internal error (a bug: please report it)
"""
DEMO_EPILOG = """\
exit codes:
  0    the demo ran; it prints the exit code a real gate would have returned
  2    usage error: an unknown scenario, or an --out directory that cannot be written
  70   internal error (a bug: please report it)
"""


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    cwd: Path | None = None,
    clock: Clock | None = None,
    wall_clock: Callable[[], dt.datetime] | None = None,
    tuning: Tuning | None = None,
) -> int:
    """Run the CLI and return the exit code; the only place that maps errors to exit codes.

    ``clock`` and ``wall_clock`` (HTTP-date ``Retry-After``) let tests run ``run``/``wait`` on virtual time.
    ``tuning`` (interpreter settings per phase) comes only from ``gate.console.main_exit``: its process is ours.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ) if env is None else dict(env)
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    debug = "--debug" in args
    try:
        invocation = _Invocation(env, out, err, cwd or Path.cwd(), clock=clock, wall_clock=wall_clock, tuning=tuning)
        return _dispatch(args, invocation)
    except GateError as exc:
        _print_error(err, exc.message)
        return int(exc.exit_code)
    except SystemExit as exc:  # argparse: --help/--version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else int(ExitCode.USAGE)
    except KeyboardInterrupt:
        _print_error(err, "interrupted")
        return int(ExitCode.SIGINT)
    except Exception as exc:  # noqa: BLE001 - the one place that turns the unexpected into exit 70
        if debug:
            traceback.print_exc(file=err)
        _print_error(
            err,
            f"internal error ({type(exc).__name__}); this is a bug in {PROG}: re-run with --debug for the traceback "
            "and report it",
        )
        return int(ExitCode.INTERNAL)


@dataclasses.dataclass(frozen=True)
class _Invocation:
    """What one invocation runs with: environment, streams, working directory, time and process tuning."""

    env: dict[str, str]
    out: TextIO
    err: TextIO
    cwd: Path
    clock: Clock | None = None
    wall_clock: Callable[[], dt.datetime] | None = None
    tuning: Tuning | None = None

    def execute(self, config: Config) -> int:
        """Run the gate for ``config``; its verdict's exit code."""
        from gate.execute import execute_gate

        outcome = execute_gate(
            config, env=self.env, out=self.out, err=self.err, cwd=self.cwd, clock=self.clock,
            wall_clock=self.wall_clock, tuning=self.tuning,
        )
        return int(outcome.exit_code)


def _dispatch(args: list[str], invocation: _Invocation) -> int:
    env, out, err, cwd = invocation.env, invocation.out, invocation.err, invocation.cwd
    if is_action_entry_point(args, env):
        from gate.config.load import load_action_config

        return invocation.execute(load_action_config(env, cwd=cwd))

    parser = build_parser()
    if not args:
        parser.print_help(out)
        return int(ExitCode.USAGE)
    ns = _parse(parser, args, out=out, err=err)
    if ns.command == "sandbox":
        from gate.sandbox.server import serve_main

        return serve_main(
            host=ns.host, port=ns.port, scenario=ns.scenario, api_key=ns.key, time_scale=ns.time_scale, stdout=out
        )
    if ns.command == "demo":
        from gate.demo import run_demo

        return run_demo(out_dir=cwd / ns.out, scenario=ns.scenario, out=out, err=err, tuning=invocation.tuning)

    from gate.config.load import load_config

    return invocation.execute(load_config(ns, env=env, cwd=cwd))


def _parse(parser: argparse.ArgumentParser, args: list[str], *, out: TextIO, err: TextIO) -> argparse.Namespace:
    """argparse prints help and usage errors itself (exit 0 / 2): route them to our streams."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        return parse_arguments(parser, args)
    finally:
        sys.stdout, sys.stderr = saved


def build_parser() -> argparse.ArgumentParser:
    """The full parser: the gate commands' options come from the settings table, sandbox and demo have their own."""
    # allow_abbrev=False: "--api-key X" must never be read as an abbreviation of "--api-key-file X".
    parser = GateArgumentParser(
        prog=PROG, description="CI gate for DocketQA browser tests: trigger or follow runs, report, decide.",
        allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=epilog(),
    )  # fmt: skip
    refuse_key_flag(parser)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=GateArgumentParser)
    for command, summary in SUMMARIES.items():
        add_setting_options(add_command(commands, command.value, summary=summary, epilog=epilog(command)), command)
    _add_sandbox(commands)
    _add_demo(commands)
    return parser


def _add_sandbox(commands: Any) -> None:
    summary = "serve a local DocketQA-compatible API to rehearse a pipeline against"
    sandbox = add_command(commands, "sandbox", summary=summary, epilog=SANDBOX_EPILOG)
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
    summary = "run the gate against a built-in sandbox and write every report; needs no account and no network"
    demo = add_command(commands, "demo", summary=summary, epilog=DEMO_EPILOG)
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


def _print_error(err: TextIO, message: str) -> None:
    err.write(f"{PROG}: error: {message}\n")
    err.flush()


__all__ = ["Interrupted", "build_parser", "main"]
