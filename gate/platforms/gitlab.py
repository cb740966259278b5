"""GitLab CI: collapsible log sections per run, the summary as a file, and a dotenv file for later jobs."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from gate.errors import ExitCode, os_reason
from gate.model import Verdict
from gate.outcome import Outcome
from gate.platforms.base import (
    error_values,
    output_values,
    run_detail_lines,
    run_heading,
    strip_controls,
)
from gate.reports.escape import unicode_safe
from gate.reports.files import write_atomic
from gate.secret import Secret

SUMMARY_FILE = "docketqa-summary.md"
DOTENV_FILE = "docketqa.env"
#: Variables in the dotenv file (``artifacts:reports:dotenv``), each from the output of the same name.
DOTENV_NAMES = (
    "DOCKETQA_STATUS",
    "DOCKETQA_EXIT_CODE",
    "DOCKETQA_TOTAL",
    "DOCKETQA_PASSED",
    "DOCKETQA_FAILED",
    "DOCKETQA_ERRORS",
    "DOCKETQA_TIMED_OUT",
    "DOCKETQA_NOT_AWAITED",
    "DOCKETQA_FLAKY",
    "DOCKETQA_DASHBOARD_URL",
)
# GitLab's dotenv is one KEY=VALUE per line with no quoting or escapes: keep values to characters that
# cannot end the line, start a comment or be taken for quotes (ours are words, numbers and a URL).
_DOTENV_UNSAFE = re.compile(r"[^A-Za-z0-9_.,:/?=&%+@-]")
_ESC = "\x1b[0K"


def dotenv_text(outcome: Outcome, *, exit_code: ExitCode | None = None) -> str:
    """``DOCKETQA_*=value`` lines; empty values are left out (a downstream job sees them unset)."""
    return _dotenv(output_values(outcome, written={}, workspace=Path("."), exit_code=exit_code))


def _dotenv(values: dict[str, str]) -> str:
    lines = []
    for name in DOTENV_NAMES:
        value = _DOTENV_UNSAFE.sub("", values[name.removeprefix("DOCKETQA_").lower().replace("_", "-")])
        if value:
            lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class GitLabPlatform:
    """Writes sections to ``stdout`` and the summary/dotenv files into ``workspace`` (``$CI_PROJECT_DIR``)."""

    stdout: TextIO
    workspace: Path
    job_summary: bool = True
    #: Wall-clock seconds for the section markers (GitLab shows each section's duration from them).
    wall_clock: Callable[[], float] = time.time
    name: str = dataclasses.field(default="gitlab", init=False)

    @property
    def workspace_owner(self) -> Path | None:
        return None

    def begin(self, *, api_key: Secret | None, also_mask: tuple[Secret, ...] = ()) -> None:
        # GitLab masks variables marked "masked" itself; there is no in-log masking command.
        return None

    def sanitize_log(self, text: str) -> str:
        # No ESC, CR or other controls: DocketQA text cannot draw colours, forge sections or overwrite lines.
        return strip_controls(text)

    def log_run_details(self, outcome: Outcome) -> None:
        for index, item in enumerate(outcome.runs, start=1):
            section = f"docketqa_run_{index}" + (f"_{item.test_run_id}" if item.test_run_id is not None else "")
            collapsed = "true" if item.verdict is Verdict.PASSED and not item.flaky else "false"
            heading = " ".join(self.sanitize_log(run_heading(item)).split())
            lines = [f"{_ESC}section_start:{int(self.wall_clock())}:{section}[collapsed={collapsed}]\r{_ESC}{heading}"]
            lines += [self.sanitize_log(line) for line in run_detail_lines(item)]
            lines.append(f"{_ESC}section_end:{int(self.wall_clock())}:{section}\r{_ESC}")
            self.stdout.write("".join(line + "\n" for line in lines))
        self.stdout.flush()

    def publish(
        self,
        outcome: Outcome,
        *,
        summary_markdown: str,
        written: Mapping[str, Path],
        exit_code: ExitCode | None = None,
    ) -> list[str]:
        notes: list[str] = []
        if self.job_summary and "summary" not in written:
            notes += self._write(SUMMARY_FILE, summary_markdown, what="the job summary")
        notes += self._write(DOTENV_FILE, dotenv_text(outcome, exit_code=exit_code), what="the dotenv file")
        return notes

    def publish_error(self, *, message: str, exit_code: ExitCode) -> list[str]:
        # The message is in the job log already; later jobs need the status and exit code.
        return self._write(DOTENV_FILE, _dotenv(error_values(exit_code)), what="the dotenv file")

    def debug_traceback(self, text: str, *, asked: bool) -> str | None:
        return None  # --debug prints it on stderr, as anywhere else

    def _write(self, file_name: str, text: str, *, what: str) -> list[str]:
        try:
            write_atomic(self.workspace / file_name, unicode_safe(text))
        except OSError as exc:
            return [f"could not write {what} to {file_name} ({os_reason(exc)})"]
        return [f"wrote {what} to {file_name}"]
