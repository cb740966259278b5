"""Outcome -> JUnit XML valid against junit-10.xsd: a testcase per run, or a suite per run with a testcase per step."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from gate.config import JunitLayout
from gate.model import (
    Attempt,
    Outcome,
    RunOutcome,
    Step,
    StepState,
    Verdict,
    failure_line,
    unique_names,
)
from gate.reports.escape import one_line, xml_attribute, xml_safe, xml_text
from gate.reports.run_text import (
    Kind,
    Mark,
    attachments_for,
    attempt_details,
    case_name,
    clip,
    clip_line,
    flaky_failures,
    group_runs_of,
    groups,
    run_details,
    run_duration,
    run_header,
    run_mark,
    run_properties,
    seconds,
    step_text,
    suite_name,
    timestamp,
)

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

    from junit_xml import TestCase

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
REPORT_NAME = "DocketQA"
CLASSNAME = "DocketQA"
RUN_CASE = "Run result"
Attachments = Mapping[int, Sequence[str]]


def render_junit(outcome: Outcome, *, layout: JunitLayout = JunitLayout.TEST, attachments: Attachments | None = None) -> str:
    """The whole JUnit document. ``attachments`` maps test run ids to relative evidence paths."""
    # One pass over the finished document removes every XML-illegal character, wherever it came from.
    if layout is JunitLayout.STEP:
        # The step layout joins the declaration in with everything else: a 20,000-testcase document is
        # never copied whole once more just to put it in front.
        return xml_safe(_render_step_layout(outcome, attachments=attachments or {}))
    return XML_DECLARATION + xml_safe(_render_test_layout(outcome, attachments=attachments or {}))


def _no_runs_mark(outcome: Outcome) -> Mark:
    """An empty outcome never passes, so its report must not look green either."""
    why = outcome.stop_reason or "the gate followed no test runs, so nothing was tested"
    return Mark(Kind.ERROR, "NoRuns", why, why)


# --- test layout: junit-xml, then a small normalisation for the schema ----------------------------------


def _render_test_layout(outcome: Outcome, *, attachments: Attachments) -> str:
    import xml.etree.ElementTree as ET

    from junit_xml import TestCase, TestSuite

    root = ET.Element("testsuites", {"name": REPORT_NAME})
    for group in groups(outcome):
        names = unique_names([(case_name(r.name), r.test_run_id) for r in group.runs])
        cases = [_test_case(r, name, outcome=outcome, attachments=attachments) for r, name in zip(group.runs, names)]
        g = group.group_run
        properties = {"group_run_id": str(g.id), "dashboard_url": g.dashboard_url} if g else None
        suite = TestSuite(clip_line(suite_name(g)), cases, timestamp=timestamp(g.created_at) if g else None, properties=properties)
        root.append(_normalise_suite(suite.build_xml_doc(), flaky=[flaky_failures(r) for r in group.runs]))
    if not outcome.runs:
        case = TestCase("DocketQA gate", classname=CLASSNAME)
        _add_mark(case, _no_runs_mark(outcome))
        root.append(_normalise_suite(TestSuite(REPORT_NAME, [case]).build_xml_doc(), flaky=[]))
    _set_totals(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _test_case(r: RunOutcome, name: str, *, outcome: Outcome, attachments: Attachments) -> TestCase:
    from junit_xml import TestCase

    mark = run_mark(r, fail_on_timeout=outcome.fail_on_timeout)
    # A failing run's element text already holds the step list; system-out keeps identity and evidence.
    about = clip(run_header(r) if mark else run_details(r))
    evidence = attachments_for(attachments, r)  # added after clip(): the only markers that may stay whole
    stdout = f"{about}\n\n{evidence}" if evidence else about
    case = TestCase(name, classname=CLASSNAME, elapsed_sec=run_duration(r), stdout=stdout)
    if mark is not None:
        _add_mark(case, mark)
    return case


def _add_mark(case: TestCase, mark: Mark) -> None:
    message, text = clip_line(mark.message), clip(mark.text)
    if mark.kind is Kind.FAILURE:
        case.add_failure_info(message=message, output=text, failure_type=mark.type)
    elif mark.kind is Kind.ERROR:
        case.add_error_info(message=message, output=text, error_type=mark.type)
    else:
        case.add_skipped_info(message=message, output=text)


def _normalise_suite(suite: ET.Element, *, flaky: Sequence[Sequence[tuple[Attempt, str]]]) -> ET.Element:
    """Make junit-xml's suite valid against junit-10.xsd and add what junit-xml cannot express.

    junit-xml 1.9 writes ``disabled`` (not in the schema), suite ``time`` as ``str(float)`` (``1e-05``
    fails SUREFIRE_TIME) and has no Surefire ``flakyFailure``.
    """
    import xml.etree.ElementTree as ET

    suite.attrib.pop("disabled", None)
    total = 0.0
    for index, case in enumerate(suite.iter("testcase")):
        if case.get("time"):
            total += float(case.get("time") or 0)
            case.set("time", seconds(float(case.get("time") or 0)) or "0.000")
        at = next((i for i, child in enumerate(case) if child.tag in ("system-out", "system-err")), len(case))
        for offset, (attempt, message) in enumerate(flaky[index] if index < len(flaky) else ()):
            element = ET.Element("flakyFailure", {"message": clip_line(message), "type": "StepFailed"})
            ET.SubElement(element, "stackTrace").text = clip(attempt_details(attempt, message))
            case.insert(at + offset, element)
    suite.set("time", seconds(total) or "0.000")
    return suite


def _set_totals(root: ET.Element) -> None:
    """``<testsuites>`` counts are its suites' sums (the schema allows no ``skipped`` there)."""
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(suite.get(key) or 0) for suite in root)))
    root.set("time", seconds(sum(float(suite.get("time") or 0) for suite in root)) or "0.000")


# --- step layout: written directly (20,000 testcases must render in a fraction of a second) ------------


class _Case(NamedTuple):
    name: str
    time: float | None
    mark: Mark | None = None
    out: str = ""
    flaky: tuple[tuple[str, str], ...] = ()
    step_number: int | None = None
    #: The gate's own [[ATTACHMENT|...]] lines, written after ``out`` without defusing.
    evidence: str = ""


class _Counts(NamedTuple):
    tests: int = 0
    failures: int = 0
    errors: int = 0
    time: float = 0.0

    def __add__(self, other: object) -> _Counts:
        assert isinstance(other, _Counts)
        return _Counts(
            self.tests + other.tests, self.failures + other.failures, self.errors + other.errors, self.time + other.time
        )


def _render_step_layout(outcome: Outcome, *, attachments: Attachments) -> str:
    suites: list[str] = []
    totals = _Counts()
    names = unique_names([(case_name(r.name), r.test_run_id) for r in outcome.runs])
    for r, name, group_run in zip(outcome.runs, names, group_runs_of(outcome)):
        cases = _step_cases(r, fail_on_timeout=outcome.fail_on_timeout, attachments=attachments)
        stamp = timestamp(r.run.created_at) if r.run else None
        xml, counts = _suite_xml(name, cases, timestamp=stamp, properties=run_properties(r, group_run))
        suites.append(xml)
        totals += counts
    if not outcome.runs:
        xml, totals = _suite_xml(REPORT_NAME, [_Case("DocketQA gate", None, _no_runs_mark(outcome))])
        suites.append(xml)
    head = (
        f'<testsuites name="{REPORT_NAME}" tests="{totals.tests}" failures="{totals.failures}"'
        f' errors="{totals.errors}" time="{seconds(totals.time) or "0.000"}">'
    )
    return "\n".join([XML_DECLARATION + head, *suites, "</testsuites>\n"])


def _step_cases(r: RunOutcome, *, fail_on_timeout: bool, attachments: Attachments) -> list[_Case]:
    """A testcase per step, plus one for the run when no failed step explains its status (or it has no steps)."""
    steps = r.run.steps if r.run else ()
    run_level = run_mark(r, fail_on_timeout=fail_on_timeout)
    width = max(2, len(str(max((abs(s.number) for s in steps), default=0))))
    cases: list[_Case] = []
    target = None
    for step in steps:
        name = f"Step {step.number:0{width}d}: {one_line(step.task)}"
        mark = None
        if step.state is StepState.NOT_REACHED:
            mark = Mark(Kind.SKIPPED, "", "not reached", "")
        elif step.state is StepState.FAILED and run_level is not None:
            mark = _step_failure(r, step, run_level)
            target = len(cases) if target is None else target
        out = "" if mark else step_text(step)
        cases.append(_Case(name, step.duration_s, mark, out, step_number=step.number))
    explained = r.verdict is Verdict.FAILED and target is not None
    if not steps or (run_level is not None and not explained):
        duration = run_duration(r) if not steps else None
        about = run_header(r) if run_level else run_details(r)
        cases.append(_Case(RUN_CASE, duration, run_level, about))
        target = len(cases) - 1 if target is None else target
    _attach(cases, target, attachments_for(attachments, r), flaky_failures(r))
    return cases


def _step_failure(r: RunOutcome, step: Step, run_level: Mark) -> Mark:
    """A failed step fails its testcase, unless the run must not fail the build (then it is skipped too)."""
    message = one_line(failure_line(step))
    text = f"{message}\n\n{step_text(step)}\n\n{run_header(r)}"
    if run_level.kind is Kind.SKIPPED:
        return Mark(Kind.SKIPPED, "StepFailed", run_level.message, text)
    return Mark(Kind.FAILURE, "StepFailed", message, text)


def _attach(cases: list[_Case], target: int | None, evidence: str, flaky: list[tuple[Attempt, str]]) -> None:
    """Evidence goes on the failing case; each flaky failure on the case of the step that failed then."""
    if evidence:
        index = len(cases) - 1 if target is None else target
        cases[index] = cases[index]._replace(evidence=evidence)
    by_number = {c.step_number: i for i, c in enumerate(cases) if c.step_number is not None}
    for attempt, message in flaky:
        step = attempt.failed_step
        index = by_number.get(step.number, len(cases) - 1) if step else len(cases) - 1
        entry = (message, attempt_details(attempt, message))
        cases[index] = cases[index]._replace(flaky=cases[index].flaky + (entry,))


def _suite_xml(
    name: str, cases: list[_Case], *, timestamp: str | None = None, properties: Mapping[str, str] | None = None
) -> tuple[str, _Counts]:
    kinds = [c.mark.kind for c in cases if c.mark is not None]
    failures, errors = kinds.count(Kind.FAILURE), kinds.count(Kind.ERROR)
    counts = _Counts(len(cases), failures, errors, sum(c.time for c in cases if c.time is not None and math.isfinite(c.time)))
    stamp = f' timestamp="{_attr(timestamp)}"' if timestamp else ""
    head = (
        f'  <testsuite name="{_attr(name)}" tests="{len(cases)}" failures="{failures}" errors="{errors}"'
        f' skipped="{kinds.count(Kind.SKIPPED)}" time="{seconds(counts.time) or "0.000"}"{stamp}>'
    )
    lines = [head]
    if properties:
        lines.append("    <properties>")
        lines += [f'      <property name="{_attr(k)}" value="{_attr(v)}"/>' for k, v in properties.items()]
        lines.append("    </properties>")
    classname = _attr(name)
    lines += [_case_xml(c, classname) for c in cases]
    lines.append("  </testsuite>")
    return "\n".join(lines), counts


def _case_xml(case: _Case, classname: str) -> str:
    time = seconds(case.time)
    head = f'    <testcase name="{_attr(case.name)}" classname="{classname}"' + (f' time="{time}"' if time else "")
    if case.mark is None and not case.flaky and not case.evidence:
        # Most testcases are passed steps: write them in one go.
        return f"{head}>\n      <system-out>{_text(case.out)}</system-out>\n    </testcase>" if case.out else head + "/>"
    body: list[str] = []
    mark = case.mark
    if mark is not None:
        kind = mark.kind.value
        # junit-xml writes no meaningful type on <skipped>; keep both layouts alike.
        type_ = f' type="{_attr(mark.type)}"' if mark.type and mark.kind is not Kind.SKIPPED else ""
        text = _text(mark.text)
        body.append(f'      <{kind}{type_} message="{_attr(mark.message)}"' + (f">{text}</{kind}>" if text else "/>"))
    for message, details in case.flaky:
        body.append(
            f'      <flakyFailure message="{_attr(message)}" type="StepFailed"><stackTrace>{_text(details)}</stackTrace></flakyFailure>'
        )
    if case.out or case.evidence:
        out = "\n\n".join(p for p in (_text(case.out), xml_text(case.evidence)) if p)
        body.append(f"      <system-out>{out}</system-out>")
    if not body:
        return head + "/>"
    return "\n".join([head + ">", *body, "    </testcase>"])


def _attr(text: str) -> str:
    return xml_attribute(clip_line(text))


def _text(text: str) -> str:
    return xml_text(clip(text))
