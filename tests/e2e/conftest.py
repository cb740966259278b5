"""The ``--soak`` option: many fault seeds locally (GATE_SOAK_SEEDS=N also works), a few in CI."""

from __future__ import annotations

import os

import pytest

#: Seeds per fault test in the default (CI) run; each seed is a full 20-run gate with and without faults.
DEFAULT_SEEDS = 5
SOAK_SEEDS = 200


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak", action="store_true", default=False,
        help=f"hardening: run the fault suites over {SOAK_SEEDS} seeds (or GATE_SOAK_SEEDS) instead of {DEFAULT_SEEDS}",
    )  # fmt: skip


def seed_count(config: pytest.Config) -> int:
    """GATE_SOAK_SEEDS wins, then --soak, then the small CI default."""
    from_env = os.environ.get("GATE_SOAK_SEEDS", "").strip()
    if from_env:
        return max(1, int(from_env))
    return SOAK_SEEDS if config.getoption("--soak") else DEFAULT_SEEDS


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take a ``fault_seed`` run once per seed."""
    if "fault_seed" in metafunc.fixturenames:
        metafunc.parametrize("fault_seed", range(seed_count(metafunc.config)))
