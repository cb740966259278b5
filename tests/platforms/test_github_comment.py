"""The sticky GitHub pull-request comment against a loopback fake of GitHub's REST API."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from gate.clock import FakeClock
from gate.config import CommentMode, CommentSettings
from gate.outcome import Outcome
from gate.platforms.pr_comment import CommentNote, write_comment
from gate.reports.comment import marker
from gate.secret import Secret
from tests.support.forges import BOT, TEST_GITHUB_TOKEN, FakeGitHub, Fault, github
from tests.support.http_fixture import free_port
from tests.support.outcomes import finished, load, outcome_of, seed_scenario

HEAD_SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
MERGE_SHA = "ffeeddccbbaa99887766554433221100ffeeddcc"
KEY = "CI / e2e"
NOW = dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.timezone.utc)


def passing() -> Outcome:
    return outcome_of(finished(load("passing")))


def env_for(fake: FakeGitHub, tmp_path: Path, *, event: str = "pull_request", number: int = 12) -> dict[str, str]:
    payload: dict[str, Any] = {"pull_request": {"number": number, "head": {"sha": HEAD_SHA}}}
    if event == "push":
        payload = {"ref": "refs/heads/feature", "after": HEAD_SHA}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return {
        "GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.url, "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "octo/app", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(path),
        "GITHUB_SHA": HEAD_SHA if event == "push" else MERGE_SHA,
        "GITHUB_WORKFLOW": "CI", "GITHUB_JOB": "e2e", "GITHUB_RUN_ID": "4242",
    }


def comment(
    outcome: Outcome, env: dict[str, str], *, mode: CommentMode = CommentMode.ALWAYS, clock: FakeClock | None = None,
    token: str | None = TEST_GITHUB_TOKEN, **settings: Any,
) -> list[CommentNote]:
    chosen = CommentSettings(mode=mode, github_token=Secret(token) if token else None, **settings)
    return write_comment(outcome, chosen, env=env, clock=clock or FakeClock(), wall_clock=lambda: NOW)


def test_the_first_run_creates_one_comment_that_tells_the_story(tmp_path: Path) -> None:
    """A failing gate on a pull request posts one comment: marker, verdict, the failing step, links, commit."""
    with github() as fake:
        notes = comment(seed_scenario(), env_for(fake, tmp_path))
        (posted,) = fake.ours(12)
    body = posted["body"]
    assert body.startswith(marker(KEY) + "\n")
    assert "❌ DocketQA: failed" in body and "**Failed step 1:**" in body
    assert "[workflow run](https://github.com/octo/app/actions/runs/4242)" in body
    assert f"[`{HEAD_SHA[:7]}`](https://github.com/octo/app/commit/{HEAD_SHA})" in body
    assert notes == [CommentNote(f"created the comment on pull request #12: {posted['html_url']}")]
    request = fake.seen("POST")[0]
    assert request.headers["authorization"] == f"Bearer {TEST_GITHUB_TOKEN}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"].startswith("docketqa-gate/")


def test_the_next_run_updates_the_same_comment_instead_of_adding_one(tmp_path: Path) -> None:
    """Fixing the test turns the one comment green: PATCHed in place, still one comment."""
    with github() as fake:
        env = env_for(fake, tmp_path)
        comment(seed_scenario(), env)
        notes = comment(passing(), env)
        (only,) = fake.ours(12)
    assert "✅ DocketQA: passed" in only["body"] and "failed" not in only["body"].split("\n")[1]
    assert [r.method for r in fake.seen() if r.method != "GET"] == ["POST", "PATCH"]
    assert notes[0].text.startswith("updated the comment on pull request #12")


def test_the_marker_is_found_on_the_third_page_of_comments(tmp_path: Path) -> None:
    """A busy pull request: 250 comments before ours; the gate follows Link rel=next and updates, not posts."""
    with github() as fake:
        for n in range(250):
            fake.add_comment(12, f"review remark {n}", login="octocat")
        ours = fake.add_comment(12, marker(KEY) + "\nold red comment")
        comment(passing(), env_for(fake, tmp_path))
        pages = [r.path for r in fake.seen("GET")]
    assert "✅ DocketQA: passed" in ours["body"]
    assert len(fake.comments[12]) == 251 and not fake.seen("POST")
    assert pages == [
        "/repos/octo/app/issues/12/comments?per_page=100",
        "/repos/octo/app/issues/12/comments?per_page=100&page=2",
        "/repos/octo/app/issues/12/comments?per_page=100&page=3",
    ]


def test_failures_mode_posts_nothing_on_a_pass(tmp_path: Path) -> None:
    """`failures`: a green gate with no comment yet leaves the pull request alone, and says so."""
    with github() as fake:
        notes = comment(passing(), env_for(fake, tmp_path), mode=CommentMode.FAILURES)
    assert fake.comments.get(12, []) == [] and not fake.seen("POST")
    assert "none written (failures mode)" in notes[0].text and not notes[0].warning


def test_failures_mode_turns_an_existing_comment_green(tmp_path: Path) -> None:
    """`failures`: once a red comment exists, a pass still updates it, so no stale red comment is left behind."""
    with github() as fake:
        env = env_for(fake, tmp_path)
        comment(seed_scenario(), env, mode=CommentMode.FAILURES)
        comment(passing(), env, mode=CommentMode.FAILURES)
        (only,) = fake.ours(12)
    assert "✅ DocketQA: passed" in only["body"]


def test_off_mode_makes_no_request_at_all(tmp_path: Path) -> None:
    with github() as fake:
        assert comment(seed_scenario(), env_for(fake, tmp_path), mode=CommentMode.OFF) == []
    assert fake.seen() == []


def test_a_push_finds_the_open_pull_request_whose_head_is_the_commit(tmp_path: Path) -> None:
    """On push, GET commits/{sha}/pulls picks the open pull request headed by GITHUB_SHA (closed ones ignored)."""
    with github() as fake:
        fake.add_pull(7, head_sha=HEAD_SHA, state="closed")
        fake.add_pull(9, head_sha=HEAD_SHA)
        notes = comment(seed_scenario(), env_for(fake, tmp_path, event="push"))
    assert fake.seen("GET")[0].path == f"/repos/octo/app/commits/{HEAD_SHA}/pulls"
    assert len(fake.ours(9)) == 1 and fake.ours(7) == []
    assert notes[0].text.startswith("created the comment on pull request #9")


def test_a_push_with_no_open_pull_request_is_a_notice_not_a_comment(tmp_path: Path) -> None:
    with github() as fake:
        notes = comment(seed_scenario(), env_for(fake, tmp_path, event="push"))
    assert not fake.seen("POST")
    assert notes == [CommentNote(
        f"no open pull request has commit {HEAD_SHA[:7]} as its head, so no comment was written "
        "(pass --pr / pr-number to choose one)"
    )]


def test_pr_option_chooses_the_pull_request_when_the_event_cannot(tmp_path: Path) -> None:
    with github() as fake:
        comment(seed_scenario(), env_for(fake, tmp_path, event="workflow_dispatch"), pr=31)
    assert len(fake.ours(31)) == 1


def test_github_enterprise_server_base_url_is_used_as_given(tmp_path: Path) -> None:
    """GHES serves the API under /api/v3: every request goes there, the Link pages included."""
    with github(prefix="/api/v3") as fake:
        for n in range(120):
            fake.add_comment(12, f"remark {n}", login="octocat")
        env = env_for(fake, tmp_path)
        assert env["GITHUB_API_URL"].endswith("/api/v3")
        comment(seed_scenario(), env)
    assert len(fake.ours(12)) == 1 and len(fake.seen("GET")) == 2


def test_a_foreign_comment_carrying_our_marker_is_left_alone(tmp_path: Path) -> None:
    """Someone pasted our marker into their own comment: the gate never edits it and writes its own."""
    with github() as fake:
        foreign = fake.add_comment(12, marker(KEY) + "\nI copied this", login="mallory")
        comment(seed_scenario(), env_for(fake, tmp_path))
    assert foreign["body"] == marker(KEY) + "\nI copied this"
    assert len(fake.ours(12)) == 1 and not fake.seen("PATCH")


def test_another_gate_jobs_comment_is_not_ours(tmp_path: Path) -> None:
    """Two gate jobs on one pull request own one comment each, by key."""
    with github() as fake:
        env = env_for(fake, tmp_path)
        comment(seed_scenario(), env)
        comment(seed_scenario(), env, key="smoke")
        comment(passing(), env, key="smoke")
    bodies = [c["body"] for c in fake.ours(12)]
    assert len(bodies) == 2 and "❌" in bodies[0] and "✅ DocketQA: passed" in bodies[1]


def test_comment_author_option_matches_a_personal_token(tmp_path: Path) -> None:
    """With a user's token, comments are by that user: --comment-author names them."""
    with github(bot="release-bot") as fake:
        env = env_for(fake, tmp_path)
        comment(seed_scenario(), env, author="release-bot")
        comment(passing(), env, author="release-bot")
    assert len(fake.ours(12)) == 1


def one_warning(notes: list[CommentNote]) -> str:
    assert len(notes) == 1 and notes[0].warning, notes
    assert "\n" not in notes[0].text
    return notes[0].text


def test_a_fork_pull_requests_read_only_token_gives_one_warning_naming_the_permission(tmp_path: Path) -> None:
    with github() as fake:
        fake.read_only = True
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path)))
    assert text == (
        "no pull-request comment: GitHub refused POST /repos/octo/app/issues/12/comments (HTTP 403 (Resource not "
        "accessible by integration)): give the job `permissions: pull-requests: write`; a pull request from a fork "
        "gets a read-only token (README: Pull-request comments)"
    )


def test_server_errors_are_retried_for_a_bounded_time_then_one_warning(tmp_path: Path) -> None:
    """GETs are safe to repeat: 502s are retried with backoff, never past 30 s, then one warning."""
    clock = FakeClock()
    with github() as fake:
        fake.fail(Fault("GET", "/comments", 502, {"message": "Server Error"}, times=100))
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path), clock=clock))
    assert "GitHub kept answering GET /repos/octo/app/issues/12/comments with HTTP 502" in text
    assert 2 <= len(fake.seen("GET")) <= 4 and sum(clock.sleeps) < 30
    assert not fake.seen("POST")


def test_a_server_error_that_clears_up_is_retried_and_the_comment_written(tmp_path: Path) -> None:
    with github() as fake:
        fake.fail(Fault("GET", "/comments", 503, {"message": "busy"}, times=1))
        notes = comment(seed_scenario(), env_for(fake, tmp_path))
    assert not notes[0].warning and len(fake.ours(12)) == 1


def test_a_post_that_failed_with_a_server_error_is_not_repeated(tmp_path: Path) -> None:
    """A 500 on POST may still have created the comment: posting again could make two."""
    with github() as fake:
        fake.fail(Fault("POST", "/comments", 500, {"message": "Server Error"}, times=5))
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path)))
    assert len(fake.seen("POST")) == 1 and "not repeated" in text


def test_a_rate_limit_past_the_budget_is_one_warning_without_waiting_an_hour(tmp_path: Path) -> None:
    clock = FakeClock()
    reset = int(NOW.timestamp()) + 1800
    limited = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset), "x-ratelimit-limit": "1000"}
    with github() as fake:
        fake.fail(Fault("GET", "/comments", 403, {"message": "API rate limit exceeded"}, limited, times=100))
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path), clock=clock))
    assert text.startswith("no pull-request comment: GitHub rate-limited this token (HTTP 403) until 22:30:00 UTC")
    assert clock.sleeps == [] and len(fake.seen()) == 1


def test_a_short_retry_after_is_honoured_then_the_comment_written(tmp_path: Path) -> None:
    """A secondary rate limit asking for 3 s: waited (in fake time), and even a POST is safe to repeat."""
    clock = FakeClock()
    with github() as fake:
        fake.fail(Fault("POST", "/comments", 429, {"message": "secondary rate limit"}, {"Retry-After": "3"}))
        notes = comment(seed_scenario(), env_for(fake, tmp_path), clock=clock)
    assert not notes[0].warning and len(fake.ours(12)) == 1
    assert len(clock.sleeps) == 1 and clock.sleeps[0] >= 3


def test_x_ratelimit_reset_on_an_ordinary_error_is_not_a_reason_to_wait(tmp_path: Path) -> None:
    """GitHub sends x-ratelimit-reset on every response: after a plain 500 the gate must not wait for it."""
    clock = FakeClock()
    # What GitHub sends on every answer: requests left, and when the hour's quota resets (an hour from now).
    quota = {"x-ratelimit-remaining": "4987", "x-ratelimit-reset": str(int(time.time()) + 3600)}
    with github() as fake:
        fake.fail(Fault("GET", "/comments", 500, {"message": "oops"}, quota, times=1))
        comment(seed_scenario(), env_for(fake, tmp_path), clock=clock)
    assert len(clock.sleeps) == 1 and clock.sleeps[0] <= 1.0


def test_x_ratelimit_reset_on_a_permission_error_is_not_a_reason_to_wait(tmp_path: Path) -> None:
    """A fork's read-only token (403, not a rate limit) carries the quota headers too: one warning, no waiting."""
    clock = FakeClock()
    quota = {"x-ratelimit-remaining": "4987", "x-ratelimit-reset": str(int(time.time()) + 3600)}
    with github() as fake:
        fake.fail(Fault("POST", "/comments", 403, {"message": "Resource not accessible by integration"}, quota))
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path), clock=clock))
    assert "pull-requests: write" in text and clock.sleeps == []


def test_an_unreachable_api_is_one_warning_that_names_the_setting(tmp_path: Path) -> None:
    clock = FakeClock()
    with github() as fake:
        env = env_for(fake, tmp_path)
    env["GITHUB_API_URL"] = f"http://127.0.0.1:{free_port()}"
    text = one_warning(comment(seed_scenario(), env, clock=clock))
    assert "cannot be reached" in text and "check GITHUB_API_URL" in text
    assert sum(clock.sleeps) < 30


@pytest.mark.parametrize(("status", "expected"), [
    (404, "check the pull request number (--pr, pr-number), GITHUB_REPOSITORY"),
    (422, "GitHub refused POST /repos/octo/app/issues/12/comments (HTTP 422 (Validation Failed))"),
    (401, "check GITHUB_TOKEN, the github-token input or --github-token-file"),
    (403, "(Unable to create comment because issue is locked.)): the conversation is locked"),
])
def test_refusals_are_one_warning_that_says_what_to_change(tmp_path: Path, status: int, expected: str) -> None:
    with github() as fake:
        message = {404: "Not Found", 422: "Validation Failed", 401: "Bad credentials",
                   403: "Unable to create comment because issue is locked."}[status]
        fake.fail(Fault("POST", "/comments", status, {"message": message}))
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path)))
    assert expected in text


def test_a_redirect_to_another_host_is_not_followed_with_the_token(tmp_path: Path) -> None:
    with github() as fake, github() as elsewhere:
        fake.fail(Fault("GET", "/comments", 307, None, {"Location": elsewhere.url.replace("127.0.0.1", "localhost")
                                                        + "/steal"}))
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path)))
    assert elsewhere.seen() == [] and "not followed so the token never leaves 127.0.0.1" in text


def test_no_token_is_one_warning_and_no_request(tmp_path: Path) -> None:
    with github() as fake:
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path), token=None))
    assert "no GitHub token" in text and fake.seen() == []


def test_the_token_reaches_no_output_even_when_the_api_echoes_it(tmp_path: Path) -> None:
    """An error body that quotes the token never carries it into the warning."""
    with github() as fake:
        fake.fail(Fault("POST", "/comments", 422, {"message": f"bad token {TEST_GITHUB_TOKEN}"}))
        text = one_warning(comment(seed_scenario(), env_for(fake, tmp_path)))
    assert TEST_GITHUB_TOKEN not in text and "***" in text


def test_the_fakes_json_is_what_githubs_models_accept(tmp_path: Path) -> None:
    """The fake answers as GitHub documents: its comments and pull requests validate against githubkit's models."""
    models = pytest.importorskip("githubkit_schemas.v2022_11_28.models")
    with github() as fake:
        fake.add_pull(9, head_sha=HEAD_SHA)
        comment(seed_scenario(), env_for(fake, tmp_path, event="push"))
        comment(seed_scenario(), env_for(fake, tmp_path, event="push"))
    for c in fake.comments[9]:
        models.IssueComment.model_validate(c)
    for p in fake.pulls:
        models.PullRequestSimple.model_validate(p)
    assert BOT == fake.comments[9][0]["user"]["login"]


def test_the_client_never_shows_the_token_in_its_repr() -> None:
    from gate.platforms.forge_http import ForgeHttp
    from gate.platforms.github_comment import auth_headers, explain

    token = Secret(TEST_GITHUB_TOKEN)
    http = ForgeHttp(forge="GitHub", base_url="http://127.0.0.1:9", token=token,
                     auth_headers=auth_headers(token.reveal()), explain=explain, clock=FakeClock())
    shown = repr(http)
    http.close()
    assert "***" in shown and "ghs_" not in shown
