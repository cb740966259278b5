"""A scripted HTTP server on 127.0.0.1 that records every request and the (fake) time it arrived."""

from __future__ import annotations

import dataclasses
import json
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gate.client import ApiClient
from gate.clock import Clock, FakeClock
from gate.secret import Secret


@dataclasses.dataclass(frozen=True)
class Reply:
    """One scripted answer. ``body`` may be bytes, str, or anything JSON-serialisable."""

    status: int = 200
    body: Any = b""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Real seconds to stall before answering (a server that hangs).
    delay_s: float = 0.0
    #: Read the whole request, then reset the connection without answering.
    reset: bool = False
    #: Send the body with chunked transfer encoding (no Content-Length for the client to check).
    chunked: bool = False

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


@dataclasses.dataclass(frozen=True)
class Seen:
    """A request as the server received it; ``at`` is the injected clock's time on arrival."""

    method: str
    path: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    at: float


Responder = Callable[[Seen], Reply]


def json_reply(payload: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status=status, body=payload, headers={"Content-Type": "application/json", **headers})


def run_body(run_id: int, status: str = "running", *, blueprint_id: int | None = None, title: str | None = None,
             failed_step: bool = False) -> dict[str, Any]:
    """A ``GET /test_run/{id}`` body: running runs have no results; final ones have one step."""
    results = None
    if status != "running":
        results = [{"step_number": 1, "task": "Open the page", "is_successful": not failed_step,
                    "result": "no login form" if failed_step else "done", "duration": 3, "actions": []}]
    metadata = {"id": blueprint_id, "title": title} if blueprint_id is not None else {}
    return {"test_run": {"id": run_id, "status": status, "test_blueprint_id": blueprint_id,
                         "test_group_run_id": 35, "blueprint_metadata": metadata, "results": results}}


def trigger_body(group_id: int, runs: list[tuple[int, int]]) -> dict[str, Any]:
    """A trigger response listing ``(run_id, blueprint_id)`` pairs, every run still running."""
    return {"message": "Test group run triggered successfully",
            "test_group_run": {"id": group_id, "name": "Manual Run", "status": "running",
                               "test_runs": [run_body(r, blueprint_id=b)["test_run"] for r, b in runs]}}


def free_port() -> int:
    """A port nothing listens on (yet): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FixtureServer:
    """Answers each (method, path) from its script, else from the fallback responder, else a 404 that says so."""

    def __init__(self, clock: Clock | None = None, *, port: int = 0) -> None:
        self.clock = clock or FakeClock()
        self.requests: list[Seen] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._scripts: dict[tuple[str, str], list[Reply]] = {}
        self._fallback: Responder | None = None
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.fixture = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Play ``replies`` in order for this endpoint; the last one repeats."""
        with self._lock:
            self._scripts[(method, path)] = list(replies)

    def fallback(self, responder: Responder) -> None:
        """Answer every request that has no script of its own."""
        self._fallback = responder

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if (method in (None, r.method)) and (path in (None, r.path))]

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_reply(self, seen: Seen) -> Reply:
        key = (seen.method, seen.path)
        with self._lock:
            self.requests.append(seen)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            script = self._scripts.get(key)
            responder = self._fallback
            if script:
                return script.pop(0) if len(script) > 1 else script[0]
        if responder is not None:
            return responder(seen)
        return json_reply({"message": f"fixture: nothing scripted for {seen.method} {seen.path}"}, 404)

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1


@contextmanager
def serving(clock: Clock | None = None, *, port: int = 0) -> Iterator[FixtureServer]:
    server = FixtureServer(clock, port=port)
    try:
        yield server
    finally:
        server.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fixture: FixtureServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops a kept-alive connection is normal (resets, timeouts); anything else is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API behind a load balancer would
    disable_nagle_algorithm = True  # headers and body go out as separate writes: avoid 40 ms delayed-ACK stalls
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read requests, not logs
        return

    def _serve(self) -> None:
        fixture = self.server.fixture
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, fixture.clock.now())
        try:
            reply = fixture._next_reply(seen)
            if reply.delay_s:
                fixture.stopping.wait(reply.delay_s)
            if reply.reset:
                self._reset()
                return
            self._answer(reply)
        except OSError:
            self.close_connection = True  # the client gave up (e.g. its read timeout): nothing to answer
        finally:
            fixture._done()

    def _answer(self, reply: Reply) -> None:
        payload = reply.encoded()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(payload), 64 * 1024):
                piece = payload[start:start + 64 * 1024]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send RST: the client sees "connection reset" after its request went out.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


def make_client(server: FixtureServer | str, **options: Any) -> ApiClient:
    """An ApiClient for the fixture with the suite's test key (the leak guard scans for it)."""
    from tests.support.keys import TEST_API_KEY

    url = server if isinstance(server, str) else server.url
    return ApiClient(base_url=url, api_key=Secret(TEST_API_KEY), **options)
