"""Delivery with the state file on a full disk: every page goes once, failures back off.

The disk is a real one when the tests may mount a small tmpfs (as root); otherwise the
same tests run with the store's writes failing at the same point, as a full disk fails
them, so they never skip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import os
import random
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from alertd.errors import StoreError
from alertd.model import Delivery, OutboxEntry
from alertd.notify.delivery import Deliverer
from alertd.store.base import Commit
from alertd.store.health import ALERT, StateHealth
from alertd.store.sqlite import SqliteStore
from tests.contract.test_receivers import CASES, TIMEOUT
from tests.notify.fakes import Answer, FakeServices, alert, notification
from tests.notify.test_delivery import ScheduledClock
from tests.notify.test_delivery_store_failures import run_for

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
DISK = "512k"


class WritesFailOnDemand(SqliteStore):
    """The SQLite store, whose writes fail as a full disk's do once `full` is set."""

    full = False

    async def record(self, entry: OutboxEntry) -> None:
        if self.full:
            raise StoreError("record failed on the state store: database or disk is full")
        await super().record(entry)


@dataclasses.dataclass
class StateDisk:
    """The state directory's disk: a real tmpfs to fill, or the store's writes to fail."""

    path: Path
    mounted: bool
    store: SqliteStore | None = None

    def fill(self) -> None:
        if not self.mounted:
            assert isinstance(self.store, WritesFailOnDemand)
            self.store.full = True
            return
        fd = os.open(self.path / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for size in (1 << 16, 1 << 12, 1):
                with contextlib.suppress(OSError):
                    while os.write(fd, b"\0" * size):
                        pass
        finally:
            os.close(fd)
        with pytest.raises(OSError, match="No space left") as full:
            (self.path / "probe").write_bytes(b"\0" * 4096)
        assert full.value.errno == errno.ENOSPC

    def free(self) -> None:
        if not self.mounted:
            assert isinstance(self.store, WritesFailOnDemand)
            self.store.full = False
            return
        (self.path / "filler").unlink()

    async def open(self) -> SqliteStore:
        opener = SqliteStore if self.mounted else WritesFailOnDemand
        self.store = await opener.open(self.path / "alertd.db")
        return self.store


def _mount(path: Path) -> bool:
    """Mount a small tmpfs at `path`; False when this process may not."""
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[StateDisk]:
    path = tmp_path / "state"
    path.mkdir()
    found = StateDisk(path, _mount(path))
    try:
        yield found
    finally:
        if found.mounted:
            subprocess.run(["umount", str(path)], check=True)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as opened:
        yield opened


def queued(n: int, receiver: str) -> OutboxEntry:
    """A page for its own group, due at T0."""
    table = f"t{n}"
    page = notification(
        alert(labels=(("table", table),), fingerprint=f"fp{n}"), group_key=f"{{}}:{{table={table}}}"
    )
    page = dataclasses.replace(page, id=f"n{n}", receiver=receiver, created_at=T0)
    return OutboxEntry(page, expires_at=T0 + dt.timedelta(hours=6), next_attempt_at=T0)


@pytest.mark.parametrize("service", ["pagerduty", "slack-webhook"])
async def test_on_a_full_disk_each_page_is_delivered_exactly_once(
    disk: StateDisk, fake: FakeServices, client: httpx.AsyncClient, service: str
) -> None:
    spec = next(c for c in CASES if c.id == service)
    store = await disk.open()
    try:
        clock, health = ScheduledClock(T0), StateHealth()
        receiver = spec.build(client, fake.base_url, TIMEOUT)
        deliverer = Deliverer(store, {"ops": receiver}, clock, rng=random.Random(1), health=health)
        await store.commit(Commit(T0, "notify", outbox=tuple(queued(n, "ops") for n in range(3))))
        disk.fill()

        with capture_logs() as logs:
            await run_for(deliverer, clock, 40)

        assert len(spec.service(fake).requests) == 3  # one each, not one a second
        assert health.unwritable_since is not None
        assert health.failed_writes >= 3
        assert "database or disk is full" in str(health.last_error)
        unwritable = [e for e in logs if e["event"].startswith(ALERT)]
        assert [(e["event"], e["log_level"]) for e in unwritable] == [(f"{ALERT}.firing", "error")]

        disk.free()
        await run_for(deliverer, clock, 120)

        assert len(spec.service(fake).requests) == 3
        assert {e.status for e in await store.outbox()} == {Delivery.DELIVERED}
        assert health.writable
        assert deliverer.outcomes.unrecorded == {}
    finally:
        await store.aclose()


async def test_on_a_full_disk_a_failing_receiver_is_retried_with_backoff(
    disk: StateDisk, fake: FakeServices, client: httpx.AsyncClient
) -> None:
    spec = next(c for c in CASES if c.id == "teams")
    store = await disk.open()
    try:
        clock = ScheduledClock(T0)
        fake.teams.then(*(Answer(503) for _ in range(200)))
        deliverer = Deliverer(
            store,
            {"ops": spec.build(client, fake.base_url, TIMEOUT)},
            clock,
            rng=random.Random(1),
            health=StateHealth(),
        )
        await store.commit(Commit(T0, "notify", outbox=(queued(0, "ops"),)))
        disk.fill()

        await run_for(deliverer, clock, 120)

        # Once a second would be 120 tries; backing off, a handful.
        assert 2 <= len(fake.teams.requests) <= 8
        kept = deliverer.outcomes.unrecorded["n0"]
        assert (kept.status, kept.attempts) == (Delivery.PENDING, len(fake.teams.requests))
    finally:
        await store.aclose()
