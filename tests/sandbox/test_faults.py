"""The sandbox's seeded fault mode, seen by a real HTTP client: each mode, reproducibility, scope, latency."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import pytest
import requests

from gate.clock import FakeClock
from gate.sandbox import DEFAULT_KEY, FaultMode, FaultPlan, Sandbox
from gate.sandbox.faults import BEFORE_PROCESSING

HEADERS = {"X-API-KEY": DEFAULT_KEY}
TRIGGER = "/test_group_run/trigger_run"


def faulty(clock: FakeClock, mode: FaultMode, **plan: object) -> Sandbox:
    options: dict[str, object] = {"rate": 1.0, "modes": (mode,), "seed": 1, **plan}
    return Sandbox(scenario="mixed", clock=clock, faults=FaultPlan(**options))  # type: ignore[arg-type]


def get(sandbox: Sandbox, path: str = "/test_run/38", *, timeout: float = 10) -> requests.Response:
    return requests.get(sandbox.url + path, headers=HEADERS, timeout=timeout)


def post(sandbox: Sandbox, ids: list[int]) -> requests.Response:
    return requests.post(sandbox.url + TRIGGER, json={"test_blueprint_ids": ids}, headers=HEADERS, timeout=10)


@pytest.mark.parametrize(
    ("mode", "status", "content_type"),
    [
        (FaultMode.HTTP_500, 500, "application/json"),
        (FaultMode.HTTP_502, 502, "text/html"),
        (FaultMode.HTTP_503, 503, "application/json"),
        (FaultMode.HTTP_504, 504, "text/html"),
    ],
)
def test_status_faults_answer_that_status(clock: FakeClock, mode: FaultMode, status: int, content_type: str) -> None:
    """500/503 answer the API's JSON error shape, 502/504 a gateway's HTML page; the record names the fault."""
    with faulty(clock, mode) as sandbox:
        response = get(sandbox)
        record = sandbox.requests[-1]
    assert response.status_code == status and response.headers["Content-Type"] == content_type
    assert "Retry-After" not in response.headers
    assert (record.status, record.fault, record.run_status) == (status, mode.value, None)


def test_503_can_announce_retry_after(clock: FakeClock) -> None:
    """With retry_after_on_503 a 503 carries Retry-After in seconds, recorded as the earliest allowed retry."""
    with faulty(clock, FaultMode.HTTP_503, retry_after=4, retry_after_on_503=True) as sandbox:
        response = get(sandbox)
        record = sandbox.requests[-1]
    assert response.headers["Retry-After"] == "4" and record.retry_not_before == clock.now() + 4


def test_reset_closes_the_connection_without_an_answer(clock: FakeClock) -> None:
    """A RESET fault aborts the connection after reading the request: the client gets a connection error."""
    with faulty(clock, FaultMode.RESET) as sandbox:
        with pytest.raises(requests.ConnectionError):
            get(sandbox)
        record = sandbox.requests[-1]
    assert (record.status, record.fault, record.path) == (0, "reset", "/test_run/38")


def test_stall_holds_the_answer_past_the_client_read_timeout(clock: FakeClock) -> None:
    """A STALL fault keeps the client waiting until its read timeout fires; stopping the sandbox ends the stall."""
    with faulty(clock, FaultMode.STALL, stall_s=30.0) as sandbox:
        with pytest.raises(requests.ReadTimeout):
            get(sandbox, timeout=0.2)
        assert sandbox.requests[-1].fault == "stall"


def test_rate_limit_in_seconds_says_when_to_come_back(clock: FakeClock) -> None:
    """RATE_LIMIT_SECONDS answers 429 with Retry-After in seconds, recorded as a sandbox-clock deadline."""
    with faulty(clock, FaultMode.RATE_LIMIT_SECONDS, retry_after=3) as sandbox:
        response = get(sandbox)
        record = sandbox.requests[-1]
    assert response.status_code == 429 and response.json() == {"error": "Rate limit exceeded"}
    assert response.headers["Retry-After"] == "3"
    assert record.retry_not_before == 1003.0 and record.fault == "rate_limit_seconds"


def test_rate_limit_as_http_date_maps_the_sandbox_clock_to_wall_time(clock: FakeClock) -> None:
    """RATE_LIMIT_DATE's Retry-After is an HTTP date: the clock's wall mapping plus the wait, rounded up."""
    with faulty(clock, FaultMode.RATE_LIMIT_DATE, retry_after=3) as sandbox:
        clock.advance(0.4)  # 01:38:03.4 on the wall mapping: 3 s later, rounded up, is 01:38:07
        response = get(sandbox)
        record = sandbox.requests[-1]
        until = parsedate_to_datetime(response.headers["Retry-After"]).timestamp()
        assert until == math.ceil(sandbox.wall_time() + 3)
        assert record.retry_not_before is not None and sandbox.wall_time(record.retry_not_before) == until
    assert response.status_code == 429 and response.headers["Retry-After"] == "Thu, 03 Jul 2025 01:38:07 GMT"


def test_malformed_answers_200_with_the_real_body_cut_short(clock: FakeClock) -> None:
    """MALFORMED answers 200 with a truncated copy of the real JSON, so parsing it fails."""
    with faulty(clock, FaultMode.MALFORMED, max_per_path=1) as sandbox:
        clock.advance(60)
        broken, whole = get(sandbox), get(sandbox)
        records = sandbox.requests
    assert broken.status_code == 200 and broken.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    assert whole.json()["test_run"]["status"] == "passed"
    assert whole.content.startswith(broken.content) and len(broken.content) < len(whole.content)
    # The client never saw run 38 final in the broken answer: only the second request counts as final.
    assert [(r.fault, r.answered_final) for r in records] == [("malformed", False), (None, True)]


def test_html_200_answers_an_html_page_with_status_200(clock: FakeClock) -> None:
    """HTML_200 answers status 200 with an HTML maintenance page instead of JSON."""
    with faulty(clock, FaultMode.HTML_200) as sandbox:
        response = get(sandbox)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def fault_trace(plan: FaultPlan, clock: FakeClock) -> list[str | None]:
    """The faults a fixed request sequence (3 runs x 20 polls) gets from a fresh sandbox."""
    with Sandbox(scenario="mixed", clock=clock, faults=plan) as sandbox:
        for _ in range(20):
            for run_id in (38, 39, 40):
                try:
                    get(sandbox, f"/test_run/{run_id}")
                except requests.ConnectionError:
                    pass
        return [r.fault for r in sandbox.requests]


def test_the_same_seed_reproduces_the_same_faults_and_another_seed_does_not(clock: FakeClock) -> None:
    """Same seed and request sequence -> the same faults, in the same places; the rate is roughly honoured."""
    modes = tuple(m for m in FaultMode if m is not FaultMode.STALL)
    plan = FaultPlan(rate=0.5, modes=modes, seed=42)
    first, again = fault_trace(plan, clock), fault_trace(plan, FakeClock())
    other = fault_trace(FaultPlan(rate=0.5, modes=modes, seed=43), FakeClock())
    assert first == again and first != other
    assert 0.3 <= sum(f is not None for f in first) / len(first) <= 0.7
    assert len({f for f in first if f}) >= 5


def test_faults_for_one_path_do_not_depend_on_other_paths() -> None:
    """A path's fault sequence is decided by its own request count, however requests to other paths interleave."""
    plan = FaultPlan(rate=0.5, seed=9)
    alone = [plan.decide("GET", "/test_run/38", n) for n in range(50)]
    assert alone == [plan.decide("GET", "/test_run/38", n) for n in range(50)]
    assert any(alone) and not all(alone)
    assert alone != [plan.decide("GET", "/test_run/39", n) for n in range(50)]


def test_only_gets_fault_by_default_and_media_never(clock: FakeClock) -> None:
    """With the default methods a trigger POST is never faulted, nor are media downloads, even at rate 1."""
    with faulty(clock, FaultMode.HTTP_500) as sandbox:
        assert post(sandbox, [181]).status_code == 200
        clock.advance(60)
        assert get(sandbox).status_code == 500
        assert requests.get(sandbox.url + "/media/runs/38/a1-video.webm", timeout=10).status_code == 200
        assert [r.fault for r in sandbox.requests] == [None, "http_500", None]


@pytest.mark.parametrize("mode", list(FaultMode))
def test_a_faulted_trigger_creates_a_group_run_unless_the_api_refused_first(clock: FakeClock, mode: FaultMode) -> None:
    """429/503 come before the API acts (no group run); every other fault loses the answer of a created one."""
    with faulty(clock, mode, methods=frozenset({"POST"}), stall_s=0.0) as sandbox:
        try:
            post(sandbox, [181, 182])
        except requests.ConnectionError:
            pass
        created = sandbox.triggered_group_ids
        assert sandbox.requests[-1].fault == mode.value
    assert created == (() if mode in BEFORE_PROCESSING else (36,))


def test_paths_and_max_per_path_limit_faults_to_the_first_requests_of_chosen_runs(clock: FakeClock) -> None:
    """A plan can fail just run 38's first two polls, then let it recover, leaving other runs untouched."""
    with faulty(clock, FaultMode.HTTP_503, paths=frozenset({"/test_run/38"}), max_per_path=2) as sandbox:
        codes = [get(sandbox, "/test_run/38").status_code for _ in range(4)]
        assert get(sandbox, "/test_run/39").status_code == 200
    assert codes == [503, 503, 200, 200]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rate": 1.5}, "fault rate must be between 0 and 1, got 1.5"),
        ({"rate": 0.5, "modes": ()}, "a fault plan needs at least one fault mode"),
        ({"rate": 0.5, "retry_after": -1}, "retry_after and stall_s must not be negative"),
        ({"rate": 0.5, "max_per_path": -1}, "max_per_path must not be negative"),
    ],
)
def test_invalid_fault_plans_are_refused_with_the_reason(options: dict[str, object], message: str) -> None:
    """An impossible plan raises ValueError saying which setting is wrong."""
    with pytest.raises(ValueError) as caught:
        FaultPlan(**options)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_rate_zero_never_faults(clock: FakeClock) -> None:
    """A plan with rate 0 lets every request through untouched."""
    assert fault_trace(FaultPlan(rate=0.0), clock) == [None] * 60


@pytest.fixture
def slow(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(scenario="mixed", clock=clock, latency_s=0.5) as sandbox:
        yield sandbox


def test_latency_delays_every_answer(slow: Sandbox) -> None:
    """With latency_s a client whose read timeout is shorter than the latency times out; a patient one is served."""
    with pytest.raises(requests.ReadTimeout):
        get(slow, timeout=0.1)
    assert get(slow, timeout=10).status_code == 200


def test_latency_and_time_scale_must_be_sensible() -> None:
    """Negative latency or a non-positive time scale is refused before anything listens."""
    with pytest.raises(ValueError, match="time_scale must be positive and latency_s must not be negative"):
        Sandbox(latency_s=-1)
    with pytest.raises(ValueError, match="time_scale must be positive"):
        Sandbox(time_scale=0)
