"""A loopback media host for evidence-download tests: serves configured routes and records every request's headers."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit


@dataclasses.dataclass(frozen=True)
class Route:
    """What one path answers. Without ``content_length`` the body is close-delimited (its size unknown upfront)."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    headers: tuple[tuple[str, str], ...] = ()
    content_length: bool = True
    #: Send the body in this many pieces (a slow host trickling bytes).
    pieces: int = 1


@dataclasses.dataclass(frozen=True)
class Recorded:
    path: str
    #: Header names lower-cased.
    headers: dict[str, str]


class MediaServer:
    """``with MediaServer() as media:`` serves ``media.routes`` on 127.0.0.1 and fills ``media.requests``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def paths_requested(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def all_headers(self) -> Iterator[dict[str, str]]:
        with self._lock:
            yield from (r.headers for r in list(self.requests))

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(Recorded(path, headers))

    def __enter__(self) -> MediaServer:  # noqa: PYI034 - Self needs Python 3.11
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_for(media: MediaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so close-delimited bodies work.
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            media.record(path, {k.lower(): v for k, v in self.headers.items()})
            route = media.routes.get(path, Route(body=b"not found", status=404, content_type="text/plain"))
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            for name, value in route.headers:
                self.send_header(name, value)
            if route.content_length:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            size = max(1, -(-len(route.body) // route.pieces))
            try:
                for start in range(0, len(route.body), size):
                    self.wfile.write(route.body[start : start + size])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on purpose (size cap, time budget)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
