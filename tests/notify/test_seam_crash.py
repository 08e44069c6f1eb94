"""The evaluator and the notifier meet in the store: the notifier works out what to send
from the alert states and groups stored there. A process that dies after a tick's commit
and before the notifier's leaves nothing lost and nothing doubled: the restarted notifier
makes the same outbox an uninterrupted run makes."""

from __future__ import annotations

import datetime as dt
import signal
import sys
from pathlib import Path

import anyio
import pytest

from alertd.clock import FakeClock
from alertd.engine.evaluator import Evaluator
from alertd.model import Delivery, fingerprint
from alertd.notify.build import notify_config
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.service import NotificationService
from alertd.query.check import check_rules
from alertd.rules.ruleset import RuleSet
from alertd.store.sqlite import SqliteStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import DATASETS, T0
from tests.notify.seam_process import SERIES

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[2]

RULES = """\
group: seam
interval: 30s
rules:
  - alert: Errors
    dataset: db
    value: count()
    by: [table]
    window: 1m
    thresholds: {warning: "> 5", critical: "> 10"}
    no_data: ok
"""
NOTIFY = """\
send_resolved: true
receivers:
  - name: pager
    webhook: {url: "http://127.0.0.1:9/unused"}
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 30s
  group_interval: 1m
  repeat_interval: 4h
"""
Said = tuple[str, dt.datetime, Delivery, bool, tuple[tuple[str, bool, str | None], ...]]


def config(tmp_path: Path) -> tuple[RuleSet, Notifier]:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "seam.yaml").write_text(RULES)
    (tmp_path / "notify.yaml").write_text(NOTIFY)
    loaded = check_rules([tmp_path])
    notify, errors = notify_config([tmp_path])
    assert loaded.errors == []
    assert errors == []
    assert notify is not None
    return loaded.ruleset, Notifier(notify, {r.name: r for r in loaded.ruleset.rules})


async def started(
    tmp_path: Path, path: Path, source: TableSource, clock: FakeClock
) -> tuple[Evaluator, NotificationService, SqliteStore]:
    """What `alertd run` builds at its start, on the state file at `path`."""
    ruleset, notifier = config(tmp_path)
    store = await SqliteStore.open(path)
    service = NotificationService(notifier, Deliverer(store, {}, clock), store, clock)
    evaluator = Evaluator(ruleset, source, store)
    await service.restore()
    await evaluator.restore()
    return evaluator, service, store


async def outbox(store: SqliteStore) -> list[Said]:
    entries = await store.outbox()
    return [
        (
            e.notification.id,
            e.notification.created_at,
            e.status,
            e.notification.firing,
            tuple(
                (a.fingerprint, a.firing, a.severity.value if a.severity else None)
                for a in e.notification.alerts
            ),
        )
        for e in entries
    ]


async def run(tmp_path: Path, name: str, *, crash_after_each_tick: bool) -> list[Said]:
    """Tick through SERIES, stepping the notifier after each tick's commit, or, crashing,
    closing the store before the notifier's step and stepping it in a fresh process."""
    path = tmp_path / f"{name}.db"
    source = TableSource()
    clock = FakeClock(T0)
    evaluator, service, store = await started(tmp_path, path, source, clock)
    for k, series in enumerate(SERIES):
        at = T0 + dt.timedelta(seconds=30 * k)
        source.series["db"] = dict(series)
        (group,) = evaluator.ruleset.groups
        await evaluator.tick(group, at)
        if crash_after_each_tick:
            # The process dies here: the tick is committed, the notifier's step is not.
            await store.aclose()
            evaluator, service, store = await started(tmp_path, path, source, clock)
        await service.flush(evaluator.states, at)
    said = await outbox(store)
    await store.aclose()
    return said


async def test_a_crash_between_a_tick_and_the_notifier_makes_the_same_outbox(
    tmp_path: Path,
) -> None:
    uninterrupted = await run(tmp_path, "uninterrupted", crash_after_each_tick=False)
    crashed = await run(tmp_path, "crashed", crash_after_each_tick=True)
    assert crashed == uninterrupted
    # What was said: the page a group_wait after the first firing tick; a group_interval
    # later the change of grade and the second table; then the first table's resolve,
    # and the group's resolve at once when the last alert resolves.
    users, pitches = (fingerprint("Errors", (("table", t),)) for t in ("users", "pitches"))
    assert [(at - T0, firing, alerts) for _, at, _, firing, alerts in uninterrupted] == [
        (dt.timedelta(seconds=60), True, ((users, True, "critical"),)),
        (dt.timedelta(seconds=120), True, ((users, True, "warning"), (pitches, True, "critical"))),
        (dt.timedelta(seconds=180), True, ((pitches, True, "critical"), (users, False, "warning"))),
        (dt.timedelta(seconds=240), False, ((pitches, False, "critical"),)),
    ]


async def test_a_process_killed_between_a_tick_and_the_notifier_makes_the_same_outbox(
    tmp_path: Path,
) -> None:
    """The same, with real processes: each life resumes from the state file, takes the
    notifier's step the last one was killed before, ticks once and is killed (SIGKILL)
    right after the evaluator's commit."""
    uninterrupted = await run(tmp_path, "uninterrupted", crash_after_each_tick=False)
    path = tmp_path / "killed.db"
    for k in range(len(SERIES) + 1):
        command = [sys.executable, "-m", "tests.notify.seam_process", str(path), str(tmp_path)]
        with anyio.fail_after(60):
            life = await anyio.run_process([*command, str(k)], cwd=ROOT, check=False)
        last = k == len(SERIES)
        assert life.returncode == (0 if last else -signal.SIGKILL), life.stderr.decode()
    store = await SqliteStore.open(path)
    try:
        assert await outbox(store) == uninterrupted
    finally:
        await store.aclose()
