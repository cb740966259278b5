"""Progress output: sparse lines and a 30 s heartbeat in CI, one live line on a terminal."""

from __future__ import annotations

import io
import random

from gate.clock import FakeClock
from gate.config import Command, Config
from gate.follow import follow_runs
from gate.model import Verdict
from gate.outcome import RunOutcome
from gate.progress import Progress, Tally, format_elapsed
from gate.secret import Secret
from tests.support.http_fixture import json_reply, make_client, run_body, serving
from tests.support.keys import TEST_API_KEY


def outcome(name: str, verdict: Verdict, *, problem: str | None = None, allowed: bool = False) -> RunOutcome:
    return RunOutcome(name=name, verdict=verdict, test_run_id=38, blueprint_id=180, problem=problem,
                      allowed_failure=allowed)


def test_ci_prints_a_line_per_finished_run_with_the_reason() -> None:
    """Without a terminal each finished run gets one line naming it, its run id and why it did not pass."""
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream, interactive=False, clock=clock)
    progress.run_finished(outcome("Login Flow", Verdict.PASSED), Tally(total=3, finished=1))
    progress.run_finished(outcome("Checkout", Verdict.FAILED, problem="Step 1 failed: Open: no form"),
                          Tally(total=3, finished=2, failed=1))
    progress.run_finished(outcome("Search", Verdict.FAILED, allowed=True), Tally(total=3, finished=3, failed=1))
    assert stream.getvalue().splitlines() == [
        "passed: Login Flow (test run 38)",
        "FAILED: Checkout (test run 38): Step 1 failed: Open: no form",
        "failed (allowed failure): Search (test run 38)",
    ]


def test_ci_heartbeat_comes_at_most_every_30_seconds() -> None:
    """Frequent heartbeat calls print the tally only when 30 s have passed since the last one."""
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream, interactive=False, clock=clock)
    tally = Tally(total=5, finished=3, failed=1)
    printed_at = []
    for _ in range(100):
        clock.advance(1.5)
        before = stream.getvalue()
        progress.heartbeat(tally)
        if stream.getvalue() != before:
            printed_at.append(format_elapsed(clock.now() - 1000.0))
    assert printed_at == ["00:30", "01:00", "01:30", "02:00", "02:30"]
    assert stream.getvalue().splitlines()[0] == "3/5 finished · 1 failed · 2 running · 00:30 elapsed"


def test_terminal_rewrites_one_live_line() -> None:
    """On a terminal the tally is redrawn in place with a carriage return, never as new lines."""
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream, interactive=True, clock=clock)
    for finished in range(3):
        clock.advance(2)
        progress.heartbeat(Tally(total=3, finished=finished))
    assert "\n" not in stream.getvalue()
    assert stream.getvalue().count("\r") == 3
    assert stream.getvalue().endswith("\r\x1b[2K2/3 finished · 0 failed · 1 running · 00:06 elapsed")
    progress.run_finished(outcome("Login", Verdict.PASSED), Tally(total=3, finished=3))
    progress.done(Tally(total=3, finished=3))
    assert stream.getvalue().endswith("passed: Login (test run 38)\n\r\x1b[2K3/3 finished · 0 failed · 0 running · "
                                      "00:06 elapsed\r\x1b[2K3/3 finished · 0 failed · 0 running · 00:06 elapsed\n")


def test_docketqa_text_is_one_line_and_sanitised() -> None:
    """A hostile title cannot start a line of its own, and the platform's escaper sees every DocketQA string."""
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream, interactive=False, clock=clock, sanitize=lambda text: text.replace("::", "∶∶"))
    title = "Login\n::error::pwned\r\n::add-mask::x"
    progress.run_finished(outcome(title, Verdict.FAILED, problem="Step 1 failed: \n::warning::x"), Tally(total=1))
    lines = stream.getvalue().splitlines()
    assert lines == ["FAILED: Login ∶∶error∶∶pwned ∶∶add-mask∶∶x (test run 38): Step 1 failed: ∶∶warning∶∶x"]


def test_a_broken_log_stream_does_not_stop_the_gate() -> None:
    """Writing progress to a closed stream is ignored rather than raised."""
    stream = io.StringIO()
    stream.close()
    progress = Progress(stream, interactive=False, clock=FakeClock())
    progress.note("Starting")
    progress.run_finished(outcome("Login", Verdict.PASSED), Tally(total=1, finished=1))


def test_elapsed_is_minutes_and_seconds_then_hours() -> None:
    """Elapsed time reads 02:10 under an hour and 1:02:10 beyond."""
    assert [format_elapsed(s) for s in (0, 130, 3730)] == ["00:00", "02:10", "1:02:10"]


def test_following_runs_prints_nothing_per_poll_request() -> None:
    """Many polls produce only the start lines, one line per finished run, and a heartbeat per 30 s."""
    clock, stream = FakeClock(1000.0), io.StringIO()
    with serving(clock) as server:
        server.script("GET", "/test_run/1", *[json_reply(run_body(1))] * 40, json_reply(run_body(1, "passed")))
        server.script("GET", "/test_run/2", json_reply(run_body(2, "failed", blueprint_id=5, failed_step=True)))
        config = Config(command=Command.WAIT, api_url=server.url, api_key=Secret(TEST_API_KEY), test_run_ids=(1, 2),
                        poll_interval_s=5.0)
        result = follow_runs(config, client=make_client(server), clock=clock, rng=random.Random(1),
                             progress=Progress(stream, interactive=False, clock=clock))
    assert len(server.requests) == 42
    lines = stream.getvalue().splitlines()
    heartbeats = [line for line in lines if line.startswith("1/2 finished")]
    assert lines[0] == "Following 2 test runs"
    assert lines[1] == "FAILED: Blueprint 5 (test run 2): Step 1 failed: Open the page: no login form"
    assert lines[-1] == "passed: Test run 1 (test run 1)"
    assert len(lines) == 3 + len(heartbeats)
    # A heartbeat comes at the first poll at least 30 s after the last one, and polls are <= 5 s apart.
    assert int(result.elapsed_s // 35) <= len(heartbeats) <= int(result.elapsed_s // 30)


def test_one_run_is_announced_in_the_singular() -> None:
    """Following a single run says "Following 1 test run", not "1 test runs"."""
    stream, clock = io.StringIO(), FakeClock()
    Progress(stream, interactive=False, clock=clock).started(1)
    Progress(stream, interactive=False, clock=clock).started(2)
    assert stream.getvalue().splitlines() == ["Following 1 test run", "Following 2 test runs"]


def test_the_live_line_counts_errors_apart_from_failures() -> None:
    """One failed run and one API error read "1 failed · 1 error", never "2 failed"."""
    clock, stream = FakeClock(1000.0), io.StringIO()
    with serving(clock) as server:
        server.script("GET", "/test_run/1", json_reply(run_body(1, "failed", blueprint_id=5, failed_step=True)))
        server.script("GET", "/test_run/2", json_reply({"message": "no such run"}, 404))
        server.script("GET", "/test_run/3", json_reply(run_body(3, "passed", blueprint_id=6)))
        config = Config(command=Command.WAIT, api_url=server.url, api_key=Secret(TEST_API_KEY), test_run_ids=(1, 2, 3))
        follow_runs(config, client=make_client(server), clock=clock, rng=random.Random(1),
                    progress=Progress(stream, interactive=True, clock=clock))
    final = stream.getvalue().rsplit("\r\x1b[2K", 1)[-1]
    assert final.startswith("3/3 finished · 1 failed · 1 error · 0 running · "), final
