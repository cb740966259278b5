"""The console entry point: the process is the gate's alone, so process-wide settings and the fast exit live here."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from gate.cli import main

#: While polling, the GIL changes hands every millisecond instead of every 5 ms (CPython's default).
POLL_SWITCH_INTERVAL_S = 0.001


def main_exit() -> None:
    """Console-script entry point."""
    for stream in (sys.stdout, sys.stderr):
        # Windows runners may not give a UTF-8 console: a ✓ in a step list must never crash the gate.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    stdout, stderr = _Console(sys.stdout), _Console(sys.stderr)
    # type: ignore: _Console is a TextIO in all the gate uses.
    code = main(stdout=stdout, stderr=stderr, tuning=_ProcessTuning())  # type: ignore[arg-type]
    stdout.flush()
    stderr.flush()
    # Leave without the interpreter's teardown, which frees every module and object one by one: 40-80 ms
    # between the verdict and the next pipeline step (benchmarks/bench_latency.py). Nothing is lost: each
    # report was fsynced and renamed into place, both streams are flushed, and the gate registers no atexit
    # work or non-daemon threads. mypy leaves the same way (mypy.util.hard_exit).
    os._exit(code)


class _ProcessTuning:
    """Interpreter-wide settings that make one gate run faster, set per phase and restored after it.

    Only ``main_exit`` uses them, where the process is the gate's alone; ``main`` called as a library (tests,
    another program) leaves the interpreter as it found it.
    """

    @contextlib.contextmanager
    def polling(self) -> Iterator[None]:
        """Poll workers mostly wait on sockets; when an answer arrives, its worker needs the GIL from whichever
        thread is parsing another answer. A shorter switch interval keeps that wait short: a 300-run poll round at
        50 ms a request came from 8% to 2% above its concurrency floor (benchmarks/bench_scale.py)."""
        previous = sys.getswitchinterval()
        sys.setswitchinterval(POLL_SWITCH_INTERVAL_S)
        try:
            yield
        finally:
            sys.setswitchinterval(previous)

    @contextlib.contextmanager
    def reporting(self) -> Iterator[None]:
        """Loading and rendering build large trees of acyclic objects that reference counting frees on its own.
        The cyclic collector would only walk them again and again: a quarter of the time of a 100,000-testcase
        report, and what made report time grow faster than the number of testcases (benchmarks/bench_reports.py)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if enabled:
                gc.enable()


class _Console:
    """A console stream whose reader may go away (``| head``, ``>&-``): output is then dropped, so the gate still
    writes every report, publishes and returns the verdict's exit code instead of an internal error."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream  # None: Python found the descriptor closed at start

    def write(self, text: str) -> int:
        self._guarded(lambda stream: stream.write(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._guarded(lambda stream: stream.flush())

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def _guarded(self, action: Callable[[TextIO], object]) -> None:
        stream = self._stream
        if stream is None:
            return
        try:
            action(stream)
        except (BrokenPipeError, ValueError) as exc:  # the reader is gone, or the stream was closed
            if isinstance(exc, ValueError) and not stream.closed:
                raise  # e.g. an encoding error: a bug to report, not a console that went away
            self._stream = None
            # Python flushes sys.stdout at exit: aim the descriptor at /dev/null so that flush cannot fail either.
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)

__all__ = ["main_exit"]
