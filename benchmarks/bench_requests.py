"""Request economy: requests made over the minimum (1 trigger + each run's polls until its final answer)."""

from __future__ import annotations

import collections
import math
import tempfile
from pathlib import Path

from harness import BENCH_KEY, Result, Row, gate_env, run_gate

from gate.sandbox.scenarios import generated
from gate.sandbox.server import Sandbox

RUNS = 20
#: Compressed time: run durations of 1-12 s polled every second walk through the same cycles as
#: 5-60 s runs polled every 5 s (the default), in a fifth of the wall time.
INTERVAL_S = 1.0


def count(sandbox: Sandbox) -> tuple[int, int, int, int]:
    """(requests made, minimum, polls after a run's final answer, other extra requests)."""
    polls_needed: collections.Counter[int] = collections.Counter()
    final_seen: set[int] = set()
    after_final = triggers = other = 0
    for record in sandbox.requests:
        if record.method == "POST":
            triggers += 1
        elif record.method == "GET" and record.run_id is not None:
            if record.run_id in final_seen:
                after_final += 1
                continue
            # Every GET up to and including the first one that answered final is needed (a failed
            # request that had to be repeated would count here too: none happen in this clean scenario).
            polls_needed[record.run_id] += 1
            if record.answered_final:
                final_seen.add(record.run_id)
        else:
            other += 1
    assert len(sandbox.runs_requested_after_final()) == after_final
    made = len(sandbox.requests)
    return made, 1 + sum(polls_needed.values()), after_final, other + max(0, triggers - 1)


def fixed_cadence_minimum(sandbox: Sandbox) -> int:
    """Requests a gate polling every run at exactly the interval (first poll one interval after the trigger) needs."""
    trigger = next(r for r in sandbox.requests if r.method == "POST")
    group = sandbox.triggered_group_ids[0]
    first = trigger.at + INTERVAL_S
    polls = [1 + max(0, math.ceil((sandbox.final_at(run_id) - first) / INTERVAL_S))
             for run_id in sandbox.run_ids_of_group(group)]
    return 1 + sum(polls)


def run(*, quick: bool) -> Result:
    scenario = generated(RUNS, 5, fail_every=7, seed=6, duration_s=(1.0, 12.0))
    with tempfile.TemporaryDirectory(prefix="dq-requests-") as tmp, Sandbox(
        scenario=scenario, api_key=BENCH_KEY
    ) as sandbox:
        ids = ",".join(map(str, scenario.blueprint_ids))
        args = ["run", "--api-url", sandbox.url, "--blueprint", ids, "--poll-interval", f"{INTERVAL_S}s"]
        exited, wall = run_gate(args, cwd=Path(tmp), env=gate_env({"DOCKET_API_KEY": BENCH_KEY}))
        made, minimum, after_final, other = count(sandbox)
        cadence = fixed_cadence_minimum(sandbox)
    ratio = made / minimum
    good = exited.code == 1 and after_final == 0 and other == 0  # fail_every=7: two runs fail by design
    note = (f"{made} requests for {RUNS} runs of 1-12 s at a {INTERVAL_S:g} s interval: minimum {minimum}; "
            f"{after_final} after a final answer, {other} other; exit {exited.code} in {wall:.1f} s. Polls start at "
            f"most one interval apart (0-10% sooner, see docs/performance.md); polling every run every interval at an "
            f"exact {INTERVAL_S:g} s cadence would have needed {cadence}")
    return Result((Row("2. Request economy, 20-run group", "1.00", f"{ratio:.2f}", good and ratio <= 1.0, note),))
