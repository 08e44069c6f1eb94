"""One daemon per state directory: an OS lock on `alertd.lock`, holding the holder's pid.

`flock` locks belong to the open file, so the kernel releases one when its process ends,
however it ends: a daemon killed with SIGKILL leaves the file behind but never a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from alertd.errors import StoreInUseError

LOCK_NAME = "alertd.lock"


class StateLock:
    """The exclusive lock on one state directory, held until `release`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, directory: Path) -> StateLock:
        """Lock `directory`, writing this process's pid into its lock file.

        Raises `StoreInUseError` naming the holder's pid when another holds it (another
        process, or another open of this one), and `OSError` when the file cannot be made.
        """
        path = directory / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise StoreInUseError(path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def is_current(self) -> bool:
        """Whether the lock file's path still names the file this lock holds."""
        if self._fd is None:
            return False
        held = os.fstat(self._fd)
        try:
            found = os.stat(self.path)
        except OSError:
            return False
        return (found.st_dev, found.st_ino) == (held.st_dev, held.st_ino)

    def renewed(self) -> StateLock:
        """A lock on the file now at this lock's path (made again if it was deleted), and
        this one released; raises as `acquire` does, keeping this one, when it cannot."""
        fresh = StateLock.acquire(self.path.parent)
        self.release()
        return fresh

    def release(self) -> None:
        """Unlock; calling it twice is harmless. The file stays, so a later holder reuses it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> int | None:
    """The pid a holder wrote, or None while it has not written it yet."""
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return int(text) if text.isdigit() else None
