"""The fast paths from issue 6 keep their promises: same output, same cadence, nothing lost at exit."""

from __future__ import annotations

import gc
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import gate.reports.files
from gate.clock import FakeClock
from gate.config import Command, Config
from gate.model import TestRun
from gate.outcome import Outcome
from gate.payload import parse_test_run_response
from gate.poller import Poller
from gate.reports.result_json import render_json, render_json_text
from gate.run_status import PollSettings
from gate.saved import outcome_from_saved
from tests.support.http_fixture import json_reply, make_client, run_body, serving
from tests.support.keys import TEST_API_KEY
from tests.support.paths import FIXTURES, REPO


def saved_outcome(name: str) -> Outcome:
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    config = Config(command=Command.REPORT, report_files=(FIXTURES / name,))
    return outcome_from_saved(data if isinstance(data, list) else [data], config)


@pytest.mark.parametrize("name", ["hostile.json", "flaky.json", "model_seed_login_flow.json", None])
def test_json_result_text_is_the_compact_dump_of_the_result(name: str | None) -> None:
    """The JSON report written a run at a time is byte for byte the compact dump of the whole result."""
    outcome = saved_outcome(name) if name else Outcome(runs=())
    whole = json.dumps(render_json(outcome), ensure_ascii=False, separators=(",", ":")) + "\n"
    assert render_json_text(outcome) == whole
    assert json.loads(render_json_text(outcome)) == render_json(outcome)


def test_reports_are_encoded_exactly_across_write_slices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text written a slice at a time is the same UTF-8 file, whatever characters fall on the slice edges."""
    monkeypatch.setattr(gate.reports.files, "ENCODE_CHUNK", 3)
    text = "a✓b😀c\u00e9\n" * 7 + "end"
    gate.reports.files.write_atomic(tmp_path / "report.txt", text)
    assert (tmp_path / "report.txt").read_bytes() == text.encode("utf-8")


class SlowSource:
    """Every answer takes ``answer_s`` of clock time; the run is final on the ``polls``-th request."""

    def __init__(self, clock: FakeClock, *, answer_s: float, polls: int) -> None:
        self.clock, self.answer_s, self.polls = clock, answer_s, polls
        self.sent: list[float] = []

    def get_test_run(self, run_id: int, *, timeout: float) -> TestRun:
        self.sent.append(self.clock.now())
        self.clock.advance(self.answer_s)
        status = "passed" if len(self.sent) >= self.polls else "running"
        return parse_test_run_response(run_body(run_id, status))


def test_slow_answers_do_not_stretch_the_poll_cycle() -> None:
    """Polls start at most one interval apart even when each answer takes 2 s, so a final status is seen as soon."""
    clock = FakeClock(1000.0)
    source = SlowSource(clock, answer_s=2.0, polls=6)
    poller = Poller(source, clock=clock, rng=random.Random(3), deadline=2000.0, settings=PollSettings(interval_s=5.0))
    try:
        result = poller.follow([1])
    finally:
        poller.close()
    gaps = [b - a for a, b in zip(source.sent, source.sent[1:])]
    assert result.all_settled and len(source.sent) == 6
    assert all(4.5 <= gap <= 5.0 for gap in gaps), gaps


def test_the_api_key_is_the_only_credential_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ~/.netrc entry for the API host never adds an Authorization header next to the key."""
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    with serving() as server:
        server.script("GET", "/test_run/7", json_reply(run_body(7, "passed")))
        make_client(server).get_test_run(7, timeout=30)
    headers = server.requests[0].headers
    assert "authorization" not in headers
    assert headers["x-api-key"] == TEST_API_KEY


def test_report_command_leaves_the_cycle_collector_on(cli: object, tmp_path: Path) -> None:
    """The collector paused while reports are rendered is running again afterwards (the gate may be embedded)."""
    (tmp_path / "run.json").write_text(json.dumps(run_body(5, "passed")), encoding="utf-8")
    result = cli(["report", "run.json", "--json", "r.json"], env={})  # type: ignore[operator]
    assert result.code == 0 and (tmp_path / "r.json").exists()
    assert gc.isenabled()


def test_a_gate_process_flushes_everything_before_its_fast_exit(tmp_path: Path) -> None:
    """Through pipes, a real process still delivers its last output line and its exit code."""
    (tmp_path / "run.json").write_text(json.dumps(run_body(5, "failed", failed_step=True)), encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "gate", "report", "run.json", "--summary", "s.md"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout.rstrip().splitlines()[-1].startswith("Exit code 1")
    assert (tmp_path / "s.md").read_text(encoding="utf-8").startswith("## ")


def test_the_benchmark_harness_runs_and_prints_its_table() -> None:
    """`python benchmarks/run.py --quick --only cold-start` prints the goal table for its benchmark."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--only", "cold-start"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "| Benchmark" in done.stdout and "Cold start" in done.stdout
    assert "Command: python benchmarks/run.py --quick --only cold-start" in done.stdout
