"""Cold start: ``--version`` and ``--help`` wall time as a ratio to ``python -c "import requests"``."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from harness import Result, Row, gate_command, gate_env

HEAVY = ("requests", "yaml", "junit_xml")
PROBE = (
    "import sys\nfrom gate.cli import main\n"
    "main([sys.argv[1]], {}, stdout=open('/dev/null', 'w'))\n"
    f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
)


def heavy_imports(flag: str) -> str:
    """The heavy modules ``flag`` imports ("" if none), asked of a fresh interpreter."""
    probe = subprocess.run([sys.executable, "-c", PROBE, flag], capture_output=True, text=True, env=gate_env(),
                           check=True)
    return probe.stdout.strip()


def interleaved_medians(commands: dict[str, list[str]], *, repeat: int) -> dict[str, float]:
    """Median wall time of each command, run in turn so a busy moment of the machine hits them all alike."""
    env = gate_env()
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def run(*, quick: bool) -> Result:
    gate = gate_command()
    commands = {
        "--version": [*gate, "--version"],
        "--help": [*gate, "--help"],
        "import requests": [sys.executable, "-c", "import requests"],
        "bare interpreter": [sys.executable, "-c", "pass"],
    }
    medians = interleaved_medians(commands, repeat=10 if quick else 40)
    baseline = medians["import requests"]
    shown = "python -m gate" if len(gate) > 1 else "docketqa-gate"
    rows = []
    for flag in ("--version", "--help"):
        heavy = heavy_imports(flag)
        ratio = medians[flag] / baseline
        imported = heavy or "none of " + "/".join(HEAVY)
        note = f"{medians[flag] * 1000:.0f} ms vs {baseline * 1000:.0f} ms; imports {imported}"
        rows.append(Row(f"4. Cold start `{shown} {flag}`", "<= 0.80 x import requests", f"{ratio:.2f} x",
                        ratio <= 0.8 and not heavy, note))
    bare = medians["bare interpreter"]
    rows.append(Row("4. Bare interpreter start (this machine)", "reference", f"{bare * 1000:.0f} ms",
                    None, "python -c pass: the floor under both"))
    return Result(tuple(rows))
