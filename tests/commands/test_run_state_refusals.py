"""`alertd run` refuses a state file it cannot trust in one line naming it, exit 1, and
leaves the files as they were for the operator to recover."""

from __future__ import annotations

import functools
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import anyio
import pytest
from pydantic import SecretStr

from alertd import daemon
from alertd.clock import FakeClock
from alertd.settings import Settings
from alertd.store.base import Commit
from alertd.store.sqlite import SqliteStore
from alertd.store.sqlite_schema import MIGRATIONS
from tests.contract.store.builders import T0, at, firing, group_state, point, transition

RULES = Path(__file__).parents[2] / "rules"
# Should the daemon start after all, the test fails here rather than run forever.
DEADLINE_SECONDS = 30


def settings(state_dir: Path) -> Settings:
    # Loopback port 9 answers nothing; a refusal comes before any query.
    return Settings(
        cloudflare_api_base="http://127.0.0.1:9/client/v4",
        cloudflare_account_id="demo",
        cloudflare_api_token=SecretStr("demo"),
        state_dir=state_dir,
        query_retries=0,
    )


async def run_daemon(state_dir: Path, *, stop_at_once: bool = False) -> tuple[int, list[str]]:
    out, err = io.StringIO(), io.StringIO()
    stop = anyio.Event()
    if stop_at_once:
        stop.set()
    with anyio.fail_after(DEADLINE_SECONDS):
        code = await daemon.run(
            settings(state_dir), [RULES], clock=FakeClock(T0), out=out, err=err, stop=stop
        )
    return code, err.getvalue().splitlines()


async def a_store(db: Path) -> None:
    """A sound store of several pages: states, transitions, points and a group."""
    store = await SqliteStore.open(db)
    try:
        await store.commit(
            Commit(
                at=at(60),
                group="database",
                states=(firing(),),
                transitions=tuple(transition(at(i), reason="x" * 200) for i in range(100)),
                points=tuple(point(at(i)) for i in range(100)),
                groups=(group_state(),),
            )
        )
    finally:
        await store.aclose()


def raw(db: Path, *statements: str) -> None:
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        for statement in statements:
            conn.execute(statement)


def random_bytes(db: Path) -> None:
    db.parent.mkdir()
    db.write_bytes(os.urandom(16384))


def a_text_file(db: Path) -> None:
    db.parent.mkdir()
    db.write_text("group: database\nrules: []\n" * 200)


def truncated(db: Path) -> None:
    anyio.run(a_store, db)
    os.truncate(db, db.stat().st_size // 2)


def a_page_overwritten(db: Path) -> None:
    anyio.run(a_store, db)
    with db.open("r+b") as file:
        file.seek(4096 * 3)
        file.write(b"\xa5" * 4096)


def newer_schema(db: Path) -> None:
    anyio.run(a_store, db)
    raw(db, f"INSERT INTO schema_version VALUES ({len(MIGRATIONS) + 1})")


def a_directory(db: Path) -> None:
    db.mkdir(parents=True)


def state_dir_is_a_file(db: Path) -> None:
    db.parent.write_text("not a directory\n")


def another_programs_database(db: Path) -> None:
    db.parent.mkdir()
    raw(db, "CREATE TABLE customers (name TEXT)", "INSERT INTO customers VALUES ('ana')")


def a_row_it_cannot_read(db: Path) -> None:
    anyio.run(a_store, db)
    raw(db, "UPDATE alert_state SET status = 'exploded'")


def a_table_dropped(db: Path) -> None:
    anyio.run(a_store, db)
    raw(db, "DROP TABLE notify_groups")


def with_wal(db: Path, database: bytes | None) -> None:
    """A store whose last commit is only in its WAL, then the database file replaced."""
    anyio.run(a_store, db)
    wal = anyio.run(wal_of_a_commit, db)
    db.with_name("alertd.db-wal").write_bytes(wal)
    if database is None:
        db.unlink()
    else:
        db.write_bytes(database)


async def wal_of_a_commit(db: Path) -> bytes:
    """The WAL as one more commit leaves it, read before closing checkpoints it away."""
    store = await SqliteStore.open(db)
    try:
        await store.commit(Commit(at=at(90), group="database", states=(firing("f2"),)))
        return await anyio.Path(db.with_name("alertd.db-wal")).read_bytes()
    finally:
        await store.aclose()


def empty_beside_a_wal(db: Path) -> None:
    with_wal(db, b"")


def missing_beside_a_wal(db: Path) -> None:
    with_wal(db, None)


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "random bytes": (random_bytes, "file is not a database; restore it from a backup"),
    "a text file": (a_text_file, "file is not a database; restore it from a backup"),
    "truncated": (truncated, "restore it from a backup, or move it aside"),
    "a page overwritten": (a_page_overwritten, "restore it from a backup, or move it aside"),
    "newer schema": (
        newer_schema,
        f"written by a newer alertd (schema version {len(MIGRATIONS) + 1};",
    ),
    "a directory": (a_directory, "it is a directory, not a state file"),
    "state dir is a file": (state_dir_is_a_file, "is not a directory"),
    "another program's database": (
        another_programs_database,
        "not an alertd state file (its tables: customers)",
    ),
    "a row it cannot read": (a_row_it_cannot_read, "'exploded' is not a valid Status"),
    "a table dropped": (a_table_dropped, "no such table: notify_groups"),
    "empty beside a WAL": (empty_beside_a_wal, "it is empty but"),
    "missing beside a WAL": (missing_beside_a_wal, "it is missing but"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_state_file_is_refused_in_one_line_naming_it(tmp_path: Path, damage: str) -> None:
    make, reason = DAMAGE[damage]
    db = tmp_path / "state" / "alertd.db"
    make(db)

    code, err = anyio.run(run_daemon, db.parent)

    assert code == 1
    [line] = err
    assert str(db) in line
    assert reason in line


def test_a_wal_beside_an_empty_file_is_kept_for_the_operator(tmp_path: Path) -> None:
    db = tmp_path / "state" / "alertd.db"
    empty_beside_a_wal(db)
    wal = db.with_name("alertd.db-wal")
    held = wal.read_bytes()

    code, [line] = anyio.run(run_daemon, db.parent)

    assert code == 1
    assert line == (
        f"cannot open the state store at {db}: it is empty but {wal} holds {len(held)} bytes,"
        " which may be the store's data; restore alertd.db from a backup, or move both aside"
        " to start a new store"
    )
    assert db.read_bytes() == b""
    assert wal.read_bytes() == held


def test_a_sound_store_is_not_refused(tmp_path: Path) -> None:
    db = tmp_path / "state" / "alertd.db"
    anyio.run(a_store, db)

    assert anyio.run(functools.partial(run_daemon, db.parent, stop_at_once=True)) == (0, [])


# A process running as root reads and writes any file: without these capabilities it
# meets file permissions as any other user does.
AS_A_USER = (
    ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.getuid() == 0 else []
)


@pytest.mark.parametrize(
    ("mode_of", "reason"),
    [("file", "cannot read and write it (mode 0"), ("directory", "cannot create files in")],
)
def test_a_state_file_this_user_may_not_write_is_refused_in_one_line_by_the_process(
    tmp_path: Path, mode_of: str, reason: str
) -> None:
    db = tmp_path / "state" / "alertd.db"
    anyio.run(a_store, db)
    (db if mode_of == "file" else db.parent).chmod(0o500 if mode_of == "directory" else 0)
    env = {
        **os.environ,
        "CLOUDFLARE_API_BASE": "http://127.0.0.1:9/client/v4",
        "CLOUDFLARE_ACCOUNT_ID": "demo",
        "CLOUDFLARE_API_TOKEN": "demo",
        "ALERTD_STATE_DIR": str(db.parent),
        "ALERTD_LOG_LEVEL": "warning",
    }
    try:
        done = subprocess.run(
            [*AS_A_USER, sys.executable, "-m", "alertd.cli", "run", "--rules", str(RULES)],
            env=env,
            capture_output=True,
            text=True,
            timeout=DEADLINE_SECONDS,
        )
    finally:
        db.parent.chmod(0o755)
        db.chmod(0o644)

    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"cannot open the state store at {db}: this user (uid ")
    assert reason in line
