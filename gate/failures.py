"""How a DocketQA request failed, as one line each: HTTP status, transport error, lost answer, malformed body.

Every failure becomes the ApiError subclass the retry rules act on: TransientApiError (safe to repeat),
TriggerUncertain (the trigger may have reached DocketQA: never repeated), MalformedResponse, AuthError, ApiError.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

from gate.errors import (
    DASHBOARD_URL,
    MAY_HAVE_STARTED,
    ApiError,
    AuthError,
    MalformedResponse,
    TransientApiError,
    TriggerUncertain,
    Unreachable,
    check_before_rerunning,
)
from gate.outcome import GroupRun
from gate.reports.escape import truncate
from gate.retry import parse_retry_after

UNCERTAIN_HINT = f"{MAY_HAVE_STARTED}; not retried to avoid a second billable run"
#: Safe to repeat for a GET; 501/505 say the request itself can never work.
_GET_TRANSIENT = frozenset({408, 429} | set(range(500, 600))) - {501, 505}
#: For the trigger only these prove that no group run was created.
_POST_TRANSIENT = frozenset({429, 503})


@dataclasses.dataclass(frozen=True)
class Call:
    """One request: its method and path (``str`` gives ``POST /test_group_run/trigger_run``)."""

    method: str
    path: str

    @property
    def is_trigger(self) -> bool:
        return self.method == "POST"

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclasses.dataclass(frozen=True)
class Reply:
    """One answer, its body already scrubbed of the key."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def check_status(call: Call, reply: Reply, *, host: str, wall_clock: Callable[[], dt.datetime]) -> None:
    """Return for a 2xx answer; raise the failure any other status means for this call."""
    status = reply.status
    if 200 <= status < 300:
        return
    if status in (401, 403):
        raise AuthError(f"DocketQA rejected the API key (HTTP {status}): check DOCKET_API_KEY")
    if 300 <= status < 400:
        target = urlsplit(reply.headers.get("Location", "")).hostname or "an unnamed location"
        raise ApiError(
            f"DocketQA answered {call} with a redirect (HTTP {status}) to {excerpt(target, limit=80)}; redirects "
            f"are not followed so the API key never leaves {host}: check --api-url"
        )
    retry_after = parse_retry_after(reply.headers.get("Retry-After"), now_wall=wall_clock())
    said = f" (Retry-After {retry_after:g} s)" if retry_after is not None else ""
    message = api_message(reply.body)
    detail = f": {message}" if message else ""
    if call.is_trigger:
        if status in _POST_TRANSIENT:
            raise TransientApiError(f"DocketQA answered {call} with HTTP {status}{said}", retry_after=retry_after)
        if 400 <= status < 500:
            raise ApiError(f"DocketQA refused the trigger with HTTP {status}{detail or ' and no message'}: "
                           "check the blueprint ids and --api-url")
        raise TriggerUncertain(f"DocketQA answered {call} with HTTP {status}; {UNCERTAIN_HINT}")
    if status in _GET_TRANSIENT:
        raise TransientApiError(f"DocketQA answered {call} with HTTP {status}{said}", retry_after=retry_after)
    raise ApiError(f"DocketQA answered {call} with HTTP {status}{detail}")


def transport_failure(
    call: Call, exc: Exception, *, base_url: str, host: str, connect_s: float, read_s: float, answered: bool = False
) -> ApiError:
    """The failure a requests exception means: never sent (safe to repeat), or sent with its answer lost."""
    import requests

    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return ApiError(f"the DocketQA API URL {base_url} is not usable: check --api-url")
    if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in repr(exc):
        return ApiError(
            f"TLS certificate verification failed for {host}: if a proxy or private CA is in the way, "
            "set REQUESTS_CA_BUNDLE to its CA bundle"
        )
    reason = describe_transport_error(exc, host=host, call=str(call), connect_s=connect_s, read_s=read_s)
    if not answered and never_connected(exc):
        # The request never left this machine: safe to repeat even for the trigger.
        return Unreachable(reason, where=host, why=unreachable_why(exc, connect_s=connect_s))
    return lost(call, reason)


def lost(call: Call, reason: str) -> ApiError:
    """The request may have reached DocketQA but its answer was lost: fine to repeat a GET, never the trigger."""
    if call.is_trigger:
        return TriggerUncertain(f"{reason}; {UNCERTAIN_HINT}")
    return TransientApiError(reason)


def too_large(call: Call, *, limit_bytes: int) -> NoReturn:
    hint = f"; {UNCERTAIN_HINT}" if call.is_trigger else ""
    raise MalformedResponse(
        f"DocketQA's answer to {call} is larger than the {limit_bytes // (1024 * 1024)} MB limit; refused{hint}"
    )


def malformed(call: Call, reply: Reply, *, problem: str, quote: bool = True, group: GroupRun | None = None) -> NoReturn:
    quoted = f': "{excerpt(reply.body)}"' if quote else ""
    hint = ""
    if call.is_trigger:
        where = group.dashboard_url if group else DASHBOARD_URL
        hint = f"; a group run may have started: {check_before_rerunning(where)}"
    raise MalformedResponse(f"DocketQA answered {call} with HTTP {reply.status} but {problem}{quoted}{hint}")


EXCERPT_CHARS = 120
#: Unicode categories that must not reach a log line: controls, format (bidi overrides), separators, surrogates.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def excerpt(text: str | bytes, *, limit: int = EXCERPT_CHARS) -> str:
    """One line of at most ``limit`` characters with every control or format character removed."""
    if isinstance(text, bytes):
        text = text[: limit * 8].decode("utf-8", errors="replace")
    cleaned = "".join(" " if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in text[: limit * 8])
    line = " ".join(cleaned.split())
    return truncate(line, limit, trim=True)


def api_message(body: bytes) -> str:
    """The API's own explanation in an error body (JSON ``message``/``error``/``detail``), else an excerpt."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return excerpt(body)
    found = _message_in(data)
    return excerpt(found) if found else excerpt(body)


def _message_in(data: Any) -> str | None:
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "errors", "msg"):
            found = _message_in(data.get(key))
            if found:
                return found
    if isinstance(data, list):
        texts = [t for t in (_message_in(item) for item in data[:5]) if t]
        return "; ".join(texts) or None
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests and urllib3 nest causes in args, reason and __cause__)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 50:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        todo.extend(item for item in nested if isinstance(item, BaseException))


def never_connected(exc: BaseException) -> bool:
    """True when no connection was made, so the request cannot have reached DocketQA."""
    # NewConnectionError (refused, DNS) is a subclass of ConnectTimeoutError.
    from urllib3.exceptions import ConnectTimeoutError

    return any(isinstance(item, (ConnectTimeoutError, ConnectionRefusedError)) for item in _chain(exc))


def unreachable_why(exc: BaseException, *, connect_s: float) -> str:
    """Why no connection could be made, in a few words (for "DocketQA at host:port has not answered yet (...)")."""
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

    chain = list(_chain(exc))
    if any(isinstance(item, NameResolutionError) for item in chain):
        return "the name does not resolve"
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return "connection refused"
    if any(isinstance(item, ConnectTimeoutError) and not isinstance(item, NewConnectionError) for item in chain):
        return f"no connection within {connect_s:.3g} s"
    return "no connection could be made"


def describe_transport_error(exc: BaseException, *, host: str, call: str, connect_s: float, read_s: float) -> str:
    """A one-line reason for a failed request, naming the host and what to check."""
    import requests
    from urllib3.exceptions import (
        ConnectTimeoutError,
        NameResolutionError,
        NewConnectionError,
        ReadTimeoutError,
    )

    chain = list(_chain(exc))

    def has(*kinds: type[BaseException]) -> bool:
        return any(isinstance(item, kinds) for item in chain)

    if has(requests.exceptions.ProxyError):
        return f"could not reach DocketQA at {host} through the proxy: check HTTPS_PROXY and NO_PROXY"
    if has(NameResolutionError):
        return f"could not resolve the DocketQA host {host}: check --api-url and DNS"
    if has(ConnectionRefusedError):
        return f"could not connect to DocketQA at {host}: connection refused"
    if has(ConnectTimeoutError) and not has(NewConnectionError):
        return f"could not connect to DocketQA at {host} within {connect_s:.3g} s"
    if has(NewConnectionError):
        return f"could not connect to DocketQA at {host}"
    if has(ReadTimeoutError, requests.exceptions.ReadTimeout, TimeoutError):
        return f"DocketQA at {host} did not answer {call} within {read_s:.3g} s"
    if has(requests.exceptions.SSLError):
        return f"the TLS connection to DocketQA at {host} failed during {call}"
    return f"the connection to DocketQA at {host} was lost during {call}"
