"""`wait` against an API that never answered says so on every retry and gives up in about 30 s, on virtual time."""

from __future__ import annotations

import io

from gate.cli import main
from gate.clock import FakeClock
from tests.support.cli import CliResult, gate_env
from tests.support.http_fixture import free_port, json_reply, run_body, serving

START = 1000.0
#: "within about 30 s" (issue 10): the budget plus the last retry's jitter.
GIVE_UP_BY_S = 35.0


def _wait(url: str, clock: FakeClock, *extra: str) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    args = ["wait", "--api-url", url, "--test-run", "38", *extra]
    code = main(args, gate_env(), stdout=out, stderr=err, cwd=None, clock=clock)
    return CliResult(code, out.getvalue(), err.getvalue())


def test_wait_on_a_closed_port_says_so_on_every_retry_and_exits_4_within_30_s(tmp_path: object) -> None:
    """Connection refused before DocketQA ever answered: each retry names host and port; exit 4 after ~30 s."""
    port = free_port()
    clock = FakeClock(START)
    result = _wait(f"http://127.0.0.1:{port}", clock, "--json", str(tmp_path) + "/r.json")
    assert result.code == 4, result.err
    assert clock.now() - START <= GIVE_UP_BY_S
    retries = [line for line in result.err.splitlines() if "trying again in" in line]
    assert len(retries) >= 3, result.err
    for line in retries:
        assert f"DocketQA at 127.0.0.1:{port} has not answered yet (connection refused)" in line, line
    final = result.err.splitlines()[-1]
    assert final.startswith(f"docketqa-gate: error: DocketQA at 127.0.0.1:{port} never answered in ")
    assert final.endswith("(connection refused): check --api-url and that this machine can reach it")
    assert "0/1 finished" not in result.err  # no healthy-looking tally while nothing ever answered


def test_wait_gives_up_at_the_deadline_when_it_is_shorter_than_30_s() -> None:
    """With --timeout 5s the deadline, not the 30 s budget, ends the unreachable wait (still exit 4)."""
    clock = FakeClock(START)
    result = _wait(f"http://127.0.0.1:{free_port()}", clock, "--timeout", "5s")
    assert result.code == 4, result.err
    assert clock.now() - START <= 5.0


def test_once_docketqa_answered_a_refused_connection_is_retried_patiently_until_the_deadline() -> None:
    """An API that answered once and then went away is retried with backoff up to the deadline (exit 3, timed out)."""
    clock = FakeClock(START)
    with serving(clock) as server:
        server.script("GET", "/test_run/38", json_reply(run_body(38, blueprint_id=181)))
        url = server.url
        answered = _Stopper(server)
        result = _wait(url, _StopAfterFirstSleep(clock, answered), "--timeout", "2m", "--poll-interval", "5s")
    assert result.code == 3, result.err
    assert clock.now() - START >= 100.0  # it kept trying well past 30 s, up to the 2 minute deadline
    assert "has not answered yet" not in result.err


class _Stopper:
    def __init__(self, server: object) -> None:
        self.server = server
        self.done = False

    def __call__(self) -> None:
        if not self.done:
            self.done = True
            self.server.stop()  # type: ignore[attr-defined]


class _StopAfterFirstSleep(FakeClock):
    """Virtual time shared with ``clock``; the API goes away the first time the gate sleeps (after one answer)."""

    def __init__(self, clock: FakeClock, stop: _Stopper) -> None:
        super().__init__(START)
        self._clock, self._stop = clock, stop

    def now(self) -> float:
        return self._clock.now()

    def sleep(self, seconds: float) -> None:
        self._stop()
        self._clock.sleep(seconds)
