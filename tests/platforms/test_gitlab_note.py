"""The sticky GitLab merge-request note against a loopback fake of GitLab's REST API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gate.clock import FakeClock
from gate.config import CommentMode, CommentSettings
from gate.outcome import Outcome
from gate.platforms.pr_comment import CommentNote, write_comment
from gate.reports.comment import marker
from gate.secret import Secret
from tests.support.forges import TEST_GITLAB_TOKEN, FakeGitLab, Fault, gitlab
from tests.support.http_fixture import free_port
from tests.support.outcomes import finished, load, outcome_of, seed_scenario

SHA = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
NOW = dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.timezone.utc)


def passing() -> Outcome:
    return outcome_of(finished(load("passing")))


def env_for(fake: FakeGitLab, *, iid: str | None = "5") -> dict[str, str]:
    env = {
        "GITLAB_CI": "true", "CI_API_V4_URL": fake.url, "CI_PROJECT_ID": "42", "CI_JOB_NAME": "docketqa",
        "CI_COMMIT_SHA": SHA, "CI_PROJECT_URL": "https://gitlab.example/group/app",
        "CI_PIPELINE_URL": "https://gitlab.example/group/app/-/pipelines/99",
        # The job token is always there and cannot write notes: it must never be used.
        "CI_JOB_TOKEN": "job-token-not-for-notes",
    }
    if iid is not None:
        env["CI_MERGE_REQUEST_IID"] = iid
    return env


def note(outcome: Outcome, env: dict[str, str], *, mode: CommentMode = CommentMode.ALWAYS,
         clock: FakeClock | None = None, token: str | None = TEST_GITLAB_TOKEN, **settings: Any) -> list[CommentNote]:
    chosen = CommentSettings(mode=mode, gitlab_token=Secret(token) if token else None, **settings)
    return write_comment(outcome, chosen, env=env, clock=clock or FakeClock(), wall_clock=lambda: NOW)


def test_a_merge_request_pipeline_gets_one_note_updated_on_the_next_run() -> None:
    with gitlab() as fake:
        env = env_for(fake)
        first = note(seed_scenario(), env)
        second = note(passing(), env)
        (only,) = fake.ours(5)
    assert only["body"].startswith(marker("docketqa") + "\n") and "✅ DocketQA: passed" in only["body"]
    assert "[workflow run](https://gitlab.example/group/app/-/pipelines/99)" in only["body"]
    assert f"(https://gitlab.example/group/app/-/commit/{SHA})" in only["body"]
    assert [r.method for r in fake.seen() if r.method != "GET"] == ["POST", "PUT"]
    assert first == [CommentNote("created the comment on merge request !5")]
    assert second == [CommentNote("updated the comment on merge request !5")]
    assert all(r.headers["private-token"] == TEST_GITLAB_TOKEN for r in fake.seen())
    assert len([r for r in fake.seen() if r.path == "/user"]) == 2  # once per run


def test_the_note_is_found_on_the_third_page() -> None:
    with gitlab() as fake:
        for n in range(230):
            fake.add_note(5, f"remark {n}", author_id=3)
        ours = fake.add_note(5, marker("docketqa") + "\nold")
        note(passing(), env_for(fake))
    assert "✅ DocketQA: passed" in ours["body"] and not fake.seen("POST")
    pages = [r.path.rsplit("page=", 1)[1] for r in fake.seen("GET") if "/notes" in r.path]
    assert pages == ["1", "2", "3"]


def test_notes_by_other_users_and_system_notes_are_never_edited() -> None:
    with gitlab() as fake:
        foreign = fake.add_note(5, marker("docketqa") + "\ncopied", author_id=3)
        system = fake.add_note(5, marker("docketqa") + "\nsystem", system=True)
        note(seed_scenario(), env_for(fake))
    assert foreign["body"].endswith("copied") and system["body"].endswith("system")
    assert len([n for n in fake.ours(5) if not n["system"]]) == 1 and not fake.seen("PUT")


def test_failures_mode_writes_nothing_on_a_pass_and_turns_an_existing_note_green() -> None:
    with gitlab() as fake:
        env = env_for(fake)
        note(passing(), env, mode=CommentMode.FAILURES)
        assert fake.notes.get(5, []) == []
        note(seed_scenario(), env, mode=CommentMode.FAILURES)
        note(passing(), env, mode=CommentMode.FAILURES)
        (only,) = fake.ours(5)
    assert "✅ DocketQA: passed" in only["body"]


def test_a_branch_pipeline_is_a_notice_not_a_note() -> None:
    with gitlab() as fake:
        notes = note(seed_scenario(), env_for(fake, iid=None))
    assert fake.seen() == [] and not notes[0].warning and "not a merge request pipeline" in notes[0].text


def test_pr_option_names_the_merge_request_in_a_branch_pipeline() -> None:
    with gitlab() as fake:
        note(seed_scenario(), env_for(fake, iid=None), pr=8)
    assert len(fake.ours(8)) == 1


def test_no_gitlab_token_is_one_warning_that_names_the_variable() -> None:
    with gitlab() as fake:
        (warning,) = note(seed_scenario(), env_for(fake), token=None)
    assert warning.warning and "set DOCKETQA_GITLAB_TOKEN" in warning.text and "CI_JOB_TOKEN" in warning.text
    assert fake.seen() == []


def test_server_errors_and_an_unreachable_api_are_one_warning_each() -> None:
    clock = FakeClock()
    with gitlab() as fake:
        fake.fail(Fault("GET", "/notes", 500, {"message": "500 Internal Server Error"}, times=100))
        (warning,) = note(seed_scenario(), env_for(fake), clock=clock)
        env = env_for(fake)
    assert warning.warning and "GitLab kept answering GET /api/v4/projects/42/merge_requests/5/notes" in warning.text
    env["CI_API_V4_URL"] = f"http://127.0.0.1:{free_port()}/api/v4"
    (unreachable,) = note(seed_scenario(), env, clock=clock)
    assert unreachable.warning and "check CI_API_V4_URL" in unreachable.text


def test_a_forbidden_token_is_one_warning_about_scope() -> None:
    with gitlab() as fake:
        fake.fail(Fault("POST", "/notes", 403, {"message": "403 Forbidden"}))
        (warning,) = note(seed_scenario(), env_for(fake))
    assert warning.text == (
        "no pull-request comment: GitLab refused POST /api/v4/projects/42/merge_requests/5/notes (HTTP 403 "
        "(403 Forbidden)): the token needs the api scope and at least Reporter access"
    )


def test_a_rate_limit_with_retry_after_is_waited_out_when_short() -> None:
    clock = FakeClock()
    with gitlab() as fake:
        fake.fail(Fault("GET", "/user", 429, {"message": "Retry later"}, {"Retry-After": "2"}))
        notes = note(seed_scenario(), env_for(fake), clock=clock)
    assert not notes[0].warning and len(fake.ours(5)) == 1 and clock.sleeps[0] >= 2
