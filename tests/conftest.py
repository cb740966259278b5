"""Suite-wide guards: the API key must never leak, whatever a test does."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from gate.clock import FakeClock
from tests.support.cli import CliResult
from tests.support.http_fixture import FixtureServer, serving
from tests.support.keys import SECRETS

_texts_key = pytest.StashKey[list]()


@pytest.fixture
def clock() -> FakeClock:
    """Virtual time starting at ``FakeClock.START``: retry, deadline and sandbox tests run without sleeping."""
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FixtureServer]:
    """A scriptable fake of the DocketQA API on 127.0.0.1 that stamps each request with ``clock``'s time."""
    with serving(clock) as fixture:
        yield fixture


@pytest.fixture
def leak_guard(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Register text (e.g. a subprocess's output) for the end-of-test leak scan; returns it unchanged."""
    texts = request.node.stash.setdefault(_texts_key, [])

    def register(text: str) -> str:
        texts.append(text)
        return text

    return register


@pytest.fixture
def cli(leak_guard: Callable[[str], str], tmp_path: Path) -> Callable[..., CliResult]:
    """Run ``gate.cli.main`` in-process with captured streams (scanned for leaks afterwards)."""
    from gate.cli import main

    def run(args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), dict(env or {}), stdout=out, stderr=err, cwd=cwd or tmp_path)
        return CliResult(code, leak_guard(out.getvalue()), leak_guard(err.getvalue()))

    return run


def _scan_files(root: Path) -> list[str]:
    """Every file a test left in its tmp_path, except key files it wrote on purpose (named ``*.key``)."""
    found = []
    for path in root.rglob("*"):
        if path.suffix == ".key":
            continue
        try:
            if path.is_file() and path.stat().st_size < 64 * 1024 * 1024 and _leaks_bytes(path.read_bytes()):
                found.append(f"file {path}")
        except OSError:
            continue
    return found


def _leaks(text: str) -> bool:
    return any(secret in text for secret in SECRETS)


def _leaks_bytes(data: bytes) -> bool:
    return any(secret.encode() in data for secret in SECRETS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "call":
        return
    leaks = [f"captured {name}" for name, text in report.sections if _leaks(text)]
    if call.excinfo is not None and _leaks(str(call.excinfo.value)):
        leaks.append("exception message")
    if any(_leaks(text) for text in item.stash.get(_texts_key, [])):
        leaks.append("registered output")
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if isinstance(tmp, Path) and tmp.exists():
        leaks += _scan_files(tmp)
    if leaks:
        report.outcome = "failed"
        report.longrepr = "API key or forge token leaked into: " + ", ".join(leaks)
