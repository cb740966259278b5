"""Strict text-to-value parsers shared by flags, environment, config file and action inputs."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from gate.config import Blueprint, CommentMode, JunitLayout
from gate.durations import parse_duration
from gate.reports.escape import quote_value

#: The overall deadline: more than zero (nothing can finish in no time) and at most a day (no CI job runs longer).
MAX_TIMEOUT_S = 24 * 3600.0
#: Sub-second intervals only make sense against the local sandbox, but they are harmless elsewhere:
#: the poller adds jitter and backs off on errors, so 0.1 s is the floor, an hour the ceiling.
MIN_POLL_INTERVAL_S = 0.1
MAX_POLL_INTERVAL_S = 3600.0
MIN_CONCURRENCY = 1
MAX_CONCURRENCY = 32
#: The spellings actions/toolkit's getBooleanInput accepts (YAML 1.2 core schema); anything else is a typo.
TRUE_TEXTS = frozenset({"true", "True", "TRUE"})
FALSE_TEXTS = frozenset({"false", "False", "FALSE"})
LOOPBACK_NAMES = frozenset({"localhost"})
MAX_COMMENT_KEY = 200

_ID = re.compile(r"[0-9]+")
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")
_SEPARATORS = re.compile(r"[,\s]+")


def show(text: str) -> str:
    """A user value quoted for a config error message (the one quoting rule, at the length config messages use)."""
    return quote_value(text, limit=60)


def parse_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    if value.strip() in TRUE_TEXTS:
        return True
    if value.strip() in FALSE_TEXTS:
        return False
    raise ValueError(f"expected true or false, got {show(value)}")


def parse_id(text: str) -> int:
    cleaned = text.strip()
    if not _ID.fullmatch(cleaned) or int(cleaned) == 0:
        raise ValueError(f"expected a positive integer id, got {show(text)}")
    return int(cleaned)


def split_ids(texts: Iterable[str]) -> list[str]:
    """Tokens of one or more id lists separated by commas, spaces or newlines (``"180,181 182"``)."""
    return [token for text in texts for token in _SEPARATORS.split(text) if token]


def parse_id_list(texts: Iterable[str]) -> tuple[int, ...]:
    """Every id in the texts, in order; one error naming every bad token and every repeated id."""
    tokens = split_ids(texts)
    if not tokens:
        raise ValueError("expected one or more positive integer ids (separated by commas or spaces), got none")
    bad = [show(token) for token in tokens if not _ID.fullmatch(token) or int(token) == 0]
    if bad:
        raise ValueError(f"expected positive integer ids, got {', '.join(bad)}")
    ids = [int(token) for token in tokens]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"id {', '.join(map(str, repeated))} given more than once")
    return tuple(ids)


def parse_timeout(text: str) -> float:
    seconds = _signed_duration(text)
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise ValueError(f"the timeout must be more than 0s and at most 24h, got {show(text)}")
    return seconds


def parse_poll_interval(text: str) -> float:
    seconds = _signed_duration(text)
    if not MIN_POLL_INTERVAL_S <= seconds <= MAX_POLL_INTERVAL_S:
        raise ValueError(f"the poll interval must be between 0.1s and 1h, got {show(text)}")
    return seconds


def _signed_duration(text: str) -> float:
    """Seconds, negative for ``-5s``: a duration with a minus is refused by the range check, which says what is
    allowed, rather than as "not a duration"."""
    cleaned = text.strip()
    if cleaned.startswith("-"):
        try:
            return -parse_duration(cleaned[1:])
        except ValueError:
            pass
    return parse_duration(text)


def parse_concurrency(text: str) -> int:
    cleaned = text.strip()
    if not _ID.fullmatch(cleaned) or not MIN_CONCURRENCY <= int(cleaned) <= MAX_CONCURRENCY:
        raise ValueError(f"expected a whole number from {MIN_CONCURRENCY} to {MAX_CONCURRENCY}, got {show(text)}")
    return int(cleaned)


def parse_layout(text: str) -> JunitLayout:
    try:
        return JunitLayout(text.strip().lower())
    except ValueError:
        allowed = " or ".join(repr(layout.value) for layout in JunitLayout)
        raise ValueError(f"expected {allowed}, got {show(text)}") from None


def parse_comment_mode(text: str) -> CommentMode:
    try:
        return CommentMode(text.strip().lower())
    except ValueError:
        allowed = ", ".join(repr(mode.value) for mode in CommentMode)
        raise ValueError(f"expected one of {allowed}, got {show(text)}") from None


def parse_comment_key(text: str) -> str:
    """One line of at most 200 printable characters (it names the comment in a hidden marker)."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ValueError("expected a key such as 'e2e', got an empty value")
    if len(cleaned) > MAX_COMMENT_KEY or not cleaned.isprintable():
        raise ValueError(f"expected at most {MAX_COMMENT_KEY} printable characters, got {show(text)}")
    return cleaned


def parse_pr_number(text: str) -> int:
    cleaned = text.strip().lstrip("#!")
    if not _ID.fullmatch(cleaned) or int(cleaned) == 0:
        raise ValueError(f"expected a pull or merge request number such as 12, got {show(text)}")
    return int(cleaned)


def parse_login(text: str) -> str:
    """A GitHub login (``octocat``, ``my-app[bot]``)."""
    cleaned = text.strip()
    if not _LOGIN.fullmatch(cleaned):
        raise ValueError(f"expected a GitHub login such as 'my-app[bot]', got {show(text)}")
    return cleaned


def parse_path(text: str) -> Path:
    if not text.strip():
        raise ValueError("expected a path, got an empty value")
    if "\0" in text:
        raise ValueError(f"a path cannot contain a NUL character, got {show(text)}")
    return Path(text.strip())


#: What ``--no-junit`` (and the other report off-flags) store: no command-line text can hold a NUL character.
REPORT_OFF = "\x00off"


def parse_optional_path(value: str | None) -> Path | None:
    """A path, or None meaning "do not write this report" (``junit: null`` in the config file, ``--no-junit``)."""
    return None if value is None or value == REPORT_OFF else parse_path(value)


def parse_paths(value: object) -> tuple[Path, ...]:
    """Paths from one text or several (the ``report`` command's FILE arguments)."""
    return tuple(parse_path(text) for text in texts(value))


def parse_id_list_value(value: object) -> tuple[int, ...]:
    """Ids from text (``"180, 181"``), texts (repeated flags), or ints the config file already checked."""
    if isinstance(value, tuple) and all(isinstance(item, int) for item in value):
        return value
    return parse_id_list(texts(value))


def parse_blueprints(value: object) -> tuple[Blueprint, ...]:
    """Blueprints the config file already checked, or ids from text (flags and inputs give no names)."""
    if isinstance(value, tuple) and all(isinstance(item, Blueprint) for item in value):
        return value
    return tuple(Blueprint(id=i) for i in parse_id_list(texts(value)))


def texts(value: object) -> tuple[str, ...]:
    """A setting's text(s): one text from an input or the environment, a tuple of texts from a repeated flag."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return value
    raise TypeError(f"unexpected setting value of type {type(value).__name__}")  # a layer-building bug


def parse_api_url(text: str) -> str:
    """An http(s) base URL without credentials, query or fragment; plain http only for loopback hosts."""
    cleaned = text.strip()
    parts = _http_url_parts(cleaned, form="https://host[:port][/path]",
                            credentials="the URL must not contain a user name or password; pass the key via DOCKET_API_KEY")
    if parts.query or parts.fragment or cleaned.endswith(("?", "#")):
        raise ValueError(f"{show(cleaned)} must not have a query or fragment ('?' or '#')")
    if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname or ""):
        raise ValueError(
            f"{show(cleaned)} uses plain http, which would send the API key unencrypted; use https "
            "(http is allowed only for loopback hosts: localhost, 127.0.0.0/8, ::1)"
        )
    return cleaned.rstrip("/")


def parse_target_urls(value: object) -> tuple[str, ...]:
    """``--wait-for-url`` targets: repeated flags, a newline-separated input, or the config file's list."""
    urls = [line.strip() for text in texts(value) for line in text.splitlines() if line.strip()]
    if not urls:
        raise ValueError("expected one or more http(s) URLs, got none")
    for url in urls:
        _http_url_parts(url, form="http(s)://host[:port]/path",
                        credentials="a target URL must not contain a user name or password: the gate sends no credentials")
    return tuple(dict.fromkeys(urls))


def _http_url_parts(text: str, *, form: str, credentials: str) -> SplitResult:
    """``text`` split as an http(s) URL with a host, or a ValueError that names ``form``. A URL with a user name or
    password gets ``credentials``, which does not echo it: the user part may be a secret."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - urlsplit checks the port lazily: touch it to validate
    except ValueError:
        raise ValueError(f"{show(text)} is not a valid URL; expected {form}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or re.search(r"\s", text):
        raise ValueError(f"{show(text)} is not a valid URL; expected {form}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(credentials)
    return parts


def parse_statuses(text: str) -> frozenset[int]:
    """``200,401`` -> {200, 401}: the statuses that count as ready (default: any 2xx)."""
    codes = [part.strip() for part in text.split(",") if part.strip()]
    if not codes or not all(_ID.fullmatch(code) and 100 <= int(code) <= 599 for code in codes):
        raise ValueError(f"expected HTTP status codes separated by commas, such as 200,401, got {show(text)}")
    return frozenset(int(code) for code in codes)


def parse_wait_timeout(text: str) -> float:
    seconds = parse_duration(text)
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise ValueError(f"the wait timeout must be more than 0s and at most 24h, got {show(text)}")
    return seconds


def parse_text(text: str) -> str:
    if not text.strip():
        raise ValueError("expected some text, got an empty value")
    return text.strip()


def is_loopback_host(host: str) -> bool:
    name = host.lower().rstrip(".")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


__all__ = [
    "REPORT_OFF",
    "is_loopback_host",
    "parse_api_url",
    "parse_blueprints",
    "parse_bool",
    "parse_concurrency",
    "parse_id",
    "parse_id_list",
    "parse_id_list_value",
    "parse_layout",
    "parse_optional_path",
    "parse_path",
    "parse_paths",
    "parse_poll_interval",
    "parse_statuses",
    "parse_target_urls",
    "parse_text",
    "parse_timeout",
    "parse_wait_timeout",
    "show",
    "split_ids",
    "texts",
]
