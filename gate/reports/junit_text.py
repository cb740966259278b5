"""What a JUnit testcase says: its result element, its texts (cleaned and cut) and its times."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import re
from collections.abc import Mapping, Sequence

from gate.model import Attempt, Step, Verdict, failure_line, parse_api_time
from gate.outcome import RunOutcome
from gate.reports.escape import one_line, xml_safe
from gate.reports.run_text import attempt_details, attempt_line, run_details, run_header, step_text

#: No element text or attribute is cut below this many characters (GitLab and Jenkins cope with far more).
MAX_ELEMENT_CHARS = 65_536
_ATTACHMENT = re.compile(r"\[\[(?=\s*ATTACHMENT\s*\|)", re.IGNORECASE)


class ResultElement(enum.Enum):
    """The JUnit element a testcase that did not pass carries (the value is its tag)."""

    FAILURE = "failure"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class CaseResult:
    """The result element of a testcase that did not pass: which element, its type, message and text."""

    element: ResultElement
    type: str
    message: str
    text: str


# --- cleaning -------------------------------------------------------------------------------------------


def element_text(text: str) -> str:
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


def attribute_text(text: str) -> str:
    """``element_text`` for attributes: one line, so names and messages read well everywhere."""
    return element_text(one_line(text))


def case_name(text: str) -> str:
    """A testcase or suite name as it will finally read, so uniqueness is decided on the real text."""
    return element_text(" ".join(xml_safe(text).split()))


def defuse_attachments(text: str) -> str:
    """Data that looks like an ``[[ATTACHMENT|...]]`` marker is broken up: only the gate may attach files."""
    return _ATTACHMENT.sub("[ [", text) if "[[" in text else text


def attachment_lines(paths: Sequence[str]) -> str:
    """GitLab/Jenkins attachment markers; a path cannot end the marker or span lines."""
    cleaned = (one_line(p).replace("]]", "") for p in paths)
    return "\n".join(f"[[ATTACHMENT|{p}]]" for p in cleaned if p)


def attachments_for(attachments: Mapping[int, Sequence[str]], r: RunOutcome) -> str:
    """The attachment lines of a run's downloaded evidence ("" when it has none)."""
    paths = attachments.get(r.test_run_id) if r.test_run_id is not None else None
    return attachment_lines(paths) if paths else ""


# --- times ----------------------------------------------------------------------------------------------


def junit_seconds(value: float | None) -> str | None:
    """Seconds as JUnit tools expect them (``12.500``); None when unknown or nonsensical."""
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return f"{value:.3f}"


def junit_timestamp(value: str | None) -> str | None:
    """An API ISO 8601 time as a JUnit timestamp (UTC, no offset); None when it does not parse."""
    parsed = parse_api_time(value.strip()) if value else None
    return parsed.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") if parsed else None


# --- results --------------------------------------------------------------------------------------------


def run_result(r: RunOutcome, *, fail_on_timeout: bool) -> CaseResult | None:
    """The result of a run's testcase: None when it passed; skipped when it must not fail the build."""
    if r.verdict is Verdict.PASSED:
        return None
    type_, message = _problem(r)
    message = one_line(message)
    text = f"{message}\n\n{run_details(r)}"
    if r.allowed_failure:
        return CaseResult(ResultElement.SKIPPED, type_, f"allowed failure: {message}", text)
    if r.verdict is Verdict.TIMED_OUT and not fail_on_timeout:
        why = f"timed out, not failing the gate (fail-on-timeout is off): {message}"
        return CaseResult(ResultElement.SKIPPED, type_, why, text)
    if r.verdict is Verdict.NOT_AWAITED:  # --fail-fast failed the gate on another run; this one was left going
        return CaseResult(ResultElement.SKIPPED, type_, message, text)
    element = ResultElement.FAILURE if r.verdict is Verdict.FAILED else ResultElement.ERROR
    return CaseResult(element, type_, message, text)


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


def step_result(r: RunOutcome, step: Step, run_level: CaseResult) -> CaseResult:
    """A failed step fails its testcase, unless the run must not fail the build (then it is skipped too)."""
    message = one_line(failure_line(step))
    text = f"{message}\n\n{step_text(step)}\n\n{run_header(r)}"
    if run_level.element is ResultElement.SKIPPED:
        return CaseResult(ResultElement.SKIPPED, "StepFailed", run_level.message, text)
    if run_level.element is ResultElement.ERROR:  # an unknown final status: the run's error, on its failed step
        return CaseResult(ResultElement.ERROR, run_level.type, run_level.message, f"{run_level.message}\n\n{text}")
    return CaseResult(ResultElement.FAILURE, "StepFailed", message, text)


def no_runs_result(stop_reason: str | None) -> CaseResult:
    """An empty outcome never passes, so its report must not look green either."""
    why = stop_reason or "the gate followed no test runs, so nothing was tested"
    return CaseResult(ResultElement.ERROR, "NoRuns", why, why)


def flaky_failures(r: RunOutcome) -> list[tuple[Attempt, str]]:
    """Each failed attempt of a run that passed in the end, with a one-line message."""
    if not r.flaky or r.run is None:
        return []
    return [(a, attempt_line(a)) for a in r.run.failed_attempts]


def flaky_entry(attempt: Attempt, message: str) -> tuple[str, str]:
    """A ``<flakyFailure>``'s message and stack trace text."""
    return message, attempt_details(attempt, message)
