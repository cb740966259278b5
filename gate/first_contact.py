"""Until DocketQA first answers, an API that cannot be reached is said so on every retry and given up in ~30 s."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

from gate.clock import Clock
from gate.errors import ApiError, Unreachable
from gate.model import TestRun
from gate.retry import RetryPolicy
from gate.run_status import RunSource

#: How long `wait` keeps trying an API that has never answered (refused, unresolvable, no connection).
UNREACHABLE_BUDGET_S = 30.0
#: Short pauses: a service that is starting up is found quickly, and every retry is announced.
REACH_RETRY = RetryPolicy(base_s=1.0, cap_s=8.0, max_failures=1_000)


class FirstContact:
    """A RunSource in front of the client. Until DocketQA has answered once (with anything, even an error), a run
    whose request cannot connect is retried here, one request at a time, with a line each time naming host and
    port; after ``budget_s`` (or at the deadline) every run fails with ``gave_up``. Once DocketQA has answered,
    requests pass straight through and the poller's patient backoff under the deadline applies.
    """

    def __init__(
        self,
        source: RunSource,
        *,
        clock: Clock,
        rng: random.Random,
        deadline: float,
        note: Callable[[str], None],
        budget_s: float = UNREACHABLE_BUDGET_S,
    ) -> None:
        self._source = source
        self._clock = clock
        self._rng = rng
        self._deadline = deadline
        self._note = note
        self._budget_s = budget_s
        self._lock = threading.Lock()
        self._answered = False
        #: The retry loop's count and start, shared by every worker that joins it.
        self._failures = 0
        self._first_failure: float | None = None
        #: Why the gate stopped trying (set once the budget or the deadline ran out before any answer).
        self.gave_up: str | None = None

    def get_test_run(self, run_id: int, *, timeout: float) -> TestRun:
        if self.gave_up is not None:
            raise ApiError(self.gave_up)
        if self._answered:
            return self._source.get_test_run(run_id, timeout=timeout)
        # Every worker asks at once, as the poller intends (serializing them cost a poll round of 300 runs at
        # 50 ms about 9%, benchmarks/bench_scale.py); only a request that cannot connect joins the one retry loop.
        try:
            run = self._source.get_test_run(run_id, timeout=timeout)
        except Unreachable as exc:
            if self._answered:
                raise  # another run got an answer meanwhile: the poller's rules apply from now on
            with self._lock:  # the other workers wait here: one unreachable API gets one line per retry, not eight
                return self._until_answered(run_id, exc)
        except ApiError:
            self._answered = True  # it answered, if only with an error: it is there
            raise
        self._answered = True
        return run

    def _until_answered(self, run_id: int, exc: Unreachable) -> TestRun:
        """Pause, say so and try again until DocketQA answers, the budget runs out or the deadline comes."""
        while True:
            if self.gave_up is not None:
                raise ApiError(self.gave_up)
            if self._answered:  # another worker got through while this one waited for the lock
                return self._source.get_test_run(run_id, timeout=self._deadline - self._clock.now())
            self._failures += 1
            self._first_failure = self._clock.now() if self._first_failure is None else self._first_failure
            delay = self._delay(self._failures, since=self._first_failure)
            if delay is None:
                waited = self._clock.now() - self._first_failure
                self.gave_up = (
                    f"DocketQA at {exc.where} never answered in {waited:.0f} s of trying ({exc.why}): "
                    "check --api-url and that this machine can reach it"
                )
                raise ApiError(self.gave_up) from None
            self._note(f"DocketQA at {exc.where} has not answered yet ({exc.why}); trying again in {delay:.1f} s")
            self._clock.sleep(delay)
            try:
                run = self._source.get_test_run(run_id, timeout=self._deadline - self._clock.now())
            except Unreachable as again:
                exc = again
                continue
            except ApiError:
                self._answered = True
                raise
            self._answered = True
            return run

    def _delay(self, failures: int, *, since: float) -> float | None:
        """The pause before the next attempt, or None when it would start past the budget or the deadline."""
        end = min(since + self._budget_s, self._deadline)
        return REACH_RETRY.delay(failures, rng=self._rng, retry_after=None, remaining=end - self._clock.now())
