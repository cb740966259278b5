"""Outcome -> JUnit XML valid against junit-10.xsd, both layouts through one writer.

One path: ``junit_layouts`` turns the outcome into suites and testcases (a testcase per run, or a suite per
run and a testcase per step) with their names and properties final, and ``_document`` writes them. The one
normalisation is here: every message is made one line and cut (``attribute_text``), every text defused and
cut (``element_text``), everything XML-escaped, and one ``xml_safe`` pass cleans the finished document.

Why not junit-xml: the design card names it, and the test layout used to be built with it
(``TestSuite.build_xml_doc``, ElementTree's ``indent`` and ``tostring``, a normalisation for the schema).
Built that way, the step layout (with the normalisation that keeps its bytes: same output, checked) missed
the 20,000-testcase goal (<= 1 s, <= 120 MB) here: medians over 1 s where this writer's were 0.74-0.81 s in
the same minutes, and on a quiet machine it would at best sit at the edge (its CPU alone is 0.89 s, its peak
113 of 120 MB), changing benchmark 5's figures either way. Benchmark 5's input
(500 runs x 40 steps, ``report`` writing step-layout JUnit, JSON and summary) on the shared 2-core machine,
10 interleaved rounds, process CPU (user+sys) median / wall median / fastest wall / peak RSS:

    this writer                        0.64 s / 0.81 s / 0.66 s /  84 MB   (main before it: 0.62 / 0.78 / 0.63 / 84)
    junit-xml + ElementTree            0.89 s / 1.33 s / 0.90 s / 113 MB

``benchmarks/run.py --only reports``, 20,000 testcases, median (fastest) and peak RSS: this writer 0.74 s
(0.67 s), 84 MB; junit-xml 2.20 s (1.16 s), 112 MB; at 100,000 testcases 359 MB against 466 MB. So one
path written directly serves both layouts, and junit-xml is no longer imported.

Each layout keeps its bytes (tests/golden/): the test layout is spelled as junit-xml 1.9 and ElementTree
wrote it (attribute order, ``<x />``, ``&#09;``, ``type="skipped"``, times), the step layout as before.
``_Spelling`` holds those few differences; nothing else about the two layouts differs in the writer.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Mapping

from gate.config import JunitLayout
from gate.outcome import Outcome
from gate.reports.escape import TAB_REFERENCE, xml_attribute, xml_safe, xml_text
from gate.reports.junit_layouts import (
    REPORT_NAME,
    Attachments,
    Testcase,
    Testsuite,
    no_runs_suite,
    suites_by_group_run,
    suites_by_run,
)
from gate.reports.junit_text import CaseResult, ResultElement, attribute_text, element_text, junit_seconds

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclasses.dataclass(frozen=True)
class _Spelling:
    """How one layout's bytes have always read where the two differ (attribute order, empty elements, ...)."""

    #: The ``<testsuite>`` start tag's attribute order (a ``str.format`` template), and the ``<testcase>``'s.
    suite_head: str
    time_before_classname: bool
    #: A ``<flakyFailure>`` (a ``str.format`` template).
    flaky: str
    #: How an element without content ends, and the characters an attribute writes as references.
    empty_end: str
    references: Mapping[str, str]
    #: junit-xml's result elements: always a ``type`` (``skipped`` on skips), ``message`` only when set.
    typed_results: bool
    #: junit-xml's times: a testcase's only when it is not 0 (rounded to 6 places), a suite's the sum of
    #: its testcases' and the document's the sum of its suites' as written; else sums of the exact times.
    junit_xml_times: bool


_TEST_SPELLING = _Spelling(
    suite_head='  <testsuite errors="{errors}" failures="{failures}" name="{name}" skipped="{skipped}"'
    ' tests="{tests}" time="{time}"{timestamp}',
    time_before_classname=True,
    flaky='      <flakyFailure message="{message}" type="StepFailed">\n'
    "        <stackTrace>{details}</stackTrace>\n      </flakyFailure>",
    empty_end=" />",
    references={"\r": "&#13;", "\n": "&#10;", "\t": "&#09;"},  # ElementTree's
    typed_results=True,
    junit_xml_times=True,
)
_STEP_SPELLING = _Spelling(
    suite_head='  <testsuite name="{name}" tests="{tests}" failures="{failures}" errors="{errors}"'
    ' skipped="{skipped}" time="{time}"{timestamp}',
    time_before_classname=False,
    flaky='      <flakyFailure message="{message}" type="StepFailed"><stackTrace>{details}</stackTrace></flakyFailure>',
    empty_end="/>",
    references=TAB_REFERENCE,
    typed_results=False,
    junit_xml_times=False,
)


def render_junit(outcome: Outcome, *, layout: JunitLayout = JunitLayout.TEST, attachments: Attachments | None = None) -> str:
    """The whole JUnit document. ``attachments`` maps test run ids to relative evidence paths."""
    build = suites_by_run if layout is JunitLayout.STEP else suites_by_group_run
    suites = build(outcome, attachments=attachments or {})
    if not outcome.runs:
        suites = itertools.chain(suites, [no_runs_suite(outcome)])
    spelling = _STEP_SPELLING if layout is JunitLayout.STEP else _TEST_SPELLING
    # One pass over the finished document removes every XML-illegal character, wherever it came from.
    return xml_safe(_document(suites, spelling))


def _document(suites: Iterable[Testsuite], spelling: _Spelling) -> str:
    parts: list[str] = []
    tests = failures = errors = 0
    seconds = 0.0
    for suite in suites:
        xml, counts, suite_seconds = _suite_xml(suite, spelling)
        parts.append(xml)
        tests, failures, errors = tests + counts[0], failures + counts[1], errors + counts[2]
        seconds += suite_seconds
    head = (
        f'<testsuites name="{REPORT_NAME}" tests="{tests}" failures="{failures}"'
        f' errors="{errors}" time="{junit_seconds(seconds) or "0.000"}">'
    )
    return "\n".join([XML_DECLARATION + head, *parts, "</testsuites>\n"])


def _case_time(value: float | None, spelling: _Spelling) -> tuple[str | None, float]:
    """A testcase's ``time`` attribute (None: left out) and what it adds to its suite's time."""
    if spelling.junit_xml_times:
        if not value:
            return None, 0.0
        rounded = float(f"{value:f}")  # junit-xml writes "%f"; the suite's sum is taken over that text
        return junit_seconds(rounded) or "0.000", rounded
    if value is None:
        return None, 0.0
    return junit_seconds(value), value if math.isfinite(value) else 0.0


def _suite_xml(suite: Testsuite, spelling: _Spelling) -> tuple[str, tuple[int, int, int], float]:
    """The ``<testsuite>`` element, its (tests, failures, errors) and what it adds to the document's time."""
    elements = [c.result.element for c in suite.cases if c.result is not None]
    failures, errors = elements.count(ResultElement.FAILURE), elements.count(ResultElement.ERROR)
    lines = [""]  # the start tag, once the suite's time is known
    if suite.properties:
        end = spelling.empty_end
        lines.append("    <properties>")
        lines += [
            f'      <property name="{_attribute(k, spelling)}" value="{_attribute(v, spelling)}"{end}'
            for k, v in suite.properties.items()
        ]
        lines.append("    </properties>")
    classname = _attribute(suite.classname, spelling)
    total = 0.0
    for case in suite.cases:
        attribute, counted = _case_time(case.time, spelling)
        total += counted
        lines.append(_case_xml(case, attribute, classname, spelling))
    time = junit_seconds(total) or "0.000"
    head = spelling.suite_head.format(
        name=_attribute(suite.name, spelling), tests=len(suite.cases), failures=failures, errors=errors,
        skipped=elements.count(ResultElement.SKIPPED), time=time,
        timestamp=f' timestamp="{_attribute(suite.timestamp, spelling)}"' if suite.timestamp else "",
    )
    lines[0] = head + ">"
    if len(lines) == 1:
        return head + spelling.empty_end, (len(suite.cases), failures, errors), 0.0
    lines.append("  </testsuite>")
    added = float(time) if spelling.junit_xml_times else total
    return "\n".join(lines), (len(suite.cases), failures, errors), added


def _case_xml(case: Testcase, time: str | None, classname: str, spelling: _Spelling) -> str:
    name, time_attribute = _attribute(case.name, spelling), f' time="{time}"' if time else ""
    if spelling.time_before_classname:
        head = f'    <testcase name="{name}"{time_attribute} classname="{classname}"'
    else:
        head = f'    <testcase name="{name}" classname="{classname}"{time_attribute}'
    if case.result is None and not case.flaky and not case.evidence:
        # Most testcases are passed steps: write them in one go.
        if not case.out:
            return head + spelling.empty_end
        return f"{head}>\n      <system-out>{_text(case.out)}</system-out>\n    </testcase>"
    body: list[str] = []
    if case.result is not None:
        body.append(_result_xml(case.result, spelling))
    for message, details in case.flaky:
        body.append(spelling.flaky.format(message=_message(message, spelling), details=_text(details)))
    if case.out or case.evidence:
        out = "\n\n".join(p for p in (_text(case.out), xml_text(case.evidence)) if p)
        body.append(f"      <system-out>{out}</system-out>")
    if not body:
        return head + spelling.empty_end
    return "\n".join([head + ">", *body, "    </testcase>"])


def _result_xml(result: CaseResult, spelling: _Spelling) -> str:
    """``<failure>``, ``<error>`` or ``<skipped>`` with its type, message and text."""
    tag = result.element.value
    message = _message(result.message, spelling)
    if spelling.typed_results:
        type_ = "skipped" if result.element is ResultElement.SKIPPED else (result.type or tag)
        attributes = f' type="{_attribute(type_, spelling)}"' + (f' message="{message}"' if message else "")
    else:
        # Skips carry no type here: junit-xml's is always the meaningless "skipped".
        typed = result.type and result.element is not ResultElement.SKIPPED
        attributes = (f' type="{_attribute(result.type, spelling)}"' if typed else "") + f' message="{message}"'
    text = _text(result.text)
    return f"      <{tag}{attributes}" + (f">{text}</{tag}>" if text else spelling.empty_end)


def _attribute(text: str, spelling: _Spelling) -> str:
    """A name, property or type as the layout made it, escaped."""
    return xml_attribute(text, references=spelling.references)


def _message(text: str, spelling: _Spelling) -> str:
    """A message made one line and cut, then escaped."""
    return xml_attribute(attribute_text(text), references=spelling.references)


def _text(text: str) -> str:
    return xml_text(element_text(text))
