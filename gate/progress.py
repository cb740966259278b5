"""What the gate says while it waits: a live line on a terminal, sparse lines and a heartbeat in CI."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TextIO

from gate.clock import Clock
from gate.failures import excerpt
from gate.model import Verdict
from gate.outcome import RunOutcome

HEARTBEAT_S = 30.0
#: A terminal line is redrawn at most this often; nothing is gained by more.
REDRAW_S = 1.0
_CLEAR_LINE = "\r\x1b[2K"
_WORDS = {
    Verdict.PASSED: "passed",
    Verdict.FAILED: "FAILED",
    Verdict.ERROR: "ERROR",
    Verdict.TIMED_OUT: "TIMED OUT",
    Verdict.CANCELLED: "CANCELLED",
    Verdict.NOT_AWAITED: "NOT AWAITED",
}


def _identity(text: str) -> str:
    return text


@dataclasses.dataclass(frozen=True)
class Tally:
    """How far the followed runs have got."""

    total: int
    finished: int = 0
    #: Runs that did not pass (failed, timed out, cancelled), allowed failures not counted.
    failed: int = 0
    #: Runs whose result the gate could not learn or DocketQA reported as an error: a different fix than a test.
    errors: int = 0

    @property
    def running(self) -> int:
        return self.total - self.finished


def format_elapsed(seconds: float) -> str:
    """``02:10``, or ``1:02:10`` past an hour."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """Progress output; ``sanitize`` is applied to every string that came from DocketQA."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interactive: bool,
        clock: Clock,
        sanitize: Callable[[str], str] = _identity,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._stream = stream
        self._interactive = interactive
        self._clock = clock
        self._sanitize = sanitize
        self._heartbeat_s = heartbeat_s
        self._start = clock.now()
        self._last_status = self._start
        self._live = False

    def note(self, text: str) -> None:
        """A line of the gate's own (e.g. the group run that was started)."""
        self._line(text)

    def started(self, n_runs: int, *, what: str = "test runs") -> None:
        if n_runs == 1 and what.endswith("s"):
            what = what[:-1]  # "Following 1 test run", not "1 test runs"
        self._line(f"Following {n_runs} {what}")
        self._last_status = self._clock.now()

    def run_finished(self, run: RunOutcome, tally: Tally) -> None:
        word = _WORDS[run.verdict]
        if run.allowed_failure and run.verdict is not Verdict.PASSED:
            word = f"{word.lower()} (allowed failure)"
        ident = f" (test run {run.test_run_id})" if run.test_run_id is not None else ""
        problem = f": {self._clean(run.problem, limit=200)}" if run.problem else ""
        self._line(f"{word}: {self._clean(run.name, limit=120)}{ident}{problem}")
        self.heartbeat(tally, force=self._interactive)

    def heartbeat(self, tally: Tally, *, force: bool = False) -> None:
        """Show the tally if enough time passed (30 s in CI, 1 s on a terminal); cheap to call often."""
        now = self._clock.now()
        every = REDRAW_S if self._interactive else self._heartbeat_s
        if not force and now - self._last_status < every:
            return
        self._last_status = now
        text = self.status_text(tally)
        if self._interactive:
            self._write(f"{_CLEAR_LINE}{text}")
            self._live = True
        else:
            self._line(text)

    def done(self, tally: Tally) -> None:
        """End the live line so later output starts on a fresh one."""
        if self._interactive:
            self._write(f"{_CLEAR_LINE}{self.status_text(tally)}\n")
            self._live = False

    def status_text(self, tally: Tally) -> str:
        elapsed = format_elapsed(self._clock.now() - self._start)
        errors = f" · {tally.errors} error{'s' if tally.errors != 1 else ''}" if tally.errors else ""
        return (
            f"{tally.finished}/{tally.total} finished · {tally.failed} failed{errors} · {tally.running} running · "
            f"{elapsed} elapsed"
        )

    def _clean(self, text: str, *, limit: int) -> str:
        # One line first (a newline in a title must not start a line of its own), then the platform's escaping.
        return self._sanitize(excerpt(text, limit=limit))

    def _line(self, text: str) -> None:
        prefix = _CLEAR_LINE if self._live else ""
        self._live = False
        self._write(f"{prefix}{text}\n")

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # progress is a courtesy: a closed or broken log stream must not stop the gate
