"""Malformed answers through the real CLI: one clear line each, the documented exit code, no traceback, no key."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.clock import FakeClock
from gate.errors import ApiError, ExitCode
from gate.run_status import PollSettings
from gate.sandbox import FaultMode, FaultPlan
from tests.support.hardening import (
    ERROR_PREFIX,
    START,
    GateRun,
    Register,
    assert_clean_exit,
    assert_reports_complete,
    report_args,
    run_gate,
    wait_args,
)
from tests.support.hardening import serving as sandbox_serving
from tests.support.http_fixture import FixtureServer, Reply, json_reply, make_client, run_body, serving
from tests.support.keys import TEST_API_KEY

TRIGGER = "/test_group_run/trigger_run"
OVER_CAP = 20 * 1024 * 1024 + 1
#: What a run's problem says when DocketQA answered 200 with something that is not a test run.
BAD_200 = "DocketQA answered GET /test_run/1 with HTTP 200 but "
TRIGGER_HINT = "; a group run may have started: check https://app.docketqa.com/dashboard before re-running"
MAX_MALFORMED = PollSettings().max_malformed


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad answer: where it comes from, the exit code it must give, and the text of its one line."""

    name: str
    reply: Reply
    code: ExitCode
    says: str
    trigger: bool = False


def run_json(**fields: object) -> dict[str, object]:
    return {"test_run": {"id": 1, "status": "passed", **fields}}


PASSING = json.dumps(run_body(1, "passed", blueprint_id=181, title="Home page")).encode()
HTML = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"

GET_CASES = [
    Case("not-json", Reply(body=b"hello"), ExitCode.API, BAD_200 + 'the body is not JSON: "hello"'),
    Case("html-200", Reply(body=HTML, headers={"Content-Type": "text/html"}), ExitCode.API,
         BAD_200 + f'the body is not JSON: "{HTML}"'),
    Case("empty-body", Reply(body=b""), ExitCode.API, BAD_200 + "the body is empty"),
    Case("truncated", Reply(body=PASSING[: len(PASSING) // 2]), ExitCode.API, BAD_200 + "the body is not JSON"),
    Case("status-number", json_reply(run_json(status=5)), ExitCode.API,
         BAD_200 + "test run 1 has no string 'status' (got int)"),
    Case("results-string", json_reply(run_json(results="x")), ExitCode.API,
         BAD_200 + "test run 1 has 'results' of type str, expected a list"),
    Case("id-missing", json_reply({"test_run": {"status": "passed"}}), ExitCode.API,
         BAD_200 + "test run has no integer 'id' (got null)"),
    Case("id-string", json_reply(run_json(id="1")), ExitCode.API, BAD_200 + "test run has no integer 'id' (got str)"),
    Case("top-level-list", json_reply([]), ExitCode.API, BAD_200 + "expected a test run object, got list"),
    Case("json-null", json_reply(None), ExitCode.API, BAD_200 + "expected a test run object, got null"),
    Case("test-run-string", json_reply({"test_run": "passed"}), ExitCode.API,
         BAD_200 + "expected a test run object, got str"),
    Case("another-run", json_reply(run_json(id=2)), ExitCode.API, BAD_200 + "it describes test run 2 instead"),
    Case("nested-too-deeply", Reply(body=b"[" * 200_000), ExitCode.API, BAD_200 + "the body is not JSON"),
    Case("invalid-utf8", Reply(body=b'{"test_run": {"id": 1, "status": "\xff\xfe"}}'), ExitCode.API,
         BAD_200 + "the body is not JSON"),
    Case("over-the-cap", Reply(body=b" " * OVER_CAP), ExitCode.API,
         "DocketQA's answer to GET /test_run/1 is larger than the 20 MB limit; refused"),
    Case("over-the-cap-chunked", Reply(body=b" " * OVER_CAP, chunked=True), ExitCode.API,
         "DocketQA's answer to GET /test_run/1 is larger than the 20 MB limit; refused"),
    Case("not-found", json_reply({"error": "Test run 1 not found"}, 404), ExitCode.API,
         "DocketQA has no test run 1 (HTTP 404 for GET /test_run/1): check the test run id"),
    Case("bad-request", json_reply({"error": "id must be numeric"}, 400), ExitCode.API,
         "DocketQA answered GET /test_run/1 with HTTP 400: id must be numeric"),
    Case("results-null-on-failed", json_reply(run_json(status="failed", results=None)), ExitCode.FAILED,
         "DocketQA reported the run failed and returned no step results"),
    Case("results-of-garbage", json_reply(run_json(status="failed", results=[1, "x", None, []])), ExitCode.FAILED,
         "Step 1 failed: : no explanation given"),
]  # fmt: skip

TRIGGER_CASES = [
    Case("no-test-runs", json_reply({"test_group_run": {"id": 35}}), ExitCode.API,
         "DocketQA answered POST /test_group_run/trigger_run with HTTP 200 but group run 35 lists no test runs: "
         '"{"test_group_run": {"id": 35}}"; a group run may have started: '
         "check https://app.docketqa.com/dashboard/grouprun/35 before re-running", trigger=True),
    Case("empty-test-runs", json_reply({"test_group_run": {"id": 35, "test_runs": []}}), ExitCode.API,
         "group run 35 lists no test runs", trigger=True),
    Case("runs-not-objects", json_reply({"test_group_run": {"id": 35, "test_runs": [38, 39]}}), ExitCode.API,
         "group run 35 lists a test run that is not an object", trigger=True),
    Case("no-group-run", json_reply({"message": "Test group run triggered successfully"}), ExitCode.API,
         "but the body has no 'test_group_run' object", trigger=True),
    Case("trigger-not-json", Reply(body=HTML), ExitCode.API,
         f'DocketQA answered POST /test_group_run/trigger_run with HTTP 200 but the body is not JSON: "{HTML}"'
         + TRIGGER_HINT, trigger=True),
    Case("trigger-empty", Reply(body=b""), ExitCode.API, "the body is empty" + TRIGGER_HINT, trigger=True),
    Case("unknown-blueprint", json_reply({"error": "Test blueprint 181 not found"}, 422), ExitCode.API,
         "DocketQA refused the trigger with HTTP 422: Test blueprint 181 not found: check the blueprint ids and "
         "--api-url", trigger=True),
    Case("trigger-over-the-cap", Reply(body=b" " * OVER_CAP), ExitCode.API,
         "DocketQA's answer to POST /test_group_run/trigger_run is larger than the 20 MB limit; refused; DocketQA may "
         "have started a group run", trigger=True),
    Case("key-rejected", json_reply({"error": "Invalid API key"}, 401), ExitCode.API,
         "DocketQA rejected the API key (HTTP 401): check DOCKET_API_KEY", trigger=True),
]  # fmt: skip


@pytest.fixture
def api() -> Iterator[FixtureServer]:
    with serving(FakeClock(START)) as server:
        yield server


def gate(server: FixtureServer, command: list[str], *, workspace: Path, register: Register) -> GateRun:
    clock = server.clock
    assert isinstance(clock, FakeClock)
    args = [*command, "--api-url", server.url, *report_args()]
    return run_gate(args, workspace=workspace, register=register, clock=clock)


def lines_saying(text: str, run: GateRun) -> list[str]:
    return [line for line in run.err.splitlines() if text in line]


@pytest.mark.parametrize("case", GET_CASES, ids=lambda case: case.name)
def test_a_bad_run_answer_is_one_line_and_the_documented_code(
    case: Case, api: FixtureServer, tmp_path: Path, leak_guard: Register
) -> None:
    """A run answered badly ends as one stderr line naming what was wrong; the other run's result is intact."""
    api.script("GET", "/test_run/1", case.reply)
    api.script("GET", "/test_run/2", json_reply(run_body(2, "passed", blueprint_id=185, title="Search")))
    run = gate(api, ["wait", "--test-run", "1,2"], workspace=tmp_path, register=leak_guard)

    assert_clean_exit(run)
    assert run.code == case.code, run.err
    assert run.error_lines == []  # a bad run is reported as a run, not as a crash of the gate
    (line,) = lines_saying(case.says, run)
    assert line.startswith(("ERROR: Test run 1 (test run 1): ", "FAILED: Test run 1 (test run 1): ")), line
    document = assert_reports_complete(run)
    first, second = document["runs"]
    assert case.says in first["problem"] and first["verdict"] == ("failed" if case.code == 1 else "error")
    assert (second["test_run_id"], second["verdict"]) == (2, "passed")


@pytest.mark.parametrize("case", TRIGGER_CASES, ids=lambda case: case.name)
def test_a_bad_trigger_answer_is_one_error_line_and_exit_4(
    case: Case, api: FixtureServer, tmp_path: Path, leak_guard: Register
) -> None:
    """A trigger answered badly: exactly one POST, one error line saying what to check, reports with ERROR rows."""
    api.script("POST", TRIGGER, case.reply)
    run = gate(api, ["run", "--blueprint", "181,185"], workspace=tmp_path, register=leak_guard)

    assert_clean_exit(run)
    assert run.code == case.code
    (line,) = run.error_lines
    assert case.says in line, line
    assert len(api.seen("POST")) == 1 and api.seen("GET") == []
    document = assert_reports_complete(run)
    assert [(r["blueprint_id"], r["verdict"]) for r in document["runs"]] == [(181, "error"), (185, "error")]


def test_a_redirect_to_another_host_never_carries_the_key(
    api: FixtureServer, tmp_path: Path, leak_guard: Register
) -> None:
    """A 302 to another host is an API error naming that host; the other host never receives a request or the key."""
    with serving(FakeClock(START)) as elsewhere:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + f"/test_run/1?key={TEST_API_KEY}"
        api.script("GET", "/test_run/1", Reply(status=302, headers={"Location": target}))
        api.script("POST", TRIGGER, Reply(status=307, headers={"Location": target}))
        waited = gate(api, ["wait", "--test-run", "1"], workspace=tmp_path / "wait", register=leak_guard)
        ran = gate(api, ["run", "--blueprint", "181"], workspace=tmp_path / "run", register=leak_guard)
        assert elsewhere.requests == []
    for run, call, status in ((waited, "GET /test_run/1", 302), (ran, "POST " + TRIGGER, 307)):
        assert_clean_exit(run)
        assert run.code == ExitCode.API
        expected = (f"DocketQA answered {call} with a redirect (HTTP {status}) to localhost; redirects are not "
                    f"followed so the API key never leaves 127.0.0.1: check --api-url")  # fmt: skip
        assert expected in run.err
    assert waited.error_lines == [] and ran.error_lines == [ERROR_PREFIX + expected]


def test_a_run_that_keeps_answering_malformed_json_is_given_up_while_the_others_go_on(
    tmp_path: Path, leak_guard: Register
) -> None:
    """One run's answers are always truncated: it is asked a bounded number of times, then ERROR; the rest finish."""
    clock = FakeClock(START)
    with sandbox_serving("mixed", clock=clock) as probe:
        broken = f"/test_run/{probe.preexisting_run_ids[0]}"
    plan = FaultPlan(rate=1.0, modes=(FaultMode.MALFORMED,), paths=frozenset({broken}))
    with sandbox_serving("mixed", clock=clock, faults=plan) as sandbox:
        run = run_gate([*wait_args(sandbox), *report_args()], workspace=tmp_path, register=leak_guard, clock=clock,
                       sandbox=sandbox)  # fmt: skip
    assert_clean_exit(run)
    assert run.code == ExitCode.FAILED  # 'mixed' has a real failure: 1 before 4
    asked = [record for record in sandbox.requests if record.path == broken]
    assert len(asked) == MAX_MALFORMED
    first, *others = assert_reports_complete(run)["runs"]
    assert first["verdict"] == "error"
    assert first["problem"].startswith(f"DocketQA answered GET {broken} with HTTP 200 but the body is not JSON: ")
    assert first["problem"].endswith(f"({MAX_MALFORMED} times in a row)")
    assert [r["verdict"] for r in others] == ["failed", "passed", "error"]
    assert others[2]["problem"].startswith("DocketQA reported status 'stopped'")


# --- the key in what the API sends back -----------------------------------------------------------------------

ECHOES = [
    pytest.param(json_reply({"error": f"key {TEST_API_KEY} is not allowed here"}, 400), id="error-body"),
    pytest.param(Reply(status=503, body=f"upstream rejected {TEST_API_KEY}"), id="transient-body"),
    pytest.param(
        Reply(status=302, headers={"Location": f"https://{TEST_API_KEY}.example/x?k={TEST_API_KEY}"}),
        id="redirect-location",
    ),
    pytest.param(Reply(body=f"<html>{TEST_API_KEY}</html>"), id="html-200"),
    pytest.param(json_reply(run_json(id=1, status=TEST_API_KEY)), id="status-field"),
]


@pytest.mark.parametrize("reply", ECHOES)
def test_errors_raised_by_the_client_never_carry_the_key(reply: Reply, api: FixtureServer) -> None:
    """A server that echoes the key in an error body, a redirect or a bad answer: the exception text has no key."""
    api.script("GET", "/test_run/1", reply)
    client = make_client(api)
    try:
        run = client.get_test_run(1, timeout=10.0)
    except ApiError as exc:
        assert TEST_API_KEY not in str(exc) and TEST_API_KEY not in repr(exc.args)
        assert TEST_API_KEY not in exc.message
    else:
        assert TEST_API_KEY not in repr(run)
    finally:
        client.close()
    assert api.requests[0].headers["x-api-key"] == TEST_API_KEY  # the key was sent, so an echo was possible


def test_a_key_echoed_in_a_run_never_reaches_a_report_or_the_log(
    api: FixtureServer, tmp_path: Path, leak_guard: Register
) -> None:
    """The key echoed in a finished run's title, steps and URLs is replaced before anything is printed or written."""
    body = run_body(1, "failed", blueprint_id=181, title=f"Login as {TEST_API_KEY}", failed_step=True)
    step = body["test_run"]["results"][0]
    step["result"] = f"The field showed {TEST_API_KEY}"
    body["test_run"]["test_video_url"] = f"https://cdn.example/{TEST_API_KEY}.webm"
    api.script("GET", "/test_run/1", json_reply(body))
    run = gate(api, ["wait", "--test-run", "1"], workspace=tmp_path, register=leak_guard)
    assert_clean_exit(run)
    assert run.code == ExitCode.FAILED
    document = assert_reports_complete(run)
    assert document["runs"][0]["title"] == "Login as ***"
    assert "The field showed ***" in run.out
