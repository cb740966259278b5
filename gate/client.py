"""DocketQA over one pooled requests.Session: single attempts that classify every failure for the retry rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gate import PROG, __version__
from gate.errors import ApiError, MalformedResponse, TransientApiError
from gate.failures import (
    Call,
    Reply,
    check_status,
    lost,
    malformed,
    too_large,
    transport_failure,
)
from gate.model import TestRun
from gate.outcome import GroupRun, own_dashboard
from gate.payload import parse_test_run, parse_test_run_response
from gate.secret import Secret

if TYPE_CHECKING:
    import requests

MAX_BODY_BYTES = 20 * 1024 * 1024
#: Error bodies are only read for a message; no need to hold more.
ERROR_BODY_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
TRIGGER_PATH = "/test_group_run/trigger_run"


@dataclasses.dataclass(frozen=True)
class TriggerResult:
    group_run: GroupRun
    runs: tuple[TestRun, ...]


class ApiClient:
    """The two DocketQA endpoints. Each call is one attempt; retrying is the caller's decision."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: Secret,
        pool_size: int = 8,
        timeouts: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        max_body_bytes: int = MAX_BODY_BYTES,
        wall_clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self._base = base_url.rstrip("/")
        self._host = urlsplit(self._base).hostname or self._base
        #: host:port, for messages about connections (a wrong port is as common a mistake as a wrong host).
        self._where = _host_and_port(self._base)
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
            {"X-API-KEY": api_key.reveal(), "User-Agent": f"{PROG}/{__version__}", "Accept": "application/json"}
        )

    def close(self) -> None:
        self._session.close()

    def trigger(self, blueprint_ids: Sequence[int], *, timeout: float) -> TriggerResult:
        """Start one group run for ``blueprint_ids`` (``timeout`` = seconds left before the deadline)."""
        call = Call("POST", TRIGGER_PATH)
        try:
            reply = self._send(call, timeout=timeout, payload={"test_blueprint_ids": [int(i) for i in blueprint_ids]})
            check_status(call, reply, host=self._host, wall_clock=self._wall)
            return _parse_trigger(call, reply, base_url=self._base)
        except ApiError as exc:
            raise self._redacted(exc) from None

    def get_test_run(self, run_id: int, *, timeout: float) -> TestRun:
        """The current state of one test run (``timeout`` = seconds left before the deadline)."""
        call = Call("GET", f"/test_run/{int(run_id)}")
        try:
            reply = self._send(call, timeout=timeout)
            if reply.status == 404:
                raise ApiError(f"DocketQA has no test run {run_id} (HTTP 404 for {call}): check the test run id")
            check_status(call, reply, host=self._host, wall_clock=self._wall)
            body = _json(call, reply)
            run = _shaped(call, reply, parse=lambda: parse_test_run_response(body))
            if run.id != run_id:
                malformed(call, reply, problem=f"it describes test run {run.id} instead")
            return run
        except ApiError as exc:
            raise self._redacted(exc) from None

    # --- one attempt -------------------------------------------------------------------------------------

    def _send(self, call: Call, *, timeout: float, payload: Any = None) -> Reply:
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
            raise self._transport_failure(call, exc, connect_s=connect_s, read_s=read_s) from None
        with response:
            try:
                body = self._read_body(call, response, deadline=started + timeout)
            except requests.RequestException as exc:
                raise self._transport_failure(call, exc, connect_s=connect_s, read_s=read_s, answered=True) from None
            return Reply(response.status_code, response.headers, self._scrubbed(body))

    def _scrubbed(self, body: bytes) -> bytes:
        """``body`` with the key replaced: DocketQA text is untrusted and may echo it (an error body, a test that
        typed it), and nothing parsed or quoted from a body may carry it into a report or a log."""
        key = self._key.reveal().encode("utf-8")
        if not key:
            return body
        for form in dict.fromkeys((key, key.replace(b"/", b"\\/"))):  # JSON encoders may write "/" as "\/"
            body = body.replace(form, b"***")
        return body

    def _read_body(self, call: Call, response: requests.Response, *, deadline: float) -> bytes:
        """Stream and count (Content-Length may lie, gzip may expand); stop at the size cap and the deadline."""
        ok = 200 <= response.status_code < 300
        limit = self._max_body if ok else ERROR_BODY_BYTES
        declared = response.headers.get("Content-Length", "")
        if ok and declared.isdigit() and int(declared) > limit:
            too_large(call, limit_bytes=self._max_body)
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > limit:
                if ok:
                    too_large(call, limit_bytes=self._max_body)
                break  # an error body: the beginning is enough for the message
            chunks.append(chunk)
            if time.monotonic() > deadline:  # a server trickling bytes must not hold the gate past its deadline
                raise lost(call, f"DocketQA at {self._where} did not finish answering {call} before the deadline")
        return b"".join(chunks)

    def _transport_failure(
        self, call: Call, exc: Exception, *, connect_s: float, read_s: float, answered: bool = False
    ) -> ApiError:
        return transport_failure(
            call, exc, base_url=self._base, host=self._where, connect_s=connect_s, read_s=read_s, answered=answered
        )

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


def _host_and_port(base_url: str) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    if ":" in host:
        host = f"[{host}]"  # IPv6
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port or (443 if parts.scheme == 'https' else 80)}"


def _json(call: Call, reply: Reply) -> Any:
    if not reply.body.strip():
        malformed(call, reply, problem="the body is empty", quote=False)
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
        malformed(call, reply, problem="the body is not JSON")


def _shaped(call: Call, reply: Reply, *, parse: Callable[[], Any]) -> Any:
    """Run a model parser; any shape problem (even one the parser did not foresee) is a MalformedResponse."""
    try:
        return parse()
    except MalformedResponse as exc:
        malformed(call, reply, problem=exc.message)
    except (TypeError, ValueError, OverflowError, RecursionError, AttributeError) as exc:
        malformed(call, reply, problem=f"its content could not be read ({type(exc).__name__})")


def _parse_trigger(call: Call, reply: Reply, *, base_url: str) -> TriggerResult:
    body = _json(call, reply)
    group = body.get("test_group_run") if isinstance(body, Mapping) else None
    if not isinstance(group, Mapping):
        malformed(call, reply, problem="the body has no 'test_group_run' object")
    group_id = group.get("id")
    if not isinstance(group_id, int) or isinstance(group_id, bool):
        malformed(call, reply, problem="'test_group_run' has no integer 'id'")
    name, created = group.get("name"), group.get("created_at")
    group_run = GroupRun(
        id=group_id,
        name=name if isinstance(name, str) else None,
        created_at=created if isinstance(created, str) else None,
        sandbox_dashboard_url=own_dashboard(group.get("dashboard_url"), base_url=base_url),
    )
    raw_runs = group.get("test_runs")
    if not isinstance(raw_runs, list) or not raw_runs:
        malformed(call, reply, problem=f"group run {group_id} lists no test runs", group=group_run)
    if not all(isinstance(raw, Mapping) for raw in raw_runs):
        malformed(call, reply, problem=f"group run {group_id} lists a test run that is not an object", group=group_run)
    runs = _shaped(call, reply, parse=lambda: tuple(parse_test_run(raw) for raw in raw_runs))
    return TriggerResult(group_run=group_run, runs=runs)

