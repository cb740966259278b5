"""Typed test runs parsed defensively from DocketQA JSON, and the pure verdict over them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools

from gate.errors import DASHBOARD_URL

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
    #: The duration a JSON result recorded (a run read back keeps only some attempts' steps).
    recorded_duration_s: float | None = None

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
        """DocketQA's step durations added up (it reports none for a run); without any, the timestamps' span."""
        if self.recorded_duration_s is not None:
            return self.recorded_duration_s
        durations = [s.duration_s for a in self.attempts for s in a.steps if s.duration_s is not None]
        if durations:
            return float(sum(durations))
        start, end = parse_api_time(self.created_at), parse_api_time(self.updated_at)
        return (end - start).total_seconds() if start and end and end >= start else None


def parse_api_time(value: str | None) -> dt.datetime | None:
    """An ISO 8601 time as DocketQA writes it (``Z`` or an offset; none means UTC); None when it does not parse."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


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
