"""Run one gate command in-process with the resume and wait-for-url options as keyword arguments."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.cli import CliResult


def gate_with(args: Sequence[str], *, env: Mapping[str, str], cwd: Path, **options: Any) -> CliResult:
    """``main`` for ``args``, with ``options`` (``resume_from``, ``resume_any_commit``, ``wait_for``) handed to the
    executor; errors become exit codes and an error line as in ``gate.cli.main``."""
    from gate.cli_args import build_parser, parse_arguments
    from gate.config import load_config
    from gate.errors import GateError
    from gate.execute import execute_gate

    out, err = io.StringIO(), io.StringIO()
    try:
        config = load_config(parse_arguments(build_parser(), list(args)), env=dict(env), cwd=cwd)
        outcome = execute_gate(config, env=dict(env), out=out, err=err, cwd=cwd, **options)
        code = int(outcome.exit_code)
    except GateError as exc:
        err.write(f"docketqa-gate: error: {exc.message}\n")
        code = int(exc.exit_code)
    return CliResult(code, out.getvalue(), err.getvalue())
