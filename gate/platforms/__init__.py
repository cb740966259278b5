"""Pick the CI adapter from the environment it is given (never read at import time)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from gate.platforms.base import OUTPUT_NAMES, Platform
from gate.platforms.github import GitHubPlatform
from gate.platforms.gitlab import GitLabPlatform
from gate.platforms.local import LocalPlatform


def detect(
    env: Mapping[str, str],
    *,
    stdout: TextIO,
    workspace: Path,
    annotations: bool = True,
    job_summary: bool = True,
) -> Platform:
    """GitHub when ``GITHUB_ACTIONS=true``, else GitLab when ``GITLAB_CI=true``, else local."""
    if env.get("GITHUB_ACTIONS") == "true":
        return GitHubPlatform(
            stdout=stdout, workspace=workspace, env=dict(env), annotations=annotations, job_summary=job_summary
        )
    if env.get("GITLAB_CI") == "true":
        return GitLabPlatform(stdout=stdout, workspace=workspace, job_summary=job_summary)
    return LocalPlatform(stdout=stdout, workspace=workspace)


def commit_sha(env: Mapping[str, str]) -> str | None:
    """The commit under test: ``GITHUB_SHA`` on GitHub, ``CI_COMMIT_SHA`` on GitLab, else unknown."""
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        value = env.get(name, "").strip()
        if value:
            return value
    return None


__all__ = ["OUTPUT_NAMES", "GitHubPlatform", "GitLabPlatform", "LocalPlatform", "Platform", "commit_sha", "detect"]
