"""What the poller is asked to do (PollSettings, a RunSource), what it learns about each run, and per-run backoff."""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Protocol

from gate.config import DEFAULT_CONCURRENCY, DEFAULT_POLL_INTERVAL_S
from gate.errors import ApiError, MalformedResponse, TransientApiError
from gate.model import TestRun
from gate.retry import POLL_RETRY, RetryPolicy
from gate.schedule import PROGRESS_SWEEP_S, Policy


class RunSource(Protocol):
    def get_test_run(self, run_id: int, *, timeout: float) -> TestRun: ...


@dataclasses.dataclass(frozen=True)
class PollSettings:
    interval_s: float = DEFAULT_POLL_INTERVAL_S
    concurrency: int = DEFAULT_CONCURRENCY
    #: Polls of a run start interval * (1 - uniform(0, jitter)) apart: spread so many gates do not hit the API
    #: in step, yet never further apart than the interval, which bounds how late a final status is seen.
    jitter: float = 0.1
    retry: RetryPolicy = POLL_RETRY
    #: Consecutive malformed answers before the run is reported as an API error.
    max_malformed: int = 3
    #: Which runs are polled when (gate/schedule.py): one lead run and sweeps, or every run every interval.
    policy: Policy = Policy.LEAD
    sweep_every_s: float = PROGRESS_SWEEP_S


@dataclasses.dataclass(frozen=True)
class RunStatus:
    """What the poller learnt about one run."""

    run_id: int
    #: The last valid payload (None if none arrived yet).
    run: TestRun | None = None
    #: Why the gate gave up on this run (an API problem); None while it is still followed or once final.
    error: str | None = None
    #: The most recent failed request, kept so a timeout can say what went wrong.
    last_error: str | None = None
    requests: int = 0

    @property
    def final(self) -> bool:
        return self.run is not None and self.run.is_final

    @property
    def settled(self) -> bool:
        return self.final or self.error is not None


@dataclasses.dataclass(frozen=True)
class PollResult:
    runs: tuple[RunStatus, ...]
    #: Set when a failure stopped every run (a rejected key).
    fatal: str | None = None
    #: Set when the caller stopped following on purpose (--fail-fast after a failed run).
    stopped: str | None = None

    @property
    def all_settled(self) -> bool:
        return all(r.settled for r in self.runs)


@dataclasses.dataclass
class Track:
    """Mutable per-run state, only touched under the poller's lock."""

    status: RunStatus
    next_due: float
    #: Position in the followed list: runs due at the same moment are polled in this order.
    order: int = 0
    transient: int = 0
    malformed: int = 0


def after_failure(
    track: Track, status: RunStatus, *, problem: ApiError, retry: RetryPolicy, rng: random.Random, max_malformed: int,
    now: float, remaining: float,
) -> RunStatus:
    """Back off this run alone; give up after too many failures in a row."""
    if isinstance(problem, MalformedResponse):
        track.malformed += 1
        gave_up = track.malformed >= max_malformed
        why = f"{problem.message} ({track.malformed} times in a row)"
    else:
        track.malformed = 0
        gave_up = retry.exhausted(track.transient + 1)
        why = f"gave up on test run {status.run_id} after {track.transient + 1} failed requests in a row: " \
              f"{problem.message}"
    track.transient += 1
    if gave_up:
        return dataclasses.replace(status, error=why, last_error=problem.message)
    retry_after = problem.retry_after if isinstance(problem, TransientApiError) else None
    delay = retry.delay(track.transient, rng=rng, retry_after=retry_after, remaining=remaining)
    track.next_due = now + delay if delay is not None else math.inf  # inf: no request allowed before the deadline
    return dataclasses.replace(status, last_error=problem.message)
