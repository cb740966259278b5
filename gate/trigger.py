"""The trigger POST with its careful retry rules, and the rows of the outcome it plans (one per run to follow)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence

from gate.client import ApiClient, TriggerResult
from gate.clock import Clock
from gate.durations import format_setting_duration
from gate.errors import ApiError, TransientApiError
from gate.model import TestRun
from gate.retry import RetryPolicy


@dataclasses.dataclass(frozen=True)
class Planned:
    """One row of the outcome: a run to follow, or a requested blueprint that has no run."""

    test_run_id: int | None
    blueprint_id: int | None
    initial: TestRun | None = None
    #: Set when the gate already knows this row is an API problem (e.g. missing from the trigger response).
    problem: str | None = None


def trigger_with_retries(
    client: ApiClient, ids: Sequence[int], *, clock: Clock, deadline: float, timeout_s: float, rng: random.Random,
    retry: RetryPolicy, note: Callable[[str], None],
) -> TriggerResult:
    """POST once; repeat only on TransientApiError (nothing was created), with backoff, inside the deadline."""
    failures = 0
    while True:
        try:
            return client.trigger(ids, timeout=deadline - clock.now())
        except TransientApiError as exc:
            failures += 1
            if retry.exhausted(failures):
                raise ApiError(f"could not start the DocketQA runs after {failures} attempts: {exc.message}") from None
            delay = retry.delay(failures, rng=rng, retry_after=exc.retry_after, remaining=deadline - clock.now())
            if delay is None:
                raise ApiError(
                    f"could not start the DocketQA runs before the {format_setting_duration(timeout_s)} "
                    f"deadline: {exc.message}"
                ) from None
            note(f"Starting the runs failed ({exc.message}); trying again in {delay:.1f} s")
            clock.sleep(delay)


def plan_rows(requested: Sequence[int], result: TriggerResult) -> list[Planned]:
    """Rows in trigger order (extra runs, e.g. a login run, included), then requested blueprints with no run."""
    rows: dict[int, Planned] = {}
    for run in result.runs:
        rows.setdefault(run.id, Planned(test_run_id=run.id, blueprint_id=run.blueprint_id, initial=run))
    covered = {run.blueprint_id for run in result.runs}
    if None in covered:
        return list(rows.values())  # a run without a blueprint id could be any of them: do not accuse one
    missing = [
        Planned(
            test_run_id=None, blueprint_id=blueprint_id,
            problem=f"DocketQA started no test run for blueprint {blueprint_id} in group run {result.group_run.id}: "
                    "check that the blueprint exists and belongs to this API key's company",
        )
        for blueprint_id in dict.fromkeys(requested) if blueprint_id not in covered
    ]
    return [*rows.values(), *missing]
