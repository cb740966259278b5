"""Against the hand-written alternative: a sequential curl + jq + sleep loop vs the gate, same scenario."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import BENCH_KEY, Result, Row, gate_env, run_gate

from gate.sandbox.registry import get_scenario
from gate.sandbox.scenarios import Scenario, generated
from gate.sandbox.server import Sandbox

SCRIPT = Path(__file__).resolve().parent / "shell_gate.sh"
INTERVAL_S = 5


def _missing_tools() -> list[str]:
    return [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]


def _last_final(sandbox: Sandbox) -> float:
    group = sandbox.triggered_group_ids[0]
    return max(sandbox.final_at(run_id) for run_id in sandbox.run_ids_of_group(group))


def _shell(scenario: Scenario) -> tuple[float, float, int, int]:
    """(wall seconds to verdict, seconds after the last run finished, requests made, exit code) of the shell loop."""
    with Sandbox(scenario=scenario, api_key=BENCH_KEY) as sandbox:
        env = {"PATH": os.environ.get("PATH", ""), "DOCKET_API_KEY": BENCH_KEY}
        ids = [str(i) for i in scenario.blueprint_ids]
        started = time.monotonic()
        done = subprocess.run(["bash", str(SCRIPT), sandbox.url, str(INTERVAL_S), *ids], env=env,
                              capture_output=True, text=True, check=False)
        ended = time.monotonic()
        return ended - started, ended - _last_final(sandbox), len(sandbox.requests), done.returncode


def _gate(scenario: Scenario) -> tuple[float, float, int, int]:
    """(wall seconds to verdict, seconds after the last run finished, requests made, exit code) of the gate."""
    with tempfile.TemporaryDirectory(prefix="dq-shell-") as tmp, Sandbox(scenario=scenario, api_key=BENCH_KEY) as sb:
        ids = ",".join(map(str, scenario.blueprint_ids))
        args = ["run", "--api-url", sb.url, "--blueprint", ids, "--poll-interval", f"{INTERVAL_S}s",
                "--json", "result.json", "--summary", "summary.md"]
        exited, wall = run_gate(args, cwd=Path(tmp), env=gate_env({"DOCKET_API_KEY": BENCH_KEY}))
        return wall, exited.exited_at - _last_final(sb), len(sb.requests), exited.code


def run(*, quick: bool) -> Result:
    missing = _missing_tools()
    if missing:
        skipped = f"skipped: {' and '.join(missing)} not installed"
        return Result((Row("6. Shell loop (curl + jq + sleep) vs the gate", "compare", skipped, None),))
    if quick:
        scenario = get_scenario("mixed")
    else:
        scenario = generated(10, 6, fail_every=4, seed=3, duration_s=(5.0, 25.0))
    # Side by side (each against its own sandbox): both mostly sleep, so neither slows the other.
    with ThreadPoolExecutor(max_workers=2) as pool:
        shell_future, gate_future = pool.submit(_shell, scenario), pool.submit(_gate, scenario)
        shell, gate = shell_future.result(), gate_future.result()
    runs = len(scenario.blueprint_ids)
    what = f"{scenario.description}, {INTERVAL_S} s interval"
    same = (shell[3] == 0) == (gate[3] == 0)
    agree = "same verdict" if same else f"verdicts differ: shell {shell[3]}, gate {gate[3]}"
    return Result((
        Row(f"6. Wall time to verdict, {runs} runs: shell loop vs gate", "compare",
            f"{shell[0]:.1f} s vs {gate[0]:.1f} s", None,
            f"{what}; {agree}; verdict {shell[1]:.1f} s vs {gate[1]:.1f} s after the last run finished (either "
            "way at most one interval: which is sooner is the luck of where each one's poll cycle falls)"),
        Row(f"6. Requests made, {runs} runs: shell loop vs gate", "compare", f"{shell[2]} vs {gate[2]}", None,
            "the loop polls one run at a time, so runs that finish while it waits cost it one request each; "
            "the gate follows every run (progress per run) and also writes JUnit, JSON and summary"),
    ))
