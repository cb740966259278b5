"""The text every report shares about a run: its header, its steps, its attempts, and its group run."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from gate.durations import format_duration
from gate.model import Attempt, Step, StepState, TestRun, Verdict, failure_line
from gate.outcome import GroupRun, Outcome, RunOutcome
from gate.reports.escape import is_web_url, one_line

#: The mark before each step in JUnit texts, the summary and the CI log.
STEP_MARKERS = {StepState.PASSED: "✓", StepState.FAILED: "✗", StepState.NOT_REACHED: "–"}
STEP_WORDS = {StepState.PASSED: "passed", StepState.FAILED: "failed", StepState.NOT_REACHED: "not reached"}
#: How a run carried over by ``--resume`` says so in its JUnit text.
CARRIED_NOTE = "Carried over from an earlier attempt of this gate (--resume): not run again"
_INDENT = "     "


def group_runs_of(outcome: Outcome) -> list[GroupRun | None]:
    """The group run of each run, in run order (a run with no payload joins the only group run, if one)."""
    known = {g.id: g for g in outcome.group_runs}
    only = outcome.group_runs[0] if len(outcome.group_runs) == 1 else None
    found: list[GroupRun | None] = []
    for r in outcome.runs:
        gid = r.run.group_run_id if r.run is not None else None
        if gid is None:
            found.append(only)
        else:
            found.append(known.setdefault(gid, GroupRun(id=gid)))
    return found


def attempt_line(attempt: Attempt) -> str:
    """``Attempt 1 failed: Step 2 failed: ...`` on one line."""
    step = attempt.failed_step
    why = failure_line(step) if step else f"status '{attempt.status or 'failed'}'"
    return one_line(f"Attempt {attempt.number} failed: {why}")


def run_duration(r: RunOutcome) -> float | None:
    """Wall time of a finished run; None while it was still going (its last update is not its end)."""
    return r.run.duration_s if r.run is not None and r.run.is_final else None


def run_video(r: RunOutcome) -> str | None:
    """The video of the attempt the status reports (for a flaky run, not the failed first attempt's)."""
    video = r.run.final_attempt.video_url if r.run else None
    return video if is_web_url(video) else None


def run_header(r: RunOutcome) -> str:
    """Identity of a run: ids, status, starting URL, video."""
    run = r.run
    lines = [f"Test run: {r.test_run_id if r.test_run_id is not None else 'unknown'}"]
    if r.blueprint_id is not None:
        lines.append(f"Blueprint: {r.blueprint_id}")
    lines.append(f"Status: {r.status or 'unknown'} (gate verdict: {r.verdict.value})")
    if r.carried_over:
        lines.append(CARRIED_NOTE)
    if run is not None and run.starting_url:
        lines.append(f"Starting URL: {one_line(run.starting_url)}")
    video = run_video(r)
    if video:
        lines.append(f"Video: {video}")
    return "\n".join(lines)


def run_details(r: RunOutcome) -> str:
    """The header, the final attempt's steps and earlier failed attempts: enough to read on its own."""
    parts = [run_header(r)]
    run = r.run
    if run is None:
        return parts[0]
    final = run.final_attempt
    if len(run.attempts) > 1:
        parts.append("\n".join(attempt_line(a) for a in run.failed_attempts) or "")
    label = f"Steps (attempt {final.number} of {len(run.attempts)})" if len(run.attempts) > 1 else "Steps"
    parts.append(f"{label}:\n{step_list(final.steps)}" if final.steps else "No step results were reported.")
    return "\n\n".join(p for p in parts if p)


def step_list(steps: Sequence[Step]) -> str:
    return "\n".join(step_text(s) for s in steps)


def step_text(step: Step) -> str:
    """``✗ 1. task · failed · 43s`` then the agent's result and the screenshot URLs, indented.

    A word beside the mark stays when a consumer strips the marks (mikepenz/action-junit-report does).
    """
    head = f"{STEP_MARKERS[step.state]} {step.number}. {one_line(step.task) or '(no task)'}"
    if step.state is StepState.NOT_REACHED:
        return f"{head} · {step_took(step)}"  # "· not reached" is the word already
    text = f"{head} · {STEP_WORDS[step.state]} · {step_took(step)}"
    result = step.result.strip()
    if result:
        if "\r" in result:
            result = result.replace("\r\n", "\n").replace("\r", "\n")
        text += f"\n{_INDENT}" + result.replace("\n", f"\n{_INDENT}")
    for action in step.actions:
        if is_web_url(action.screenshot_url):
            text += f"\n{_INDENT}Screenshot: {action.screenshot_url}"
    return text


def attention_rank(r: RunOutcome) -> int:
    """Order for lists a reader scans: runs that fail the gate, allowed failures, flaky passes, clean passes."""
    if r.verdict is not Verdict.PASSED:
        return 1 if r.allowed_failure else 0
    return 2 if r.flaky else 3


def duration_source(run: TestRun) -> str:
    """Where ``run.duration_s`` comes from: ``steps`` (DocketQA's step durations) or ``timestamps``."""
    return "steps" if any(s.duration_s is not None for a in run.attempts for s in a.steps) else "timestamps"


def durations_note(runs: Sequence[RunOutcome]) -> str:
    """Where run durations come from, said once below a table of them: DocketQA reports none for a run."""
    sources = {duration_source(r.run) for r in runs if r.run is not None and run_duration(r) is not None}
    if not sources:
        return ""
    fallback = " (created_at to updated_at for a run without any)" if "timestamps" in sources else ""
    return f"Duration: DocketQA's step durations added up{fallback}."


def step_took(step: Step) -> str:
    """How long a step took, as every report says it: ``43s``, ``no duration`` or ``not reached``."""
    if step.state is StepState.NOT_REACHED:
        return "not reached"
    return _cached_duration(step.duration_s) if step.duration_s is not None else "no duration"


#: ``format_duration``, each value formatted once: durations repeat a lot across thousands of steps.
_cached_duration = functools.lru_cache(maxsize=4096)(format_duration)


def attempt_details(attempt: Attempt, message: str) -> str:
    """A failed earlier attempt on its own: why, its steps and its video."""
    steps = step_list(attempt.steps) if attempt.steps else "No step results were reported."
    video = f"\n\nVideo: {attempt.video_url}" if is_web_url(attempt.video_url) else ""
    return f"{message}\n\nSteps (attempt {attempt.number}):\n{steps}{video}"
