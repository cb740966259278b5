"""Run one gate command in-process, optionally on virtual time (``clock``), with its streams captured."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from gate.clock import Clock
from tests.support.cli import CliResult


def gate_with(args: Sequence[str], *, env: Mapping[str, str], cwd: Path, clock: Clock | None = None) -> CliResult:
    """``gate.cli.main`` for ``args`` (the ``cli`` fixture, plus an injected clock for --wait-timeout tests)."""
    from gate.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), dict(env), stdout=out, stderr=err, cwd=cwd, clock=clock)
    return CliResult(code, out.getvalue(), err.getvalue())
