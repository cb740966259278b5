"""Render every report from the Outcome and write each atomically; one failing write never stops the others."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.config import Config
from gate.errors import UsageError
from gate.model import Outcome


def write_reports(
    outcome: Outcome, config: Config, *, platform: Any, workspace: Path, env: Mapping[str, str]
) -> tuple[dict[str, Path], str, list[str]]:
    """Write JUnit, JSON and summary files; return what was written, the summary Markdown and notes."""
    from gate.files import write_atomic
    from gate.junit import render_junit
    from gate.result_json import render_json
    from gate.summary import render_summary

    paths = config.reports
    owner_of = _workspace_owner(env)
    notes: list[str] = []
    attachments = None
    if paths.artifacts_dir is not None:
        attachments, download_notes = _download_evidence(outcome, dest=workspace / paths.artifacts_dir, workspace=workspace)
        notes += download_notes
    summary_markdown = render_summary(outcome, attachments=attachments)
    jobs = {
        "junit": (paths.junit, lambda: render_junit(outcome, layout=paths.junit_layout, attachments=attachments)),
        # Compact: json's C encoder is only used without indent (5x faster on 20,000 steps); jq pretty-prints.
        "json": (paths.json, lambda: json.dumps(render_json(outcome), ensure_ascii=False, separators=(",", ":")) + "\n"),
        "summary": (paths.summary, lambda: summary_markdown),
    }
    written: dict[str, Path] = {}
    failures: list[str] = []
    for name, (path, render) in jobs.items():
        if path is None:
            continue
        target = workspace / path
        try:
            write_atomic(target, render(), owner_of=owner_of)
        except OSError as exc:
            failures.append(f"cannot write the {name} report to {target}: {exc.strerror or exc}")
            continue
        written[name] = target
    if failures:
        # Every other report is on disk already; a gate that could not write a report must not pass.
        raise UsageError("; ".join(failures) + ": choose a writable path")
    return written, summary_markdown, notes


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
