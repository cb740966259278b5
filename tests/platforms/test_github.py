"""GitHub Actions adapter: masked key, outputs the runner parses back, escaped annotations, no forged commands."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest

from gate.outcome import Outcome
from gate.platforms import OUTPUT_NAMES, GitHubPlatform, detect, is_action_entry_point
from gate.platforms.github import heredoc_entry
from gate.secret import Secret
from tests.support.edge import (
    HOSTILE_ALL,
    flaky_body,
    judged,
    mixed_outcome,
    outcome_of,
    parse_command,
    parse_github_output_file,
    payload,
    step,
    unfinished,
)

OUR_COMMANDS = {"add-mask", "group", "endgroup", "stop-commands", "error", "warning", "notice"}


@dataclasses.dataclass
class Runner:
    """A fake GitHub job step: the adapter, its stdout, and the runner's two files."""

    platform: GitHubPlatform
    out: io.StringIO
    output_file: Path
    summary_file: Path
    workspace: Path

    def publish(self, outcome: Outcome, **written: Path) -> list[str]:
        return self.platform.publish(outcome, summary_markdown="## DocketQA\n| a | b |\n", written=written)

    def outputs(self) -> dict[str, str]:
        return parse_github_output_file(self.output_file.read_text(encoding="utf-8"))

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()


def _runner(tmp_path: Path, *, annotations: bool = True, job_summary: bool = True, env: dict | None = None) -> Runner:
    workspace = tmp_path / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    output_file, summary_file = tmp_path / "github_output", tmp_path / "step_summary"
    output_file.touch()
    summary_file.touch()
    environment = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
    }
    out = io.StringIO()
    platform = detect(
        env if env is not None else environment,
        stdout=out,
        workspace=workspace,
        annotations=annotations,
        job_summary=job_summary,
    )
    assert isinstance(platform, GitHubPlatform)
    return Runner(platform, out, output_file, summary_file, workspace)


def _hostile_outcome(text: str) -> Outcome:
    """Every DocketQA field a log line could carry holds ``text``."""
    failing = step(2, ok=False, task=text, result=f"{text}\nsecond line {text}", shots=(f"https://x/{text}",))
    failing["actions"][0]["description"] = text
    body = payload(38, title=text, steps=[step(1, ok=True, task=text, result=text), failing], video=f"https://v/{text}")
    return outcome_of(
        judged(body),
        judged(payload(39, status="passed", title=text)),
        judged(flaky_body(40, title=text)),
        unfinished(41, name=text),
        judged(payload(42, title=text), allowed_failure=True),
        judged(payload(43, status=text[:20] or "weird", title=text)),
    )


def test_the_key_is_masked_before_anything_else_is_printed(tmp_path: Path) -> None:
    """begin() prints ::add-mask:: with the (escaped) key as the very first line; no key, no line."""
    runner = _runner(tmp_path)
    key = "dq_live_%0A:odd,key"
    runner.platform.begin(api_key=Secret(key))
    runner.platform.log_run_details(mixed_outcome())
    first = runner.lines()[0]
    assert parse_command(first) == ("add-mask", {}, key)
    assert sum(line.startswith("::add-mask::") for line in runner.lines()) == 1

    silent = _runner(tmp_path / "nokey")
    silent.platform.begin(api_key=None)
    assert silent.out.getvalue() == ""


def test_outputs_parse_back_to_exactly_the_declared_outputs(tmp_path: Path) -> None:
    """$GITHUB_OUTPUT, read the way the runner reads it, holds every declared output with the right value."""
    runner = _runner(tmp_path)
    runner.output_file.write_text("earlier=kept\n")
    outside = tmp_path / "elsewhere" / "result.json"
    notes = runner.publish(mixed_outcome(), junit=runner.workspace / "reports" / "junit.xml", json=outside)
    assert notes == []
    outputs = runner.outputs()
    assert outputs.pop("earlier") == "kept"
    assert list(outputs) == list(OUTPUT_NAMES)
    assert outputs == {
        "status": "failed",
        "exit-code": "1",
        "total": "6",
        "passed": "2",
        "failed": "1",
        "errors": "1",
        "timed-out": "1",
        "not-awaited": "0",
        "flaky": "1",
        "test-run-ids": "38,39,40,41,42,43",
        "group-run-ids": "35",
        "carried-over-run-ids": "",
        "new-group-run-id": "",  # an outcome the gate did not trigger itself (as for report)
        "dashboard-url": "https://app.docketqa.com/dashboard/grouprun/35",
        # Relative to the workspace: inside the container it is /github/workspace, unknown to later steps.
        "junit-path": "reports/junit.xml",
        "json-path": str(outside),
        "summary-path": "",
    }


@pytest.mark.parametrize("text", HOSTILE_ALL)
def test_hostile_text_cannot_add_or_change_outputs(tmp_path: Path, text: str) -> None:
    """Titles, tasks and results with delimiter look-alikes and newlines leave the outputs exactly as for clean data."""
    runner = _runner(tmp_path)
    runner.publish(_hostile_outcome(text))
    clean = _runner(tmp_path / "clean")
    clean.publish(_hostile_outcome("plain"))
    assert runner.outputs() == clean.outputs()
    assert list(runner.outputs()) == list(OUTPUT_NAMES)


@pytest.mark.parametrize(
    "value",
    [
        "ghadelimiter_00000000-0000-0000-0000-000000000000",
        "EOF\nstatus<<EOF\npassed\nEOF",
        "name=value\n\nblank lines\n",
        "windows\r\nline ends\r\n",
        "",
        "%0A::error::x",
    ],
)
def test_any_value_round_trips_through_the_heredoc_format(value: str) -> None:
    """Whatever a value holds, the runner reads back that value and nothing else."""
    text = heredoc_entry("junit-path", value) + heredoc_entry("status", "failed")
    assert parse_github_output_file(text) == {"junit-path": value, "status": "failed"}


def test_each_value_gets_a_fresh_delimiter(tmp_path: Path) -> None:
    """No two outputs share a delimiter, so one value cannot close another's block."""
    runner = _runner(tmp_path)
    runner.publish(mixed_outcome())
    delimiters = re.findall(r"^[a-z-]+<<(.+)$", runner.output_file.read_text(), flags=re.MULTILINE)
    assert len(delimiters) == len(OUTPUT_NAMES) == len(set(delimiters))
    assert all(d.startswith("ghadelimiter_") for d in delimiters)


def test_annotations_are_escaped_and_parse_back_to_the_original_text(tmp_path: Path) -> None:
    """Titles and messages with %, :, commas and newlines arrive intact and stay on one line each."""
    title = "Pay 100%: card, then PayPal"
    task = "Click 'Pay'\nthen wait"
    body = payload(38, title=title, steps=[step(1, ok=False, task=task, result="50%0A done\nmore")])
    runner = _runner(tmp_path)
    runner.publish(outcome_of(judged(body)))
    errors = [parse_command(line) for line in runner.lines()]
    assert errors == [("error", {"title": f"DocketQA: {title}"}, "Step 1 failed: Click 'Pay'\nthen wait: 50%0A done")]


def test_failures_are_errors_and_timeouts_flaky_runs_and_allowed_failures_are_warnings(tmp_path: Path) -> None:
    """One annotation per run that needs attention, with the kind a reviewer expects."""
    runner = _runner(tmp_path)
    runner.publish(mixed_outcome())
    found = [parse_command(line) for line in runner.lines()]
    assert [(c[0], c[1]["title"]) for c in found if c] == [
        ("error", "DocketQA: Login Flow"),
        ("error", "DocketQA: Stopped"),
        ("warning", "DocketQA: Checkout (flaky)"),
        ("warning", "DocketQA: Slow one (timed out)"),
        ("warning", "DocketQA: Quarantined (allowed failure)"),
    ]
    messages = {c[1]["title"]: c[2] for c in found if c}
    assert messages["DocketQA: Login Flow"] == "Step 2 failed: Do the thing: the agent could not do it"
    assert messages["DocketQA: Checkout (flaky)"].startswith("passed after 1 failed attempt(s); attempt 2: Step 2")


def test_annotations_are_capped_at_ten_per_kind_plus_one_saying_how_many_more(tmp_path: Path) -> None:
    """15 failures give 10 errors and a notice about 5 more (GitHub would drop an 11th error silently)."""
    failures = [judged(payload(i, title=f"Run {i}")) for i in range(100, 115)]
    timeouts = [unfinished(i, name=f"Slow {i}") for i in range(200, 212)]
    runner = _runner(tmp_path)
    runner.publish(outcome_of(*failures, *timeouts))
    kinds = [c[0] for c in map(parse_command, runner.lines()) if c]
    assert kinds == ["error"] * 10 + ["notice"] + ["warning"] * 10 + ["notice"]
    notices = [c[2] for c in map(parse_command, runner.lines()) if c and c[0] == "notice"]
    assert notices[0].startswith("5 more failed runs are not annotated")
    assert notices[1].startswith("2 more warnings are not annotated")


def test_no_workflow_command_in_stdout_comes_from_docketqa_text(tmp_path: Path) -> None:
    """Scanning every line printed for each hostile text: only our own commands, no ``##[``, all encodable."""
    for index, text in enumerate(HOSTILE_ALL):
        runner = _runner(tmp_path / str(index))
        runner.platform.begin(api_key=Secret("dq_mask_me"))
        # What the CLI prints through sanitize_log (progress lines), then details and publishing.
        runner.out.write(f"run 38 {runner.platform.sanitize_log(text)}: failed\n")
        runner.platform.log_run_details(_hostile_outcome(text))
        runner.publish(_hostile_outcome(text))
        printed = runner.out.getvalue()
        printed.encode("utf-8")  # a lone surrogate reaching a real stdout would crash the gate
        lines = printed.split("\n")
        open_token = None
        for line in lines:
            assert "##[" not in line, (text, line)
            if open_token is not None:
                if line == f"::{open_token}::":
                    open_token = None
                else:
                    assert not line.lstrip().startswith("::"), (text, line)
                continue
            if line.lstrip().startswith("::"):
                parsed = parse_command(line)
                assert parsed is not None and parsed[0] in OUR_COMMANDS, (text, line)
                if parsed[0] == "stop-commands":
                    open_token = parsed[2]
                    assert re.fullmatch(r"[0-9a-f]{32}", open_token)
        assert open_token is None
        assert [c for c in map(parse_command, lines) if c and c[0] == "add-mask"] == [("add-mask", {}, "dq_mask_me")]
        assert sum(line.startswith("::error ") for line in lines) == 2, text  # runs 38 and 43 only


def test_sanitize_log_defuses_commands_and_terminal_escapes() -> None:
    """Lines that would start a command get a backslash; ``##[`` is broken; control characters go."""
    platform = detect({"GITHUB_ACTIONS": "true"}, stdout=io.StringIO(), workspace=Path("."))
    assert platform.sanitize_log("::error::x") == "\\::error::x"
    assert platform.sanitize_log("ok\n   ::warning::y") == "ok\n   \\::warning::y"
    assert platform.sanitize_log("\u200b::notice::z") == "\u200b\\::notice::z"
    assert platform.sanitize_log("a ##[error] b ###[c") == "a ##\\[error] b ###\\[c"
    assert platform.sanitize_log("\x1b[31mred\x1b[0m\r\n::x") == "[31mred[0m\n\\::x"
    assert platform.sanitize_log("Step 1: C++ std::string is fine") == "Step 1: C++ std::string is fine"


def test_run_details_sit_in_one_group_per_run_inside_a_stop_commands_block(tmp_path: Path) -> None:
    """Each run is a ::group:: titled by its name and verdict, its steps fenced by a fresh stop token."""
    runner = _runner(tmp_path)
    runner.platform.log_run_details(mixed_outcome())
    lines = runner.lines()
    groups = [parse_command(line)[2] for line in lines if line.startswith("::group::")]  # type: ignore[index]
    assert groups[0] == "Login Flow — failed (test run 38)"
    assert len(groups) == 6 and lines.count("::endgroup::") == 6
    first_block = lines[: lines.index("::endgroup::") + 1]
    token = first_block[1].removeprefix("::stop-commands::")
    assert first_block[-2] == f"::{token}::"
    assert "  ✗ 02 Do the thing (12s)" in first_block and "       the agent could not do it" in first_block
    tokens = [line for line in lines if line.startswith("::stop-commands::")]
    assert len(set(tokens)) == 6


def test_the_step_summary_is_appended_not_replaced(tmp_path: Path) -> None:
    """Content earlier steps wrote to $GITHUB_STEP_SUMMARY stays, ours follows."""
    runner = _runner(tmp_path)
    runner.summary_file.write_text("# Build\nok\n")
    runner.publish(mixed_outcome())
    assert runner.summary_file.read_text() == "# Build\nok\n## DocketQA\n| a | b |\n"


def test_switches_turn_off_the_summary_and_annotations_but_never_the_outputs(tmp_path: Path) -> None:
    """job-summary: false leaves the summary file alone; annotations: false prints no annotations; outputs stay."""
    runner = _runner(tmp_path, annotations=False, job_summary=False)
    runner.publish(mixed_outcome())
    assert runner.summary_file.read_text() == ""
    assert runner.out.getvalue() == ""
    assert list(runner.outputs()) == list(OUTPUT_NAMES)


def test_missing_or_unwritable_runner_files_become_notes(tmp_path: Path) -> None:
    """Without $GITHUB_OUTPUT, or with a summary path that is a directory, publish says so and goes on."""
    runner = _runner(tmp_path, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path)})
    notes = runner.publish(mixed_outcome())
    assert notes == [
        "could not write the job summary to $GITHUB_STEP_SUMMARY (Is a directory)",
        "$GITHUB_OUTPUT is not set, so step outputs could not be written",
    ]
    assert sum(line.startswith("::error ") for line in runner.lines()) == 2


def test_a_summary_with_a_lone_surrogate_is_still_appended(tmp_path: Path) -> None:
    """Text that cannot be encoded as UTF-8 is replaced, not allowed to make the summary write fail."""
    runner = _runner(tmp_path)
    notes = runner.platform.publish(mixed_outcome(), summary_markdown="bad \ud800 char\n", written={})
    assert notes == [] and runner.summary_file.read_text(encoding="utf-8") == "bad \ufffd char\n"


def test_the_action_entry_point_is_no_arguments_inside_github_actions_only() -> None:
    """Only a bare invocation under GITHUB_ACTIONS=true reads the action's inputs; anything else is the CLI."""
    assert is_action_entry_point([], {"GITHUB_ACTIONS": "true"})
    assert not is_action_entry_point(["report", "saved.json"], {"GITHUB_ACTIONS": "true"})
    assert not is_action_entry_point([], {"GITHUB_ACTIONS": "True"})
    assert not is_action_entry_point([], {"GITLAB_CI": "true"})


def test_reports_belong_to_the_github_workspace_owner_and_elsewhere_to_whoever_runs_the_gate(tmp_path: Path) -> None:
    """On GitHub the workspace's owner owns the reports (the container runs as root); GitLab and local leave them."""
    out = io.StringIO()
    github = detect({"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)}, stdout=out, workspace=tmp_path)
    assert github.workspace_owner == tmp_path
    assert detect({"GITHUB_ACTIONS": "true"}, stdout=out, workspace=tmp_path).workspace_owner is None
    assert detect({"GITLAB_CI": "true", "GITHUB_WORKSPACE": str(tmp_path)}, stdout=out, workspace=tmp_path).workspace_owner is None
    assert detect({"GITHUB_WORKSPACE": str(tmp_path)}, stdout=out, workspace=tmp_path).workspace_owner is None
