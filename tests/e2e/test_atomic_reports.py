"""A gate killed while it writes big reports leaves each report either as it was before or complete, never cut."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hardening import Register
from tests.support.paths import REPO
from tests.support.render import assert_valid_junit

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

ROOT = REPO
#: In the order the gate writes them.
REPORTS = ("junit.xml", "result.json", "summary.md")
ARGS = ["--junit", "junit.xml", "--junit-layout", "step", "--json", "result.json", "--summary", "summary.md"]
#: A guard against a child that hangs, not a speed check.
GUARD_S = 60.0
FSYNC_MARK = "@@fsync "
# The gate on a disk that stalls at the n-th file fsync: it announces each fsync on stderr and waits at the n-th,
# so the test kills the process at an exact point - a report's bytes all written to its temp file, the rename not
# yet done. That is the moment a writer that is not atomic would be caught with a cut or half-replaced report.
SLOW_DISK = f"""
import os, runpy, stat, sys, time
stall_at = int(sys.argv[1])
count = 0
real_fsync = os.fsync
def slow_fsync(fd):
    global count
    if stat.S_ISREG(os.fstat(fd).st_mode):
        count += 1
        sys.stderr.write({FSYNC_MARK!r} + str(count) + "\\n")
        sys.stderr.flush()
        if count == stall_at:
            time.sleep({GUARD_S})
    real_fsync(fd)
os.fsync = slow_fsync
sys.argv = ["docketqa-gate", *sys.argv[2:]]
runpy.run_module("gate", run_name="__main__")
"""


def saved_run(run_id: int, *, steps: int, result_bytes: int) -> dict[str, object]:
    """A failed run's saved GET /test_run body: ``steps`` steps, the first failing with a result this large."""
    big = ("The agent scrolled and found nothing. <b>|</b>\n" * (result_bytes // 48 + 1))[:result_bytes]
    results = [{"step_number": 1, "task": "Read the terms", "is_successful": False, "result": big, "duration": 9}]
    results += [
        {"step_number": n, "task": f"Check item {n}", "is_successful": True, "result": f"Item {n} ok", "duration": 1}
        for n in range(2, steps + 1)
    ]
    return {"test_run": {"id": run_id, "status": "failed", "test_blueprint_id": 401, "results": results,
                         "blueprint_metadata": {"title": f"Run {run_id}"}}}  # fmt: skip


def start(saved: Path, *, cwd: Path, stall_at: int = 0) -> subprocess.Popen[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8"}
    program = ["-c", SLOW_DISK, str(stall_at)] if stall_at else ["-m", "gate"]
    return subprocess.Popen([sys.executable, *program, "report", str(saved), *ARGS], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def reports_of(saved: Path, *, cwd: Path) -> dict[str, bytes]:
    """Run the gate to completion and return the reports it wrote."""
    child = start(saved, cwd=cwd)
    out, err = child.communicate(timeout=GUARD_S)
    assert child.returncode == 1, out + err
    return {name: (cwd / name).read_bytes() for name in REPORTS}


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """(the huge saved run, the reports of a small earlier run, the complete reports of the huge run)."""
    root = tmp_path_factory.mktemp("atomic")
    small, huge = root / "small.json", root / "huge.json"
    small.write_text(json.dumps(saved_run(1, steps=3, result_bytes=100)), encoding="utf-8")
    huge.write_text(json.dumps(saved_run(2, steps=5000, result_bytes=1_000_000)), encoding="utf-8")
    (root / "old").mkdir()
    (root / "new").mkdir()
    return huge, reports_of(small, cwd=root / "old"), reports_of(huge, cwd=root / "new")


@pytest.mark.parametrize("nth", [1, 2, 3], ids=["during-junit", "during-json", "during-summary"])
def test_a_killed_gate_never_leaves_a_partial_report(
    nth: int, versions: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path, leak_guard: Register
) -> None:
    """SIGKILL while the n-th big report is on its way to disk: the ones before are complete, the rest unchanged."""
    huge, old, new = versions
    for name in REPORTS:
        (tmp_path / name).write_bytes(old[name])
    child = start(huge, cwd=tmp_path, stall_at=nth)
    assert child.stderr is not None
    try:
        line = ""
        while line.strip() != f"{FSYNC_MARK}{nth}":
            line = child.stderr.readline()
            assert line, "the gate ended before writing that report"
    finally:
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=GUARD_S)
    leak_guard(out + err)

    assert child.returncode == -signal.SIGKILL
    for index, name in enumerate(REPORTS, start=1):
        expected = new if index < nth else old
        assert (tmp_path / name).read_bytes() == expected[name], f"{name} is neither complete nor untouched"
    assert_valid_junit((tmp_path / "junit.xml").read_text(encoding="utf-8"))
    json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    # All SIGKILL can leave is one hidden temp file beside the report being written.
    leftovers = [name for name in os.listdir(tmp_path) if name not in REPORTS]
    assert len(leftovers) == 1 and leftovers[0].startswith(f".{REPORTS[nth - 1]}.") and leftovers[0].endswith(".tmp")
