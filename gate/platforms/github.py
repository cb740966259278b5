"""GitHub Actions: masked key, grouped run details, heredoc outputs, step summary and escaped annotations."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from gate.errors import ExitCode, os_reason
from gate.model import Verdict, failure_line
from gate.outcome import Outcome, RunOutcome
from gate.platforms.base import (
    error_values,
    output_values,
    run_detail_lines,
    run_heading,
    strip_controls,
)
from gate.reports.escape import (
    escape_command_data,
    escape_command_property,
    md_inline,
    truncate,
    unicode_safe,
)
from gate.reports.files import append_text
from gate.secret import Secret

#: GitHub shows at most 10 annotations of each kind per step; the "N more" line is a notice (its own quota).
MAX_ANNOTATIONS = 10
MAX_TITLE = 200
MAX_MESSAGE = 1000
#: Title of the annotation for an error that ended the gate without a verdict.
ERROR_TITLE = "DocketQA gate"
TRACEBACK_GROUP = "Traceback of the internal error"
# The runner trims leading whitespace before looking for "::"; zero-width and other format characters
# are invisible, so they count as "nothing before it" too.
_LEADING_COMMAND = re.compile(r"^([\s\u200b-\u200f\u2060-\u2064\ufeff]*)::")


def defuse(text: str) -> str:
    """Log text that cannot be read as a workflow command: no line starts with ``::`` and no ``##[`` anywhere.

    ``##[`` is the runner's legacy command prefix, matched anywhere in a line; a backslash keeps both
    readable for people while breaking the match.
    """
    lines = text.split("\n")
    return "\n".join(_LEADING_COMMAND.sub(r"\1\\::", line).replace("##[", "##\\[") for line in lines)


def command(name: str, data: str = "", **properties: str) -> str:
    """One workflow command line with its properties and data escaped (and defused against ``##[``)."""
    props = ",".join(f"{key}={escape_command_property(value)}" for key, value in properties.items())
    line = f"::{name}{' ' + props if props else ''}::{escape_command_data(data)}"
    return line.replace("##[", "##\\[")


def heredoc_entry(name: str, value: str) -> str:
    """``name<<DELIM`` / value / ``DELIM`` with a fresh random delimiter that the value cannot contain."""
    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value and delimiter not in name:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


@dataclasses.dataclass(frozen=True)
class GitHubPlatform:
    """Writes to ``$GITHUB_OUTPUT`` / ``$GITHUB_STEP_SUMMARY`` from ``env``, and workflow commands to ``stdout``."""

    stdout: TextIO
    workspace: Path
    env: Mapping[str, str]
    annotations: bool = True
    job_summary: bool = True
    name: str = dataclasses.field(default="github", init=False)

    @property
    def workspace_owner(self) -> Path | None:
        """GitHub runs container actions as root on the mounted workspace, and later steps run as the runner
        user, who must be able to replace or delete the reports: they get the owner of ``$GITHUB_WORKSPACE``."""
        workspace = self.env.get("GITHUB_WORKSPACE")
        return Path(workspace) if workspace else None

    def begin(self, *, api_key: Secret | None, also_mask: tuple[Secret, ...] = ()) -> None:
        # First lines of output: from here on the runner replaces each secret with *** in every log line
        # (the runner masks ${{ github.token }} itself; a token read from a file it has never seen).
        secrets = [secret for secret in (api_key, *also_mask) if secret]
        self._emit([f"::add-mask::{escape_command_data(secret.reveal())}" for secret in secrets])

    def sanitize_log(self, text: str) -> str:
        return defuse(strip_controls(text))

    def log_run_details(self, outcome: Outcome) -> None:
        for item in outcome.runs:
            # A random token per block: text inside cannot end the block it cannot guess.
            token = uuid.uuid4().hex
            details = [self.sanitize_log(line) for line in run_detail_lines(item)]
            self._emit(
                [
                    command("group", strip_controls(run_heading(item))),
                    f"::stop-commands::{token}",
                    *details,
                    f"::{token}::",
                    "::endgroup::",
                ]
            )

    def publish(
        self,
        outcome: Outcome,
        *,
        summary_markdown: str,
        written: Mapping[str, Path],
        exit_code: ExitCode | None = None,
    ) -> list[str]:
        notes: list[str] = []
        if self.job_summary:
            notes += self._append("GITHUB_STEP_SUMMARY", summary_markdown, what="the job summary")
        values = output_values(outcome, written=written, workspace=self.workspace, exit_code=exit_code)
        entries = "".join(heredoc_entry(name, value) for name, value in values.items())
        notes += self._append("GITHUB_OUTPUT", entries, what="step outputs")
        if self.annotations:
            self._emit(annotation_lines(outcome))
        return notes

    def publish_error(self, *, message: str, exit_code: ExitCode) -> list[str]:
        notes: list[str] = []
        if self.job_summary:
            line = f"### DocketQA gate: error (exit code {int(exit_code)})\n\n{md_inline(message)}\n"
            notes += self._append("GITHUB_STEP_SUMMARY", line, what="the job summary")
        entries = "".join(heredoc_entry(name, value) for name, value in error_values(exit_code).items())
        notes += self._append("GITHUB_OUTPUT", entries, what="step outputs")
        if self.annotations:
            self._emit([command("error", truncate(strip_controls(message), MAX_MESSAGE), title=ERROR_TITLE)])
        return notes

    def debug_traceback(self, text: str, *, asked: bool) -> str | None:
        """The action has no --debug: the runner's debug logging (RUNNER_DEBUG=1, "Re-run with debug logging")
        shows the traceback, collapsed so the error line stays the first thing a reader sees."""
        if not asked and self.env.get("RUNNER_DEBUG", "").strip() != "1":
            return "re-run the job with debug logging enabled (or pass --debug) for the traceback, and report it"
        token = uuid.uuid4().hex
        lines = [self.sanitize_log(line) for line in text.rstrip("\n").split("\n")]
        self._emit([f"::group::{TRACEBACK_GROUP}", f"::stop-commands::{token}", *lines, f"::{token}::", "::endgroup::"])
        return f"the traceback is in the group '{TRACEBACK_GROUP}' above; please report it"

    def _append(self, variable: str, text: str, *, what: str) -> list[str]:
        target = self.env.get(variable, "")
        if not target:
            return [f"${variable} is not set, so {what} could not be written"]
        try:
            # unicode_safe: a lone surrogate that slipped into the summary must not make the write fail.
            append_text(Path(target), unicode_safe(text))
        except OSError as exc:
            return [f"could not write {what} to ${variable} ({os_reason(exc)})"]
        return []

    def _emit(self, lines: list[str]) -> None:
        if lines:
            self.stdout.write("".join(line + "\n" for line in lines))
            self.stdout.flush()


def annotation_lines(outcome: Outcome) -> list[str]:
    """``::error`` per failed or errored run, ``::warning`` for timeouts, cancellations, flaky runs and
    allowed failures; each kind capped at MAX_ANNOTATIONS, with a notice saying how many were left out."""
    found: dict[str, list[str]] = {"error": [], "warning": []}
    for item in outcome.runs:
        annotation = _annotation(item)
        if annotation is not None:
            kind, title, message = annotation
            found[kind].append(command(kind, truncate(message, MAX_MESSAGE), title=truncate(title, MAX_TITLE)))
    lines: list[str] = []
    for kind, noun in (("error", "failed runs"), ("warning", "warnings")):
        lines += found[kind][:MAX_ANNOTATIONS]
        hidden = len(found[kind]) - MAX_ANNOTATIONS
        if hidden > 0:
            message = f"{hidden} more {noun} are not annotated (GitHub shows {MAX_ANNOTATIONS}); see the job summary"
            lines.append(command("notice", message, title="DocketQA"))
    return lines


def _annotation(item: RunOutcome) -> tuple[str, str, str] | None:
    """(kind, title, message) for one run, or None for a clean pass."""
    name = " ".join(strip_controls(item.name).split())
    title = f"DocketQA: {name}"
    problem = strip_controls(item.problem or "")
    if item.verdict is Verdict.PASSED:
        if not item.flaky or item.run is None:
            return None
        attempts = item.run.failed_attempts
        reasons = [f"attempt {a.number}: {failure_line(a.failed_step)}" for a in attempts if a.failed_step]
        message = f"passed after {len(attempts)} failed attempt(s)" + ("; " + "; ".join(reasons) if reasons else "")
        return "warning", f"{title} (flaky)", strip_controls(message)
    if item.allowed_failure:
        return "warning", f"{title} (allowed failure)", problem or item.verdict.value
    if item.verdict in (Verdict.FAILED, Verdict.ERROR):
        return "error", title, problem or item.verdict.value
    return "warning", f"{title} ({item.verdict.value.replace('_', ' ')})", problem or item.verdict.value
