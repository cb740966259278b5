"""Running the real CLI in-process on virtual time, with a hang guard, and the checks every hardening test shares."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gate.cli import main
from gate.clock import Clock, FakeClock
from gate.sandbox import FaultPlan, Sandbox
from gate.sandbox.scenarios import Scenario
from gate.sandbox.transport import RequestRecord
from tests.support.keys import TEST_API_KEY
from tests.support.render import assert_only_our_html, assert_valid_junit, junit_counts, render_markdown

START = FakeClock.START
#: Generous: a healthy in-process gate on virtual time ends in well under a second; this only catches hangs.
HANG_GUARD_S = 60.0
ERROR_PREFIX = "docketqa-gate: error: "
DASHBOARD_HINT = "check https://app.docketqa.com/dashboard before re-running"
#: HTTP dates have whole-second resolution and wall times are floats near 1.7e9 (microsecond precision).
CLOCK_SLACK_S = 1e-3

Register = Callable[[str], str]


@dataclasses.dataclass(frozen=True)
class GateRun:
    """What one gate invocation left behind: exit code, both streams, and its working directory."""

    code: int
    out: str
    err: str
    workspace: Path

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith(ERROR_PREFIX)]

    def json(self, name: str = "result.json") -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.workspace / name).read_text(encoding="utf-8"))
        return document

    def text(self, name: str) -> str:
        return (self.workspace / name).read_text(encoding="utf-8")


def gate_env(**extra: str) -> dict[str, str]:
    return {"DOCKET_API_KEY": TEST_API_KEY, **extra}


def report_args(*, layout: str = "test") -> list[str]:
    """Every report, at fixed names in the working directory."""
    return ["--junit", "junit.xml", "--junit-layout", layout, "--json", "result.json", "--summary", "summary.md"]


def run_gate(
    args: Sequence[str],
    *,
    workspace: Path,
    register: Register,
    env: Mapping[str, str] | None = None,
    clock: FakeClock | None = None,
    sandbox: Sandbox | None = None,
) -> GateRun:
    """``gate.cli.main`` in a watched thread: a hang fails the test instead of stalling the suite.

    With a sandbox, the gate's wall clock is the sandbox's (HTTP-date Retry-After on the same timeline).
    The streams are registered with the suite's leak guard.
    """
    out, err = io.StringIO(), io.StringIO()
    wall = sandbox_wall(sandbox) if sandbox is not None else None
    result: list[int] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            streams = {"stdout": out, "stderr": err}
            given = dict(gate_env() if env is None else env)
            result.append(main(list(args), given, **streams, cwd=workspace, clock=clock, wall_clock=wall))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)

    worker = threading.Thread(target=target, name="gate-under-test", daemon=True)
    worker.start()
    worker.join(HANG_GUARD_S)
    register(as_the_runner_keeps_it(out.getvalue()))
    register(err.getvalue())
    assert not worker.is_alive(), f"the gate did not finish within {HANG_GUARD_S:.0f} s: a hang"
    if failure:
        raise failure[0]
    return GateRun(result[0], out.getvalue(), err.getvalue(), workspace)


def as_the_runner_keeps_it(out: str) -> str:
    """stdout as a GitHub log keeps it: the runner consumes a first ``::add-mask::KEY`` line (and masks the key
    from then on), so that one line is the only place the key may be; anywhere else it is a leak."""
    first, newline, rest = out.partition("\n")
    return rest if newline and first == f"::add-mask::{TEST_API_KEY}" else out


def sandbox_wall(sandbox: Sandbox) -> Callable[[], dt.datetime]:
    """The sandbox's wall clock (its mapping of virtual time), as the gate's client reads it."""
    return lambda: dt.datetime.fromtimestamp(sandbox.wall_time(), dt.timezone.utc)


@contextmanager
def serving(
    scenario: str | Scenario, *, clock: Clock | None = None, faults: FaultPlan | None = None, **options: Any
) -> Iterator[Sandbox]:
    """A sandbox that accepts the suite's test key (so the leak guard watches it)."""
    with Sandbox(scenario=scenario, api_key=TEST_API_KEY, clock=clock, faults=faults, **options) as sandbox:
        yield sandbox


def blueprint_args(sandbox: Sandbox) -> list[str]:
    return ["run", "--api-url", sandbox.url, "--blueprint", ",".join(map(str, sandbox.scenario.blueprint_ids))]


def wait_args(sandbox: Sandbox) -> list[str]:
    return ["wait", "--api-url", sandbox.url, "--test-run", ",".join(map(str, sandbox.preexisting_run_ids))]


# --- shared checks -----------------------------------------------------------------------------------------


def assert_clean_exit(run: GateRun) -> None:
    """No traceback and no internal error, whatever happened."""
    for stream in (run.out, run.err):
        assert "Traceback" not in stream, stream[-2000:]
        assert "internal error" not in stream, stream[-2000:]


def assert_reports_complete(run: GateRun, *, junit: str = "junit.xml", summary: str = "summary.md") -> dict[str, Any]:
    """JUnit valid against the schema with consistent counts, the JSON result parses, the summary renders."""
    xml = run.text(junit)
    assert_valid_junit(xml)
    junit_counts(xml)
    document = run.json()
    assert document["exit_code"] == run.code
    assert_only_our_html(render_markdown(run.text(summary), unsafe=True))
    return document


def retry_after_violations(records: Sequence[RequestRecord]) -> list[str]:
    """Requests that came back to a path sooner than a 429/503's Retry-After allowed."""
    not_before: dict[tuple[str, str], float] = {}
    late: list[str] = []
    for record in sorted(records, key=lambda r: r.seq):
        key = (record.method, record.path)
        if record.at + CLOCK_SLACK_S < not_before.get(key, float("-inf")):
            late.append(f"{record.method} {record.path} at {record.at:.3f} < {not_before[key]:.3f}")
        if record.retry_not_before is not None:
            not_before[key] = record.retry_not_before
    return late


def comparable_runs(document: Mapping[str, Any], sandbox: Sandbox) -> list[Any]:
    """The JSON result's runs with the sandbox's own address (a fresh port each time) taken out."""
    text = json.dumps(document["runs"], sort_keys=True).replace(sandbox.url, "SANDBOX")
    runs: list[Any] = json.loads(text)
    return runs
