"""The sandbox's HTTP wire: keep-alive connections, request bodies, resets and stalls, one record per request."""

from __future__ import annotations

import dataclasses
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from gate.sandbox.api import MAX_BODY, Reply, SandboxApi
from gate.sandbox.faults import FaultMode, FaultPlan


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it; ``at`` is sandbox-clock arrival time, ``seq`` arrival order."""

    method: str
    path: str
    #: As sent (X-API-KEY included), kept out of repr so a failing assertion does not print the key.
    headers: dict[str, str] = dataclasses.field(repr=False, hash=False)
    at: float
    status: int  # 0: the connection was reset without an answer
    fault: str | None
    seq: int = 0
    run_id: int | None = None
    #: The run status in an answer the client received intact (None for faulted or non-run answers).
    run_status: str | None = None
    answered_final: bool = False
    #: Sandbox-clock time before which a 429/503 said not to retry.
    retry_not_before: float | None = None
    body: bytes = dataclasses.field(default=b"", repr=False)


class Host(Protocol):
    """What the wire needs from the application behind it (``Sandbox`` is one)."""

    api: SandboxApi
    latency_s: float
    faults: FaultPlan | None

    def arrival(self) -> tuple[int, float]:
        """The next request's arrival order and clock time."""

    def log_request(self, record: RequestRecord) -> None:
        """Keep ``record`` (it is written before the client receives the answer)."""

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, ending early when the host stops."""


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: Host

    def __init__(self, address: tuple[str, int], sandbox: Host) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections so no handler thread outlives the sandbox."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a pooled client reuses connections
    server_version = "docketqa-sandbox/1"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are closed after a minute
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without NODELAY, Nagle plus the client's delayed ACK
        # would add ~40 ms to every answer and swamp the latency the benchmarks measure.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: ``Sandbox.requests`` (and ``on_request``) are the access log."""

    def _serve(self, method: str) -> None:
        app = self.server.sandbox
        seq, at = app.arrival()
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body(headers)
        path = urlsplit(self.path).path
        app.pause(app.latency_s)
        reply, fault = app.api.handle(method, path, headers, body)
        # Recorded before answering: once a client holds an answer, the record of its request exists.
        app.log_request(
            RequestRecord(
                method=method,
                path=path,
                headers=dict(self.headers.items()),
                at=at,
                status=0 if fault is FaultMode.RESET else reply.status,
                fault=fault.value if fault else None,
                seq=seq,
                run_id=reply.run_id,
                run_status=reply.run_status if fault is None else None,
                answered_final=reply.final and fault is None,
                retry_not_before=reply.retry_not_before,
                body=body or b"",
            )
        )
        if fault is FaultMode.RESET:
            self._reset()
            return
        if fault is FaultMode.STALL and app.faults:
            app.pause(app.faults.stall_s)
        self._write(reply)

    def _read_body(self, headers: dict[str, str]) -> bytes | None:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            length = 0
        if length > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True  # the client gave up (e.g. after a stall): nothing to answer

    def _reset(self) -> None:
        """Abort the connection with RST (SO_LINGER 0) instead of answering."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.rfile.close()  # drops the last reference: the socket really closes now, sending the RST
