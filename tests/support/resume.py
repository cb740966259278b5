"""Run one gate command in-process, optionally on virtual time (``clock``), with its streams captured."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from gate.clock import Clock
from tests.support.cli import CliResult
from tests.support.keys import TEST_API_KEY


def gate_with(args: Sequence[str], *, env: Mapping[str, str], cwd: Path, clock: Clock | None = None) -> CliResult:
    """``gate.cli.main`` for ``args`` (the ``cli`` fixture, plus an injected clock for --wait-timeout tests); the
    key must not appear in what it printed (files in tmp_path are scanned by the suite's guard)."""
    from gate.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), dict(env), stdout=out, stderr=err, cwd=cwd, clock=clock)
    # On GitHub the first line masks the key: the one place it must appear.
    printed = [line for line in (out.getvalue() + err.getvalue()).splitlines() if not line.startswith("::add-mask::")]
    assert not any(TEST_API_KEY in line for line in printed), "the API key leaked into the gate's output"
    return CliResult(code, out.getvalue(), err.getvalue())
