"""`alertd run` on PostgreSQL (ALERTD_STATE_URL) as a process: pages once, resumes after a
restart without paging again, and rides out the database going away and coming back
(replicas sharing one database: tests/ha)."""

from __future__ import annotations

import datetime as dt
import json
import queue
import re
import signal
import threading
from pathlib import Path
from typing import IO

import httpx
import pytest

from alertd.clock import SystemClock
from alertd.emulator.server import RunningEmulator
from tests import pg
from tests.commands.live_daemon import rules_folder, start_daemon, write_recent_queries

DEADLINE_SECONDS = 60
# One group per table, sent as soon as it fires: a page that is late or repeated shows.
NOTIFY = """\
receivers:
  - name: console
    console: {format: text}
route:
  receiver: console
  group_by: [table]
  group_wait: 0s
  group_interval: 1s
"""


@pytest.fixture
def rules(tmp_path: Path, ae: RunningEmulator) -> Path:
    write_recent_queries(ae)
    return rules_folder(tmp_path / "rules", notify=NOTIFY)


class Daemon:
    """An `alertd run` process on `url`, its output read on threads. Every notification
    goes to the console receiver, through the outbox: its stdout holds the notifications
    sent, and nothing else."""

    def __init__(self, tmp_path: Path, ae: RunningEmulator, rules: Path, url: str) -> None:
        self.process = start_daemon(tmp_path, ae, rules, env={"ALERTD_STATE_URL": url})
        self.pages: queue.Queue[str] = queue.Queue()
        self.logs: queue.Queue[dict[str, object]] = queue.Queue()
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._out, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._err, args=(self.process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _out(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self.pages.put(line)

    def _err(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self.err.append(line)
            if line.startswith("{"):
                self.logs.put(json.loads(line))

    def next_page(self) -> str:
        """The next notification sent: its header line and one line per alert."""
        header = self.pages.get(timeout=DEADLINE_SECONDS)
        found = re.match(r"\[(FIRING|RESOLVED):(\d+)\] notification to console", header)
        assert found, header
        alerts = [self.pages.get(timeout=DEADLINE_SECONDS) for _ in range(int(found[2]))]
        return "".join([header, *alerts])

    def wait_for(self, event: str) -> dict[str, object]:
        """The next log line of `event`, waited for with a deadline."""
        while True:
            found = self.logs.get(timeout=DEADLINE_SECONDS)
            if found.get("event") == event:
                return found

    def end(self, how: signal.Signals | None = signal.SIGTERM) -> tuple[int, str]:
        if how is not None and self.process.poll() is None:
            self.process.send_signal(how)
        try:
            code = self.process.wait(timeout=DEADLINE_SECONDS)
        finally:
            self.process.kill()  # only if it did not end: a failed test leaves no daemon
        for reader in self._readers:
            reader.join(timeout=DEADLINE_SECONDS)
        return code, "".join(self.err)


def test_run_on_postgres_pages_once_and_resumes_after_a_restart(
    tmp_path: Path, ae: RunningEmulator, rules: Path, pg_url: str
) -> None:
    first = Daemon(tmp_path, ae, rules, pg_url)
    try:
        page = first.next_page()
        assert page.startswith("[FIRING:1]")
        assert 'QueriesSeen {table="users"}' in page
    finally:
        code, err = first.end()
    assert code == 0, err
    # The state is in the database: no file, and no lock on the state directory.
    assert not (tmp_path / "state" / "alertd.db").exists()

    second = Daemon(tmp_path, ae, rules, pg_url)
    try:
        for _ in range(3):
            second.wait_for("tick.done")
    finally:
        code, err = second.end()
    assert code == 0, err
    assert second.pages.empty(), "the restarted daemon paged again"


def test_the_daemon_pauses_while_the_database_is_away_and_resumes_without_repeating(
    tmp_path: Path, ae: RunningEmulator, rules: Path, pg_url: str, pg_database: str
) -> None:
    daemon = Daemon(tmp_path, ae, rules, pg_url)
    try:
        assert 'QueriesSeen {table="users"}' in daemon.next_page()
        url = str(daemon.wait_for("http.started")["url"]).rstrip("/")

        # The database goes away: every connection dropped, no new one accepted.
        pg.allow_connections(pg_database, False)
        try:
            assert pg.terminate_backends(pg_database) >= 1
            # A new alert comes up while no tick can be committed.
            write_queries(ae, "pitches")
            unwritable = daemon.wait_for("AlertdStateUnwritable.firing")
            assert pg_database in str(unwritable["error"])
            ready = httpx.get(f"{url}/readyz", timeout=30)
            assert ready.status_code == 503
            assert any("state store" in p for p in ready.json()["problems"])
            # Nothing moves without a store: the new alert is not paged yet.
            assert daemon.pages.empty()
        finally:
            pg.allow_connections(pg_database, True)

        daemon.wait_for("AlertdStateUnwritable.resolved")
        # The new alert pages once the ticks commit again; the old one never repeats.
        page = daemon.next_page()
        assert page.startswith("[FIRING:")
        assert 'firing   critical QueriesSeen {table="pitches"}' in page
        for _ in range(3):
            daemon.wait_for("tick.done")
        assert httpx.get(f"{url}/readyz", timeout=30).status_code == 200
        assert daemon.pages.empty()
    finally:
        code, err = daemon.end()
    assert code == 0, err


def write_queries(ae: RunningEmulator, table: str) -> None:
    """A minute of queries on `table`, ending five seconds ago, beside what is there."""
    now = SystemClock().now()
    ae.write(
        "pitchey_database_metrics",
        [
            {
                "timestamp": int((now - dt.timedelta(seconds=s)).timestamp() * 1000),
                "indexes": [table],
                "blobs": ["SELECT", table, "success", "", "/api", "u"],
                "doubles": [10.0, 1.0, 0.0],
            }
            for s in range(5, 65)
        ],
    )
