"""The closing lines every gate run prints: verdict, counts, where the reports are, and the exit code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gate.errors import ExitCode
from gate.outcome import Outcome

EXIT_MEANINGS = {
    ExitCode.PASSED: "every run passed",
    ExitCode.FAILED: "at least one run failed or ended in a status the gate does not know",
    ExitCode.USAGE: "usage or configuration error (see the error below)",
    ExitCode.TIMED_OUT: "timed out before every run finished",
    ExitCode.API: "DocketQA API error",
    ExitCode.INTERNAL: "internal error",
    ExitCode.SIGINT: "interrupted (SIGINT)",
    ExitCode.SIGTERM: "interrupted (SIGTERM)",
}


def conclusion_lines(
    outcome: Outcome, *, written: Mapping[str, Path], exit_code: ExitCode | None = None
) -> list[str]:
    """Verdict and counts, the reports written, and the exit code (``exit_code`` overrides the verdict's)."""
    from gate.durations import format_duration

    c = outcome.counts
    parts = [f"{c.passed} passed", f"{c.failed} failed"]
    extras = (
        (c.errors, "error", "errors"),
        (c.timed_out, "timed out", "timed out"),
        (c.cancelled, "cancelled", "cancelled"),
        (c.not_awaited, "not awaited", "not awaited"),
        (c.flaky, "flaky", "flaky"),
        (c.allowed_failures, "allowed failure", "allowed failures"),
    )
    parts += [f"{n} {one if n == 1 else many}" for n, one, many in extras if n]
    verdict = outcome.verdict.value.upper().replace("_", " ")
    elapsed = format_duration(outcome.elapsed_s)
    lines = [f"DocketQA gate: {verdict} — {_runs(c.total)}: {', '.join(parts)} ({elapsed})"]
    if written:
        lines.append("Reports: " + ", ".join(f"{name} {path}" for name, path in written.items()))
    if exit_code is None or exit_code is outcome.exit_code:
        lines.append(f"Exit code {int(outcome.exit_code)}: {_meaning(outcome)}")
    else:
        lines.append(f"Exit code {int(exit_code)}: {EXIT_MEANINGS[exit_code]}")
    return lines


def conclusion_warnings(outcome: Outcome) -> list[str]:
    """What passed the gate without passing: timed-out runs that --no-fail-on-timeout lets through."""
    timed_out = outcome.counts.timed_out
    if not timed_out or outcome.fail_on_timeout:
        return []
    verb = "does" if timed_out == 1 else "do"
    return [f"{_runs(timed_out)} timed out and {verb} not fail the gate (--no-fail-on-timeout)"]


def _meaning(outcome: Outcome) -> str:
    """The exit code's meaning; a 0 with quarantined or timed-out runs must not read "every run passed"."""
    code, c = outcome.exit_code, outcome.counts
    timeouts_let_through = c.timed_out and not outcome.fail_on_timeout
    ignored = [text for n, text in ((c.allowed_failures, "allowed failures"),
                                    (timeouts_let_through, "timed-out runs with --no-fail-on-timeout")) if n]  # fmt: skip
    if code is not ExitCode.PASSED or not ignored:
        return EXIT_MEANINGS[code]
    return f"no run failed ({' and '.join(ignored)} do not count)"


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"
