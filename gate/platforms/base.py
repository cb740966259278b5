"""The small interface every CI adapter implements, plus what they share: output values and run detail lines."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from gate.errors import ExitCode
from gate.model import Step, StepState, Verdict
from gate.outcome import Outcome, RunOutcome
from gate.reports.escape import truncate, unicode_safe
from gate.reports.run_text import STEP_MARKERS, run_video
from gate.secret import Secret

#: Every output the gate sets, in order (action.yml and composite/action.yml declare exactly these).
OUTPUT_NAMES = (
    "status",
    "exit-code",
    "total",
    "passed",
    "failed",
    "errors",
    "timed-out",
    "not-awaited",
    "flaky",
    "test-run-ids",
    "group-run-ids",
    "carried-over-run-ids",
    "new-group-run-id",
    "dashboard-url",
    "junit-path",
    "json-path",
    "summary-path",
)
#: Keys of the ``written`` mapping given to ``publish`` (report kind -> the file written).
REPORT_KEYS = ("junit", "json", "summary")
#: Log text limits: DocketQA results can be megabytes long and runs thousands of steps.
MAX_LOG_TEXT = 2000
MAX_LOG_STEPS = 200

# C0 and C1 controls except tab and newline: escape sequences (ANSI colours, GitLab section markers,
# cursor moves), bells and carriage returns that redraw a line must not reach a log from DocketQA text.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class Platform(Protocol):
    """What the CLI calls, in this order: begin, (follow runs), log_run_details, publish."""

    @property
    def name(self) -> str: ...

    @property
    def workspace_owner(self) -> Path | None:
        """A directory whose owner should own every report the gate writes; None: whoever runs the gate."""

    def begin(self, *, api_key: Secret | None, also_mask: tuple[Secret, ...] = ()) -> None:
        """Prepare the log before anything else is printed (GitHub: mask the key and ``also_mask``, e.g. tokens)."""

    def sanitize_log(self, text: str) -> str:
        """Make DocketQA text safe to print in this platform's log."""

    def log_run_details(self, outcome: Outcome) -> None:
        """Print each run's step details in a collapsible block."""

    def publish(
        self,
        outcome: Outcome,
        *,
        summary_markdown: str,
        written: Mapping[str, Path],
        exit_code: ExitCode | None = None,
    ) -> list[str]:
        """Hand the results to the platform (outputs, annotations, summary); return notes for the log.

        ``exit_code`` overrides the verdict's when the gate will exit otherwise (a report could not be written).

        Never raises for I/O trouble: a file that cannot be written becomes a note saying so.
        """

    def publish_error(self, *, message: str, exit_code: ExitCode) -> list[str]:
        """Publish an error that ended the gate without a verdict (usage, config, internal): status and exit code
        outputs, an annotation and a summary line where the platform has them. Returns notes; never raises for I/O.
        """

    def debug_traceback(self, text: str, *, asked: bool) -> str | None:
        """Show an internal error's traceback the platform's way (``asked``: --debug was given) and return the hint
        for the exit-70 line, or None to leave both to the CLI (stderr with --debug)."""


def strip_controls(text: str) -> str:
    """``text`` with line endings as ``\\n``, every other control character (ESC, CR, BEL, ...) removed, and
    lone surrogates replaced (they cannot be encoded, so printing them would crash the gate)."""
    return unicode_safe(_CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))


def output_values(
    outcome: Outcome, *, written: Mapping[str, Path], workspace: Path, exit_code: ExitCode | None = None
) -> dict[str, str]:
    """The value of every name in OUTPUT_NAMES: small, single-purpose strings (never a results blob)."""
    counts = outcome.counts
    run_ids = [str(r.test_run_id) for r in outcome.runs if r.test_run_id is not None]
    group_ids = [str(g.id) for g in outcome.group_runs]
    values = {
        "status": outcome.verdict.value,
        "exit-code": str(int(outcome.exit_code if exit_code is None else exit_code)),
        "total": str(counts.total),
        "passed": str(counts.passed),
        "failed": str(counts.failed),
        "errors": str(counts.errors),
        "timed-out": str(counts.timed_out),
        "not-awaited": str(counts.not_awaited),
        "flaky": str(counts.flaky),
        "test-run-ids": ",".join(dict.fromkeys(run_ids)),
        "group-run-ids": ",".join(dict.fromkeys(group_ids)),
        # --resume: the runs taken from the earlier attempt, and the group run this attempt started (if any).
        "carried-over-run-ids": ",".join(str(r.test_run_id) for r in outcome.runs if r.carried_over and r.test_run_id),
        "new-group-run-id": str(triggered) if (triggered := outcome.provenance.triggered_group_run_id) is not None else "",
        # One link (the first group run: the new one when this attempt started one) so it can be used as a URL as is.
        "dashboard-url": outcome.group_runs[0].dashboard_url if outcome.group_runs else "",
        "junit-path": display_path(written.get("junit"), workspace),
        "json-path": display_path(written.get("json"), workspace),
        "summary-path": display_path(written.get("summary"), workspace),
    }
    return {name: values[name] for name in OUTPUT_NAMES}


def error_values(exit_code: ExitCode) -> dict[str, str]:
    """Every output for a gate that ended without a verdict: ``status`` and ``exit-code`` set, the rest empty."""
    interrupted = exit_code in (ExitCode.SIGINT, ExitCode.SIGTERM)
    values = dict.fromkeys(OUTPUT_NAMES, "")
    values.update({"status": "cancelled" if interrupted else "error", "exit-code": str(int(exit_code))})
    return values


def display_path(path: Path | None, workspace: Path) -> str:
    """``path`` relative to the workspace when inside it: inside GitHub's container the workspace is
    mounted at /github/workspace, a path later steps on the runner do not have."""
    if path is None:
        return ""
    absolute = Path(os.path.abspath(workspace / path))
    try:
        return absolute.relative_to(os.path.abspath(workspace)).as_posix()
    except ValueError:
        return str(path)


def run_heading(item: RunOutcome) -> str:
    """One line naming the run and its verdict (raw DocketQA text: the caller sanitises)."""
    verdict = item.verdict.value.replace("_", " ")
    if item.allowed_failure and item.verdict is not Verdict.PASSED:
        verdict += ", allowed failure"
    elif item.flaky:
        verdict += ", flaky"
    if item.carried_over:
        verdict += ", carried over from an earlier attempt"
    run = f" (test run {item.test_run_id})" if item.test_run_id is not None else ""
    return f"{' '.join(item.name.split())} — {verdict}{run}"


def run_detail_lines(item: RunOutcome) -> list[str]:
    """The run's problem, failed attempts, steps and video, indented (raw DocketQA text: the caller sanitises)."""
    lines: list[str] = []
    if item.problem and item.verdict is not Verdict.PASSED:
        lines.append(f"  {_cut_for_log(item.problem)}")
    run = item.run
    if run is None:
        return lines
    for attempt in run.failed_attempts:
        step = attempt.failed_step
        lines.append(f"  attempt {attempt.number} failed" + (f" at step {step.number}" if step else ""))
    steps = run.steps
    for step in steps[:MAX_LOG_STEPS]:
        lines += _step_lines(step)
    if len(steps) > MAX_LOG_STEPS:
        lines.append(f"  … {len(steps) - MAX_LOG_STEPS} more steps (see the JUnit report)")
    video = run_video(item)  # the final attempt's, as in the summary and JUnit (not a flaky run's failed first try)
    if video:
        lines.append(f"  video: {_cut_for_log(video)}")
    return lines


def _step_lines(step: Step) -> list[str]:
    duration = f" ({step.duration_s:g}s)" if step.duration_s else ""
    lines = [f"  {STEP_MARKERS[step.state]} {step.number:02d} {_cut_for_log(' '.join(step.task.split()))}{duration}"]
    if step.state is StepState.FAILED and step.result.strip():
        lines += [f"       {line}" for line in _cut_for_log(step.result.strip()).splitlines()]
    return lines


def _cut_for_log(text: str) -> str:
    return truncate(text, MAX_LOG_TEXT)
