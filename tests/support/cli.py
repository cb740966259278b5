"""End-to-end CLI helpers: a fast sandbox, the gate's arguments and environment, child processes, report readers."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gate.sandbox.server import Sandbox
from tests.support.keys import TEST_API_KEY
from tests.support.paths import REPO

#: Sandbox runs last 3 to 900 "seconds"; at 1/100 the quick ones finish in tens of milliseconds.
TIME_SCALE = 0.01
#: The smallest poll interval the gate accepts, so every live command ends within a few tenths of a second.
FAST_POLL = ("--poll-interval", "0.1s")
#: Variables that would make a child gate think it runs in CI (and write to the real runner's files).
_CI_VARIABLES = ("GITHUB_", "GITLAB_", "CI", "RUNNER_", "INPUT_", "DOCKET_")


@dataclasses.dataclass
class CliResult:
    """What one in-process gate command returned and printed."""

    code: int
    out: str
    err: str


@contextmanager
def sandbox(scenario: str, *, time_scale: float = TIME_SCALE, api_key: str = TEST_API_KEY) -> Iterator[Sandbox]:
    """A sandbox on 127.0.0.1 that accepts ``api_key`` (the suite's key unless a test needs another)."""
    with Sandbox(api_key=api_key, scenario=scenario, time_scale=time_scale) as served:
        yield served


def gate_env(**extra: str) -> dict[str, str]:
    """The environment a user sets for ``run``/``wait``: the key, and nothing from any CI system."""
    return {"DOCKET_API_KEY": TEST_API_KEY, **extra}


def run_args(served: Sandbox, *extra: str, blueprints: Iterable[int] | None = None) -> list[str]:
    """``run`` against the sandbox for the scenario's blueprints (or the ones given), polling fast."""
    ids = ",".join(str(i) for i in (served.scenario.blueprint_ids if blueprints is None else blueprints))
    return ["run", "--api-url", served.url, "--blueprint", ids, *FAST_POLL, *extra]


def wait_args(served: Sandbox, run_ids: Iterable[int], *extra: str) -> list[str]:
    return ["wait", "--api-url", served.url, "--test-run", ",".join(map(str, run_ids)), *FAST_POLL, *extra]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def junit_outcomes(path: Path) -> dict[str, str]:
    """Testcase name -> ``passed``, ``failure``, ``error`` or ``skipped``, as junitparser (a real consumer) reads it."""
    from junitparser import JUnitXml

    outcomes: dict[str, str] = {}
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite:
            kinds = {type(result).__name__.lower() for result in case.result}
            outcomes[case.name] = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
    return outcomes


def saved_bodies(served: Sandbox, run_ids: Iterable[int]) -> list[dict[str, Any]]:
    """What a user saves with ``curl -H "X-API-KEY: ..." .../test_run/{id}``: each final GET body."""
    import requests

    bodies = []
    for run_id in run_ids:
        answer = requests.get(f"{served.url}/test_run/{run_id}", headers={"X-API-KEY": served.api_key}, timeout=10)
        answer.raise_for_status()
        bodies.append(answer.json())
    return bodies


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without CI or DocketQA variables, able to import ``gate`` from the checkout."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_CI_VARIABLES)}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONIOENCODING"] = "utf-8"
    return {**env, **(extra or {})}


def gate_command(*args: str) -> list[str]:
    """The console entry as users run it without installing: ``python -m gate ...``."""
    return [sys.executable, "-m", "gate", *args]


def run_child(
    command: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a child to completion (the timeout guards against a hang; it is not a speed check)."""
    return subprocess.run(
        command, cwd=cwd, env=child_env(env), capture_output=True, text=True, encoding="utf-8", timeout=timeout,
        check=False,
    )  # fmt: skip


__all__ = [
    "FAST_POLL",
    "REPO",
    "TEST_API_KEY",
    "TIME_SCALE",
    "child_env",
    "gate_command",
    "gate_env",
    "junit_outcomes",
    "read_json",
    "run_args",
    "run_child",
    "sandbox",
    "saved_bodies",
    "wait_args",
]
