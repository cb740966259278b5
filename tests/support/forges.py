"""Loopback fakes of the GitHub and GitLab REST APIs for the sticky comment, answering as their docs say."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.keys import TEST_GITHUB_TOKEN, TEST_GITLAB_TOKEN

BOT = "github-actions[bot]"
CREATED = "2026-11-29T21:00:00Z"


@dataclasses.dataclass(frozen=True)
class Fault:
    """An answer given instead of the real one to the next ``times`` requests whose path contains ``path``."""

    method: str
    path: str
    status: int
    body: Any = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    times: int = 1


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query, without the API prefix
    headers: Mapping[str, str]  # lower-cased names
    body: Any


class _Fake:
    """A threaded server on 127.0.0.1 with scripted faults and a request log; subclasses route requests."""

    prefix = ""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[Request] = []
        self.faults: list[list[Any]] = []
        self.lock = threading.Lock()
        self._next_id = 1000
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return self.origin + self.prefix

    def fail(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append([fault, fault.times])

    def seen(self, method: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method)]

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def handle(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.requests.append(request)
            for entry in self.faults:
                fault, left = entry
                if left > 0 and fault.method == request.method and fault.path in request.path:
                    entry[1] -= 1
                    return fault.status, fault.body, dict(fault.headers)
            return self.route(request)

    def route(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError


class FakeGitHub(_Fake):
    """Issue comments, PATCH/POST, and commits/{sha}/pulls, with GitHub's pagination and headers."""

    def __init__(self, *, prefix: str = "", repository: str = "octo/app", bot: str = BOT) -> None:
        super().__init__(TEST_GITHUB_TOKEN)
        self.prefix = prefix
        self.repository = repository
        self.bot = bot
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.pulls: list[dict[str, Any]] = []
        #: A fork pull request's token: reading works, writing is "not accessible by integration".
        self.read_only = False

    def add_comment(self, number: int, body: str, *, login: str | None = None) -> dict[str, Any]:
        with self.lock:
            comment = self._comment(number, body, login or self.bot)
            self.comments.setdefault(number, []).append(comment)
            return comment

    def add_pull(self, number: int, *, head_sha: str, state: str = "open") -> None:
        self.pulls.append(pull_request(self.url, self.repository, number=number, head_sha=head_sha, state=state))

    def ours(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.get(number, []) if c["user"]["login"] == self.bot]

    def route(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4987",
                   "x-ratelimit-reset": str(int(time.time()) + 3600), "x-github-api-version-selected": "2022-11-28"}
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, headers
        path = urlsplit(request.path).path
        repo = f"/repos/{self.repository}"
        if request.method != "GET" and self.read_only:
            return 403, {"message": "Resource not accessible by integration", "documentation_url": DOCS,
                         "status": "403"}, headers
        if m := re.fullmatch(rf"{repo}/issues/(\d+)/comments", path):
            number = int(m.group(1))
            if request.method == "POST":
                comment = self._comment(number, request.body["body"], self.bot)
                self.comments.setdefault(number, []).append(comment)
                return 201, comment, {**headers, "Location": comment["url"]}
            return self._page(request, self.comments.get(number, []), headers)
        if (m := re.fullmatch(rf"{repo}/issues/comments/(\d+)", path)) and request.method == "PATCH":
            for comment in (c for cs in self.comments.values() for c in cs):
                if comment["id"] == int(m.group(1)):
                    comment["body"] = request.body["body"]
                    comment["updated_at"] = "2026-11-29T22:00:00Z"
                    return 200, comment, headers
        if (m := re.fullmatch(rf"{repo}/commits/([0-9a-f]+)/pulls", path)) and request.method == "GET":
            return 200, [p for p in self.pulls if p["head"]["sha"] == m.group(1)], headers
        return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, headers

    def _page(self, request: Request, items: list[Any], headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """GitHub's pagination: ``per_page`` (default 30, at most 100), ``page``, and a ``Link`` header."""
        query = parse_qs(urlsplit(request.path).query)
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(items) // per_page))
        base = self.url + urlsplit(request.path).path
        links = []
        if page < last:
            links += [f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"',
                      f'<{base}?per_page={per_page}&page={last}>; rel="last"']
        if page > 1:
            links += [f'<{base}?per_page={per_page}&page=1>; rel="first"',
                      f'<{base}?per_page={per_page}&page={page - 1}>; rel="prev"']
        if links:
            headers = {**headers, "Link": ", ".join(links)}
        return 200, items[(page - 1) * per_page: page * per_page], headers

    def _comment(self, number: int, body: str, login: str) -> dict[str, Any]:
        cid = self.new_id()
        repo = f"{self.url}/repos/{self.repository}"
        return {
            "id": cid, "node_id": f"IC_kwDO{cid}", "url": f"{repo}/issues/comments/{cid}",
            "html_url": f"https://github.com/{self.repository}/pull/{number}#issuecomment-{cid}",
            "body": body, "user": user(self.url, login), "created_at": CREATED, "updated_at": CREATED,
            "issue_url": f"{repo}/issues/{number}", "author_association": "NONE",
            "performed_via_github_app": None,
            "reactions": {"url": f"{repo}/issues/comments/{cid}/reactions", "total_count": 0, "+1": 0, "-1": 0,
                          "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
        }


class FakeGitLab(_Fake):
    """GET /user and merge request notes (GET, POST, PUT) with GitLab's offset pagination headers."""

    prefix = "/api/v4"

    def __init__(self, *, project: str = "42", user_id: int = 7) -> None:
        super().__init__(TEST_GITLAB_TOKEN)
        self.project = project
        self.user_id = user_id
        self.notes: dict[int, list[dict[str, Any]]] = {}

    def add_note(self, iid: int, body: str, *, author_id: int | None = None, system: bool = False) -> dict[str, Any]:
        with self.lock:
            note = self._note(iid, body, author_id or self.user_id, system=system)
            self.notes.setdefault(iid, []).append(note)
            return note

    def ours(self, iid: int) -> list[dict[str, Any]]:
        return [n for n in self.notes.get(iid, []) if n["author"]["id"] == self.user_id]

    def route(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        if request.headers.get("private-token") != self.token:
            return 401, {"message": "401 Unauthorized"}, {}
        path = urlsplit(request.path).path
        if path == "/user" and request.method == "GET":
            return 200, gitlab_user(self.origin, self.user_id), {}
        m = re.fullmatch(rf"/projects/{self.project}/merge_requests/(\d+)/notes(?:/(\d+))?", path)
        if m is None:
            return 404, {"message": "404 Not found"}, {}
        iid, note_id = int(m.group(1)), m.group(2)
        notes = self.notes.setdefault(iid, [])
        if request.method == "GET" and note_id is None:
            return self._page(request, notes)
        if request.method == "POST" and note_id is None:
            note = self._note(iid, request.body["body"], self.user_id)
            notes.append(note)
            return 201, note, {}
        if request.method == "PUT" and note_id is not None:
            for note in notes:
                if note["id"] == int(note_id):
                    note["body"] = request.body["body"]
                    return 200, note, {}
        return 404, {"message": "404 Note Not Found"}, {}

    def _page(self, request: Request, items: list[Any]) -> tuple[int, Any, dict[str, str]]:
        query = parse_qs(urlsplit(request.path).query)
        per_page = min(int(query.get("per_page", ["20"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        pages = max(1, -(-len(items) // per_page))
        headers = {"x-page": str(page), "x-per-page": str(per_page), "x-total": str(len(items)),
                   "x-total-pages": str(pages), "x-next-page": str(page + 1) if page < pages else "",
                   "x-prev-page": str(page - 1) if page > 1 else ""}
        return 200, items[(page - 1) * per_page: page * per_page], headers

    def _note(self, iid: int, body: str, author_id: int, *, system: bool = False) -> dict[str, Any]:
        return {
            "id": self.new_id(), "type": None, "body": body, "attachment": None,
            "author": gitlab_user(self.origin, author_id), "created_at": "2026-11-29T21:00:00.000Z",
            "updated_at": "2026-11-29T21:00:00.000Z", "system": system, "noteable_id": 900 + iid,
            "noteable_type": "MergeRequest", "project_id": int(self.project), "resolvable": False,
            "confidential": False, "internal": False, "noteable_iid": iid, "commands_changes": {},
        }


DOCS = "https://docs.github.com/rest"


def user(api: str, login: str) -> dict[str, Any]:
    """A ``simple-user`` object, as GitHub embeds it in comments and pull requests."""
    u = f"{api}/users/{login}"
    return {
        "login": login, "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4", "gravatar_id": "", "url": u,
        "html_url": f"https://github.com/apps/{login}", "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}", "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs", "repos_url": f"{u}/repos", "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events", "type": "Bot", "user_view_type": "public",
        "site_admin": False,
    }


_REPO_URLS = (
    "archive", "assignees", "blobs", "branches", "collaborators", "comments", "commits", "compare", "contents",
    "contributors", "deployments", "downloads", "events", "forks", "git_commits", "git_refs", "git_tags",
    "issue_comment", "issue_events", "issues", "keys", "labels", "languages", "merges", "milestones",
    "notifications", "pulls", "releases", "stargazers", "statuses", "subscribers", "subscription", "tags",
    "teams", "trees", "hooks",
)


def repository(api: str, full_name: str) -> dict[str, Any]:
    """A ``repository`` object (the one a pull request's head and base carry)."""
    owner, name = full_name.split("/")
    url = f"{api}/repos/{full_name}"
    repo: dict[str, Any] = {f"{kind}_url": f"{url}/{kind.replace('_', '/')}" for kind in _REPO_URLS}
    repo.update({
        "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": name, "full_name": full_name,
        "license": None, "forks": 0, "owner": user(api, owner) | {"type": "Organization"},
        "private": False, "html_url": f"https://github.com/{full_name}", "description": None, "fork": False,
        "url": url, "git_url": f"git://github.com/{full_name}.git", "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"https://github.com/{full_name}.git", "mirror_url": None,
        "svn_url": f"https://github.com/{full_name}", "homepage": None, "language": "Python", "forks_count": 0,
        "stargazers_count": 0, "watchers_count": 0, "size": 108, "default_branch": "main", "open_issues_count": 1,
        "has_pages": False, "disabled": False, "pushed_at": CREATED, "created_at": CREATED, "updated_at": CREATED,
        "open_issues": 1, "watchers": 0,
    })
    return repo


def pull_request(api: str, full_name: str, *, number: int, head_sha: str, state: str) -> dict[str, Any]:
    """A ``pull-request-simple`` object, as ``GET /repos/{o}/{r}/commits/{sha}/pulls`` lists them."""
    url = f"{api}/repos/{full_name}/pulls/{number}"
    issue = f"{api}/repos/{full_name}/issues/{number}"
    html = f"https://github.com/{full_name}/pull/{number}"
    owner = full_name.split("/")[0]

    def ref(name: str, sha: str) -> dict[str, Any]:
        return {"label": f"{owner}:{name}", "ref": name, "sha": sha, "user": user(api, owner),
                "repo": repository(api, full_name)}

    return {
        "url": url, "id": 1000 + number, "node_id": f"PR_kwDO{number}", "html_url": html,
        "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue,
        "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/repos/{full_name}/pulls/comments{{/number}}", "comments_url": f"{issue}/comments",
        "statuses_url": f"{api}/repos/{full_name}/statuses/{head_sha}", "number": number, "state": state,
        "locked": False, "title": "Checkout page", "user": user(api, "octocat") | {"type": "User"}, "body": None,
        "labels": [], "milestone": None, "created_at": CREATED, "updated_at": CREATED,
        "closed_at": None if state == "open" else CREATED, "merged_at": None, "merge_commit_sha": None,
        "assignee": None, "assignees": [], "requested_reviewers": [], "requested_teams": [],
        "head": ref("feature", head_sha), "base": ref("main", "0" * 40),
        "_links": {k: {"href": v} for k, v in (("self", url), ("html", html), ("issue", issue),
                                               ("comments", f"{issue}/comments"),
                                               ("review_comments", f"{url}/comments"),
                                               ("review_comment", f"{api}/repos/{full_name}/pulls/comments{{/number}}"),
                                               ("commits", f"{url}/commits"),
                                               ("statuses", f"{api}/repos/{full_name}/statuses/{head_sha}"))},
        "author_association": "MEMBER", "auto_merge": None, "draft": False,
    }


def gitlab_user(origin: str, user_id: int) -> dict[str, Any]:
    """A GitLab user as ``GET /user`` and a note's ``author`` show it."""
    name = f"project_42_bot_{user_id}"
    return {"id": user_id, "username": name, "name": "DocketQA gate", "state": "active", "locked": False,
            "avatar_url": None, "web_url": f"{origin}/{name}"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        fake: _Fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path
        if fake.prefix and path.startswith(fake.prefix):
            path = path[len(fake.prefix):]
        elif fake.prefix:
            self._send(404, {"message": "Not Found"}, {})
            return
        body = json.loads(raw) if raw else None
        status, payload, headers = fake.handle(Request(self.command, path, {k.lower(): v for k, v in self.headers.items()}, body))
        self._send(status, payload, headers)

    def _send(self, status: int, payload: Any, headers: Mapping[str, str]) -> None:
        data = b"" if payload is None else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def github(**kwargs: Any) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(**kwargs)
    try:
        yield fake
    finally:
        fake.stop()


@contextmanager
def gitlab(**kwargs: Any) -> Iterator[FakeGitLab]:
    fake = FakeGitLab(**kwargs)
    try:
        yield fake
    finally:
        fake.stop()
