"""Typed test runs parsed defensively from DocketQA JSON, and the pure verdict over them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools

from gate.errors import DASHBOARD_URL, ExitCode
from gate.naming import display_name

PASSED_STATUS = "passed"
FAILED_STATUS = "failed"
#: Statuses that mean "keep polling". Anything else that is not passed/failed is final and never passes.
PENDING_STATUSES = frozenset({"running", "queued", "pending", "in_progress", "started", "created"})
NOT_COMPLETED = "Step not completed"
DASHBOARD_GROUP_RUN = DASHBOARD_URL + "/grouprun/{id}"


class StepState(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_REACHED = "not_reached"


class Verdict(enum.Enum):
    """Per-run verdict; the overall verdict uses the same values."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    NOT_AWAITED = "not_awaited"  # still going when --fail-fast stopped at another run's failure


@dataclasses.dataclass(frozen=True)
class Action:
    description: str
    type: str
    screenshot_url: str | None
    screenshot_url_before: str | None


@dataclasses.dataclass(frozen=True)
class Step:
    number: int
    task: str
    successful: bool | None
    result: str
    duration_s: float | None
    actions: tuple[Action, ...]
    state: StepState

    @property
    def screenshot_urls(self) -> tuple[str, ...]:
        return tuple(a.screenshot_url for a in self.actions if a.screenshot_url)


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One execution of the blueprint: the top-level results, or one of ``additional_attempts``."""

    number: int
    steps: tuple[Step, ...]
    video_url: str | None
    status: str | None

    # Cached (the dataclass is frozen, so the answer never changes): the renderers ask for it about 30
    # times per run, and each scan of 40 steps added up to a tenth of a 20,000-testcase report's time.
    @functools.cached_property
    def failed_step(self) -> Step | None:
        return next((s for s in self.steps if s.state is StepState.FAILED), None)

    @property
    def failed(self) -> bool:
        return self.status == FAILED_STATUS or self.failed_step is not None


@dataclasses.dataclass(frozen=True)
class TestRun:
    """A ``GET /test_run/{id}`` payload, every optional field tolerated as missing or null."""

    __test__ = False  # not a pytest class

    id: int
    status: str
    blueprint_id: int | None
    group_run_id: int | None
    title: str | None
    starting_url: str | None
    attempts: tuple[Attempt, ...]
    video_url: str | None
    video_download_url: str | None
    created_at: str | None
    updated_at: str | None
    has_results: bool

    @property
    def is_final(self) -> bool:
        return self.status not in PENDING_STATUSES

    @functools.cached_property
    def final_attempt(self) -> Attempt:
        """The attempt whose outcome the run status reports (robust to either ordering of attempts)."""
        if self.status == PASSED_STATUS:
            for attempt in reversed(self.attempts):
                if not attempt.failed:
                    return attempt
        return self.attempts[-1]

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.final_attempt.steps

    @functools.cached_property
    def failed_attempts(self) -> tuple[Attempt, ...]:
        final = self.final_attempt
        return tuple(a for a in self.attempts if a is not final and a.failed)

    @property
    def duration_s(self) -> float | None:
        start, end = parse_api_time(self.created_at), parse_api_time(self.updated_at)
        if start and end and end >= start:
            return (end - start).total_seconds()
        durations = [s.duration_s for a in self.attempts for s in a.steps if s.duration_s is not None]
        return float(sum(durations)) if durations else None


def parse_api_time(value: str | None) -> dt.datetime | None:
    """An ISO 8601 time as DocketQA writes it (``Z`` or an offset; none means UTC); None when it does not parse."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def is_web_url(url: str | None) -> bool:
    """Only http(s) URLs ever become links, images or downloads."""
    return bool(url) and url.lower().startswith(("https://", "http://"))  # type: ignore[union-attr]


# --- outcome -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GroupRun:
    id: int
    name: str | None = None
    created_at: str | None = None

    @property
    def dashboard_url(self) -> str:
        return DASHBOARD_GROUP_RUN.format(id=self.id)


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


def judge_run(run: TestRun) -> tuple[Verdict, str | None]:
    """Verdict of a run that reached a final status, with the problem line for anything but a pass."""
    if run.status == PASSED_STATUS:
        return Verdict.PASSED, None
    if run.status == FAILED_STATUS:
        step = run.final_attempt.failed_step
        if step is not None:
            return Verdict.FAILED, failure_line(step)
        if not run.has_results:
            return Verdict.FAILED, "DocketQA reported the run failed and returned no step results"
        return Verdict.FAILED, "DocketQA reported the run failed, but every reported step succeeded"
    if run.status in PENDING_STATUSES:
        raise ValueError(f"run {run.id} is not final")
    return Verdict.ERROR, f"DocketQA reported status '{run.status}', which this gate does not know; it never passes"


def failure_line(step: Step) -> str:
    first = step.result.strip().splitlines()[0] if step.result.strip() else "no explanation given"
    return f"Step {step.number} failed: {step.task.strip()}: {first}"


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
