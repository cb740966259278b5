"""Golden files for every report; regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/reports/test_golden.py`."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.config import JunitLayout
from gate.outcome import Outcome
from gate.reports.comment import CommentContext, render_comment
from gate.reports.junit import render_junit
from gate.reports.result_json import render_json
from gate.reports.summary import render_summary
from tests.support.outcomes import SCENARIOS
from tests.support.paths import GOLDEN
from tests.support.render import assert_valid_junit, junit_counts

#: Evidence paths as artifacts.py would report them, so the golden files show where they land.
ATTACHMENTS = {38: ["docketqa-artifacts/38-login-flow/step-1-1.png", "docketqa-artifacts/38-login-flow/video.webm"]}

RENDERERS: dict[str, Callable[[Outcome], str]] = {
    "junit-test.xml": lambda o: render_junit(o, layout=JunitLayout.TEST, attachments=ATTACHMENTS),
    "junit-step.xml": lambda o: render_junit(o, layout=JunitLayout.STEP, attachments=ATTACHMENTS),
    "summary.md": lambda o: render_summary(o, attachments=ATTACHMENTS),
    "result.json": lambda o: json.dumps(render_json(o), indent=2, ensure_ascii=False) + "\n",
}
#: A pull-request comment's surroundings, fixed so the golden files do not change with the clock.
COMMENT_CONTEXT = CommentContext(
    key="CI / e2e", updated_at=dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.timezone.utc),
    commit="a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    commit_url="https://github.com/octo/app/commit/a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    run_url="https://github.com/octo/app/actions/runs/4242",
)
RENDERERS["pr-comment.md"] = lambda o: render_comment(o, COMMENT_CONTEXT)
REGENERATE = "UPDATE_GOLDEN=1 python -m pytest tests/reports/test_golden.py"
CASES = [(scenario, kind) for scenario in SCENARIOS for kind in RENDERERS]


@pytest.mark.parametrize(("scenario", "kind"), CASES, ids=[f"{s}.{k}" for s, k in CASES])
def test_report_matches_its_golden_file(scenario: str, kind: str) -> None:
    """Each report is byte-for-byte what a reviewer last approved (diffs are reviewed like code)."""
    actual = RENDERERS[kind](SCENARIOS[scenario]())
    path = GOLDEN / f"{scenario}.{kind}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    assert path.exists(), f"{path.name} is missing: run {REGENERATE}"
    expected = path.read_bytes().decode("utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "golden", "now", n=2))
        pytest.fail(f"{path.name} differs (if intended: {REGENERATE})\n{diff[:6000]}")


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.xml")), ids=lambda p: p.name)
def test_golden_junit_is_schema_valid(path: Path) -> None:
    """Every approved JUnit file validates against junit-10.xsd and junitparser counts agree with it."""
    text = path.read_bytes().decode("utf-8")
    assert_valid_junit(text)
    junit_counts(text)


def test_every_scenario_has_all_golden_files() -> None:
    """No golden file is orphaned or missing."""
    expected = {f"{s}.{k}" for s, k in CASES}
    assert {p.name for p in GOLDEN.iterdir()} == expected
