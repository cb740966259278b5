"""Sandbox scenarios with chosen durations: one single-step blueprint per run, some failing."""

from __future__ import annotations

from collections.abc import Sequence

from gate.sandbox.scenarios import FAILED, PASSED, BlueprintSpec, Scenario, StepSpec


def scenario(durations: Sequence[float], *, failing: frozenset[int] = frozenset()) -> Scenario:
    """One blueprint (1001, 1002, ...) per duration; the indexes in ``failing`` fail at their only step."""
    blueprints = {}
    for index, duration in enumerate(durations):
        fails = index in failing
        step = StepSpec(task="Open the page", successful=not fails, result="no heading" if fails else "ok", duration=2)
        blueprints[1001 + index] = BlueprintSpec(
            title=f"Flow {index + 1:02d}", starting_url="https://app.example.com/", steps=(step,),
            final_status=FAILED if fails else PASSED, duration_s=duration,
        )
    return Scenario(name="lead", blueprints=blueprints, description=f"{len(durations)} runs")
