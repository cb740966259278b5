"""The API client over real HTTP on 127.0.0.1: headers, parsing, and how every failure is classified."""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import json

import pytest

from gate import __version__
from gate.client import TRIGGER_PATH, ApiClient
from gate.errors import (
    ApiError,
    AuthError,
    MalformedResponse,
    TransientApiError,
    TriggerUncertain,
)
from gate.failures import UNCERTAIN_HINT
from tests.support.http_fixture import (
    FixtureServer,
    Reply,
    free_port,
    json_reply,
    make_client,
    run_body,
    serving,
    trigger_body,
)
from tests.support.keys import TEST_API_KEY

WALL = dt.datetime(2025, 7, 3, 1, 38, 3, tzinfo=dt.timezone.utc)


@pytest.fixture
def client(server: FixtureServer) -> ApiClient:
    # A short read timeout so "the server stalls" tests take a fraction of a second.
    return make_client(server, timeouts=(2.0, 0.3), wall_clock=lambda: WALL)


def _trigger(client: ApiClient) -> object:
    return client.trigger([180, 181], timeout=60)


# --- what is sent -----------------------------------------------------------------------------------------


def test_requests_carry_key_agent_and_accept_headers(server: FixtureServer, client: ApiClient) -> None:
    """Every request identifies the gate and authenticates with X-API-KEY; the POST sends JSON ids."""
    server.script("GET", "/test_run/38", json_reply(run_body(38, "passed")))
    server.script("POST", TRIGGER_PATH, json_reply(trigger_body(35, [(38, 180), (39, 181)])))
    client.get_test_run(38, timeout=60)
    _trigger(client)
    get, post = server.requests
    for seen in (get, post):
        assert seen.headers["x-api-key"] == TEST_API_KEY
        assert seen.headers["user-agent"] == f"docketqa-gate/{__version__}"
        assert seen.headers["accept"] == "application/json"
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.body) == {"test_blueprint_ids": [180, 181]}


def test_trigger_returns_the_group_run_and_its_runs_in_order(server: FixtureServer, client: ApiClient) -> None:
    """The trigger response yields the group run and each test run, keyed by run id."""
    server.script("POST", TRIGGER_PATH, json_reply(trigger_body(35, [(38, 180), (40, 7), (39, 181)]), status=201))
    result = client.trigger([180, 181], timeout=60)
    assert result.group_run.id == 35
    assert result.group_run.dashboard_url == "https://app.docketqa.com/dashboard/grouprun/35"
    assert [(run.id, run.blueprint_id, run.status) for run in result.runs] == [
        (38, 180, "running"), (40, 7, "running"), (39, 181, "running")]


def test_get_test_run_parses_the_documented_shape(server: FixtureServer, client: ApiClient) -> None:
    """A GET answer becomes a TestRun with status, blueprint and steps."""
    server.script("GET", "/test_run/38", json_reply(run_body(38, "failed", blueprint_id=180, title="Login Flow",
                                                             failed_step=True)))
    run = client.get_test_run(38, timeout=60)
    assert (run.id, run.status, run.blueprint_id, run.title, run.is_final) == (38, "failed", 180, "Login Flow", True)
    assert run.steps[0].result == "no login form"


# --- GET failures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_get_server_errors_are_transient(server: FixtureServer, client: ApiClient, status: int) -> None:
    """Overload and gateway errors on a GET are worth another try."""
    server.script("GET", "/test_run/38", Reply(status=status, body="busy"))
    with pytest.raises(TransientApiError) as caught:
        client.get_test_run(38, timeout=60)
    assert caught.value.message == f"DocketQA answered GET /test_run/38 with HTTP {status}"
    assert caught.value.retry_after is None


def test_get_retry_after_seconds_is_passed_on(server: FixtureServer, client: ApiClient) -> None:
    """A 429's Retry-After in seconds reaches the caller with the error."""
    server.script("GET", "/test_run/38", Reply(status=429, headers={"Retry-After": "7"}))
    with pytest.raises(TransientApiError) as caught:
        client.get_test_run(38, timeout=60)
    assert caught.value.retry_after == 7.0
    assert "(Retry-After 7 s)" in caught.value.message


def test_get_retry_after_http_date_is_converted_to_seconds(server: FixtureServer, client: ApiClient) -> None:
    """An HTTP-date Retry-After becomes seconds from the client's wall clock."""
    when = email.utils.format_datetime(WALL + dt.timedelta(seconds=12), usegmt=True)
    server.script("GET", "/test_run/38", Reply(status=503, headers={"Retry-After": when}))
    with pytest.raises(TransientApiError) as caught:
        client.get_test_run(38, timeout=60)
    assert caught.value.retry_after == 12.0


def test_get_connection_reset_is_transient(server: FixtureServer, client: ApiClient) -> None:
    """A connection reset while reading a GET answer is worth another try."""
    server.script("GET", "/test_run/38", Reply(reset=True))
    with pytest.raises(TransientApiError, match="connection to DocketQA at 127.0.0.1 was lost during GET"):
        client.get_test_run(38, timeout=60)


def test_get_connection_refused_is_transient() -> None:
    """Nothing listening is worth another try, and says so."""
    client = make_client(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientApiError, match="could not connect to DocketQA at 127.0.0.1: connection refused"):
        client.get_test_run(38, timeout=60)


def test_request_timeout_is_clipped_to_the_time_left(server: FixtureServer) -> None:
    """A stalled server cannot hold a request past the deadline: the answer that comes later is never used."""
    server.script("GET", "/test_run/38", Reply(delay_s=3.0, body=run_body(38, "passed")))
    client = make_client(server)  # ordinary 30 s read timeout: only the time left can cut the wait short
    with pytest.raises(TransientApiError, match=r"did not answer GET /test_run/38 within 0\.3 s"):
        client.get_test_run(38, timeout=0.3)


def test_no_time_left_sends_nothing(server: FixtureServer, client: ApiClient) -> None:
    """With the deadline already reached the client does not even connect."""
    with pytest.raises(TransientApiError, match="no time left"):
        client.trigger([180], timeout=0)
    assert server.requests == []


def test_missing_run_names_the_id(server: FixtureServer, client: ApiClient) -> None:
    """A 404 on a run is an API error that names the run id."""
    with pytest.raises(ApiError) as caught:
        client.get_test_run(4242, timeout=60)
    assert type(caught.value) is ApiError
    assert caught.value.message == (
        "DocketQA has no test run 4242 (HTTP 404 for GET /test_run/4242): check the test run id")


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_is_an_auth_error(server: FixtureServer, client: ApiClient, status: int) -> None:
    """401/403 on either endpoint says the key was rejected and where to fix it."""
    server.fallback(lambda seen: json_reply({"message": "Invalid API key"}, status=status))
    for call in (lambda: client.get_test_run(38, timeout=60), lambda: _trigger(client)):
        with pytest.raises(AuthError) as caught:
            call()
        assert caught.value.message == f"DocketQA rejected the API key (HTTP {status}): check DOCKET_API_KEY"


# --- the trigger POST: retried only when nothing can have been created ------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_trigger_overload_is_transient(server: FixtureServer, client: ApiClient, status: int) -> None:
    """429/503 prove the POST was turned away, so the caller may send it again."""
    server.script("POST", TRIGGER_PATH, Reply(status=status, headers={"Retry-After": "3"}))
    with pytest.raises(TransientApiError) as caught:
        _trigger(client)
    assert caught.value.retry_after == 3.0
    assert len(server.seen("POST")) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_trigger_server_error_is_uncertain(server: FixtureServer, client: ApiClient, status: int) -> None:
    """After other 5xx a group run may exist: say so, with the dashboard to check."""
    server.script("POST", TRIGGER_PATH, Reply(status=status))
    with pytest.raises(TriggerUncertain) as caught:
        _trigger(client)
    assert caught.value.message == f"DocketQA answered POST {TRIGGER_PATH} with HTTP {status}; {UNCERTAIN_HINT}"
    assert len(server.seen("POST")) == 1


def test_trigger_reset_after_send_is_uncertain(server: FixtureServer, client: ApiClient) -> None:
    """A connection lost after the POST went out may hide a started group run."""
    server.script("POST", TRIGGER_PATH, Reply(reset=True))
    with pytest.raises(TriggerUncertain, match="https://app.docketqa.com/dashboard before re-running"):
        _trigger(client)
    assert len(server.seen("POST")) == 1


def test_trigger_read_timeout_is_uncertain(server: FixtureServer, client: ApiClient) -> None:
    """A POST whose answer never came may still have started a group run."""
    server.script("POST", TRIGGER_PATH, Reply(delay_s=3.0, body=trigger_body(35, [(38, 180)])))
    with pytest.raises(TriggerUncertain) as caught:
        _trigger(client)
    assert caught.value.message.startswith(f"DocketQA at 127.0.0.1 did not answer POST {TRIGGER_PATH} within 0.3 s")
    assert "not retried to avoid a second billable run" in caught.value.message


def test_trigger_refused_connection_is_transient() -> None:
    """A refused connection proves the POST never left, so it may be sent again."""
    client = make_client(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientApiError, match="connection refused"):
        _trigger(client)


@pytest.mark.parametrize("status", [400, 422])
def test_trigger_rejection_quotes_the_api_message_sanitised(
    server: FixtureServer, client: ApiClient, status: int
) -> None:
    """400/422 pass on DocketQA's own reason as one clean, short line."""
    hostile = "Blueprint 999\nnot found\x1b[31m::error::boom\u202e" + "x" * 300
    server.script("POST", TRIGGER_PATH, json_reply({"message": hostile}, status=status))
    with pytest.raises(ApiError) as caught:
        _trigger(client)
    message = caught.value.message
    assert message.startswith(f"DocketQA refused the trigger with HTTP {status}: Blueprint 999 not found [31m::error::boom")
    assert message.endswith("…: check the blueprint ids and --api-url")
    assert not any(ch in message for ch in "\n\x1b\u202e")
    assert len(message) < 220


# --- redirects, size, shape -----------------------------------------------------------------------------------


def test_redirect_is_not_followed_and_the_other_host_never_sees_the_key(
    server: FixtureServer, client: ApiClient
) -> None:
    """A 3xx is an error naming the target host; the key never travels there."""
    with serving() as elsewhere:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "/test_run/38"
        server.script("GET", "/test_run/38", Reply(status=302, headers={"Location": target}))
        server.script("POST", TRIGGER_PATH, Reply(status=307, headers={"Location": target}))
        with pytest.raises(ApiError, match=r"redirect \(HTTP 302\) to localhost; redirects are not followed"):
            client.get_test_run(38, timeout=60)
        with pytest.raises(ApiError, match=r"redirect \(HTTP 307\) to localhost"):
            _trigger(client)
        assert elsewhere.requests == []


def test_body_over_the_cap_is_refused(server: FixtureServer) -> None:
    """An answer larger than the cap is refused, whether or not it declares its length."""
    client = make_client(server, max_body_bytes=10_000)
    big = json.dumps(run_body(38, "passed") | {"padding": "x" * 20_000})
    server.script("GET", "/test_run/38", Reply(body=big))
    server.script("GET", "/test_run/39", Reply(body=big, chunked=True))
    for run_id in (38, 39):
        with pytest.raises(MalformedResponse, match=f"answer to GET /test_run/{run_id} is larger than"):
            client.get_test_run(run_id, timeout=60)


def test_compressed_body_is_counted_after_decompression(server: FixtureServer) -> None:
    """A small gzip body that expands past 20 MB is refused (Content-Length alone is not trusted)."""
    bomb = gzip.compress(b'{"test_run": {"id": 38, "status": "passed", "pad": "' + b" " * (21 * 1024 * 1024) + b'"}}')
    assert len(bomb) < 100_000
    server.script("GET", "/test_run/38", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(MalformedResponse, match="larger than the 20 MB limit; refused"):
        make_client(server).get_test_run(38, timeout=60)


@pytest.mark.parametrize(
    "body, problem",
    [
        (b"<!doctype html><html><body>Service \x07Unavailable</body></html>", 'the body is not JSON: "<!doctype html>'),
        (b"", "the body is empty"),
        (b'{"test_run": {"id": 38, "status": "pass', "the body is not JSON"),
        (b'{"test_run": {"id": 38, "status": 5}}', "test run 38 has no string 'status' (got int)"),
        (b'{"test_run": {"status": "passed"}}', "test run has no integer 'id' (got null)"),
        (b'{"test_run": {"id": 38, "status": "failed", "results": "x"}}', "has 'results' of type str"),
        (b'{"test_run": {"id": 39, "status": "passed"}}', "it describes test run 39 instead"),
        (b"[" * 100_000 + b"]" * 100_000, "the body is not JSON"),
        (b'{"test_run": {"id": 38, "status": "passed", "results": [{"duration": 1' + b"0" * 400 + b"}]}}",
         "its content could not be read (OverflowError)"),
    ],
)
def test_malformed_run_answers_quote_status_and_a_clean_excerpt(
    server: FixtureServer, client: ApiClient, body: bytes, problem: str
) -> None:
    """Non-JSON or wrongly shaped answers become one line with the HTTP status and a short sanitised excerpt."""
    server.script("GET", "/test_run/38", Reply(body=body))
    with pytest.raises(MalformedResponse) as caught:
        client.get_test_run(38, timeout=60)
    message = caught.value.message
    assert message.startswith("DocketQA answered GET /test_run/38 with HTTP 200 but ")
    assert problem in message
    assert "\x07" not in message and "\n" not in message
    assert len(message) < 320


def test_trigger_without_test_runs_is_malformed_and_points_at_the_group_run(
    server: FixtureServer, client: ApiClient
) -> None:
    """A trigger answer that lists no runs cannot be followed; the group run may exist, so link it."""
    server.script("POST", TRIGGER_PATH, json_reply({"test_group_run": {"id": 35, "test_runs": []}}))
    with pytest.raises(MalformedResponse) as caught:
        _trigger(client)
    assert "group run 35 lists no test runs" in caught.value.message
    assert caught.value.message.endswith(
        "a group run may have started: check https://app.docketqa.com/dashboard/grouprun/35 before re-running")


def test_the_key_never_appears_in_any_error(server: FixtureServer, client: ApiClient) -> None:
    """Even when DocketQA echoes the key back in bodies or headers, no exception text contains it."""
    echo = f"bad key {TEST_API_KEY}"
    server.script("GET", "/test_run/1", json_reply({"message": echo}, status=418))
    server.script("GET", "/test_run/2", Reply(body=echo))
    server.script("GET", "/test_run/3", Reply(status=301, headers={"Location": f"http://{TEST_API_KEY}.example/"}))
    server.script("GET", "/test_run/4", json_reply({"test_run": {"id": 4, "status": 5, "x": echo}}))
    server.script("POST", TRIGGER_PATH, json_reply({"message": echo}, status=422))
    messages = []
    for call in [*(lambda i=i: client.get_test_run(i, timeout=60) for i in (1, 2, 3, 4)), lambda: _trigger(client)]:
        with pytest.raises(ApiError) as caught:
            call()
        messages.append(str(caught.value))
    assert all(TEST_API_KEY not in text for text in messages)
    assert "bad key ***" in messages[0]


def test_proxy_from_the_environment_is_used(server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP(S)_PROXY is honoured as requests does, and NO_PROXY bypasses it."""
    with serving() as proxy:
        proxy.fallback(lambda seen: json_reply(run_body(38, "passed")))
        for name in ("NO_PROXY", "no_proxy", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        make_client(server).get_test_run(38, timeout=60)
        assert [seen.path for seen in proxy.requests] == [f"{server.url}/test_run/38"]
        assert server.requests == []
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        server.script("GET", "/test_run/38", json_reply(run_body(38, "passed")))
        make_client(server).get_test_run(38, timeout=60)
        assert len(server.requests) == 1 and len(proxy.requests) == 1
