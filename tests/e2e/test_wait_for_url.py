"""--wait-for-url end to end: the sandbox is triggered only once the loopback target is ready, and never otherwise."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from gate.clock import FakeClock
from gate.sandbox.server import Sandbox
from tests.support.cli import gate_env, read_json, run_args, sandbox
from tests.support.http_fixture import Reply, serving
from tests.support.keys import TEST_API_KEY
from tests.support.resume import gate_with


def test_the_trigger_waits_until_the_target_serves_the_commit(tmp_path: Path) -> None:
    """/version serves the old build twice, then the new one: the POST comes after that answer, and not before."""
    with sandbox("passing") as served, serving() as target:
        target.script("GET", "/version", Reply(200, b"abc111"), Reply(200, b"abc111"), Reply(200, b"abc222"))
        wait = ("--wait-for-url", f"{target.url}/version", "--wait-for-text", "abc222")
        result = gate_with(run_args(served, *wait), env=gate_env(), cwd=tmp_path)
        asked = len(target.seen())
        posts = [r for r in served.requests if r.method == "POST"]
        headers = [seen.headers for seen in target.seen()]
    assert result.code == 0, result.err
    assert asked == 3 and len(posts) == 1
    lines = result.err.splitlines()
    waiting = [i for i, line in enumerate(lines) if "Waiting for" in line and "does not contain 'abc222'" in line]
    ready = next(i for i, line in enumerate(lines) if line.endswith(f"Target {target.url}/version is ready (200)"))
    starting = next(i for i, line in enumerate(lines) if "Starting DocketQA runs" in line)
    assert len(waiting) == 2 and waiting[-1] < ready < starting
    assert not any(TEST_API_KEY in str(h) or "x-api-key" in h for h in headers)


def test_a_target_that_never_gets_ready_exits_3_and_triggers_nothing(tmp_path: Path) -> None:
    """Still 503 at the 10m wait timeout (virtual time): exit 3, no POST, the URL and its last answer named, reports
    written saying nothing was triggered."""
    with sandbox("passing") as served, serving() as target:
        target.script("GET", "/", Reply(503))
        args = run_args(served, "--json", "r.json", "--no-fail-on-timeout", "--poll-interval", "30s",
                        "--wait-for-url", target.url + "/")  # fmt: skip
        result = gate_with(args, env=gate_env(), cwd=tmp_path, clock=FakeClock())
        assert [r for r in served.requests if r.method == "POST"] == []
        assert len(target.seen()) == 21  # every --poll-interval (30s) for 10m, the first at once
    assert result.code == 3, result.err
    message = (f"{target.url}/ was not ready within the 10m wait timeout (last answer: status 503, wanted 2xx); "
               "nothing was triggered: check the deployment, or raise --wait-timeout")  # fmt: skip
    assert result.err.splitlines()[-1] == f"docketqa-gate: error: {message}"
    document = read_json(tmp_path / "r.json")
    assert (document["verdict"], document["exit_code"], document["stop_reason"]) == ("timed_out", 3, message)
    assert {run["problem"] for run in document["runs"]} == {f"never triggered: {message}"}
    assert document["group_runs"] == []


def test_sigterm_while_waiting_exits_143_with_nothing_triggered(tmp_path: Path) -> None:
    """A real SIGTERM while the target still answers 503: exit 143, no POST, and the reports say why."""
    asked = threading.Event()
    with sandbox("passing") as served, serving() as target:

        def answer(_seen: object) -> Reply:
            asked.set()
            return Reply(503)

        target.fallback(answer)
        timer = threading.Thread(target=lambda: asked.wait(30) and os.kill(os.getpid(), signal.SIGTERM))
        timer.start()
        try:
            args = run_args(served, "--json", "r.json", "--summary", "s.md", "--wait-for-url", target.url + "/")
            result = gate_with(args, env=gate_env(), cwd=tmp_path)
        finally:
            timer.join()
        assert [r for r in served.requests if r.method == "POST"] == []
    assert result.code == 143, result.err
    document = read_json(tmp_path / "r.json")
    assert document["verdict"] == "cancelled" and {run["verdict"] for run in document["runs"]} == {"cancelled"}
    why = "nothing was triggered (the gate was waiting for the target URL)"
    assert why in document["stop_reason"] and why in (tmp_path / "s.md").read_text()
    assert "DocketQA may have started a group run" not in result.err


def test_nothing_to_trigger_means_no_waiting(tmp_path: Path) -> None:
    """Every blueprint carried over by --resume: the target is not even asked."""
    with sandbox("passing") as served, serving() as target:
        target.script("GET", "/", Reply(503))
        first = gate_with(run_args(served, "--json", "first.json"), env=gate_env(), cwd=tmp_path)
        assert first.code == 0
        args = run_args(served, "--resume", "first.json", "--wait-for-url", target.url + "/", "--wait-timeout", "5s")
        second = gate_with(args, env=gate_env(), cwd=tmp_path)
        assert target.seen() == []
    assert second.code == 0, second.err


def test_the_deadline_counts_from_when_the_target_is_ready(tmp_path: Path) -> None:
    """A deploy that takes 90 s (virtual) to come up does not eat the 60 s --timeout of the runs themselves."""
    clock = FakeClock()  # shared: the sandbox's runs (5 s) progress on the gate's virtual time
    with Sandbox(api_key=TEST_API_KEY, scenario="passing", clock=clock) as served, serving() as target:
        target.script("GET", "/", Reply(503), Reply(503), Reply(503), Reply(200))
        args = run_args(served, "--timeout", "60s", "--wait-for-url", target.url + "/", "--json", "r.json")
        args[args.index("0.1s")] = "30s"  # the poll interval, also the wait's: three 30 s waits before it is ready
        result = gate_with(args, env=gate_env(), cwd=tmp_path, clock=clock)
        assert len([r for r in served.requests if r.method == "POST"]) == 1
    assert result.code == 0, result.err
    assert read_json(tmp_path / "r.json")["counts"]["passed"] == 2
