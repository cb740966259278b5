"""Exit codes and the errors that map to them; every message says what to do next."""

from __future__ import annotations

import enum
import signal

#: Where DocketQA users see their group runs.
DASHBOARD_URL = "https://app.docketqa.com/dashboard"


def check_before_rerunning(where: str = DASHBOARD_URL) -> str:
    """The remedy whenever a trigger's fate is unknown: a blind re-run could start a second, billable group run."""
    return f"check {where} before re-running"


#: Said whenever the trigger POST may have reached DocketQA but the gate cannot tell.
MAY_HAVE_STARTED = f"DocketQA may have started a group run: {check_before_rerunning()}"


class ExitCode(enum.IntEnum):
    """The documented exit codes (README and --help list the same table)."""

    PASSED = 0
    FAILED = 1
    USAGE = 2
    TIMED_OUT = 3
    API = 4
    INTERNAL = 70
    SIGINT = 130
    SIGTERM = 143


class GateError(Exception):
    """An error the CLI reports as one line and turns into ``exit_code``."""

    exit_code: ExitCode = ExitCode.INTERNAL
    #: True once the platform's outputs carry this error's exit code (the gate published, then raised it).
    published: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(GateError):
    """Bad flags, inputs or environment: the user must change the invocation."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """Every problem found in flags, environment and config file, reported at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        if len(problems) == 1:
            text = f"configuration error: {problems[0]}"
        else:
            text = f"{len(problems)} configuration errors: " + "; ".join(problems)
        super().__init__(text)


class ApiError(GateError):
    """DocketQA answered something the gate cannot use, or could not be reached."""

    exit_code = ExitCode.API


class AuthError(ApiError):
    """401/403: the key is wrong or lacks access; retrying cannot help."""


class MalformedResponse(ApiError):
    """The API answered, but not with the JSON shape the gate needs."""


class TransientApiError(ApiError):
    """A failure that may pass: connection trouble, 429, 5xx. ``retry_after`` in seconds if the API said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(TransientApiError):
    """No connection could be made (refused, a name that does not resolve, a connect timeout): nothing was sent."""

    def __init__(self, message: str, *, where: str, why: str) -> None:
        super().__init__(message)
        #: ``host:port`` and a few words on why (``connection refused``), for "has not answered yet" lines.
        self.where = where
        self.why = why


class TriggerUncertain(ApiError):
    """The trigger POST was sent but its answer was lost: a group run may exist; never retried."""


class Interrupted(GateError):
    """SIGINT or SIGTERM arrived; reports are still written before exiting."""

    def __init__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}: stopped following runs; unfinished runs are reported as cancelled")
        self.signum = signum
        self.exit_code = ExitCode.SIGINT if signum == signal.SIGINT else ExitCode.SIGTERM


class TargetNotReady(GateError):
    """A ``--wait-for-url`` target did not answer as asked before the wait timeout: nothing was triggered."""

    exit_code = ExitCode.TIMED_OUT


def os_reason(exc: OSError) -> str:
    """Why an OS call on a file or socket failed, without the path (the message names the path itself)."""
    return exc.strerror or type(exc).__name__
