"""GitLab CI adapter: well-formed collapsible sections, the summary file and a single-line dotenv for later jobs."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from gate.outcome import Outcome
from gate.platforms import GitHubPlatform, GitLabPlatform, detect
from gate.platforms.gitlab import DOTENV_NAMES
from tests.support.edge import (
    HOSTILE_ALL,
    judged,
    mixed_outcome,
    outcome_of,
    payload,
    step,
    unfinished,
)

_START = re.compile(r"^\x1b\[0Ksection_start:(\d+):([A-Za-z0-9_.-]+)\[collapsed=(true|false)\]\r\x1b\[0K(.*)$")
_END = re.compile(r"^\x1b\[0Ksection_end:(\d+):([A-Za-z0-9_.-]+)\r\x1b\[0K$")
_DOTENV_LINE = re.compile(r"^(DOCKETQA_[A-Z_]+)=([A-Za-z0-9_.,:/?=&%+@-]+)$")


def _gitlab(workspace: Path, *, job_summary: bool = True) -> tuple[GitLabPlatform, io.StringIO]:
    out = io.StringIO()
    platform = detect({"GITLAB_CI": "true", "CI": "true"}, stdout=out, workspace=workspace, job_summary=job_summary)
    assert isinstance(platform, GitLabPlatform)
    return platform, out


def _hostile_outcome(text: str) -> Outcome:
    body = payload(38, title=text, steps=[step(1, ok=True, task=text), step(2, ok=False, task=text, result=text)])
    return outcome_of(judged(body), judged(payload(39, status="passed", title=text)), unfinished(41, name=text))


def _dotenv(workspace: Path) -> dict[str, str]:
    text = (workspace / "docketqa.env").read_text(encoding="utf-8")
    assert text.endswith("\n") and "\r" not in text
    pairs = {}
    for line in text.splitlines():
        match = _DOTENV_LINE.match(line)
        assert match, f"not a single-line KEY=value: {line!r}"
        pairs[match.group(1)] = match.group(2)
    return pairs


def test_gitlab_ci_selects_the_gitlab_adapter_and_github_wins_when_both_are_set(tmp_path: Path) -> None:
    """GITLAB_CI=true means GitLab, unless GITHUB_ACTIONS=true says we are on GitHub."""
    assert isinstance(detect({"GITLAB_CI": "true"}, stdout=io.StringIO(), workspace=tmp_path), GitLabPlatform)
    both = {"GITLAB_CI": "true", "GITHUB_ACTIONS": "true"}
    assert isinstance(detect(both, stdout=io.StringIO(), workspace=tmp_path), GitHubPlatform)


def test_the_dotenv_file_holds_single_line_values_for_downstream_jobs(tmp_path: Path) -> None:
    """docketqa.env has one KEY=value per line with the status, counts and dashboard link."""
    platform, _ = _gitlab(tmp_path)
    notes = platform.publish(mixed_outcome(), summary_markdown="# s\n", written={})
    assert _dotenv(tmp_path) == {
        "DOCKETQA_STATUS": "failed",
        "DOCKETQA_EXIT_CODE": "1",
        "DOCKETQA_TOTAL": "6",
        "DOCKETQA_PASSED": "2",
        "DOCKETQA_FAILED": "1",
        "DOCKETQA_ERRORS": "1",
        "DOCKETQA_TIMED_OUT": "1",
        "DOCKETQA_NOT_AWAITED": "0",
        "DOCKETQA_FLAKY": "1",
        "DOCKETQA_DASHBOARD_URL": "https://app.docketqa.com/dashboard/grouprun/35",
    }
    assert set(_dotenv(tmp_path)) == set(DOTENV_NAMES)
    assert "wrote the dotenv file to docketqa.env" in notes


def test_an_empty_value_is_left_out_rather_than_written_blank(tmp_path: Path) -> None:
    """Without a group run there is no dashboard link: the variable is absent, every line still valid."""
    platform, _ = _gitlab(tmp_path)
    platform.publish(outcome_of(judged(payload(38, status="passed")), groups=()), summary_markdown="", written={})
    values = _dotenv(tmp_path)
    assert "DOCKETQA_DASHBOARD_URL" not in values and values["DOCKETQA_STATUS"] == "passed"


@pytest.mark.parametrize("text", HOSTILE_ALL)
def test_hostile_text_cannot_change_the_dotenv_file(tmp_path: Path, text: str) -> None:
    """DocketQA text never reaches docketqa.env: it is byte-for-byte what clean data produces."""
    hostile, clean = tmp_path / "hostile", tmp_path / "clean"
    hostile.mkdir()
    clean.mkdir()
    _gitlab(hostile)[0].publish(_hostile_outcome(text), summary_markdown="", written={})
    _gitlab(clean)[0].publish(_hostile_outcome("plain"), summary_markdown="", written={})
    assert (hostile / "docketqa.env").read_bytes() == (clean / "docketqa.env").read_bytes()


def test_the_summary_goes_to_docketqa_summary_md_unless_a_summary_path_was_written(tmp_path: Path) -> None:
    """No --summary: docketqa-summary.md in the project dir; with one (or job summary off): no extra file."""
    platform, _ = _gitlab(tmp_path / "a")
    notes = platform.publish(mixed_outcome(), summary_markdown="# DocketQA\n", written={})
    assert (tmp_path / "a" / "docketqa-summary.md").read_text() == "# DocketQA\n"
    assert notes == ["wrote the job summary to docketqa-summary.md", "wrote the dotenv file to docketqa.env"]

    platform, _ = _gitlab(tmp_path / "b")
    platform.publish(mixed_outcome(), summary_markdown="# DocketQA\n", written={"summary": tmp_path / "b" / "s.md"})
    platform, _ = _gitlab(tmp_path / "c", job_summary=False)
    platform.publish(mixed_outcome(), summary_markdown="# DocketQA\n", written={})
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["docketqa.env"]
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["docketqa.env"]


def test_a_file_that_cannot_be_written_is_a_note(tmp_path: Path) -> None:
    """A project dir that is not a directory turns into notes, never an exception."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    platform, _ = _gitlab(blocker)
    notes = platform.publish(mixed_outcome(), summary_markdown="# s\n", written={})
    assert len(notes) == 2 and all(n.startswith("could not write the ") for n in notes)


@pytest.mark.parametrize("text", ["Login Flow", *HOSTILE_ALL])
def test_each_run_is_one_well_formed_section(tmp_path: Path, text: str) -> None:
    """Every run opens and closes its own uniquely named section; DocketQA text adds no escape or CR."""
    platform, out = _gitlab(tmp_path)
    outcome = _hostile_outcome(text)
    platform.log_run_details(outcome)
    out.getvalue().encode("utf-8")  # a lone surrogate reaching a real stdout would crash the gate
    lines = out.getvalue().split("\n")
    assert lines.pop() == ""
    opened: list[str] = []
    names: list[str] = []
    for line in lines:
        start, end = _START.match(line), _END.match(line)
        if start:
            assert not opened, "sections must not nest"
            opened.append(start.group(2))
            names.append(start.group(2))
            assert "\x1b" not in start.group(4) and "\r" not in start.group(4)
        elif end:
            assert opened == [end.group(2)]
            opened.pop()
        else:
            assert opened and "\x1b" not in line and "\r" not in line, repr(line)
    assert not opened
    assert names == ["docketqa_run_1_38", "docketqa_run_2_39", "docketqa_run_3_41"]


def test_sections_show_failures_open_and_passes_collapsed(tmp_path: Path) -> None:
    """A failed run's section is expanded with its failing step; a passed run's is collapsed."""
    platform, out = _gitlab(tmp_path)
    platform.log_run_details(mixed_outcome())
    # split("\n"), not splitlines(): the section markers hold a CR that splitlines() would cut at.
    starts = [_START.match(line) for line in out.getvalue().split("\n")]
    headings = {m.group(4): m.group(3) for m in starts if m}
    assert headings["Login Flow — failed (test run 38)"] == "false"
    assert headings["Search — passed (test run 39)"] == "true"
    assert "       the agent could not do it" in out.getvalue().split("\n")
