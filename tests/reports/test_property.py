"""Every renderer under hostile and arbitrary input: schema-valid XML, sound Markdown, encodable JSON, no raise."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.config import JunitLayout
from gate.errors import MalformedResponse
from gate.outcome import GroupRun, Outcome, RunOutcome
from gate.payload import parse_test_run_response
from gate.reports.comment import MAX_COMMENT_CHARS, CommentContext, comment_size, marker, render_comment
from gate.reports.junit import render_junit
from gate.reports.result_json import render_json
from gate.reports.summary import render_summary
from tests.support.outcomes import FIXTURES, finished, load, missing, outcome_of, timed_out
from tests.support.render import (
    assert_only_our_html,
    assert_valid_junit,
    junit_counts,
    render_markdown,
)

COMMENT = CommentContext(key="e2e", updated_at=dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.timezone.utc),
                         commit="a1b2c3d", run_url="https://github.com/octo/app/actions/runs/1")
CORPUS: list[str] = json.loads((FIXTURES / "hostile_corpus.json").read_text(encoding="utf-8"))


def _check_all(outcome: Outcome, *, limit_bytes: int = 1_000_000) -> str:
    """Render everything; assert what must hold for any input; return the summary."""
    for layout in JunitLayout:
        xml = render_junit(outcome, layout=layout, attachments={r.test_run_id: ["evidence/x.png"] for r in outcome.runs
                                                               if r.test_run_id is not None})
        assert_valid_junit(xml)
        totals, _ = junit_counts(xml)
        if layout is JunitLayout.TEST:
            assert totals["tests"] == max(1, len(outcome.runs))
    data = render_json(outcome)
    json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert len(data["runs"]) == len(outcome.runs)
    summary = render_summary(outcome, limit_bytes=limit_bytes)
    assert len(summary.encode("utf-8")) <= limit_bytes
    parsed = assert_only_our_html(render_markdown(summary, unsafe=True))
    for table in parsed.tables:
        assert table[0] == ["Test", "Result", "Failed step", "Duration", "Links"]
        assert all(len(row) == 5 for row in table)
    if outcome.runs and limit_bytes >= 1_000_000:
        (table,) = parsed.tables
        assert len(table) == len(outcome.runs) + 1
    _check_comment(outcome)
    return summary


def _check_comment(outcome: Outcome) -> None:
    """The pull-request comment: under GitHub's limit, our marker first, then only the summary's own HTML."""
    comment = render_comment(outcome, COMMENT)
    assert comment_size(comment) <= MAX_COMMENT_CHARS
    first, body = comment.split("\n", 1)
    assert first == marker("e2e") and "<!--" not in render_markdown(body, unsafe=True)
    story = body.rsplit("\n---\n", 1)[0]  # the footer is the gate's own links and commit
    for table in assert_only_our_html(render_markdown(story, unsafe=True)).tables:
        assert all(len(row) == 5 for row in table)


# --- the hostile corpus (issue 5: at least 25 cases) -----------------------------------------------------


def _everywhere(text: str) -> dict[str, Any]:
    """The seed payload with ``text`` as title, task, result, action description and every URL."""
    payload = copy.deepcopy(load("seed_login_flow"))
    run = payload["test_run"]
    run["blueprint_metadata"]["title"] = text
    run["blueprint_metadata"]["starting_url"] = text
    run["test_video_url"] = text
    run["test_video_download_url"] = "https://media.example/" + text
    step = run["results"][0]
    step["task"] = text
    step["result"] = f"{text}\n{text}"
    step["actions"] = [{"description": text, "type": text, "screenshot_url": text},
                       {"description": text, "screenshot_url": "https://media.example/" + text}]
    run["results"][1]["task"] = text
    return payload


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 25


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_hostile_text_everywhere_keeps_every_report_sound(text: str) -> None:
    """Each hostile string in every field: JUnit valid, summary table intact with no raw HTML, JSON encodable."""
    flaky = _everywhere(text)
    flaky["test_run"].update(id=39, status="passed", additional_attempts=[
        {"status": text, "results": flaky["test_run"]["results"], "test_video_url": text},
        {"status": "passed", "results": [], "test_video_url": "https://media.example/" + text},
    ])
    outcome = outcome_of(
        finished(_everywhere(text)),
        finished(copy.deepcopy(flaky)),
        stop_reason=text,
        group_runs=(GroupRun(id=35, name=text, created_at=text),),
    )
    summary = _check_all(outcome)
    assert "<script" not in render_markdown(summary)


def test_a_one_megabyte_result_keeps_reports_sound_and_bounded() -> None:
    """A 1 MB agent result is cut in JUnit, quoted in the summary under the limit, and kept whole in JSON."""
    payload = load("seed_login_flow")
    payload["test_run"]["results"][0]["result"] = ("x" * 99 + "\n") * 10_000
    outcome = outcome_of(finished(payload))
    _check_all(outcome)
    assert len(render_junit(outcome)) < 200_000
    assert len(render_json(outcome)["runs"][0]["steps"][0]["result"]) == 1_000_000


def test_five_thousand_steps_keep_reports_sound() -> None:
    """A run with 5,000 steps renders valid JUnit in both layouts and a summary within GitHub's limit."""
    payload = load("seed_login_flow")
    steps = [
        {"step_number": n, "task": f"Step task {n} | `x`", "is_successful": True, "result": f"Result {n} <b>ok</b>",
         "duration": 1, "actions": [{"description": "click", "screenshot_url": f"https://media.example/{n}.png"}]}
        for n in range(1, 5001)
    ]
    steps[-1]["is_successful"] = False
    payload["test_run"]["results"] = steps
    outcome = outcome_of(finished(payload))
    summary = _check_all(outcome)
    assert "step 5000 failed" in summary and "**Failed step 5000:**" in summary
    xml = render_junit(outcome, layout=JunitLayout.STEP)
    assert xml.count("<testcase ") == 5000 and 'name="Step 5000: Step task 5000 | `x`"' in xml


# --- arbitrary payloads (hypothesis) -----------------------------------------------------------------------

_chars = st.characters(blacklist_categories=())  # every code point, lone surrogates and controls included
texts = st.one_of(
    st.text(_chars, max_size=30),
    st.sampled_from(CORPUS),
    st.lists(st.sampled_from(CORPUS), max_size=3).map(" ".join),
)
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=5,
)
urls = st.one_of(st.none(), texts, st.sampled_from(["javascript:alert(1)", "data:x", "https://x.example/a b|c)"]),
                 texts.map(lambda t: "https://media.example/" + t))
steps = st.fixed_dictionaries(
    {},
    optional={
        "step_number": st.integers(-5, 10**6) | junk,
        "task": texts | junk,
        "is_successful": st.booleans() | junk,
        "result": texts | junk,
        "duration": st.floats(allow_nan=True) | st.integers() | junk,
        "actions": st.lists(st.fixed_dictionaries({}, optional={"description": texts, "screenshot_url": urls,
                                                                   "type": texts})) | junk,
    },
)
attempts = st.fixed_dictionaries(
    {}, optional={"status": texts | junk, "results": st.lists(steps, max_size=4) | junk, "test_video_url": urls}
)
payloads = st.fixed_dictionaries(
    {"id": st.integers(1, 10**9) | junk},
    optional={
        "status": st.sampled_from(["passed", "failed", "running", "stopped", "error", "PASSED "]) | texts | junk,
        "test_blueprint_id": st.integers(-3, 10**9) | junk,
        "test_group_run_id": st.integers(1, 50) | junk,
        "blueprint_metadata": st.fixed_dictionaries({}, optional={"title": texts | junk, "starting_url": urls,
                                                                  "id": st.integers() | junk}) | junk,
        "results": st.lists(steps, max_size=5) | junk,
        "additional_attempts": st.lists(attempts, max_size=3) | junk,
        "test_video_url": urls,
        "test_video_download_url": urls,
        "created_at": st.sampled_from(["2025-07-03T01:38:03.032648+00:00", "2025-07-03T01:40:05Z", "yesterday"]) | texts,
        "updated_at": st.sampled_from(["2025-07-03T01:40:05.043914+00:00", "1999-01-01T00:00:00"]) | texts,
    },
).map(lambda run: {"test_run": run})


def _run_outcome(payload: dict[str, Any], *, allowed: bool, blueprint_id: int) -> RunOutcome:
    """What the core makes of a payload: a judged run, a timed-out one, or an API error when it is unusable."""
    try:
        run = parse_test_run_response(payload)
    except MalformedResponse:
        return missing(blueprint_id)
    outcome = timed_out(payload) if not run.is_final else finished(payload, allowed_failure=allowed)
    return outcome


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    runs=st.lists(st.tuples(payloads, st.booleans()), max_size=4),
    stop_reason=st.none() | texts,
    fail_on_timeout=st.booleans(),
    group_name=st.none() | texts,
)
def test_any_payloads_render_sound_reports(
    runs: list[tuple[dict[str, Any], bool]], stop_reason: str | None, fail_on_timeout: bool, group_name: str | None
) -> None:
    """Whatever DocketQA returns, every renderer succeeds with valid XML, sound Markdown and encodable JSON."""
    outcome = outcome_of(
        *[_run_outcome(p, allowed=a, blueprint_id=i) for i, (p, a) in enumerate(runs)],
        stop_reason=stop_reason,
        fail_on_timeout=fail_on_timeout,
        group_runs=(GroupRun(id=35, name=group_name),),
    )
    _check_all(outcome)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(runs=st.lists(payloads, min_size=1, max_size=4), limit=st.integers(0, 6_000))
def test_any_size_limit_is_respected_with_whole_rows(runs: list[dict[str, Any]], limit: int) -> None:
    """Under any limit the summary fits, and whatever table it keeps has whole rows."""
    outcome = outcome_of(*[_run_outcome(p, allowed=False, blueprint_id=i) for i, p in enumerate(runs)])
    _check_all(outcome, limit_bytes=limit)
