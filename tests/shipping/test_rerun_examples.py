"""The resume, fan-in and wait-for-deploy examples: valid for GitHub and GitLab, and wired as their comments say."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from gate.cli import build_parser
from gate.config.flags import parse_arguments
from tests.support.shipping import ROOT, check_jsonschema, load_yaml

GITLAB_EXAMPLES = sorted(ROOT.glob("examples/gitlab-*.yml"))


def _steps(path: str, job: str) -> list[dict[str, Any]]:
    return load_yaml(path)["jobs"][job]["steps"]  # type: ignore[no-any-return]


def _gate_commands(script: str) -> list[list[str]]:
    """Each ``docketqa-gate ...`` command line of a script, split as the shell would, with variables filled in."""
    values = {"CI_COMMIT_SHA": "4f2a9c1", "CI_NODE_INDEX": "1", "SHARE": "180,181"}
    commands = []
    for line in script.splitlines():
        filled = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), "value"), line)
        words = shlex.split(filled) if "docketqa-gate" in filled else []
        if words and words[0] == "docketqa-gate":
            commands.append(words[1:])
    return commands


@pytest.mark.parametrize("path", GITLAB_EXAMPLES, ids=lambda p: p.name)
def test_gitlab_examples_validate_against_the_gitlab_ci_schema(path: Path) -> None:
    """GitLab would accept the example: check-jsonschema's vendor.gitlab-ci (offline) accepts it."""
    result = check_jsonschema("vendor.gitlab-ci", path)
    assert result.returncode == 0, result.stdout + result.stderr


def _every_gate_command() -> list[list[str]]:
    found = []
    for path in GITLAB_EXAMPLES:
        for job in load_yaml(path.relative_to(ROOT).as_posix()).values():
            if isinstance(job, dict) and "script" in job:
                found += [c for line in job["script"] for c in _gate_commands(" ".join(line.split()))]
    for step in _steps("examples/github-fan-in.yml", "report"):
        found += _gate_commands(step.get("run", ""))
    return found


def test_every_gate_command_in_the_examples_parses() -> None:
    """Each docketqa-gate command the examples run uses only flags the gate has (resume, wait-for, report)."""
    commands = _every_gate_command()
    flags = {word for command in commands for word in command if word.startswith("--")}
    assert {"--resume", "--wait-for-url", "--wait-for-text", "--wait-timeout"} <= flags
    assert any(command[0] == "report" for command in commands)
    for command in commands:
        parse_arguments(build_parser(), command)  # raises UsageError on an unknown flag


def test_the_resume_example_downloads_the_earlier_result_only_on_a_rerun() -> None:
    """A re-run downloads the commit's result and passes it as resume-from; every attempt uploads its own."""
    steps = _steps("examples/github-resume.yml", "docketqa")
    download = next(s for s in steps if s.get("uses", "").startswith("actions/download-artifact@"))
    gate = next(s for s in steps if "docketqa-gate@" in s.get("uses", ""))
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")
                  and s["with"]["name"].startswith("docketqa-result-"))  # fmt: skip
    assert download["if"] == "github.run_attempt > 1" and download["continue-on-error"] is True
    assert download["with"]["name"] == upload["with"]["name"] == "docketqa-result-${{ github.sha }}"
    assert gate["with"]["resume-from"] == f"{download['with']['path']}/{gate['with']['json-path']}"
    assert upload["with"]["path"] == gate["with"]["json-path"] and upload["with"]["overwrite"] is True


def test_the_fan_in_example_reports_after_every_share_whatever_happened() -> None:
    """The report job needs the matrix job, runs always, and reads every share's uploaded result."""
    workflow = load_yaml("examples/github-fan-in.yml")["jobs"]
    report = workflow["report"]
    assert report["needs"] == "docketqa" and report["if"] == "always()"
    assert workflow["docketqa"]["strategy"]["fail-fast"] is False
    download = next(s for s in report["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["pattern"] == "docketqa-result-*"
    (command,) = [c for s in report["steps"] for c in _gate_commands(s.get("run", ""))]
    assert command[:2] == ["report", f"{download['with']['path']}/*/docketqa-result.json"]


def test_the_deploy_example_waits_for_staging_to_serve_the_commit() -> None:
    """The gate job needs the deploy and waits for /version to contain github.sha before triggering."""
    jobs = load_yaml("examples/github-wait-for-deploy.yml")["jobs"]
    assert jobs["docketqa"]["needs"] == "deploy"
    gate = next(s for s in jobs["docketqa"]["steps"] if "docketqa-gate@" in s.get("uses", ""))
    assert gate["with"]["wait-for-text"] == "${{ github.sha }}"
    assert gate["with"]["wait-for-url"].startswith("https://")
