"""HTTP to GitHub or GitLab for the sticky comment: one host, no redirects off it, retries bounded by ~30 s."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from gate import PROG, __version__
from gate.clock import Clock
from gate.failures import api_message, excerpt, never_connected
from gate.retry import RetryPolicy, parse_retry_after
from gate.secret import Secret

if TYPE_CHECKING:
    import requests

#: All the comment may cost a gate, retries and waits included: it is a courtesy.
BUDGET_S = 30.0
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_REDIRECTS = 3
USER_AGENT = f"{PROG}/{__version__}"
RETRY = RetryPolicy(base_s=1.0, cap_s=8.0, max_failures=4)
#: Worth another try for a request that is safe to repeat.
_TRANSIENT = frozenset({500, 502, 503, 504})


class CommentFailed(Exception):
    """The comment could not be written; ``message`` is the one warning line (what happened, what to change)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrittenAs(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    #: ``failures`` mode on a pass with no comment to turn green: nothing was written.
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class Written:
    """What happened to the comment on one pull (merge) request."""

    action: WrittenAs
    number: int
    url: str | None = None


class CommentSkipped(Exception):
    """Nothing to comment on (no pull request for this commit, not a merge request pipeline): a plain note."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class ForgeReply:
    status: int
    headers: Mapping[str, str]
    data: Any
    #: The ``Link`` header parsed by requests: {"next": {"url": ...}, ...}.
    links: Mapping[str, Mapping[str, str]]
    url: str


#: (status, the API's own message, the call) -> the warning line for a refusal that retrying cannot fix.
Explain = Callable[[int, str, str], str]


@dataclasses.dataclass
class ForgeHttp:
    """Requests to one API base; every failure becomes ``CommentFailed`` with a line that names the fix."""

    forge: str
    base_url: str
    token: Secret
    #: Holds the token in clear: never in a repr.
    auth_headers: Mapping[str, str] = dataclasses.field(repr=False)
    explain: Explain
    clock: Clock
    wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    rng: random.Random = dataclasses.field(default_factory=random.Random)
    budget_s: float = BUDGET_S
    #: What to check when the host cannot be reached (e.g. "GITHUB_API_URL").
    base_hint: str = "the API URL"

    def __post_init__(self) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        from gate.client import settle_environment

        self.base_url = self.base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._host = urlsplit(self.base_url).hostname or self.base_url
        self._deadline = self.clock.now() + self.budget_s
        self._session = requests.Session()
        settle_environment(self._session, self.base_url)
        adapter = HTTPAdapter(max_retries=0)  # every retry decision is ours: a POST is never repeated blindly
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"User-Agent": USER_AGENT, **self.auth_headers})

    def close(self) -> None:
        self._session.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, url: str, *, payload: Any = None) -> ForgeReply:
        """One call with retries where safe: GET/PATCH/PUT on 5xx and lost connections, anything rate-limited
        or never sent; a POST that may have reached the API is never repeated (it could comment twice)."""
        if _origin(url) != self._origin:
            raise CommentFailed(f"{self.forge} pointed to {excerpt(url, limit=80)}, outside {self.base_url}: not followed")
        repeatable = method != "POST"
        failures = 0
        while True:
            try:
                return self._checked(method, url, payload)
            except _Retryable as exc:
                if not (repeatable or exc.unsent):
                    raise CommentFailed(exc.message) from None
                failures += 1
                remaining = self._deadline - self.clock.now()
                delay = None if RETRY.exhausted(failures) else RETRY.delay(
                    failures, rng=self.rng, retry_after=exc.wait_s, remaining=remaining
                )
                if delay is None:
                    raise CommentFailed(exc.message) from None
                self.clock.sleep(delay)

    def _checked(self, method: str, url: str, payload: Any) -> ForgeReply:
        reply = self._send(method, url, payload)
        status = reply.status
        if 200 <= status < 300:
            return reply
        call = f"{method} {urlsplit(reply.url).path}"
        message = self.token.redact(api_message(json.dumps(reply.data).encode() if reply.data is not None else b""))
        limited = self._rate_limit(reply, message)
        if limited is not None:
            raise limited
        if status in _TRANSIENT:
            if method == "POST":
                raise CommentFailed(
                    f"{self.forge} answered {call} with HTTP {status}; not repeated, as that could post a second "
                    "comment (the next run updates the comment if it was created after all)"
                )
            raise _Retryable(
                f"{self.forge} kept answering {call} with HTTP {status} ({self.forge} trouble); the comment is "
                "written on the next run",
                unsent=False,
            )
        raise CommentFailed(self.explain(status, message, call))

    def _rate_limit(self, reply: ForgeReply, message: str) -> _Retryable | None:
        """A 429, or a 403 that says it is a rate limit (``Retry-After``, or no requests left before the reset)."""
        headers = reply.headers
        retry_after = parse_retry_after(headers.get("Retry-After"), now_wall=self.wall_clock())
        # GitHub sends x-ratelimit-reset on every response: it only means "wait" when nothing is left.
        exhausted = headers.get("x-ratelimit-remaining", "").strip() == "0"
        if retry_after is None and exhausted:
            retry_after = _until_reset(headers.get("x-ratelimit-reset"), now=self.wall_clock())
        says_so = "rate limit" in message.lower()
        if not (reply.status == 429 or (reply.status == 403 and (retry_after is not None or exhausted or says_so))):
            return None
        if retry_after is None:
            retry_after = 60.0  # GitHub: with no header, wait at least a minute (secondary rate limits)
        when = (self.wall_clock() + dt.timedelta(seconds=retry_after)).astimezone(dt.timezone.utc)
        text = (
            f"{self.forge} rate-limited this token (HTTP {reply.status}) until {when:%H:%M:%S} UTC, past the "
            f"{self.budget_s:g} s the comment may take; the comment is written on the next run"
        )
        # The API refused before doing anything, so even a POST may be sent again.
        return _Retryable(text, unsent=True, wait_s=retry_after)

    def _send(self, method: str, url: str, payload: Any) -> ForgeReply:
        """One exchange, following redirects only within the API's own origin (the token never leaves it)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(method, url, payload)
            if response.status not in (301, 302, 303, 307, 308):
                return response
            target = urljoin(url, response.headers.get("Location", ""))
            if _origin(target) != self._origin:
                host = urlsplit(target).hostname or "an unnamed location"
                raise CommentFailed(
                    f"{self.forge} answered {method} {urlsplit(url).path} with a redirect to {excerpt(host, limit=80)}; "
                    f"not followed so the token never leaves {self._host}: check {self.base_hint}"
                )
            if response.status == 303 or (response.status in (301, 302) and method == "GET"):
                method, payload = "GET", None
            url = target
        raise CommentFailed(f"{self.forge} redirected more than {MAX_REDIRECTS} times: check {self.base_hint}")

    def _exchange(self, method: str, url: str, payload: Any) -> ForgeReply:
        import requests

        remaining = self._deadline - self.clock.now()
        if remaining <= 0:
            raise CommentFailed(f"the {self.budget_s:g} s for the comment were spent before {method} could be sent")
        timeouts = (min(CONNECT_TIMEOUT_S, remaining), min(READ_TIMEOUT_S, remaining))
        try:
            with self._session.request(
                method, url, json=payload, timeout=timeouts, allow_redirects=False, stream=True
            ) as response:
                body = _read(response)
                return ForgeReply(response.status_code, response.headers, self._parsed(body), response.links, url)
        except requests.RequestException as exc:
            unsent = never_connected(exc)
            reason = "cannot be reached" if unsent else "did not answer in time or dropped the connection"
            raise _Retryable(
                f"{self.forge} at {self._host} {reason} ({type(exc).__name__}): check {self.base_hint} and the "
                "network; the comment was not written",
                unsent=unsent,
            ) from None

    def _parsed(self, body: bytes) -> Any:
        secret = self.token.reveal().encode()
        if secret and secret in body:
            body = body.replace(secret, b"***")
        try:
            return json.loads(body) if body.strip() else None
        except (ValueError, RecursionError):
            return {"message": excerpt(body)}


class _Retryable(Exception):
    """A failure another attempt may fix; ``unsent``: the API cannot have acted on the request."""

    def __init__(self, message: str, *, unsent: bool, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.unsent = unsent
        self.wait_s = wait_s


def _read(response: requests.Response) -> bytes:
    chunks, total = [], 0
    for chunk in response.iter_content(64 * 1024):
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            raise CommentFailed(f"the answer from {urlsplit(response.url).hostname} is larger than 32 MB; refused")
        chunks.append(chunk)
    return b"".join(chunks)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _until_reset(value: str | None, *, now: dt.datetime) -> float | None:
    """Seconds until ``x-ratelimit-reset`` (epoch seconds), or None when it is missing or garbage."""
    try:
        reset = float((value or "").strip())
    except ValueError:
        return None
    return max(0.0, reset - now.timestamp())
