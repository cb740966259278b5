"""Shared benchmark plumbing: result rows, running the gate as a real process, peak memory, the table."""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: A made-up sandbox key (never a real one); the sandbox and the gate under test share it.
BENCH_KEY = "dq_bench_not-a-real-key"


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the table; ``met`` is None for an informational line that has no goal."""

    benchmark: str
    goal: str
    measured: str
    met: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "short", None: "info"}[self.met]


@dataclasses.dataclass(frozen=True)
class Result:
    """What one benchmark module reports: table rows, and optional detail blocks (Markdown) for the doc."""

    rows: tuple[Row, ...]
    details: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Exited:
    """A finished gate process: exit code, when it exited (time.monotonic), its peak RSS, its output."""

    code: int
    exited_at: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def gate_command() -> list[str]:
    """The installed console script if it is this checkout's, else ``python -m gate`` from the checkout."""
    script = shutil.which("docketqa-gate")
    if script and _script_runs_this_checkout(script):
        return [script]
    return [sys.executable, "-m", "gate"]


def _script_runs_this_checkout(script: str) -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import gate, sys; sys.stdout.write(gate.__file__)"],
        capture_output=True, text=True, env=gate_env(), check=False,
    )
    return probe.returncode == 0 and Path(probe.stdout).resolve().is_relative_to(REPO) and Path(script).exists()


def gate_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the gate: no CI variables (local platform), this checkout importable."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


#: Starts the gate and reports on it. The harness cannot reap the gate itself to learn its peak memory:
#: Linux keeps a process's ru_maxrss across exec, so a process spawned from the (large) harness reports at
#: least the harness's own peak. A small interpreter (python -S, ~10 MB) forks and execs the gate instead,
#: reaps it with wait4 and writes "peak_kib started_at exited_at" (time.monotonic, shared by all processes).
SPAWNER = """
import os, sys, time
started = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
exited = time.monotonic()
with open("gate.rusage", "w") as report:
    report.write(f"{usage.ru_maxrss} {started!r} {exited!r}")
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def start_gate(args: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    command = gate_command()
    command[0] = shutil.which(command[0]) or command[0]  # execv needs a path
    # Output goes to files, as a CI runner's log capture would drain it.
    with open(cwd / "gate.stdout", "wb") as out, open(cwd / "gate.stderr", "wb") as err:
        return subprocess.Popen([sys.executable, "-S", "-c", SPAWNER, *command, *args], cwd=cwd, env=dict(env),
                                stdout=out, stderr=err)


def wait_gate(proc: subprocess.Popen[bytes], *, cwd: Path) -> Exited:
    """Wait for the gate; its exit time and peak RSS come from the spawner that reaped it."""
    proc.wait()
    peak_kib, _, exited_at = (cwd / "gate.rusage").read_text(encoding="utf-8").split()
    read = lambda name: (cwd / name).read_text(encoding="utf-8", errors="replace")
    # ru_maxrss is in KiB on Linux.
    return Exited(proc.returncode, float(exited_at), int(peak_kib) / 1024, read("gate.stdout"), read("gate.stderr"))


def run_gate(args: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> tuple[Exited, float]:
    """Run the gate to completion; returns what happened and its wall time (from the fork to the exit)."""
    exited = wait_gate(start_gate(args, cwd=cwd, env=env), cwd=cwd)
    started = float((cwd / "gate.rusage").read_text(encoding="utf-8").split()[1])
    return exited, exited.exited_at - started


def median_wall(command: Sequence[str], *, repeat: int, env: Mapping[str, str] | None = None) -> float:
    """Median wall time of ``command`` (output discarded), hyperfine-style."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def render_table(rows: Sequence[Row]) -> str:
    """A Markdown table (readable in a terminal too), then each row's note as a numbered footnote."""
    header = ("Benchmark", "Goal", "Measured", "Result")
    noted = [r for r in rows if r.note]
    marks = {id(r): f" [{i}]" for i, r in enumerate(noted, 1)}
    body = [(r.benchmark, r.goal, r.measured + marks.get(id(r), ""), r.verdict) for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    table = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body)]
    notes = [f"- [{i}] {r.note}" for i, r in enumerate(noted, 1)]
    return "\n".join(table + ([""] + notes if notes else []))


def machine_line() -> str:
    import platform

    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {platform.machine()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
