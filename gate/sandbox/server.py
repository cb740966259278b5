"""The sandbox: a local DocketQA-compatible API on an injectable clock, and the ``sandbox`` command."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from gate.clock import Clock, SystemClock
from gate.errors import UsageError, os_reason
from gate.sandbox.api import SandboxApi
from gate.sandbox.faults import FaultPlan
from gate.sandbox.payloads import Ledger, Renderer, RunState
from gate.sandbox.registry import get_scenario
from gate.sandbox.scenarios import Scenario
from gate.sandbox.transport import RequestRecord, SandboxServer

if TYPE_CHECKING:
    from typing_extensions import Self

DEFAULT_KEY = "docketqa-sandbox-key"
#: With any clock but the real one, clock time t maps to wall time FAKE_WALL_EPOCH + (t - clock at
#: construction): 2025-07-03T01:38:03Z, the documented example's date. HTTP dates (Retry-After) and
#: created_at/updated_at use this mapping; ``Sandbox.wall_time`` exposes it to the gate under test.
FAKE_WALL_EPOCH = 1751506683.0


class Sandbox:
    """A local DocketQA-compatible API: ``with Sandbox(scenario="mixed") as sb: ... sb.url``."""

    def __init__(
        self,
        *,
        scenario: str | Scenario = "mixed",
        api_key: str = DEFAULT_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        time_scale: float = 1.0,
        latency_s: float = 0.0,
        faults: FaultPlan | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        if not time_scale > 0 or latency_s < 0:
            raise ValueError("time_scale must be positive and latency_s must not be negative")
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        self.api_key = api_key
        self.host, self.port = host, port
        self.clock: Clock = clock or SystemClock()
        self.latency_s = latency_s
        self.faults = faults
        self._on_request = on_request
        # Real clock: real wall time. Any other clock: a fixed, reproducible epoch (see FAKE_WALL_EPOCH).
        real = isinstance(self.clock, SystemClock)
        self._wall_offset = (time.time() if real else FAKE_WALL_EPOCH) - self.clock.now()
        self.ledger = Ledger(self.scenario, time_scale=time_scale)
        self.preexisting_group_id: int | None = None
        self.preexisting_run_ids: tuple[int, ...] = ()
        self._records: list[RequestRecord] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self.renderer = Renderer(base_url="", wall=self.wall_time)
        self.api = SandboxApi(
            self.ledger, self.renderer, api_key=api_key, clock=self.clock, faults=faults, wall_offset=self._wall_offset
        )

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        if self._stopping.is_set():
            raise RuntimeError("this sandbox was stopped; create a new Sandbox to serve again")
        server = SandboxServer((self.host, self.port), self)
        self._server = server
        self.port = server.server_address[1]
        self.renderer.base_url = self.url
        group, runs = self.ledger.create_group(self.scenario.blueprint_ids, now=self.clock.now(), triggered=False)
        self.preexisting_group_id, self.preexisting_run_ids = group.id, tuple(r.id for r in runs)
        # A short poll interval so stop() returns promptly (demo and benchmarks stop it in-process).
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # ends stalls and latency waits
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # --- what tests and benchmarks inspect -----------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request so far, in arrival order."""
        with self._lock:
            return sorted(self._records, key=lambda r: r.seq)

    def final_at(self, run_id: int) -> float:
        """Sandbox-clock time at which the run turns final."""
        return self._known_run(run_id).final_at

    def run_ids_of_group(self, group_id: int) -> tuple[int, ...]:
        return next(g.run_ids for g in self.ledger.groups if g.id == group_id)

    @property
    def triggered_group_ids(self) -> tuple[int, ...]:
        """Group runs created by trigger POSTs (each one a billable run on the real service)."""
        return tuple(g.id for g in self.ledger.groups if g.triggered)

    def runs_requested_after_final(self) -> list[RequestRecord]:
        """GETs for a run after the client had already received that run's final status."""
        seen: set[int] = set()
        late = []
        for record in self.requests:
            if record.run_id is None or record.method != "GET":
                continue
            if record.run_id in seen:
                late.append(record)
            elif record.answered_final:
                seen.add(record.run_id)
        return late

    def wall_time(self, at: float | None = None) -> float:
        """Wall-clock epoch seconds for sandbox-clock time ``at`` (now by default)."""
        return (self.clock.now() if at is None else at) + self._wall_offset

    def _known_run(self, run_id: int) -> RunState:
        run = self.ledger.run(run_id)
        if run is None:
            raise KeyError(f"the sandbox has no test run {run_id}")
        return run

    # --- request handling ----------------------------------------------------------------------------

    def arrival(self) -> tuple[int, float]:
        with self._lock:
            self._seq += 1
            return self._seq, self.clock.now()

    def log_request(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
        if self._on_request is not None:
            self._on_request(record)

    def pause(self, seconds: float) -> None:
        """A real wait that ends early when the sandbox stops."""
        if seconds > 0:
            self._stopping.wait(seconds)


def serve_main(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    scenario: str = "mixed",
    api_key: str = DEFAULT_KEY,
    time_scale: float = 1.0,
    stdout: TextIO | None = None,
    latency_s: float = 0.0,
    faults: FaultPlan | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set); returns 0. Bad input raises UsageError (exit 2)."""
    out = stdout or sys.stdout
    _check_serve_args(port=port, api_key=api_key, time_scale=time_scale)
    chosen = get_scenario(scenario)
    sandbox = Sandbox(
        scenario=chosen,
        api_key=api_key,
        host=host,
        port=port,
        time_scale=time_scale,
        latency_s=latency_s,
        faults=faults,
        on_request=lambda record: _log(out, record),
    )
    try:
        sandbox.start()
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port} ({os_reason(exc)}): choose another --host/--port"
        ) from None
    stop = stop or threading.Event()
    previous = _install_handlers(stop)
    try:
        _print_banner(out, sandbox)
        while not stop.wait(0.5):
            pass
        print("sandbox stopped", file=out, flush=True)
    finally:
        sandbox.stop()
        _restore_handlers(previous)
    return 0


def _check_serve_args(*, port: int, api_key: str, time_scale: float) -> None:
    if not time_scale > 0:
        raise UsageError(f"--time-scale must be a positive number, got {time_scale}")
    if not api_key.strip():
        raise UsageError("the sandbox API key must not be empty")
    # The gate refuses such a key (gate.config.load), so the banner's ready-made commands would all fail.
    if any(not 33 <= ord(char) < 127 for char in api_key):
        raise UsageError("the sandbox API key must be printable ASCII without spaces (the gate refuses any other key)")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {port}")


def _print_banner(out: TextIO, sandbox: Sandbox) -> None:
    ids = sandbox.scenario.blueprint_ids
    runs = sandbox.preexisting_run_ids
    key, url = sandbox.api_key, sandbox.url

    def listed(values: tuple[int, ...]) -> str:
        shown = " ".join(map(str, values[:12]))
        return shown if len(values) <= 12 else f"{shown} ... ({len(values)} in all)"

    lines = [
        f"DocketQA sandbox listening on {url}",
        f"scenario:       {sandbox.scenario.name} ({sandbox.scenario.description})",
        f"API key:        {key}   (a sandbox key, not a secret: export DOCKET_API_KEY={key})",
        f"blueprint ids:  {listed(ids)}",
        f"test run ids:   {listed(runs)}   (group run {sandbox.preexisting_group_id}, already started)",
        "",
        "try:",
        f"  DOCKET_API_KEY={key} docketqa-gate run --api-url {url} --blueprint {','.join(map(str, ids))}",
        f"  DOCKET_API_KEY={key} docketqa-gate wait --api-url {url} " + " ".join(f"--test-run {r}" for r in runs[:4]),
        "",
        "press Ctrl+C to stop",
    ]
    print("\n".join(lines), file=out, flush=True)


def _log(out: TextIO, record: RequestRecord) -> None:
    # The path came from a client: show it printable so it cannot spoof log lines.
    path = "".join(c if c.isprintable() else "?" for c in record.path)[:200]
    detail = f" ({record.run_status})" if record.run_status else ""
    fault = f" [fault: {record.fault}]" if record.fault else ""
    status = record.status or "reset"
    print(f"{time.strftime('%H:%M:%S')} {record.method} {path} -> {status}{detail}{fault}", file=out, flush=True)


def _install_handlers(stop: threading.Event) -> dict[int, Any]:
    """SIGINT/SIGTERM end serving cleanly; only the main thread may install handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
