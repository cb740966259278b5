"""What the poller is asked to do (PollSettings, a RunSource) and what it learns about each run (RunStatus)."""

from __future__ import annotations

import dataclasses
from typing import Protocol

from gate.model import TestRun
from gate.retry import POLL_RETRY, RetryPolicy


class RunSource(Protocol):
    def get_test_run(self, run_id: int, *, timeout: float) -> TestRun: ...


@dataclasses.dataclass(frozen=True)
class PollSettings:
    interval_s: float = 5.0
    concurrency: int = 8
    #: Polls of a run start interval * (1 - uniform(0, jitter)) apart: spread so many gates do not hit the API
    #: in step, yet never further apart than the interval, which bounds how late a final status is seen.
    jitter: float = 0.1
    retry: RetryPolicy = POLL_RETRY
    #: Consecutive malformed answers before the run is reported as an API error.
    max_malformed: int = 3


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

    @property
    def all_settled(self) -> bool:
        return all(r.settled for r in self.runs)
