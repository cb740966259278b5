"""The CLI's reports, JSON result, config file, internal errors, signals, `sandbox` and `demo`, end to end."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import (
    CliResult,
    child_env,
    gate_command,
    gate_env,
    junit_outcomes,
    read_json,
    run_args,
    run_child,
    sandbox,
)
from tests.support.render import assert_valid_junit

Cli = Callable[..., CliResult]
INTERNAL_ERROR = (
    "docketqa-gate: error: internal error (RuntimeError); this is a bug in docketqa-gate: re-run with --debug for "
    "the traceback and report it"
)
LOGIN_FLOW_BODY = {"test_run": {"id": 39, "status": "failed", "test_blueprint_id": 180, "test_group_run_id": 36,
                                "blueprint_metadata": {"id": 180, "title": "Login Flow"},
                                "results": [{"step_number": 1, "task": "Enter 'user@example.com' in the email field",
                                             "is_successful": False, "result": "no email field", "duration": 43,
                                             "actions": []}]}}  # fmt: skip


def _save_login_flow(folder: Path) -> str:
    (folder / "saved.json").write_text(json.dumps(LOGIN_FLOW_BODY))
    return "saved.json"


# --- report files --------------------------------------------------------------------------------------------


def test_report_paths_resolve_against_the_working_directory_and_folders_are_created(cli: Cli, tmp_path: Path) -> None:
    """Relative --junit/--json/--summary land under the working directory, in folders the gate creates."""
    saved = _save_login_flow(tmp_path)
    absolute = tmp_path / "elsewhere" / "summary.md"
    result = cli(["report", saved, "--junit", "out/junit/j.xml", "--json", "out/r.json", "--summary", str(absolute)])
    assert result.code == 1, result.err
    junit, document = tmp_path / "out" / "junit" / "j.xml", tmp_path / "out" / "r.json"
    assert f"Reports: junit {junit}, json {document}, summary {absolute}" in result.out.splitlines()
    assert junit_outcomes(junit) == {"Login Flow": "failure"}
    assert read_json(document)["verdict"] == "failed"
    assert "Login Flow" in absolute.read_text() and not (tmp_path / "docketqa-junit.xml").exists()


def test_an_unwritable_report_path_exits_2_after_writing_the_other_reports(cli: Cli, tmp_path: Path) -> None:
    """--json under a regular file: one line naming the path and what to do, exit 2; JUnit and summary still written."""
    saved = _save_login_flow(tmp_path)
    (tmp_path / "blocked").write_text("a file, not a folder")
    result = cli(["report", saved, "--json", "blocked/r.json", "--summary", "s.md"])
    assert result.code == 2
    (line,) = result.err.splitlines()
    prefix = f"docketqa-gate: error: cannot write the json report to {tmp_path / 'blocked' / 'r.json'}: "
    assert line.startswith(prefix) and line.endswith(": choose a writable path")  # the OS's reason in between
    assert junit_outcomes(tmp_path / "docketqa-junit.xml") == {"Login Flow": "failure"}
    assert "Login Flow" in (tmp_path / "s.md").read_text()


def test_an_unwritable_report_path_on_github_still_publishes_outputs_and_summary(cli: Cli, tmp_path: Path) -> None:
    """On GitHub an unwritable --junit path still leaves outputs, the job summary and the verdict lines, then exit 2."""
    from tests.support.edge import parse_github_output_file

    saved = _save_login_flow(tmp_path)
    (tmp_path / "blocked").write_text("a file, not a folder")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_WORKSPACE": str(tmp_path)}
    result = cli(["report", saved, "--junit", "blocked/j.xml"], env=env)
    assert result.code == 2
    outputs = parse_github_output_file((tmp_path / "out.txt").read_text())
    assert (outputs["status"], outputs["exit-code"], outputs["failed"]) == ("failed", "2", "1")
    assert "Login Flow" in (tmp_path / "summary.md").read_text()
    assert "Exit code 2: usage or configuration error (see the error below)" in result.out
    assert result.err.splitlines()[-1].startswith("docketqa-gate: error: cannot write the junit report to ")


def test_the_json_result_has_every_documented_field(cli: Cli, tmp_path: Path) -> None:
    """--json holds issue 2's fields with the live run's values: verdict, exit code, counts, group runs, runs."""
    with sandbox("mixed") as served:
        result = cli(run_args(served, "--json", "r.json"), env=gate_env())
        base = served.url
    assert result.code == 1
    document = read_json(tmp_path / "r.json")
    assert (document["verdict"], document["exit_code"]) == ("failed", 1)
    assert document["counts"] == {"total": 4, "passed": 2, "failed": 1, "errors": 1, "timed_out": 0, "cancelled": 0,
                                  "allowed_failures": 0, "flaky": 1}  # fmt: skip
    (group,) = document["group_runs"]
    assert group["dashboard_url"] == f"{base}/dashboard/grouprun/{group['id']}"  # the sandbox's page
    fields = {"test_run_id", "blueprint_id", "title", "status", "verdict", "allowed_failure", "flaky", "attempts",
              "duration_s", "video_url", "failed_step", "steps"}  # fmt: skip
    assert all(fields <= set(run) for run in document["runs"])
    runs = {run["blueprint_id"]: run for run in document["runs"]}
    checkout, search = runs[182], runs[183]
    assert (checkout["title"], checkout["status"], checkout["verdict"]) == ("Checkout with a saved card", "failed", "failed")
    assert (checkout["allowed_failure"], checkout["flaky"], checkout["attempts"]) == (False, False, 1)
    assert checkout["failed_step"] == {"number": 3, "task": "Pay with the saved Visa card",
                                       "result": "The payment form showed 'Card declined (code 51)' and the order "
                                                 "was not placed."}  # fmt: skip
    assert [step["state"] for step in checkout["steps"]] == ["passed", "passed", "failed", "not_reached", "not_reached"]
    assert isinstance(checkout["duration_s"], float) and checkout["video_url"].startswith(base + "/media/")
    assert (search["verdict"], search["flaky"], search["attempts"], search["failed_step"]) == ("passed", True, 2, None)
    assert runs[184]["status"] == "stopped" and runs[184]["verdict"] == "error"


# --- config file -----------------------------------------------------------------------------------------------


def test_a_config_named_by_docket_config_is_used_and_logged(cli: Cli, tmp_path: Path) -> None:
    """DOCKET_CONFIG points at a file: its blueprints, names and report paths apply, and the log names it."""
    config = tmp_path / "ci" / "gate.yml"
    config.parent.mkdir()
    config.write_text("blueprints:\n  - id: 185\n    name: Smoke\npoll_interval: 0.1s\nreports: {json: r.json}\n")
    with sandbox("passing") as served:
        result = cli(["run", "--api-url", served.url], env=gate_env(DOCKET_CONFIG="ci/gate.yml"))
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == f"docketqa-gate: using config file {config}"
    assert [run["name"] for run in read_json(tmp_path / "r.json")["runs"]] == ["Smoke"]


def test_a_bad_config_file_exits_2_with_one_line_listing_every_problem(cli: Cli, tmp_path: Path) -> None:
    """Three mistakes in .docketqa.yml: exit 2, one line with each problem's line and key, nothing sent or written."""
    (tmp_path / ".docketqa.yml").write_text("blueprints:\n  - 181\n  - id: abc\ntimeout: soon\nbogus: 1\n")
    with sandbox("passing") as served:
        result = cli(["run", "--api-url", served.url], env=gate_env())
        assert served.requests == []
    assert (result.code, result.out) == (2, "")
    assert result.err.splitlines() == [(
        "docketqa-gate: error: 3 configuration errors: "
        ".docketqa.yml:3: blueprints[1].id: expected a positive integer id, got the text 'abc'; "
        ".docketqa.yml:4: timeout: 'soon' is not a duration; use seconds (90, 0.5) or h/m/s units (90s, 15m, 1h, "
        "1h30m, 0.5s); "
        ".docketqa.yml:5: bogus: unknown key; known keys: allow_failures, annotations, api_url, blueprints, "
        "comment_key, concurrency, fail_fast, fail_on_timeout, job_summary, poll_interval, pr_comment, reports, resume, "
        "resume_any_commit, timeout, wait_for"
    )]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == [".docketqa.yml"]


# --- GitLab: what the job shows and hands on ------------------------------------------------------------------


def test_on_gitlab_the_run_writes_the_dotenv_and_summary_and_folds_each_run(cli: Cli, tmp_path: Path) -> None:
    """GITLAB_CI=true: docketqa.env for later jobs, docketqa-summary.md, and a collapsible section per run."""
    with sandbox("failing") as served:
        result = cli(run_args(served), env=gate_env(GITLAB_CI="true"))
    assert result.code == 1
    dotenv = dict(line.split("=", 1) for line in (tmp_path / "docketqa.env").read_text().splitlines())
    assert (dotenv["DOCKETQA_STATUS"], dotenv["DOCKETQA_FAILED"]) == ("failed", "1")
    assert dotenv["DOCKETQA_DASHBOARD_URL"].startswith(f"{served.url}/dashboard/grouprun/")
    assert "Login Flow" in (tmp_path / "docketqa-summary.md").read_text()
    assert re.search(r"\x1b\[0Ksection_start:\d+:\w+", result.out) and "section_end:" in result.out


# --- exit 70 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_is_exit_70_with_one_line_and_the_other_reports_kept(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    """A bug in the JUnit renderer: exit 70 and one line (traceback only with --debug); JSON and summary still written."""

    def broken_renderer(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr("gate.reports.junit.render_junit", broken_renderer)  # the lazily imported renderer reports.py uses
    saved = _save_login_flow(tmp_path)
    result = cli(["report", saved, "--json", "r.json", "--summary", "s.md", *(["--debug"] if debug else [])])
    assert result.code == 70
    assert result.err.splitlines()[-1] == INTERNAL_ERROR
    if debug:
        assert result.err.startswith("Traceback (most recent call last):\n")
        assert "RuntimeError: renderer bug" in result.err
    else:
        assert result.err.splitlines() == [INTERNAL_ERROR]
    assert read_json(tmp_path / "r.json")["verdict"] == "failed"
    assert (tmp_path / "s.md").is_file() and not (tmp_path / "docketqa-junit.xml").exists()


# --- real processes: signals, the sandbox command, demo -------------------------------------------------------


@pytest.mark.parametrize("signum, code, name", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_a_signal_stops_the_gate_with_complete_reports_and_its_exit_code(
    tmp_path: Path, leak_guard: Callable[[str], str], signum: int, code: int, name: str
) -> None:
    """A real SIGTERM/SIGINT while polling: exit 143/130, unfinished runs reported as cancelled in valid reports."""
    with sandbox("slow", time_scale=1.0) as served:
        child = subprocess.Popen(
            gate_command(*run_args(served, "--json", "r.json")), cwd=tmp_path, env=child_env(gate_env()),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        )  # fmt: skip
        try:
            assert child.stderr is not None
            seen = [child.stderr.readline() for _ in range(3)]
            assert seen[-1] == "Following 2 test runs\n", seen
            child.send_signal(signum)
            out, err = child.communicate(timeout=30)  # guards against a hang; not a speed check
        finally:
            child.kill()
    leak_guard(out + err)
    assert child.returncode == code
    assert out.splitlines()[-1] == f"Exit code {code}: interrupted ({name})"
    assert err.splitlines()[-1].startswith(f"docketqa-gate: error: interrupted by {name}: stopped following runs")
    document = read_json(tmp_path / "r.json")
    assert document["verdict"] == "cancelled" and document["counts"]["cancelled"] == 2
    assert_valid_junit((tmp_path / "docketqa-junit.xml").read_text())


def test_the_sandbox_command_serves_a_gate_in_another_process_until_sigterm(
    tmp_path: Path, leak_guard: Callable[[str], str]
) -> None:
    """`python -m gate sandbox --port 0`: the URL and key it prints drive a real gate (exit 0); SIGTERM stops it (0)."""
    server = subprocess.Popen(
        gate_command("sandbox", "--port", "0", "--scenario", "passing", "--time-scale", "0.01"), cwd=tmp_path,
        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )  # fmt: skip
    try:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(11)]
        assert banner[-1] == "press Ctrl+C to stop\n", banner
        url = re.fullmatch(r"DocketQA sandbox listening on (http://127\.0\.0\.1:\d+)\n", banner[0])
        key = re.match(r"API key: +(\S+) ", banner[2])
        assert url is not None and key is not None, banner
        gate = run_child(gate_command("run", "--api-url", url.group(1), "--blueprint", "181,185", "--poll-interval",
                                      "0.1s"), cwd=tmp_path, env={"DOCKET_API_KEY": key.group(1)})  # fmt: skip
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)  # guards against a hang; not a speed check
    finally:
        server.kill()
    leak_guard(gate.stdout + gate.stderr)
    assert gate.returncode == 0, gate.stderr
    assert gate.stdout.splitlines()[-1] == "Exit code 0: every run passed"
    assert (server.returncode, err) == (0, "")
    assert re.search(r" POST /test_group_run/trigger_run -> 200\n", out)
    assert re.search(r" GET /test_run/\d+ -> 200 \(passed\)\n", out)
    assert out.splitlines()[-1] == "sandbox stopped"


DEMO_FILES = [
    "docketqa-junit-steps.xml", "docketqa-junit.xml", "docketqa-result.json", "docketqa-summary.md", "pr-comment.md"
]


def test_demo_writes_every_report_and_names_the_exit_code_a_real_gate_would_return(cli: Cli, tmp_path: Path) -> None:
    """`demo` (mixed): exit 0, four valid reports and the comment in ./docketqa-demo, and the text says a real gate would exit 1."""
    result = cli(["demo"])
    assert result.code == 0, result.err
    folder = tmp_path / "docketqa-demo"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*DEMO_FILES, "evidence", "media"])
    for name in ("docketqa-junit.xml", "docketqa-junit-steps.xml"):
        assert_valid_junit((folder / name).read_text())
    assert read_json(folder / "docketqa-result.json")["exit_code"] == 1
    comment = (folder / "pr-comment.md").read_text(encoding="utf-8")
    assert comment.startswith("<!-- docketqa-gate:demo -->\n## ❌ DocketQA: failed\n") and "**Failed step" in comment
    assert "pr-comment.md: the pull-request comment --pr-comment would post or update." in result.out
    assert "A real gate would have exited 1 here, so this pipeline would stop. The demo itself exits 0 because it " \
           "worked." in result.out  # fmt: skip
    expected = "Exit code 1: at least one run failed or ended in a status the gate does not know"
    assert expected in result.out.splitlines()


def test_demo_keeps_the_failing_steps_screenshots_beside_the_reports(cli: Cli, tmp_path: Path) -> None:
    """The sandbox's media links die with the demo: the failing step's screenshots are saved in evidence/ and the
    summary names them relative to itself, so they can still be opened after the demo ends."""
    result = cli(["demo", "--out", "demo-out"])
    assert result.code == 0, result.err
    folder = tmp_path / "demo-out"
    shots = sorted(p.relative_to(folder).as_posix() for p in (folder / "evidence").rglob("*.png"))
    assert shots and all(p.startswith("evidence/") for p in shots)
    assert all((folder / shot).read_bytes().startswith(b"\x89PNG") for shot in shots)
    summary = (folder / "docketqa-summary.md").read_text(encoding="utf-8")
    assert all(shot in summary.replace("\\", "") for shot in shots)
    assert "evidence/" in result.out


def test_demo_summary_and_comment_show_screenshots_that_outlive_the_sandbox(cli: Cli, tmp_path: Path) -> None:
    """Every image and video the demo's summary and comment link is a file beside them, not a dead sandbox URL."""
    result = cli(["demo"])
    assert result.code == 0, result.err
    folder = tmp_path / "docketqa-demo"
    for name in ("docketqa-summary.md", "pr-comment.md"):
        text = (folder / name).read_text(encoding="utf-8")
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        videos = re.findall(r"\]\(([^)]+\.webm)\)", text)
        assert images and videos, name
        assert "/media/" not in "".join(re.findall(r"https?://[^)\s]+", text)), name
        for link in [*images, *videos]:
            assert (folder / link).is_file(), (name, link)
        assert all((folder / image).read_bytes().startswith(b"\x89PNG") for image in images)


def test_demo_runs_from_the_console_entry(tmp_path: Path, leak_guard: Callable[[str], str]) -> None:
    """`python -m gate demo --scenario passing --out reports`: exit 0, reports there, "would have exited 0"."""
    result = run_child(gate_command("demo", "--scenario", "passing", "--out", "reports"), cwd=tmp_path)
    leak_guard(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted([*DEMO_FILES, "media"])
    assert "A real gate would have exited 0 here, so this pipeline would continue." in result.stdout
    assert junit_outcomes(tmp_path / "reports" / "docketqa-junit.xml") == {
        "Sign up with a new account": "passed", "Home page loads": "passed",
    }  # fmt: skip


# --- a console that goes away -----------------------------------------------------------------------------------


def _save_run(folder: Path, status: str) -> None:
    body = {"test_run": {"id": 9, "status": status, "blueprint_metadata": {"title": "Smoke"}, "results": [
        {"step_number": 1, "task": "Open", "is_successful": status == "passed", "result": "r", "duration": 1,
         "actions": []}]}}  # fmt: skip
    (folder / "saved.json").write_text(json.dumps(body))


def test_a_reader_that_goes_away_still_gets_the_verdicts_exit_code_and_every_report(tmp_path: Path) -> None:
    """`docketqa-gate ... | head`: when stdout's reader is gone the gate still writes its reports and exits with
    the verdict (1), not an internal error."""
    _save_run(tmp_path, "failed")
    child = subprocess.Popen(
        gate_command("report", "saved.json", "--json", "r.json"), cwd=tmp_path, env=child_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )  # fmt: skip
    assert child.stdout is not None
    child.stdout.close()  # long before the child prints anything: every write it makes meets a closed pipe
    _, err = child.communicate(timeout=60)  # guards against a hang; not a speed check
    assert (child.returncode, err) == (1, "")
    assert read_json(tmp_path / "r.json")["verdict"] == "failed"
    assert junit_outcomes(tmp_path / "docketqa-junit.xml") == {"Smoke": "failure"}


def test_a_closed_stdout_still_gets_the_verdicts_exit_code(tmp_path: Path) -> None:
    """Started with stdout closed (`>&-`): the gate passes (0) quietly, with its reports, and no traceback."""
    _save_run(tmp_path, "passed")
    result = run_child(["sh", "-c", 'exec "$@" >&-', "sh", *gate_command("report", "saved.json")], cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert junit_outcomes(tmp_path / "docketqa-junit.xml") == {"Smoke": "passed"}
