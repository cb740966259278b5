"""The closing lines every gate run prints: verdict, counts, where the reports are, and the exit code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gate.errors import ExitCode
from gate.model import Outcome

EXIT_MEANINGS = {
    ExitCode.PASSED: "every run passed",
    ExitCode.FAILED: "at least one run failed",
    ExitCode.USAGE: "usage or configuration error",
    ExitCode.TIMED_OUT: "timed out before every run finished",
    ExitCode.API: "DocketQA API error",
    ExitCode.INTERNAL: "internal error",
    ExitCode.SIGINT: "interrupted (SIGINT)",
    ExitCode.SIGTERM: "interrupted (SIGTERM)",
}


def conclusion_lines(outcome: Outcome, *, written: Mapping[str, Path]) -> list[str]:
    from gate.durations import format_duration

    c = outcome.counts
    parts = [f"{c.passed} passed", f"{c.failed} failed"]
    extras = (
        (c.errors, "error", "errors"),
        (c.timed_out, "timed out", "timed out"),
        (c.cancelled, "cancelled", "cancelled"),
        (c.flaky, "flaky", "flaky"),
        (c.allowed_failures, "allowed failure", "allowed failures"),
    )
    parts += [f"{n} {one if n == 1 else many}" for n, one, many in extras if n]
    verdict = outcome.verdict.value.upper().replace("_", " ")
    elapsed = format_duration(outcome.elapsed_s)
    lines = [f"DocketQA gate: {verdict} — {c.total} runs: {', '.join(parts)} ({elapsed})"]
    if written:
        lines.append("Reports: " + ", ".join(f"{name} {path}" for name, path in written.items()))
    code = outcome.exit_code
    lines.append(f"Exit code {int(code)}: {EXIT_MEANINGS[code]}")
    return lines
