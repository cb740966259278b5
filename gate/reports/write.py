"""Render every report from the Outcome and write each atomically; one failing write never stops the others."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gate.config import Config
from gate.errors import UsageError, os_reason
from gate.outcome import Outcome

#: A file name to suggest when a report path is a directory.
DEFAULT_NAMES = {"junit": "docketqa-junit.xml", "json": "docketqa-result.json", "summary": "docketqa-summary.md"}


@dataclasses.dataclass(frozen=True)
class WrittenReports:
    """What ``write_reports`` did: the files on disk, the summary text, notes for the log, and any failed write."""

    paths: dict[str, Path]
    summary_markdown: str
    notes: list[str]
    #: Set when a report path could not be written: the caller publishes everything else, then raises it.
    failure: UsageError | None = None


def write_reports(
    outcome: Outcome, config: Config, *, platform: Any, workspace: Path
) -> WrittenReports:
    """Write JUnit, JSON and summary files; every one that can be written is, whatever happens to the others."""
    from gate.reports.junit import render_junit
    from gate.reports.result_json import render_json_text
    from gate.reports.summary import render_summary

    paths = config.reports
    owner_of = platform.workspace_owner
    notes: list[str] = []
    attachments = None
    if paths.artifacts_dir is not None:
        attachments, download_notes = _download_evidence(
            outcome, dest=workspace / paths.artifacts_dir, workspace=workspace, owner_of=owner_of
        )
        notes += download_notes
    # A renderer bug (exit 70 in cli.main) must not cost the reports the other renderers can still write.
    summary_markdown, crash = _rendered(lambda: render_summary(outcome, attachments=attachments))
    jobs: dict[str, tuple[Path | None, Callable[[], str]]] = {
        "junit": (paths.junit, lambda: render_junit(outcome, layout=paths.junit_layout, attachments=attachments)),
        "json": (paths.json, lambda: render_json_text(outcome)),
        "summary": (None if crash else paths.summary, lambda: summary_markdown or ""),
    }
    written, failures, crashed = _write_each(jobs, workspace=workspace, owner_of=owner_of)
    crash = crash or crashed
    if crash is not None:
        raise crash  # every report that could be rendered is on disk
    # A gate that could not write a report must not pass; the caller still publishes the rest first.
    failure = UsageError("; ".join(failures)) if failures else None
    return WrittenReports(paths=written, summary_markdown=summary_markdown or "", notes=notes, failure=failure)


def _write_each(
    jobs: Mapping[str, tuple[Path | None, Callable[[], str]]], *, workspace: Path, owner_of: Path | None
) -> tuple[dict[str, Path], list[str], Exception | None]:
    """Render and write each report atomically; one that fails never stops the others."""
    from gate.reports.files import write_atomic

    written: dict[str, Path] = {}
    failures: list[str] = []
    crash: Exception | None = None
    for name, (path, render) in jobs.items():
        if path is None:
            continue
        target = workspace / path
        text, crashed = _rendered(render)
        crash = crash or crashed
        if text is None:
            continue
        try:
            write_atomic(target, text, owner_of=owner_of)
        except IsADirectoryError:
            example = path / DEFAULT_NAMES[name]
            failures.append(f"{path} is a directory: give a file path for the {name} report, such as {example}")
            continue
        except OSError as exc:
            failures.append(f"cannot write the {name} report to {target}: {os_reason(exc)}: choose a writable path")
            continue
        written[name] = target
    return written, failures, crash


def _rendered(render: Callable[[], str]) -> tuple[str | None, Exception | None]:
    """The rendered text, or the renderer's unexpected exception (kept to re-raise once the rest is written)."""
    try:
        return render(), None
    except Exception as exc:  # noqa: BLE001 - re-raised by write_reports after the other reports
        return None, exc


def _download_evidence(
    outcome: Outcome, *, dest: Path, workspace: Path, owner_of: Path | None
) -> tuple[dict[int, list[str]], list[str]]:
    from gate.reports.evidence import download_evidence

    # GitLab and Jenkins resolve [[ATTACHMENT|path]] against the project directory: paths relative to it.
    evidence = download_evidence(outcome, dest=dest, relative_to=workspace, owner_of=owner_of)
    return evidence.attachments, list(evidence.notes)

