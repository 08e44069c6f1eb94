"""The state file on disk: what is refused before SQLite opens it, and how an open store's
database is put back at its path when the file (or its directory) goes away under it."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import structlog

from alertd.errors import StoreInUseError
from alertd.store.state_lock import StateLock

log = structlog.get_logger(__name__)

FileId = tuple[int, int]

RECOVER = "restore it from a backup, or move it aside to start a new store"
# The files SQLite keeps beside a database in WAL mode, and beside one being rewritten.
SIDE_FILES = ("-wal", "-shm", "-journal")


def file_id(path: Path) -> FileId | None:
    """The device and inode `path` names now, or None when it names nothing reachable."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def refusal(path: Path) -> str | None:
    """What is wrong with `path` as a state file before SQLite touches it, or None.

    SQLite itself treats an empty (or missing) database as a new one and deletes a WAL
    beside it: the pages a crash left only in that WAL would be lost without a word.
    """
    wal = path.with_name(path.name + "-wal")
    if path.parent.exists() and not path.parent.is_dir():
        return f"{path.parent} is not a directory"
    if path.is_dir():
        return "it is a directory, not a state file; move it aside"
    if path.exists() and not path.is_file():
        return "it is not a regular file; move it aside"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        return (
            f"this user (uid {os.getuid()}) cannot read and write it"
            f" (mode {mode:o}, owner uid {os.stat(path).st_uid})"
        )
    if path.parent.exists() and not os.access(path.parent, os.W_OK | os.X_OK):
        return f"this user (uid {os.getuid()}) cannot create files in {path.parent}"
    held = wal.stat().st_size if wal.is_file() else 0
    if held and (not path.exists() or path.stat().st_size == 0):
        state = "missing" if not path.exists() else "empty"
        return (
            f"it is {state} but {wal} holds {held} bytes, which may be the store's data;"
            f" restore {path.name} from a backup, or move both aside to start a new store"
        )
    return None


class KeptFile:
    """Keeps an open database at its path, and its directory locked, for the store's life.

    A deleted state directory goes unnoticed by SQLite, which writes on to the unlinked
    file, lost at the next start. `check`, called before every use of the connection
    (three `stat` calls), notices that the path names another file or none and writes the
    open database back to it.
    """

    def __init__(
        self,
        path: Path,
        state_lock: StateLock,
        reopen: Callable[[Path], sqlite3.Connection],
    ) -> None:
        self._path = path
        self._lock = state_lock
        self._reopen = reopen
        self._held = file_id(path)
        self._noticed = False
        self._reported: str | None = None
        # Written back, but its connection closed and the file not yet opened again.
        self._closed = False

    def check(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        """The connection to use: `conn`, or a new one on the file written back at the path.

        Raises `StoreInUseError` when another daemon took the directory meanwhile: every
        call then fails, rather than two daemons paging from one state.
        """
        found = file_id(self._path)
        if found == self._held and self._lock.is_current():
            return self._opened() if self._closed else conn
        if not self._noticed:
            log.error(
                "store.file_lost",
                path=str(self._path),
                found="nothing" if found is None else "another file",
                lock_file="kept" if self._lock.is_current() else "lost",
            )
            self._noticed = True
        try:
            if not self._lock.is_current():
                self._path.parent.mkdir(parents=True, exist_ok=True)
                self._lock = self._lock.renewed()
            if found == self._held:
                return self._restored(conn)
            if found is not None:
                aside = set_aside(self._path)
                log.error("store.file_set_aside", path=str(self._path), to=str(aside))
            write_back(conn, self._path)
        except StoreInUseError:
            raise
        except (OSError, sqlite3.Error) as exc:
            # The open file still takes every write; the next call tries again.
            if str(exc) != self._reported:
                log.error("store.restore_failed", path=str(self._path), error=str(exc))
                self._reported = str(exc)
            return conn
        self._held = file_id(self._path)
        self._closed = True
        return self._opened()

    def _opened(self) -> sqlite3.Connection:
        """The file written back, opened; raises as opening does, and the next call tries
        again, rather than go on with the connection the write-back closed."""
        conn = self._reopen(self._path)
        self._closed = False
        return self._restored(conn)

    def _restored(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        self._noticed, self._reported = False, None
        log.warning("store.file_restored", path=str(self._path), lock_file=str(self._lock.path))
        return conn

    def release(self) -> None:
        self._lock.release()


def write_back(conn: sqlite3.Connection, path: Path) -> None:
    """Copy the database `conn` has open to `path`, then close `conn`.

    `conn` still reads its file when that was deleted (open files outlive their names),
    so the copy holds everything. The copy is made beside `path` and renamed onto it only
    after `conn` is closed: closing deletes the WAL and shared-memory files by name,
    which by then must not be the new file's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".restoring")
    _remove(temporary)
    copy = sqlite3.connect(temporary, isolation_level=None)
    try:
        conn.backup(copy)
    finally:
        copy.close()
    conn.close()
    os.replace(temporary, path)


def set_aside(path: Path) -> Path:
    """Rename the file at `path` to an unused `<name>.replaced[.N]`; returns the new path."""
    for n in range(1000):
        aside = path.with_name(f"{path.name}.replaced" + (f".{n}" if n else ""))
        if not aside.exists():
            os.replace(path, aside)
            return aside
    raise FileExistsError(f"too many files set aside beside {path}")


def _remove(database: Path) -> None:
    for name in (database, *(database.with_name(database.name + s) for s in SIDE_FILES)):
        name.unlink(missing_ok=True)
