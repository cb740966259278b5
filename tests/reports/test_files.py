"""Atomic report writes: whole files or none, parents created, ownership handed to the workspace owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gate.reports.files import append_text, atomic_writer, write_atomic
from tests.support.paths import REPO

POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="uses POSIX file-size limits and signals")

# A child process that starts replacing ``target`` with 4 MB while the kernel lets it write only 64 KB:
# the write fails (EFBIG) or, with SIGXFSZ at its default action, the kernel kills the process mid-write.
_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from gate.reports.files import write_atomic
    # CPython ignores SIGXFSZ at startup; "kill" restores the kernel's default (terminate the process).
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL if sys.argv[2] == "kill" else signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
    try:
        write_atomic(Path(sys.argv[1]), "x" * 4_000_000)
    except OSError as exc:
        print("OSError", exc.errno)
        sys.exit(3)
    """
)


def _run_child(target: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(target), mode],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_text_and_bytes_creating_missing_parent_directories(tmp_path: Path) -> None:
    """A report path in directories that do not exist yet is written in full, text as UTF-8."""
    text_target = tmp_path / "reports" / "deep" / "summary.md"
    assert write_atomic(text_target, "✅ passed\n") == text_target
    assert text_target.read_text(encoding="utf-8") == "✅ passed\n"
    binary_target = tmp_path / "reports" / "shot.png"
    write_atomic(binary_target, b"\x89PNG\x00")
    assert binary_target.read_bytes() == b"\x89PNG\x00"
    assert _leftovers(text_target.parent) == [] and _leftovers(binary_target.parent) == []


def test_replaces_a_longer_old_file_completely(tmp_path: Path) -> None:
    """Rewriting a report with shorter content leaves no tail of the old content."""
    target = tmp_path / "junit.xml"
    target.write_text("old content that is much longer than the new one\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"


def test_new_files_are_readable_by_later_steps_and_existing_modes_are_kept(tmp_path: Path) -> None:
    """New reports get mode 644 (not the temp file's 600); an existing file keeps its mode."""
    fresh = write_atomic(tmp_path / "fresh.json", "{}")
    assert fresh.stat().st_mode & 0o777 == 0o644
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    kept.chmod(0o664)
    write_atomic(kept, "[]")
    assert kept.stat().st_mode & 0o777 == 0o664


def test_an_exception_raised_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    """If writing fails halfway, the target still holds its previous complete content."""
    target = tmp_path / "result.json"
    target.write_text('{"complete": true}')
    with pytest.raises(RuntimeError, match="disk went away"), atomic_writer(target) as handle:
        handle.write(b'{"complete": fal')
        raise RuntimeError("disk went away")
    assert target.read_text() == '{"complete": true}'
    assert _leftovers(tmp_path) == []


@POSIX_ONLY
def test_a_write_refused_by_the_kernel_raises_and_leaves_the_old_file_intact(tmp_path: Path) -> None:
    """A real short write (file size limit exceeded) raises OSError and the target keeps its old content."""
    target = tmp_path / "junit.xml"
    target.write_text("<testsuites/>")
    child = _run_child(target, "raise")
    assert child.returncode == 3, child.stderr
    assert child.stdout.startswith("OSError")
    assert target.read_text() == "<testsuites/>"
    assert _leftovers(tmp_path) == []


@POSIX_ONLY
def test_a_process_killed_mid_write_never_leaves_a_partial_target(tmp_path: Path) -> None:
    """When the kernel kills the writer halfway, the target is the old file (or absent), never a fragment."""
    existing = tmp_path / "junit.xml"
    existing.write_text("<testsuites/>")
    child = _run_child(existing, "kill")
    assert child.returncode == -signal.SIGXFSZ, child.stderr
    assert existing.read_text() == "<testsuites/>"
    # Proof the kill came mid-write: the dead writer's temp file holds exactly the 64 KB it got out.
    assert [(tmp_path / name).stat().st_size for name in _leftovers(tmp_path)] == [65536]

    absent = tmp_path / "new" / "summary.md"
    child = _run_child(absent, "kill")
    assert child.returncode == -signal.SIGXFSZ, child.stderr
    assert not absent.exists()


def test_files_keep_the_current_owner_when_it_already_matches(tmp_path: Path) -> None:
    """With ``owner_of`` naming a directory we own, the report ends up with that directory's owner."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    target = write_atomic(workspace / "out" / "junit.xml", "<x/>", owner_of=workspace)
    info, expected = target.stat(), workspace.stat()
    assert (info.st_uid, info.st_gid) == (expected.st_uid, expected.st_gid)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give files away")
def test_as_root_files_and_created_directories_get_the_workspace_owner(tmp_path: Path) -> None:
    """Running as root (GitHub's container), reports and the directories made for them belong to the workspace owner."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    os.chown(workspace, 4321, 8765)
    target = write_atomic(workspace / "reports" / "deep" / "junit.xml", "<x/>", owner_of=workspace)
    for item in (target, workspace / "reports" / "deep", workspace / "reports"):
        info = item.stat()
        assert (info.st_uid, info.st_gid) == (4321, 8765), item
    # Not asked: root keeps the file (the gate only hands over what lands in the workspace).
    plain = write_atomic(tmp_path / "elsewhere.xml", "<x/>")
    assert plain.stat().st_uid == 0


def test_append_text_adds_to_existing_content_instead_of_replacing_it(tmp_path: Path) -> None:
    """The step summary written by earlier steps stays; ours follows it, newline-terminated."""
    summary = tmp_path / "step_summary.md"
    summary.write_text("# Earlier step\n")
    append_text(summary, "## DocketQA")
    append_text(summary, "second\n")
    assert summary.read_text() == "# Earlier step\n## DocketQA\nsecond\n"


def test_append_text_creates_a_missing_file(tmp_path: Path) -> None:
    """Appending to a file that does not exist yet creates it."""
    target = tmp_path / "output"
    append_text(target, "a<<b\n1\nb")
    assert target.read_text() == "a<<b\n1\nb\n"
