"""JUnit XML in both layouts: the structure CI tools read, valid against junit-10.xsd, with correct counts."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from gate.config import JunitLayout
from gate.outcome import Outcome
from gate.reports.junit import render_junit
from gate.reports.junit_text import MAX_ELEMENT_CHARS
from tests.support.outcomes import (
    GROUP_RUN,
    finished,
    interrupted_scenario,
    load,
    missing,
    mixed_scenario,
    outcome_of,
    seed_scenario,
    timed_out,
    variant,
)
from tests.support.render import assert_valid_junit, junit_counts

TEST, STEP = JunitLayout.TEST, JunitLayout.STEP
SEED_MESSAGE = (
    "Step 1 failed: Enter 'user@example.com' in the email field: "
    "The agent could not complete the objective because no email field was present on the page."
)


def _xml(outcome: Outcome, layout: JunitLayout = TEST, **kwargs: object) -> ET.Element:
    text = render_junit(outcome, layout=layout, **kwargs)  # type: ignore[arg-type]
    assert_valid_junit(text)
    junit_counts(text)
    return ET.fromstring(text.encode("utf-8"))


def _case(root: ET.Element, name: str, suite: str | None = None) -> ET.Element:
    scope = root if suite is None else next(s for s in root.iter("testsuite") if s.get("name") == suite)
    return next(c for c in scope.iter("testcase") if c.get("name") == name)


def _props(suite: ET.Element) -> dict[str, str | None]:
    return {p.get("name") or "": p.get("value") for p in suite.iter("property")}


# --- test layout ----------------------------------------------------------------------------------------


def test_seed_run_is_one_failed_testcase_in_its_group_run_suite() -> None:
    """The documented Login Flow run fails with the step, the agent's words, evidence and ids in the text."""
    root = _xml(seed_scenario())
    assert root.tag == "testsuites" and root.get("name") == "DocketQA"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "1", "0")
    (suite,) = root.iter("testsuite")
    assert suite.get("name") == "Manual Run 2025-07-03 01:38:03 (group run 35)"
    assert suite.get("timestamp") == "2025-07-03T01:38:03"
    assert _props(suite) == {"group_run_id": "35", "dashboard_url": "https://app.docketqa.com/dashboard/grouprun/35"}
    case = _case(root, "Login Flow")
    assert case.get("time") == "43.000"  # DocketQA's step durations added up
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "StepFailed" and failure.get("message") == SEED_MESSAGE
    text = failure.text or ""
    # GitLab shows only the element text: it must say everything on its own.
    assert text.startswith(SEED_MESSAGE)
    for expected in ("Test run: 38", "Blueprint: 180", "Starting URL: https://example.com/login", "Video: https://...",
                     "✗ 1. Enter 'user@example.com' in the email field · failed · 43s",
                     "     The agent could not complete the objective", "     Screenshot: https://...",
                     "– 2. Enter 'password123' in the password field · not reached"):
        assert expected in text


def test_each_verdict_gets_the_element_ci_tools_expect() -> None:
    """Failed, timed out, unknown status, missing run, allowed failure, flaky and passed runs side by side."""
    root = _xml(mixed_scenario())
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "1", "3")
    (suite,) = root.iter("testsuite")
    assert suite.get("skipped") == "1" and "disabled" not in suite.attrib and "disabled" not in root.attrib

    timeout = _case(root, "Monthly report export").find("error")
    assert timeout is not None and timeout.get("type") == "Timeout"
    assert timeout.get("message") == "still 'running' when the 30m deadline passed"

    unknown = _case(root, "Profile update").find("error")
    assert unknown is not None and unknown.get("type") == "RunError" and "'stopped'" in (unknown.get("message") or "")

    gone = _case(root, "Blueprint 185").find("error")
    assert gone is not None and gone.get("type") == "ApiError"
    assert gone.get("message") == "DocketQA returned no test run for blueprint 185"

    allowed = _case(root, "Legacy export")
    skipped = allowed.find("skipped")
    assert allowed.find("failure") is None and skipped is not None
    assert skipped.get("message") == f"allowed failure: {SEED_MESSAGE}"
    assert "✗ 1. Enter 'user@example.com'" in (skipped.text or "")


def test_flaky_run_passes_and_records_each_failed_attempt() -> None:
    """A run that passed on retry has no failure, and one flakyFailure naming the attempt and its failed step."""
    root = _xml(mixed_scenario())
    case = _case(root, "Search")
    assert case.find("failure") is None and case.find("error") is None
    (flaky,) = case.findall("flakyFailure")
    assert flaky.get("type") == "StepFailed"
    assert flaky.get("message") == (
        "Attempt 1 failed: Step 2 failed: Press Enter and wait for results: "
        "The results list did not appear within 30 seconds;"
    )
    trace = flaky.findtext("stackTrace") or ""
    assert "✗ 2. Press Enter and wait for results · failed · 34s" in trace and "the page showed a loading spinner." in trace
    assert "Video: https://media.docketqa.example/videos/40-attempt1.webm" in trace
    out = case.findtext("system-out") or ""
    # The run's video is the attempt that passed, not the failed first one.
    assert "Video: https://media.docketqa.example/videos/40-attempt2.webm" in out
    assert "Steps (attempt 2 of 2):" in out


def test_passed_run_has_its_ids_and_step_list_in_system_out() -> None:
    """A passing testcase still tells the reader which run it was and what each step did."""
    out = _case(_xml(mixed_scenario()), "Checkout").findtext("system-out") or ""
    for expected in ("Test run: 39", "Blueprint: 181", "Starting URL: https://shop.example.com/cart",
                     "Video: https://media.docketqa.example/videos/39.webm",
                     "✓ 3. Pay with the test card · passed · 31s", "     The order confirmation page shows order #1042."):
        assert expected in out


def test_cancelled_run_is_an_error_of_type_cancelled() -> None:
    """A run still going when the gate was interrupted reads as cancelled, not as failed."""
    error = _case(_xml(interrupted_scenario()), "Monthly report export").find("error")
    assert error is not None and error.get("type") == "Cancelled"
    assert error.get("message") == "still 'running' when the gate was stopped by SIGTERM"


def test_timeout_does_not_fail_the_report_when_fail_on_timeout_is_off() -> None:
    """With --no-fail-on-timeout a timed-out run is skipped with the reason, so the JUnit stays green too."""
    root = _xml(outcome_of(timed_out(load("running")), fail_on_timeout=False))
    case = _case(root, "Monthly report export")
    skipped = case.find("skipped")
    assert case.find("error") is None and skipped is not None
    assert (skipped.get("message") or "").startswith("timed out, not failing the gate (fail-on-timeout is off)")
    assert root.get("errors") == "0"


def test_runs_without_a_declared_group_run_get_their_own_suites() -> None:
    """Runs followed with `wait` are grouped by the group run id in their payload, else in one suite."""
    other = finished(variant("passing", id=90, test_group_run_id=77, title="Elsewhere"))
    orphan = finished(variant("passing", id=91, test_group_run_id=None, title="Orphan"))
    root = _xml(outcome_of(finished(load("passing")), other, orphan, group_runs=()))
    names = [s.get("name") for s in root.iter("testsuite")]
    assert names == ["DocketQA group run 35", "DocketQA group run 77", "DocketQA test runs"]
    assert _props(list(root.iter("testsuite"))[1])["dashboard_url"] == "https://app.docketqa.com/dashboard/grouprun/77"


def test_duplicate_titles_become_unique_testcase_names() -> None:
    """GitLab drops testcases with equal names, so equal titles are told apart by run id."""
    root = _xml(outcome_of(finished(load("passing")), finished(variant("passing", id=44))))
    assert [c.get("name") for c in root.iter("testcase")] == ["Checkout (run 39)", "Checkout (run 44)"]


def test_names_that_differ_only_by_illegal_characters_stay_unique() -> None:
    """Names are made unique after XML-illegal characters are removed, not before."""
    one = dataclasses.replace(finished(load("passing")), name="Checkout\x00")
    two = dataclasses.replace(finished(variant("passing", id=44)), name="Checkout")
    root = _xml(Outcome(runs=(one, two), group_runs=(GROUP_RUN,)))
    names = [c.get("name") for c in root.iter("testcase")]
    assert len(set(names)) == 2 and all("\x00" not in (n or "") for n in names)


def test_empty_outcome_is_not_green() -> None:
    """When nothing was followed the report holds one error, because the gate does not pass either."""
    for layout in JunitLayout:
        root = _xml(Outcome(runs=(), stop_reason="DocketQA rejected the API key (HTTP 401)"), layout)
        (case,) = root.iter("testcase")
        error = case.find("error")
        assert error is not None and error.get("type") == "NoRuns"
        assert error.get("message") == "DocketQA rejected the API key (HTTP 401)"


# --- step layout ----------------------------------------------------------------------------------------


def test_step_layout_has_a_suite_per_run_and_a_testcase_per_step() -> None:
    """Each run is a suite with its ids as properties; a failed step fails and later steps are not reached."""
    root = _xml(seed_scenario(), STEP)
    (suite,) = root.iter("testsuite")
    assert suite.get("name") == "Login Flow" and suite.get("timestamp") == "2025-07-03T01:38:03"
    assert _props(suite) == {
        "test_run_id": "38", "blueprint_id": "180", "status": "failed", "verdict": "failed",
        "starting_url": "https://example.com/login", "video_url": "https://...", "group_run_id": "35",
        "dashboard_url": "https://app.docketqa.com/dashboard/grouprun/35",
    }
    first, second = suite.findall("testcase")
    assert first.get("name") == "Step 01: Enter 'user@example.com' in the email field" and first.get("time") == "43.000"
    failure = first.find("failure")
    assert failure is not None and failure.get("message") == SEED_MESSAGE and failure.get("type") == "StepFailed"
    assert "Screenshot: https://..." in (failure.text or "") and "Test run: 38" in (failure.text or "")
    skipped = second.find("skipped")
    assert second.get("name") == "Step 02: Enter 'password123' in the password field"
    assert skipped is not None and skipped.get("message") == "not reached"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "1")


def test_step_layout_adds_a_run_testcase_when_steps_do_not_explain_the_status() -> None:
    """A failed run whose steps all passed, and a run without steps each get a run-level case; an unknown status
    whose step failed puts the run's error on that step (one error, as in the test layout)."""
    all_passed = variant("passing", id=50, status="failed", title="Failed without a failed step")
    root = _xml(outcome_of(finished(load("unknown_status")), finished(all_passed), timed_out(load("running")),
                           missing(185)), STEP)
    unknown = _case(root, "Step 02: Change the display name", suite="Profile update").find("error")
    assert unknown is not None and unknown.get("type") == "RunError"
    assert "Run result" not in [c.get("name") for c in root.iter("testcase") if c.get("classname") == "Profile update"]
    failed = _case(root, "Run result", suite="Failed without a failed step").find("failure")
    assert failed is not None and failed.get("type") == "RunFailed"
    assert failed.get("message") == "DocketQA reported the run failed, but every reported step succeeded"
    timeout = _case(root, "Run result", suite="Monthly report export").find("error")
    assert timeout is not None and timeout.get("type") == "Timeout"
    gone = _case(root, "Run result", suite="Blueprint 185").find("error")
    assert gone is not None and gone.get("type") == "ApiError"


def test_step_layout_failed_run_explained_by_its_step_has_no_extra_case() -> None:
    """When the failed step explains the failure, there is no duplicate run-level testcase."""
    root = _xml(seed_scenario(), STEP)
    assert "Run result" not in [c.get("name") for c in root.iter("testcase")]


def test_step_layout_records_flaky_failures_on_the_step_that_failed() -> None:
    """The retried step passes and carries the earlier attempt's failure."""
    root = _xml(mixed_scenario(), STEP)
    step2 = _case(root, "Step 02: Press Enter and wait for results", suite="Search")
    assert step2.find("failure") is None
    (flaky,) = step2.findall("flakyFailure")
    assert (flaky.get("message") or "").startswith("Attempt 1 failed: Step 2 failed")


def test_step_layout_allowed_failure_is_skipped_not_failed() -> None:
    """A quarantined run's failed step is skipped with the reason, so the build is not marked failed."""
    root = _xml(mixed_scenario(), STEP)
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "Legacy export")
    assert suite.get("failures") == "0" and suite.get("skipped") == "2"
    skipped = _case(root, "Step 01: Enter 'user@example.com' in the email field", suite="Legacy export").find("skipped")
    assert skipped is not None and skipped.get("message") == f"allowed failure: {SEED_MESSAGE}"


def test_step_numbers_are_padded_to_sort_well() -> None:
    """Step names sort in order in CI tools: two digits at least, more when a run has more steps."""
    payload = load("passing")
    payload["test_run"]["results"] = [
        {"step_number": n, "task": f"t{n}", "is_successful": True, "result": "ok", "duration": 1, "actions": []}
        for n in range(1, 101)
    ]
    names = [c.get("name") for c in _xml(outcome_of(finished(payload)), STEP).iter("testcase")]
    assert names[0] == "Step 001: t1" and names[-1] == "Step 100: t100"


# --- evidence, size, characters -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(JunitLayout))
def test_attachments_go_on_the_failing_testcase(layout: JunitLayout) -> None:
    """Downloaded evidence is referenced as [[ATTACHMENT|path]] lines where GitLab and Jenkins look."""
    root = _xml(seed_scenario(), layout, attachments={38: ["docketqa-artifacts/38/step-1.png", "docketqa-artifacts/38/video.webm"]})
    failing = next(c for c in root.iter("testcase") if c.find("failure") is not None)
    out = failing.findtext("system-out") or ""
    assert "[[ATTACHMENT|docketqa-artifacts/38/step-1.png]]\n[[ATTACHMENT|docketqa-artifacts/38/video.webm]]" in out


@pytest.mark.parametrize("layout", list(JunitLayout))
def test_data_cannot_forge_an_attachment(layout: JunitLayout) -> None:
    """An [[ATTACHMENT|...]] marker inside DocketQA text is broken up; only the gate's own markers remain."""
    payload = load("seed_login_flow")
    payload["test_run"]["results"][0]["result"] = "[[ATTACHMENT|/etc/passwd]]\n[[ attachment |../../secret]]"
    payload["test_run"]["blueprint_metadata"]["starting_url"] = "[[ATTACHMENT|/root/.ssh/id_rsa]]"
    text = render_junit(outcome_of(finished(payload)), layout=layout, attachments={38: ["evidence/38.png"]})
    assert text.count("[[ATTACHMENT|") == 1 and "[[ATTACHMENT|evidence/38.png]]" in text
    assert "[[ attachment |" not in text


@pytest.mark.parametrize("layout", list(JunitLayout))
def test_huge_texts_are_cut_with_a_marker_and_small_ones_never(layout: JunitLayout) -> None:
    """A 1 MB agent result is cut beyond 64 KB with a visible marker; a 60 KB one is kept whole."""
    big, fine = load("seed_login_flow"), variant("seed_login_flow", id=39, title="Fine")
    big["test_run"]["results"][0]["result"] = "start " + "x" * 1_000_000
    fine["test_run"]["results"][0]["result"] = "y" * 60_000 + " end"
    root = _xml(outcome_of(finished(big), finished(fine)), layout)
    texts = [f.text or "" for f in root.iter("failure")]
    cut = next(t for t in texts if "start x" in t)
    assert MAX_ELEMENT_CHARS <= len(cut) + 200 and len(cut) <= MAX_ELEMENT_CHARS + 200
    assert "more characters cut; the full text is on the DocketQA dashboard]" in cut
    assert any("y" * 60_000 + " end" in t for t in texts)


@pytest.mark.parametrize("layout", list(JunitLayout))
def test_xml_illegal_characters_in_data_are_removed(layout: JunitLayout) -> None:
    """NUL, controls, lone surrogates and U+FFFE in titles, tasks and results still give a parseable report."""
    payload = load("seed_login_flow")
    payload["test_run"]["blueprint_metadata"]["title"] = "Log\x00in\ud800 \ufffe]]></testcase>"
    payload["test_run"]["results"][0]["task"] = "Enter\x1b[31m the\x0b email"
    payload["test_run"]["results"][0]["result"] = "bad\x00\x01\x02\udfff text\r\nnext line"
    root = _xml(outcome_of(finished(payload)), layout)
    names = [c.get("name") for c in root.iter("testcase")] + [s.get("name") for s in root.iter("testsuite")]
    assert "Login ]]></testcase>" in names
    failure = next(root.iter("failure"))
    assert "bad text" in (failure.text or "")


def test_tiny_and_huge_durations_stay_schema_valid() -> None:
    """Durations junit-xml would print as 1e-05 (or inf) are written as plain decimals, or left out."""
    payload = load("passing")
    payload["test_run"]["updated_at"] = "2025-07-03T01:38:03.041211+00:00"
    payload["test_run"]["results"][0]["duration"] = 1e-7
    payload["test_run"]["results"][1]["duration"] = 1e400
    for layout in JunitLayout:
        root = _xml(outcome_of(finished(payload)), layout)
        times = [e.get("time") for e in root.iter() if e.get("time") is not None]
        assert all("e" not in (t or "") and "inf" not in (t or "") for t in times), times


@pytest.mark.parametrize("layout", list(JunitLayout))
def test_a_tab_in_a_message_reaches_the_reader_as_a_tab(layout: JunitLayout) -> None:
    """Tabs in attribute values are written as character references, so parsers do not turn them into spaces."""
    payload = load("seed_login_flow")
    payload["test_run"]["results"][0]["result"] = "expected\t42\tgot\t0"
    failure = next(_xml(outcome_of(finished(payload)), layout).iter("failure"))
    assert "expected\t42\tgot\t0" in (failure.get("message") or "")


# --- for other consumers (issue 10) -------------------------------------------------------------------------


def test_every_step_line_has_a_word_beside_its_mark() -> None:
    """Consumers that strip ✓/✗ (mikepenz/action-junit-report) still read passed, failed and not reached."""
    text = render_junit(mixed_scenario(), layout=TEST)
    step_lines = [line for line in text.splitlines() if line[:2] in ("✓ ", "✗ ", "– ")]
    assert step_lines
    for line in step_lines:
        word = {"✓": "· passed", "✗": "· failed", "–": "· not reached"}[line[0]]
        assert word in line, line


@pytest.mark.parametrize("layout", [TEST, STEP])
def test_a_failing_testcase_carries_the_run_header_once(layout: JunitLayout) -> None:
    """Test run, blueprint, status, URL and video are in the failure text (all GitLab shows), not again in
    system-out, which keeps only the evidence markers."""
    outcome = mixed_scenario()
    root = _xml(outcome, layout, attachments={38: ["docketqa-artifacts/38-login-flow/video.webm"]})
    for case in root.iter("testcase"):
        whole = "".join(case.itertext())
        assert whole.count("Test run: ") <= 1 and whole.count("Starting URL: ") <= 1, case.get("name")
    login = next(c for c in root.iter("testcase") if c.find("failure") is not None and "Test run: 38" in
                 (c.find("failure").text or ""))  # type: ignore[union-attr]  # fmt: skip
    assert (login.findtext("system-out") or "").strip() == "[[ATTACHMENT|docketqa-artifacts/38-login-flow/video.webm]]"


def test_a_stopped_run_counts_the_same_in_both_layouts() -> None:
    """A run in an unknown final status ('stopped', failed step 2) is one error in the test and the step layout."""
    outcome = outcome_of(finished(load("unknown_status")))
    counts = {}
    for layout in (TEST, STEP):
        root = _xml(outcome, layout)
        counts[layout] = (root.get("failures"), root.get("errors"))
    assert counts[TEST] == counts[STEP] == ("0", "1")
