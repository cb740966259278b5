"""Errors that end the gate before any verdict (usage, config, internal) still publish status and exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import CliResult
from tests.support.edge import parse_github_output_file
from tests.support.keys import TEST_API_KEY
from tests.support.paths import FIXTURES

Cli = Callable[..., CliResult]
MISSING_KEY = "no API key: set the api-key input from a secret, e.g. 'api-key: ${{ secrets.DOCKET_API_KEY }}'"


def _github_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"), "GITHUB_WORKSPACE": str(tmp_path),
            **extra}  # fmt: skip


def _outputs(tmp_path: Path) -> dict[str, str]:
    return parse_github_output_file((tmp_path / "output.txt").read_text(encoding="utf-8"))


def test_the_action_without_a_key_annotates_sets_outputs_and_writes_a_summary_line(cli: Cli, tmp_path: Path) -> None:
    """A missing api-key input: exit 2 with an ::error annotation, status=error and exit-code=2, a summary line."""
    result = cli([], env={**_github_env(tmp_path), "INPUT_BLUEPRINT-IDS": "181"})
    assert result.code == 2, result.err
    assert f"::error title=DocketQA gate::configuration error: {MISSING_KEY}" in result.out.splitlines()
    outputs = _outputs(tmp_path)
    assert (outputs["status"], outputs["exit-code"]) == ("error", "2")
    summary = (tmp_path / "step-summary.md").read_text(encoding="utf-8")
    assert "DocketQA gate: error (exit code 2)" in summary and "no API key" in summary


def test_a_bad_api_url_on_github_from_the_command_line_publishes_the_same(cli: Cli, tmp_path: Path) -> None:
    """`docketqa-gate run --api-url http://example.com` in a workflow step: the annotation and outputs say exit 2."""
    env = _github_env(tmp_path, DOCKET_API_KEY=TEST_API_KEY)
    result = cli(["run", "--api-url", "http://example.com", "--blueprint", "181"], env=env)
    assert result.code == 2
    assert any(line.startswith("::error title=DocketQA gate::configuration error: flag --api-url:")
               for line in result.out.splitlines())  # fmt: skip
    assert (_outputs(tmp_path)["status"], _outputs(tmp_path)["exit-code"]) == ("error", "2")


def test_a_usage_error_on_gitlab_writes_the_dotenv(cli: Cli, tmp_path: Path) -> None:
    """Under GitLab a config error still leaves DOCKETQA_STATUS=error and DOCKETQA_EXIT_CODE=2 for later jobs."""
    result = cli(["wait", "--test-run", "38"], env={"GITLAB_CI": "true"})
    assert result.code == 2
    dotenv = (tmp_path / "docketqa.env").read_text(encoding="utf-8").splitlines()
    assert dotenv == ["DOCKETQA_STATUS=error", "DOCKETQA_EXIT_CODE=2"]


def test_an_unknown_flag_on_github_still_sets_the_outputs(cli: Cli, tmp_path: Path) -> None:
    """argparse's own usage error (exit 2) is published too: every exit code reaches the outputs."""
    result = cli(["report", "x.json", "--no-such-flag"], env=_github_env(tmp_path))
    assert result.code == 2
    assert (_outputs(tmp_path)["status"], _outputs(tmp_path)["exit-code"]) == ("error", "2")


def test_an_internal_error_on_github_publishes_exit_code_70(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (exit 70) is an annotation and exit-code=70 too, so a workflow's `if:` can tell it from a failed test."""
    _broken_summary(monkeypatch)
    result = cli(["report", str(FIXTURES / "passing.json")], env=_github_env(tmp_path))
    assert result.code == 70
    assert (_outputs(tmp_path)["status"], _outputs(tmp_path)["exit-code"]) == ("error", "70")
    assert any(line.startswith("::error title=DocketQA gate::internal error (RuntimeError)")
               for line in result.out.splitlines())  # fmt: skip


def test_a_verdict_is_published_once_not_followed_by_an_error_entry(cli: Cli, tmp_path: Path) -> None:
    """A normal failed verdict keeps its own outputs: no second status entry is appended after it."""
    saved = tmp_path / "failed.json"
    saved.write_text((FIXTURES / "passing.json").read_text().replace('"passed"', '"failed"', 1))
    result = cli(["report", str(saved)], env=_github_env(tmp_path))
    assert result.code == 1
    assert (tmp_path / "output.txt").read_text().count("status<<") == 1


def _broken_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_renderer(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr("gate.reports.summary.render_summary", broken_renderer)


def test_runner_debug_shows_the_traceback_of_an_internal_error_in_a_collapsed_group(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the runner's debug logging on (RUNNER_DEBUG=1), exit 70 shows the traceback inside ::group::/::endgroup::."""
    _broken_summary(monkeypatch)
    result = cli(["report", str(FIXTURES / "passing.json")], env=_github_env(tmp_path, RUNNER_DEBUG="1"))
    assert result.code == 70
    lines = result.out.splitlines()
    start = lines.index("::group::Traceback of the internal error")
    end = lines.index("::endgroup::", start)
    group = "\n".join(lines[start:end])
    assert "Traceback (most recent call last):" in group and "RuntimeError: renderer bug" in group
    assert result.err.splitlines()[-1] == (
        "docketqa-gate: error: internal error (RuntimeError); this is a bug in docketqa-gate: the traceback is in "
        "the group 'Traceback of the internal error' above; please report it"
    )


def test_without_debug_logging_the_exit_70_line_tells_action_users_how_to_get_the_traceback(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On GitHub the hint is the runner's debug logging (the action has no --debug); no traceback is printed."""
    _broken_summary(monkeypatch)
    result = cli(["report", str(FIXTURES / "passing.json")], env=_github_env(tmp_path))
    assert result.code == 70
    assert "Traceback" not in result.out + result.err
    assert result.err.splitlines()[-1] == (
        "docketqa-gate: error: internal error (RuntimeError); this is a bug in docketqa-gate: re-run the job with "
        "debug logging enabled (or pass --debug) for the traceback, and report it"
    )
