"""ALERTD_WATCHDOG: `AlertdWatchdog` fires from the start and, routed like any alert, is
sent again every repeat_interval; off, nothing at all. On the fake clock, wired as the
daemon wires its parts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import anyio
import pytest

from alertd.clock import FakeClock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler
from alertd.engine.step import Step
from alertd.engine.watchdog import WATCHDOG_KEY
from alertd.model import Change, Notification, Status
from alertd.notify.build import notify_config
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.receivers.base import Delivered, Payload
from alertd.notify.service import NotificationService
from alertd.notify.snapshots import WATCHDOG_SUMMARY, snapshot
from alertd.query.check import check_rules
from alertd.rules.ruleset import Group
from alertd.store.commits import Commits
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import DATASETS, T0

pytestmark = pytest.mark.anyio

DELAY = dt.timedelta(seconds=60)
RULES = """\
group: live
interval: 30s
rules:
  - alert: Errors
    dataset: db
    value: count()
    window: 1m
    thresholds: {critical: "> 10"}
    no_data: ok
"""
# The README's route for the watchdog: first, without `continue`, a short repeat_interval.
NOTIFY = """\
receivers:
  - name: pager
    webhook: {url: "http://127.0.0.1:9/unused"}
  - name: heartbeat
    webhook: {url: "http://127.0.0.1:9/unused"}
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - receiver: heartbeat
      matchers: ['alertname="AlertdWatchdog"']
      group_wait: 0s
      group_interval: 1m
      repeat_interval: 5m
"""


class Recorder:
    """A receiver recording when it sent what."""

    def __init__(self, name: str, clock: FakeClock) -> None:
        self.name = name
        self.clock = clock
        self.sent: list[tuple[dt.datetime, tuple[str, ...], bool]] = []
        self._rendered: dict[bytes, Notification] = {}

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        self._rendered[n.id.encode()] = n
        return Payload("test:", n.id.encode())

    async def send(self, payload: Payload) -> Delivered:
        n = self._rendered[payload.body]
        names = tuple(dict(a.labels)["alertname"] for a in n.alerts)
        self.sent.append((self.clock.now(), names, n.firing))
        return Delivered(ref=n.id)


async def run_for(
    tmp_path: Path, minutes: int, *, watchdog: bool, store: MemoryStore | None = None
) -> tuple[Recorder, Recorder, Evaluator]:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "live.yaml").write_text(RULES)
    (tmp_path / "notify.yaml").write_text(NOTIFY)
    ruleset = check_rules([tmp_path]).ruleset
    config, errors = notify_config([tmp_path])
    assert errors == []
    assert config is not None
    clock = FakeClock(T0, autojump=False)
    store = store if store is not None else MemoryStore()
    pager, heartbeat = Recorder("pager", clock), Recorder("heartbeat", clock)
    service = NotificationService(
        Notifier(config, {r.name: r for r in ruleset.rules}),
        Deliverer(store, {"pager": pager, "heartbeat": heartbeat}, clock),
        store,
        clock,
    )
    await service.restore()
    commits = Commits()
    evaluator = Evaluator(ruleset, TableSource(), store, commits=commits, watchdog=watchdog)
    # As the daemon starts: restore, then retire at the evaluation time of "now".
    await evaluator.restore()
    await evaluator.retire(clock.now() - DELAY)

    async def on_step(group: Group, step: Step) -> None:
        return None

    scheduler = GroupScheduler(evaluator, clock, delay=DELAY, on_step=on_step)
    async with anyio.create_task_group() as daemon:
        daemon.start_soon(service.run, lambda: evaluator.states, commits, DELAY)
        daemon.start_soon(service.deliverer.run)
        await daemon.start(scheduler.run, ruleset.groups)
        await clock.advance_to(T0 + dt.timedelta(minutes=minutes))
        await scheduler.shutdown()
        daemon.cancel_scope.cancel()
    return pager, heartbeat, evaluator


async def test_the_watchdog_is_sent_at_start_and_every_repeat_interval(tmp_path: Path) -> None:
    pager, heartbeat, evaluator = await run_for(tmp_path, 21, watchdog=True)
    # group_wait 0s: at the notifier's first step; then every repeat_interval (5m), though
    # the alert never changes.
    assert heartbeat.sent == [
        (T0 + dt.timedelta(minutes=m), ("AlertdWatchdog",), True) for m in (0, 5, 10, 15, 20)
    ]
    assert pager.sent == []  # its own route, without `continue`: the heartbeat only
    assert evaluator.states[WATCHDOG_KEY].status is Status.FIRING


async def test_off_nothing_is_sent_and_nothing_fires(tmp_path: Path) -> None:
    pager, heartbeat, evaluator = await run_for(tmp_path, 21, watchdog=False)
    assert heartbeat.sent == pager.sent == []
    assert WATCHDOG_KEY not in evaluator.states


async def test_turned_off_the_watchdog_resolves_at_the_next_start(tmp_path: Path) -> None:
    store = MemoryStore()
    await run_for(tmp_path, 1, watchdog=True, store=store)
    assert (await store.load())[WATCHDOG_KEY].status is Status.FIRING
    evaluator = Evaluator(check_rules([tmp_path]).ruleset, TableSource(), store, watchdog=False)
    await evaluator.restore()
    retired = await evaluator.retire(T0)
    assert [(t.rule, t.change, t.reason) for t in retired.transitions] == [
        ("AlertdWatchdog", Change.RESOLVED, "the watchdog is off")
    ]
    assert WATCHDOG_KEY not in await store.load()


async def test_its_notification_says_what_it_is_for(tmp_path: Path) -> None:
    _, _, evaluator = await run_for(tmp_path, 1, watchdog=True)
    shown = snapshot(evaluator.states[WATCHDOG_KEY], None, None)
    assert dict(shown.labels) == {"alertname": "AlertdWatchdog", "severity": "warning"}
    assert shown.annotations["summary"] == WATCHDOG_SUMMARY
