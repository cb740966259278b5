"""The gate commands' argparse options and --help, built from the settings table (values stay raw until loaded)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from gate import PROG
from gate.config import Command
from gate.config.settings import FlagKind, Setting, rows
from gate.errors import UsageError

UNRECOGNIZED = "unrecognized arguments: "
#: A value that argparse would take for an option: "-5s", "-1", "-.5".
_NEGATIVE = re.compile(r"-[0-9.]")
KEY_FLAG_REFUSED = (
    "the API key is never accepted as a flag value (it would show in process lists and shell history): "
    "set DOCKET_API_KEY (a masked CI secret) or pass --api-key-file PATH"
)
#: Variables the gate honours that are no setting of its own.
OTHER_VARIABLES = (
    ("HTTPS_PROXY, NO_PROXY", "proxy settings (honoured by requests)"),
    ("REQUESTS_CA_BUNDLE", "CA bundle to trust, e.g. behind a TLS-inspecting proxy"),
)
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


def environment_help(command: Command | None = None) -> str:
    """The ``environment:`` section of --help: the variables of the command's settings (alphabetical), then the
    ones requests honours."""
    lines = sorted((row.env, row.env_help) for row in rows(command) if row.env and row.env_help)
    return "environment:\n" + "".join(f"  {name:<21}  {text}\n" for name, text in [*lines, *OTHER_VARIABLES])


def epilog(command: Command | None = None) -> str:
    """What follows the options in the gate's --help (a command's, or the overview's): precedence, environment,
    exit codes."""
    return PRECEDENCE_HELP + environment_help(command) + "\n" + EXIT_CODES_HELP


class GateArgumentParser(argparse.ArgumentParser):
    """Parse errors become one ``UsageError`` line (exit 2 via cli.main) instead of usage text on stderr;
    options may come before the command, and a value may start with '-'."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if args is not None:
            args = _values_attached(self, _command_first(self, list(args)))
        return super().parse_known_args(args, namespace)

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


def _command_first(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    """``--junit j.xml report FILE`` -> ``report --junit j.xml FILE``: options written before the command are the
    command's (as users of git or docker expect). Anything else before the command is left for argparse to refuse."""
    commands = _subparsers(parser)
    known = {name: action for sub in commands.values() for name, action in sub._option_string_actions.items()}
    index = 0
    while index < len(args) and args[index] not in commands:
        name = args[index].split("=", 1)[0]
        if name not in known or name in parser._option_string_actions:  # -h, --version, --api-key, a typo
            return args
        index += 2 if known[name].nargs is None and "=" not in args[index] else 1
    if index == 0 or index >= len(args):
        return args
    return [args[index], *args[:index], *args[index + 1 :]]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _values_attached(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    """``--timeout -5s`` -> ``--timeout=-5s``: argparse takes a value that starts with '-' for an option and says
    "expected one argument"; attached, it reaches the setting's own check, which says what range is allowed."""
    attached: list[str] = []
    index = 0
    while index < len(args):
        action = parser._option_string_actions.get(args[index])
        value = args[index + 1] if index + 1 < len(args) else ""
        if action is not None and action.nargs is None and _NEGATIVE.match(value):
            attached.append(f"{args[index]}={value}")
            index += 2
        else:
            attached.append(args[index])
            index += 1
    return attached


def _shown(token: str) -> str:
    """An unrecognized token as echoed: option names and ids, but no other value (it may be a mistyped key)."""
    if token.startswith("-"):
        return token.split("=", 1)[0] + ("=<value>" if "=" in token else "")
    return token if re.fullmatch(r"[0-9,]*", token) else "<value>"


class _RefuseKeyValue(argparse.Action):
    """``--api-key VALUE`` fails without echoing VALUE (argparse would quote it as an unrecognized argument)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        raise UsageError(KEY_FLAG_REFUSED)


def refuse_key_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-key", dest="refused_api_key", nargs="?", action=_RefuseKeyValue, help=argparse.SUPPRESS)


def add_command(commands: Any, name: str, *, summary: str, epilog: str) -> argparse.ArgumentParser:
    """A subcommand parser that refuses the key as a flag and keeps the epilog's line breaks."""
    sub: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=summary, allow_abbrev=False, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    refuse_key_flag(sub)
    return sub


def add_setting_options(sub: argparse.ArgumentParser, command: Command) -> None:
    """One option per setting of ``command``, in the table's order and --help sections; every default None
    (= not given on the command line), so the environment and the config file can fill it."""
    groups: dict[str, Any] = {}
    for row in rows(command):
        if not row.on_command_line:
            continue
        target = sub if row.group is None else groups.get(row.group) or sub.add_argument_group(row.group)
        if row.group is not None:
            groups[row.group] = target
        _add_option(target, row)


def _add_option(target: Any, row: Setting) -> None:
    if row.kind is FlagKind.ARGUMENTS:
        target.add_argument(row.name, nargs="+", metavar=row.metavar, help=row.help)
    elif row.kind is FlagKind.SWITCH:
        target.add_argument(row.flag, dest=row.name, action=argparse.BooleanOptionalAction, default=None, help=row.help)
    elif row.kind is FlagKind.ON:
        target.add_argument(row.flag, dest=row.name, action="store_true", default=None, help=row.help)
    elif row.kind is FlagKind.REPEATABLE:
        target.add_argument(row.flag, dest=row.name, action="append", metavar=row.metavar, help=row.help)
    else:
        target.add_argument(row.flag, dest=row.name, metavar=row.metavar, help=row.help)


__all__ = ["KEY_FLAG_REFUSED", "PROG", "GateArgumentParser", "add_command", "add_setting_options", "epilog",
           "parse_arguments", "refuse_key_flag"]  # fmt: skip
