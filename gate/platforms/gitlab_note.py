"""The gate's sticky note on a GitLab merge request: the token's user, its note with our marker, PUT or POST."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from urllib.parse import quote

from gate.clock import Clock
from gate.failures import excerpt
from gate.outcome import Outcome
from gate.platforms.forge_http import CommentFailed, CommentSkipped, ForgeHttp, Written, WrittenAs
from gate.reports.comment import CommentContext, marker, render_comment
from gate.secret import Secret

TOKEN_VARIABLE = "DOCKETQA_GITLAB_TOKEN"
#: 100 pages of 100 notes; bounds a misbehaving X-Next-Page.
MAX_PAGES = 100
TOKEN_HINT = (
    f"set {TOKEN_VARIABLE} to a project or personal access token with the api scope (CI_JOB_TOKEN cannot write notes)"
)


def comment_on_gitlab(
    outcome: Outcome,
    *,
    env: Mapping[str, str],
    key: str | None,
    iid: int | None,
    token: Secret,
    create: bool,
    clock: Clock,
    wall_clock: Callable[[], dt.datetime],
) -> list[Written]:
    """The gate's note on this pipeline's merge request, from GitLab's predefined variables."""
    raw_iid = env.get("CI_MERGE_REQUEST_IID", "").strip()
    if iid is None and not raw_iid.isdigit():
        raise CommentSkipped(
            "not a merge request pipeline (no CI_MERGE_REQUEST_IID), so no note was written: run the job in merge "
            "request pipelines or pass --pr"
        )
    api_url, project = env.get("CI_API_V4_URL", "").strip(), env.get("CI_PROJECT_ID", "").strip()
    if not api_url or not project:
        raise CommentFailed("CI_API_V4_URL or CI_PROJECT_ID is not set: run inside GitLab CI")
    if not token:
        raise CommentFailed(f"no GitLab token: {TOKEN_HINT}")
    context = _context(env, key=key, now=wall_clock())
    http = ForgeHttp(
        forge="GitLab", base_url=api_url, token=token, auth_headers=auth_headers(token.reveal()), explain=explain,
        clock=clock, wall_clock=wall_clock, base_hint="CI_API_V4_URL",
    )
    try:
        author_id = token_user_id(http)
        body = render_comment(outcome, context)
        number = iid if iid is not None else int(raw_iid)
        return [upsert_note(http, project=project, iid=number, marker=marker(context.key), body=body,
                            author_id=author_id, create=create)]
    finally:
        http.close()


def _context(env: Mapping[str, str], *, key: str | None, now: dt.datetime) -> CommentContext:
    """The key (default: the job name), the commit tested and the pipeline's link."""
    sha = env.get("CI_COMMIT_SHA", "").strip()
    project_url = env.get("CI_PROJECT_URL", "").rstrip("/")
    return CommentContext(
        key=key or env.get("CI_JOB_NAME", "").strip() or "docketqa-gate", updated_at=now, commit=sha or None,
        commit_url=f"{project_url}/-/commit/{sha}" if sha and project_url else None,
        run_url=env.get("CI_PIPELINE_URL", "").strip() or None,
    )


def auth_headers(token: str) -> dict[str, str]:
    return {"PRIVATE-TOKEN": token, "Accept": "application/json"}


def explain(status: int, message: str, call: str) -> str:
    """The warning line for a refusal that another try cannot fix, naming what to change."""
    said = f" ({message})" if message else ""
    if status == 401:
        return f"GitLab rejected the token for {call} (HTTP 401{said}): {TOKEN_HINT}"
    if status == 403:
        return f"GitLab refused {call} (HTTP 403{said}): the token needs the api scope and at least Reporter access"
    if status == 404:
        return (
            f"GitLab answered {call} with HTTP 404{said}: check the merge request IID (--pr, CI_MERGE_REQUEST_IID), "
            "CI_PROJECT_ID, and that the token can read the project"
        )
    return f"GitLab answered {call} with HTTP {status}{said}: the note was not written"


def token_user_id(http: ForgeHttp) -> int:
    """The id of the token's user (``GET /user``): only its notes are ever edited."""
    reply = http.request("GET", http.url("/user"))
    user_id = reply.data.get("id") if isinstance(reply.data, dict) else None
    if not isinstance(user_id, int):
        raise CommentFailed(f"GitLab's answer to GET /user has no user id: \"{excerpt(str(reply.data))}\"")
    return user_id


def upsert_note(
    http: ForgeHttp, *, project: str, iid: int, marker: str, body: str, author_id: int, create: bool
) -> Written:
    """PUT the note by ``author_id`` that carries ``marker``, else POST one if ``create``; never two."""
    notes = f"/projects/{quote(project, safe='')}/merge_requests/{iid}/notes"
    existing = find_note(http, notes_path=notes, marker=marker, author_id=author_id)
    if existing is not None:
        http.request("PUT", http.url(f"{notes}/{existing}"), payload={"body": body})
        return Written(WrittenAs.UPDATED, iid)
    if not create:
        return Written(WrittenAs.SKIPPED, iid)
    http.request("POST", http.url(notes), payload={"body": body})
    return Written(WrittenAs.CREATED, iid)


def find_note(http: ForgeHttp, *, notes_path: str, marker: str, author_id: int) -> int | None:
    """The id of the oldest note by ``author_id`` whose body starts with ``marker`` (system notes never count)."""
    for note in _notes(http, notes_path):
        author = note.get("author")
        body = note.get("body")
        note_id = note.get("id")
        mine = isinstance(author, dict) and author.get("id") == author_id and not note.get("system")
        if mine and isinstance(body, str) and body.lstrip().startswith(marker) and isinstance(note_id, int):
            return note_id
    return None


def _notes(http: ForgeHttp, notes_path: str) -> Iterator[dict[str, object]]:
    page = "1"
    for _ in range(MAX_PAGES):
        reply = http.request(
            "GET", http.url(f"{notes_path}?per_page=100&sort=asc&order_by=created_at&page={quote(page, safe='')}")
        )
        if not isinstance(reply.data, list):
            raise CommentFailed(f"GitLab's list of notes is not a list: \"{excerpt(str(reply.data))}\"")
        yield from (n for n in reply.data if isinstance(n, dict))
        page = reply.headers.get("X-Next-Page", "").strip()
        if not page.isdigit():
            return
