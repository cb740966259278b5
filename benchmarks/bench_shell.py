"""Against the hand-written alternative: a sequential curl + jq + sleep loop vs the gate, same scenario."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import BENCH_KEY, Result, Row, gate_env, run_gate

from gate.sandbox.registry import get_scenario
from gate.sandbox.scenarios import Scenario, generated
from gate.sandbox.server import Sandbox

SCRIPT = Path(__file__).resolve().parent / "shell_gate.sh"
INTERVAL_S = 5
SEEDS = tuple(range(3, 15))
STAGGER_S = 2.5
#: (wall seconds to verdict, seconds after the last run finished, requests made, exit code, seconds from the
#: start to the trigger's arrival)
Measured = tuple[float, float, int, int, float]


def _missing_tools() -> list[str]:
    return [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]


def _trigger_at(sandbox: Sandbox) -> float:
    return next(r.at for r in sandbox.requests if r.method == "POST")


def _last_final(sandbox: Sandbox) -> float:
    group = sandbox.triggered_group_ids[0]
    return max(sandbox.final_at(run_id) for run_id in sandbox.run_ids_of_group(group))


def _after(delay_s: float, measure: Callable[[Scenario], Measured], scenario: Scenario) -> Measured:
    time.sleep(delay_s)
    return measure(scenario)


def _shell(scenario: Scenario) -> Measured:
    """What the shell loop did (see Measured)."""
    with Sandbox(scenario=scenario, api_key=BENCH_KEY) as sandbox:
        env = {"PATH": os.environ.get("PATH", ""), "DOCKET_API_KEY": BENCH_KEY}
        ids = [str(i) for i in scenario.blueprint_ids]
        started = time.monotonic()
        done = subprocess.run(["bash", str(SCRIPT), sandbox.url, str(INTERVAL_S), *ids], env=env,
                              capture_output=True, text=True, check=False)
        ended = time.monotonic()
        return (ended - started, ended - _last_final(sandbox), len(sandbox.requests), done.returncode,
                _trigger_at(sandbox) - started)


def _gate(scenario: Scenario) -> Measured:
    """What the gate did (see Measured)."""
    with tempfile.TemporaryDirectory(prefix="dq-shell-") as tmp, Sandbox(scenario=scenario, api_key=BENCH_KEY) as sb:
        ids = ",".join(map(str, scenario.blueprint_ids))
        args = ["run", "--api-url", sb.url, "--blueprint", ids, "--poll-interval", f"{INTERVAL_S}s",
                "--json", "result.json", "--summary", "summary.md"]
        exited, wall = run_gate(args, cwd=Path(tmp), env=gate_env({"DOCKET_API_KEY": BENCH_KEY}))
        started = exited.exited_at - wall
        return wall, exited.exited_at - _last_final(sb), len(sb.requests), exited.code, _trigger_at(sb) - started


def run(*, quick: bool) -> Result:
    missing = _missing_tools()
    if missing:
        skipped = f"skipped: {' and '.join(missing)} not installed"
        return Result((Row("6. Shell loop (curl + jq + sleep) vs the gate", "compare", skipped, None),))
    # Twelve scenarios: which of the two sees the last run sooner is mostly where each one's poll cycle
    # happens to fall, so one pair alone measures luck, and the goal compares means. The loop polls on a fixed grid from the trigger (0, 5,
    # 10, ... s), so runs that all end by 25 s, a multiple of the interval, always favour it (simulated over
    # 100 seeds: 0.7 s sooner on average, for that reason alone); the longest durations are spread over one
    # cycle instead, starting with the original scenario. Each pair runs side by side, each against its own
    # sandbox; all pairs at once (both mostly sleep).
    scenarios = [generated(10, 6, fail_every=4, seed=seed, duration_s=(5.0, 25.0 + INTERVAL_S * k / len(SEEDS)))
                 for k, seed in enumerate(SEEDS)]
    if quick:
        scenarios = [get_scenario("mixed"), *scenarios[:5]]
    # Pairs start STAGGER_S apart: twelve Python interpreters starting at once on two cores took seconds
    # each (measured: the gate's wall time exceeded its verdict delay by ~3 s more than the loop's), which
    # measures the harness, not the gate.
    with ThreadPoolExecutor(max_workers=2 * len(scenarios)) as pool:
        pairs = [(pool.submit(_after, i * STAGGER_S, _shell, scn), pool.submit(_after, i * STAGGER_S, _gate, scn))
                 for i, scn in enumerate(scenarios)]
        results = [(shell.result(), gate.result()) for shell, gate in pairs]
    shell_wall = statistics.mean(shell[0] for shell, _ in results)
    gate_wall = statistics.mean(gate[0] for _, gate in results)
    shell_after = statistics.mean(shell[1] for shell, _ in results)
    gate_after = statistics.mean(gate[1] for _, gate in results)
    shell_start = statistics.mean(shell[4] for shell, _ in results)
    gate_start = statistics.mean(gate[4] for _, gate in results)
    shell_requests = sum(shell[2] for shell, _ in results)
    gate_requests = sum(gate[2] for _, gate in results)
    agree = all((shell[3] == 0) == (gate[3] == 0) for shell, gate in results)
    each = "; ".join(f"{s[0]:.1f}/{g[0]:.1f} s, {s[2]}/{g[2]} requests" for s, g in results)
    what = f"{len(scenarios)} scenarios like {scenarios[-1].description}, {INTERVAL_S} s interval"
    return Result((
        Row("6. Wall time to verdict, 10 runs: shell loop vs gate (mean)", "gate <= shell",
            f"{shell_wall:.1f} s vs {gate_wall:.1f} s", gate_wall <= shell_wall and agree,
            f"{what}; {'same verdicts' if agree else 'verdicts differ'}; verdict {shell_after:.2f} s vs "
            f"{gate_after:.2f} s after the last run finished, start to trigger {shell_start:.2f} s vs {gate_start:.2f} s "
            f"(means); per scenario shell/gate: {each}"),
        Row("6. Requests made, 10 runs: shell loop vs gate (total)", "gate <= shell",
            f"{shell_requests} vs {gate_requests}", gate_requests <= shell_requests,
            "the loop polls one run until it is final, then the next; the gate polls one lead run and "
            "confirms the others concurrently when the lead turns final (and writes JUnit, JSON and summary)"),
    ))
