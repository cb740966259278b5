"""Follow test runs to a final status under one deadline, a few requests at a time, backing off per run."""

from __future__ import annotations

import dataclasses
import heapq
import math
import queue
import random
import signal
import threading
from collections.abc import Callable, Sequence

from gate.clock import Clock
from gate.errors import ApiError, AuthError, MalformedResponse, TransientApiError
from gate.model import TestRun
from gate.run_status import PollResult, PollSettings, RunSource, RunStatus, Track, after_failure
from gate.schedule import Answer, Policy, Schedule, schedule_for

#: The last interval poll is moved this far before the deadline so it can still get an answer; never more than
#: a twentieth of the time left at the start, so a short --timeout is not cut short by a whole second.
LAST_POLL_MARGIN_S = 1.0
LAST_POLL_MARGIN_SHARE = 0.05
MIN_INTERVAL_S = 0.1


DEFAULT_SETTINGS = PollSettings()


class Poller:
    """Main thread schedules; daemon workers make the requests and record what they learn.

    Workers write every result into the shared state themselves, so an ``Interrupted`` raised in the main
    thread (by a signal handler) can never lose one: ``snapshot()`` stays complete and consistent. A worker
    that finishes a request takes the next due run itself, and idle runs wait in a heap by due time: each
    answer costs O(log runs), not a scan of every run plus a hand-off through the main thread (which, with
    hundreds of runs, kept requests waiting for the GIL and stretched a poll round well past its floor).
    """

    def __init__(
        self,
        source: RunSource,
        *,
        clock: Clock,
        rng: random.Random,
        deadline: float,
        settings: PollSettings = DEFAULT_SETTINGS,
        on_settled: Callable[[RunStatus], None] | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self._clock = clock
        self._rng = rng
        self._deadline = deadline
        self._margin = min(LAST_POLL_MARGIN_S, max(0.0, deadline - clock.now()) * LAST_POLL_MARGIN_SHARE)
        self._settings = settings
        self._concurrency = max(1, settings.concurrency)
        # A floor on the interval: a zero interval would make a fake clock spin and a real one hammer the API.
        self._interval_s = max(MIN_INTERVAL_S, settings.interval_s)
        self._on_settled = on_settled or (lambda _status: None)
        self._on_tick = on_tick or (lambda: None)
        self._cond = threading.Condition()
        self._tracks: dict[int, Track] = {}
        #: (next_due, order, run_id) of every run that is neither settled nor in flight.
        self._idle: list[tuple[float, int, int]] = []
        self._busy = 0
        #: Settled runs not yet passed to ``on_settled``, in the order they settled.
        self._fresh: list[RunStatus] = []
        self._work: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._fatal: str | None = None
        self._stopped: str | None = None
        self._schedule: Schedule = schedule_for(Policy.EVERY_RUN, interval_s=self._interval_s, concurrency=1,
                                                last_poll_at=deadline, sweep_first=True)
        self._closed = False
        self._crash: BaseException | None = None

    def follow(self, run_ids: Sequence[int], *, first_poll_in: float = 0.0, sweep_first: bool = True) -> PollResult:
        """Poll until every run is settled, the deadline passes, a fatal error or ``stop``; then return at once.

        ``sweep_first``: poll every run at the first poll (``wait``: nothing is known about them yet), rather
        than only the lead (``run``: the trigger answer said they are all just starting).
        """
        start = self._clock.now()
        with self._cond:
            last_poll_at = max(start, self._deadline - self._margin)
            first = min(start + first_poll_in, last_poll_at)
            unique = list(dict.fromkeys(run_ids))
            self._schedule = schedule_for(
                self._settings.policy, interval_s=self._interval_s, concurrency=self._concurrency,
                last_poll_at=last_poll_at, sweep_first=sweep_first, sweep_every_s=self._settings.sweep_every_s,
            )
            for order, run_id in enumerate(unique):
                self._tracks[run_id] = Track(RunStatus(run_id), next_due=math.inf, order=order)
            self._push(self._schedule.start(unique, first=first))
        self._start_workers(min(self._concurrency, len(self._tracks)))
        while True:
            self._announce_settled()
            self._on_tick()
            with self._cond:
                if self._crash is not None:
                    raise self._crash  # a bug in a worker: let the CLI report it, do not hang
                sleep_s = self._dispatch_or_wait()
            if sleep_s is None:
                break
            if sleep_s > 0:
                self._clock.sleep(sleep_s)  # nothing in flight: only the clock can move us forward
        self._announce_settled()
        return self.snapshot()

    def snapshot(self) -> PollResult:
        with self._cond:
            runs = tuple(t.status for t in self._tracks.values())
            return PollResult(runs=runs, fatal=self._fatal, stopped=self._stopped)

    def stop(self, reason: str) -> None:
        """Stop following (no new request goes out); ``follow`` returns at its next step."""
        with self._cond:
            self._stopped = self._stopped or reason
            self._cond.notify_all()

    def close(self) -> None:
        """Let the workers go; they are daemons, so a request still in flight never delays exit."""
        with self._cond:
            self._closed = True  # a worker finishing its request takes no further run
        for _ in self._workers:
            self._work.put(None)
        self._workers.clear()

    # --- main thread ------------------------------------------------------------------------------------

    def _dispatch_or_wait(self) -> float | None:
        """Under the lock: hand due runs to workers; return None when done, else how long to clock-sleep."""
        now = self._clock.now()
        if self._fatal is not None or self._stopped is not None or now >= self._deadline:
            return None
        self._push(self._schedule.release(now))
        while (run_id := self._take_due(now)) is not None:
            self._work.put(run_id)
        next_due = min(self._idle[0][0] if self._idle else math.inf, self._schedule.next_event())
        if next_due >= self._deadline and not self._busy:
            return None  # every run is settled, or the next allowed request would fall past the deadline
        wake_at = min(self._deadline, next_due) if self._busy < self._concurrency else self._deadline
        if self._busy:
            # Requests are out: wake on the first answer (or when the next run falls due) without moving
            # the clock, so a fake clock never jumps ahead of an answer that is still on its way.
            self._cond.wait(timeout=max(0.0, wake_at - now))
            return 0.0
        return max(0.0, wake_at - now)

    def _take_due(self, now: float) -> int | None:
        """Under the lock: mark the earliest due run in flight and return its id, if one is due and allowed."""
        if self._closed or self._fatal is not None or self._stopped is not None or now >= self._deadline \
                or self._busy >= self._concurrency:
            return None
        if not self._idle or self._idle[0][0] > now:
            return None
        _, _, run_id = heapq.heappop(self._idle)
        self._busy += 1
        return run_id

    def _push(self, due: list[tuple[int, float]]) -> None:
        """Under the lock: put runs the schedule released into the due-heap."""
        for run_id, at in due:
            track = self._tracks[run_id]
            track.next_due = at
            heapq.heappush(self._idle, (at, track.order, run_id))

    def _announce_settled(self) -> None:
        with self._cond:
            fresh, self._fresh = self._fresh, []
        for status in fresh:
            self._on_settled(status)

    def _start_workers(self, count: int) -> None:
        for index in range(count):
            worker = threading.Thread(target=self._worker, name=f"docketqa-poll-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _inside_deadline(self, due: float, *, now: float) -> float:
        """Keep a routine poll inside the deadline so its answer can still arrive; inf when no room is left."""
        latest = self._deadline - self._margin
        if due <= latest:
            return due
        return latest if latest > now else math.inf

    # --- worker threads ---------------------------------------------------------------------------------

    def _worker(self) -> None:
        _leave_signals_to_the_main_thread()
        while True:
            run_id = self._work.get()
            if run_id is None:
                return
            try:
                while run_id is not None:
                    self._poll(run_id)
                    with self._cond:
                        run_id = self._take_due(self._clock.now())
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which re-raises it
                with self._cond:
                    self._crash = exc
                    self._cond.notify_all()
                return

    def _poll(self, run_id: int) -> None:
        sent_at = self._clock.now()
        remaining = self._deadline - sent_at
        try:
            run = self._source.get_test_run(run_id, timeout=remaining)
        except AuthError as exc:
            self._record(run_id, fatal=exc.message)
        except TransientApiError as exc:
            self._record(run_id, transient=exc)
        except MalformedResponse as exc:
            self._record(run_id, malformed=exc)
        except ApiError as exc:
            self._record(run_id, error=exc.message)
        else:
            self._record(run_id, run=run, sent_at=sent_at)

    def _record(
        self,
        run_id: int,
        *,
        run: TestRun | None = None,
        sent_at: float | None = None,
        transient: TransientApiError | None = None,
        malformed: MalformedResponse | None = None,
        error: str | None = None,
        fatal: str | None = None,
    ) -> None:
        with self._cond:
            track = self._tracks[run_id]
            self._busy -= 1
            now = self._clock.now()
            status = dataclasses.replace(track.status, requests=track.status.requests + 1)
            if run is not None:
                track.transient = track.malformed = 0
                status = dataclasses.replace(status, run=run, last_error=None)
                # Start to start, not answer to start: the answer's round trip must not stretch the cycle
                # (a slower answer than the interval means the next poll goes out at once).
                started = now if sent_at is None else sent_at
                pause = self._interval_s * (1 - self._rng.uniform(0, self._settings.jitter))
                track.next_due = self._inside_deadline(max(now, started + pause), now=now)
            elif fatal is not None or error is not None:
                self._fatal = self._fatal or fatal
                status = dataclasses.replace(status, error=error or status.error, last_error=fatal or error)
            else:
                problem = transient or malformed
                assert problem is not None
                status = after_failure(track, status, problem=problem, retry=self._settings.retry, rng=self._rng,
                                       max_malformed=self._settings.max_malformed, now=now,
                                       remaining=self._deadline - now)
            track.status = status
            if status.settled:
                self._fresh.append(status)
                self._schedule.after_answer(run_id, Answer.SETTLED, due=math.inf, now=now)
            else:
                answer = Answer.RUNNING if run is not None else Answer.FAILED
                retry_after = isinstance(transient, TransientApiError) and transient.retry_after is not None
                due = self._schedule.after_answer(run_id, answer, due=track.next_due, now=now,
                                                  failures=track.transient, retry_after=retry_after)
                if due is not None:
                    self._push([(run_id, due)])
            self._cond.notify_all()


def _leave_signals_to_the_main_thread() -> None:
    """Block SIGINT/SIGTERM in the calling worker, so the kernel can only hand them to the main thread.

    Python runs signal handlers in the main thread only. A signal the kernel gives to a worker (stuck in a
    stalled request, or idle) just sets a flag, and the main thread sleeping on the poller's condition notices
    it only when it next wakes: up to a read timeout later, past a CI runner's grace before SIGKILL.
    """
    if hasattr(signal, "pthread_sigmask"):  # POSIX; Windows delivers console signals differently
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
