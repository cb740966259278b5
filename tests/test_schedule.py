"""The lead-and-sweeps polling policy against the sandbox on virtual time: requests per run, verdict timing."""

from __future__ import annotations

import collections
import contextlib
import io
import random
from collections.abc import Iterator

import pytest

from gate.clock import FakeClock
from gate.config import Blueprint, Command, Config
from gate.errors import ExitCode
from gate.follow import follow_runs
from gate.model import Verdict
from gate.outcome import Outcome
from gate.progress import Progress
from gate.sandbox import Sandbox
from gate.sandbox.faults import FaultMode, FaultPlan
from gate.sandbox.scenarios import Scenario, timed
from gate.secret import Secret
from tests.support.http_fixture import make_client
from tests.support.keys import TEST_API_KEY

START = 1000.0
FIRST_RUN = 38  # the sandbox's first test run id


def lead_of(scn: Scenario) -> int:
    """The first run a ``run`` starts (the lead): the sandbox's own group at start took one id per blueprint."""
    return FIRST_RUN + len(scn.blueprints)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


class Gate:
    """The gate's ``run`` against a sandbox on the fake clock; what it did is read back from the sandbox."""

    def __init__(self, sandbox: Sandbox, clock: FakeClock) -> None:
        self.sandbox, self.clock = sandbox, clock
        self.log = io.StringIO()

    def run(self, *, interval_s: float = 1.0, timeout_s: float = 600.0, fail_fast: bool = False,
            **options: object) -> Outcome:
        ids = self.sandbox.scenario.blueprint_ids
        cfg = Config(command=Command.RUN, api_url=self.sandbox.url, api_key=Secret(TEST_API_KEY),
                     blueprints=tuple(Blueprint(i) for i in ids), poll_interval_s=interval_s, timeout_s=timeout_s,
                     fail_fast=fail_fast, **options)  # type: ignore[arg-type]
        client = make_client(self.sandbox.url, timeouts=(2.0, 5.0))
        progress = Progress(self.log, interactive=False, clock=self.clock)
        return follow_runs(cfg, client=client, clock=self.clock, progress=progress, rng=random.Random(7))

    @property
    def requests(self) -> int:
        return len(self.sandbox.requests)

    def gets(self) -> list[tuple[int, float]]:
        """(run id, arrival) of every GET for a run, faulted ones included."""
        return [(int(r.path.rsplit("/", 1)[1]), r.at) for r in self.sandbox.requests
                if r.method == "GET" and r.path.startswith("/test_run/")]

    def per_run(self) -> dict[int, int]:
        return dict(collections.Counter(run_id for run_id, _ in self.gets()))

    def last_final(self) -> float:
        group = self.sandbox.triggered_group_ids[0]
        return max(self.sandbox.final_at(run_id) for run_id in self.sandbox.run_ids_of_group(group))

    def arrivals(self, run_id: int) -> list[float]:
        return [at for run, at in self.gets() if run == run_id]


@contextlib.contextmanager
def gate_on(scn: Scenario, clock: FakeClock, **sandbox_options: object) -> Iterator[Gate]:
    with Sandbox(scenario=scn, api_key=TEST_API_KEY, clock=clock, **sandbox_options) as sandbox:  # type: ignore[arg-type]
        yield Gate(sandbox, clock)


def assert_prompt_and_clean(gate: Gate, outcome: Outcome, *, interval_s: float = 1.0) -> None:
    """Every run final, none requested after its final answer, the verdict within one interval of the last."""
    assert all(r.verdict in (Verdict.PASSED, Verdict.FAILED) for r in outcome.runs)
    assert gate.sandbox.runs_requested_after_final() == []
    assert gate.last_final() <= gate.clock.now() <= gate.last_final() + interval_s + 0.3


def today(scn: Scenario, *, interval_s: float = 1.0) -> int:
    """Requests on the same scenario when every run is polled every interval (what --fail-fast does)."""
    with Sandbox(scenario=scn, api_key=TEST_API_KEY, clock=FakeClock(START)) as sandbox:
        gate = Gate(sandbox, sandbox.clock)  # type: ignore[arg-type]
        outcome = gate.run(fail_fast=True, interval_s=interval_s, timeout_s=1800.0)
        assert all(r.verdict is Verdict.PASSED for r in outcome.runs)
        return gate.requests


def test_runs_finishing_together_cost_the_lead_and_two_requests_each(clock: FakeClock) -> None:
    """(a) 20 runs finishing within the same 4 s after 30 s, 1 s interval: at most 30 + 2 x 20 requests."""
    scn = timed([30 + 4 * i / 19 for i in range(20)])
    with gate_on(scn, clock) as gate:
        outcome = gate.run()
        assert gate.requests <= 70, gate.per_run()
        assert max(count for run, count in gate.per_run().items() if run != lead_of(scn)) <= 3
        assert_prompt_and_clean(gate, outcome)
        assert outcome.exit_code is ExitCode.PASSED and len(outcome.runs) == 20


def test_runs_finishing_evenly_cost_at_most_half_of_polling_every_run(clock: FakeClock) -> None:
    """(b) 20 runs finishing evenly over 30 s: at most half the requests of polling every run every interval."""
    scn = timed([1.5 * (i + 1) for i in range(20)])
    with gate_on(scn, clock) as gate:
        outcome = gate.run()
        assert gate.requests <= 0.5 * today(scn), gate.per_run()
        assert_prompt_and_clean(gate, outcome)
        finished_lines = [line for line in gate.log.getvalue().splitlines() if line.startswith("passed: ")]
        assert len(finished_lines) == 20  # every run's end is still reported, just not the moment it happens


@pytest.mark.parametrize("interval_s", [5.0, 120.0])
def test_runs_finishing_far_apart_never_cost_more_than_polling_every_run(clock: FakeClock, interval_s: float) -> None:
    """Runs minutes apart, progress sweeps included: no more requests than every run every interval, verdict prompt."""
    scn = timed([600.0, 90.0, 200.0, 330.0, 450.0, 590.0])
    with gate_on(scn, clock) as gate:
        outcome = gate.run(interval_s=interval_s, timeout_s=1800.0)
        assert gate.requests <= today(scn, interval_s=interval_s), gate.per_run()
        assert_prompt_and_clean(gate, outcome, interval_s=interval_s)
        swept = [count for run, count in gate.per_run().items() if run != lead_of(scn)]
        assert max(swept) >= 2  # progress sweeps did happen


def test_the_lead_finishing_last_leaves_the_others_to_one_request_each(clock: FakeClock) -> None:
    """When the lead is the last to finish, each other run is asked once, when the lead turns final."""
    scn = timed([40.0] + [5.0 + i for i in range(9)])
    with gate_on(scn, clock) as gate:
        outcome = gate.run()
        counts = gate.per_run()
        assert [counts[run] for run in sorted(counts) if run != lead_of(scn)] == [1] * 9
        assert counts[lead_of(scn)] <= 40 / 0.9 + 1
        assert_prompt_and_clean(gate, outcome)


def test_the_deadline_sweeps_every_run_once_more_and_sends_nothing_after_it(clock: FakeClock) -> None:
    """A lead that never finishes: the others, finished unseen, are looked at before the deadline, not timed out."""
    scn = timed([900.0] + [10.0 + i for i in range(5)])
    with gate_on(scn, clock) as gate:
        outcome = gate.run(interval_s=5.0, timeout_s=45.0)
        assert [r.verdict for r in outcome.runs] == [Verdict.TIMED_OUT] + [Verdict.PASSED] * 5
        assert outcome.exit_code is ExitCode.TIMED_OUT
        counts = gate.per_run()
        assert all(counts[run] == 1 for run in counts if run != lead_of(scn))
        assert max(r.at for r in gate.sandbox.requests) < START + 45.0
        assert clock.now() <= START + 45.0


def test_a_429_on_the_lead_pauses_it_without_handing_over(clock: FakeClock) -> None:
    """A Retry-After on the lead is honoured and no other run is asked meanwhile; every run still ends final."""
    scn = timed([20.0, 8.0, 12.0, 16.0])
    plan = FaultPlan(rate=1.0, modes=(FaultMode.RATE_LIMIT_SECONDS,), retry_after=7, max_per_path=1,
                     paths=frozenset({f"/test_run/{lead_of(scn)}"}))
    with gate_on(scn, clock, faults=plan) as gate:
        outcome = gate.run()
        lead = gate.arrivals(lead_of(scn))
        assert lead[1] - lead[0] >= 7.0
        assert not [r for r in gate.sandbox.requests if lead[0] < r.at < lead[1]]
        assert_prompt_and_clean(gate, outcome)
        assert gate.requests <= 1 + 25 + 3


def test_a_lead_that_fails_first_is_reported_and_the_rest_are_still_followed(clock: FakeClock) -> None:
    """The lead fails first: its failure is logged when seen, the others are followed to the end, exit 1."""
    scn = timed([5.0, 12.0, 14.0, 16.0], failing=frozenset({0}))
    with gate_on(scn, clock) as gate:
        outcome = gate.run()
        assert [r.verdict for r in outcome.runs] == [Verdict.FAILED] + [Verdict.PASSED] * 3
        assert outcome.exit_code is ExitCode.FAILED
        log = gate.log.getvalue()
        assert log.index("FAILED") < log.index("passed: ")
        assert gate.arrivals(lead_of(scn))[-1] <= START + 5.0 + 1.0  # seen within an interval of failing
        assert_prompt_and_clean(gate, outcome)
        assert gate.requests <= 1 + 17 + 3 * 2


def test_a_lead_whose_requests_keep_failing_hands_over_and_never_stalls_the_rest(clock: FakeClock) -> None:
    """Every GET for the lead fails: another run leads, the others are seen final promptly, the lead backs off."""
    scn = timed([5.0, 10.0, 20.0, 30.0])
    plan = FaultPlan(rate=1.0, modes=(FaultMode.HTTP_502,), paths=frozenset({f"/test_run/{lead_of(scn)}"}))
    with gate_on(scn, clock, faults=plan) as gate:
        outcome = gate.run(timeout_s=60.0)
        first, *others = outcome.runs
        assert first.verdict is Verdict.ERROR and first.api_problem
        assert [r.verdict for r in others] == [Verdict.PASSED] * 3
        for run_id in (lead_of(scn) + 2, lead_of(scn) + 3):
            seen_final = max(gate.arrivals(run_id))
            assert gate.sandbox.final_at(run_id) <= seen_final <= gate.sandbox.final_at(run_id) + 1.3
        assert len(gate.arrivals(lead_of(scn))) < 60 / 4  # backing off, not polled every interval
        assert gate.sandbox.runs_requested_after_final() == []


# --- --fail-fast -------------------------------------------------------------------------------------------------


def test_fail_fast_stops_at_the_first_failure_and_leaves_the_rest_not_awaited(clock: FakeClock) -> None:
    """--fail-fast polls every run every interval and stops within one interval of the first failure: exit 1."""
    scn = timed([60.0, 7.3, 60.0, 4.0, 60.0], failing=frozenset({1}))
    with gate_on(scn, clock) as gate:
        outcome = gate.run(fail_fast=True)
        assert [r.verdict for r in outcome.runs] == [
            Verdict.NOT_AWAITED, Verdict.FAILED, Verdict.NOT_AWAITED, Verdict.PASSED, Verdict.NOT_AWAITED]
        assert outcome.exit_code is ExitCode.FAILED and outcome.counts.not_awaited == 3
        failed_at = gate.sandbox.final_at(lead_of(scn) + 1)
        assert failed_at <= clock.now() <= failed_at + 1.0 + 0.3
        assert max(r.at for r in gate.sandbox.requests) <= clock.now()
        assert min(gate.per_run()[lead_of(scn) + i] for i in (0, 2, 4)) >= 7  # every run, every interval
        assert outcome.stop_reason == ("stopped at the first failure (--fail-fast): Flow 02 (test run "
                                       f"{lead_of(scn) + 1}); runs still going were not awaited")
        assert outcome.runs[0].problem == "not awaited: still 'running' when --fail-fast stopped the gate"


def test_fail_fast_does_not_claim_an_early_stop_when_the_failure_is_the_last_run_going(clock: FakeClock) -> None:
    """The last unfinished run fails: a plain failure, no 'stopped early' and no 'runs still going'."""
    scn = timed([0.5, 3.0], failing=frozenset({1}))
    with gate_on(scn, clock) as gate:
        outcome = gate.run(fail_fast=True)
        assert [r.verdict for r in outcome.runs] == [Verdict.PASSED, Verdict.FAILED]
        assert outcome.exit_code is ExitCode.FAILED and outcome.counts.not_awaited == 0
        assert outcome.stop_reason is None


def test_fail_fast_goes_on_past_an_allowed_failure(clock: FakeClock) -> None:
    """An allowed failure does not stop --fail-fast; the next failure that counts does."""
    scn = timed([3.0, 6.0, 30.0, 9.0], failing=frozenset({0, 1}))
    with gate_on(scn, clock) as gate:
        outcome = gate.run(fail_fast=True, allow_failures=frozenset({1001}))
        assert [r.verdict for r in outcome.runs] == [
            Verdict.FAILED, Verdict.FAILED, Verdict.NOT_AWAITED, Verdict.NOT_AWAITED]
        assert outcome.runs[0].allowed_failure and not outcome.runs[1].allowed_failure
        assert gate.sandbox.final_at(lead_of(scn) + 1) <= clock.now() <= gate.sandbox.final_at(lead_of(scn) + 1) + 1.3
        assert outcome.exit_code is ExitCode.FAILED


def test_fail_fast_with_only_allowed_failures_follows_every_run_to_the_end(clock: FakeClock) -> None:
    """Nothing that counts fails: --fail-fast never stops, every run is awaited and the gate passes."""
    scn = timed([3.0, 8.0, 12.0], failing=frozenset({0}))
    with gate_on(scn, clock) as gate:
        outcome = gate.run(fail_fast=True, allow_failures=frozenset({1001}))
        assert [r.verdict for r in outcome.runs] == [Verdict.FAILED, Verdict.PASSED, Verdict.PASSED]
        assert outcome.exit_code is ExitCode.PASSED and outcome.counts.not_awaited == 0
        assert outcome.stop_reason is None
        assert_prompt_and_clean(gate, outcome)
