"""An hour of the live pipeline in-process on a fake clock: the scheduler, the evaluator,
the notifier's timer and the delivery loop, with exact instants for every tick,
transition and delivered notification.

The parts are wired here by hand, on a MemoryStore (the SQLite store waits on a thread,
which a driven FakeClock cannot see), a Source that answers in-process and a receiver that
records what it is given, to see each one's instants; tests/test_daemon_in_process.py
drives the daemon itself (`alertd.daemon.serve`) the same way.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import anyio
import pytest

from alertd.clock import FakeClock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler
from alertd.engine.step import Step
from alertd.model import (
    AlertState,
    Change,
    Notification,
    Severity,
    Status,
    Transition,
    fingerprint,
)
from alertd.notify.build import notify_config
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.receivers.base import Delivered, Payload
from alertd.notify.service import NotificationService
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
    for: 2m
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
  group_interval: 5m
  repeat_interval: 4h
"""


class Recorder:
    """A receiver that records each notification it sends and the instant it sent it."""

    def __init__(self, clock: FakeClock) -> None:
        self.name = "pager"
        self.clock = clock
        self.sent: list[tuple[dt.datetime, bool, dt.datetime]] = []
        self._rendered: dict[bytes, Notification] = {}

    def render(self, n: Notification, *, previous_ref: str | None = None) -> Payload:
        self._rendered[n.id.encode()] = n
        return Payload("test:", n.id.encode())

    async def send(self, payload: Payload) -> Delivered:
        n = self._rendered[payload.body]
        self.sent.append((self.clock.now(), n.firing, n.created_at))
        return Delivered(ref=n.id)


def minutes(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


async def test_an_hour_of_the_daemon_runs_on_the_fake_clock(tmp_path: Path) -> None:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "live.yaml").write_text(RULES)
    (tmp_path / "notify.yaml").write_text(NOTIFY)
    loaded = check_rules([tmp_path])
    config, errors = notify_config([tmp_path])
    assert loaded.errors == []
    assert errors == []
    assert config is not None
    ruleset = loaded.ruleset

    clock = FakeClock(T0, autojump=False)
    store = MemoryStore()
    source = TableSource()
    receiver = Recorder(clock)
    service = NotificationService(
        Notifier(config, {r.name: r for r in ruleset.rules}),
        Deliverer(store, {"pager": receiver}, clock),
        store,
        clock,
    )
    await service.restore()
    commits = Commits()
    evaluator = Evaluator(ruleset, source, store, commits=commits)
    await evaluator.restore()
    ticks: list[tuple[dt.datetime, dt.datetime]] = []
    transitions: list[Transition] = []

    async def on_step(group: Group, step: Step) -> None:
        ticks.append((clock.now(), scheduler.last_at[group.name]))
        transitions.extend(step.transitions)

    scheduler = GroupScheduler(evaluator, clock, delay=DELAY, on_step=on_step)

    started = time.perf_counter()
    async with anyio.create_task_group() as daemon:
        daemon.start_soon(service.run, lambda: evaluator.states, commits, DELAY)
        daemon.start_soon(service.deliverer.run)
        await daemon.start(scheduler.run, ruleset.groups)
        await clock.advance_to(minutes(10))
        source.series["db"] = {"": 50}  # errors from just after 10:00 ...
        await clock.advance_to(minutes(20))
        source.series["db"] = {"": 0}  # ... to just after 20:00
        await clock.advance_to(minutes(60))
        await scheduler.shutdown()
        daemon.cancel_scope.cancel()
    wall = time.perf_counter() - started

    # Every 30 s instant of the hour ticks once, evaluating the grid point a delay before.
    instants = [T0 + dt.timedelta(seconds=30 * k) for k in range(121)]
    assert ticks == [(instant, instant - DELAY) for instant in instants]
    assert scheduler.missed == 0
    # The first tick to see the errors runs at 10:30 and evaluates 9:30: pending then,
    # firing `for: 2m` later; the first tick after 20:00 sees none, at 20:30 for 19:30.
    assert [(t.change, t.at) for t in transitions] == [
        (Change.PENDING, minutes(9.5)),
        (Change.FIRING, minutes(11.5)),
        (Change.RESOLVED, minutes(19.5)),
    ]
    # The page waits group_wait (30 s of evaluation time) after the firing tick at 12:30:
    # the notifier's timer makes it at 13:00 (for 12:00) and it is delivered then. Once
    # every alert of the group has resolved the resolve goes out at once: with the tick
    # at 20:30 (for 19:30), delivered that same instant.
    assert receiver.sent == [
        (minutes(13), True, minutes(12)),
        (minutes(20.5), False, minutes(19.5)),
    ]
    # The notifier steps once at its start and once after each commit (a tick's), and at
    # no other time: here its groups' timers all expire at a tick. A poll each second
    # would have taken 3,600 steps more.
    assert commits.count == len(ticks)
    assert service.steps == 1 + commits.count
    assert wall < 5.0, f"an hour took {wall:.2f} s of wall time"
    print(f"an hour of the daemon in {wall:.3f} s")


async def test_between_commits_the_notifier_wakes_only_when_a_group_timer_expires(
    tmp_path: Path,
) -> None:
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "live.yaml").write_text(RULES)
    (tmp_path / "notify.yaml").write_text(NOTIFY)
    config, errors = notify_config([tmp_path])
    assert errors == []
    assert config is not None
    rules = {r.name: r for r in check_rules([tmp_path]).ruleset.rules}
    clock = FakeClock(T0, autojump=False)
    store = MemoryStore()
    receiver = Recorder(clock)
    service = NotificationService(
        Notifier(config, rules), Deliverer(store, {"pager": receiver}, clock), store, clock
    )
    since = T0 - DELAY
    errors_alert = AlertState(
        fingerprint("Errors", ()), "Errors", (), Status.FIRING, Severity.CRITICAL,
        active_since=since, firing_since=since, last_breach=since, value=50.0, samples=1,
    )  # fmt: skip
    states: dict[str, AlertState] = {}
    commits = Commits()
    async with anyio.create_task_group() as daemon:
        daemon.start_soon(service.run, lambda: states, commits, DELAY)
        daemon.start_soon(service.deliverer.run)
        await clock.advance_to(T0)
        assert service.steps == 1  # its first step, at its start
        states[errors_alert.fingerprint] = errors_alert
        commits.committed()  # one commit of alert states, and no other for 9 hours
        await clock.advance_to(minutes(9 * 60))
        daemon.cancel_scope.cancel()

    hours = [T0 + dt.timedelta(hours=h, seconds=30) for h in (0, 4, 8)]
    # group_wait after the commit, then every repeat_interval (evaluation times, a delay
    # behind the clock).
    assert receiver.sent == [(h, True, h - DELAY) for h in hours]
    # A step at its start, one for the commit, then at each timer: group_wait, and after
    # each page its group_interval (nothing changed: no page) and its repeat_interval.
    assert service.steps == 2 + 1 + 2 + 2 + 1
