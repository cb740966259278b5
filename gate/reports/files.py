"""Atomic report writes (temp file + fsync + rename) that leave files owned by the workspace owner."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: Mode for files we create; an existing target keeps its own mode.
NEW_FILE_MODE = 0o644
#: Characters encoded per write (code points, so a slice never splits a character).
ENCODE_CHUNK = 1 << 20


def write_atomic(path: Path, data: str | bytes, *, owner_of: Path | None = None) -> Path:
    """Replace ``path`` with ``data`` so readers see the old file or the new one, never a part.

    Parent directories are created. With ``owner_of`` and root privileges, the file and the directories
    created for it are given that path's owner (the platform names it: ``Platform.workspace_owner``).
    Raises ``OSError`` (the caller names the path in its one-line message).
    """
    with atomic_writer(path, owner_of=owner_of) as handle:
        if isinstance(data, bytes):
            handle.write(data)
        else:
            # Encoded a slice at a time: a whole-report bytes copy beside the text would add its full size
            # (7 MB for 20,000 testcases) to the gate's peak memory.
            for start in range(0, len(data), ENCODE_CHUNK):
                handle.write(data[start : start + ENCODE_CHUNK].encode("utf-8"))
    return path


@contextlib.contextmanager
def atomic_writer(path: Path, *, owner_of: Path | None = None) -> Iterator[BinaryIO]:
    """Yield a binary handle to a temp file beside ``path``; it becomes ``path`` only if the block succeeds."""
    created = _make_parents(path.parent)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _mode_for(path))
        owner = _owner(owner_of)
        if owner is not None:
            # Before the rename, so the target never appears with root as its owner.
            for item in (temp, *created):
                os.chown(item, *owner)
        os.replace(temp, path)
    except BaseException:
        # Also on KeyboardInterrupt/SystemExit: a half-written temp file must not linger.
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(path.parent)


def append_text(path: Path, text: str) -> None:
    """Append ``text`` (ending it with a newline) to ``path``, e.g. ``$GITHUB_STEP_SUMMARY``, never replacing it."""
    if text and not text.endswith("\n"):
        text += "\n"
    # One write of the whole text: other steps' content stays and ours is not interleaved with itself.
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; return those created, outermost first."""
    missing: list[Path] = []
    probe = directory
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    directory.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return NEW_FILE_MODE


def _owner(owner_of: Path | None) -> tuple[int, int] | None:
    """The (uid, gid) to give new files, or None when not asked or not root (only root can chown)."""
    if owner_of is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    info = owner_of.stat()
    return info.st_uid, info.st_gid


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; directories cannot be opened for fsync on every platform."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
