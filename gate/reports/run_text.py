"""What each JUnit testcase says (result element, texts, properties), and which suite each run belongs to."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import math
import re
from collections.abc import Mapping, Sequence

from gate.durations import format_duration
from gate.model import (
    Attempt,
    GroupRun,
    Outcome,
    RunOutcome,
    Step,
    StepState,
    Verdict,
    failure_line,
    is_web_url,
)
from gate.reports.escape import one_line, xml_safe

#: No element text or attribute is cut below this many characters (GitLab and Jenkins cope with far more).
MAX_ELEMENT_CHARS = 65_536
MARKERS = {StepState.PASSED: "✓", StepState.FAILED: "✗", StepState.NOT_REACHED: "–"}
UNGROUPED_SUITE = "DocketQA test runs"
_INDENT = "     "
_ATTACHMENT = re.compile(r"\[\[(?=\s*ATTACHMENT\s*\|)", re.IGNORECASE)


class Kind(enum.Enum):
    """The JUnit element a testcase that did not pass carries."""

    FAILURE = "failure"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class Mark:
    kind: Kind
    type: str
    message: str
    text: str


@dataclasses.dataclass(frozen=True)
class Group:
    """One suite of the test layout: a group run (None for runs that belong to none) and its runs in order."""

    group_run: GroupRun | None
    runs: tuple[RunOutcome, ...]


# --- cleaning -------------------------------------------------------------------------------------------


def clip(text: str) -> str:
    """Text for an element or attribute: attachment look-alikes defused, cut beyond ``MAX_ELEMENT_CHARS``.

    Every text of the report passes through here, except the gate's own ``[[ATTACHMENT|...]]`` lines.
    XML-illegal characters are removed from the finished document in one pass (``render_junit``).
    """
    if "[[" not in text and "\r" not in text and len(text) <= MAX_ELEMENT_CHARS:
        return text  # the common case, checked first: this runs for every text of a 20,000-testcase report
    text = defuse_attachments(text)
    if "\r" in text:
        # Parsers turn a raw CR into LF anyway; doing it here keeps both layouts (and golden files) alike.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) <= MAX_ELEMENT_CHARS:
        return text
    keep = MAX_ELEMENT_CHARS - 120
    return f"{text[:keep]}\n[… {len(text) - keep:,} more characters cut; the full text is on the DocketQA dashboard]"


def clip_line(text: str) -> str:
    """``clip`` for attributes: one line, so names and messages read well everywhere."""
    return clip(one_line(text))


def case_name(text: str) -> str:
    """A testcase or suite name as it will finally read, so uniqueness is decided on the real text."""
    return clip(" ".join(xml_safe(text).split()))


def seconds(value: float | None) -> str | None:
    """Seconds as JUnit tools expect them (``12.500``); None when unknown or nonsensical."""
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return f"{value:.3f}"


def timestamp(value: str | None) -> str | None:
    """An API ISO 8601 time as a JUnit timestamp (UTC, no offset); None when it does not parse."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


# --- grouping -------------------------------------------------------------------------------------------


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


def groups(outcome: Outcome) -> list[Group]:
    """Suites in a stable order: declared group runs, then others as first seen, then runs without one."""
    members: dict[int | None, list[RunOutcome]] = {g.id: [] for g in outcome.group_runs}
    by_id: dict[int | None, GroupRun | None] = {g.id: g for g in outcome.group_runs}
    for r, group_run in zip(outcome.runs, group_runs_of(outcome)):
        key = group_run.id if group_run else None
        by_id.setdefault(key, group_run)
        members.setdefault(key, []).append(r)
    ordered = sorted(members, key=lambda key: key is None)  # stable: keeps first-seen order otherwise
    return [Group(group_run=by_id[key], runs=tuple(members[key])) for key in ordered]


def suite_name(group_run: GroupRun | None) -> str:
    if group_run is None:
        return UNGROUPED_SUITE
    name = one_line(group_run.name or "")
    return f"{name} (group run {group_run.id})" if name else f"DocketQA group run {group_run.id}"


# --- results --------------------------------------------------------------------------------------------


def run_mark(r: RunOutcome, *, fail_on_timeout: bool) -> Mark | None:
    """The element of a run's testcase: None when it passed; skipped when it must not fail the build."""
    if r.verdict is Verdict.PASSED:
        return None
    type_, message = _problem(r)
    message = one_line(message)
    text = f"{message}\n\n{run_details(r)}"
    if r.allowed_failure:
        return Mark(Kind.SKIPPED, type_, f"allowed failure: {message}", text)
    if r.verdict is Verdict.TIMED_OUT and not fail_on_timeout:
        return Mark(Kind.SKIPPED, type_, f"timed out, not failing the gate (fail-on-timeout is off): {message}", text)
    if r.verdict is Verdict.NOT_AWAITED:
        return Mark(Kind.SKIPPED, type_, message, text)  # the gate failed on another run; this one was left running
    kind = Kind.FAILURE if r.verdict is Verdict.FAILED else Kind.ERROR
    return Mark(kind, type_, message, text)


def _problem(r: RunOutcome) -> tuple[str, str]:
    """The element type and one-line message for a run that did not pass."""
    status = r.status or "unknown"
    if r.verdict is Verdict.FAILED:
        step = r.failed_step
        message = r.problem or (failure_line(step) if step else f"DocketQA reported status '{status}'")
        return ("StepFailed" if step else "RunFailed"), message
    if r.verdict is Verdict.TIMED_OUT:
        return "Timeout", r.problem or f"the run was still '{status}' at the gate's deadline"
    if r.verdict is Verdict.CANCELLED:
        return "Cancelled", r.problem or f"the gate was stopped while the run was '{status}'"
    if r.verdict is Verdict.NOT_AWAITED:
        return "NotAwaited", r.problem or f"not awaited: still '{status}' when --fail-fast stopped the gate"
    default = f"DocketQA reported status '{status}'" if r.run else "the gate got no usable data for this run"
    return ("ApiError" if r.api_problem else "RunError"), r.problem or default


def flaky_failures(r: RunOutcome) -> list[tuple[Attempt, str]]:
    """Each failed attempt of a run that passed in the end, with a one-line message."""
    if not r.flaky or r.run is None:
        return []
    return [(a, attempt_line(a)) for a in r.run.failed_attempts]


def attempt_line(attempt: Attempt) -> str:
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


# --- texts ----------------------------------------------------------------------------------------------


def run_header(r: RunOutcome) -> str:
    """Identity of a run: ids, status, starting URL, video."""
    run = r.run
    lines = [f"Test run: {r.test_run_id if r.test_run_id is not None else 'unknown'}"]
    if r.blueprint_id is not None:
        lines.append(f"Blueprint: {r.blueprint_id}")
    lines.append(f"Status: {r.status or 'unknown'} (gate verdict: {r.verdict.value})")
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
    """``✗ 1. task · 43s`` then the agent's result and the screenshot URLs, indented."""
    if step.state is StepState.NOT_REACHED:
        return f"{MARKERS[step.state]} {step.number}. {one_line(step.task) or '(no task)'} · not reached"
    took = _duration(step.duration_s) if step.duration_s is not None else "no duration"
    text = f"{MARKERS[step.state]} {step.number}. {one_line(step.task) or '(no task)'} · {took}"
    result = step.result.strip()
    if result:
        if "\r" in result:
            result = result.replace("\r\n", "\n").replace("\r", "\n")
        text += f"\n{_INDENT}" + result.replace("\n", f"\n{_INDENT}")
    for action in step.actions:
        if is_web_url(action.screenshot_url):
            text += f"\n{_INDENT}Screenshot: {action.screenshot_url}"
    return text


# Durations repeat a lot across thousands of steps; formatting each once keeps big reports fast.
_duration = functools.lru_cache(maxsize=4096)(format_duration)


def attempt_details(attempt: Attempt, message: str) -> str:
    """A failed earlier attempt on its own: why, its steps and its video."""
    steps = step_list(attempt.steps) if attempt.steps else "No step results were reported."
    video = f"\n\nVideo: {attempt.video_url}" if is_web_url(attempt.video_url) else ""
    return f"{message}\n\nSteps (attempt {attempt.number}):\n{steps}{video}"


def defuse_attachments(text: str) -> str:
    """Data that looks like an ``[[ATTACHMENT|...]]`` marker is broken up: only the gate may attach files."""
    return _ATTACHMENT.sub("[ [", text) if "[[" in text else text


def attachment_lines(paths: Sequence[str]) -> str:
    """GitLab/Jenkins attachment markers; a path cannot end the marker or span lines."""
    cleaned = (one_line(p).replace("]]", "") for p in paths)
    return "\n".join(f"[[ATTACHMENT|{p}]]" for p in cleaned if p)


def run_properties(r: RunOutcome, group_run: GroupRun | None) -> dict[str, str]:
    """Step layout suite properties; values that are unknown are left out."""
    run = r.run
    values = {
        "test_run_id": r.test_run_id,
        "blueprint_id": r.blueprint_id,
        "status": r.status,
        "verdict": r.verdict.value,
        "starting_url": run.starting_url if run else None,
        "video_url": run_video(r),
        "group_run_id": group_run.id if group_run else None,
        "dashboard_url": group_run.dashboard_url if group_run else None,
    }
    return {k: clip_line(str(v)) for k, v in values.items() if v is not None}


def attachments_for(attachments: Mapping[int, Sequence[str]], r: RunOutcome) -> str:
    paths = attachments.get(r.test_run_id) if r.test_run_id is not None else None
    return attachment_lines(paths) if paths else ""
