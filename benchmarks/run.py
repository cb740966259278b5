"""Run the performance benchmarks and print benchmark · goal · measured · met/short: ``python benchmarks/run.py``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gate package

from harness import Row, machine_line, render_table

#: Name -> module; the order of issue 6, then issue 14's bytecode and issue 13's request economy.
BENCHMARKS = {
    "latency": "bench_latency",
    "requests": "bench_requests",
    "scale": "bench_scale",
    "cold-start": "bench_cold_start",
    "reports": "bench_reports",
    "shell": "bench_shell",
    "footprint": "bench_footprint",
    "bytecode": "bench_bytecode",
    "lead": "bench_lead",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/run.py", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer trials and repeats, report sizes up to 20,000 (about 2 minutes)")
    parser.add_argument("--only", metavar="NAME[,NAME...]", help=f"run only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--markdown", metavar="PATH", type=Path, help="also write the table (and details) here")
    args = parser.parse_args(argv)
    chosen = list(BENCHMARKS) if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    rows: list[Row] = []
    details: list[str] = []
    started = time.monotonic()
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: the machine is busy (load average {load_before}): timings will read high", file=sys.stderr)
    for name in chosen:
        module = importlib.import_module(BENCHMARKS[name])
        print(f"running {name} ...", file=sys.stderr, flush=True)
        begun = time.monotonic()
        result = module.run(quick=args.quick)
        rows += result.rows
        details += result.details
        print(f"  {name} took {time.monotonic() - begun:.1f} s", file=sys.stderr, flush=True)
    table = render_table(rows)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    footer = (f"Machine: {machine_line()}; load average before the run {load_before}, after {load}. "
              f"Command: python benchmarks/run.py{' --quick' if args.quick else ''}"
              f"{' --only ' + args.only if args.only else ''} ({time.monotonic() - started:.0f} s).")
    print(table)
    print()
    print(footer)
    for block in details:
        print("\n" + block)
    if args.markdown:
        args.markdown.write_text("\n\n".join([table, footer, *details]) + "\n", encoding="utf-8")
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
