"""Time as a dependency: the real monotonic clock, interruptible sleep, and a fake for tests."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (may return early when the gate is being stopped)."""


class SystemClock:
    """Real time. Signals interrupt ``sleep`` by raising in the main thread (see gate/execute.py)."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """Virtual time for tests: ``sleep`` advances ``now`` instantly; thread-safe."""

    #: Where virtual time begins unless a test says otherwise (a round number reads well in assertions).
    START = 1000.0

    def __init__(self, start: float = START) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
