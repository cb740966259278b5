"""The sandbox API itself: key check, the two endpoints, and faults turned into answers."""

from __future__ import annotations

import dataclasses
import json
import math
from email.utils import formatdate
from typing import Any

from gate.clock import Clock
from gate.sandbox.dashboard import dashboard_page
from gate.sandbox.faults import (
    BEFORE_PROCESSING,
    FaultInjector,
    FaultMode,
    FaultPlan,
    error_page,
)
from gate.sandbox.payloads import DASHBOARD_PREFIX, Ledger, Renderer, encode_json, media

# DocketQA does not document its error answers; the sandbox answers these (all JSON {"error": "..."}):
#   401 {"error": "Invalid API key"}                        X-API-KEY missing or wrong (checked first)
#   400 {"error": "Request body must be JSON: ..."}          trigger body is not JSON
#   400 {"error": "test_blueprint_ids must be a non-empty array of integers"}
#   422 {"error": "Test blueprint 999 not found"}            an id the scenario does not know; nothing is started
#   404 {"error": "Test run 999 not found"}                  unknown or non-numeric run id
#   404 {"error": "Not found: use POST ... or GET ..."}      any other path
#   405 {"error": "Method PUT not allowed; use GET"}         a known path with the wrong method
#   413 {"error": "Request body over 1000000 bytes"}
# Faults (see faults.py) replace these with 429/5xx, HTML, truncated JSON, a reset or a stall.
TRIGGER_PATH = "/test_group_run/trigger_run"
RUN_PREFIX = "/test_run/"
MAX_BODY = 1_000_000


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    run_id: int | None = None
    run_status: str | None = None
    final: bool = False
    retry_not_before: float | None = None


def _error(status: int, message: str, **extra: Any) -> Reply:
    return Reply(status=status, body=encode_json({"error": message}), **extra)


class SandboxApi:
    """Answers one request at a time from the ledger; thread-safe because the ledger is."""

    def __init__(
        self,
        ledger: Ledger,
        renderer: Renderer,
        *,
        api_key: str,
        clock: Clock,
        faults: FaultPlan | None,
        wall_offset: float,
    ) -> None:
        self.ledger, self.renderer = ledger, renderer
        self.api_key = api_key
        self.clock = clock
        self.faults = faults
        self._injector = FaultInjector(faults) if faults else None
        self._wall_offset = wall_offset

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[Reply, FaultMode | None]:
        """The answer to one request and the fault it got (RESET and STALL are carried out by the caller)."""
        if body is None:
            return _error(413, f"Request body over {MAX_BODY} bytes"), None
        if path.startswith("/media/") and method == "GET":
            status, content_type, data = media(path)
            return Reply(status=status, body=data, content_type=content_type), None
        if path.startswith(DASHBOARD_PREFIX) and method == "GET":  # a browser page: no key, like the media links
            status, page = dashboard_page(self.ledger, path[len(DASHBOARD_PREFIX) :], now=self.clock.now())
            return Reply(status=status, body=page, content_type="text/html; charset=utf-8"), None
        fault = self._injector.next(method, path) if self._injector else None
        if fault in BEFORE_PROCESSING:
            return self.fault_reply(fault, None), fault  # type: ignore[arg-type]
        reply = self.respond(method, path, headers, body)
        if fault is not None and fault not in (FaultMode.RESET, FaultMode.STALL):
            reply = self.fault_reply(fault, reply)
        return reply, fault

    def respond(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """The API itself: key check, then the two endpoints."""
        if headers.get("x-api-key") != self.api_key:
            return _error(401, "Invalid API key")
        if path == TRIGGER_PATH:
            return self._trigger(body) if method == "POST" else _error(405, f"Method {method} not allowed; use POST")
        if path.startswith(RUN_PREFIX) and path.count("/") == 2:
            return (
                self._get_run(path[len(RUN_PREFIX) :])
                if method == "GET"
                else _error(405, f"Method {method} not allowed; use GET")
            )
        return _error(404, f"Not found: use POST {TRIGGER_PATH} or GET {RUN_PREFIX}{{id}}")

    def _trigger(self, body: bytes) -> Reply:
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error(400, 'Request body must be JSON: {"test_blueprint_ids": [...]}')
        ids = payload.get("test_blueprint_ids") if isinstance(payload, dict) else None
        if not isinstance(ids, list) or not ids or not all(type(i) is int for i in ids):
            return _error(400, "test_blueprint_ids must be a non-empty array of integers")
        unknown = self.ledger.unknown_blueprint(ids)
        if unknown is not None:
            return _error(422, f"Test blueprint {unknown} not found")
        group, runs = self.ledger.create_group(ids, now=self.clock.now(), triggered=True)
        return Reply(status=200, body=encode_json(self.renderer.trigger(group, runs)))

    def _get_run(self, raw_id: str) -> Reply:
        run = self.ledger.run(int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else None
        if run is None:
            shown = raw_id if raw_id.isascii() and raw_id.isdigit() else "with that id"
            return _error(404, f"Test run {shown} not found")
        now = self.clock.now()
        body = self.renderer.run(run, now=now)
        status = body["test_run"]["status"]
        return Reply(status=200, body=encode_json(body), run_id=run.id, run_status=status, final=run.is_final(now))

    def fault_reply(self, mode: FaultMode, real: Reply | None) -> Reply:
        """What the client gets instead of (or in place of) the real answer."""
        if mode is FaultMode.MALFORMED and real is not None:
            return dataclasses.replace(
                real, body=real.body[: max(1, len(real.body) // 2)], final=False, run_status=None
            )
        wait = self.faults.retry_after if self.faults else 0
        now = self.clock.now()
        if mode is FaultMode.RATE_LIMIT_SECONDS:
            return _error(
                429, "Rate limit exceeded", headers=(("Retry-After", str(wait)),), retry_not_before=now + wait
            )
        if mode is FaultMode.RATE_LIMIT_DATE:
            # HTTP dates have 1 s resolution: round up so waiting until the date is never too early.
            until = math.ceil(now + self._wall_offset + wait)
            date = formatdate(until, usegmt=True)
            return _error(
                429, "Rate limit exceeded", headers=(("Retry-After", date),), retry_not_before=until - self._wall_offset
            )
        status, content_type, page = error_page(mode)
        extra: dict[str, Any] = {}
        if mode is FaultMode.HTTP_503 and self.faults and self.faults.retry_after_on_503:
            extra = {"headers": (("Retry-After", str(wait)),), "retry_not_before": now + wait}
        return Reply(status=status, body=page, content_type=content_type, **extra)
