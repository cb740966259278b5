"""Half the GETs failing, through the real CLI: same verdicts, nothing re-polled, Retry-After kept, deadline held."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gate.clock import FakeClock, SystemClock
from gate.errors import ExitCode
from gate.sandbox import FaultMode, FaultPlan, Sandbox
from gate.sandbox.scenarios import generated
from tests.support.hardening import (
    START,
    GateRun,
    Register,
    assert_clean_exit,
    assert_reports_complete,
    blueprint_args,
    comparable_runs,
    report_args,
    retry_after_violations,
    run_gate,
    serving,
    wait_args,
)

#: The transport and status faults the 50% promise covers (issue 5): 5xx, reset, a stall, 429 in both forms.
#: Malformed 200 answers are bounded on purpose (3 in a row make the run an error): see the test below.
STORM_MODES = (
    FaultMode.HTTP_500, FaultMode.HTTP_502, FaultMode.HTTP_503, FaultMode.HTTP_504, FaultMode.RESET,
    FaultMode.STALL, FaultMode.RATE_LIMIT_SECONDS, FaultMode.RATE_LIMIT_DATE,
)  # fmt: skip
ALL_GET_MODES = tuple(FaultMode)
RUNS = 20
NEVER_ANSWERED = "DocketQA never answered for this run before the {} deadline"
#: A real stall, shorter than the client's read timeout: the answer arrives late but whole.
STALL_S = 0.02


def storm(seed: int, *, modes: tuple[FaultMode, ...] = STORM_MODES, rate: float = 0.5) -> FaultPlan:
    # Retry-After of 1..5 s varies with the seed so both forms land at different points of the schedule.
    return FaultPlan(rate=rate, modes=modes, seed=seed, retry_after=1 + seed % 5, stall_s=STALL_S,
                     retry_after_on_503=seed % 2 == 0)  # fmt: skip


def gate_over(seed: int, faults: FaultPlan | None, *, workspace: Path, register: Register) -> tuple[GateRun, Sandbox]:
    """One gate over a 20-run group (run or wait; none, every 4th or every 7th failing, by seed) on a shared fake clock."""
    clock = FakeClock(START)
    scenario = generated(RUNS, 4, fail_every=(0, 4, 7)[seed % 3], seed=seed)
    workspace.mkdir()
    with serving(scenario, clock=clock, faults=faults) as sandbox:
        command = blueprint_args(sandbox) if seed % 2 == 0 else wait_args(sandbox)
        run = run_gate([*command, *report_args()], workspace=workspace, register=register, clock=clock,
                       sandbox=sandbox)  # fmt: skip
    return run, sandbox


_CALM: dict[int, tuple[int, dict[str, Any], list[Any]]] = {}


def calm_result(seed: int, *, workspace: Path, register: Register) -> tuple[int, dict[str, Any], list[Any]]:
    """(exit code, JSON result, comparable runs) with no faults; the same for every test of a seed, so kept."""
    if seed not in _CALM:
        run, sandbox = gate_over(seed, None, workspace=workspace, register=register)
        document = assert_reports_complete(run)
        _CALM[seed] = (run.code, document, comparable_runs(document, sandbox))
    return _CALM[seed]


def followed_ids(sandbox: Sandbox, seed: int) -> list[int]:
    if seed % 2 == 0:
        (group,) = sandbox.triggered_group_ids  # exactly one billable group run
        return list(sandbox.run_ids_of_group(group))
    assert sandbox.triggered_group_ids == ()
    return list(sandbox.preexisting_run_ids)


def test_half_the_gets_failing_changes_no_result(fault_seed: int, tmp_path: Path, leak_guard: Register) -> None:
    """With 50% of GETs failing in every transport mode, the exit code, verdict and every run's result match a calm run."""
    calm_code, calm_doc, calm_runs = calm_result(fault_seed, workspace=tmp_path / "calm", register=leak_guard)
    stormy, sandbox = gate_over(fault_seed, storm(fault_seed), workspace=tmp_path / "storm", register=leak_guard)

    assert_clean_exit(stormy)
    assert stormy.code == calm_code and stormy.code in (ExitCode.PASSED, ExitCode.FAILED), stormy.err[-2000:]
    storm_doc = assert_reports_complete(stormy)
    assert storm_doc["verdict"] == calm_doc["verdict"] and storm_doc["counts"] == calm_doc["counts"]
    assert comparable_runs(storm_doc, sandbox) == calm_runs
    assert [run["test_run_id"] for run in storm_doc["runs"]] == followed_ids(sandbox, fault_seed)
    assert storm_doc["counts"]["total"] == RUNS
    records = sandbox.requests
    assert sandbox.runs_requested_after_final() == []
    assert retry_after_violations(records) == []
    faulted = Counter(r.fault for r in records if r.fault)
    # At a 50% fault rate; lead polling makes ~70 requests a gate, so a third of them is within sampling noise
    # (2 of 200 seeds fell just under it): a quarter still proves the storm happened.
    assert sum(faulted.values()) * 4 > len(records), "the storm must really have happened"


def test_malformed_answers_in_the_storm_never_make_a_result_more_lenient(
    fault_seed: int, tmp_path: Path, leak_guard: Register
) -> None:
    """Truncated JSON and HTML 200 pages in the mix: a run keeps its calm verdict or becomes a bounded API error."""
    calm_code, _, calm_runs = calm_result(fault_seed, workspace=tmp_path / "calm", register=leak_guard)
    stormy, sandbox = gate_over(fault_seed, storm(fault_seed, modes=ALL_GET_MODES), workspace=tmp_path / "storm",
                                register=leak_guard)  # fmt: skip

    assert_clean_exit(stormy)
    storm_runs = comparable_runs(stormy.json(), sandbox)
    assert_reports_complete(stormy)
    assert len(storm_runs) == RUNS
    changed = [(before, after) for before, after in zip(calm_runs, storm_runs) if before != after]
    for _before, after in changed:
        assert after["verdict"] == "error" and after["problem"].endswith("(3 times in a row)"), after["problem"]
    # Precedence 1 before 4: a failing group still exits 1; a passing one exits 4, never 0.
    expected = calm_code if calm_code == ExitCode.FAILED or not changed else ExitCode.API
    assert stormy.code == expected
    assert sandbox.runs_requested_after_final() == [] and retry_after_violations(sandbox.requests) == []


# A short stall is answered late but whole: not a failure here (the stalled-API test below covers long ones).
@pytest.mark.parametrize("modes", [tuple(m for m in modes if m is not FaultMode.STALL) for modes in (STORM_MODES,
                         ALL_GET_MODES)], ids=["transient", "malformed-too"])  # fmt: skip
@pytest.mark.parametrize("tolerance", [[], ["--no-fail-on-timeout"]], ids=["default", "no-fail-on-timeout"])
def test_the_deadline_holds_when_every_get_fails(
    tolerance: list[str], modes: tuple[FaultMode, ...], tmp_path: Path, leak_guard: Register
) -> None:
    """Every GET failing: the gate stops by its deadline with exit 4 (never a pass) and every report."""
    clock = FakeClock(START)
    with serving("slow", clock=clock, faults=storm(7, modes=modes, rate=1.0)) as sandbox:
        run = run_gate([*wait_args(sandbox), "--timeout", "2m", *tolerance, *report_args()], workspace=tmp_path,
                       register=leak_guard, clock=clock, sandbox=sandbox)  # fmt: skip
    assert_clean_exit(run)
    assert run.code == ExitCode.API
    document = assert_reports_complete(run)
    assert [(r["test_run_id"], r["verdict"]) for r in document["runs"]] == [
        (run_id, "error") for run_id in sandbox.preexisting_run_ids]  # fmt: skip
    assert clock.now() <= START + 120.0
    assert max(r.at for r in sandbox.requests) < START + 120.0


@pytest.mark.parametrize("tolerance", [[], ["--no-fail-on-timeout"]], ids=["default", "no-fail-on-timeout"])
def test_a_stalled_api_cannot_hold_the_gate_past_its_deadline_or_pass_it(
    tolerance: list[str], tmp_path: Path, leak_guard: Register
) -> None:
    """On real time, an API that never answers: the gate stops at its 1 s deadline with exit 4, never a pass."""
    stall = FaultPlan(rate=1.0, modes=(FaultMode.STALL,), stall_s=30.0)
    with serving("slow", clock=SystemClock(), faults=stall) as sandbox:
        run = run_gate([*wait_args(sandbox), "--timeout", "1s", *tolerance, *report_args()], workspace=tmp_path,
                       register=leak_guard)  # fmt: skip
    assert_clean_exit(run)
    assert run.code == ExitCode.API
    document = assert_reports_complete(run)
    # The read timeout and the deadline race: the line may also name the unanswered request.
    assert all(r["verdict"] == "error" for r in document["runs"])
    assert all(r["problem"].startswith(NEVER_ANSWERED.format("1s")) for r in document["runs"])
