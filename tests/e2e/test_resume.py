"""--resume end to end against the sandbox: only what must run again is triggered, carried runs reach every report."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gate.sandbox.server import Sandbox
from tests.support.cli import child_env, gate_env, junit_outcomes, read_json, run_args, sandbox, wait_args
from tests.support.edge import parse_github_output_file
from tests.support.render import assert_valid_junit
from tests.support.resume import gate_with

SHA = "4f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49"
OTHER_SHA = "0000000000000000000000000000000000000001"
RESUME = ("--resume", "first.json")


def _posts(served: Sandbox, after: int = 0) -> list[Any]:
    """The trigger bodies the sandbox received after the ``after``-th request."""
    return [json.loads(r.body) for r in served.requests[after:] if r.method == "POST"]


def _first_attempt(served: Sandbox, tmp_path: Path, *ids: int, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    first = gate_with(run_args(served, "--json", "first.json", *extra, blueprints=ids), env=gate_env(CI_COMMIT_SHA=SHA),
                      cwd=tmp_path)  # fmt: skip
    assert "Traceback" not in first.err
    return read_json(tmp_path / "first.json")  # type: ignore[no-any-return]


def _github_env(tmp_path: Path) -> dict[str, str]:
    return gate_env(GITHUB_ACTIONS="true", GITHUB_SHA=SHA, GITHUB_OUTPUT=str(tmp_path / "outputs.txt"),
                    GITHUB_STEP_SUMMARY=str(tmp_path / "step-summary.md"), GITHUB_WORKSPACE=str(tmp_path))  # fmt: skip


def test_a_rerun_after_one_failure_triggers_only_that_blueprint(tmp_path: Path) -> None:
    """Sign-up passed, checkout failed: the re-run POSTs [182] alone and carries sign-up into every report."""
    with sandbox("mixed") as served:
        first = _first_attempt(served, tmp_path, 181, 182)
        assert first["commit"] == SHA and first["api_url"] == served.url
        seen = len(served.requests)
        args = run_args(served, "--json", "second.json", "--summary", "summary.md", *RESUME, blueprints=(181, 182))
        second = gate_with(args, env=_github_env(tmp_path), cwd=tmp_path)
        assert _posts(served, seen) == [{"test_blueprint_ids": [182]}]
        (new_group,) = served.triggered_group_ids[1:]
    assert second.code == 1, second.err
    assert "Resuming: carrying over test run" in second.err
    assert f"Sign up with a new account — passed, carried over from an earlier attempt (test run {first['runs'][0]['test_run_id']})" in second.out
    earlier = {run["blueprint_id"]: run for run in first["runs"]}
    document = read_json(tmp_path / "second.json")
    runs = {run["blueprint_id"]: run for run in document["runs"]}
    assert (runs[181]["carried_over"], runs[181]["verdict"], runs[181]["test_run_id"]) == (
        True, "passed", earlier[181]["test_run_id"])
    assert runs[182]["carried_over"] is False and runs[182]["test_run_id"] != earlier[182]["test_run_id"]
    assert document["counts"]["passed"] == 1 and document["counts"]["failed"] == 1 and document["counts"]["total"] == 2
    assert [(g["id"], g["earlier_attempt"]) for g in document["group_runs"]] == [
        (new_group, False), (first["group_runs"][0]["id"], True)]
    outputs = parse_github_output_file((tmp_path / "outputs.txt").read_text())
    assert outputs["carried-over-run-ids"] == str(earlier[181]["test_run_id"])
    assert outputs["new-group-run-id"] == str(new_group)
    assert outputs["group-run-ids"] == f"{new_group},{first['group_runs'][0]['id']}"
    assert (outputs["total"], outputs["passed"], outputs["failed"]) == ("2", "1", "1")
    summary = (tmp_path / "summary.md").read_text()
    assert "| ✅ passed earlier |" in summary and "↩ 1 carried over from an earlier attempt" in summary


@pytest.mark.parametrize("layout", ["test", "step"])
def test_carried_runs_carry_the_junit_property_in_both_layouts(tmp_path: Path, layout: str) -> None:
    """The carried run's suite has docketqa.carried_over=true; the run counts as passed; the XML stays valid."""
    from junitparser import JUnitXml

    with sandbox("mixed") as served:
        _first_attempt(served, tmp_path, 181, 182)
        args = run_args(served, "--junit", "j.xml", "--junit-layout", layout, *RESUME, blueprints=(181, 182))
        result = gate_with(args, env=gate_env(CI_COMMIT_SHA=SHA), cwd=tmp_path)
    assert result.code == 1
    path = tmp_path / "j.xml"
    assert_valid_junit(path.read_text())
    carried = [s for s in JUnitXml.fromfile(str(path)) if {p.name: p.value for p in s.properties()}.get(
        "docketqa.carried_over") == "true"]  # fmt: skip
    assert len(carried) == 1
    (suite,) = carried
    assert [case.is_passed for case in suite] == [True] * len(list(suite))
    if layout == "test":  # the step layout's passed steps have no run-level text: the property says it there
        assert "Carried over from an earlier attempt of this gate" in path.read_text()
    outcomes = junit_outcomes(path)
    assert "failure" in outcomes.values() and "passed" in outcomes.values()


def test_with_every_blueprint_carried_over_nothing_is_sent_and_the_gate_passes(tmp_path: Path) -> None:
    """Both passed before: no POST, no GET, exit 0 with both runs counted as passed."""
    with sandbox("passing") as served:
        _first_attempt(served, tmp_path, 181, 185)
        seen = len(served.requests)
        result = gate_with(run_args(served, "--json", "again.json", *RESUME), env=gate_env(CI_COMMIT_SHA=SHA),
                           cwd=tmp_path)  # fmt: skip
        assert served.requests[seen:] == []
    assert result.code == 0, result.err
    document = read_json(tmp_path / "again.json")
    assert document["counts"]["passed"] == 2 and all(run["carried_over"] for run in document["runs"])
    assert "Resuming: carrying over test runs" in result.err


def test_a_rerun_after_a_timeout_triggers_nothing_and_follows_the_old_run(tmp_path: Path) -> None:
    """The 15-minute run timed out the first time: the re-run sends no POST and polls that same run to its end."""
    with sandbox("slow", time_scale=0.002) as served:
        first = _first_attempt(served, tmp_path, 185, 186, extra=("--timeout", "0.3s"))
        assert [run["verdict"] for run in first["runs"]] == ["passed", "timed_out"]
        slow_id = first["runs"][1]["test_run_id"]
        seen = len(served.requests)
        result = gate_with(run_args(served, "--json", "second.json", "--timeout", "1m", *RESUME, blueprints=(185, 186)),
                           env=gate_env(CI_COMMIT_SHA=SHA), cwd=tmp_path)  # fmt: skip
        later = served.requests[seen:]
    assert result.code == 0, result.err
    assert _posts(served, seen) == [] and later and {r.run_id for r in later} == {slow_id}
    runs = read_json(tmp_path / "second.json")["runs"]
    assert [(r["test_run_id"], r["verdict"], r["carried_over"]) for r in runs] == [
        (first["runs"][0]["test_run_id"], "passed", True), (slow_id, "passed", False)]
    assert f"following test run {slow_id} again" in result.err


def test_a_rerun_after_sigterm_triggers_nothing_and_follows_the_old_runs(tmp_path: Path) -> None:
    """A gate stopped by SIGTERM left cancelled runs: the re-run follows both by id and triggers nothing."""
    ready = threading.Event()
    with Sandbox(api_key=gate_env()["DOCKET_API_KEY"], scenario="slow", time_scale=0.002,
                 on_request=lambda r: ready.set() if r.method == "GET" else None) as served:  # fmt: skip
        args = [*run_args(served, "--json", "first.json", "--timeout", "10m"), "--junit", "j.xml"]
        child = subprocess.Popen([sys.executable, "-m", "gate", *args], cwd=tmp_path,
                                 env=child_env(gate_env(CI_COMMIT_SHA=SHA)), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert ready.wait(30), "the gate never polled"
            child.send_signal(signal.SIGTERM)
            child.communicate(timeout=30)
        finally:
            child.kill()
        assert child.returncode == 143
        first = read_json(tmp_path / "first.json")
        assert "cancelled" in [run["verdict"] for run in first["runs"]]
        seen = len(served.requests)
        result = gate_with(run_args(served, "--json", "second.json", "--timeout", "1m", *RESUME),
                           env=gate_env(CI_COMMIT_SHA=SHA), cwd=tmp_path)  # fmt: skip
        assert _posts(served, seen) == []
    assert result.code == 0, result.err
    second = read_json(tmp_path / "second.json")
    old_ids = {run["test_run_id"] for run in first["runs"]}
    assert {run["test_run_id"] for run in second["runs"]} == old_ids
    assert all(run["verdict"] == "passed" for run in second["runs"])


def _doctor(path: Path, **changes: Any) -> None:
    document = read_json(path)
    document.update(changes)
    path.write_text(json.dumps(document))


UNTRUSTED = {
    "missing": (lambda p: p.unlink(),
                "docketqa-gate: notice: no previous result at first.json: running everything"),
    "corrupt": (lambda p: p.write_text('{"schema_version": 1, "runs": ['),
                "docketqa-gate: warning: not resuming: the previous result first.json is not JSON ("),
    "other-commit": (lambda p: _doctor(p, commit=OTHER_SHA),
                     ("docketqa-gate: warning: not resuming: the previous result first.json tested commit 000000000000, "
                     "not 4f2a9c1d0e8b (pass --resume-any-commit to carry results over from another commit); "
                     "running everything")),
    "other-url": (lambda p: _doctor(p, api_url="https://api.docketqa.com"),
                  ("docketqa-gate: warning: not resuming: the previous result first.json is for another API "
                  "(https://api.docketqa.com, this gate uses http://127.0.0.1:")),
    "other-schema": (lambda p: _doctor(p, schema_version=2),
                     ("docketqa-gate: warning: not resuming: the previous result first.json is a result of schema "
                     "version 2; this gate reads version 1; running everything")),
    "not-a-result": (lambda p: p.write_text('{"test_run": {"id": 1, "status": "passed"}}'),
                     ("docketqa-gate: warning: not resuming: the previous result first.json is not a docketqa-gate "
                     "JSON result (no 'schema_version' and 'runs'); running everything")),
}  # fmt: skip


@pytest.mark.parametrize("case", list(UNTRUSTED))
def test_an_untrusted_previous_result_runs_everything_with_the_right_message(tmp_path: Path, case: str) -> None:
    """Missing is a notice, anything else a warning; either way every blueprint is triggered again."""
    spoil, message = UNTRUSTED[case]
    with sandbox("passing") as served:
        _first_attempt(served, tmp_path, 181, 185)
        spoil(tmp_path / "first.json")
        seen = len(served.requests)
        result = gate_with(run_args(served, *RESUME), env=gate_env(CI_COMMIT_SHA=SHA), cwd=tmp_path)
        assert _posts(served, seen) == [{"test_blueprint_ids": [181, 185]}]
    assert result.code == 0, result.err
    assert any(line.startswith(message) for line in result.err.splitlines()), result.err
    assert "Resuming" not in result.err


def test_resume_any_commit_carries_results_from_another_commit(tmp_path: Path) -> None:
    """--resume-any-commit: the other commit's passes are carried over (nothing is triggered)."""
    with sandbox("passing") as served:
        _first_attempt(served, tmp_path, 181, 185)
        _doctor(tmp_path / "first.json", commit=OTHER_SHA)
        seen = len(served.requests)
        result = gate_with(run_args(served, *RESUME, "--resume-any-commit"), env=gate_env(CI_COMMIT_SHA=SHA),
                           cwd=tmp_path)  # fmt: skip
        assert _posts(served, seen) == []
    assert result.code == 0 and "warning" not in result.err


def test_wait_carries_final_runs_and_follows_the_others(tmp_path: Path) -> None:
    """wait --resume: the run that passed is carried (never polled); the one that timed out is polled again."""
    with sandbox("slow", time_scale=0.002) as served:
        ids = served.preexisting_run_ids
        first = gate_with(wait_args(served, ids, "--json", "first.json", "--timeout", "0.3s"),
                          env=gate_env(CI_COMMIT_SHA=SHA), cwd=tmp_path)  # fmt: skip
        assert first.code == 3, first.err
        verdicts = {run["test_run_id"]: run["verdict"] for run in read_json(tmp_path / "first.json")["runs"]}
        done = [i for i, v in verdicts.items() if v == "passed"]
        pending = [i for i, v in verdicts.items() if v == "timed_out"]
        assert done and pending
        seen = len(served.requests)
        result = gate_with(wait_args(served, ids, "--json", "second.json", "--timeout", "1m", *RESUME),
                           env=gate_env(CI_COMMIT_SHA=SHA), cwd=tmp_path)  # fmt: skip
        polled = {r.run_id for r in served.requests[seen:]}
    assert result.code == 0, result.err
    assert polled == set(pending)
    runs = read_json(tmp_path / "second.json")["runs"]
    assert {r["test_run_id"]: r["carried_over"] for r in runs} == {**dict.fromkeys(done, True),
                                                                   **dict.fromkeys(pending, False)}
