"""Short, safe one-line text about HTTP failures and the untrusted bodies DocketQA sends."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

EXCERPT_CHARS = 120
#: Unicode categories that must not reach a log line: controls, format (bidi overrides), separators, surrogates.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def excerpt(text: str | bytes, *, limit: int = EXCERPT_CHARS) -> str:
    """One line of at most ``limit`` characters with every control or format character removed."""
    if isinstance(text, bytes):
        text = text[: limit * 8].decode("utf-8", errors="replace")
    cleaned = "".join(" " if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in text[: limit * 8])
    line = " ".join(cleaned.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


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
