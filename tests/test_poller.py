"""The poller over real HTTP on 127.0.0.1 with a fake clock: cadence, backoff, deadline, concurrency."""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import random

from gate.clock import FakeClock
from gate.poller import Poller
from gate.retry import RetryPolicy
from gate.run_status import PollResult, PollSettings
from tests.support.http_fixture import (
    FixtureServer,
    Reply,
    json_reply,
    make_client,
    run_body,
)

WALL = dt.datetime(2025, 7, 3, 1, 38, 3, tzinfo=dt.timezone.utc)
START = FakeClock.START  # where the clock fixture's virtual time begins


def follow(
    server: FixtureServer, clock: FakeClock, *, runs: list[int], timeout: float = 600.0, **settings: object
) -> PollResult:
    client = make_client(server, timeouts=(2.0, 5.0), wall_clock=lambda: WALL)
    options = {"interval_s": 5.0, **settings}
    poller = Poller(client, clock=clock, rng=random.Random(3), deadline=START + timeout,
                    settings=PollSettings(**options))  # type: ignore[arg-type]
    try:
        return poller.follow(runs)
    finally:
        poller.close()


def running_then(final: str, run_id: int, *, polls: int) -> list[Reply]:
    return [json_reply(run_body(run_id))] * (polls - 1) + [json_reply(run_body(run_id, final))]


def arrivals(server: FixtureServer, run_id: int) -> list[float]:
    return [seen.at for seen in server.seen("GET", f"/test_run/{run_id}")]


def test_each_run_is_polled_until_final_and_never_again(server: FixtureServer, clock: FakeClock) -> None:
    """A run that reached a final status is not requested again while others keep being polled."""
    server.script("GET", "/test_run/1", *running_then("passed", 1, polls=1))
    server.script("GET", "/test_run/2", *running_then("failed", 2, polls=3))
    server.script("GET", "/test_run/3", *running_then("error", 3, polls=6))
    result = follow(server, clock, runs=[1, 2, 3])
    assert [(s.run_id, s.run.status if s.run else None, s.requests) for s in result.runs] == [
        (1, "passed", 1), (2, "failed", 3), (3, "error", 6)]
    assert [len(arrivals(server, i)) for i in (1, 2, 3)] == [1, 3, 6]
    assert result.all_settled and result.fatal is None


def test_unfinished_runs_are_polled_every_interval_with_small_jitter(server: FixtureServer, clock: FakeClock) -> None:
    """Polls of one run are never further apart than the interval, at most 10% closer, and not all equal."""
    server.script("GET", "/test_run/1", *running_then("passed", 1, polls=8))
    follow(server, clock, runs=[1])
    gaps = [b - a for a, b in itertools.pairwise(arrivals(server, 1))]
    assert len(gaps) == 7
    assert all(4.5 <= gap <= 5.0 for gap in gaps)
    assert len(set(gaps)) > 1


def test_returns_as_soon_as_the_last_run_is_final(server: FixtureServer, clock: FakeClock) -> None:
    """No sleep happens after the last answer: the poller returns at the time of the final request."""
    server.script("GET", "/test_run/1", *running_then("passed", 1, polls=2))
    server.script("GET", "/test_run/2", *running_then("passed", 2, polls=4))
    follow(server, clock, runs=[1, 2])
    assert clock.now() == server.requests[-1].at
    assert clock.now() < START + 4 * 5.5


def test_concurrency_cap_is_respected(server: FixtureServer, clock: FakeClock) -> None:
    """Never more requests in flight than the cap, and the cap is actually used."""
    for run_id in range(1, 13):
        server.script("GET", f"/test_run/{run_id}", Reply(body=run_body(run_id, "passed"), delay_s=0.05))
    result = follow(server, clock, runs=list(range(1, 13)), concurrency=3)
    assert result.all_settled
    assert server.max_in_flight == 3


def test_retry_after_seconds_is_honoured(server: FixtureServer, clock: FakeClock) -> None:
    """After a 429 with Retry-After: 7, the next request for that run comes no earlier than 7 s later."""
    server.script("GET", "/test_run/1", Reply(status=429, headers={"Retry-After": "7"}),
                  json_reply(run_body(1, "passed")))
    result = follow(server, clock, runs=[1])
    first, second = arrivals(server, 1)
    assert second - first >= 7.0
    assert result.runs[0].final


def test_retry_after_http_date_is_honoured(server: FixtureServer, clock: FakeClock) -> None:
    """After a 503 whose Retry-After is an HTTP date 12 s ahead, the next request waits at least 12 s."""
    when = email.utils.format_datetime(WALL + dt.timedelta(seconds=12), usegmt=True)
    server.script("GET", "/test_run/1", Reply(status=503, headers={"Retry-After": when}),
                  json_reply(run_body(1, "passed")))
    follow(server, clock, runs=[1])
    first, second = arrivals(server, 1)
    assert second - first >= 12.0


def test_a_failing_run_backs_off_alone(server: FixtureServer, clock: FakeClock) -> None:
    """Transient errors on one run do not delay the others' polls."""
    server.script("GET", "/test_run/1", *[Reply(status=502)] * 4, json_reply(run_body(1, "passed")))
    server.script("GET", "/test_run/2", *running_then("passed", 2, polls=3))
    result = follow(server, clock, runs=[1, 2])
    assert all(s.final for s in result.runs)
    run2 = arrivals(server, 2)
    assert all(4.5 <= b - a <= 5.0 for a, b in itertools.pairwise(run2))
    assert result.runs[0].requests == 5


def test_a_good_answer_clears_the_last_error(server: FixtureServer, clock: FakeClock) -> None:
    """An error that was followed by a good answer is not reported as the reason a run timed out."""
    server.script("GET", "/test_run/1", Reply(status=503), json_reply(run_body(1)))
    result = follow(server, clock, runs=[1], timeout=30.0)
    assert result.runs[0].last_error is None and not result.runs[0].settled


def test_gives_up_on_a_run_after_consecutive_transient_failures(server: FixtureServer, clock: FakeClock) -> None:
    """A run that keeps failing becomes an API problem after the cap; the others still finish."""
    server.script("GET", "/test_run/1", Reply(status=500))
    server.script("GET", "/test_run/2", *running_then("passed", 2, polls=3))
    result = follow(server, clock, runs=[1, 2], retry=RetryPolicy(base_s=1.0, cap_s=4.0, max_failures=5))
    failing, fine = result.runs
    assert failing.error == (
        "gave up on test run 1 after 5 failed requests in a row: DocketQA answered GET /test_run/1 with HTTP 500")
    assert len(arrivals(server, 1)) == 5
    assert fine.final


def test_transient_failures_reset_after_a_good_answer(server: FixtureServer, clock: FakeClock) -> None:
    """Only failures in a row count: a good answer in between starts the count again."""
    script = []
    for _ in range(3):
        script += [Reply(status=503)] * 3 + [json_reply(run_body(1))]
    server.script("GET", "/test_run/1", *script, json_reply(run_body(1, "passed")))
    result = follow(server, clock, runs=[1], retry=RetryPolicy(base_s=1.0, cap_s=4.0, max_failures=4))
    assert result.runs[0].final and result.runs[0].requests == 13


def test_repeated_malformed_answers_make_only_that_run_an_error(server: FixtureServer, clock: FakeClock) -> None:
    """Three malformed answers in a row end that run as an API problem while the others go on."""
    server.script("GET", "/test_run/1", Reply(body="<html>oops</html>"))
    server.script("GET", "/test_run/2", *running_then("passed", 2, polls=4))
    result = follow(server, clock, runs=[1, 2])
    broken, fine = result.runs
    assert len(arrivals(server, 1)) == 3
    assert broken.error is not None and broken.error.endswith('not JSON: "<html>oops</html>" (3 times in a row)')
    assert fine.final


def test_missing_run_is_an_error_while_others_go_on(server: FixtureServer, clock: FakeClock) -> None:
    """A 404 ends that run at once (no retry) and the others are followed to the end."""
    server.script("GET", "/test_run/2", *running_then("passed", 2, polls=2))
    result = follow(server, clock, runs=[404, 2])
    assert result.runs[0].error == "DocketQA has no test run 404 (HTTP 404 for GET /test_run/404): check the test run id"
    assert len(arrivals(server, 404)) == 1
    assert result.runs[1].final


def test_rejected_key_stops_everything(server: FixtureServer, clock: FakeClock) -> None:
    """A 401 stops all polling and is reported as the fatal reason."""
    server.script("GET", "/test_run/1", json_reply(run_body(1)), Reply(status=401))
    server.script("GET", "/test_run/2", json_reply(run_body(2)))
    result = follow(server, clock, runs=[1, 2])
    assert result.fatal == "DocketQA rejected the API key (HTTP 401): check DOCKET_API_KEY"
    assert not any(s.final for s in result.runs)
    assert len(arrivals(server, 1)) == 2
    assert server.requests[-1].path == "/test_run/1"  # nothing was requested after the 401


def test_deadline_stops_polling_a_run_that_never_finishes(server: FixtureServer, clock: FakeClock) -> None:
    """Unfinished at the deadline: the poller stops, with no request at or after the deadline."""
    server.script("GET", "/test_run/1", json_reply(run_body(1)))
    result = follow(server, clock, runs=[1], timeout=30.0)
    assert not result.runs[0].settled and result.runs[0].run is not None
    assert max(arrivals(server, 1)) < START + 30.0
    assert len(arrivals(server, 1)) >= 5
    assert clock.now() <= START + 30.0


def test_deadline_holds_against_a_stalled_server(server: FixtureServer, clock: FakeClock) -> None:
    """A server that stalls past the deadline cannot hold the poller: its late answer is never used."""
    server.script("GET", "/test_run/1", Reply(delay_s=3.0, body=run_body(1, "passed")))
    result = follow(server, clock, runs=[1], timeout=0.3)
    status = result.runs[0]
    assert not status.final
    assert status.last_error is not None and "did not answer GET /test_run/1 within" in status.last_error


def test_retry_after_past_the_deadline_ends_polling_early(server: FixtureServer, clock: FakeClock) -> None:
    """When the server asks for a wait beyond the deadline, no request is sent before it and nothing is left to do."""
    server.script("GET", "/test_run/1", Reply(status=503, headers={"Retry-After": "3600"}))
    result = follow(server, clock, runs=[1], timeout=60.0)
    assert len(arrivals(server, 1)) == 1
    assert not result.runs[0].settled and "HTTP 503" in (result.runs[0].last_error or "")
    assert clock.now() == START


def test_a_short_deadline_is_polled_almost_to_its_end(server: FixtureServer, clock: FakeClock) -> None:
    """With --timeout 3s a run that finishes at 2.7 s is still seen: the last poll is not a whole second early."""
    finish_at = START + 2.7
    server.fallback(lambda seen: json_reply(run_body(1, "passed" if seen.at >= finish_at else "running")))
    result = follow(server, clock, runs=[1], timeout=3.0, interval_s=0.5)
    assert result.runs[0].run is not None and result.runs[0].run.status == "passed"
    assert max(arrivals(server, 1)) < START + 3.0
