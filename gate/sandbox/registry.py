"""Scenario names -> builders: the named scenarios, the hostile and huge ones, and ``generated:RUNSxSTEPS``."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

from gate.errors import UsageError
from gate.sandbox.hostile import hostile_scenario, huge_scenario
from gate.sandbox.scenarios import (
    ALWAYS_FAILING_RETRIED,
    CHECKOUT,
    FAILED_NO_RESULTS,
    FULL_JOURNEY_SLOW,
    HOME_PAGE,
    LOGIN_FLOW,
    LOGIN_RUN,
    MISSING_FROM_TRIGGER,
    PASSWORD_RESET_STOPPED,
    QUEUED_FIRST,
    SEARCH_FLAKY,
    SIGN_UP,
    BlueprintSpec,
    Scenario,
    generated,
)


def _named(name: str, description: str, blueprints: dict[int, BlueprintSpec]) -> Callable[[], Scenario]:
    return lambda: Scenario(name=name, blueprints=blueprints, description=description)


#: Name -> builder (hostile and huge are built on first use: they are large).
SCENARIOS: Mapping[str, Callable[[], Scenario]] = {
    "passing": _named("passing", "two runs that pass", {181: SIGN_UP, 185: HOME_PAGE}),
    "failing": _named("failing", "the documented Login Flow run that fails at step 1", {180: LOGIN_FLOW}),
    "mixed": _named(
        "mixed",
        "a pass, a failure at step 3 with screenshots, a flaky pass, and an unknown final status 'stopped'",
        {181: SIGN_UP, 182: CHECKOUT, 183: SEARCH_FLAKY, 184: PASSWORD_RESET_STOPPED},
    ),
    "flaky": _named(
        "flaky",
        "a run that passes on its retry (additional_attempts) and a clean pass",
        {183: SEARCH_FLAKY, 181: SIGN_UP},
    ),
    "slow": _named(
        "slow", "a quick pass and a 15-minute run, for timeout rehearsals", {185: HOME_PAGE, 186: FULL_JOURNEY_SLOW}
    ),
    "edge": _named(
        "edge",
        "an extra login run, a blueprint missing from the trigger response, 'queued' before running, "
        "a failure with null results, a failure on every retry",
        {
            190: LOGIN_RUN,
            191: QUEUED_FIRST,
            192: MISSING_FROM_TRIGGER,
            193: FAILED_NO_RESULTS,
            187: ALWAYS_FAILING_RETRIED,
        },
    ),
    "hostile": hostile_scenario,
    "huge": huge_scenario,
}

_GENERATED = re.compile(r"generated:(\d{1,5})x(\d{1,5})(?::fail_every=(\d{1,5}))?")


def scenario_names() -> tuple[str, ...]:
    return tuple(SCENARIOS)


@functools.lru_cache(maxsize=16)
def get_scenario(name: str) -> Scenario:
    """The named scenario, or ``generated:RUNSxSTEPS[:fail_every=N]``; a UsageError lists what is allowed."""
    factory = SCENARIOS.get(name.strip().lower())
    if factory is not None:
        return factory()
    match = _GENERATED.fullmatch(name.strip().lower())
    if match:
        runs, steps, fail_every = match.groups()
        return generated(int(runs), int(steps), fail_every=int(fail_every or 0))
    allowed = ", ".join(scenario_names())
    raise UsageError(f"unknown sandbox scenario '{name}': use one of {allowed}, or generated:RUNSxSTEPS")
