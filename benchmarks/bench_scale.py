"""Scale: one poll round over 300 runs at 50 ms a request, concurrent vs one at a time; memory for 1,000 runs."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from harness import BENCH_KEY, Exited, Result, Row, gate_env, run_gate

from gate.sandbox.scenarios import generated
from gate.sandbox.server import Sandbox
from gate.sandbox.transport import RequestRecord

LATENCY_S = 0.05
CONCURRENCY = 8


def poll_round(runs: int, *, concurrency: int) -> tuple[float, Exited]:
    """Seconds from the first request's arrival to the last answer of one round of ``wait`` over ``runs`` runs.

    Every run is already final, so the gate's first round is its only one: it polls each run once and exits.
    """
    answered: list[float] = []
    lock = threading.Lock()

    def on_request(_record: RequestRecord) -> None:
        with lock:
            answered.append(time.monotonic())  # called just before the answer is written

    scenario = generated(runs, 3, duration_s=0.0)
    with tempfile.TemporaryDirectory(prefix="dq-scale-") as tmp, Sandbox(
        scenario=scenario, api_key=BENCH_KEY, latency_s=LATENCY_S, on_request=on_request
    ) as sandbox:
        ids = ",".join(map(str, sandbox.preexisting_run_ids))
        args = ["wait", "--api-url", sandbox.url, "--test-run", ids, "--concurrency", str(concurrency)]
        exited, _ = run_gate(args, cwd=Path(tmp), env=gate_env({"DOCKET_API_KEY": BENCH_KEY}))
        first = min(r.at for r in sandbox.requests)
        assert len(sandbox.requests) == runs, "one round must poll each run exactly once"
    return max(answered) - first, exited


def peak_memory(runs: int, *, reports: tuple[str, ...] = ()) -> tuple[float, Exited, float]:
    """Peak RSS (MB) of ``wait`` following ``runs`` runs of 1-4 s with 10 steps each to the end, reports written."""
    scenario = generated(runs, 10, fail_every=25, duration_s=(1.0, 4.0))
    with tempfile.TemporaryDirectory(prefix="dq-memory-") as tmp, Sandbox(scenario=scenario, api_key=BENCH_KEY) as sb:
        ids = ",".join(map(str, sb.preexisting_run_ids))
        args = ["wait", "--api-url", sb.url, "--test-run", ids, "--poll-interval", "1s", *reports]
        exited, wall = run_gate(args, cwd=Path(tmp), env=gate_env({"DOCKET_API_KEY": BENCH_KEY}))
    return exited.peak_rss_mb, exited, wall


def run(*, quick: bool) -> Result:
    runs = 300  # the goal's size even in --quick: a smaller round is dominated by connection set-up
    floor = runs * LATENCY_S / CONCURRENCY
    # The concurrent round is short: its median of three (one with --quick), each against a fresh sandbox.
    rounds = sorted((poll_round(runs, concurrency=CONCURRENCY) for _ in range(1 if quick else 3)), key=lambda r: r[0])
    concurrent, exited_c = rounds[len(rounds) // 2]
    sequential, exited_s = poll_round(runs, concurrency=1)
    memory_runs = 1000
    peak, exited_m, wall_m = peak_memory(memory_runs)
    every = ("--junit-layout", "step", "--json", "result.json", "--summary", "summary.md")
    peak_all, exited_all, _ = peak_memory(memory_runs, reports=every)
    codes = {exited_c.code, exited_s.code}
    round_ok = concurrent <= floor * 1.10 and codes == {0}
    each = ", ".join(f"{r[0]:.3f} s" for r in rounds)
    rows = (
        Row(f"3. One poll round, {runs} runs x 50 ms, concurrency 8", f"<= {floor * 1.1:.2f} s (floor {floor:.3f} s "
            "+ 10%)", f"{concurrent:.3f} s", round_ok, f"{concurrent / floor:.2f}x the floor; median of {each}"),
        Row("3. Same round one at a time (--concurrency 1)", f"~{runs * LATENCY_S:.0f} s (reference)",
            f"{sequential:.2f} s", None, f"concurrent is {sequential / concurrent:.1f}x faster"),
        Row(f"3. Peak RSS following {memory_runs:,} runs (10 steps each)", "<= 60 MB", f"{peak:.1f} MB",
            peak <= 60 and exited_m.code == 1,
            f"the gate process, `wait` with its default report (JUnit); {wall_m:.1f} s"),
        Row("3. Same, writing JUnit (step layout), JSON and summary", "(60 MB)", f"{peak_all:.1f} MB", None,
            f"{memory_runs * 10:,} step testcases rendered at the end; exit {exited_all.code}"),
    )
    return Result(rows)
