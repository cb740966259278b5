"""The configuration's types: the frozen Config the loader builds, its parts and their defaults."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path

from gate.secret import Secret

DEFAULT_API_URL = "https://api.docketqa.com"
DEFAULT_TIMEOUT_S = 30 * 60.0
DEFAULT_POLL_INTERVAL_S = 5.0
DEFAULT_JUNIT = "docketqa-junit.xml"
DEFAULT_CONCURRENCY = 8
DEFAULT_CONFIG_FILE = ".docketqa.yml"
DEFAULT_WAIT_TIMEOUT_S = 10 * 60.0


class Command(enum.Enum):
    RUN = "run"
    WAIT = "wait"
    REPORT = "report"


class JunitLayout(enum.Enum):
    TEST = "test"
    STEP = "step"


class CommentMode(enum.Enum):
    """When the gate writes its sticky pull-request (merge-request) comment."""

    OFF = "off"
    #: Create or update it on every run.
    ALWAYS = "always"
    #: Create one only when the gate does not pass; always update an existing one (so it turns green).
    FAILURES = "failures"


@dataclasses.dataclass(frozen=True)
class CommentSettings:
    """The pull-request comment: when, which one this gate job owns, where, as whom, and the tokens."""

    mode: CommentMode = CommentMode.OFF
    #: Which sticky comment this gate job owns; None: the workflow + job (GitHub) or the job name (GitLab).
    key: str | None = None
    #: The pull request (GitHub) or merge request IID (GitLab), when the event does not say.
    pr: int | None = None
    #: The GitHub login whose comments may be the gate's; None: github-actions[bot].
    author: str | None = None
    github_token: Secret | None = None
    gitlab_token: Secret | None = None

    @property
    def tokens(self) -> tuple[Secret, ...]:
        """The tokens given (to mask in the log and redact from messages)."""
        return tuple(token for token in (self.github_token, self.gitlab_token) if token)


@dataclasses.dataclass(frozen=True)
class Blueprint:
    id: int
    name: str | None = None
    allow_failure: bool = False


@dataclasses.dataclass(frozen=True)
class ReportPaths:
    """Where reports go; None means "do not write". Relative paths are resolved against the workspace."""

    junit: Path | None = Path(DEFAULT_JUNIT)
    json: Path | None = None
    summary: Path | None = None
    junit_layout: JunitLayout = JunitLayout.TEST
    artifacts_dir: Path | None = None


@dataclasses.dataclass(frozen=True)
class WaitFor:
    """``--wait-for-url``: each URL must answer with a status in ``statuses`` (None: any 2xx) containing ``text``."""

    urls: tuple[str, ...]
    text: str | None = None
    statuses: frozenset[int] | None = None
    timeout_s: float = DEFAULT_WAIT_TIMEOUT_S

    def wanted_status(self) -> str:
        return "2xx" if self.statuses is None else " or ".join(map(str, sorted(self.statuses)))


@dataclasses.dataclass(frozen=True)
class Config:
    command: Command
    api_url: str = DEFAULT_API_URL
    api_key: Secret | None = None
    blueprints: tuple[Blueprint, ...] = ()
    test_run_ids: tuple[int, ...] = ()
    report_files: tuple[Path, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S
    fail_on_timeout: bool = True
    #: Stop at the first run that counts against the gate; the runs still going are not awaited.
    fail_fast: bool = False
    #: Blueprint ids whose failures are reported but never fail the gate (flags + file entries).
    allow_failures: frozenset[int] = frozenset()
    reports: ReportPaths = ReportPaths()
    annotations: bool = True
    job_summary: bool = True
    concurrency: int = DEFAULT_CONCURRENCY
    #: The config file that was read, if any (logged so users know it was used).
    config_file: Path | None = None
    comment: CommentSettings = CommentSettings()
    #: ``--resume``: an earlier attempt's JSON result; ``--resume-any-commit`` trusts it from another commit too.
    resume: Path | None = None
    resume_any_commit: bool = False
    #: ``--wait-for-url`` and friends: the targets to wait for before the trigger (None: do not wait).
    wait_for: WaitFor | None = None

    def name_for(self, blueprint_id: int | None) -> str | None:
        return next((b.name for b in self.blueprints if b.id == blueprint_id and b.name), None)

    def is_allowed_failure(self, blueprint_id: int | None) -> bool:
        return blueprint_id is not None and (
            blueprint_id in self.allow_failures or any(b.id == blueprint_id and b.allow_failure for b in self.blueprints)
        )
