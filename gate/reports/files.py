"""Atomic report writes (temp file + fsync + rename) that leave files owned by the workspace owner."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: Mode for files we create; an existing target keeps its own mode.
NEW_FILE_MODE = 0o644
#: Characters encoded per write (code points, so a slice never splits a character).
ENCODE_CHUNK = 1 << 20
#: How long a named pipe may go without a reader before the write gives up (a gate must never hang on it).
READER_WAIT_S = 5.0


def write_atomic(
    path: Path, data: str | bytes, *, owner_of: Path | None = None, reader_wait_s: float = READER_WAIT_S
) -> Path:
    """Replace ``path`` with ``data`` so readers see the old file or the new one, never a part.

    Parent directories are created. With ``owner_of`` and root privileges, the file and the directories
    created for it are given that path's owner (the platform names it: ``Platform.workspace_owner``).
    A path that is not a regular file is never renamed over: a character device (``/dev/null``,
    ``/dev/stdout``) or a named pipe is written into, a symlink's target is replaced (the link stays), and a
    directory is refused (``IsADirectoryError``). ``reader_wait_s``: how long to wait for a pipe's reader.
    Raises ``OSError`` (the caller names the path in its one-line message).
    """
    kind = _kind(path)
    if kind == "stream":
        with _stream_writer(path, reader_wait_s=reader_wait_s) as stream:
            _write_data(stream, data)
        return path
    target = Path(os.path.realpath(path)) if kind == "link" else path
    with atomic_writer(target, owner_of=owner_of) as handle:
        _write_data(handle, data)
    return path


def _write_data(handle: BinaryIO, data: str | bytes) -> None:
    if isinstance(data, bytes):
        handle.write(data)
    else:
        # Encoded a slice at a time: a whole-report bytes copy beside the text would add its full size
        # (7 MB for 20,000 testcases) to the gate's peak memory.
        handle.writelines(data[start : start + ENCODE_CHUNK].encode("utf-8") for start in range(0, len(data), ENCODE_CHUNK))


def _kind(path: Path) -> str:
    """``file`` (absent or regular: replace), ``link`` (replace what it points to) or ``stream`` (write into).

    Raises ``IsADirectoryError`` for a directory and ``OSError`` for block devices and sockets.
    """
    try:
        info = path.stat()  # follows links: what a write would reach
    except FileNotFoundError:
        return "link" if path.is_symlink() else "file"  # a dangling link: create what it points to
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or _through_proc(path):
        # /dev/null discards, /dev/stdout prints, a pipe feeds its reader: renaming over them would replace the
        # machine's device (as root) or fail (as a user). /dev/stdout redirected to a file resolves to that
        # file through /proc: append to it like the shell would, do not swap the log file underneath it.
        return "stream"
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file, character device or named pipe", str(path))
    return "link" if path.is_symlink() else "file"


def _through_proc(path: Path) -> bool:
    resolved = os.path.realpath(path)
    return resolved.startswith("/proc/") or str(path).startswith(("/dev/fd/", "/dev/std"))


@contextlib.contextmanager
def _stream_writer(path: Path, *, reader_wait_s: float) -> Iterator[BinaryIO]:
    """Open a device or pipe for writing, never creating, truncating or renaming anything."""
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0)
    waited_until = time.monotonic() + reader_wait_s
    while True:
        try:
            # O_NONBLOCK: opening a pipe nobody reads fails at once (ENXIO) instead of blocking the gate for ever.
            fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() >= waited_until:
                raise OSError(errno.ENXIO, f"nothing is reading the named pipe (waited {reader_wait_s:g} s)") from None
            time.sleep(0.05)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)  # the reader is there: let writes wait for it to drain the pipe
    with os.fdopen(fd, "wb") as handle:
        yield handle


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
