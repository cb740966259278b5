"""The JSON result: every documented field, right counts and verdicts, always encodable."""

from __future__ import annotations

import json

from gate.outcome import Outcome
from gate.reports.result_json import SCHEMA_VERSION, render_json
from tests.support.outcomes import (
    finished,
    hostile_scenario,
    interrupted_scenario,
    load,
    mixed_scenario,
    outcome_of,
    seed_scenario,
)

RUN_FIELDS = {
    "name", "test_run_id", "blueprint_id", "title", "status", "verdict", "allowed_failure", "flaky", "problem",
    "api_problem", "group_run_id", "dashboard_url", "starting_url", "created_at", "updated_at", "duration_s",
    "duration_source",
    "video_url", "video_download_url", "attempts", "failed_attempts", "failed_step", "steps", "final", "carried_over",
}


def _roundtrip(outcome: Outcome) -> dict:  # type: ignore[type-arg]
    """As written by the gate: UTF-8 JSON, read back by a strict parser."""
    text = json.dumps(render_json(outcome), indent=2, ensure_ascii=False, allow_nan=False)
    return json.loads(text.encode("utf-8"))  # type: ignore[no-any-return]


def test_top_level_fields_and_counts() -> None:
    """Verdict, exit code, counts and group runs match what the gate decided."""
    data = _roundtrip(mixed_scenario())
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert (data["verdict"], data["exit_code"], data["elapsed_s"], data["stop_reason"]) == ("failed", 1, 252.0, None)
    assert data["counts"] == {
        "total": 7, "passed": 2, "failed": 1, "errors": 2, "timed_out": 1, "cancelled": 0,
        "allowed_failures": 1, "flaky": 1,
    }
    assert data["group_runs"] == [{
        "id": 35, "name": "Manual Run 2025-07-03 01:38:03", "created_at": "2025-07-03T01:38:03.020496+00:00",
        "dashboard_url": "https://app.docketqa.com/dashboard/grouprun/35", "earlier_attempt": False,
    }]
    assert (data["commit"], data["api_url"]) == (None, None)  # set by the gate from its environment and config
    assert [r["final"] for r in data["runs"]] == [True, True, True, False, True, True, False]
    assert not any(r["carried_over"] for r in data["runs"])
    assert [r["verdict"] for r in data["runs"]] == ["failed", "passed", "passed", "timed_out", "error", "failed", "error"]
    assert all(set(r) == RUN_FIELDS for r in data["runs"])


def test_failed_run_in_full() -> None:
    """The seed run: raw status, failed step, steps with states, evidence URLs, duration."""
    (run,) = _roundtrip(seed_scenario())["runs"]
    assert run["name"] == run["title"] == "Login Flow"
    assert (run["test_run_id"], run["blueprint_id"], run["group_run_id"]) == (38, 180, 35)
    assert (run["status"], run["verdict"], run["allowed_failure"], run["flaky"]) == ("failed", "failed", False, False)
    assert run["problem"].startswith("Step 1 failed: Enter 'user@example.com' in the email field: The agent could not")
    assert run["duration_s"] == 43.0 and run["attempts"] == 1 and run["failed_attempts"] == []
    assert run["video_url"] == "https://..." and run["starting_url"] == "https://example.com/login"
    assert run["failed_step"] == {
        "number": 1, "task": "Enter 'user@example.com' in the email field",
        "result": "The agent could not complete the objective because no email field was present on the page.",
    }
    assert run["steps"] == [
        {"number": 1, "task": "Enter 'user@example.com' in the email field", "state": "failed", "successful": False,
         "duration_s": 43.0, "result": run["failed_step"]["result"], "screenshot_urls": ["https://..."]},
        {"number": 2, "task": "Enter 'password123' in the password field", "state": "not_reached", "successful": False,
         "duration_s": 0.0, "result": "Step not completed", "screenshot_urls": []},
    ]


def test_flaky_run_lists_its_failed_attempts() -> None:
    """A run that passed on retry says how many attempts it took and why the earlier ones failed."""
    run = next(r for r in _roundtrip(mixed_scenario())["runs"] if r["name"] == "Search")
    assert (run["verdict"], run["flaky"], run["attempts"], run["failed_step"]) == ("passed", True, 2, None)
    assert run["video_url"] == "https://media.docketqa.example/videos/40-attempt2.webm"
    (attempt,) = run["failed_attempts"]
    assert attempt["number"] == 1 and attempt["failed_step"]["number"] == 2
    assert attempt["video_url"] == "https://media.docketqa.example/videos/40-attempt1.webm"
    assert attempt["reason"].startswith("Attempt 1 failed: Step 2 failed: Press Enter and wait for results")
    assert [s["state"] for s in run["steps"]] == ["passed", "passed"]


def test_runs_without_payload_and_unfinished_runs() -> None:
    """A missing run has nulls, not invented values; an unfinished run has no duration."""
    runs = {r["name"]: r for r in _roundtrip(mixed_scenario())["runs"]}
    missing = runs["Blueprint 185"]
    assert (missing["test_run_id"], missing["status"], missing["api_problem"], missing["steps"]) == (None, None, True, [])
    assert missing["group_run_id"] == 35 and missing["problem"] == "DocketQA returned no test run for blueprint 185"
    slow = runs["Monthly report export"]
    assert (slow["status"], slow["verdict"], slow["duration_s"]) == ("running", "timed_out", None)
    assert runs["Legacy export"]["allowed_failure"] is True


def test_interrupted_outcome_records_why() -> None:
    data = _roundtrip(interrupted_scenario())
    assert (data["verdict"], data["exit_code"]) == ("cancelled", 143)
    assert data["stop_reason"].startswith("interrupted by SIGTERM")
    assert data["counts"]["cancelled"] == 1


def test_hostile_values_stay_encodable_and_urls_are_http_only() -> None:
    """Lone surrogates become U+FFFD (UTF-8 can be written) and javascript:/data: URLs become null."""
    data = _roundtrip(hostile_scenario())
    run = data["runs"][0]
    assert "\ufffd" in run["title"] and "\ud800" not in run["title"]
    assert run["video_url"] is None and run["video_download_url"] == "https://evil.example/v.webm) [x](javascript:alert(1)"
    shots = run["steps"][10]["screenshot_urls"]
    assert shots == ["https://evil.example/x.png?a=1&b=<2>|3)\"'`", "HTTPS://media.docketqa.example/s/11 final.png"]


def test_infinite_durations_are_null() -> None:
    """JSON has no Infinity: a nonsense duration from the API is written as null."""
    payload = load("passing")
    payload["test_run"]["results"][0]["duration"] = 1e400
    (run,) = _roundtrip(outcome_of(finished(payload)))["runs"]
    assert run["steps"][0]["duration_s"] is None


def test_empty_outcome_is_an_error_with_no_runs() -> None:
    data = _roundtrip(Outcome(runs=()))
    assert (data["verdict"], data["exit_code"], data["runs"], data["counts"]["total"]) == ("error", 4, [], 0)


def test_each_run_says_where_its_duration_came_from() -> None:
    """``duration_source`` is ``steps`` (DocketQA's step durations added up) or ``timestamps``."""
    import json

    from gate.reports.result_json import render_json_text
    from tests.support.outcomes import finished, load, outcome_of

    document = json.loads(render_json_text(outcome_of(finished(load("seed_login_flow")))))
    (run,) = document["runs"]
    assert (run["duration_s"], run["duration_source"]) == (43.0, "steps")
