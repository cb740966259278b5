"""A local DocketQA-compatible API (scenarios, seeded faults, injectable clock) for demo, tests and benchmarks."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gate.sandbox.faults import FaultMode, FaultPlan
    from gate.sandbox.registry import get_scenario, scenario_names
    from gate.sandbox.scenarios import BlueprintSpec, Scenario, generated
    from gate.sandbox.server import DEFAULT_KEY, RequestRecord, Sandbox, serve_main

# Names resolve on first use (PEP 562) so that listing scenario names for --help does not import
# http.server and the rest of the server.
_EXPORTS = {
    "Sandbox": "server",
    "RequestRecord": "server",
    "DEFAULT_KEY": "server",
    "FaultPlan": "faults",
    "FaultMode": "faults",
    "Scenario": "scenarios",
    "BlueprintSpec": "scenarios",
    "generated": "scenarios",
    "get_scenario": "registry",
    "scenario_names": "registry",
    "serve_main": "server",
}

__all__ = [
    "DEFAULT_KEY",
    "BlueprintSpec",
    "FaultMode",
    "FaultPlan",
    "RequestRecord",
    "Sandbox",
    "Scenario",
    "generated",
    "get_scenario",
    "scenario_names",
    "serve_main",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gate.sandbox' has no attribute '{name}'")
    return getattr(importlib.import_module(f"gate.sandbox.{module}"), name)
