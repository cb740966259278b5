"""Readers for the shipping artefacts (Dockerfile, .dockerignore, action files, pins) used by test_shipping."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import REPO

ROOT = REPO

#: The action's public surface, fixed by the issue; the code reads exactly these names.
INPUTS = (
    "api-key",
    "blueprint-ids",
    "test-run-ids",
    "config",
    "api-url",
    "timeout",
    "poll-interval",
    "fail-on-timeout",
    "fail-fast",
    "allow-failures",
    "junit-path",
    "junit-layout",
    "json-path",
    "job-summary",
    "annotations",
    "artifacts-dir",
    "pr-comment",
    "comment-key",
    "pr-number",
    "github-token",
    "comment-author",
    "resume-from",
    "resume-any-commit",
    "wait-for-url",
    "wait-for-text",
    "wait-for-status",
    "wait-timeout",
)
OUTPUTS = (
    "status",
    "exit-code",
    "total",
    "passed",
    "failed",
    "errors",
    "timed-out",
    "not-awaited",
    "flaky",
    "test-run-ids",
    "group-run-ids",
    "carried-over-run-ids",
    "new-group-run-id",
    "dashboard-url",
    "junit-path",
    "json-path",
    "summary-path",
)
WORKFLOWS = tuple(
    sorted(ROOT.glob("examples/github-*.yml"))
    + sorted(ROOT.glob(".github/workflows/*.yml"))
)
#: A value shells must pass through untouched: spaces, commas, quotes and command substitutions.
TRICKY = "180, 181 $(touch injected) `id` 'q' \"dq\""
# Proxies nobody listens on: a validator that tried to download a schema would fail instead of going online.
OFFLINE_ENV = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}


def load_yaml(relative: str) -> Any:
    return yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))


def workflow_triggers(workflow: dict[Any, Any]) -> Any:
    """YAML 1.1 reads the bare key `on` as True; accept either spelling."""
    return workflow.get("on", workflow.get(True))


def tool(name: str) -> str:
    """The path of a test tool that pyproject's test extra installs; a clear failure if it is missing."""
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} is not on PATH: pip install -e '.[test]'")
    return found


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **OFFLINE_ENV}
    command = [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped (enough of the Dockerfile grammar)."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, arguments = full.partition(" ")
            instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return instructions


def pip_install_commands(instructions: list[Instruction]) -> list[list[str]]:
    """Every `pip install ...` command inside RUN instructions, as argv lists."""
    commands = []
    for instruction in instructions:
        if instruction.keyword != "RUN":
            continue
        for part in re.split(r"&&|;", instruction.arguments):
            argv = shlex.split(part)
            if argv[:2] == ["pip", "install"] or argv[1:4] == ["-m", "pip", "install"]:
                commands.append(argv)
    return commands


@dataclasses.dataclass(frozen=True)
class Pin:
    """One `name==version --hash=sha256:...` requirement of a hash-pinned requirements file."""

    name: str
    version: str
    hashes: frozenset[str]


def read_hashed_pins(path: Path) -> dict[str, Pin]:
    """A pip requirements file of exact pins with hashes -> {normalised name: Pin}; anything else is an error."""
    pins: dict[str, Pin] = {}
    requirements, pending = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():  # pip joins lines that end with a backslash
        line = line.split("#", 1)[0].rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
        else:
            requirements.append(pending + line)
            pending = ""
    for requirement in requirements:
        words = requirement.split()
        if not words:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", words[0])
        hashes = [w.removeprefix("--hash=sha256:") for w in words[1:]]
        if match is None or any(not re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes):
            raise AssertionError(f"{path.name}: not an exact pin with sha256 hashes: {requirement.strip()!r}")
        pins[normalise(match.group(1))] = Pin(match.group(1), match.group(2), frozenset(hashes))
    return pins


def read_pins(path: Path) -> dict[str, str]:
    """{normalised name: version} of a requirements file of exact pins (with or without hashes)."""
    return {name: pin.version for name, pin in read_hashed_pins(path).items()}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories decides."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [
        line.strip()
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    ]


def substitute_expressions(text: str, values: dict[str, str]) -> str:
    """Replace `${{ name }}` the way the runner would, for the few names a test supplies."""

    def replace(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", replace, text)


def project() -> dict[str, Any]:
    """pyproject.toml's [project] table."""
    tomllib = pytest.importorskip("tomllib")
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text)["project"])


def stub(directory: Path, name: str, body: str) -> Path:
    """An executable script standing in for a command, written to directory/name."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(body, encoding="utf-8")
    path.chmod(0o755)
    return path
