"""Where the repository and the suite's data files are, for every test and helper."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"
JUNIT_SCHEMA = TESTS / "schemas" / "junit-10.xsd"
