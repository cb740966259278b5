"""The image without Docker: install what the Dockerfile installs, then run it the way the GitHub runner does."""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gate.sandbox.registry import get_scenario
from gate.sandbox.server import Sandbox
from tests.support.contract import runner_input_variable
from tests.support.edge import parse_command, parse_github_output_file
from tests.support.keys import TEST_API_KEY
from tests.support.render import assert_valid_junit, junit_counts
from tests.support.shipping import (
    ROOT,
    Instruction,
    dockerfile_instructions,
    dockerignore_excludes,
    dockerignore_patterns,
    load_yaml,
    normalise,
    pip_install_commands,
    read_pins,
)

#: What `python -m venv` puts into every environment; anything else must come from the Dockerfile's pins.
VENV_BASELINE = {"pip", "setuptools", "wheel"}
#: Runs of the sandbox scenarios last 2-12 s; scaled down they finish within a few polls.
TIME_SCALE = 0.02


@dataclasses.dataclass(frozen=True)
class Image:
    """A directory standing in for the image's filesystem root, plus the venv playing its Python."""

    root: Path
    venv: Path
    env: dict[str, str]
    entrypoint: tuple[str, ...]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def path(self, absolute: str) -> Path:
        """Where an absolute path inside the image lives in the emulation."""
        return self.root / absolute.lstrip("/")

    def command(self) -> list[str]:
        """The ENTRYPOINT with `python` as the venv's interpreter and image paths mapped into the emulation."""
        program, *args = self.entrypoint
        assert program == "python", self.entrypoint
        return [str(self.python), *(str(self.path(a)) if a.startswith("/") else a for a in args)]


def _copy(arguments: str, *, root: Path, ignored: list[str]) -> None:
    """COPY <src> <dst> from the build context, leaving out what .dockerignore drops (as `docker build` does)."""
    source, target = shlex.split(arguments)
    destination = root / target.lstrip("/")
    origin = ROOT / source
    if origin.is_file():
        if target.endswith("/"):
            destination = destination / origin.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, destination)
        return
    for path in origin.rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and not dockerignore_excludes(ignored, relative):
            copied = destination / path.relative_to(origin)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copied)


def _pip_install(argv: list[str], *, root: Path, venv: Path) -> None:
    """One `pip install ...` from a RUN line, run with the venv's pip and image paths mapped."""
    args = [str(root / a.lstrip("/")) if a.startswith("/") else a for a in argv[argv.index("install") + 1 :]]
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(
            "could not install the image's pinned dependencies from the package registry (CI has PyPI; is it "
            f"reachable from here?): {' '.join(argv)} exited {result.returncode}:\n{result.stderr[-2000:]}"
        )


def _environment_of(instruction: Instruction) -> dict[str, str]:
    """ENV KEY=VALUE ... (the only form the Dockerfile uses)."""
    return dict(pair.split("=", 1) for pair in shlex.split(instruction.arguments))


def build_image(base: Path) -> Image:
    """Follow the Dockerfile in order: ENV, COPY and the `pip install` parts of RUN (the printf wrapper is
    checked in test_shipping); the base image's Python is a fresh venv of this interpreter."""
    root, venv = base / "image", base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    ignored = dockerignore_patterns()
    env: dict[str, str] = {}
    entrypoint: tuple[str, ...] = ()
    for instruction in dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8")):
        if instruction.keyword == "ENV":
            env.update(_environment_of(instruction))
        elif instruction.keyword == "COPY":
            _copy(instruction.arguments, root=root, ignored=ignored)
        elif instruction.keyword == "RUN":
            for argv in pip_install_commands([instruction]):
                _pip_install(argv, root=root, venv=venv)
        elif instruction.keyword == "ENTRYPOINT":
            entrypoint = tuple(json.loads(instruction.arguments))
    return Image(root=root, venv=venv, env=env, entrypoint=entrypoint)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    """Built once per module: the venv and pip install take most of this file's time."""
    yield build_image(tmp_path_factory.mktemp("container"))


@dataclasses.dataclass(frozen=True)
class Step:
    """One finished action step: exit code, log lines after the mask, and what it left behind."""

    code: int
    mask: str
    log: list[str]
    outputs: dict[str, str]
    summary: str
    workspace: Path


def run_action(image: Image, tmp_path: Path, *, inputs: dict[str, str], leak_guard: Callable[[str], str]) -> Step:
    """Start the entrypoint with no arguments, as `docker run` does for a container action step."""
    workspace, files = tmp_path / "workspace", tmp_path / "file_commands"
    workspace.mkdir()
    files.mkdir()
    output, summary = files / "set_output", files / "step_summary"
    output.touch()
    summary.touch()
    declared = load_yaml("action.yml")["inputs"]
    assert set(inputs) <= set(declared), "a test input the action does not declare"
    env = {
        **image.env,
        "PATH": f"{image.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_OS": "Linux",
        # Every declared input arrives, unset ones as empty strings (the runner does not apply `required`).
        **{runner_input_variable(name): inputs.get(name, "") for name in declared},
    }
    result = subprocess.run(
        image.command(), cwd=workspace, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    lines = result.stdout.splitlines()
    # The runner consumes ::add-mask:: and hides the key from then on: everything else must be key-free.
    leak_guard("\n".join(lines[1:]) + result.stderr)
    return Step(
        code=result.returncode,
        mask=lines[0] if lines else "",
        log=lines[1:],
        outputs=parse_github_output_file(output.read_text(encoding="utf-8")),
        summary=summary.read_text(encoding="utf-8"),
        workspace=workspace,
    )


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(api_key=TEST_API_KEY, scenario=request.param, time_scale=TIME_SCALE) as served:
        yield served


def base_inputs(sandbox: Sandbox) -> dict[str, str]:
    ids = ", ".join(str(i) for i in sandbox.scenario.blueprint_ids)
    return {"api-key": TEST_API_KEY, "blueprint-ids": ids, "api-url": sandbox.url, "poll-interval": "0.1s"}


def expected_outputs(sandbox: Sandbox, **values: str) -> dict[str, str]:
    """Every declared output: the ids of the one group run triggered, the given values, empty paths."""
    (group,) = sandbox.triggered_group_ids
    runs = sandbox.run_ids_of_group(group)
    found = {
        "test-run-ids": ",".join(map(str, runs)),
        "group-run-ids": str(group),
        "carried-over-run-ids": "",
        "new-group-run-id": str(group),
        "dashboard-url": f"{sandbox.url}/dashboard/grouprun/{group}",  # the sandbox's own page
        "junit-path": "docketqa-junit.xml",
        "json-path": "",
        "summary-path": "",
        **values,
    }
    assert set(found) == set(load_yaml("action.yml")["outputs"]), "the test expects an undeclared output"
    return found


def annotations_in(log: list[str]) -> list[tuple[str, str]]:
    """(kind, title) of every ::error / ::warning / ::notice the runner would show."""
    commands = [parse_command(line) for line in log]
    return [(c[0], c[1].get("title", "")) for c in commands if c and c[0] in ("error", "warning", "notice")]


def test_the_image_needs_nothing_but_the_pinned_runtime_dependencies(image: Image) -> None:
    """The image's Python holds exactly requirements/runtime.txt's pins (no test tools, nothing unpinned)."""
    listed = subprocess.run(
        [str(image.python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    installed = {normalise(p["name"]): p["version"] for p in json.loads(listed)}
    extra = {name: version for name, version in installed.items() if name not in VENV_BASELINE}
    assert extra == read_pins(ROOT / "requirements/runtime.txt")
    assert (image.path("/opt/docketqa-gate/entrypoint.py")).is_file()
    assert not list(image.root.rglob("__pycache__")), "the build context should not carry bytecode"


@pytest.mark.parametrize("sandbox", ["passing"], indirect=True)
def test_a_passing_group_passes_the_step_with_every_output_and_report(
    image: Image, sandbox: Sandbox, tmp_path: Path, leak_guard: Callable[[str], str]
) -> None:
    """Two passing runs: exit 0, the key masked first, every declared output, a summary and a valid JUnit file."""
    step = run_action(image, tmp_path, inputs=base_inputs(sandbox), leak_guard=leak_guard)
    assert step.code == 0, "\n".join(step.log)
    assert parse_command(step.mask) == ("add-mask", {}, TEST_API_KEY)
    assert step.outputs == expected_outputs(
        sandbox, status="passed", **{"exit-code": "0", "total": "2", "passed": "2", "failed": "0", "errors": "0",
                                     "timed-out": "0", "not-awaited": "0", "flaky": "0"},
    )  # fmt: skip
    assert step.summary.startswith("## ✅ DocketQA: passed")
    for spec in sandbox.scenario.blueprints.values():
        assert spec.title in step.summary
    junit = (step.workspace / "docketqa-junit.xml").read_text(encoding="utf-8")
    assert_valid_junit(junit)
    assert junit_counts(junit)[0] == {"tests": 2, "failures": 0, "errors": 0}
    assert [kind for kind, _ in annotations_in(step.log)] == []
    assert sorted(p.name for p in step.workspace.iterdir()) == ["docketqa-junit.xml"]


@pytest.mark.parametrize("sandbox", ["mixed"], indirect=True)
def test_a_failing_group_fails_the_step_after_writing_everything(
    image: Image, sandbox: Sandbox, tmp_path: Path, leak_guard: Callable[[str], str]
) -> None:
    """A failure, an unknown status and a flaky pass: exit 1, outputs, summary, JUnit, JSON and annotations."""
    inputs = {**base_inputs(sandbox), "json-path": "reports/docketqa.json"}
    step = run_action(image, tmp_path, inputs=inputs, leak_guard=leak_guard)
    assert step.code == 1, "\n".join(step.log)
    assert parse_command(step.mask) == ("add-mask", {}, TEST_API_KEY)
    assert step.outputs == expected_outputs(
        sandbox, status="failed", **{"exit-code": "1", "total": "4", "passed": "2", "failed": "1", "errors": "1",
                                     "timed-out": "0", "not-awaited": "0", "flaky": "1",
                                     "json-path": "reports/docketqa.json"},
    )  # fmt: skip
    assert step.summary.startswith("## ❌ DocketQA: failed")
    junit = (step.workspace / "docketqa-junit.xml").read_text(encoding="utf-8")
    assert_valid_junit(junit)
    assert junit_counts(junit)[0] == {"tests": 4, "failures": 1, "errors": 1}
    result = json.loads((step.workspace / "reports/docketqa.json").read_text(encoding="utf-8"))
    assert (result["verdict"], result["exit_code"]) == ("failed", 1)
    titles = {bid: spec.title for bid, spec in get_scenario("mixed").blueprints.items()}
    assert sorted(annotations_in(step.log)) == sorted(
        [
            ("error", f"DocketQA: {titles[182]}"),
            ("error", f"DocketQA: {titles[184]}"),
            ("warning", f"DocketQA: {titles[183]} (flaky)"),
        ]
    )
    assert not any(line.startswith("Traceback") for line in step.log)
