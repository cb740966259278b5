"""Report throughput: saved GET responses through ``docketqa-gate report`` into JUnit (step layout), JSON, summary."""

from __future__ import annotations

import dataclasses
import itertools
import json
import statistics
import tempfile
from pathlib import Path

from harness import Result, Row, gate_env, run_gate

from gate.sandbox.payloads import Ledger, Renderer
from gate.sandbox.scenarios import generated

STEPS = 40
GOAL_CASES = 20_000
REPEAT = 5
#: A run fails every 10th: failure texts, skipped steps and evidence links in the reports, not only passes.
FAIL_EVERY = 10


def write_saved_responses(path: Path, *, runs: int) -> None:
    """``runs`` final ``GET /test_run/{id}`` bodies as the sandbox renders them, saved as one JSON list."""
    scenario = generated(runs, STEPS, fail_every=FAIL_EVERY, seed=5)
    ledger = Ledger(scenario, time_scale=1.0)
    _, states = ledger.create_group(scenario.blueprint_ids, now=0.0, triggered=True)
    renderer = Renderer(base_url="https://sandbox.docketqa.invalid", wall=lambda at: 1_751_506_683.0 + at)
    with path.open("w", encoding="utf-8") as handle:
        json.dump([renderer.run(state, now=1e9) for state in states], handle)


@dataclasses.dataclass
class Size:
    cases: int
    work: Path
    walls: list[float] = dataclasses.field(default_factory=list)
    peak_mb: float = 0.0


ARGS = ("report", "saved.json", "--junit", "junit.xml", "--junit-layout", "step", "--json", "result.json",
        "--summary", "summary.md")


def measure_once(size: Size) -> None:
    """One ``report`` over ``size``'s saved runs: its wall time and peak RSS, after checking what it wrote."""
    exited, wall = run_gate(ARGS, cwd=size.work, env=gate_env())
    if exited.code != 1:  # FAIL_EVERY makes failures: exit 1 is the right verdict
        raise RuntimeError(f"report exited {exited.code}: {exited.stderr[-500:]}")
    if (size.work / "junit.xml").read_text(encoding="utf-8").count("<testcase ") != size.cases:
        raise RuntimeError("the JUnit report does not hold one testcase per step")
    size.walls.append(wall)
    size.peak_mb = max(size.peak_mb, exited.peak_rss_mb)


def _fit(points: list[tuple[int, float]]) -> tuple[float, float, float]:
    """Least squares time = fixed + per_case * cases; returns (fixed, per_case, R squared)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    per_case = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
    fixed = my - per_case * mx
    residual = sum((y - (fixed + per_case * x)) ** 2 for x, y in points)
    return fixed, per_case, 1 - residual / sum((y - my) ** 2 for y in ys)


def _marginal(points: list[tuple[int, float]]) -> list[float]:
    """Seconds per added testcase between consecutive sizes: constant when growth is linear."""
    return [(t2 - t1) / (n2 - n1) for (n1, t1), (n2, t2) in itertools.pairwise(points)]


def run(*, quick: bool) -> Result:
    sizes = [1_000, 5_000, 20_000] if quick else [1_000, 5_000, 20_000, 50_000, 100_000]
    lines = [("Report throughput (`docketqa-gate report`, JUnit step layout + JSON + summary, 40 steps a run; "
             f"median of {REPEAT} rounds, sizes interleaved so a busy moment of the machine hits them alike):"), "",
             "| Testcases | Runs | Wall (median) | Wall (fastest) | Peak RSS | Wall per testcase |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="dq-reports-") as tmp:
        measured = [Size(cases, Path(tmp) / str(cases)) for cases in sizes]
        for size in measured:
            size.work.mkdir()
            write_saved_responses(size.work / "saved.json", runs=size.cases // STEPS)
        for _ in range(REPEAT):
            for size in measured:
                measure_once(size)
    points = [(size.cases, statistics.median(size.walls)) for size in measured]
    for size, (_, wall) in zip(measured, points):
        lines.append(f"| {size.cases:,} | {size.cases // STEPS:,} | {wall:.3f} s | {min(size.walls):.3f} s | "
                     f"{size.peak_mb:.0f} MB | {wall / size.cases * 1e6:.1f} µs |")
    goal = next(size for size in measured if size.cases == GOAL_CASES)
    goal_wall, goal_peak = statistics.median(goal.walls), goal.peak_mb
    fixed, per_case, r2 = _fit(points)
    steps = _marginal(points)
    spread = max(steps) / min(steps) if min(steps) > 0 else float("inf")
    lines.append("")
    lines.append(
        f"Least-squares line: {fixed * 1000:.0f} ms fixed (interpreter start, imports, files) + "
        f"{per_case * 1e6:.1f} µs per testcase, R² = {r2:.4f}. "
        "Cost of each added testcase between consecutive sizes: "
        + ", ".join(f"{m * 1e6:.1f} µs" for m in steps) + "."
    )
    span = f"{sizes[0]:,}-{sizes[-1]:,}"
    linear = r2 >= 0.99 and spread <= 1.5
    rows = (
        Row("5. Report, 20,000 testcases (500 runs x 40 steps): wall", "<= 1.0 s", f"{goal_wall:.2f} s",
            goal_wall <= 1.0),
        Row("5. Report, 20,000 testcases: peak RSS", "<= 120 MB", f"{goal_peak:.0f} MB", goal_peak <= 120),
        Row(f"5. Report time vs size, {span} testcases", "linear", f"R² {r2:.4f}", linear,
            f"{per_case * 1e6:.1f} µs per testcase + {fixed * 1000:.0f} ms; the cost per added testcase varies "
            f"{spread:.2f}x between size steps (linear: R² >= 0.99 and <= 1.5x)"),
    )
    return Result(rows, details=("\n".join(lines),))
