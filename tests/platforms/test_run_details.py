"""The run details every platform prints agree with the reports on which attempt they show."""

from __future__ import annotations

from gate.platforms.base import run_detail_lines
from gate.reports.summary import render_summary
from tests.support.outcomes import finished, load, outcome_of

ATTEMPT_1 = "https://media.docketqa.example/videos/40-attempt1.webm"
ATTEMPT_2 = "https://media.docketqa.example/videos/40-attempt2.webm"


def test_a_flaky_run_links_the_final_attempts_video_in_the_log_as_in_the_summary() -> None:
    """Attempt 1 failed, attempt 2 passed: the log's video line and the summary both point at attempt 2's video."""
    run = finished(load("flaky"))
    lines = run_detail_lines(run)
    assert f"  video: {ATTEMPT_2}" in lines
    assert not any(ATTEMPT_1 in line for line in lines)
    summary = render_summary(outcome_of(run))
    assert ATTEMPT_2 in summary and ATTEMPT_1 not in summary
