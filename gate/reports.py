"""Render every report from the Outcome and write each atomically; one failing write never stops the others."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gate.config import Config
from gate.errors import UsageError
from gate.model import Outcome


def write_reports(
    outcome: Outcome, config: Config, *, platform: Any, workspace: Path, env: Mapping[str, str]
) -> tuple[dict[str, Path], str, list[str]]:
    """Write JUnit, JSON and summary files; return what was written, the summary Markdown and notes."""
    from gate.junit import render_junit
    from gate.result_json import render_json_text
    from gate.summary import render_summary

    paths = config.reports
    owner_of = _workspace_owner(env)
    notes: list[str] = []
    attachments = None
    if paths.artifacts_dir is not None:
        attachments, download_notes = _download_evidence(outcome, dest=workspace / paths.artifacts_dir, workspace=workspace)
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
    if failures:
        # Every other report is on disk already; the caller still publishes outputs and the summary, then fails:
        # a gate that could not write a report must not pass.
        notes.append(REPORT_NOT_WRITTEN + "; ".join(failures) + ": choose a writable path")
    return written, summary_markdown or "", notes


#: Marks the note that says a report could not be written (execute.py turns it into exit 2 after publishing).
REPORT_NOT_WRITTEN = "report not written: "


def write_failure(notes: list[str]) -> UsageError | None:
    """The usage error for report paths that could not be written, if any note says so."""
    failed = [note[len(REPORT_NOT_WRITTEN):] for note in notes if note.startswith(REPORT_NOT_WRITTEN)]
    return UsageError("; ".join(failed)) if failed else None


def _write_each(
    jobs: Mapping[str, tuple[Path | None, Callable[[], str]]], *, workspace: Path, owner_of: Path | None
) -> tuple[dict[str, Path], list[str], Exception | None]:
    """Render and write each report atomically; one that fails never stops the others."""
    from gate.files import write_atomic

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
        except OSError as exc:
            failures.append(f"cannot write the {name} report to {target}: {exc.strerror or exc}")
            continue
        written[name] = target
    return written, failures, crash


def _rendered(render: Callable[[], str]) -> tuple[str | None, Exception | None]:
    """The rendered text, or the renderer's unexpected exception (kept to re-raise once the rest is written)."""
    try:
        return render(), None
    except Exception as exc:  # noqa: BLE001 - re-raised by write_reports after the other reports
        return None, exc


def _download_evidence(outcome: Outcome, *, dest: Path, workspace: Path) -> tuple[dict[int, list[str]], list[str]]:
    from gate.artifacts import download_evidence

    # GitLab and Jenkins resolve [[ATTACHMENT|path]] against the project directory: paths relative to it.
    evidence = download_evidence(outcome, dest=dest, relative_to=workspace)
    return evidence.attachments, list(evidence.notes)


def _workspace_owner(env: Mapping[str, str]) -> Path | None:
    """On GitHub the container runs as root: give reports to the workspace's owner so later steps can use them."""
    workspace = env.get("GITHUB_WORKSPACE")
    if env.get("GITHUB_ACTIONS") == "true" and workspace:
        return Path(workspace)
    return None
