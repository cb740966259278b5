"""Requests of the lead-and-sweeps policy (issue 13 (a), (b)) and --fail-fast's exit after a failure ((e))."""

from __future__ import annotations

import math
import statistics
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import BENCH_KEY, Exited, Result, Row, gate_env, run_gate

from gate.sandbox.scenarios import Scenario, timed
from gate.sandbox.server import Sandbox

INTERVAL_S = 1.0
RUNS = 20
FAIL_FAST_INTERVAL_S = 5.0


def _gate(scn: Scenario, *, interval_s: float, extra: Sequence[str] = ()) -> tuple[Exited, float, Sandbox]:
    """Run the gate against its own sandbox; (exit, wall time, the stopped sandbox to inspect)."""
    with tempfile.TemporaryDirectory(prefix="dq-lead-") as tmp, Sandbox(scenario=scn, api_key=BENCH_KEY) as sandbox:
        ids = ",".join(map(str, scn.blueprint_ids))
        args = ["run", "--api-url", sandbox.url, "--blueprint", ids, "--poll-interval", f"{interval_s:g}s",
                "--timeout", "5m", *extra]
        exited, wall = run_gate(args, cwd=Path(tmp), env=gate_env({"DOCKET_API_KEY": BENCH_KEY}))
    return exited, wall, sandbox


def every_run_every_interval(sandbox: Sandbox, *, interval_s: float) -> int:
    """Requests today's policy makes on this scenario: the trigger, then every run polled every interval
    (exactly; the real cadence is 0-10% sooner, so this undercounts it) until the poll that sees it final."""
    trigger = next(r for r in sandbox.requests if r.method == "POST")
    first = trigger.at + interval_s
    group = sandbox.triggered_group_ids[0]
    return 1 + sum(1 + max(0, math.ceil((sandbox.final_at(run) - first) / interval_s))
                   for run in sandbox.run_ids_of_group(group))


def _after_last(sandbox: Sandbox, exited: Exited) -> float:
    group = sandbox.triggered_group_ids[0]
    return exited.exited_at - max(sandbox.final_at(run) for run in sandbox.run_ids_of_group(group))


def _economy_rows() -> tuple[Row, ...]:
    together = timed([30 + 4 * i / (RUNS - 1) for i in range(RUNS)], name="together")
    evenly = timed([30 * (i + 1) / RUNS for i in range(RUNS)], name="evenly")
    with ThreadPoolExecutor(max_workers=2) as pool:  # both mostly sleep: side by side costs no accuracy
        a_future = pool.submit(_gate, together, interval_s=INTERVAL_S)
        b_future = pool.submit(_gate, evenly, interval_s=INTERVAL_S)
        (a_exit, _, a_box), (b_exit, _, b_box) = a_future.result(), b_future.result()
    a_made, a_today = len(a_box.requests), every_run_every_interval(a_box, interval_s=INTERVAL_S)
    b_made, b_today = len(b_box.requests), every_run_every_interval(b_box, interval_s=INTERVAL_S)
    a_goal = 30 + 2 * RUNS
    clean = [a_box.runs_requested_after_final(), b_box.runs_requested_after_final()] == [[], []]
    return (
        Row("9. Requests, 20 runs finishing within 4 s after 30 s (1 s interval)", f"<= {a_goal}", str(a_made),
            a_made <= a_goal and a_exit.code == 0 and clean,
            f"every run every interval: {a_today}; verdict {_after_last(a_box, a_exit):.2f} s after the last "
            f"run finished; exit {a_exit.code}"),
        Row("9. Requests, 20 runs finishing evenly over 30 s (1 s interval)",
            f"<= 0.5 x {b_today}", f"{b_made} ({b_made / b_today:.2f} x)",
            b_made <= 0.5 * b_today and b_exit.code == 0 and clean,
            f"today's count = every run polled every interval until final; verdict "
            f"{_after_last(b_box, b_exit):.2f} s after the last run finished; exit {b_exit.code}"),
    )


def _fail_fast_trial(fail_at: float) -> tuple[float, int, str]:
    """(exit minus the failing run's final moment, exit code, stderr) for one --fail-fast gate."""
    durations = [fail_at] + [60.0 + i for i in range(9)]
    exited, _, sandbox = _gate(timed(durations, failing=frozenset({0}), name="fail-fast"),
                               interval_s=FAIL_FAST_INTERVAL_S, extra=["--fail-fast"])
    if not sandbox.triggered_group_ids:  # refused before starting anything (e.g. an unknown flag)
        return math.nan, exited.code, exited.stderr
    group = sandbox.triggered_group_ids[0]
    failed_at = sandbox.final_at(sandbox.run_ids_of_group(group)[0])
    return exited.exited_at - failed_at, exited.code, exited.stderr


def _fail_fast_rows(*, quick: bool) -> tuple[Row, ...]:
    trials = 6 if quick else 12
    # The failure lands at every phase of one poll cycle after the first poll (as in benchmark 1).
    cycle = FAIL_FAST_INTERVAL_S * 0.95
    moments = [FAIL_FAST_INTERVAL_S + 0.1 + cycle * (i + 0.5) / trials for i in range(trials)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(_fail_fast_trial, moments))
    goal = FAIL_FAST_INTERVAL_S + 0.3
    if any(code == 2 for _, code, _ in results):
        why = next(err for _, code, err in results if code == 2).strip().splitlines()[-1][:120]
        return (Row("9. --fail-fast: exit after the first failure, max (5 s interval)", f"<= {goal:.1f} s",
                    "not measured", False, f"the gate refused --fail-fast: {why}"),)
    latencies = [latency for latency, _, _ in results]
    codes = sorted({code for _, code, _ in results})
    return (Row("9. --fail-fast: exit after the first failure, max (5 s interval)", f"<= {goal:.1f} s",
                f"{max(latencies):.2f} s", max(latencies) <= goal and codes == [1],
                f"{trials} gates, 10 runs each, the first fails while 9 run for a minute more; median "
                f"{statistics.median(latencies):.2f} s; exit codes {codes}"),)


def run(*, quick: bool) -> Result:
    return Result(_economy_rows() + _fail_fast_rows(quick=quick))
