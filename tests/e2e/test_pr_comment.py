"""`report`, `run` and `wait` with --pr-comment against the GitHub and GitLab fakes: the comment never moves the exit."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from gate.clock import FakeClock
from tests.support.cli import CliResult, gate_env, run_args, sandbox, wait_args
from tests.support.forges import FakeGitHub, Fault, github, gitlab
from tests.support.http_fixture import free_port
from tests.support.keys import SECRETS, TEST_API_KEY, TEST_GITHUB_TOKEN, TEST_GITLAB_TOKEN
from tests.support.paths import FIXTURES

NOW = dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.timezone.utc)
FAILING = str(FIXTURES / "seed_login_flow.json")
PASSING = str(FIXTURES / "passing.json")
WARNING = "docketqa-gate: warning: no pull-request comment: "


@pytest.fixture
def gate(tmp_path: Path, leak_guard: Callable[[str], str]) -> Callable[..., CliResult]:
    """The CLI in-process on virtual time; stdout's ``::add-mask::`` lines mask the key and the token, nothing else."""

    def run(args: list[str], env: dict[str, str], *, clock: FakeClock | None = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        code = main(args, env, stdout=out, stderr=err, cwd=tmp_path, clock=clock or FakeClock(), wall_clock=lambda: NOW)
        lines = out.getvalue().splitlines(keepends=True)
        masks = [line for line in lines if line.startswith("::add-mask::")]
        assert set(masks) <= {f"::add-mask::{secret}\n" for secret in SECRETS}, "an unexpected mask line"
        shown = "".join(line for line in lines if line not in masks)
        return CliResult(code, leak_guard(shown), leak_guard(err.getvalue()))

    return run


def github_env(fake: FakeGitHub, tmp_path: Path, **extra: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "head": {"sha": "a1b2c3d" + "0" * 33}}}))
    (tmp_path / "summary.md").touch()
    (tmp_path / "output.txt").touch()
    return {
        "GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": "f" * 40,
        "GITHUB_WORKFLOW": "CI", "GITHUB_JOB": "e2e", "GITHUB_RUN_ID": "4242", "GITHUB_TOKEN": TEST_GITHUB_TOKEN,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_OUTPUT": str(tmp_path / "output.txt"), **extra,
    }


def test_report_posts_one_comment_and_turns_it_green_with_the_exit_codes_unchanged(
    gate: Callable[..., CliResult], tmp_path: Path
) -> None:
    """A fan-in `report` job comments: exit 1 and a red comment, then exit 0 and the same comment green."""
    with github() as fake:
        env = github_env(fake, tmp_path)
        red = gate(["report", FAILING, "--pr-comment", "always"], env)
        green = gate(["report", PASSING, "--pr-comment", "always"], env)
        (only,) = fake.ours(12)
    assert (red.code, green.code) == (1, 0)
    assert "docketqa-gate: note: created the comment on pull request #12: https://github.com/octo/app/pull/12#" in red.err
    assert "docketqa-gate: note: updated the comment on pull request #12" in green.err
    assert only["body"].startswith("<!-- docketqa-gate:CI%20/%20e2e -->\n## ✅ DocketQA: passed")
    assert WARNING not in red.err + green.err


def test_off_by_default_and_off_means_no_request(gate: Callable[..., CliResult], tmp_path: Path) -> None:
    with github() as fake:
        result = gate(["report", FAILING], github_env(fake, tmp_path))
    assert result.code == 1 and fake.seen() == []


def _fork(fake: FakeGitHub) -> None:
    fake.read_only = True


def _server_error(fake: FakeGitHub) -> None:
    fake.fail(Fault("GET", "/comments", 502, {"message": "Server Error"}, times=100))


def _rate_limited(fake: FakeGitHub) -> None:
    reset = str(int(NOW.timestamp()) + 3000)
    fake.fail(Fault("GET", "/comments", 403, {"message": "API rate limit exceeded for installation."},
                    {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, times=100))


FAULTS: dict[str, tuple[Callable[[FakeGitHub], None], str]] = {
    "fork 403": (_fork, "give the job `permissions: pull-requests: write`; a pull request from a fork"),
    "5xx": (_server_error, "GitHub kept answering GET /repos/octo/app/issues/12/comments with HTTP 502"),
    "rate limit": (_rate_limited, "GitHub rate-limited this token (HTTP 403) until 22:50:00 UTC"),
    "unreachable": (lambda fake: None, "cannot be reached (ConnectionError): check GITHUB_API_URL"),
}


@pytest.mark.parametrize("fixture", [FAILING, PASSING], ids=["failing", "passing"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_comment_that_cannot_be_written_is_one_warning_and_the_same_exit_code(
    gate: Callable[..., CliResult], tmp_path: Path, fault: str, fixture: str
) -> None:
    """Fork token, 5xx, rate limit, unreachable API: one warning naming the fix, reports written, same exit code."""
    arrange, expected = FAULTS[fault]
    clock = FakeClock()
    with github() as fake:
        env = github_env(fake, tmp_path)
        baseline = gate(["report", fixture, "--json", "base.json"], env)
        arrange(fake)
        if fault == "unreachable":
            env["GITHUB_API_URL"] = f"http://127.0.0.1:{free_port()}"
        result = gate(["report", fixture, "--json", "r.json", "--pr-comment", "always"], env, clock=clock)
    assert result.code == baseline.code == (1 if fixture == FAILING else 0)
    warnings = [line for line in result.err.splitlines() if line.startswith(WARNING)]
    assert len(warnings) == 1 and expected in warnings[0], result.err
    assert "Traceback" not in result.err and fake.ours(12) == []
    assert json.loads((tmp_path / "r.json").read_text())["exit_code"] == baseline.code
    assert result.out.splitlines()[-1] == baseline.out.splitlines()[-1]
    assert sum(clock.sleeps) <= 30


@pytest.mark.parametrize("command", ["run", "wait"])
def test_run_and_wait_comment_after_following_the_runs(
    gate: Callable[..., CliResult], tmp_path: Path, command: str
) -> None:
    """`run` and `wait` on a pull request: the comment tells what the gate decided; each secret goes to its own host."""
    with sandbox("mixed") as served, github() as fake:
        env = {**github_env(fake, tmp_path), **gate_env()}
        args = run_args(served) if command == "run" else wait_args(served, served.preexisting_run_ids)
        result = gate([*args, "--pr-comment", "failures"], env)
        (posted,) = fake.ours(12)
        to_docketqa = [value for record in served.requests for value in record.headers.values()]
    assert result.code == 1 and "## ❌ DocketQA: failed" in posted["body"]
    assert to_docketqa and not any(TEST_GITHUB_TOKEN in value for value in to_docketqa), "the token went to DocketQA"
    assert all(TEST_API_KEY not in value for request in fake.seen() for value in request.headers.values())


def test_a_github_token_file_is_read_masked_and_sent_only_to_github(
    gate: Callable[..., CliResult], tmp_path: Path
) -> None:
    (tmp_path / "gh.key").write_text(TEST_GITHUB_TOKEN + "\n")
    with github() as fake:
        env = github_env(fake, tmp_path)
        del env["GITHUB_TOKEN"]
        result = gate(["report", FAILING, "--pr-comment", "always", "--github-token-file", "gh.key"], env)
    assert result.code == 1 and len(fake.ours(12)) == 1
    assert fake.seen("POST")[0].headers["authorization"] == f"Bearer {TEST_GITHUB_TOKEN}"


@pytest.mark.parametrize("value", ["sometimes", ""])
def test_a_bad_mode_is_a_usage_error_naming_the_choices(gate: Callable[..., CliResult], value: str) -> None:
    result = gate(["report", FAILING, "--pr-comment", value or " "], {})
    assert result.code == 2
    assert "flag --pr-comment: expected one of 'off', 'always', 'failures'" in result.err


def test_gitlab_merge_request_note_from_the_environment(gate: Callable[..., CliResult], tmp_path: Path) -> None:
    """On GitLab the token comes from DOCKETQA_GITLAB_TOKEN and the IID from CI_MERGE_REQUEST_IID."""
    with gitlab() as fake:
        env: dict[str, Any] = {
            "GITLAB_CI": "true", "CI_API_V4_URL": fake.url, "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "5",
            "CI_JOB_NAME": "docketqa", "DOCKETQA_GITLAB_TOKEN": TEST_GITLAB_TOKEN, "CI_PROJECT_DIR": str(tmp_path),
        }
        result = gate(["report", FAILING, "--pr-comment", "always"], env)
        (note,) = fake.ours(5)
    assert result.code == 1 and note["body"].startswith("<!-- docketqa-gate:docketqa -->")
    assert "docketqa-gate: note: created the comment on merge request !5" in result.err


def test_the_github_token_is_masked_before_anything_else_is_printed(
    tmp_path: Path, leak_guard: Callable[[str], str]
) -> None:
    """A token from a file is one the runner has never seen: the gate's first output line masks it."""
    (tmp_path / "gh.key").write_text(TEST_GITHUB_TOKEN)
    out, err = io.StringIO(), io.StringIO()
    with github() as fake:
        env = github_env(fake, tmp_path)
        del env["GITHUB_TOKEN"]
        args = ["report", FAILING, "--pr-comment", "always", "--github-token-file", "gh.key"]
        main(args, env, stdout=out, stderr=err, cwd=tmp_path, clock=FakeClock(), wall_clock=lambda: NOW)
    first, rest = out.getvalue().split("\n", 1)
    assert first == f"::add-mask::{TEST_GITHUB_TOKEN}"
    leak_guard(rest + err.getvalue())
