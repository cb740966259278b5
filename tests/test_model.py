"""The model: defensive parsing of DocketQA payloads and the pure verdict rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from gate.errors import ExitCode, MalformedResponse
from gate.model import StepState, Verdict, judge_run, parse_api_time
from gate.naming import unique_names
from gate.outcome import Outcome, RunOutcome, decide, run_outcome
from gate.payload import parse_test_run_response
from tests.support.paths import FIXTURES

SEED = FIXTURES / "model_seed_login_flow.json"


def seed() -> dict[str, Any]:
    return json.loads(SEED.read_text(encoding="utf-8"))


def test_seed_example_parses_into_a_failed_run_with_the_first_step_failing() -> None:
    """The documented Login Flow example fails at step 1 and step 2 is marked not reached."""
    run = parse_test_run_response(seed())
    assert (run.id, run.status, run.blueprint_id, run.group_run_id) == (38, "failed", 180, 35)
    assert run.title == "Login Flow"
    assert [s.state for s in run.steps] == [StepState.FAILED, StepState.NOT_REACHED]
    verdict, problem = judge_run(run)
    assert verdict is Verdict.FAILED
    assert problem == (
        "Step 1 failed: Enter 'user@example.com' in the email field: The agent could not complete the objective "
        "because no email field was present on the page."
    )
    assert run.duration_s == 43.0  # its step durations (43 + 0), not created_at to updated_at (122 s)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("id"), "test run has no integer 'id' (got null)"),
        (lambda r: r.update(id="38"), "test run has no integer 'id' (got str)"),
        (lambda r: r.update(id=True), "test run has no integer 'id' (got bool)"),
        (lambda r: r.update(status=5), "test run 38 has no string 'status' (got int)"),
        (lambda r: r.update(results="x"), "test run 38 has 'results' of type str, expected a list"),
    ],
)
def test_wrongly_typed_key_fields_are_malformed_with_a_clear_message(mutate: Any, message: str) -> None:
    """A run without a usable id, status or results list is rejected with one line naming the field."""
    body = seed()
    mutate(body["test_run"])
    with pytest.raises(MalformedResponse) as info:
        parse_test_run_response(body)
    assert str(info.value) == message


def test_non_object_body_is_malformed() -> None:
    """A list or string where a run object belongs is reported, not crashed on."""
    with pytest.raises(MalformedResponse, match="expected a test run object, got list"):
        parse_test_run_response([1, 2])


def test_optional_fields_of_the_wrong_type_are_tolerated() -> None:
    """Undocumented shapes (untyped actions, null metadata, odd step fields) never break parsing."""
    body = seed()
    run = body["test_run"]
    run["blueprint_metadata"] = None
    run["results"][0].update(actions=[{}, "junk"], duration="43", task=None, is_successful="no")
    parsed = parse_test_run_response(body)
    assert parsed.title is None
    assert parsed.steps[0].task == "" and parsed.steps[0].duration_s is None
    assert parsed.steps[0].state is StepState.FAILED  # unknown success on a failed run fails closed


def test_unknown_final_status_is_an_error_that_never_passes() -> None:
    """A status such as 'stopped' is final, shown raw, and blocks the gate with exit 1."""
    body = seed()
    body["test_run"]["status"] = "Stopped"
    run = parse_test_run_response(body)
    assert run.is_final
    verdict, problem = judge_run(run)
    assert verdict is Verdict.ERROR
    assert problem is not None and "'stopped'" in problem
    outcome = Outcome(runs=(RunOutcome(name="x", verdict=verdict, test_run_id=38, blueprint_id=180, run=run),))
    assert decide(outcome) == (Verdict.FAILED, ExitCode.FAILED)


@pytest.mark.parametrize("status", ["running", "queued", "pending", "in_progress", "started", "created"])
def test_pending_statuses_are_not_final(status: str) -> None:
    """Every documented or likely in-progress status keeps the gate polling."""
    body = seed()
    body["test_run"]["status"] = status
    assert not parse_test_run_response(body).is_final


def test_failed_run_without_results_still_fails_with_an_explanation() -> None:
    """`results: null` on a failed run is a failure with a line saying no steps were returned."""
    body = seed()
    body["test_run"]["results"] = None
    verdict, problem = judge_run(parse_test_run_response(body))
    assert verdict is Verdict.FAILED
    assert problem == "DocketQA reported the run failed and returned no step results"


def test_passed_after_a_failed_attempt_is_flaky_and_reports_the_passing_attempt() -> None:
    """With additional_attempts, a passed run is flaky and its steps are those of the passing attempt."""
    body = seed()
    run = body["test_run"]
    retry = copy.deepcopy(run["results"])
    for step in retry:
        step.update(is_successful=True, result="done", duration=5)
    run.update(status="passed", additional_attempts=[{"results": retry, "test_video_url": "https://v/2.webm"}])
    parsed = parse_test_run_response(body)
    assert [a.number for a in parsed.failed_attempts] == [1]
    assert all(s.state is StepState.PASSED for s in parsed.steps)
    outcome = RunOutcome(name="Login", verdict=Verdict.PASSED, test_run_id=38, blueprint_id=180, run=parsed)
    assert outcome.flaky


def _outcome(*verdicts: Verdict, api: bool = False, allowed: bool = False, fail_on_timeout: bool = True) -> Outcome:
    runs = tuple(
        RunOutcome(name=f"r{i}", verdict=v, test_run_id=i, blueprint_id=i, api_problem=api, allowed_failure=allowed)
        for i, v in enumerate(verdicts)
    )
    return Outcome(runs=runs, fail_on_timeout=fail_on_timeout)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (_outcome(Verdict.PASSED, Verdict.PASSED), (Verdict.PASSED, ExitCode.PASSED)),
        (_outcome(Verdict.PASSED, Verdict.FAILED), (Verdict.FAILED, ExitCode.FAILED)),
        (_outcome(Verdict.ERROR, api=True), (Verdict.ERROR, ExitCode.API)),
        (_outcome(Verdict.TIMED_OUT), (Verdict.TIMED_OUT, ExitCode.TIMED_OUT)),
        (_outcome(Verdict.TIMED_OUT, fail_on_timeout=False), (Verdict.PASSED, ExitCode.PASSED)),
        (_outcome(Verdict.FAILED, allowed=True), (Verdict.PASSED, ExitCode.PASSED)),
        (_outcome(), (Verdict.ERROR, ExitCode.API)),
    ],
)
def test_decide_maps_run_verdicts_to_the_documented_exit_codes(outcome: Outcome, expected: tuple) -> None:
    """0 passed, 1 failed, 4 API error, 3 timed out (unless not failing on timeout); quarantine never blocks."""
    assert decide(outcome) == expected


def test_decide_precedence_is_failed_then_api_error_then_timeout() -> None:
    """When several apply, 1 wins over 4, and 4 over 3."""
    mixed = Outcome(
        runs=(
            RunOutcome(name="a", verdict=Verdict.TIMED_OUT, test_run_id=1, blueprint_id=1),
            RunOutcome(name="b", verdict=Verdict.ERROR, test_run_id=2, blueprint_id=2, api_problem=True),
        )
    )
    assert decide(mixed)[1] is ExitCode.API
    failing = Outcome(runs=mixed.runs + (RunOutcome(name="c", verdict=Verdict.FAILED, test_run_id=3, blueprint_id=3),))
    assert decide(failing)[1] is ExitCode.FAILED


def test_interrupted_outcome_exits_with_the_signal_code() -> None:
    """An outcome stopped by SIGTERM exits 143 and reads as cancelled."""
    outcome = Outcome(runs=_outcome(Verdict.PASSED).runs, interrupted_exit=ExitCode.SIGTERM)
    assert decide(outcome) == (Verdict.CANCELLED, ExitCode.SIGTERM)


def test_unique_names_disambiguates_duplicate_titles_by_run_id() -> None:
    """Duplicate titles get the run id so GitLab keeps every testcase."""
    assert unique_names([("Login", 1), ("Login", 2), ("Cart", 3)]) == ["Login (run 1)", "Login (run 2)", "Cart"]


def test_run_outcome_judges_a_final_run_and_names_it_by_configured_name_title_or_id() -> None:
    """A configured name wins over the title; a run with no payload is named by its blueprint, else its run id."""
    run = parse_test_run_response(seed())
    judged = run_outcome(run)
    assert (judged.name, judged.verdict, judged.test_run_id, judged.blueprint_id) == ("Login Flow", Verdict.FAILED, 38, 180)
    assert judged.problem == judge_run(run)[1]
    assert run_outcome(run, name="Sign in").name == "Sign in"
    assert run_outcome(None, verdict=Verdict.ERROR, blueprint_id=185).name == "Blueprint 185"
    assert run_outcome(None, verdict=Verdict.TIMED_OUT, test_run_id=41).name == "Test run 41"
    with pytest.raises(ValueError, match="needs a verdict"):
        run_outcome(None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-07-03T01:38:03.020496Z", "2025-07-03T01:38:03.020496+00:00"),
        ("2025-07-03T03:38:03+02:00", "2025-07-03T03:38:03+02:00"),
        ("2025-07-03T01:38:03", "2025-07-03T01:38:03+00:00"),  # no offset: DocketQA means UTC
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_api_times_parse_with_utc_as_the_default_offset(text: str | None, expected: str | None) -> None:
    """One parser reads every DocketQA time; what does not parse is None, never an exception."""
    parsed = parse_api_time(text)
    assert (parsed.isoformat() if parsed else None) == expected


def _timed_run(durations: list[object]) -> dict:
    body = seed()
    body["test_run"]["created_at"] = "2025-07-03T01:38:03.000000+00:00"
    body["test_run"]["updated_at"] = "2025-07-03T01:38:03.500000+00:00"  # 0.5 s: what a time-scaled sandbox shows
    body["test_run"]["results"] = [
        {"step_number": n, "task": f"Step task {n}", "is_successful": True, "result": "ok", "duration": d}
        for n, d in enumerate(durations, start=1)
    ]
    return body


def test_a_runs_duration_is_docketqas_own_step_durations_added_up() -> None:
    """DocketQA gives no run duration: its step durations (11 + 8 + 27 s) are the run's 46 s, not the 0.5 s
    between created_at and updated_at; the run says which it used."""
    from gate.reports.run_text import duration_source

    run = parse_test_run_response(_timed_run([11, 8, 27]))
    assert (run.duration_s, duration_source(run)) == (46.0, "steps")


def test_without_step_durations_the_timestamps_give_the_duration() -> None:
    """Steps without durations: the time from created_at to updated_at, and the run says so."""
    from gate.reports.run_text import duration_source

    run = parse_test_run_response(_timed_run([None, None]))
    assert (run.duration_s, duration_source(run)) == (0.5, "timestamps")
