"""Hostile DocketQA text through the real CLI on GitHub and GitLab: the log, outputs, JUnit and summary hold."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.clock import FakeClock
from gate.errors import ExitCode
from gate.platforms import OUTPUT_NAMES
from gate.platforms.gitlab import DOTENV_NAMES
from gate.sandbox.hostile import HOSTILE_CASES, HOSTILE_URLS
from gate.sandbox.scenarios import FAILED, PASSED, ActionSpec, BlueprintSpec, Scenario, StepSpec
from tests.support.edge import parse_command, parse_github_output_file
from tests.support.hardening import (
    START,
    GateRun,
    Register,
    assert_clean_exit,
    blueprint_args,
    gate_env,
    report_args,
    run_gate,
    serving,
)
from tests.support.keys import TEST_API_KEY
from tests.support.render import assert_only_our_html, assert_valid_junit, junit_counts, render_markdown

#: Commands the gate itself prints on GitHub; ``stop-commands`` blocks end with a random token line.
OUR_COMMANDS = frozenset({"add-mask", "group", "endgroup", "stop-commands", "error", "warning", "notice"})
#: GitHub's limit for one step's summary.
SUMMARY_LIMIT = 1024 * 1024
_RUNNER_LINES = re.compile(r"\r\n|\r|\n")  # .NET's ReadLine, which the runner uses, ends a line at CR too
_SECTION_START = re.compile(
    r"\x1b\[0Ksection_start:\d+:(docketqa_run_\d+(?:_\d+)?)\[collapsed=(?:true|false)\]\r\x1b\[0K"
)
_SECTION_END = re.compile(r"\x1b\[0Ksection_end:\d+:(docketqa_run_\d+(?:_\d+)?)\r\x1b\[0K")
_DOTENV_LINE = re.compile(r"(DOCKETQA_[A-Z_]+)=([A-Za-z0-9_.,:/?=&%+@-]+)")


def case_scenario(name: str, value: str) -> Scenario:
    """Three runs whose every text field and URL carries one hostile case: a failure, a flaky pass, an odd status."""
    text = f"{value} [{name}]"
    url = HOSTILE_URLS[len(name) % len(HOSTILE_URLS)]
    actions = (ActionSpec(description=text, type=text, screenshot_url=text, screenshot=False), ActionSpec(text))
    ok = StepSpec(task=text, successful=True, result=text, duration=3, actions=actions)
    bad = StepSpec(task=text, successful=False, result=f"{text}\nsecond line {text}", duration=4, actions=actions)

    def blueprint(status: str, steps: tuple[StepSpec, ...], **extra: object) -> BlueprintSpec:
        return BlueprintSpec(title=text, starting_url=url, steps=steps, final_status=status, duration_s=3.0,
                             video_url=text, **extra)  # type: ignore[arg-type]  # fmt: skip

    blueprints = {
        701: blueprint(FAILED, (ok, bad)),
        702: blueprint(PASSED, (bad,), attempts=((ok, ok),)),
        703: blueprint(text, (ok,)),
    }
    return Scenario(name=f"hostile:{name}", blueprints=blueprints, description=f"every field holds {name}")


@pytest.fixture
def github(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A GitHub job step's environment: the runner's files and workspace are the test's."""
    files = {"GITHUB_OUTPUT": tmp_path / "github_output", "GITHUB_STEP_SUMMARY": tmp_path / "step_summary"}
    for path in files.values():
        path.touch()
    yield {"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": str(tmp_path / "workspace"),
           **{name: str(path) for name, path in files.items()}}  # fmt: skip


def gate_in_ci(
    scenario: str | Scenario, env: dict[str, str], *, workspace: Path, register: Register, layout: str = "test"
) -> GateRun:
    clock = FakeClock(START)
    workspace.mkdir(exist_ok=True)
    with serving(scenario, clock=clock) as sandbox:
        return run_gate([*blueprint_args(sandbox), *report_args(layout=layout)], workspace=workspace,
                        register=register, env={**env, **gate_env()}, clock=clock,
                        sandbox=sandbox)  # fmt: skip


def commands_the_runner_runs(log: str) -> list[tuple[str, dict[str, str], str]]:
    """Workflow commands GitHub's runner would act on in ``log``, honouring ``::stop-commands::TOKEN`` blocks."""
    found = []
    resume: str | None = None
    for line in _RUNNER_LINES.split(log):
        if resume is not None:
            resume = None if line.strip() == f"::{resume}::" else resume
            continue
        command = parse_command(line)
        if command is None:
            continue
        found.append(command)
        if command[0] == "stop-commands":
            resume = command[2]
    return found


def assert_github_log_is_ours(run: GateRun) -> None:
    """Every command the runner would run is one the gate prints on purpose; nothing legacy (``##[``) at all."""
    for stream in (run.out, run.err):
        assert "##[" not in stream
        for name, props, data in commands_the_runner_runs(stream):
            assert name in OUR_COMMANDS, (name, props, data)
            if name == "add-mask":
                assert data == TEST_API_KEY
            if name in ("error", "warning", "notice"):
                assert props.get("title", "").startswith("DocketQA"), props
            if name == "stop-commands":
                assert re.fullmatch(r"[0-9a-f]{32}", data), data
    assert commands_the_runner_runs(run.err) == []  # stderr carries progress only


def assert_github_files_hold(run: GateRun, env: dict[str, str], *, code: ExitCode) -> dict[str, str]:
    """$GITHUB_OUTPUT parses to exactly the declared outputs; the job summary renders with only our HTML."""
    outputs = parse_github_output_file(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert tuple(outputs) == OUTPUT_NAMES
    assert outputs["exit-code"] == str(int(code))
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_bytes()
    assert 0 < len(summary) <= SUMMARY_LIMIT
    assert_only_our_html(render_markdown(summary.decode("utf-8"), unsafe=True))
    return outputs


def assert_junit_holds(run: GateRun, *, tests: int) -> None:
    xml = run.text("junit.xml")
    assert_valid_junit(xml)
    totals, _ = junit_counts(xml)
    assert totals["tests"] == tests


@pytest.mark.parametrize("layout", ["test", "step"])
@pytest.mark.parametrize(("name", "value"), HOSTILE_CASES, ids=[name for name, _ in HOSTILE_CASES])
def test_each_hostile_case_is_inert_on_github(
    name: str, value: str, layout: str, github: dict[str, str], tmp_path: Path, leak_guard: Register
) -> None:
    """One hostile string in every field: exit 1, valid JUnit, a sound summary, exact outputs, no forged command."""
    run = gate_in_ci(case_scenario(name, value), github, workspace=tmp_path / "workspace", register=leak_guard,
                     layout=layout)  # fmt: skip
    assert_clean_exit(run)
    assert run.code == ExitCode.FAILED, run.err
    assert_github_log_is_ours(run)
    outputs = assert_github_files_hold(run, github, code=ExitCode.FAILED)
    assert (outputs["status"], outputs["total"], outputs["failed"], outputs["errors"], outputs["flaky"]) == (
        "failed", "3", "1", "1", "1")  # fmt: skip
    document = run.json()
    assert [r["verdict"] for r in document["runs"]] == ["failed", "passed", "error"]
    assert all(f"[{name}]" in r["title"] for r in document["runs"])  # the case really went through
    assert_junit_holds(run, tests=3 if layout == "test" else 2 + 2 + 2)  # step layout: the odd status adds "Run result"
    assert_only_our_html(render_markdown(run.text("summary.md"), unsafe=True))


@pytest.mark.parametrize("layout", ["test", "step"])
def test_the_hostile_scenario_holds_on_github(
    layout: str, github: dict[str, str], tmp_path: Path, leak_guard: Register
) -> None:
    """The sandbox's hostile scenario (every case in every field at once) through the CLI on GitHub."""
    run = gate_in_ci("hostile", github, workspace=tmp_path / "workspace", register=leak_guard, layout=layout)
    assert_clean_exit(run)
    assert run.code == ExitCode.FAILED
    assert_github_log_is_ours(run)
    assert_github_files_hold(run, github, code=ExitCode.FAILED)
    assert len(run.json()["runs"]) == 6
    assert_valid_junit(run.text("junit.xml"))


@pytest.mark.parametrize("layout", ["test", "step"])
def test_a_1_mb_result_and_5000_steps_hold_on_github(
    layout: str, github: dict[str, str], tmp_path: Path, leak_guard: Register
) -> None:
    """A ~1 MB failure explanation and a 5,000-step run: valid JUnit, a summary under GitHub's 1 MiB, a bounded log."""
    run = gate_in_ci("huge", github, workspace=tmp_path / "workspace", register=leak_guard, layout=layout)
    assert_clean_exit(run)
    assert run.code == ExitCode.FAILED
    assert_github_log_is_ours(run)
    assert_github_files_hold(run, github, code=ExitCode.FAILED)
    assert_junit_holds(run, tests=2 if layout == "test" else 1 + 5000)
    assert len(run.out) < 512 * 1024  # the log shows the first steps and a pointer, not megabytes
    big, many = run.json()["runs"]
    assert len(big["steps"][0]["result"]) > 900_000 and len(many["steps"]) == 5000


def assert_gitlab_log_is_ours(run: GateRun) -> None:
    """Sections open and close in pairs with our names; no other escape sequence or CR reaches the log."""
    starts = _SECTION_START.findall(run.out)
    assert starts and starts == _SECTION_END.findall(run.out)
    rest = _SECTION_END.sub("", _SECTION_START.sub("", run.out))
    assert "\x1b" not in rest and "\r" not in rest
    assert "\x1b" not in run.err and "\r" not in run.err


def assert_dotenv_is_single_lines(workspace: Path, *, code: ExitCode) -> None:
    text = (workspace / "docketqa.env").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert text.endswith("\n") and all(_DOTENV_LINE.fullmatch(line) for line in lines), lines
    names = [line.split("=", 1)[0] for line in lines]
    assert set(names) <= set(DOTENV_NAMES) and len(names) == len(set(names))
    assert f"DOCKETQA_EXIT_CODE={int(code)}" in lines


@pytest.mark.parametrize("scenario", ["hostile", "huge"])
def test_hostile_and_huge_runs_hold_on_gitlab(scenario: str, tmp_path: Path, leak_guard: Register) -> None:
    """On GitLab: well-formed sections, a single-line dotenv, valid JUnit and a sound summary."""
    workspace = tmp_path / "project"
    env = {"GITLAB_CI": "true", "CI": "true", "CI_PROJECT_DIR": str(workspace)}
    run = gate_in_ci(scenario, env, workspace=workspace, register=leak_guard)
    assert_clean_exit(run)
    assert run.code == ExitCode.FAILED
    assert_gitlab_log_is_ours(run)
    assert_dotenv_is_single_lines(workspace, code=ExitCode.FAILED)
    assert_valid_junit(run.text("junit.xml"))
    assert_only_our_html(render_markdown(run.text("summary.md"), unsafe=True))


@pytest.mark.parametrize(("name", "value"), HOSTILE_CASES, ids=[name for name, _ in HOSTILE_CASES])
def test_each_hostile_case_is_inert_on_gitlab(name: str, value: str, tmp_path: Path, leak_guard: Register) -> None:
    """One hostile string in every field on GitLab: no forged section or escape, a single-line dotenv, exit 1."""
    workspace = tmp_path / "project"
    env = {"GITLAB_CI": "true", "CI": "true", "CI_PROJECT_DIR": str(workspace)}
    run = gate_in_ci(case_scenario(name, value), env, workspace=workspace, register=leak_guard)
    assert_clean_exit(run)
    assert run.code == ExitCode.FAILED
    assert_gitlab_log_is_ours(run)
    assert_dotenv_is_single_lines(workspace, code=ExitCode.FAILED)
    assert_junit_holds(run, tests=3)
