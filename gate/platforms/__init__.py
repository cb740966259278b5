"""The CI platform: GitHub, GitLab or local, picked from the environment it is given (never read at import time).

Every ``GITHUB_*`` variable the gate reads is read in this package. The adapters load on first use (PEP 562),
so the CLI can ask ``is_action_entry_point`` without importing them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from gate.platforms.base import OUTPUT_NAMES, Platform
    from gate.platforms.github import GitHubPlatform
    from gate.platforms.gitlab import GitLabPlatform
    from gate.platforms.local import LocalPlatform

_EXPORTS = {
    "OUTPUT_NAMES": "base",
    "Platform": "base",
    "GitHubPlatform": "github",
    "GitLabPlatform": "gitlab",
    "LocalPlatform": "local",
}


def in_github_actions(env: Mapping[str, str]) -> bool:
    """True in a GitHub Actions job (the runner sets ``GITHUB_ACTIONS=true``)."""
    return env.get("GITHUB_ACTIONS") == "true"


def in_gitlab_ci(env: Mapping[str, str]) -> bool:
    """True in a GitLab CI job (the runner sets ``GITLAB_CI=true``)."""
    return env.get("GITLAB_CI") == "true"


def is_action_entry_point(args: Sequence[str], env: Mapping[str, str]) -> bool:
    """True when the process is the GitHub Action itself: no arguments in a GitHub Actions job, so the settings
    come from the action's ``INPUT_*`` variables."""
    return not args and in_github_actions(env)


def detect(
    env: Mapping[str, str],
    *,
    stdout: TextIO,
    workspace: Path,
    annotations: bool = True,
    job_summary: bool = True,
) -> Platform:
    """GitHub when ``GITHUB_ACTIONS=true``, else GitLab when ``GITLAB_CI=true``, else local."""
    from gate.platforms.github import GitHubPlatform
    from gate.platforms.gitlab import GitLabPlatform
    from gate.platforms.local import LocalPlatform

    if in_github_actions(env):
        return GitHubPlatform(
            stdout=stdout, workspace=workspace, env=dict(env), annotations=annotations, job_summary=job_summary
        )
    if in_gitlab_ci(env):
        return GitLabPlatform(stdout=stdout, workspace=workspace, job_summary=job_summary)
    return LocalPlatform(stdout=stdout, workspace=workspace)


def commit_sha(env: Mapping[str, str]) -> str | None:
    """The commit under test: ``GITHUB_SHA`` on GitHub, ``CI_COMMIT_SHA`` on GitLab, else unknown."""
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gate.platforms' has no attribute '{name}'")
    return getattr(importlib.import_module(f"gate.platforms.{module}"), name)


__all__ = [
    "OUTPUT_NAMES",
    "GitHubPlatform",
    "GitLabPlatform",
    "LocalPlatform",
    "Platform",
    "commit_sha",
    "detect",
    "in_github_actions",
    "is_action_entry_point",
]
