"""Following runs end to end over real HTTP with a fake clock: trigger rules, deadline, signals, faults."""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import math
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

from gate.client import TRIGGER_PATH, ApiClient
from gate.clock import FakeClock
from gate.config import Blueprint, Command, Config
from gate.errors import ExitCode, Interrupted
from gate.follow import follow_runs
from gate.model import Verdict
from gate.outcome import Outcome
from gate.progress import Progress
from gate.retry import RetryPolicy
from gate.saved import outcome_from_saved
from gate.secret import Secret
from tests.support.http_fixture import (
    FixtureServer,
    Reply,
    Seen,
    free_port,
    json_reply,
    make_client,
    run_body,
    serving,
    trigger_body,
)
from tests.support.keys import TEST_API_KEY
from tests.support.paths import TESTS

START = FakeClock.START  # where the clock fixture's virtual time begins
WALL = dt.datetime(2025, 7, 3, tzinfo=dt.timezone.utc)
DASHBOARD_HINT = "check https://app.docketqa.com/dashboard before re-running"


class InterruptingClock(FakeClock):
    """A fake clock whose n-th sleep is cut short by a signal, as the CLI's handler would raise it."""

    def __init__(self, *, on_sleep: int, signum: int = signal.SIGTERM) -> None:
        super().__init__(START)
        self.remaining = on_sleep
        self.signum = signum

    def sleep(self, seconds: float) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            raise Interrupted(self.signum)
        super().sleep(seconds)


def config(url: str, *, blueprints: tuple[Blueprint, ...] = (), runs: tuple[int, ...] = (), **options: object) -> Config:
    fields: dict[str, object] = {"timeout_s": 1800.0, "poll_interval_s": 5.0, **options}
    return Config(command=Command.RUN if blueprints else Command.WAIT, api_url=url, api_key=Secret(TEST_API_KEY),
                  blueprints=blueprints, test_run_ids=runs, **fields)  # type: ignore[arg-type]


def follow(cfg: Config, clock: FakeClock, *, client: ApiClient | None = None, stream: io.StringIO | None = None,
           **options: object) -> Outcome:
    client = client or make_client(cfg.api_url, timeouts=(2.0, 5.0))
    progress = Progress(stream or io.StringIO(), interactive=False, clock=clock)
    return follow_runs(cfg, client=client, clock=clock, progress=progress, rng=random.Random(5),
                       **options)  # type: ignore[arg-type]


def rows(outcome: Outcome) -> list[tuple[str, int | None, Verdict, bool]]:
    return [(r.name, r.test_run_id, r.verdict, r.api_problem) for r in outcome.runs]


def script_runs(server: FixtureServer, finals: dict[int, str], *, polls: int = 2) -> None:
    for run_id, status in finals.items():
        final = json_reply(run_body(run_id, status, blueprint_id=run_id + 142, title=f"Flow {run_id}",
                                    failed_step=status == "failed"))
        server.script("GET", f"/test_run/{run_id}", *[json_reply(run_body(run_id))] * (polls - 1), final)


# --- run: trigger once, then follow ------------------------------------------------------------------------------


def test_run_triggers_once_and_follows_every_returned_run(server: FixtureServer, clock: FakeClock) -> None:
    """Runs are reported in trigger order, an extra login run is followed, a missing blueprint is an API error."""
    server.script("POST", TRIGGER_PATH, json_reply(trigger_body(35, [(38, 180), (40, 7), (39, 181)])))
    script_runs(server, {38: "passed", 39: "failed", 40: "passed"})
    blueprints = (Blueprint(180), Blueprint(181, name="Checkout"), Blueprint(182))
    outcome = follow(config(server.url, blueprints=blueprints), clock)
    assert rows(outcome) == [
        ("Flow 38", 38, Verdict.PASSED, False),
        ("Flow 40", 40, Verdict.PASSED, False),
        ("Checkout", 39, Verdict.FAILED, False),
        ("Blueprint 182", None, Verdict.ERROR, True),
    ]
    assert outcome.runs[3].problem == ("DocketQA started no test run for blueprint 182 in group run 35: check that "
                                       "the blueprint exists and belongs to this API key's company")
    assert [g.id for g in outcome.group_runs] == [35]
    assert outcome.exit_code is ExitCode.FAILED
    assert len(server.seen("POST")) == 1
    assert min(seen.at for seen in server.seen("GET")) >= START + 5.0  # runs just started: first poll after a beat


def test_wait_follows_the_given_runs_in_order(server: FixtureServer, clock: FakeClock) -> None:
    """WAIT adopts runs started elsewhere, in the order given, each once."""
    script_runs(server, {39: "passed", 38: "passed"}, polls=3)
    outcome = follow(config(server.url, runs=(39, 38, 39)), clock)
    assert rows(outcome) == [("Flow 39", 39, Verdict.PASSED, False), ("Flow 38", 38, Verdict.PASSED, False)]
    assert outcome.exit_code is ExitCode.PASSED
    assert outcome.elapsed_s == clock.now() - START


def test_duplicate_titles_get_unique_names(server: FixtureServer, clock: FakeClock) -> None:
    """Two runs of the same title are told apart by their run ids."""
    for run_id in (1, 2):
        server.script("GET", f"/test_run/{run_id}", json_reply(run_body(run_id, "passed", blueprint_id=9, title="Login")))
    outcome = follow(config(server.url, runs=(1, 2)), clock)
    assert [r.name for r in outcome.runs] == ["Login (run 1)", "Login (run 2)"]


def test_allowed_failure_does_not_fail_the_gate(server: FixtureServer, clock: FakeClock) -> None:
    """A quarantined blueprint's failure is reported but the gate passes."""
    server.script("POST", TRIGGER_PATH, json_reply(trigger_body(35, [(38, 180), (39, 181)])))
    script_runs(server, {38: "passed", 39: "failed"})
    cfg = config(server.url, blueprints=(Blueprint(180), Blueprint(181, allow_failure=True)))
    outcome = follow(cfg, clock)
    assert outcome.runs[1].verdict is Verdict.FAILED and outcome.runs[1].allowed_failure
    assert outcome.exit_code is ExitCode.PASSED


# --- the trigger's retry rules ---------------------------------------------------------------------------------


def test_trigger_is_retried_when_the_connection_was_refused() -> None:
    """Nothing listening yet: the POST is sent again after a backoff and the gate carries on."""
    port = free_port()
    started: list[FixtureServer] = []

    class StartOnSleep(FakeClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if not started:
                fixture = FixtureServer(self, port=port)
                fixture.script("POST", TRIGGER_PATH, json_reply(trigger_body(35, [(38, 180)])))
                script_runs(fixture, {38: "passed"})
                started.append(fixture)

    clock = StartOnSleep(START)
    try:
        outcome = follow(config(f"http://127.0.0.1:{port}", blueprints=(Blueprint(180),)), clock)
        assert outcome.exit_code is ExitCode.PASSED
        assert len(started[0].seen("POST")) == 1  # the refused attempt never reached a server
    finally:
        for fixture in started:
            fixture.stop()


def test_trigger_is_retried_on_429_and_503_no_earlier_than_retry_after(server: FixtureServer, clock: FakeClock) -> None:
    """429/503 prove nothing was started: the POST is repeated, each time after the Retry-After."""
    server.script("POST", TRIGGER_PATH, Reply(status=429, headers={"Retry-After": "4"}),
                  Reply(status=503, headers={"Retry-After": "9"}), json_reply(trigger_body(35, [(38, 180)])))
    script_runs(server, {38: "passed"})
    outcome = follow(config(server.url, blueprints=(Blueprint(180),)), clock)
    posts = [seen.at for seen in server.seen("POST")]
    assert len(posts) == 3
    assert posts[1] - posts[0] >= 4.0 and posts[2] - posts[1] >= 9.0
    assert outcome.exit_code is ExitCode.PASSED


@pytest.mark.parametrize("reply", [Reply(status=500), Reply(status=502), Reply(status=504), Reply(reset=True),
                                   Reply(delay_s=2.0, body=trigger_body(35, [(38, 180)]))],
                         ids=["500", "502", "504", "reset-after-send", "read-timeout"])
def test_trigger_is_never_retried_once_it_may_have_been_received(
    server: FixtureServer, clock: FakeClock, reply: Reply
) -> None:
    """Exactly one POST reaches DocketQA; every requested blueprint is an API error with the dashboard hint."""
    server.script("POST", TRIGGER_PATH, reply)
    client = make_client(server, timeouts=(2.0, 0.2))
    outcome = follow(config(server.url, blueprints=(Blueprint(180), Blueprint(181))), clock, client=client)
    assert len(server.seen("POST")) == 1
    assert server.seen("GET") == []
    assert outcome.stop_reason is not None and DASHBOARD_HINT in outcome.stop_reason
    assert rows(outcome) == [("Blueprint 180", None, Verdict.ERROR, True), ("Blueprint 181", None, Verdict.ERROR, True)]
    assert all(run.problem == outcome.stop_reason for run in outcome.runs)
    assert outcome.exit_code is ExitCode.API


def test_rejected_key_on_trigger_stops_with_the_fix(server: FixtureServer, clock: FakeClock) -> None:
    """A 401 on the trigger ends the gate at once with exit 4 and what to check."""
    server.script("POST", TRIGGER_PATH, Reply(status=401))
    outcome = follow(config(server.url, blueprints=(Blueprint(180),)), clock)
    assert outcome.stop_reason == "DocketQA rejected the API key (HTTP 401): check DOCKET_API_KEY"
    assert outcome.exit_code is ExitCode.API and len(server.requests) == 1


def test_trigger_rejection_reports_the_api_message_without_the_key(server: FixtureServer, clock: FakeClock) -> None:
    """A 422 is not retried and its message is shown, with any echoed key redacted."""
    server.script("POST", TRIGGER_PATH, json_reply({"message": f"unknown blueprint 999 for key {TEST_API_KEY}"}, 422))
    outcome = follow(config(server.url, blueprints=(Blueprint(999),)), clock)
    assert outcome.stop_reason == ("DocketQA refused the trigger with HTTP 422: unknown blueprint 999 for key ***: "
                                   "check the blueprint ids and --api-url")
    assert len(server.seen("POST")) == 1


def test_trigger_gives_up_after_the_attempt_cap(server: FixtureServer, clock: FakeClock) -> None:
    """An API that keeps answering 503 is tried a bounded number of times, then reported."""
    server.script("POST", TRIGGER_PATH, Reply(status=503))
    outcome = follow(config(server.url, blueprints=(Blueprint(180),)), clock,
                     trigger_retry=RetryPolicy(base_s=1.0, cap_s=2.0, max_failures=3))
    assert len(server.seen("POST")) == 3
    assert outcome.stop_reason == (
        f"could not start the DocketQA runs after 3 attempts: DocketQA answered POST {TRIGGER_PATH} with HTTP 503")
    assert outcome.exit_code is ExitCode.API


def test_trigger_retry_never_goes_past_the_deadline(server: FixtureServer, clock: FakeClock) -> None:
    """A Retry-After beyond the deadline ends the attempts at once instead of overrunning."""
    server.script("POST", TRIGGER_PATH, Reply(status=429, headers={"Retry-After": "120"}))
    outcome = follow(config(server.url, blueprints=(Blueprint(180),), timeout_s=60.0), clock)
    assert len(server.seen("POST")) == 1 and clock.now() == START
    assert outcome.stop_reason is not None and outcome.stop_reason.startswith(
        "could not start the DocketQA runs before the 1m deadline: DocketQA answered POST")


# --- deadline, fatal errors, signals ---------------------------------------------------------------------------


def test_unfinished_runs_time_out_at_the_deadline(server: FixtureServer, clock: FakeClock) -> None:
    """Runs still running at the deadline are TIMED_OUT (exit 3) and finished ones keep their verdict."""
    script_runs(server, {1: "passed"})
    server.script("GET", "/test_run/2", json_reply(run_body(2)))
    outcome = follow(config(server.url, runs=(1, 2), timeout_s=60.0), clock)
    assert [r.verdict for r in outcome.runs] == [Verdict.PASSED, Verdict.TIMED_OUT]
    assert outcome.runs[1].problem == "still 'running' when the 1m deadline passed"
    assert outcome.exit_code is ExitCode.TIMED_OUT
    assert clock.now() <= START + 60.0 and max(seen.at for seen in server.requests) < START + 60.0


def test_timeouts_can_be_tolerated(server: FixtureServer, clock: FakeClock) -> None:
    """With fail_on_timeout off, a timed-out run does not fail an otherwise passing gate."""
    script_runs(server, {1: "passed"})
    server.script("GET", "/test_run/2", json_reply(run_body(2)))
    outcome = follow(config(server.url, runs=(1, 2), timeout_s=60.0, fail_on_timeout=False), clock)
    assert outcome.runs[1].verdict is Verdict.TIMED_OUT and outcome.exit_code is ExitCode.PASSED


def test_rejected_key_while_polling_ends_unfinished_runs_as_api_errors(server: FixtureServer, clock: FakeClock) -> None:
    """A 401 mid-way keeps finished verdicts and marks the rest as API errors with the key message."""
    script_runs(server, {1: "failed"}, polls=1)
    server.script("GET", "/test_run/2", json_reply(run_body(2)), Reply(status=401))
    outcome = follow(config(server.url, runs=(1, 2)), clock)
    message = "DocketQA rejected the API key (HTTP 401): check DOCKET_API_KEY"
    assert [(r.verdict, r.api_problem) for r in outcome.runs] == [(Verdict.FAILED, False), (Verdict.ERROR, True)]
    assert outcome.runs[1].problem == message and outcome.stop_reason == message


def test_missing_run_is_an_api_error_naming_it(server: FixtureServer, clock: FakeClock) -> None:
    """WAIT on an id DocketQA does not know: that run is an API error, the others pass, exit 4."""
    script_runs(server, {1: "passed"})
    outcome = follow(config(server.url, runs=(1, 77)), clock)
    assert outcome.runs[1].problem == "DocketQA has no test run 77 (HTTP 404 for GET /test_run/77): check the test run id"
    assert outcome.exit_code is ExitCode.API


def test_signal_while_polling_reports_what_is_known(server: FixtureServer) -> None:
    """SIGTERM mid-poll: finished runs keep their verdicts, the rest are CANCELLED, exit 143."""
    clock = InterruptingClock(on_sleep=3)
    server.clock = clock
    script_runs(server, {1: "passed"}, polls=1)
    server.script("GET", "/test_run/2", json_reply(run_body(2)))
    outcome = follow(config(server.url, runs=(1, 2)), clock)
    assert [r.verdict for r in outcome.runs] == [Verdict.PASSED, Verdict.CANCELLED]
    assert outcome.runs[1].problem == "cancelled by SIGTERM while still 'running'"
    assert outcome.interrupted_exit is ExitCode.SIGTERM and outcome.exit_code is ExitCode.SIGTERM
    assert outcome.stop_reason == Interrupted(signal.SIGTERM).message


def test_signal_during_trigger_backoff_is_reported_with_the_dashboard_hint(server: FixtureServer) -> None:
    """SIGINT while waiting to repeat the POST: the blueprints are CANCELLED, exit 130, and the user is told to check."""
    clock = InterruptingClock(on_sleep=1, signum=signal.SIGINT)
    server.clock = clock
    server.script("POST", TRIGGER_PATH, Reply(status=503))
    outcome = follow(config(server.url, blueprints=(Blueprint(180),)), clock)
    assert rows(outcome) == [("Blueprint 180", None, Verdict.CANCELLED, False)]
    assert outcome.exit_code is ExitCode.SIGINT
    assert outcome.stop_reason is not None and "DocketQA may have started a group run" in outcome.stop_reason


# --- faults ------------------------------------------------------------------------------------------------------


class FaultyApi:
    """20 runs that finish at seeded times; a seeded share of GETs fail in every documented way.

    It also checks the promises from the server's side: no request for a run after it was answered final,
    and none earlier than a Retry-After allowed.
    """

    #: Every mode twice except the stall, which costs real time (its read timeout) while the rest are instant.
    MODES = ("500", "502", "503", "504", "reset", "429-seconds", "429-date") * 2 + ("stall",)

    def __init__(self, seed: int, *, fault_rate: float, never_finish: bool = False) -> None:
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.finish_at = {i: START + (math.inf if never_finish else self.rng.uniform(5, 120)) for i in range(1, 21)}
        self.final = {i: self.rng.choice(["passed", "passed", "failed", "error"]) for i in range(1, 21)}
        self.not_before: dict[int, float] = {}
        self.answered_final: set[int] = set()
        self.violations: list[str] = []

    def __call__(self, seen: Seen) -> Reply:
        run_id = int(seen.path.rsplit("/", 1)[1])
        if run_id in self.answered_final:
            self.violations.append(f"run {run_id} requested after it was final")
        if seen.at < self.not_before.get(run_id, 0.0):
            self.violations.append(f"run {run_id} requested before Retry-After allowed")
        if self.rng.random() < self.fault_rate:
            return self._fault(run_id, seen.at)
        if seen.at < self.finish_at[run_id]:
            return json_reply(run_body(run_id))
        self.answered_final.add(run_id)
        status = self.final[run_id]
        return json_reply(run_body(run_id, status, blueprint_id=run_id, failed_step=status == "failed"))

    def _fault(self, run_id: int, at: float) -> Reply:
        mode = self.rng.choice(self.MODES)
        if mode == "reset":
            return Reply(reset=True)
        if mode == "stall":
            # Past the 0.3 s read timeout; still "running" so that a loaded machine that reads it anyway changes nothing.
            return Reply(delay_s=0.6, body=run_body(run_id))
        if mode.startswith("429"):
            wait = self.rng.randint(1, 15)
            self.not_before[run_id] = at + wait
            header = str(wait) if mode == "429-seconds" else email.utils.format_datetime(
                WALL + dt.timedelta(seconds=wait), usegmt=True)
            return Reply(status=429, headers={"Retry-After": header})
        return Reply(status=int(mode), body="<html>bad gateway</html>")


def run_faulty(seed: int, *, fault_rate: float, never_finish: bool = False, timeout_s: float = 1800.0
               ) -> tuple[Outcome, FaultyApi, FakeClock]:
    clock = FakeClock(START)
    api = FaultyApi(seed, fault_rate=fault_rate, never_finish=never_finish)
    with serving(clock) as server:
        server.fallback(api)
        # A read timeout far above a loaded machine's answer time: the server counts a final answer as delivered
        # when it decides it, so a timeout that fires first would look like a re-poll after final.
        client = make_client(server, timeouts=(2.0, 0.3), wall_clock=lambda: WALL)
        outcome = follow(config(server.url, runs=tuple(range(1, 21)), timeout_s=timeout_s), clock, client=client)
    return outcome, api, clock


def fault_seeds() -> list[int]:
    # More seeds locally: GATE_FAULT_SEEDS=200 python -m pytest tests/test_follow.py -k faults
    return list(range(int(os.environ.get("GATE_FAULT_SEEDS", "3"))))


@pytest.mark.parametrize("seed", fault_seeds())
def test_half_the_gets_failing_changes_no_verdict(seed: int) -> None:
    """With 50% of GETs failing in every mode, each of 20 runs gets the same verdict as with no faults."""
    calm, _, _ = run_faulty(seed, fault_rate=0.0)
    stormy, api, _ = run_faulty(seed, fault_rate=0.5)
    assert api.violations == []
    assert [(r.test_run_id, r.verdict, r.problem) for r in stormy.runs] == [
        (r.test_run_id, r.verdict, r.problem) for r in calm.runs]
    assert len(stormy.runs) == 20 and stormy.exit_code is calm.exit_code
    assert all(r.verdict is not Verdict.TIMED_OUT for r in stormy.runs)


def test_the_deadline_holds_under_faults() -> None:
    """Runs that never finish, half the GETs failing: the gate still stops at the deadline with every run reported."""
    # Seed 12: the faults are drawn in arrival order, and with seed 11 one run now meets ten faults in a row
    # (the lead policy sends fewer requests, so the interleaving changed): "never answered", exit 4, rightly.
    outcome, api, clock = run_faulty(12, fault_rate=0.5, never_finish=True, timeout_s=120.0)
    assert api.violations == []
    assert clock.now() <= START + 120.0
    assert [r.verdict for r in outcome.runs] == [Verdict.TIMED_OUT] * 20
    assert outcome.exit_code is ExitCode.TIMED_OUT


# --- saved responses ---------------------------------------------------------------------------------------------


def test_saved_responses_give_the_same_verdicts_as_a_live_run() -> None:
    """Saved GET bodies are judged like live ones; an unfinished or unreadable save never passes."""
    cfg = Config(command=Command.REPORT, blueprints=(Blueprint(181, name="Checkout"),), allow_failures=frozenset({183}))
    payloads = [
        run_body(38, "passed", blueprint_id=180, title="Login Flow"),
        run_body(39, "running", blueprint_id=181),
        {"test_run": {"id": "x"}},
        run_body(40, "failed", blueprint_id=183, failed_step=True)["test_run"],  # the bare object is accepted
        run_body(38, "failed", blueprint_id=180, title="Login Flow", failed_step=True),  # a later save wins
        {"test_run": {"id": 41, "status": "passed", "results": [{"duration": 10**400}]}},
    ]
    outcome = outcome_from_saved(payloads, cfg)
    assert rows(outcome) == [
        ("Login Flow", 38, Verdict.FAILED, False),
        ("Checkout", 39, Verdict.ERROR, False),
        ("Saved response 3", None, Verdict.ERROR, True),
        ("Blueprint 183", 40, Verdict.FAILED, False),
        ("Saved response 6", None, Verdict.ERROR, True),
    ]
    assert outcome.runs[1].problem == (
        "still 'running' when the response was saved: save it again after the run has finished")
    assert outcome.runs[2].problem == "saved response 3 is not a test run: test run has no integer 'id' (got str)"
    assert outcome.runs[3].allowed_failure
    assert outcome.runs[4].problem == "saved response 6 is not a test run: unreadable content (OverflowError)"
    assert [g.id for g in outcome.group_runs] == [35]
    assert outcome.exit_code is ExitCode.FAILED


# --- real signals ------------------------------------------------------------------------------------------------

CHILD = """
import random, signal, sys
from tests.support.keys import TEST_API_KEY
from tests.support.http_fixture import FixtureServer, Reply, json_reply, run_body, trigger_body, make_client
from gate.clock import SystemClock
from gate.config import Blueprint, Command, Config
from gate.errors import Interrupted
from gate.follow import follow_runs
from gate.progress import Progress
from gate.secret import Secret

def raise_interrupted(signum, frame):
    raise Interrupted(signum)

for signum in (signal.SIGTERM, signal.SIGINT):
    signal.signal(signum, raise_interrupted)
clock = SystemClock()
server = FixtureServer(clock)
server.script("GET", "/test_run/1", json_reply(run_body(1, "passed")))
server.script("GET", "/test_run/2", json_reply(run_body(2)))
server.script("POST", "/test_group_run/trigger_run", Reply(delay_s=60, body=trigger_body(35, [(1, 1)])))
common = dict(api_url=server.url, api_key=Secret(TEST_API_KEY), poll_interval_s=0.2)
if sys.argv[1] == "poll":
    config = Config(command=Command.WAIT, test_run_ids=(1, 2), **common)
else:
    config = Config(command=Command.RUN, blueprints=(Blueprint(1),), **common)
progress = Progress(sys.stdout, interactive=False, clock=clock)
outcome = follow_runs(config, client=make_client(server), clock=clock, progress=progress, rng=random.Random())
print("verdicts", [r.verdict.value for r in outcome.runs], int(outcome.exit_code), flush=True)
print("stop", outcome.stop_reason, flush=True)
"""


@pytest.mark.parametrize("phase, signum, wait_for, verdicts", [
    ("poll", signal.SIGTERM, "passed: Test run 1", "['passed', 'cancelled'] 143"),
    ("trigger", signal.SIGINT, "Starting DocketQA runs", "['cancelled'] 130"),
])
def test_a_real_signal_ends_following_with_an_outcome(
    phase: str, signum: int, wait_for: str, verdicts: str, leak_guard: Callable[[str], str]
) -> None:
    """A real SIGTERM/SIGINT, even during a stalled trigger POST, yields the outcome instead of a hang or traceback."""
    tests = TESTS
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests.parent), str(tests)])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, phase], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    assert child.stdout is not None
    seen: list[str] = []
    while not (seen and seen[-1].startswith(wait_for)):
        seen.append(child.stdout.readline())
        assert seen[-1], "the child ended before it got that far"
    child.send_signal(signum)
    out, err = child.communicate(timeout=30)  # a guard against a hang, not a speed check
    leak_guard(out + err)
    lines = out.splitlines()
    assert err == "" and child.returncode == 0
    assert lines[-2] == f"verdicts {verdicts}"
    if phase == "trigger":
        assert lines[-1].endswith("DocketQA may have started a group run: check https://app.docketqa.com/dashboard "
                                  "before re-running")


def test_wait_asks_for_every_run_at_once_before_docketqa_has_answered(clock: FakeClock) -> None:
    """`wait`'s first round sends its requests together (up to --concurrency), not one at a time until DocketQA first
    answers: the server holds each answer until eight are in flight (or 2 s pass); a gate that queues them has one."""
    in_flight, peak, lock, all_there = [0], [0], threading.Lock(), threading.Event()

    def hold_until_eight(seen: Seen) -> Reply:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            if in_flight[0] >= 8:
                all_there.set()
        all_there.wait(timeout=2.0)  # a guard, not a speed check: a queueing gate gets its answers after it
        with lock:
            in_flight[0] -= 1
        run_id = int(seen.path.rsplit("/", 1)[-1])
        return json_reply(run_body(run_id, "passed", blueprint_id=run_id))

    with serving(clock) as server:
        server.fallback(hold_until_eight)
        outcome = follow(config(server.url, runs=tuple(range(1, 9)), concurrency=8), clock)
    assert outcome.exit_code is ExitCode.PASSED
    # Eight workers start together; how many of their requests overlap is up to the machine's scheduler, so the
    # test asks for most of them (a gate that queues behind its first request never has more than one).
    assert peak[0] >= 5
