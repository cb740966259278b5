"""Real SIGTERM/SIGINT to a real gate process at different moments: complete reports, exit 143/130, no traceback."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.clock import SystemClock
from gate.sandbox import FaultMode, FaultPlan
from gate.sandbox.transport import RequestRecord
from tests.support.hardening import Register, report_args, run_gate, serving, wait_args
from tests.support.keys import TEST_API_KEY
from tests.support.paths import REPO
from tests.support.render import assert_only_our_html, assert_valid_junit, junit_counts, render_markdown

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROOT = REPO
#: 'slow' at 1/20 speed: blueprint 185 passes after 0.15 s, 186 needs 45 s, so it is always running when signalled.
TIME_SCALE = 0.05
#: A guard against a hang, not a speed check: a healthy gate exits within a second of the signal.
EXIT_GUARD_S = 30.0
#: How long the gate may take to get to the chosen moment (starting Python, importing requests, first poll).
READY_GUARD_S = 30.0


@dataclasses.dataclass(frozen=True)
class Moment:
    """When to signal: the gate's command, faults that hold it there, and the request that says it got there."""

    name: str
    command: str
    faults: FaultPlan | None
    reached: Callable[[list[RequestRecord]], bool]
    verdicts: list[str]


def _post_arrived(records: list[RequestRecord]) -> bool:
    return any(r.method == "POST" for r in records)


def _slow_get_arrived(records: list[RequestRecord]) -> bool:
    return any(r.method == "GET" and r.fault == "stall" for r in records)


def _polled_again_after_a_final(records: list[RequestRecord]) -> bool:
    """The quick run was answered final and the slow one has been polled twice since: the gate is between polls."""
    finals = [r.seq for r in records if r.answered_final]
    return bool(finals) and sum(r.method == "GET" and r.seq > finals[0] for r in records) >= 2


MOMENTS = [
    Moment("before-the-trigger-answer", "run",
           FaultPlan(rate=1.0, modes=(FaultMode.STALL,), methods=frozenset({"POST"}), stall_s=60.0),
           _post_arrived, ["cancelled", "cancelled"]),
    Moment("a-poll-in-flight", "wait",
           FaultPlan(rate=1.0, modes=(FaultMode.STALL,), stall_s=60.0), _slow_get_arrived,
           ["cancelled", "cancelled"]),
    Moment("between-polls", "wait", None, _polled_again_after_a_final, ["passed", "cancelled"]),
]  # fmt: skip
SIGNALS = [(signal.SIGTERM, 143), (signal.SIGINT, 130)]


def child_env() -> dict[str, str]:
    """A clean environment: no CI variables of the job running these tests may reach the gate under test."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "SYSTEMROOT", "TMPDIR") if name in os.environ}
    return {**keep, "PYTHONPATH": str(ROOT), "DOCKET_API_KEY": TEST_API_KEY, "LC_ALL": "C.UTF-8"}


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("moment", MOMENTS, ids=lambda moment: moment.name)
def test_a_signal_leaves_complete_reports_and_the_signal_exit_code(
    moment: Moment, signum: int, code: int, tmp_path: Path, leak_guard: Register
) -> None:
    """Whenever the signal lands, the gate writes every report for what it knows and exits 143/130 cleanly."""
    records: list[RequestRecord] = []
    ready = threading.Event()

    def seen(record: RequestRecord) -> None:
        records.append(record)
        if moment.reached(records):
            ready.set()

    with serving("slow", clock=SystemClock(), faults=moment.faults, time_scale=TIME_SCALE, on_request=seen) as api:
        target = (["--blueprint", "185,186"] if moment.command == "run"
                  else ["--test-run", ",".join(map(str, api.preexisting_run_ids))])  # fmt: skip
        args = [moment.command, "--api-url", api.url, *target, "--poll-interval", "0.1s", "--timeout", "10m"]
        child = subprocess.Popen([sys.executable, "-m", "gate", *args, *report_args()], cwd=tmp_path,
                                 env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert ready.wait(READY_GUARD_S), f"the gate never reached '{moment.name}'"
            child.send_signal(signum)
            out, err = child.communicate(timeout=EXIT_GUARD_S)
        finally:
            child.kill()
    leak_guard(out + err)

    assert "Traceback" not in err and "internal error" not in err, err
    assert child.returncode == code, err
    document = _assert_reports_complete(tmp_path)
    assert (document["verdict"], document["exit_code"]) == ("cancelled", code)
    assert [run["verdict"] for run in document["runs"]] == moment.verdicts
    name = signal.Signals(signum).name
    assert f"docketqa-gate: error: interrupted by {name}: stopped following runs" in err
    if moment.command == "run":
        assert "DocketQA may have started a group run: check https://app.docketqa.com/dashboard" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "result.json", "summary.md"]


def _assert_reports_complete(workspace: Path) -> dict:
    import json

    xml = (workspace / "junit.xml").read_text(encoding="utf-8")
    assert_valid_junit(xml)
    junit_counts(xml)
    summary = (workspace / "summary.md").read_text(encoding="utf-8")
    assert summary.strip()
    assert_only_our_html(render_markdown(summary, unsafe=True))
    document: dict = json.loads((workspace / "result.json").read_text(encoding="utf-8"))
    return document


def _blocked_signals(thread: threading.Thread) -> set[int]:
    """The signals a thread of this process blocks, as the kernel reports them (SigBlk in /proc)."""
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text(encoding="ascii")
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)
    return {signum for signum in range(1, 65) if mask & (1 << (signum - 1))}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads thread signal masks from /proc (Linux)")
def test_only_the_main_thread_can_take_a_signal_while_polls_hang(tmp_path: Path, leak_guard: Register) -> None:
    """Poll workers block SIGINT/SIGTERM: a signal cannot land on one stuck in a request and sit unhandled while
    the main thread, which writes the reports, sleeps on (seen as a 30 s hang under load, past CI grace periods)."""
    masks: list[set[int]] = []

    def inspect(record: RequestRecord) -> None:
        masks.extend(_blocked_signals(t) for t in threading.enumerate() if t.name.startswith("docketqa-poll-"))

    stall = FaultPlan(rate=1.0, modes=(FaultMode.STALL,), stall_s=30.0)
    with serving("slow", clock=SystemClock(), faults=stall, on_request=inspect) as api:
        run = run_gate([*wait_args(api), "--timeout", "0.5s", *report_args()], workspace=tmp_path, register=leak_guard)
    assert run.code == 4
    assert masks and all({signal.SIGINT, signal.SIGTERM} <= blocked for blocked in masks), masks
