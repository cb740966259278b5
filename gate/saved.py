"""Saved ``GET /test_run/{id}`` bodies -> Outcome, for ``report`` (no network: it imports no HTTP code)."""

from __future__ import annotations

import dataclasses
from typing import Any

from gate.config import Config
from gate.errors import MalformedResponse
from gate.model import TestRun, Verdict
from gate.naming import unique_names
from gate.outcome import GroupRun, Outcome, RunOutcome, run_outcome
from gate.payload import parse_test_run_response


def outcome_from_saved(payloads: list[Any], config: Config) -> Outcome:
    """The outcome of saved ``GET /test_run`` bodies. A run saved before it finished is an ERROR (never a pass)."""
    rows: dict[object, RunOutcome] = {}
    for index, payload in enumerate(payloads, start=1):
        try:
            run = parse_test_run_response(payload)
        except (MalformedResponse, TypeError, ValueError, OverflowError, RecursionError) as exc:
            # Not only MalformedResponse: a hostile file may trip the parser in ways it did not foresee.
            why = exc.message if isinstance(exc, MalformedResponse) else f"unreadable content ({type(exc).__name__})"
            rows[("bad", index)] = run_outcome(
                None, name=f"Saved response {index}", verdict=Verdict.ERROR,
                problem=f"saved response {index} is not a test run: {why}", api_problem=True,
            )
            continue
        rows[run.id] = _saved_outcome(run, config)  # a later save of the same run replaces an earlier one
    runs = list(rows.values())
    names = unique_names((run.name, run.test_run_id) for run in runs)
    group_ids = dict.fromkeys(run.run.group_run_id for run in runs if run.run and run.run.group_run_id is not None)
    return Outcome(
        runs=tuple(dataclasses.replace(run, name=name) for run, name in zip(runs, names)),
        group_runs=tuple(GroupRun(id=group_id) for group_id in group_ids),
        fail_on_timeout=config.fail_on_timeout,
    )


def _saved_outcome(run: TestRun, config: Config) -> RunOutcome:
    name, allowed = config.name_for(run.blueprint_id), config.is_allowed_failure(run.blueprint_id)
    if run.is_final:
        return run_outcome(run, name=name, allowed_failure=allowed)
    problem = f"still '{run.status}' when the response was saved: save it again after the run has finished"
    return run_outcome(run, verdict=Verdict.ERROR, problem=problem, name=name, allowed_failure=allowed)
