"""DocketQA over one pooled requests.Session: single attempts that classify every failure for the retry rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from gate import __version__
from gate.client_text import (
    api_message,
    describe_transport_error,
    excerpt,
    never_connected,
)
from gate.errors import (
    ApiError,
    AuthError,
    MalformedResponse,
    TransientApiError,
    TriggerUncertain,
)
from gate.model import GroupRun, TestRun
from gate.payload import parse_test_run, parse_test_run_response
from gate.retry import parse_retry_after
from gate.secret import Secret

if TYPE_CHECKING:
    import requests

MAX_BODY_BYTES = 20 * 1024 * 1024
#: Error bodies are only read for a message; no need to hold more.
ERROR_BODY_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
TRIGGER_PATH = "/test_group_run/trigger_run"
UNCERTAIN_HINT = (
    "DocketQA may have started a group run: check https://app.docketqa.com/dashboard before re-running; "
    "not retried to avoid a second billable run"
)
#: Safe to repeat for a GET; 501/505 say the request itself can never work.
_GET_TRANSIENT = frozenset({408, 429} | set(range(500, 600))) - {501, 505}
#: For the trigger only these prove that no group run was created.
_POST_TRANSIENT = frozenset({429, 503})


@dataclasses.dataclass(frozen=True)
class TriggerResult:
    group_run: GroupRun
    runs: tuple[TestRun, ...]


@dataclasses.dataclass(frozen=True)
class _Call:
    method: str
    path: str

    @property
    def is_trigger(self) -> bool:
        return self.method == "POST"

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclasses.dataclass(frozen=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class ApiClient:
    """The two DocketQA endpoints. Each call is one attempt; retrying is the caller's decision."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: Secret,
        pool_size: int = 8,
        user_agent: str = f"docketqa-gate/{__version__}",
        timeouts: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        max_body_bytes: int = MAX_BODY_BYTES,
        wall_clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self._base = base_url.rstrip("/")
        self._host = urlsplit(self._base).hostname or self._base
        self._key = api_key
        self._timeouts = timeouts
        self._max_body = max_body_bytes
        self._wall = wall_clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._session = requests.Session()
        settle_environment(self._session, self._base)
        # max_retries=0: every retry decision is ours (the POST must never be repeated behind our back).
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {"X-API-KEY": api_key.reveal(), "User-Agent": user_agent, "Accept": "application/json"}
        )

    def close(self) -> None:
        self._session.close()

    def trigger(self, blueprint_ids: Sequence[int], *, timeout: float) -> TriggerResult:
        """Start one group run for ``blueprint_ids`` (``timeout`` = seconds left before the deadline)."""
        call = _Call("POST", TRIGGER_PATH)
        try:
            reply = self._send(call, timeout=timeout, payload={"test_blueprint_ids": [int(i) for i in blueprint_ids]})
            self._check_status(call, reply)
            return _parse_trigger(call, reply)
        except ApiError as exc:
            raise self._redacted(exc) from None

    def get_test_run(self, run_id: int, *, timeout: float) -> TestRun:
        """The current state of one test run (``timeout`` = seconds left before the deadline)."""
        call = _Call("GET", f"/test_run/{int(run_id)}")
        try:
            reply = self._send(call, timeout=timeout)
            if reply.status == 404:
                raise ApiError(f"DocketQA has no test run {run_id} (HTTP 404 for {call}): check the test run id")
            self._check_status(call, reply)
            body = _json(call, reply)
            run = _shaped(call, reply, parse=lambda: parse_test_run_response(body))
            if run.id != run_id:
                _malformed(call, reply, problem=f"it describes test run {run.id} instead")
            return run
        except ApiError as exc:
            raise self._redacted(exc) from None

    # --- one attempt -------------------------------------------------------------------------------------

    def _send(self, call: _Call, *, timeout: float, payload: Any = None) -> _Reply:
        import requests

        if timeout <= 0:
            raise TransientApiError(f"no time left before the deadline for {call}")  # nothing was sent
        connect_s, read_s = min(self._timeouts[0], timeout), min(self._timeouts[1], timeout)
        started = time.monotonic()
        try:
            response = self._session.request(
                call.method, self._base + call.path, json=payload, timeout=(connect_s, read_s),
                allow_redirects=False, stream=True,
            )
        except requests.RequestException as exc:
            raise self._transport_error(call, exc, connect_s=connect_s, read_s=read_s) from None
        with response:
            try:
                body = self._read_body(call, response, deadline=started + timeout)
            except requests.RequestException as exc:
                raise self._transport_error(call, exc, connect_s=connect_s, read_s=read_s, answered=True) from None
            return _Reply(response.status_code, response.headers, self._scrubbed(body))

    def _scrubbed(self, body: bytes) -> bytes:
        """``body`` with the key replaced: DocketQA text is untrusted and may echo it (an error body, a test that
        typed it), and nothing parsed or quoted from a body may carry it into a report or a log."""
        key = self._key.reveal().encode("utf-8")
        if not key:
            return body
        for form in dict.fromkeys((key, key.replace(b"/", b"\\/"))):  # JSON encoders may write "/" as "\/"
            body = body.replace(form, b"***")
        return body

    def _read_body(self, call: _Call, response: requests.Response, *, deadline: float) -> bytes:
        """Stream and count (Content-Length may lie, gzip may expand); stop at the size cap and the deadline."""
        ok = 200 <= response.status_code < 300
        limit = self._max_body if ok else ERROR_BODY_BYTES
        declared = response.headers.get("Content-Length", "")
        if ok and declared.isdigit() and int(declared) > limit:
            self._too_large(call)
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > limit:
                if ok:
                    self._too_large(call)
                break  # an error body: the beginning is enough for the message
            chunks.append(chunk)
            if time.monotonic() > deadline:  # a server trickling bytes must not hold the gate past its deadline
                raise _lost(call, f"DocketQA at {self._host} did not finish answering {call} before the deadline")
        return b"".join(chunks)

    def _too_large(self, call: _Call) -> NoReturn:
        hint = f"; {UNCERTAIN_HINT}" if call.is_trigger else ""
        raise MalformedResponse(
            f"DocketQA's answer to {call} is larger than the {self._max_body // (1024 * 1024)} MB limit; refused{hint}"
        )

    def _transport_error(
        self, call: _Call, exc: Exception, *, connect_s: float, read_s: float, answered: bool = False
    ) -> ApiError:
        import requests

        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema)):
            return ApiError(f"the DocketQA API URL {self._base} is not usable: check --api-url")
        if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in repr(exc):
            return ApiError(
                f"TLS certificate verification failed for {self._host}: if a proxy or private CA is in the way, "
                "set REQUESTS_CA_BUNDLE to its CA bundle"
            )
        reason = describe_transport_error(exc, host=self._host, call=str(call), connect_s=connect_s, read_s=read_s)
        if not answered and never_connected(exc):
            return TransientApiError(reason)  # the request never left this machine: safe even for the trigger
        return _lost(call, reason)

    def _check_status(self, call: _Call, reply: _Reply) -> None:
        status = reply.status
        if 200 <= status < 300:
            return
        if status in (401, 403):
            raise AuthError(f"DocketQA rejected the API key (HTTP {status}): check DOCKET_API_KEY")
        if 300 <= status < 400:
            target = urlsplit(reply.headers.get("Location", "")).hostname or "an unnamed location"
            raise ApiError(
                f"DocketQA answered {call} with a redirect (HTTP {status}) to {excerpt(target, limit=80)}; redirects "
                f"are not followed so the API key never leaves {self._host}: check --api-url"
            )
        retry_after = parse_retry_after(reply.headers.get("Retry-After"), now_wall=self._wall())
        said = f" (Retry-After {retry_after:g} s)" if retry_after is not None else ""
        message = api_message(reply.body)
        detail = f": {message}" if message else ""
        if call.is_trigger:
            if status in _POST_TRANSIENT:
                raise TransientApiError(f"DocketQA answered {call} with HTTP {status}{said}", retry_after=retry_after)
            if 400 <= status < 500:
                raise ApiError(f"DocketQA refused the trigger with HTTP {status}{detail or ' and no message'}: "
                               "check the blueprint ids and --api-url")
            raise TriggerUncertain(f"DocketQA answered {call} with HTTP {status}; {UNCERTAIN_HINT}")
        if status in _GET_TRANSIENT:
            raise TransientApiError(f"DocketQA answered {call} with HTTP {status}{said}", retry_after=retry_after)
        raise ApiError(f"DocketQA answered {call} with HTTP {status}{detail}")

    def _redacted(self, exc: ApiError) -> ApiError:
        """Last line of defence: no message leaves the client with the key in it."""
        exc.message = self._key.redact(exc.message)
        exc.args = (exc.message,)
        return exc


def settle_environment(session: requests.Session, base_url: str) -> None:
    """Read HTTP(S)_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) once, by requests' own rules.

    With ``trust_env`` on, requests re-reads the whole environment on every call: a third of a poll's CPU,
    which shows when hundreds of runs are polled 8 at a time on 2 cores. Every call goes to ``base_url``, so
    resolving once is the same answer. ~/.netrc is no longer consulted: the key header is our only credential.
    """
    import requests.utils

    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


def _lost(call: _Call, reason: str) -> ApiError:
    """The request may have reached DocketQA but its answer was lost: fine to repeat a GET, never the trigger."""
    if call.is_trigger:
        return TriggerUncertain(f"{reason}; {UNCERTAIN_HINT}")
    return TransientApiError(reason)


def _json(call: _Call, reply: _Reply) -> Any:
    if not reply.body.strip():
        _malformed(call, reply, problem="the body is empty", quote=False)
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
        _malformed(call, reply, problem="the body is not JSON")


def _shaped(call: _Call, reply: _Reply, *, parse: Callable[[], Any]) -> Any:
    """Run a model parser; any shape problem (even one the parser did not foresee) is a MalformedResponse."""
    try:
        return parse()
    except MalformedResponse as exc:
        _malformed(call, reply, problem=exc.message)
    except (TypeError, ValueError, OverflowError, RecursionError, AttributeError) as exc:
        _malformed(call, reply, problem=f"its content could not be read ({type(exc).__name__})")


def _malformed(call: _Call, reply: _Reply, *, problem: str, quote: bool = True, group: GroupRun | None = None) -> NoReturn:
    quoted = f': "{excerpt(reply.body)}"' if quote else ""
    hint = ""
    if call.is_trigger:
        where = group.dashboard_url if group else "https://app.docketqa.com/dashboard"
        hint = f"; a group run may have started: check {where} before re-running"
    raise MalformedResponse(f"DocketQA answered {call} with HTTP {reply.status} but {problem}{quoted}{hint}")


def _parse_trigger(call: _Call, reply: _Reply) -> TriggerResult:
    body = _json(call, reply)
    group = body.get("test_group_run") if isinstance(body, Mapping) else None
    if not isinstance(group, Mapping):
        _malformed(call, reply, problem="the body has no 'test_group_run' object")
    group_id = group.get("id")
    if not isinstance(group_id, int) or isinstance(group_id, bool):
        _malformed(call, reply, problem="'test_group_run' has no integer 'id'")
    name, created = group.get("name"), group.get("created_at")
    group_run = GroupRun(
        id=group_id,
        name=name if isinstance(name, str) else None,
        created_at=created if isinstance(created, str) else None,
    )
    raw_runs = group.get("test_runs")
    if not isinstance(raw_runs, list) or not raw_runs:
        _malformed(call, reply, problem=f"group run {group_id} lists no test runs", group=group_run)
    if not all(isinstance(raw, Mapping) for raw in raw_runs):
        _malformed(call, reply, problem=f"group run {group_id} lists a test run that is not an object", group=group_run)
    runs = _shaped(call, reply, parse=lambda: tuple(parse_test_run(raw) for raw in raw_runs))
    return TriggerResult(group_run=group_run, runs=runs)
