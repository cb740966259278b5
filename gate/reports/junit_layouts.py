"""Outcome -> the suites and testcases of each JUnit layout: a testcase per run, or a suite per run and a testcase per step."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

from gate.model import Attempt, StepState, Verdict
from gate.naming import unique_names
from gate.outcome import GroupRun, Outcome, RunOutcome
from gate.reports.escape import one_line
from gate.reports.junit_text import (
    CaseResult,
    ResultElement,
    attachments_for,
    attribute_text,
    case_name,
    flaky_entry,
    flaky_failures,
    junit_timestamp,
    no_runs_result,
    run_result,
    step_result,
)
from gate.reports.run_text import group_runs_of, run_details, run_duration, run_video, step_text

REPORT_NAME = "DocketQA"
#: The classname of every testcase in the test layout (the step layout uses the run's suite name).
CLASSNAME = "DocketQA"
RUN_CASE = "Run result"
NO_RUNS_CASE = "DocketQA gate"
UNGROUPED_SUITE = "DocketQA test runs"
#: JUnit property on what ``--resume`` carried over from an earlier attempt (on the suite, in both layouts: the
#: schema has no testcase properties, so the test layout gives carried runs a suite of their own).
CARRIED_PROPERTY = "docketqa.carried_over"
Attachments = Mapping[int, Sequence[str]]


class Testcase(NamedTuple):
    """One ``<testcase>``: a NamedTuple, as a step-layout report has tens of thousands of them."""

    name: str
    time: float | None
    result: CaseResult | None = None
    #: Its ``<system-out>`` text.
    out: str = ""
    #: Each ``<flakyFailure>``: message and stack trace text.
    flaky: tuple[tuple[str, str], ...] = ()
    step_number: int | None = None
    #: The gate's own [[ATTACHMENT|...]] lines, written after ``out`` without defusing.
    evidence: str = ""


@dataclasses.dataclass(frozen=True)
class Testsuite:
    """One ``<testsuite>``. Names and properties are final (the writer only escapes them); messages and texts
    are cleaned by the writer."""

    name: str
    classname: str
    cases: list[Testcase]
    timestamp: str | None = None
    properties: Mapping[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class RunGroup:
    """One suite of the test layout: a group run (None for runs that belong to none) and its runs in order."""

    group_run: GroupRun | None
    runs: tuple[RunOutcome, ...]
    #: The runs were carried over from an earlier attempt (``--resume``).
    carried: bool = False


def no_runs_suite(outcome: Outcome) -> Testsuite:
    """The one suite of a report that followed no runs: an error, because the gate does not pass either."""
    case = Testcase(NO_RUNS_CASE, None, no_runs_result(outcome.stop_reason))
    return Testsuite(REPORT_NAME, CLASSNAME, [case])


# --- test layout: a suite per group run, a testcase per run ---------------------------------------------


def suites_by_group_run(outcome: Outcome, *, attachments: Attachments) -> Iterator[Testsuite]:
    """A suite per group run (in ``run_groups`` order), a testcase per run."""
    for group in run_groups(outcome):
        names = unique_names([(case_name(r.name), r.test_run_id) for r in group.runs])
        cases = [_run_case(r, name, outcome=outcome, attachments=attachments) for r, name in zip(group.runs, names)]
        g = group.group_run
        properties = {"group_run_id": str(g.id), "dashboard_url": g.dashboard_url} if g else None
        if group.carried:
            properties = {**(properties or {}), CARRIED_PROPERTY: "true"}
        yield Testsuite(
            attribute_text(suite_name(g, carried=group.carried)), CLASSNAME, cases,
            timestamp=junit_timestamp(g.created_at) if g else None, properties=properties,
        )


def _run_case(r: RunOutcome, name: str, *, outcome: Outcome, attachments: Attachments) -> Testcase:
    result = run_result(r, fail_on_timeout=outcome.fail_on_timeout)
    # A marked run's element text says everything (GitLab shows only that text): system-out then holds just the
    # evidence markers (GitLab reads attachments there), so the run's header is not repeated.
    about = "" if result else run_details(r)
    flaky = tuple(flaky_entry(a, message) for a, message in flaky_failures(r))
    return Testcase(name, run_duration(r), result, about, flaky, evidence=attachments_for(attachments, r))


def run_groups(outcome: Outcome) -> list[RunGroup]:
    """Suites in a stable order: declared group runs, then others as first seen, then runs without one; then the
    same for carried runs, in suites of their own (an earlier group run holding only carried runs has no other)."""
    members: dict[tuple[int | None, bool], list[RunOutcome]] = {(g.id, False): [] for g in outcome.group_runs}
    by_id: dict[int | None, GroupRun | None] = {g.id: g for g in outcome.group_runs}
    for r, group_run in zip(outcome.runs, group_runs_of(outcome)):
        key = group_run.id if group_run else None
        by_id.setdefault(key, group_run)
        members.setdefault((key, r.carried_over), []).append(r)
    ordered = sorted(members, key=lambda key: (key[0] is None, key[1]))  # stable: keeps first-seen order otherwise
    found = [RunGroup(by_id[key], tuple(members[(key, carried)]), carried) for key, carried in ordered]
    return [g for g in found if g.runs or g.group_run is None or not g.group_run.earlier_attempt]


def suite_name(group_run: GroupRun | None, *, carried: bool = False) -> str:
    if group_run is None:
        name = UNGROUPED_SUITE
    else:
        label = one_line(group_run.name or "")
        name = f"{label} (group run {group_run.id})" if label else f"DocketQA group run {group_run.id}"
    return f"{name}, carried over from an earlier attempt" if carried else name


# --- step layout: a suite per run, a testcase per step --------------------------------------------------


def suites_by_run(outcome: Outcome, *, attachments: Attachments) -> Iterator[Testsuite]:
    """A suite per run, a testcase per step; each built only when the writer comes to it (20,000 testcases)."""
    names = unique_names([(case_name(r.name), r.test_run_id) for r in outcome.runs])
    for r, name, group_run in zip(outcome.runs, names, group_runs_of(outcome)):
        yield Testsuite(
            attribute_text(name), attribute_text(name),
            _step_cases(r, fail_on_timeout=outcome.fail_on_timeout, attachments=attachments),
            timestamp=junit_timestamp(r.run.created_at) if r.run else None,
            properties=run_properties(r, group_run),
        )


def _step_cases(r: RunOutcome, *, fail_on_timeout: bool, attachments: Attachments) -> list[Testcase]:
    """A testcase per step, plus one for the run when no failed step explains its status (or it has no steps)."""
    steps = r.run.steps if r.run else ()
    run_level = run_result(r, fail_on_timeout=fail_on_timeout)
    width = max(2, len(str(max((abs(s.number) for s in steps), default=0))))
    cases: list[Testcase] = []
    target = None
    for step in steps:
        name = attribute_text(f"Step {step.number:0{width}d}: {one_line(step.task)}")
        result = None
        if step.state is StepState.NOT_REACHED:
            result = CaseResult(ResultElement.SKIPPED, "", "not reached", "")
        elif step.state is StepState.FAILED and run_level is not None:
            result = step_result(r, step, run_level)
            target = len(cases) if target is None else target
        out = "" if result else step_text(step)
        cases.append(Testcase(name, step.duration_s, result, out, step_number=step.number))
    # A failed step explains a failed run, and an error run (an unknown final status such as 'stopped') whose step
    # failed: that step then carries the run's error, so both layouts count one error for it.
    explained = r.verdict in (Verdict.FAILED, Verdict.ERROR) and target is not None
    if not steps or (run_level is not None and not explained):
        duration = run_duration(r) if not steps else None
        about = "" if run_level else run_details(r)  # the result's text holds the header (see _run_case)
        cases.append(Testcase(RUN_CASE, duration, run_level, about))
        target = len(cases) - 1 if target is None else target
    _attach(cases, target, attachments_for(attachments, r), flaky_failures(r))
    return cases


def _attach(cases: list[Testcase], target: int | None, evidence: str, flaky: list[tuple[Attempt, str]]) -> None:
    """Evidence goes on the failing case; each flaky failure on the case of the step that failed then."""
    if evidence:
        index = len(cases) - 1 if target is None else target
        cases[index] = cases[index]._replace(evidence=evidence)
    by_number = {c.step_number: i for i, c in enumerate(cases) if c.step_number is not None}
    for attempt, message in flaky:
        step = attempt.failed_step
        index = by_number.get(step.number, len(cases) - 1) if step else len(cases) - 1
        cases[index] = cases[index]._replace(flaky=cases[index].flaky + (flaky_entry(attempt, message),))


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
        CARRIED_PROPERTY: "true" if r.carried_over else None,
    }
    # Twice, as this layout always has: a value cut at 64 KB gets its cut marker on the same line.
    return {k: attribute_text(attribute_text(str(v))) for k, v in values.items() if v is not None}

