"""The trigger POST under every failure mode, through the real CLI: retried only when no group run can exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.clock import FakeClock
from gate.errors import ExitCode
from gate.retry import TRIGGER_RETRY
from gate.sandbox import FaultMode, FaultPlan, Sandbox
from gate.sandbox.faults import BEFORE_PROCESSING
from tests.support.hardening import (
    DASHBOARD_HINT,
    START,
    GateRun,
    Register,
    assert_clean_exit,
    assert_reports_complete,
    blueprint_args,
    report_args,
    retry_after_violations,
    run_gate,
    serving,
)
from tests.support.http_fixture import free_port
from tests.support.keys import TEST_API_KEY
from tests.support.render import junit_counts

TRIGGER = "/test_group_run/trigger_run"
RETRY_NOTE = "Starting the runs failed ("
GAVE_UP = f"docketqa-gate: error: could not start the DocketQA runs after {TRIGGER_RETRY.max_failures} attempts:"


def failing_posts(mode: FaultMode, *, times: int, retry_after: int = 3) -> FaultPlan:
    """The first ``times`` trigger POSTs fail in ``mode``; GETs are left alone."""
    return FaultPlan(rate=1.0, modes=(mode,), methods=frozenset({"POST"}), max_per_path=times,
                     retry_after=retry_after, retry_after_on_503=True, stall_s=10.0)  # fmt: skip


def posts(sandbox: Sandbox) -> int:
    return sum(record.method == "POST" for record in sandbox.requests)


def assert_blueprints_reported_as_errors(run: GateRun) -> None:
    """Every requested blueprint is an ERROR row in the JSON and an error testcase in the JUnit report."""
    document = assert_reports_complete(run)
    assert [(r["blueprint_id"], r["test_run_id"], r["verdict"]) for r in document["runs"]] == [
        (181, None, "error"), (185, None, "error")]  # fmt: skip
    totals, _ = junit_counts(run.text("junit.xml"))
    assert totals == {"tests": 2, "failures": 0, "errors": 2}


@pytest.mark.parametrize("mode", [FaultMode.HTTP_503, FaultMode.RATE_LIMIT_SECONDS, FaultMode.RATE_LIMIT_DATE],
                         ids=lambda mode: mode.value)  # fmt: skip
def test_a_post_refused_before_processing_is_retried_after_retry_after(
    mode: FaultMode, tmp_path: Path, leak_guard: Register
) -> None:
    """429/503 prove nothing was started: the POST is repeated no sooner than Retry-After, and one group run results."""
    assert mode in BEFORE_PROCESSING
    clock = FakeClock(START)
    with serving("passing", clock=clock, faults=failing_posts(mode, times=2)) as sandbox:
        run = run_gate([*blueprint_args(sandbox), *report_args()], workspace=tmp_path, register=leak_guard,
                       clock=clock, sandbox=sandbox)  # fmt: skip
    assert_clean_exit(run)
    assert run.code == ExitCode.PASSED, run.err
    assert posts(sandbox) == 3 and len(sandbox.triggered_group_ids) == 1
    assert retry_after_violations(sandbox.requests) == []
    assert run.err.count(RETRY_NOTE) == 2 and run.error_lines == []
    assert assert_reports_complete(run)["counts"]["passed"] == 2


def test_a_rate_limit_that_never_lifts_ends_with_one_line_and_nothing_started(
    tmp_path: Path, leak_guard: Register
) -> None:
    """A trigger answered 429 every time: a bounded number of spaced attempts, exit 4, no dashboard scare."""
    clock = FakeClock(START)
    with serving("passing", clock=clock, faults=failing_posts(FaultMode.RATE_LIMIT_SECONDS, times=99)) as sandbox:
        run = run_gate([*blueprint_args(sandbox), *report_args()], workspace=tmp_path, register=leak_guard,
                       clock=clock, sandbox=sandbox)  # fmt: skip
    assert_clean_exit(run)
    assert run.code == ExitCode.API
    assert posts(sandbox) == TRIGGER_RETRY.max_failures and sandbox.triggered_group_ids == ()
    assert retry_after_violations(sandbox.requests) == []
    assert run.error_lines == [f"{GAVE_UP} DocketQA answered POST {TRIGGER} with HTTP 429 (Retry-After 3 s)"]
    assert_blueprints_reported_as_errors(run)


@pytest.mark.parametrize(
    "mode",
    [FaultMode.HTTP_500, FaultMode.HTTP_502, FaultMode.HTTP_504, FaultMode.RESET, FaultMode.STALL,
     FaultMode.MALFORMED, FaultMode.HTML_200],
    ids=lambda mode: mode.value,
)  # fmt: skip
def test_a_post_that_may_have_been_received_is_never_sent_again(
    mode: FaultMode, tmp_path: Path, leak_guard: Register
) -> None:
    """After a 5xx, a reset, a read timeout or a spoiled answer: exactly one POST, exit 4, one line with the hint."""
    assert mode not in BEFORE_PROCESSING
    clock = FakeClock(START)
    # The stall needs a short deadline: the read timeout is capped by the time left, in real seconds.
    deadline = ["--timeout", "0.5s"] if mode is FaultMode.STALL else []
    with serving("passing", clock=clock, faults=failing_posts(mode, times=1)) as sandbox:
        run = run_gate([*blueprint_args(sandbox), *deadline, *report_args()], workspace=tmp_path,
                       register=leak_guard, clock=clock, sandbox=sandbox)  # fmt: skip
    assert_clean_exit(run)
    assert run.code == ExitCode.API
    assert posts(sandbox) == 1 and len(sandbox.triggered_group_ids) == 1  # the API did start one: the gate never knew
    assert not any(record.method == "GET" for record in sandbox.requests)
    (line,) = run.error_lines
    assert "check https://app.docketqa.com/dashboard" in line and "before re-running" in line
    assert RETRY_NOTE not in run.err
    assert_blueprints_reported_as_errors(run)


class StartsTheApiOnFirstSleep(FakeClock):
    """Virtual time where nothing listens until the gate first backs off: a deploy that is still coming up."""

    def __init__(self, port: int) -> None:
        super().__init__(START)
        self.port = port
        self.sandbox: Sandbox | None = None

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.sandbox is None:
            self.sandbox = Sandbox(scenario="passing", api_key=TEST_API_KEY, port=self.port, clock=self).start()


def test_a_refused_connection_is_retried_until_the_api_comes_up(tmp_path: Path, leak_guard: Register) -> None:
    """Nothing listening at first: the POST is retried after a backoff, the run goes ahead, one group run started."""
    clock = StartsTheApiOnFirstSleep(free_port())
    url = f"http://127.0.0.1:{clock.port}"
    try:
        run = run_gate(["run", "--api-url", url, "--blueprint", "181,185", *report_args()], workspace=tmp_path,
                       register=leak_guard, clock=clock)  # fmt: skip
    finally:
        if clock.sandbox is not None:
            clock.sandbox.stop()
    assert_clean_exit(run)
    assert run.code == ExitCode.PASSED, run.err
    assert clock.sandbox is not None
    assert posts(clock.sandbox) == 1 and len(clock.sandbox.triggered_group_ids) == 1
    assert f"{RETRY_NOTE}could not connect to DocketQA at 127.0.0.1: connection refused); trying again in" in run.err
    assert_reports_complete(run)


def test_a_refused_connection_until_the_end_is_one_clear_line(tmp_path: Path, leak_guard: Register) -> None:
    """An API that never comes up: bounded retries, exit 4, one line saying so, no claim that a run may exist."""
    url = f"http://127.0.0.1:{free_port()}"
    run = run_gate(["run", "--api-url", url, "--blueprint", "181,185", *report_args()], workspace=tmp_path,
                   register=leak_guard, clock=FakeClock(START))  # fmt: skip
    assert_clean_exit(run)
    assert run.code == ExitCode.API
    assert run.err.count(RETRY_NOTE) == TRIGGER_RETRY.max_failures - 1
    assert run.error_lines == [f"{GAVE_UP} could not connect to DocketQA at 127.0.0.1: connection refused"]
    assert DASHBOARD_HINT not in run.err
    assert_blueprints_reported_as_errors(run)
