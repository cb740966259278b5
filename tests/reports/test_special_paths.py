"""Report paths that are not regular files: devices and pipes are written into, links followed, folders refused."""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.reports.files import write_atomic
from tests.support.cli import CliResult
from tests.support.paths import FIXTURES

POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and setuid are POSIX")
ROOT_ONLY = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
#: A user that is not root and owns nothing in the test's directories (GitHub's runner user on its image).
OTHER_UID, OTHER_GID = 1001, 118


def _read_fifo(fifo: Path, into: list[bytes]) -> threading.Thread:
    def reader() -> None:
        with open(fifo, "rb") as handle:
            into.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


@POSIX_ONLY
def test_a_named_pipe_is_written_into_for_its_reader_and_stays_a_pipe(tmp_path: Path) -> None:
    """A FIFO as report path hands the report to whoever reads it; the FIFO is not replaced by a file."""
    fifo = tmp_path / "junit.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = _read_fifo(fifo, received)
    write_atomic(fifo, "<testsuites/>\n")
    reader.join(timeout=10)
    assert received == [b"<testsuites/>\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.pipe"]  # no temp file left beside it


@POSIX_ONLY
def test_a_named_pipe_nobody_reads_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """With no reader the write fails with a reason instead of blocking the gate forever."""
    fifo = tmp_path / "junit.pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="nothing is reading"):
        write_atomic(fifo, "<x/>", reader_wait_s=0.2)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_symlink_is_followed_and_its_target_replaced_with_the_link_kept(tmp_path: Path) -> None:
    """A linked report path updates the file the link points to; the link itself stays a link."""
    real_dir = tmp_path / "shared"
    real_dir.mkdir()
    target = real_dir / "junit.xml"
    target.write_text("old")
    link = tmp_path / "junit.xml"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    """A link to a report that does not exist yet gets the report at the place it points to."""
    link = tmp_path / "junit.xml"
    link.symlink_to("reports/junit-real.xml")
    write_atomic(link, "new")
    assert link.is_symlink()
    assert (tmp_path / "reports" / "junit-real.xml").read_text() == "new"


@ROOT_ONLY
def test_a_character_device_is_written_into_not_replaced(tmp_path: Path) -> None:
    """A null device (made with mknod so the machine's /dev/null is never at risk) discards the report and stays."""
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    write_atomic(device, "<testsuites/>\n")
    info = device.lstat()
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_directory_is_refused_with_a_clear_error(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """``--junit some-folder`` is exit 2 naming the folder and asking for a file path; the folder is untouched."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    result = cli(["report", str(FIXTURES / "passing.json"), "--junit", "out", "--json", "result.json"], cwd=tmp_path)
    assert result.code == 2, result.err
    assert "out is a directory: give a file path for the junit report, such as out/docketqa-junit.xml" in result.err
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"
    assert (tmp_path / "result.json").exists()  # the other reports are still written


@ROOT_ONLY
def test_as_root_junit_dev_null_leaves_the_device_alone(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """``--junit`` on a character device as root (the Docker action) gives the verdict and keeps the device."""
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    result = cli(["report", str(FIXTURES / "passing.json"), "--junit", str(device)], cwd=tmp_path)
    assert result.code == 0, result.err
    assert stat.S_ISCHR(device.lstat().st_mode)


def _exit_code_as_a_user(args: list[str], *, warm_up: list[str], cwd: Path) -> tuple[int, str]:
    """``gate.cli.main(args)``'s exit code and stderr, run as OTHER_UID when we are root (the interpreter lives
    where that user cannot read it, so a forked child drops privileges after ``warm_up`` imported the gate as
    root; ``warm_up`` must never name a device: as root an unfixed gate would replace it)."""
    from gate.cli import main

    def run(argv: list[str]) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        return main(argv, {}, stdout=out, stderr=err, cwd=cwd), err.getvalue()

    if os.geteuid() != 0:
        return run(args)
    run(warm_up)  # imports every module the command needs while we may still read them
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe and never returns into pytest
        try:
            os.setgroups([])
            os.setgid(OTHER_GID)
            os.setuid(OTHER_UID)
            code, err = run(args)
            os.write(write_end, json.dumps([code, err]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        answer = reader.read()
    os.waitpid(pid, 0)
    code, err = json.loads(answer)
    return code, err


@POSIX_ONLY
def test_as_a_normal_user_junit_dev_null_keeps_the_verdict() -> None:
    """A user who may not create files in /dev still gets the verdict's exit code, not "Permission denied"."""
    # Not tmp_path: pytest's base directory is private to root, and the gate must run as the other user.
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        os.chmod(root, 0o755)
        saved = root / "failed.json"
        saved.write_text((FIXTURES / "passing.json").read_text().replace('"passed"', '"failed"', 1))
        work = root / "work"
        work.mkdir()
        if os.geteuid() == 0:
            os.chown(work, OTHER_UID, OTHER_GID)
        warm_up = ["report", str(saved), "--junit", str(root / "warm-up.xml")]
        code, err = _exit_code_as_a_user(["report", str(saved), "--junit", "/dev/null"], warm_up=warm_up, cwd=work)
    assert code == 1, err
    assert "Permission denied" not in err
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_no_junit_turns_the_junit_report_off(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """`--no-junit` writes no JUnit file (what people reach for /dev/null to get); the verdict is unchanged."""
    config = tmp_path / ".docketqa.yml"
    config.write_text("reports: {junit: from-config.xml}\n")
    result = cli(["report", str(FIXTURES / "passing.json"), "--no-junit", "--json", "r.json"], cwd=tmp_path)
    assert result.code == 0, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".docketqa.yml", "r.json"]
    reports_line = next(line for line in result.out.splitlines() if line.startswith("Reports:"))
    assert reports_line.startswith("Reports: json ") and ", junit " not in reports_line
