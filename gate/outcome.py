"""The gate's outcome: each run's verdict as reported, the counts, and the one decision over them."""

from __future__ import annotations

import dataclasses
import functools

from gate.errors import ExitCode
from gate.model import DASHBOARD_GROUP_RUN, Step, TestRun, Verdict, judge_run
from gate.naming import display_name
from gate.provenance import Provenance


@dataclasses.dataclass(frozen=True)
class GroupRun:
    id: int
    name: str | None = None
    created_at: str | None = None
    #: A dashboard page the API itself serves (the local sandbox); None for DocketQA, whose dashboard is the app.
    sandbox_dashboard_url: str | None = None
    earlier_attempt: bool = False  # started by an earlier attempt of the gate (--resume), not by this one

    @property
    def dashboard_url(self) -> str:
        return self.sandbox_dashboard_url or DASHBOARD_GROUP_RUN.format(id=self.id)


def own_dashboard(offered: object, *, base_url: str | None) -> str | None:
    """The sandbox names a dashboard page it serves itself (DocketQA sends no such field): taken only on the API's
    own origin, so an answer (or a saved result) can never point the dashboard link at another host."""
    if not isinstance(offered, str) or not base_url:
        return None
    return offered if offered.startswith(f"{base_url.rstrip('/')}/dashboard/") else None


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What the gate knows about one followed run (``run`` is None when it never got a valid payload)."""

    name: str
    verdict: Verdict
    test_run_id: int | None
    blueprint_id: int | None
    run: TestRun | None = None
    allowed_failure: bool = False
    #: Why the run is an error, timed out or cancelled (one line, shown in every report).
    problem: str | None = None
    #: The problem came from the API (unreachable, malformed, missing): counts toward exit 4, not 1.
    api_problem: bool = False
    carried_over: bool = False  # taken as it was from an earlier attempt's JSON result (--resume): not run again

    @property
    def status(self) -> str | None:
        return self.run.status if self.run else None

    @property
    def flaky(self) -> bool:
        return self.verdict is Verdict.PASSED and self.run is not None and bool(self.run.failed_attempts)

    @property
    def failed_step(self) -> Step | None:
        return self.run.final_attempt.failed_step if self.run else None

    @property
    def counts_against_gate(self) -> bool:
        return self.verdict is not Verdict.PASSED and not self.allowed_failure


@dataclasses.dataclass(frozen=True)
class Counts:
    total: int
    passed: int
    failed: int
    errors: int
    timed_out: int
    cancelled: int
    allowed_failures: int
    not_awaited: int
    flaky: int


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Everything the reports render: the runs in order, their group runs, and how the gate ended."""

    runs: tuple[RunOutcome, ...]
    group_runs: tuple[GroupRun, ...] = ()
    elapsed_s: float = 0.0
    fail_on_timeout: bool = True
    #: Set when the gate stopped early (signal, fatal API error, --fail-fast): shown in the summary and JSON.
    stop_reason: str | None = None
    interrupted_exit: ExitCode | None = None
    provenance: Provenance = dataclasses.field(default_factory=Provenance)  # what --resume checks, and more
    fail_fast: bool = False  # the gate ran with --fail-fast (the JSON result then counts runs not awaited)

    @functools.cached_property
    def counts(self) -> Counts:
        return Counts(
            total=len(self.runs),
            passed=sum(r.verdict is Verdict.PASSED for r in self.runs),
            failed=sum(r.verdict is Verdict.FAILED and not r.allowed_failure for r in self.runs),
            errors=sum(r.verdict is Verdict.ERROR and not r.allowed_failure for r in self.runs),
            timed_out=sum(r.verdict is Verdict.TIMED_OUT for r in self.runs),
            cancelled=sum(r.verdict is Verdict.CANCELLED for r in self.runs),
            allowed_failures=sum(r.allowed_failure and r.verdict is not Verdict.PASSED for r in self.runs),
            flaky=sum(r.flaky for r in self.runs),
            not_awaited=sum(r.verdict is Verdict.NOT_AWAITED for r in self.runs),
        )

    @property
    def verdict(self) -> Verdict:
        return decide(self)[0]

    @property
    def exit_code(self) -> ExitCode:
        return decide(self)[1]


def decide(outcome: Outcome) -> tuple[Verdict, ExitCode]:
    """The overall verdict and exit code. Precedence: interrupted, then 1 before 4 before 3; fail closed."""
    if outcome.interrupted_exit is not None:
        return Verdict.CANCELLED, outcome.interrupted_exit
    blocking = [r for r in outcome.runs if r.counts_against_gate]
    failing = (Verdict.FAILED, Verdict.NOT_AWAITED)  # not awaited: only beside the failure --fail-fast stopped at
    if any(r.verdict in failing or (r.verdict is Verdict.ERROR and not r.api_problem) for r in blocking):
        return Verdict.FAILED, ExitCode.FAILED
    if any(r.verdict is Verdict.ERROR or r.verdict is Verdict.CANCELLED for r in blocking):
        return Verdict.ERROR, ExitCode.API
    if any(r.verdict is Verdict.TIMED_OUT for r in blocking) and outcome.fail_on_timeout:
        return Verdict.TIMED_OUT, ExitCode.TIMED_OUT
    if not outcome.runs:
        # Nothing was followed: the gate does not know, so it does not pass.
        return Verdict.ERROR, ExitCode.API
    return Verdict.PASSED, ExitCode.PASSED


def run_outcome(
    run: TestRun | None, *, verdict: Verdict | None = None, problem: str | None = None, name: str | None = None,
    test_run_id: int | None = None, blueprint_id: int | None = None, allowed_failure: bool = False,
    api_problem: bool = False,
) -> RunOutcome:
    """The one way a RunOutcome is built (follow, saved files, tests). Without ``verdict`` the final ``run`` is
    judged; the ids default to the run's; ``name`` (a configured name) wins over the title (see display_name)."""
    if verdict is None:
        if run is None:
            raise ValueError("a run that never got a payload needs a verdict")
        verdict, problem = judge_run(run)
    if run is not None:
        test_run_id = run.id if test_run_id is None else test_run_id
        blueprint_id = run.blueprint_id if blueprint_id is None else blueprint_id
    title = run.title if run is not None else None
    return RunOutcome(
        name=display_name(override=name, title=title, blueprint_id=blueprint_id, test_run_id=test_run_id),
        verdict=verdict, test_run_id=test_run_id, blueprint_id=blueprint_id, run=run,
        allowed_failure=allowed_failure, problem=problem, api_problem=api_problem,
    )
