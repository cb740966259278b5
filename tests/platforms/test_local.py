"""Local adapter (terminals, deploy scripts, other CI): plain readable text, no escape sequences, no extra files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gate.platforms import LocalPlatform, detect
from gate.secret import Secret
from tests.support.edge import judged, mixed_outcome, outcome_of, payload, step


@pytest.mark.parametrize(
    "env", [{}, {"GITHUB_ACTIONS": "false"}, {"GITHUB_ACTIONS": "1"}, {"GITLAB_CI": "TRUE"}, {"CI": "true"}]
)
def test_anything_but_an_exact_true_flag_is_local(tmp_path: Path, env: dict[str, str]) -> None:
    """Only GITHUB_ACTIONS=true or GITLAB_CI=true select a CI adapter; everything else is local."""
    assert isinstance(detect(env, stdout=io.StringIO(), workspace=tmp_path), LocalPlatform)


def test_details_are_indented_text_for_runs_that_need_a_look(tmp_path: Path) -> None:
    """Failed, timed-out and flaky runs show their details; a clean pass is a single line."""
    out = io.StringIO()
    platform = detect({}, stdout=out, workspace=tmp_path)
    platform.begin(api_key=Secret("dq_never_printed"))
    platform.log_run_details(mixed_outcome())
    lines = out.getvalue().splitlines()
    assert lines[:5] == [
        "Login Flow — failed (test run 38)",
        "  Step 2 failed: Do the thing: the agent could not do it",
        "  ✓ 01 Do the thing (12s)",
        "  ✗ 02 Do the thing (12s)",
        "       the agent could not do it",
    ]
    assert lines[5] == "Search — passed (test run 39)"
    assert lines[6] == "Checkout — passed, flaky (test run 40)"
    assert "Slow one — timed out (test run 41)" in lines
    assert "  did not finish before the 30m deadline" in lines
    assert "dq_never_printed" not in out.getvalue()


def test_terminal_escape_sequences_from_docketqa_never_reach_the_terminal(tmp_path: Path) -> None:
    """ESC, CR, BEL and other controls in titles and results are removed; newlines become indented lines."""
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\rover\x9b"
    body = payload(38, title=hostile, steps=[step(1, ok=False, task=hostile, result=f"{hostile}\nline two")])
    out = io.StringIO()
    platform = detect({}, stdout=out, workspace=tmp_path)
    platform.log_run_details(outcome_of(judged(body)))
    printed = out.getvalue()
    assert not any(ch in printed for ch in "\x1b\r\x07\x9b")
    assert "       line two" in printed.splitlines()
    assert platform.sanitize_log(hostile) == "]0;pwned[2J[31mred\nover"


def test_publishing_locally_writes_nothing_and_has_nothing_to_say(tmp_path: Path) -> None:
    """Outside CI the report files the CLI wrote are everything: no outputs, dotenv or summary copies."""
    out = io.StringIO()
    platform = detect({}, stdout=out, workspace=tmp_path)
    assert platform.publish(mixed_outcome(), summary_markdown="# s\n", written={}) == []
    assert list(tmp_path.iterdir()) == [] and out.getvalue() == ""
