"""`report` fan-in: JSON results of several gate jobs and saved bodies -> one set of reports, one verdict."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.cli import CliResult, gate_env, junit_outcomes, read_json, run_args, sandbox, saved_bodies
from tests.support.render import assert_valid_junit
from tests.support.resume import gate_with

Cli = Callable[..., CliResult]


def _job(served: Any, tmp_path: Path, name: str, *ids: int) -> dict[str, Any]:
    """One matrix job: ``run`` for its share of the blueprints, its JSON result uploaded as ``name``."""
    gate_with(run_args(served, "--json", name, "--junit", f"{name}.xml", blueprints=ids), env=gate_env(), cwd=tmp_path)
    return read_json(tmp_path / name)  # type: ignore[no-any-return]


def test_two_json_results_and_a_saved_body_give_one_report_and_the_exit_code_of_the_whole(
    cli: Cli, tmp_path: Path
) -> None:
    """A passing job, a job with a failure and one saved body: one JUnit, summary and JSON with every run, exit 1."""
    with sandbox("mixed") as served:
        passing = _job(served, tmp_path, "a.json", 181)
        failing = _job(served, tmp_path, "b.json", 182)
        extra = _job(served, tmp_path, "c.json", 183)  # its body saved by hand instead of its JSON result
        (flaky_body,) = saved_bodies(served, [extra["runs"][0]["test_run_id"]])
    (tmp_path / "saved.json").write_text(json.dumps(flaky_body))
    assert (passing["verdict"], failing["verdict"]) == ("passed", "failed")
    result = cli(["report", "a.json", "b.json", "saved.json", "--json", "all.json", "--summary", "all.md"])
    assert result.code == 1, result.err
    document = read_json(tmp_path / "all.json")
    assert document["counts"] == {"total": 3, "passed": 2, "failed": 1, "errors": 0, "timed_out": 0, "cancelled": 0,
                                  "allowed_failures": 0, "flaky": 1}  # fmt: skip
    assert (document["verdict"], document["exit_code"]) == ("failed", 1)
    assert {g["id"] for g in document["group_runs"]} == set(served.triggered_group_ids)
    junit = tmp_path / "docketqa-junit.xml"
    assert_valid_junit(junit.read_text())
    assert sorted(junit_outcomes(junit).values()) == ["failure", "passed", "passed"]
    summary = (tmp_path / "all.md").read_text()
    assert summary.startswith("## ❌ DocketQA: failed") and "❌ 1 failed · ✅ 2 passed · ⚠️ 1 flaky" in summary


def test_a_timed_out_job_makes_the_whole_exit_3(cli: Cli, tmp_path: Path) -> None:
    """One job passed, another timed out: the merged verdict is timed out, exit 3, as one gate would have said."""
    with sandbox("slow", time_scale=0.002) as served:
        _job(served, tmp_path, "quick.json", 185)
        gate_with(run_args(served, "--json", "slow.json", "--timeout", "0.3s", blueprints=(186,)), env=gate_env(),
                  cwd=tmp_path)  # fmt: skip
    result = cli(["report", "quick.json", "slow.json", "--json", "all.json"])
    assert result.code == 3, result.err
    assert read_json(tmp_path / "all.json")["counts"]["timed_out"] == 1


def _result_with(tmp_path: Path, source: dict[str, Any], name: str, **run_changes: Any) -> None:
    document = json.loads(json.dumps(source))
    document["runs"][0].update(run_changes)
    (tmp_path / name).write_text(json.dumps(document))


def test_a_run_in_several_files_counts_once_final_beats_not_final(cli: Cli, tmp_path: Path) -> None:
    """The same run, finished in one file and still running (timed out) in a later one: the final copy counts."""
    with sandbox("failing") as served:
        source = _job(served, tmp_path, "final.json", 180)
    _result_with(tmp_path, source, "later.json", status="running", verdict="timed_out", final=False,
                 problem="still 'running' when the 30m deadline passed")  # fmt: skip
    result = cli(["report", "final.json", "later.json", "--json", "all.json"])
    assert result.code == 1, result.err
    (run,) = read_json(tmp_path / "all.json")["runs"]
    assert (run["verdict"], run["status"]) == ("failed", "failed")
    assert "using" not in result.err


def test_between_two_final_copies_the_file_given_later_wins_and_the_note_says_so(cli: Cli, tmp_path: Path) -> None:
    """Two final copies of one run that disagree: the later file's is used, and a note names both files."""
    with sandbox("failing") as served:
        source = _job(served, tmp_path, "first.json", 180)
    run_id = source["runs"][0]["test_run_id"]
    _result_with(tmp_path, source, "second.json", status="passed", verdict="passed", problem=None, failed_step=None,
                 steps=[])  # fmt: skip
    result = cli(["report", "first.json", "second.json", "--json", "all.json"])
    assert result.code == 0, result.err
    (run,) = read_json(tmp_path / "all.json")["runs"]
    assert run["verdict"] == "passed"
    note = f"docketqa-gate: note: test run {run_id} is in both first.json and second.json: using second.json, the file given later"
    assert note in result.err.splitlines()
    swapped = cli(["report", "second.json", "first.json", "--json", "all.json"])
    assert swapped.code == 1 and read_json(tmp_path / "all.json")["runs"][0]["verdict"] == "failed"


def test_a_result_of_another_schema_version_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    """A JSON result the gate cannot read: exit 2 with the file, the version, and what to pass instead."""
    (tmp_path / "old.json").write_text(json.dumps({"schema_version": 7, "runs": []}))
    result = cli(["report", "old.json"])
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "docketqa-gate: error: old.json is a result of schema version 7; this gate reads version 1: pass the --json "
        "file a docketqa-gate of this version wrote"
    )


def test_a_result_of_an_older_gate_still_merges(cli: Cli, tmp_path: Path) -> None:
    """A JSON result written before the resume fields existed (no commit, api_url, final, carried_over) is read."""
    with sandbox("failing") as served:
        source = _job(served, tmp_path, "new.json", 180)
    old = {key: value for key, value in source.items() if key not in ("commit", "api_url")}
    old["runs"] = [{k: v for k, v in run.items() if k not in ("final", "carried_over")} for run in source["runs"]]
    (tmp_path / "old.json").write_text(json.dumps(old))
    result = cli(["report", "old.json", "--json", "all.json"])
    assert result.code == 1, result.err
    (run,) = read_json(tmp_path / "all.json")["runs"]
    assert (run["verdict"], run["final"], run["carried_over"]) == ("failed", True, False)
