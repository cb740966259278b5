"""`run`, `wait` and `report` end to end: the real CLI against the sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.sandbox import Sandbox
from gate.sandbox.scenarios import timed
from tests.support.cli import (
    TEST_API_KEY,
    CliResult,
    gate_env,
    junit_outcomes,
    read_json,
    run_args,
    sandbox,
    saved_bodies,
    wait_args,
)
from tests.support.http_fixture import free_port

Cli = Callable[..., CliResult]


def last_lines(result: CliResult, count: int = 3) -> list[str]:
    return result.out.splitlines()[-count:]


# --- run: one trigger, every verdict -------------------------------------------------------------------------


def test_a_passing_run_exits_0_writes_the_default_junit_and_says_why(cli: Cli, tmp_path: Path) -> None:
    """Two passing runs: exit 0, docketqa-junit.xml in the working directory, and closing lines naming the verdict."""
    with sandbox("passing") as served:
        result = cli(run_args(served), env=gate_env())
        assert len(served.triggered_group_ids) == 1 and served.runs_requested_after_final() == []
    assert result.code == 0, result.err
    assert "Starting DocketQA runs for 2 blueprints: 181, 185" in result.err
    assert last_lines(result)[0].startswith("DocketQA gate: PASSED — 2 runs: 2 passed, 0 failed (")
    assert last_lines(result)[1] == f"Reports: junit {tmp_path / 'docketqa-junit.xml'}"
    assert last_lines(result)[2] == "Exit code 0: every run passed"
    assert junit_outcomes(tmp_path / "docketqa-junit.xml") == {
        "Sign up with a new account": "passed", "Home page loads": "passed",
    }  # fmt: skip


@pytest.mark.parametrize(
    "scenario, code, headline, counts",
    [
        ("failing", 1, "FAILED — 1 run: 0 passed, 1 failed", {"passed": 0, "failed": 1, "errors": 0, "flaky": 0}),
        ("mixed", 1, "FAILED — 4 runs: 2 passed, 1 failed, 1 error, 1 flaky",
         {"passed": 2, "failed": 1, "errors": 1, "flaky": 1}),
        ("flaky", 0, "PASSED — 2 runs: 2 passed, 0 failed, 1 flaky", {"passed": 2, "failed": 0, "errors": 0, "flaky": 1}),
    ],
)  # fmt: skip
def test_each_scenario_ends_with_its_documented_exit_code_and_counts(
    cli: Cli, tmp_path: Path, scenario: str, code: int, headline: str, counts: dict[str, int]
) -> None:
    """Failing and mixed runs exit 1; a run that passed on its retry passes and is counted as flaky."""
    with sandbox(scenario) as served:
        result = cli(run_args(served, "--json", "result.json"), env=gate_env())
    assert result.code == code, result.err
    assert f"DocketQA gate: {headline} (" in result.out
    document = read_json(tmp_path / "result.json")
    assert document["exit_code"] == code
    assert {name: document["counts"][name] for name in counts} == counts


def test_a_failed_run_shows_the_failing_step_and_the_agents_words(cli: Cli) -> None:
    """The documented Login Flow failure names step 1, its task and DocketQA's result in the log."""
    with sandbox("failing") as served:
        result = cli(run_args(served), env=gate_env())
    assert result.code == 1
    assert (
        "  Step 1 failed: Enter 'user@example.com' in the email field: The agent could not complete the objective "
        "because no email field was present on the page."
    ) in result.out.splitlines()
    assert last_lines(result)[-1] == "Exit code 1: at least one run failed or ended in a status the gate does not know"


def test_an_unknown_final_status_never_passes(cli: Cli, tmp_path: Path) -> None:
    """A run that ends 'stopped' is an error that fails the gate (exit 1) and shows the raw status."""
    with sandbox("mixed") as served:
        result = cli(run_args(served, "--json", "r.json", blueprints=[184]), env=gate_env())
    assert result.code == 1
    assert "DocketQA reported status 'stopped', which this gate does not know; it never passes" in result.out
    (run,) = read_json(tmp_path / "r.json")["runs"]
    assert (run["status"], run["verdict"]) == ("stopped", "error")


def test_allow_failure_flag_quarantines_a_failing_blueprint(cli: Cli, tmp_path: Path) -> None:
    """--allow-failure 182: the checkout failure is reported (JUnit skipped) but the gate exits 0."""
    with sandbox("mixed") as served:
        result = cli(run_args(served, "--allow-failure", "182", "--json", "r.json", blueprints=[181, 182]),
                     env=gate_env())  # fmt: skip
    assert result.code == 0, result.err
    assert "Checkout with a saved card — failed, allowed failure" in result.out
    assert read_json(tmp_path / "r.json")["counts"]["allowed_failures"] == 1
    assert last_lines(result)[-1] == "Exit code 0: no run failed (allowed failures do not count)"
    assert junit_outcomes(tmp_path / "docketqa-junit.xml")["Checkout with a saved card"] == "skipped"


def test_allow_failure_in_the_config_file_quarantines_and_the_file_is_logged(cli: Cli, tmp_path: Path) -> None:
    """.docketqa.yml lists the blueprints, one with allow_failure: the gate uses the file, says so, and passes."""
    (tmp_path / ".docketqa.yml").write_text(
        "blueprints:\n  - 181\n  - id: 182\n    name: Checkout (quarantined)\n    allow_failure: true\n"
        "poll_interval: 0.1s\n"
    )  # fmt: skip
    with sandbox("mixed") as served:
        result = cli(["run", "--api-url", served.url], env=gate_env())
    assert result.code == 0, result.err
    assert f"docketqa-gate: using config file {tmp_path / '.docketqa.yml'}" in result.err.splitlines()
    assert "Checkout (quarantined) — failed, allowed failure" in result.out
    assert junit_outcomes(tmp_path / "docketqa-junit.xml") == {
        "Sign up with a new account": "passed", "Checkout (quarantined)": "skipped",
    }  # fmt: skip


# --- deadlines ---------------------------------------------------------------------------------------------


def test_runs_unfinished_at_the_deadline_time_out_with_exit_3(cli: Cli, tmp_path: Path) -> None:
    """`slow`: the quick run passes, the 15-minute one is still running at the deadline -> exit 3."""
    with sandbox("slow") as served:
        result = cli(run_args(served, "--timeout", "1.3s", "--json", "r.json"), env=gate_env())
    assert result.code == 3, result.err
    verdicts = {run["title"]: run["verdict"] for run in read_json(tmp_path / "r.json")["runs"]}
    assert verdicts == {"Home page loads": "passed", "Full purchase journey": "timed_out"}
    assert "still 'running' when the 1.3s deadline passed" in result.out
    assert last_lines(result)[-1] == "Exit code 3: timed out before every run finished"


def test_no_fail_on_timeout_passes_with_a_warning(cli: Cli, tmp_path: Path) -> None:
    """--no-fail-on-timeout: the same timeout exits 0, and the log warns that a run never finished."""
    with sandbox("slow") as served:
        result = cli(run_args(served, "--timeout", "1.3s", "--no-fail-on-timeout", "--json", "r.json"), env=gate_env())
    assert result.code == 0, result.err
    assert read_json(tmp_path / "r.json")["counts"]["timed_out"] == 1
    assert (
        "docketqa-gate: warning: 1 run timed out and does not fail the gate (--no-fail-on-timeout)"
    ) in result.err.splitlines()
    assert last_lines(result)[-1] == "Exit code 0: no run failed (timed-out runs with --no-fail-on-timeout do not count)"


# --- API errors --------------------------------------------------------------------------------------------


def test_an_unknown_blueprint_exits_4_with_the_apis_own_message(cli: Cli) -> None:
    """422 on the trigger: exit 4 quoting DocketQA's message; nothing was started."""
    with sandbox("mixed") as served:
        result = cli(run_args(served, blueprints=[999]), env=gate_env())
        assert served.triggered_group_ids == ()
    assert result.code == 4
    assert result.err.splitlines()[-1] == (
        "docketqa-gate: error: DocketQA refused the trigger with HTTP 422: Test blueprint 999 not found: "
        "check the blueprint ids and --api-url"
    )


def test_a_rejected_key_exits_4_with_the_documented_message_and_never_shows_the_key(cli: Cli, tmp_path: Path) -> None:
    """401: exit 4 with "check DOCKET_API_KEY"; the rejected key appears nowhere (the leak guard scans it all)."""
    with sandbox("passing", api_key="the-sandbox-wants-another-key") as served:
        result = cli(run_args(served), env=gate_env())
    assert result.code == 4
    assert result.err.splitlines()[-1] == (
        "docketqa-gate: error: DocketQA rejected the API key (HTTP 401): check DOCKET_API_KEY"
    )
    assert (tmp_path / "docketqa-junit.xml").is_file()  # the reports are written before the gate fails


def test_an_unreachable_api_exits_4_after_retrying_within_the_deadline(cli: Cli) -> None:
    """A refused port: the trigger is retried (nothing can have started) until the deadline, then exit 4."""
    url = f"http://127.0.0.1:{free_port()}"
    result = cli(["run", "--api-url", url, "--blueprint", "181", "--timeout", "0.5s"], env=gate_env())
    assert result.code == 4
    assert result.err.splitlines()[-1] == (
        "docketqa-gate: error: could not start the DocketQA runs before the 0.5s deadline: could not connect to "
        f"DocketQA at {url.removeprefix('http://')}: connection refused"
    )
    assert last_lines(result)[-1] == "Exit code 4: DocketQA API error"


@pytest.mark.parametrize("extra", [[], ["--no-fail-on-timeout"]])
def test_waiting_on_an_unreachable_api_is_an_api_error_never_a_pass(cli: Cli, extra: list[str]) -> None:
    """`wait` when DocketQA never answers: exit 4 ("unreachable"), even with --no-fail-on-timeout (fail closed)."""
    url = f"http://127.0.0.1:{free_port()}"
    result = cli(["wait", "--api-url", url, "--test-run", "38", "--timeout", "0.5s", *extra], env=gate_env())
    assert result.code == 4
    assert "connection refused" in result.out


def test_a_plain_http_api_url_on_another_host_is_refused_before_anything_is_sent(cli: Cli, tmp_path: Path) -> None:
    """--api-url http://example.com: exit 2 with one line (the key would travel unencrypted); no report written."""
    result = cli(["run", "--api-url", "http://example.com", "--blueprint", "181"], env=gate_env())
    assert result.code == 2 and result.out == ""
    assert result.err.splitlines() == [(
        "docketqa-gate: error: configuration error: flag --api-url: 'http://example.com' uses plain http, which "
        "would send the API key unencrypted; use https (http is allowed only for loopback hosts: localhost, "
        "127.0.0.0/8, ::1)"
    )]  # fmt: skip
    assert list(tmp_path.iterdir()) == []


# --- wait ----------------------------------------------------------------------------------------------------


def test_wait_follows_runs_started_elsewhere_to_the_same_verdicts(cli: Cli, tmp_path: Path) -> None:
    """`wait --test-run` on the sandbox's already started group: no trigger, every run judged, exit 1 (mixed)."""
    with sandbox("mixed") as served:
        ids = served.preexisting_run_ids
        result = cli(wait_args(served, ids, "--json", "r.json"), env=gate_env())
        assert served.triggered_group_ids == ()
    assert result.code == 1, result.err
    runs = read_json(tmp_path / "r.json")["runs"]
    assert [(run["test_run_id"], run["verdict"]) for run in runs] == list(
        zip(ids, ["passed", "failed", "passed", "error"])
    )
    assert "Starting DocketQA runs" not in result.err


def test_wait_for_an_unknown_run_exits_4_naming_the_id(cli: Cli) -> None:
    """404 on GET /test_run/9999: exit 4 and the log names the id to check."""
    with sandbox("passing") as served:
        result = cli(wait_args(served, [9999]), env=gate_env())
    assert result.code == 4
    assert "DocketQA has no test run 9999 (HTTP 404 for GET /test_run/9999): check the test run id" in result.out
    assert last_lines(result)[-1] == "Exit code 4: DocketQA API error"


# --- report: saved responses judged like the live run ------------------------------------------------------


def _live_then_saved(cli: Cli, tmp_path: Path) -> tuple[CliResult, list[dict]]:
    """Run the mixed scenario live (JSON + JUnit in live/), then save every run's final GET body."""
    (tmp_path / "live").mkdir()
    with sandbox("mixed") as served:
        live = cli(run_args(served, "--json", "live/r.json", "--junit", "live/j.xml"), env=gate_env())
        ids = [run["test_run_id"] for run in read_json(tmp_path / "live" / "r.json")["runs"]]
        bodies = saved_bodies(served, ids)
    return live, bodies  # the sandbox is gone: `report` below cannot reach any network


def _judged(document: dict) -> tuple:
    runs = [(r["test_run_id"], r["title"], r["status"], r["verdict"], r["flaky"], r["failed_step"])
            for r in document["runs"]]  # fmt: skip
    return document["verdict"], document["exit_code"], document["counts"], runs


@pytest.mark.parametrize("layout", ["one object per file", "one list", "list plus object"])
def test_report_on_saved_responses_matches_the_live_run(cli: Cli, tmp_path: Path, layout: str) -> None:
    """`report` on the saved GET bodies (objects, a list, several files) gives the live run's verdicts and JUnit."""
    live, bodies = _live_then_saved(cli, tmp_path)
    if layout == "one object per file":
        files = [f"run{i}.json" for i in range(len(bodies))]
        contents: list[object] = list(bodies)
    elif layout == "one list":
        files, contents = ["all.json"], [bodies]
    else:
        files, contents = ["first.json", "rest.json"], [bodies[:-1], bodies[-1]]
    for name, content in zip(files, contents):
        (tmp_path / name).write_text(json.dumps(content))
    saved = cli(["report", *files, "--json", "r.json", "--junit", "j.xml"])
    assert saved.code == live.code == 1, saved.err
    assert _judged(read_json(tmp_path / "r.json")) == _judged(read_json(tmp_path / "live" / "r.json"))
    assert junit_outcomes(tmp_path / "j.xml") == junit_outcomes(tmp_path / "live" / "j.xml")
    assert last_lines(saved)[-1] == last_lines(live)[-1] == (
        "Exit code 1: at least one run failed or ended in a status the gate does not know")


def test_report_of_a_single_passing_run_passes(cli: Cli, tmp_path: Path) -> None:
    """One saved passing run (a single object): exit 0, like the live run."""
    with sandbox("passing") as served:
        assert cli(run_args(served, blueprints=[185]), env=gate_env()).code == 0
        (body,) = saved_bodies(served, [served.ledger.groups[-1].run_ids[0]])
    (tmp_path / "home.json").write_text(json.dumps(body))
    result = cli(["report", "home.json"])
    assert result.code == 0, result.err
    assert junit_outcomes(tmp_path / "docketqa-junit.xml") == {"Home page loads": "passed"}


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "docketqa-gate: error: cannot read saved test run file {path}: No such file or directory"),
        ("<html>502 Bad Gateway</html>", ("docketqa-gate: error: {path} is not JSON (Expecting value: line 1 column 1 "
                                          "(char 0)): save the body of GET /test_run/{{id}}")),
        ("[" * 100_000 + "]" * 100_000, ("docketqa-gate: error: {path} is not JSON (nested too deeply): save the body "
                                         "of GET /test_run/{{id}}")),
        ("[]", ("docketqa-gate: error: {path} holds no test run: save the body of GET /test_run/{{id}} (one object, "
                "or a list of them)")),
    ],
    ids=["missing", "not-json", "nested-too-deeply", "empty-list"],
)  # fmt: skip
def test_report_on_an_unusable_file_is_a_usage_error(cli: Cli, tmp_path: Path, content: str | None, message: str) -> None:
    """A missing file, non-JSON, JSON nested beyond parsing or an empty list: exit 2 with one line, no traceback."""
    if content is not None:
        (tmp_path / "saved.json").write_text(content)
    result = cli(["report", "saved.json"])
    assert result.code == 2
    assert result.err.splitlines() == [message.format(path="saved.json")]


def test_report_files_are_read_relative_to_the_working_directory(cli: Cli, tmp_path: Path) -> None:
    """A relative FILE is looked up in the gate's working directory, like every report path."""
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "run.json").write_text(json.dumps({"test_run": {"id": 7, "status": "passed", "results": [
        {"step_number": 1, "task": "Open", "is_successful": True, "result": "ok", "duration": 1, "actions": []}]}}))
    result = cli(["report", "saved/run.json"], cwd=tmp_path)
    assert result.code == 0, result.err


def test_the_key_is_not_needed_for_report(cli: Cli, tmp_path: Path) -> None:
    """`report` makes no request, so it runs without DOCKET_API_KEY (and never prints one it was given)."""
    body = {"test_run": {"id": 8, "status": "failed", "results": []}}
    (tmp_path / "run.json").write_text(json.dumps(body))
    assert cli(["report", "run.json"]).code == 1
    assert TEST_API_KEY not in cli(["report", "run.json"], env=gate_env()).out


# --- --fail-fast ---------------------------------------------------------------------------------------------


def test_fail_fast_exits_1_at_the_first_failure_with_the_rest_not_awaited(cli: Cli, tmp_path: Path) -> None:
    """--fail-fast: exit 1 once the quick run fails; the others are skipped 'not awaited' in JUnit, counted in JSON."""
    with Sandbox(scenario=timed([30.0, 0.3, 30.0], failing=frozenset({1})), api_key=TEST_API_KEY) as served:
        result = cli(run_args(served, "--fail-fast", "--json", "r.json", "--timeout", "20s"), env=gate_env())
    assert result.code == 1, result.err
    document = read_json(tmp_path / "r.json")
    assert [run["verdict"] for run in document["runs"]] == ["not_awaited", "failed", "not_awaited"]
    assert document["counts"]["not_awaited"] == 2
    assert document["stop_reason"].startswith("stopped at the first failure (--fail-fast): Flow 02 (test run ")
    assert junit_outcomes(tmp_path / "docketqa-junit.xml") == {
        "Flow 01": "skipped", "Flow 02": "failure", "Flow 03": "skipped"}
    assert last_lines(result)[0].startswith("DocketQA gate: FAILED — 3 runs: 0 passed, 1 failed, 2 not awaited (")
