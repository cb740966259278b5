"""Anywhere else (a terminal, a deploy script, Jenkins): plain indented text and nothing but the report files."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from gate.errors import ExitCode
from gate.model import Verdict
from gate.outcome import Outcome
from gate.platforms.base import run_detail_lines, run_heading, strip_controls
from gate.secret import Secret


@dataclasses.dataclass(frozen=True)
class LocalPlatform:
    stdout: TextIO
    workspace: Path
    name: str = dataclasses.field(default="local", init=False)

    @property
    def workspace_owner(self) -> Path | None:
        return None

    def begin(self, *, api_key: Secret | None, also_mask: tuple[Secret, ...] = ()) -> None:
        return None

    def sanitize_log(self, text: str) -> str:
        # Terminals obey escape sequences: DocketQA text must not recolour, move the cursor or retitle the window.
        return strip_controls(text)

    def log_run_details(self, outcome: Outcome) -> None:
        """Each run's heading; step details only for runs that need a look (anything but a clean pass)."""
        lines: list[str] = []
        for item in outcome.runs:
            lines.append(" ".join(self.sanitize_log(run_heading(item)).split()))
            if item.verdict is not Verdict.PASSED or item.flaky:
                lines += [self.sanitize_log(line) for line in run_detail_lines(item)]
        if lines:
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
        # The report files the CLI wrote are all there is: no outputs, annotations or summary elsewhere.
        return []

    def publish_error(self, *, message: str, exit_code: ExitCode) -> list[str]:
        return []  # the error line on stderr and the exit code are all a terminal or script needs

    def debug_traceback(self, text: str, *, asked: bool) -> str | None:
        return None
