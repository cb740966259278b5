"""Build Outcome objects from the saved GET /test_run fixtures, the way the core does, for renderer tests."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

from gate.errors import ExitCode
from gate.model import Verdict
from gate.naming import unique_names
from gate.outcome import GroupRun, Outcome, RunOutcome, run_outcome
from gate.payload import parse_test_run_response
from tests.support.paths import FIXTURES

GROUP_RUN = GroupRun(id=35, name="Manual Run 2025-07-03 01:38:03", created_at="2025-07-03T01:38:03.020496+00:00")


def load(name: str) -> dict[str, Any]:
    """A fixture payload by file stem (``seed_login_flow``, ``passing``, ``flaky``, ``unknown_status``, ...)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def variant(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture with top-level run fields replaced, and ``title`` put into ``blueprint_metadata``."""
    data = copy.deepcopy(load(name))
    run = data["test_run"]
    title = changes.pop("title", None)
    run.update(changes)
    if title is not None:
        run.setdefault("blueprint_metadata", {})["title"] = title
    return data


def finished(payload: dict[str, Any], *, name: str | None = None, allowed_failure: bool = False) -> RunOutcome:
    """A run that reached a final status, judged by the model's rules."""
    return run_outcome(parse_test_run_response(payload), name=name, allowed_failure=allowed_failure)


def timed_out(payload: dict[str, Any], *, deadline: str = "30m") -> RunOutcome:
    run = parse_test_run_response(payload)
    return run_outcome(run, verdict=Verdict.TIMED_OUT, problem=f"still '{run.status}' when the {deadline} deadline passed")


def cancelled(payload: dict[str, Any], *, signal_name: str = "SIGTERM") -> RunOutcome:
    run = parse_test_run_response(payload)
    problem = f"still '{run.status}' when the gate was stopped by {signal_name}"
    return run_outcome(run, verdict=Verdict.CANCELLED, problem=problem)


def not_awaited(payload: dict[str, Any]) -> RunOutcome:
    run = parse_test_run_response(payload)
    problem = f"not awaited: still '{run.status}' when --fail-fast stopped the gate"
    return run_outcome(run, verdict=Verdict.NOT_AWAITED, problem=problem)


def missing(blueprint_id: int) -> RunOutcome:
    """A requested blueprint the trigger response had no run for."""
    problem = f"DocketQA returned no test run for blueprint {blueprint_id}"
    return run_outcome(None, verdict=Verdict.ERROR, blueprint_id=blueprint_id, problem=problem, api_problem=True)


def outcome_of(*runs: RunOutcome, group_runs: tuple[GroupRun, ...] = (GROUP_RUN,), **fields: Any) -> Outcome:
    """An Outcome whose run names are unique, as the core guarantees."""
    names = unique_names([(r.name, r.test_run_id) for r in runs])
    named = tuple(dataclasses.replace(r, name=n) for r, n in zip(runs, names))
    fields.setdefault("elapsed_s", 252.0)
    return Outcome(runs=named, group_runs=group_runs, **fields)


# --- the scenarios the golden files and cross-renderer tests use -----------------------------------------


def seed_scenario() -> Outcome:
    """The documented Login Flow example, failed at step 1."""
    return outcome_of(finished(load("seed_login_flow")), elapsed_s=122.0)


def mixed_scenario() -> Outcome:
    """One of everything: failed, passed, flaky, timed out, unknown status, allowed failure, missing run."""
    return outcome_of(
        finished(load("seed_login_flow")),
        finished(load("passing")),
        finished(load("flaky")),
        timed_out(load("running")),
        finished(load("unknown_status")),
        finished(variant("seed_login_flow", id=43, test_blueprint_id=186, title="Legacy export"), allowed_failure=True),
        missing(185),
    )


def hostile_scenario() -> Outcome:
    """Hostile text everywhere, next to a run with the same (hostile) title."""
    return outcome_of(
        finished(load("hostile")),
        finished(variant("passing", id=67, test_blueprint_id=667, title=load("hostile")["test_run"]["blueprint_metadata"]["title"])),
    )


def interrupted_scenario() -> Outcome:
    """SIGTERM arrived while a run was still going; runs followed with ``wait`` have no declared group run."""
    return outcome_of(
        finished(load("passing")),
        cancelled(load("running")),
        group_runs=(),
        stop_reason="interrupted by SIGTERM: stopped following runs; unfinished runs are reported as cancelled",
        interrupted_exit=ExitCode.SIGTERM,
        elapsed_s=61.5,
    )


def fail_fast_scenario() -> Outcome:
    """--fail-fast stopped at the Login Flow failure; an allowed failure before it, one run left running."""
    return outcome_of(
        finished(variant("seed_login_flow", id=43, test_blueprint_id=186, title="Legacy export"), allowed_failure=True),
        finished(load("seed_login_flow")),
        finished(load("passing")),
        not_awaited(load("running")),
        stop_reason="stopped at the first failure (--fail-fast): Login Flow (test run 38); runs still going were "
                    "not awaited",
        fail_fast=True,
        elapsed_s=48.0,
    )


def empty_scenario() -> Outcome:
    return outcome_of(group_runs=(), elapsed_s=0.4)


SCENARIOS: dict[str, Callable[[], Outcome]] = {
    "seed": seed_scenario,
    "mixed": mixed_scenario,
    "hostile": hostile_scenario,
    "interrupted": interrupted_scenario,
    "fail-fast": fail_fast_scenario,
    "empty": empty_scenario,
}
