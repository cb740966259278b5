"""Seeded fault injection for the sandbox: which request fails, and how."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import threading


class FaultMode(enum.Enum):
    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    HTTP_504 = "http_504"
    #: Read the request, then close the connection with a TCP reset and no answer.
    RESET = "reset"
    #: Hold the (real) answer for ``stall_s`` real seconds, past a client's read timeout.
    STALL = "stall"
    #: 429 with ``Retry-After: <seconds>``.
    RATE_LIMIT_SECONDS = "rate_limit_seconds"
    #: 429 with ``Retry-After: <HTTP date>`` computed from the sandbox's wall mapping of its clock.
    RATE_LIMIT_DATE = "rate_limit_date"
    #: 200 with the real JSON answer cut in half.
    MALFORMED = "malformed"
    #: 200 with an HTML error page, as a misconfigured proxy would answer.
    HTML_200 = "html_200"


#: Modes answered before the API acts: a faulted trigger POST creates no group run. Every other mode
#: happens after the API acted (the group run exists; only its answer is lost or spoiled), which is
#: why the gate may retry a POST only after 429/503 or a refused connection.
BEFORE_PROCESSING = frozenset({FaultMode.HTTP_503, FaultMode.RATE_LIMIT_SECONDS, FaultMode.RATE_LIMIT_DATE})


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    """Which requests fail: a fraction ``rate`` of those matching ``methods``/``paths``, chosen by ``seed``."""

    rate: float
    modes: tuple[FaultMode, ...] = tuple(FaultMode)
    seed: int = 0
    methods: frozenset[str] = frozenset({"GET"})
    #: Seconds announced by 429 answers (and by 503 answers when ``retry_after_on_503``).
    retry_after: int = 2
    retry_after_on_503: bool = False
    stall_s: float = 3.0
    #: Exact request paths that may fault (e.g. ``{"/test_run/38"}``); None means every API path.
    paths: frozenset[str] | None = None
    #: Only the first N requests to each (method, path) may fault: "fail once, then recover".
    max_per_path: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        if not self.modes:
            raise ValueError("a fault plan needs at least one fault mode")
        if self.retry_after < 0 or self.stall_s < 0:
            raise ValueError("retry_after and stall_s must not be negative")
        if self.max_per_path is not None and self.max_per_path < 0:
            raise ValueError("max_per_path must not be negative")

    def decide(self, method: str, path: str, count: int) -> FaultMode | None:
        """The fault for the ``count``-th (0-based) request to ``method path``; pure and reproducible."""
        if method.upper() not in self.methods or (self.paths is not None and path not in self.paths):
            return None
        if self.max_per_path is not None and count >= self.max_per_path:
            return None
        # A hash, not a shared random stream: the decision for one path does not depend on how
        # requests to other paths interleave across threads, so a seed reproduces exactly.
        digest = hashlib.sha256(f"{self.seed}\0{method.upper()}\0{path}\0{count}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        if draw >= self.rate:
            return None
        return self.modes[int.from_bytes(digest[8:16], "big") % len(self.modes)]


class FaultInjector:
    """Counts requests per (method, path) and asks the plan; thread-safe."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def next(self, method: str, path: str) -> FaultMode | None:
        key = (method.upper(), path)
        with self._lock:
            count = self._counts.get(key, 0)
            self._counts[key] = count + 1
        return self.plan.decide(method, path, count)


_REASONS = {
    FaultMode.HTTP_500: (500, "Internal Server Error"),
    FaultMode.HTTP_502: (502, "Bad Gateway"),
    FaultMode.HTTP_503: (503, "Service Unavailable"),
    FaultMode.HTTP_504: (504, "Gateway Timeout"),
}


def error_page(mode: FaultMode) -> tuple[int, str, bytes]:
    """(status, content type, body) for the status-code faults and HTML_200."""
    if mode is FaultMode.HTML_200:
        html = "<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We'll be right back</h1></body></html>"
        return 200, "text/html; charset=utf-8", html.encode()
    status, reason = _REASONS[mode]
    if mode in (FaultMode.HTTP_502, FaultMode.HTTP_504):
        # Gateways answer with their own HTML page, not the API's JSON.
        html = f"<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center></body></html>"
        return status, "text/html", html.encode()
    return status, "application/json", f'{{"error": "{reason}"}}'.encode()
