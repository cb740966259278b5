"""The sandbox API over real HTTP: shapes, key check, errors, progression on the clock, scenarios, lifecycle."""

from __future__ import annotations

import io
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from gate.clock import FakeClock
from gate.errors import UsageError
from gate.model import Verdict, judge_run
from gate.payload import parse_test_run_response
from gate.sandbox import (
    DEFAULT_KEY,
    Sandbox,
    generated,
    get_scenario,
    scenario_names,
    serve_main,
)
from gate.sandbox.hostile import HOSTILE_CASES, HOSTILE_URLS
from tests.support.paths import REPO

ROOT = REPO
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
RUN_KEYS_IN_TRIGGER = {
    "blueprint_metadata", "created_at", "id", "is_login_test_run", "results", "status",
    "test_blueprint_id", "test_group_run_id", "test_video_s3_key", "updated_at",
}  # fmt: skip


@pytest.fixture
def mixed(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(scenario="mixed", clock=clock) as sandbox:
        yield sandbox


def get(sandbox: Sandbox, path: str, *, key: str | None = DEFAULT_KEY) -> requests.Response:
    headers = {"X-API-KEY": key} if key is not None else {}
    return requests.get(sandbox.url + path, headers=headers, timeout=10)


def trigger(sandbox: Sandbox, body: Any, *, key: str | None = DEFAULT_KEY) -> requests.Response:
    headers = {"X-API-KEY": key} if key is not None else {}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers["Content-Type"] = "application/json"
    return requests.post(sandbox.url + "/test_group_run/trigger_run", data=data, headers=headers, timeout=10)


def run_body(sandbox: Sandbox, run_id: int) -> dict[str, Any]:
    response = get(sandbox, f"/test_run/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["test_run"]
    return body


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# --- the two endpoints ------------------------------------------------------------------------------


def test_trigger_answers_with_the_documented_group_run_shape(mixed: Sandbox) -> None:
    """A trigger POST answers 200 with a running group run holding one running run per requested blueprint."""
    response = trigger(mixed, {"test_blueprint_ids": [181, 182]})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Test group run triggered successfully"
    group = body["test_group_run"]
    assert set(group) == {"company_id", "created_at", "id", "name", "status", "test_runs", "updated_at"}
    assert group["status"] == "running" and group["name"].startswith("Manual Run 2025-07-03 ")
    assert ISO.match(group["created_at"])
    runs = group["test_runs"]
    assert [r["test_blueprint_id"] for r in runs] == [181, 182]
    for run in runs:
        assert set(run) == RUN_KEYS_IN_TRIGGER
        assert run["status"] == "running" and run["results"] is None
        assert run["test_group_run_id"] == group["id"]
        assert run["blueprint_metadata"]["id"] == run["test_blueprint_id"]
        assert run["id"] not in mixed.preexisting_run_ids
    assert mixed.triggered_group_ids == (group["id"],)
    assert mixed.run_ids_of_group(group["id"]) == tuple(r["id"] for r in runs)


def test_failing_scenario_serves_the_documented_login_flow_example(clock: FakeClock) -> None:
    """The failing scenario's run is the Get Test Run page's example: run 38 in group 35, same texts."""
    with Sandbox(scenario="failing", clock=clock) as sandbox:
        assert sandbox.preexisting_run_ids == (38,) and sandbox.preexisting_group_id == 35
        clock.advance(sandbox.final_at(38) - clock.now())
        body = run_body(sandbox, 38)
    assert body["status"] == "failed" and body["test_blueprint_id"] == 180 and body["test_group_run_id"] == 35
    meta = body["blueprint_metadata"]
    assert (meta["title"], meta["type"], meta["starting_url"]) == (
        "Login Flow",
        "integration",
        "https://example.com/login",
    )
    assert meta["steps"] == [
        {"action": "Enter 'user@example.com' in the email field", "step_number": 1, "type": "act"},
        {"action": "Enter 'password123' in the password field", "step_number": 2, "type": "act"},
    ]
    first, second = body["results"]
    assert first["is_successful"] is False and first["duration"] == 43
    assert first["result"] == (
        "The agent could not complete the objective because no email field was present on the page."
    )
    assert first["actions"][0]["description"] == "Action: extract content with goal='Find any input fields'"
    assert first["actions"][0]["type"] == "extract_content"
    assert (second["result"], second["duration"], second["actions"]) == ("Step not completed", 0, [])
    assert ISO.match(body["created_at"]) and ISO.match(body["updated_at"])
    assert body["test_video_url"].endswith(".webm")
    run = parse_test_run_response({"test_run": body})
    expected = (
        "Step 1 failed: Enter 'user@example.com' in the email field: The agent could not complete the objective "
        "because no email field was present on the page."
    )
    assert judge_run(run) == (Verdict.FAILED, expected)


def test_run_is_running_until_the_clock_reaches_its_duration_then_final(mixed: Sandbox, clock: FakeClock) -> None:
    """A run answers running with null results until created + duration, and its final status from then on."""
    created = clock.now()
    run_id = trigger(mixed, {"test_blueprint_ids": [182]}).json()["test_group_run"]["test_runs"][0]["id"]
    assert mixed.final_at(run_id) == created + 9.0
    clock.advance(9.0 - 0.001)
    early = run_body(mixed, run_id)
    assert (early["status"], early["results"], early["test_video_url"]) == ("running", None, None)
    assert early["updated_at"] == early["created_at"]
    clock.advance(0.001)
    final = run_body(mixed, run_id)
    assert final["status"] == "failed" and len(final["results"]) == 5
    assert final["updated_at"] == "2025-07-03T01:38:12.000000+00:00"


def test_time_scale_compresses_run_durations(clock: FakeClock) -> None:
    """With time_scale 0.1 a 9-second run turns final after 0.9 clock seconds."""
    with Sandbox(scenario="mixed", clock=clock, time_scale=0.1) as sandbox:
        checkout = sandbox.preexisting_run_ids[1]
        assert sandbox.final_at(checkout) == pytest.approx(clock.now() + 0.9)
        clock.advance(0.9)
        assert run_body(sandbox, checkout)["status"] == "failed"


def test_preexisting_runs_can_be_followed_without_triggering(mixed: Sandbox, clock: FakeClock) -> None:
    """Runs created at start answer GETs at once, so `wait --test-run` can be rehearsed without a POST."""
    assert mixed.preexisting_run_ids == (38, 39, 40, 41)
    clock.advance(60)
    statuses = {
        run_body(mixed, i)["test_blueprint_id"]: run_body(mixed, i)["status"] for i in mixed.preexisting_run_ids
    }
    assert statuses == {181: "passed", 182: "failed", 183: "passed", 184: "stopped"}
    assert mixed.triggered_group_ids == ()


def test_mixed_scenario_gives_a_pass_a_step_3_failure_a_flaky_pass_and_an_unknown_status(
    mixed: Sandbox, clock: FakeClock
) -> None:
    """The gate's own verdict rules read the mixed runs as passed, failed at step 3 with screenshots, flaky, error."""
    clock.advance(60)
    runs = [parse_test_run_response({"test_run": run_body(mixed, i)}) for i in mixed.preexisting_run_ids]
    verdicts = [judge_run(run)[0] for run in runs]
    assert verdicts == [Verdict.PASSED, Verdict.FAILED, Verdict.PASSED, Verdict.ERROR]
    failed_step = runs[1].final_attempt.failed_step
    assert failed_step is not None and failed_step.number == 3
    assert len(failed_step.screenshot_urls) == 3
    assert [s.state.value for s in runs[1].steps[3:]] == ["not_reached", "not_reached"]
    assert runs[2].failed_attempts and runs[0].failed_attempts == ()


def test_flaky_run_reports_the_failed_attempt_first_and_the_passing_retry_in_additional_attempts(
    clock: FakeClock,
) -> None:
    """A flaky run passes; top-level results are the failed first attempt, additional_attempts the passing retry."""
    with Sandbox(scenario="flaky", clock=clock) as sandbox:
        clock.advance(60)
        body = run_body(sandbox, sandbox.preexisting_run_ids[0])
    assert body["status"] == "passed"
    assert [s["is_successful"] for s in body["results"]] == [True, False]
    (retry,) = body["additional_attempts"]
    assert retry["status"] == "passed" and all(s["is_successful"] for s in retry["results"])
    assert retry["test_video_url"] != body["test_video_url"]


def test_additional_attempts_appear_only_once_the_run_is_final(clock: FakeClock) -> None:
    """While a flaky run is still running there are no results and no additional_attempts yet."""
    with Sandbox(scenario="flaky", clock=clock) as sandbox:
        body = run_body(sandbox, sandbox.preexisting_run_ids[0])
    assert body["results"] is None and "additional_attempts" not in body


def test_edge_scenario_adds_a_login_run_omits_a_blueprint_and_queues_one(clock: FakeClock) -> None:
    """The edge trigger answer has an extra login run first and no run for blueprint 192; 191 starts queued."""
    with Sandbox(scenario="edge", clock=clock) as sandbox:
        assert sandbox.scenario.blueprint_ids == (191, 192, 193, 187)
        runs = trigger(sandbox, {"test_blueprint_ids": [191, 192, 193]}).json()["test_group_run"]["test_runs"]
        assert [(r["test_blueprint_id"], r["is_login_test_run"]) for r in runs] == [
            (190, True), (191, False), (193, False),
        ]  # fmt: skip
        assert runs[1]["status"] == "queued"
        clock.advance(60)
        no_results = run_body(sandbox, runs[2]["id"])
    assert (no_results["status"], no_results["results"], no_results["test_video_url"]) == ("failed", None, None)


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "wrong-key", DEFAULT_KEY + " "])
def test_requests_without_the_right_key_get_401_and_create_nothing(mixed: Sandbox, key: str | None) -> None:
    """A missing or wrong X-API-KEY answers 401 Invalid API key on both endpoints; no run is started."""
    for response in (get(mixed, "/test_run/38", key=key), trigger(mixed, {"test_blueprint_ids": [181]}, key=key)):
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid API key"}
    assert mixed.triggered_group_ids == ()


def test_unknown_run_is_404_naming_the_id(mixed: Sandbox) -> None:
    """GET for a run the sandbox never created answers 404 with the id in the message."""
    response = get(mixed, "/test_run/999")
    assert response.status_code == 404 and response.json() == {"error": "Test run 999 not found"}
    assert get(mixed, "/test_run/abc").status_code == 404


def test_unknown_blueprint_is_422_and_starts_no_group_run(mixed: Sandbox) -> None:
    """Triggering a blueprint the scenario does not know answers 422 naming it, and nothing is started."""
    response = trigger(mixed, {"test_blueprint_ids": [181, 999]})
    assert response.status_code == 422 and response.json() == {"error": "Test blueprint 999 not found"}
    assert mixed.triggered_group_ids == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", 'Request body must be JSON: {"test_blueprint_ids": [...]}'),
        (b"\xff\xfe", 'Request body must be JSON: {"test_blueprint_ids": [...]}'),
        ([181], "test_blueprint_ids must be a non-empty array of integers"),
        ({"test_blueprint_ids": []}, "test_blueprint_ids must be a non-empty array of integers"),
        ({"test_blueprint_ids": ["181"]}, "test_blueprint_ids must be a non-empty array of integers"),
        ({"test_blueprint_ids": [True]}, "test_blueprint_ids must be a non-empty array of integers"),
        ({"blueprints": [181]}, "test_blueprint_ids must be a non-empty array of integers"),
    ],
)
def test_bad_trigger_bodies_are_400_with_what_to_send(mixed: Sandbox, body: Any, message: str) -> None:
    """A body that is not JSON or lacks an integer list answers 400 saying what the API expects."""
    response = trigger(mixed, body)
    assert response.status_code == 400 and response.json() == {"error": message}
    assert mixed.triggered_group_ids == ()


def test_unknown_paths_are_404_and_wrong_methods_405(mixed: Sandbox) -> None:
    """Only the two documented endpoints exist, each with its own method."""
    assert get(mixed, "/test_runs").status_code == 404
    assert get(mixed, "/test_group_run/trigger_run").status_code == 405
    wrong = requests.post(mixed.url + "/test_run/38", headers={"X-API-KEY": DEFAULT_KEY}, timeout=10)
    assert wrong.status_code == 405 and "use GET" in wrong.json()["error"]


# --- what tests and benchmarks inspect --------------------------------------------------------------


def test_records_show_each_request_with_its_clock_time_and_headers(mixed: Sandbox, clock: FakeClock) -> None:
    """Every request is recorded in arrival order with the sandbox-clock time, headers, status and run status."""
    get(mixed, "/test_run/38")
    clock.advance(30)
    get(mixed, "/test_run/38", key="nope")
    get(mixed, "/test_run/38")
    records = mixed.requests
    assert [(r.at, r.status, r.run_status) for r in records] == [
        (1000.0, 200, "running"), (1030.0, 401, None), (1030.0, 200, "passed"),
    ]  # fmt: skip
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].headers["X-API-KEY"] == DEFAULT_KEY and records[0].fault is None
    assert [r.answered_final for r in records] == [False, False, True]


def test_runs_requested_after_final_lists_only_polls_after_a_final_answer(mixed: Sandbox, clock: FakeClock) -> None:
    """Polls before the final answer are fine; each GET after the client saw the final status is listed."""
    get(mixed, "/test_run/38")
    get(mixed, "/test_run/39")
    clock.advance(60)
    get(mixed, "/test_run/38")
    assert mixed.runs_requested_after_final() == []
    get(mixed, "/test_run/38")
    get(mixed, "/test_run/39")  # 39's first final answer: not late
    late = mixed.runs_requested_after_final()
    assert [(r.path, r.seq) for r in late] == [("/test_run/38", 4)]


def test_final_at_of_an_unknown_run_says_so(mixed: Sandbox) -> None:
    """Asking for a run the sandbox never created raises KeyError naming it."""
    with pytest.raises(KeyError, match="no test run 999"):
        mixed.final_at(999)


def test_media_links_are_served_without_an_api_key(mixed: Sandbox, clock: FakeClock) -> None:
    """Screenshot and video URLs in results point at the sandbox and download without X-API-KEY."""
    clock.advance(60)
    body = run_body(mixed, 39)
    action = body["results"][2]["actions"][0]
    shot = requests.get(action["screenshot_url"], timeout=10)
    before = requests.get(action["screenshot_url_before"], timeout=10)
    video = requests.get(body["test_video_download_url"], timeout=10)
    assert shot.status_code == before.status_code == 200 and shot.content.startswith(b"\x89PNG")
    assert video.headers["Content-Type"] == "video/webm" and video.content.startswith(b"\x1a\x45\xdf\xa3")
    assert "X-API-KEY" not in mixed.requests[-1].headers


def test_many_concurrent_polls_over_keep_alive_connections_are_all_answered(clock: FakeClock) -> None:
    """Eight pooled connections polling 300 generated runs at once each get their run's own answer."""
    with Sandbox(scenario=generated(300, 2), clock=clock) as sandbox, requests.Session() as session:
        session.headers["X-API-KEY"] = DEFAULT_KEY
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=8)
        session.mount("http://", adapter)

        def poll(run_id: int) -> int:
            return int(session.get(f"{sandbox.url}/test_run/{run_id}", timeout=10).json()["test_run"]["id"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            answered = list(pool.map(poll, sandbox.preexisting_run_ids))
        assert answered == list(sandbox.preexisting_run_ids)
        assert len(sandbox.requests) == 300


# --- scenarios --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", scenario_names())
def test_every_named_scenario_serves_runs_the_gate_can_parse_and_that_end_final(name: str, clock: FakeClock) -> None:
    """Each named scenario's runs parse with the gate's model and are final once their duration has passed."""
    with Sandbox(scenario=name, clock=clock) as sandbox:
        assert sandbox.preexisting_run_ids
        for run_id in sandbox.preexisting_run_ids:
            assert not parse_test_run_response(get(sandbox, f"/test_run/{run_id}").json()).is_final or name == "edge"
        clock.advance(max(sandbox.final_at(i) for i in sandbox.preexisting_run_ids) - clock.now())
        for run_id in sandbox.preexisting_run_ids:
            assert parse_test_run_response(get(sandbox, f"/test_run/{run_id}").json()).is_final


def test_slow_scenario_has_a_run_far_longer_than_a_short_timeout(clock: FakeClock) -> None:
    """The slow scenario keeps one run running for 15 minutes while the other passes quickly."""
    with Sandbox(scenario="slow", clock=clock) as sandbox:
        quick, slow = sandbox.preexisting_run_ids
        clock.advance(600)
        assert run_body(sandbox, quick)["status"] == "passed"
        assert run_body(sandbox, slow)["status"] == "running"


def test_hostile_scenario_serves_valid_json_holding_every_hostile_string(clock: FakeClock) -> None:
    """Every hostile case and URL reaches the client intact inside strictly valid UTF-8 JSON."""
    with Sandbox(scenario="hostile", clock=clock) as sandbox:
        clock.advance(60)
        raws = [get(sandbox, f"/test_run/{i}").content for i in sandbox.preexisting_run_ids]
        triggered = trigger(sandbox, {"test_blueprint_ids": list(sandbox.scenario.blueprint_ids)}).content
    texts = [s for raw in [*raws, triggered] for s in strings_in(json.loads(raw.decode("utf-8", errors="strict")))]
    assert len(HOSTILE_CASES) >= 25
    missing = [name for name, value in HOSTILE_CASES if not any(value in text for text in texts)]
    assert missing == []
    assert all(url in texts for url in HOSTILE_URLS)
    assert any(b"\\ud800" in raw for raw in raws)  # a lone surrogate travels as a JSON escape
    statuses = {parse_test_run_response(json.loads(raw)).status for raw in raws}
    assert "::error::stopped <b>|</b>" in statuses


def test_huge_scenario_has_a_one_megabyte_result_and_five_thousand_steps(clock: FakeClock) -> None:
    """The huge scenario serves a failure explanation of at least 1 MB and a run with 5,000 steps."""
    with Sandbox(scenario="huge", clock=clock) as sandbox:
        clock.advance(60)
        big, many = (run_body(sandbox, i) for i in sandbox.preexisting_run_ids)
    assert len(big["results"][0]["result"].encode()) >= 1_000_000
    assert len(many["results"]) == 5000 and many["status"] == "passed"


def test_generated_scenarios_are_deterministic_and_fail_every_nth_run() -> None:
    """The same arguments give the same scenario; every fail_every-th run fails at one step, later ones unreached."""
    scenario = generated(30, 4, fail_every=3, seed=7, duration_s=(5.0, 60.0))
    assert scenario == generated(30, 4, fail_every=3, seed=7, duration_s=(5.0, 60.0))
    assert scenario != generated(30, 4, fail_every=3, seed=8, duration_s=(5.0, 60.0))
    specs = list(scenario.blueprints.values())
    assert scenario.blueprint_ids == tuple(range(1001, 1031))
    assert [s.final_status for s in specs].count("failed") == 10
    assert all(5.0 <= s.duration_s <= 60.0 for s in specs) and len({s.duration_s for s in specs}) > 20
    failing = specs[2]
    flags = [step.successful for step in failing.steps]
    assert flags.count(False) >= 1 and flags[: flags.index(False)] == [True] * flags.index(False)
    assert all(step.result == "Step not completed" for step in failing.steps[flags.index(False) + 1 :])


def test_generated_scenarios_can_be_named_on_the_command_line() -> None:
    """`--scenario generated:12x3:fail_every=4` builds 12 runs of 3 steps with 3 failures."""
    scenario = get_scenario("generated:12x3:fail_every=4")
    assert len(scenario.blueprint_ids) == 12 and all(len(s.steps) == 3 for s in scenario.blueprints.values())
    assert [s.final_status for s in scenario.blueprints.values()].count("failed") == 3


def test_unknown_scenario_is_a_usage_error_listing_the_allowed_names() -> None:
    """A misspelt scenario name raises one UsageError naming every allowed scenario."""
    with pytest.raises(UsageError) as caught:
        get_scenario("mixd")
    assert str(caught.value) == (
        "unknown sandbox scenario 'mixd': use one of passing, failing, mixed, flaky, slow, edge, hostile, huge, "
        "or generated:RUNSxSTEPS"
    )


# --- lifecycle and the sandbox command --------------------------------------------------------------


def test_stop_closes_open_connections_and_frees_the_port(clock: FakeClock) -> None:
    """After stop, a kept-alive client connection fails and a new sandbox can listen on the same port at once."""
    sandbox = Sandbox(scenario="passing", clock=clock).start()
    session = requests.Session()
    assert session.get(sandbox.url + "/test_run/38", headers={"X-API-KEY": DEFAULT_KEY}, timeout=10).ok
    port = sandbox.port
    sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(sandbox.url + "/test_run/38", timeout=10)
    with Sandbox(scenario="failing", clock=clock, port=port) as again:
        assert get(again, "/test_run/38").json()["test_run"]["blueprint_metadata"]["title"] == "Login Flow"
    with pytest.raises(RuntimeError, match="create a new Sandbox"):
        sandbox.start()


def test_sandbox_command_prints_url_key_ids_and_examples_then_serves_until_stopped() -> None:
    """serve_main prints how to use the sandbox, logs each request, and returns 0 when told to stop."""
    out, stop, codes = io.StringIO(), threading.Event(), []
    thread = threading.Thread(target=lambda: codes.append(serve_main(scenario="failing", stdout=out, stop=stop)))
    thread.start()
    try:
        banner = _wait_for(out, "press Ctrl+C to stop")
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
        assert url is not None
        assert requests.get(url.group(1) + "/test_run/38", headers={"X-API-KEY": DEFAULT_KEY}, timeout=10).ok
        _wait_for(out, "GET /test_run/38 -> 200 (running)")
    finally:
        stop.set()
        thread.join(10)
    text = out.getvalue()
    assert codes == [0] and text.rstrip().endswith("sandbox stopped")
    assert f"API key:        {DEFAULT_KEY}" in text and "blueprint ids:  180" in text and "test run ids:   38" in text
    assert f"DOCKET_API_KEY={DEFAULT_KEY} docketqa-gate run --api-url {url.group(1)} --blueprint 180" in text
    assert f"docketqa-gate wait --api-url {url.group(1)} --test-run 38" in text


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sandbox_command_exits_0_without_a_traceback_on_sigint_and_sigterm(signum: int) -> None:
    """Ctrl+C or a SIGTERM stops the sandbox process cleanly with exit 0 and nothing on stderr."""
    code = "import sys; from gate.sandbox import serve_main; sys.exit(serve_main(scenario='passing'))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(11)]
        assert lines[-1].strip() == "press Ctrl+C to stop"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0 and err == "" and out.strip() == "sandbox stopped"


def test_sandbox_command_rejects_bad_input_with_one_clear_error() -> None:
    """Bad scenario, time scale, port or a busy port raise a one-line UsageError saying what to change."""
    with pytest.raises(UsageError, match="unknown sandbox scenario 'nope'"):
        serve_main(scenario="nope", stdout=io.StringIO())
    with pytest.raises(UsageError, match="--time-scale must be a positive number, got 0"):
        serve_main(time_scale=0, stdout=io.StringIO())
    with pytest.raises(UsageError, match="--port must be between 0 and 65535, got 70000"):
        serve_main(port=70000, stdout=io.StringIO())
    with pytest.raises(UsageError, match="printable ASCII without spaces"):
        stopped = threading.Event()
        stopped.set()  # without the check it would serve (and return 0) instead of raising
        serve_main(api_key="a b", stdout=io.StringIO(), stop=stopped)  # the gate would refuse it: so would every command
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UsageError, match=rf"cannot listen on 127\.0\.0\.1:{port} .*choose another --host/--port"):
            serve_main(port=port, stdout=io.StringIO())


def _wait_for(out: io.StringIO, text: str) -> str:
    """Wait (bounded) until the serving thread has written ``text``; returns everything written so far."""
    done = threading.Event()
    for _ in range(200):
        if text in out.getvalue():
            return out.getvalue()
        done.wait(0.05)
    raise AssertionError(f"{text!r} never appeared in: {out.getvalue()!r}")
