"""The one API key every test uses; the leak guard in tests/conftest.py fails any test that shows it."""

from __future__ import annotations

TEST_API_KEY = "dq_test_SECRET-KEY-4f9c2a7e51"
