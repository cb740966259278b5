"""Bounded evidence downloads (failing-step screenshots, run videos) that never carry the API key."""

from __future__ import annotations

import dataclasses
import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from gate.clock import Clock, SystemClock
from gate.errors import os_reason
from gate.model import Verdict
from gate.outcome import Outcome
from gate.plain_http import credential_free_session, no_auth
from gate.reports.escape import is_web_url

if TYPE_CHECKING:
    import requests

MB = 1024 * 1024
DEFAULT_PER_FILE_LIMIT = 10 * MB
DEFAULT_TOTAL_LIMIT = 200 * MB
#: (connect, read) seconds: media hosts are CDNs; a slow one must not hold the pipeline.
DEFAULT_TIMEOUT = (3.05, 10.0)
#: All downloads together stop after this long (a host trickling bytes defeats per-read timeouts).
DEFAULT_TIME_BUDGET_S = 120.0
MAX_REDIRECTS = 5
#: The last screenshots of the failing step show what the agent saw when it gave up.
MAX_SCREENSHOTS_PER_RUN = 10
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SUFFIX_BY_TYPE = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "video/webm": ".webm",
    "video/mp4": ".mp4",
}
_KNOWN_SUFFIXES = frozenset({*_SUFFIX_BY_TYPE.values(), ".jpeg"})
_CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie"})


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What was saved. ``attachments`` maps a test run id to file paths (POSIX form) relative to the
    ``relative_to`` directory given to :func:`download_evidence` (default: ``dest``); pass the workspace
    so GitLab and Jenkins resolve ``[[ATTACHMENT|path]]`` against the job's files."""

    attachments: dict[int, list[str]]
    notes: list[str]
    total_bytes: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Download:
    """One planned file; every part of its name is ours (numbers and fixed words), never DocketQA text."""

    run_id: int
    directory: str
    stem: str
    label: str
    url: str
    default_suffix: str


class _FileSkipped(Exception):
    """This file is not saved; the reason is a fixed phrase (never a URL: pre-signed URLs carry tokens)."""


class _DownloadLimitReached(Exception):
    """A limit for the whole download was reached."""


def plan_downloads(outcome: Outcome) -> list[Download]:
    """The files to fetch: for each failed or errored run, its failing step's screenshots, then its video."""
    plan: list[Download] = []
    for item in outcome.runs:
        if item.run is None or item.verdict not in (Verdict.FAILED, Verdict.ERROR):
            continue
        directory = f"{item.run.id}-{slug(item.name)}"
        step = item.failed_step
        if step is not None:
            urls = list(dict.fromkeys(step.screenshot_urls))[-MAX_SCREENSHOTS_PER_RUN:]
            for index, url in enumerate(urls, start=1):
                stem = f"step-{step.number:02d}-screenshot-{index}"
                label = f"step {step.number} screenshot {index}"
                plan.append(
                    Download(
                        run_id=item.run.id, directory=directory, stem=stem, label=label, url=url, default_suffix=".png"
                    )
                )
        video = item.run.video_download_url or item.run.video_url
        if video:
            plan.append(
                Download(
                    run_id=item.run.id,
                    directory=directory,
                    stem="video",
                    label="video",
                    url=video,
                    default_suffix=".webm",
                )
            )
    return plan


def download_evidence(
    outcome: Outcome,
    *,
    dest: Path,
    relative_to: Path | None = None,
    session_factory: Callable[[], requests.Session] | None = None,
    per_file_limit: int = DEFAULT_PER_FILE_LIMIT,
    total_limit: int = DEFAULT_TOTAL_LIMIT,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    clock: Clock | None = None,
    owner_of: Path | None = None,
) -> Evidence:
    """Download the evidence of failed runs into ``dest/<run-id>-<slug>/``; a failed download is a note, never fatal.
    ``owner_of``: files and folders get that path's owner as root, like the reports (gate/reports/files.py)."""
    plan = plan_downloads(outcome)
    if not plan:
        return Evidence(attachments={}, notes=[])
    session = (session_factory or plain_session)()
    _strip_credentials(session)
    clock = clock or SystemClock()
    fetcher = _Fetcher(
        session=session,
        per_file_limit=per_file_limit,
        total_limit=total_limit,
        timeout=timeout,
        clock=clock,
        deadline=clock.now() + time_budget_s,
        owner_of=owner_of,
    )
    try:
        return _download_all(plan, fetcher, dest=dest, base=relative_to or dest)
    finally:
        session.close()


def _download_all(plan: list[Download], fetcher: _Fetcher, *, dest: Path, base: Path) -> Evidence:
    attachments: dict[int, list[str]] = {}
    notes: list[str] = []
    for index, item in enumerate(plan):
        try:
            saved = fetcher.fetch(item, dest / item.directory)
        except _FileSkipped as skip:
            notes.append(f"evidence for run {item.run_id} ({item.label}) not downloaded: {skip}")
            continue
        except _DownloadLimitReached as stop:
            notes.append(f"evidence downloads stopped: {stop}; {len(plan) - index} file(s) not downloaded")
            break
        attachments.setdefault(item.run_id, []).append(_relative(saved, base))
    return Evidence(attachments=attachments, notes=notes, total_bytes=fetcher.total)


def plain_session() -> requests.Session:
    """A session for media hosts: no API key, no cookies kept, no ~/.netrc credentials, proxies still honoured."""
    # Media is compressed already; identity keeps the size cap about bytes on the wire.
    return credential_free_session("evidence download", **{"Accept-Encoding": "identity"})


def _strip_credentials(session: requests.Session) -> None:
    """Defence in depth: whatever session we were given, media hosts never see a credential header."""
    for name in [n for n in session.headers if n.lower() in _CREDENTIAL_HEADERS]:
        del session.headers[name]
    session.auth = no_auth


class _Fetcher:
    """Streams one file at a time under the per-file, total-size and time limits."""

    def __init__(
        self,
        *,
        session: requests.Session,
        per_file_limit: int,
        total_limit: int,
        timeout: tuple[float, float],
        clock: Clock,
        deadline: float,
        owner_of: Path | None = None,
    ) -> None:
        self.session, self.clock, self.deadline, self.owner_of = session, clock, deadline, owner_of
        self.per_file_limit, self.total_limit, self.timeout = per_file_limit, total_limit, timeout
        self.total = 0

    def fetch(self, item: Download, directory: Path) -> Path:
        import requests

        if not is_web_url(item.url):
            raise _FileSkipped("not an http(s) URL")
        self._check_budget()
        try:
            response = self._open(item.url)
            with response:
                return self._save(response, item, directory)
        except requests.RequestException as exc:
            # The class name only: requests' messages repeat the URL, and pre-signed URLs carry tokens.
            raise _FileSkipped(f"request failed ({type(exc).__name__})") from None
        except OSError as exc:
            raise _FileSkipped(f"could not save the file ({os_reason(exc)})") from None

    def _open(self, url: str) -> requests.Response:
        """GET with redirects followed by hand: each hop must be http(s), and there are at most MAX_REDIRECTS."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.get(url, stream=True, allow_redirects=False, timeout=self.timeout)
            if response.status_code not in _REDIRECTS:
                if response.status_code != 200:
                    response.close()
                    raise _FileSkipped(f"the media host answered HTTP {response.status_code}")
                return response
            location = response.headers.get("Location", "")
            response.close()
            url = urljoin(url, location)
            if not location or not is_web_url(url):
                raise _FileSkipped("redirected to a location that is not an http(s) URL")
        raise _FileSkipped(f"more than {MAX_REDIRECTS} redirects")

    def _save(self, response: requests.Response, item: Download, directory: Path) -> Path:
        from gate.reports.files import atomic_writer

        announced = _content_length(response)
        if announced is not None and announced > self.per_file_limit:
            raise _FileSkipped(f"larger than the {_size(self.per_file_limit)} per-file limit")
        if announced is not None and self.total + announced > self.total_limit:
            raise _FileSkipped(f"it would pass the {_size(self.total_limit)} total limit")
        target = directory / (item.stem + _suffix(response, item))
        received = 0
        # atomic_writer drops the temp file when a limit aborts the stream: no truncated media is left.
        with atomic_writer(target, owner_of=self.owner_of) as handle:
            for chunk in response.iter_content(_CHUNK):
                received += len(chunk)
                self.total += len(chunk)
                if received > self.per_file_limit:
                    raise _FileSkipped(f"larger than the {_size(self.per_file_limit)} per-file limit")
                if self.total > self.total_limit:
                    raise _DownloadLimitReached(f"the {_size(self.total_limit)} total limit was reached")
                self._check_budget()
                handle.write(chunk)
        return target

    def _check_budget(self) -> None:
        if self.clock.now() > self.deadline:
            raise _DownloadLimitReached("the time allowed for downloads ran out")


def slug(name: str) -> str:
    """A lowercase ASCII directory-name part from a display name: ``[a-z0-9-]``, at most 40 characters."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name)[:40].strip("-") or "run"


def _suffix(response: requests.Response, item: Download) -> str:
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type in _SUFFIX_BY_TYPE:
        return _SUFFIX_BY_TYPE[content_type]
    suffix = PurePosixPath(urlsplit(response.url or item.url).path).suffix.lower()
    return suffix if suffix in _KNOWN_SUFFIXES else item.default_suffix


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _size(limit: int) -> str:
    return f"{limit // MB} MB" if limit >= MB and limit % MB == 0 else f"{limit} bytes"


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return Path(os.path.abspath(path)).as_posix()
