"""Detection latency: from the last run turning final (sandbox clock) to the gate process exiting."""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import BENCH_KEY, Result, Row, gate_env, start_gate, wait_gate

from gate.run_status import PollSettings
from gate.sandbox.scenarios import BlueprintSpec, Scenario, StepSpec
from gate.sandbox.server import Sandbox

INTERVAL_S = 5.0


@dataclasses.dataclass(frozen=True)
class Trial:
    latency_s: float
    #: From the last run turning final to the arrival of the poll that saw it (the poll cycle's share).
    wait_s: float
    #: From that poll's arrival to the process exit (answer, reports, interpreter exit).
    teardown_s: float
    code: int


def _scenario(last_duration_s: float) -> Scenario:
    steps = tuple(StepSpec(task=f"Step {n}", successful=True, result="ok", duration=3) for n in range(1, 6))
    quick = BlueprintSpec(title="Quick check", starting_url="https://app.example.com/", steps=steps, duration_s=1.0)
    last = dataclasses.replace(quick, title="Last to finish", duration_s=last_duration_s)
    return Scenario(name="latency", blueprints={1: quick, 2: last}, description="a quick run and a later one")


def _trial(last_duration_s: float) -> Trial:
    with tempfile.TemporaryDirectory(prefix="dq-latency-") as tmp, Sandbox(
        scenario=_scenario(last_duration_s), api_key=BENCH_KEY
    ) as sandbox:
        args = ["run", "--api-url", sandbox.url, "--blueprint", "1,2", "--poll-interval", f"{INTERVAL_S}s",
                "--timeout", "2m"]
        exited = wait_gate(
            start_gate(args, cwd=Path(tmp), env=gate_env({"DOCKET_API_KEY": BENCH_KEY})), cwd=Path(tmp)
        )
        group = sandbox.triggered_group_ids[0]
        last_final = max(sandbox.final_at(run_id) for run_id in sandbox.run_ids_of_group(group))
        seen = max(r.at for r in sandbox.requests if r.answered_final)
    return Trial(exited.exited_at - last_final, seen - last_final, exited.exited_at - seen, exited.code)


def measure(*, trials: int, parallel: int) -> list[Trial]:
    """``trials`` gate processes, ``parallel`` at a time; the last run's duration sweeps one poll cycle."""
    # The first poll comes one interval after the trigger; later ones start 0-10% sooner than the interval
    # (PollSettings.jitter), so one mean cycle is 95% of it. Durations spread over one mean cycle after the
    # first poll put the final moment at every phase of the cycle, each phase once.
    cycle = INTERVAL_S * (1 - PollSettings().jitter / 2)
    durations = [INTERVAL_S + 0.1 + cycle * (i + 0.5) / trials for i in range(trials)]
    lock = threading.Lock()
    results: list[Trial] = []

    def one(duration: float) -> None:
        trial = _trial(duration)
        with lock:
            results.append(trial)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, durations))
    return results


def run(*, quick: bool) -> Result:
    trials = measure(trials=12 if quick else 40, parallel=6 if quick else 10)
    latencies = [t.latency_s for t in trials]
    worst, middle = max(latencies), statistics.median(latencies)
    teardown = statistics.median(t.teardown_s for t in trials)
    bad = [t.code for t in trials if t.code != 0]
    note = f"{len(trials)} gate processes; median poll-to-exit {teardown * 1000:.0f} ms"
    if bad:
        note += f"; {len(bad)} exited nonzero: {bad[:5]}"
    max_goal, median_goal = INTERVAL_S + 0.3, INTERVAL_S / 2 + 0.2
    return Result((
        Row("1. Detection latency, max (5 s interval)", f"<= {max_goal:.1f} s", f"{worst:.2f} s",
            worst <= max_goal and not bad, note),
        Row("1. Detection latency, median (5 s interval)", f"<= {median_goal:.1f} s", f"{middle:.2f} s",
            middle <= median_goal and not bad),
    ))
