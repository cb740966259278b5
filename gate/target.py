"""``--wait-for-url``: before the trigger, poll each target URL until it answers as asked, without any secret."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from gate.clock import Clock
from gate.config import WaitFor
from gate.durations import format_setting_duration
from gate.errors import TargetNotReady
from gate.plain_http import credential_free_session, no_auth

if TYPE_CHECKING:
    import requests

#: Short per-request timeouts (connect, read): a target that hangs is just "not ready yet".
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
#: No more than this much of an answer is read (the text to find is looked for in it).
MAX_BODY_BYTES = 1_000_000


@dataclasses.dataclass(frozen=True)
class Answer:
    """One try: the status (None when nothing came back), whether the text was found, and what was missing."""

    status: int | None
    missing: str | None

    @property
    def ready(self) -> bool:
        return self.missing is None


def wait_for_targets(
    wait: WaitFor,
    *,
    clock: Clock,
    interval_s: float,
    note: Callable[[str], None],
) -> None:
    """Return once every URL is ready, in order, under one deadline; raise TargetNotReady naming the URL otherwise."""
    deadline = clock.now() + wait.timeout_s
    with target_session() as session:
        for url in wait.urls:
            _wait_one(url, wait, session=session, clock=clock, deadline=deadline, interval_s=interval_s, note=note)


def _wait_one(
    url: str, wait: WaitFor, *, session: Any, clock: Clock, deadline: float, interval_s: float, note: Callable[[str], None]
) -> None:
    while True:
        remaining = deadline - clock.now()
        answer = probe(url, wait, session=session, timeout=min(READ_TIMEOUT_S, max(remaining, 0.1)))
        if answer.ready:
            note(f"Target {url} is ready ({answer.status})")
            return
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise TargetNotReady(
                f"{url} was not ready within the {format_setting_duration(wait.timeout_s)} wait timeout (last answer: {answer.missing}); "
                "nothing was triggered: check the deployment, or raise --wait-timeout"
            )
        delay = min(interval_s, remaining)
        # Tenths of a second: the deadline leaves a raw float (2.99728) that only clutters the log line.
        note(f"Waiting for {url}: {answer.missing}; next try in {round(delay, 1):g} s")
        clock.sleep(delay)


def probe(url: str, wait: WaitFor, *, session: Any, timeout: float) -> Answer:
    """One GET of ``url``, redirects followed, at most MAX_BODY_BYTES read; what was missing, if anything."""
    import requests

    try:
        with session.get(
            url, timeout=(min(CONNECT_TIMEOUT_S, timeout), timeout), stream=True, allow_redirects=True, auth=no_auth
        ) as response:
            status = response.status_code
            if not _status_ok(status, wait.statuses):
                return Answer(status, f"status {status}, wanted {wait.wanted_status()}")
            if wait.text is None:
                return Answer(status, None)
            body = _read_capped(response)
    except requests.TooManyRedirects:
        return Answer(None, "too many redirects")
    except requests.RequestException as exc:
        return Answer(None, f"no answer ({_reason(exc)})")
    if wait.text.encode("utf-8") not in body:
        where = "" if len(body) < MAX_BODY_BYTES else f" in the first {MAX_BODY_BYTES:,} bytes"
        return Answer(status, f"status {status}, but the body does not contain {wait.text!r}{where}")
    return Answer(status, None)


def target_session() -> requests.Session:
    """A session of its own (never the API's): no API key, no auth; proxies and CA bundles from the environment."""
    return credential_free_session("wait-for-url")


def _status_ok(status: int, wanted: Collection[int] | None) -> bool:
    return 200 <= status < 300 if wanted is None else status in wanted


def _read_capped(response: Any) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65_536):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:MAX_BODY_BYTES]


def _reason(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__  # a class name of requests: safe to print, no target text in it
