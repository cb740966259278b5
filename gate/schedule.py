"""Which runs to poll when: one lead run every interval, the others in sweeps (or every run, for --fail-fast)."""

from __future__ import annotations

import enum
import heapq
import math
from collections.abc import Sequence
from typing import Protocol

#: A lead whose requests fail this many times in a row (without a Retry-After) hands the lead to another run.
LEAD_FAILURES_BEFORE_HANDOVER = 2
#: Sweeps for progress come at most this often (and never more often than the interval).
PROGRESS_SWEEP_S = 60.0


class Answer(enum.Enum):
    """What one request taught the poller about its run."""

    SETTLED = "settled"  # final, or given up on: never polled again
    RUNNING = "running"  # a valid payload, not final
    FAILED = "failed"  # transient or malformed: backing off


class Policy(enum.Enum):
    #: One lead run polled every interval; the others swept when it turns final and for progress.
    LEAD = "lead"
    #: Every unfinished run polled every interval (what --fail-fast needs to see a failure at once).
    EVERY_RUN = "every-run"


class Schedule(Protocol):
    """Called under the poller's lock. A run is in the poller's due-heap, in flight, parked here, or settled."""

    def start(self, run_ids: Sequence[int], *, first: float) -> list[tuple[int, float]]: ...

    def after_answer(
        self, run_id: int, answer: Answer, *, due: float, now: float, failures: int = 0, retry_after: bool = False
    ) -> float | None: ...

    def release(self, now: float) -> list[tuple[int, float]]: ...

    def next_event(self) -> float: ...


class EveryRun:
    """Every run is due again one interval (or its backoff) after each answer."""

    def start(self, run_ids: Sequence[int], *, first: float) -> list[tuple[int, float]]:
        return [(run_id, first) for run_id in run_ids]

    def after_answer(
        self, run_id: int, answer: Answer, *, due: float, now: float, failures: int = 0, retry_after: bool = False
    ) -> float | None:
        return due

    def release(self, now: float) -> list[tuple[int, float]]:
        return []

    def next_event(self) -> float:
        return math.inf


class LeadAndSweeps:
    """One lead run polled every interval; the other runs are parked and polled only in sweeps.

    The verdict needs every run final, so it can only come once the last run to finish is; polling the others
    meanwhile buys progress lines, not an earlier verdict. When the lead settles, a *search* polls parked runs
    (the one that has waited longest first, none sooner than an interval after its last answer) with a window that starts at one request and grows by one per final answer
    (TCP-style slow start, at most ``concurrency``): runs that have finished are confirmed concurrently, and the
    first one still going becomes the next lead, so a search wastes at most the requests already in flight when
    it finds one. Whatever the order of finishing, the last run to finish is seen within about one interval:
    either it is the lead, or the lead settles after it finished and the search finds it final.

    Full sweeps of every parked run come once a minute for progress, but only while the requests made stay
    within what polling every run every interval would have made (never worse than that), and once at the last
    poll before the deadline, so that a run that finished unseen is not reported as timed out.
    """

    def __init__(
        self, *, interval_s: float, concurrency: int, last_poll_at: float, sweep_first: bool,
        sweep_every_s: float = PROGRESS_SWEEP_S,
    ) -> None:
        self._interval_s = interval_s
        self._concurrency = max(1, concurrency)
        self._sweep_every_s = max(sweep_every_s, interval_s)
        self._sweep_first = sweep_first
        self._final_sweep_at = last_poll_at
        self.lead: int | None = None
        #: Parked run -> the earliest time it may be polled (one interval after its last answer: no run is
        #: asked more often than that); the heap holds the same runs by that time (stale entries skipped).
        self._parked: dict[int, float] = {}
        self._waiting: list[tuple[float, int, int]] = []
        self._order: dict[int, int] = {}
        #: Runs released by the current search and not yet answered; how many may be out at once.
        self._probes: set[int] = set()
        self._window = 1
        self._first = 0.0
        self._next_sweep_at = math.inf
        self._requests = 0
        self._settled_at: dict[int, float] = {}

    def start(self, run_ids: Sequence[int], *, first: float) -> list[tuple[int, float]]:
        self._first = first
        self._order = {run_id: order for order, run_id in enumerate(run_ids)}
        self._next_sweep_at = first + self._sweep_every_s
        if self._sweep_first or not run_ids:
            # Nothing is known about the runs yet (``wait``): look at each once; the first still going leads.
            return [(run_id, first) for run_id in run_ids]
        self.lead = run_ids[0]
        for run_id in run_ids[1:]:
            self._park(run_id, first)
        return [(self.lead, first)]

    def after_answer(
        self, run_id: int, answer: Answer, *, due: float, now: float, failures: int = 0, retry_after: bool = False
    ) -> float | None:
        """Where the run goes next: back into the due-heap at the returned time, or parked here (None)."""
        self._requests += 1
        probe = run_id in self._probes
        self._probes.discard(run_id)
        if answer is Answer.SETTLED:
            self._settled_at[run_id] = now
            if probe:
                self._window = min(self._concurrency, self._window + 1)
            if run_id == self.lead:
                self._lose_lead()
            return None
        if due == math.inf:  # no request allowed before the deadline: nothing more to do for this run
            if run_id == self.lead:
                self._lose_lead()
            return None
        if answer is Answer.FAILED:
            if run_id == self.lead and not retry_after and failures >= LEAD_FAILURES_BEFORE_HANDOVER and self._parked:
                # Never stall on one run: another run takes the lead while this one backs off. A Retry-After
                # keeps the lead in place: handing over would send the next request at once to an API that
                # has just asked for a pause.
                self._lose_lead()
            return due  # a look that failed is repeated on the run's own backoff, as before
        if self.lead is None:
            self.lead = run_id  # the first run found still going leads; the search ends
            self._probes.clear()
        if run_id != self.lead:
            self._park(run_id, due)
            return None
        return due

    def release(self, now: float) -> list[tuple[int, float]]:
        """Parked runs to put into the due-heap now: a sweep's, or the next probes of a search."""
        if self._parked and now >= min(self._final_sweep_at, self._next_sweep_at):
            return self._sweep(now)
        if self.lead is not None:
            return []
        released = []
        while len(self._probes) < self._window and self._earliest() <= now:
            _, _, run_id = heapq.heappop(self._waiting)
            del self._parked[run_id]
            self._probes.add(run_id)
            released.append((run_id, now))
        return released

    def next_event(self) -> float:
        """When ``release`` may next hand something out (inf: only an answer can change that)."""
        if not self._parked:
            return math.inf
        sweep = min(self._final_sweep_at, self._next_sweep_at)
        if self.lead is None and len(self._probes) < self._window:
            return min(sweep, self._earliest())
        return sweep

    def _park(self, run_id: int, allowed: float) -> None:
        self._parked[run_id] = allowed
        heapq.heappush(self._waiting, (allowed, self._order.get(run_id, 0), run_id))

    def _earliest(self) -> float:
        """When the parked run that has waited longest may be polled (stale heap entries are dropped)."""
        while self._waiting:
            allowed, _, run_id = self._waiting[0]
            if self._parked.get(run_id) == allowed:
                return allowed
            heapq.heappop(self._waiting)
        return math.inf

    def _lose_lead(self) -> None:
        self.lead = None
        self._window = 1

    def _sweep(self, now: float) -> list[tuple[int, float]]:
        final = now >= self._final_sweep_at
        if final:
            self._final_sweep_at = math.inf
        self._next_sweep_at = now + self._sweep_every_s
        if not final and self._requests + len(self._parked) > self._allowance(now):
            return []  # a sweep for progress now would cost more than polling every run every interval
        released = [(run_id, max(now, allowed)) for run_id, allowed in self._parked.items()]
        self._parked.clear()
        self._waiting.clear()
        return released

    def _allowance(self, now: float) -> int:
        """Requests that polling every run every interval would have made by ``now``."""

        def polls(run_id: int) -> int:
            end = self._settled_at.get(run_id, now)
            return 1 + max(0, math.floor((end - self._first) / self._interval_s))

        return sum(polls(run_id) for run_id in self._order)


def schedule_for(
    policy: Policy, *, interval_s: float, concurrency: int, last_poll_at: float, sweep_first: bool,
    sweep_every_s: float = PROGRESS_SWEEP_S,
) -> Schedule:
    if policy is Policy.EVERY_RUN:
        return EveryRun()
    return LeadAndSweeps(
        interval_s=interval_s, concurrency=concurrency, last_poll_at=last_poll_at, sweep_first=sweep_first,
        sweep_every_s=sweep_every_s,
    )
