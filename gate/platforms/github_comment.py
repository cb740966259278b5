"""The gate's sticky comment on a GitHub pull request: which pull requests, which comment is ours, PATCH or POST."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gate.clock import Clock
from gate.failures import excerpt
from gate.outcome import Outcome
from gate.platforms.forge_http import CommentFailed, CommentSkipped, ForgeHttp, Written, WrittenAs
from gate.reports.comment import CommentContext, marker, render_comment
from gate.secret import Secret

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
#: The login of comments written with the workflow's own GITHUB_TOKEN.
DEFAULT_AUTHOR = "github-actions[bot]"
API_VERSION = "2022-11-28"
#: 100 pages of 100 comments: more than any pull request has; bounds a misbehaving Link header.
MAX_PAGES = 100
PERMISSION_HINT = "give the job `permissions: pull-requests: write`"
FORK_HINT = "a pull request from a fork gets a read-only token (README: Pull-request comments)"
_PR_EVENTS = frozenset({"pull_request", "pull_request_target"})


def comment_on_github(
    outcome: Outcome,
    *,
    env: Mapping[str, str],
    key: str | None,
    pr: int | None,
    author: str | None,
    token: Secret,
    create: bool,
    clock: Clock,
    wall_clock: Callable[[], dt.datetime],
) -> list[Written]:
    """The gate's comment on this run's pull request(s), from the workflow's environment and event."""
    repository = env.get("GITHUB_REPOSITORY", "")
    if "/" not in repository:
        raise CommentFailed("GITHUB_REPOSITORY is not set to owner/name: run inside GitHub Actions")
    if not token:
        raise CommentFailed("no GitHub token: set GITHUB_TOKEN, the github-token input, or --github-token-file PATH")
    pull = event_pull_request(env, read_event(env))
    http = ForgeHttp(
        forge="GitHub", base_url=env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL, token=token,
        auth_headers=auth_headers(token.reveal()), explain=explain, clock=clock, wall_clock=wall_clock,
        base_hint="GITHUB_API_URL",
    )
    try:
        numbers = _pull_numbers(http, pr=pr, pull=pull, repository=repository, sha=env.get("GITHUB_SHA", ""))
        context = _context(env, pull=pull, repository=repository, key=key, now=wall_clock())
        body = render_comment(outcome, context)
        return [
            upsert_comment(http, repository=repository, number=n, marker=marker(context.key), body=body,
                           author=author or DEFAULT_AUTHOR, create=create)
            for n in numbers
        ]
    finally:
        http.close()


def _context(
    env: Mapping[str, str], *, pull: Mapping[str, Any], repository: str, key: str | None, now: dt.datetime
) -> CommentContext:
    """The key (default: workflow / job), the commit the pull request's head is at, and the workflow run's link."""
    head = pull.get("head")
    # On pull_request events GITHUB_SHA is GitHub's merge commit; reviewers know the head commit.
    sha = (head.get("sha") if isinstance(head, dict) else None) or env.get("GITHUB_SHA", "")
    server = env.get("GITHUB_SERVER_URL", "").rstrip("/") or DEFAULT_SERVER_URL
    run_id = env.get("GITHUB_RUN_ID", "")
    key = key or " / ".join(part for part in (env.get("GITHUB_WORKFLOW"), env.get("GITHUB_JOB")) if part)
    return CommentContext(
        key=key or "docketqa-gate", updated_at=now, commit=sha or None,
        commit_url=f"{server}/{repository}/commit/{sha}" if sha else None,
        run_url=f"{server}/{repository}/actions/runs/{run_id}" if run_id.isdigit() else None,
    )


def _pull_numbers(http: ForgeHttp, *, pr: int | None, pull: Mapping[str, Any], repository: str, sha: str) -> list[int]:
    """--pr, else the event's pull request, else the open pull requests whose head is the pushed commit."""
    if pr is not None:
        return [pr]
    number = pull.get("number")
    if isinstance(number, int) and not isinstance(number, bool):
        return [number]
    if not sha:
        raise CommentSkipped("no pull request and no GITHUB_SHA to find one: no comment (pass --pr / pr-number)")
    numbers = open_pull_requests_for(http, repository=repository, sha=sha)
    if not numbers:
        raise CommentSkipped(
            f"no open pull request has commit {sha[:7]} as its head, so no comment was written (pass --pr / pr-number "
            "to choose one)"
        )
    return numbers


def read_event(env: Mapping[str, str]) -> dict[str, Any]:
    """The webhook payload GitHub saved for this workflow run ({} when missing or unreadable)."""
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def event_pull_request(env: Mapping[str, str], event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event's ``pull_request`` object on pull_request(_target) events, else {}."""
    pull = event.get("pull_request") if env.get("GITHUB_EVENT_NAME") in _PR_EVENTS else None
    return pull if isinstance(pull, dict) else {}


def auth_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }


def explain(status: int, message: str, call: str) -> str:
    """The warning line for a refusal that another try cannot fix, naming what to change."""
    said = f" ({message})" if message else ""
    if status == 401:
        return f"GitHub rejected the token for {call} (HTTP 401{said}): check GITHUB_TOKEN, the github-token input or --github-token-file"
    if status == 403 and "locked" in message.lower():
        return f"GitHub refused {call} (HTTP 403{said}): the conversation is locked; unlock it to get the comment"
    if status == 403 and "not accessible by integration" in message.lower():
        return f"GitHub refused {call} (HTTP 403{said}): {PERMISSION_HINT}; {FORK_HINT}"
    if status == 403:
        return f"GitHub refused {call} (HTTP 403{said}): {PERMISSION_HINT}, or give a token that may comment"
    if status == 404:
        return (
            f"GitHub answered {call} with HTTP 404{said}: check the pull request number (--pr, pr-number), "
            "GITHUB_REPOSITORY, and that the token can read the repository"
        )
    if status == 410:
        return f"GitHub answered {call} with HTTP 410{said}: issues are disabled for this repository"
    if status == 422:
        return f"GitHub refused {call} (HTTP 422{said}): the comment was not written"
    return f"GitHub answered {call} with HTTP {status}{said}: the comment was not written"


def open_pull_requests_for(http: ForgeHttp, *, repository: str, sha: str) -> list[int]:
    """Open pull requests whose head is ``sha`` (what a push event can comment on), in the order GitHub lists them."""
    reply = http.request("GET", http.url(f"/repos/{_repo_path(repository)}/commits/{quote(sha, safe='')}/pulls"))
    found = []
    for pull in reply.data if isinstance(reply.data, list) else []:
        if not isinstance(pull, dict) or pull.get("state") != "open":
            continue
        head = pull.get("head")
        number = pull.get("number")
        if isinstance(head, dict) and head.get("sha") == sha and isinstance(number, int):
            found.append(number)
    return found


def upsert_comment(
    http: ForgeHttp, *, repository: str, number: int, marker: str, body: str, author: str, create: bool
) -> Written:
    """PATCH the comment by ``author`` that carries ``marker``, else POST one if ``create``; never two."""
    repo = _repo_path(repository)
    existing = find_comment(http, repository=repository, number=number, marker=marker, author=author)
    if existing is not None:
        reply = http.request("PATCH", http.url(f"/repos/{repo}/issues/comments/{existing}"), payload={"body": body})
        return Written(WrittenAs.UPDATED, number, _html_url(reply.data))
    if not create:
        return Written(WrittenAs.SKIPPED, number)
    reply = http.request("POST", http.url(f"/repos/{repo}/issues/{number}/comments"), payload={"body": body})
    return Written(WrittenAs.CREATED, number, _html_url(reply.data))


def find_comment(http: ForgeHttp, *, repository: str, number: int, marker: str, author: str) -> int | None:
    """The id of the first comment ``author`` wrote whose body carries ``marker`` (anyone else's is left alone)."""
    for comment in _comments(http, repository=repository, number=number):
        user = comment.get("user")
        login = user.get("login") if isinstance(user, dict) else None
        body = comment.get("body")
        comment_id = comment.get("id")
        if login == author and isinstance(body, str) and _carries(body, marker) and isinstance(comment_id, int):
            return comment_id
    return None


def _comments(http: ForgeHttp, *, repository: str, number: int) -> Iterator[dict[str, object]]:
    url: str | None = http.url(f"/repos/{_repo_path(repository)}/issues/{number}/comments?per_page=100")
    for _ in range(MAX_PAGES):
        if url is None:
            return
        reply = http.request("GET", url)
        if not isinstance(reply.data, list):
            raise CommentFailed(f"GitHub's list of comments on #{number} is not a list: \"{excerpt(str(reply.data))}\"")
        yield from (c for c in reply.data if isinstance(c, dict))
        url = reply.links.get("next", {}).get("url")


def _carries(body: str, marker: str) -> bool:
    # The marker is our first line; GitHub may store the body with CRLF line endings.
    return body.lstrip().startswith(marker)


def _html_url(data: object) -> str | None:
    url = data.get("html_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


def _repo_path(repository: str) -> str:
    owner, _, name = repository.partition("/")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"
