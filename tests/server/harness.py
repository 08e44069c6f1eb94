"""An in-process daemon's parts with known alerts, and its app behind an httpx client."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from alertd.clock import FakeClock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler
from alertd.errors import SourceError
from alertd.notify.build import notify_config
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.query.check import check_rules
from alertd.server.app import build_app
from alertd.server.parts import ServerParts
from alertd.sources.stats import SourceStats
from alertd.store.health import StateHealth
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import DATASETS, T0

TOKEN = "s3cret-token"
RULES = """\
group: db
interval: 30s
rules:
  - alert: SlowTable
    dataset: db
    value: count()
    by: [table]
    window: 1m
    thresholds: {critical: "> 100", warning: "> 10"}
    for: 0s
    no_data: ok
    labels: {team: db}
    annotations: {summary: "{{ labels.table }} has {{ value }} slow queries"}
"""
NOTIFY = """\
receivers:
  - name: pager
    webhook: {url: "http://127.0.0.1:9/unused"}
  - name: chat
    webhook: {url: "http://127.0.0.1:9/unused"}
route:
  receiver: chat
  group_by: [alertname]
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_by: [table]
inhibit_rules:
  - source_matchers: ['table="users"', 'severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [team]
"""
AT = T0 + dt.timedelta(minutes=5)


@dataclasses.dataclass
class Daemon:
    parts: ServerParts
    source: TableSource
    clock: FakeClock
    store: MemoryStore
    evaluator: Evaluator


async def daemon(tmp_path: Path, token: str | None = TOKEN) -> Daemon:
    """Three alerts firing after one tick at AT: users (critical), orders and carts
    (warning, inhibited by users); the clock stands at AT."""
    (tmp_path / "datasets.yaml").write_text(DATASETS)
    (tmp_path / "db.yaml").write_text(RULES)
    (tmp_path / "notify.yaml").write_text(NOTIFY)
    loaded = check_rules([tmp_path])
    config, errors = notify_config([tmp_path])
    assert loaded.errors == []
    assert errors == []
    assert config is not None
    ruleset = loaded.ruleset
    clock = FakeClock(AT)
    store = MemoryStore()
    source = TableSource()
    source.series["db"] = {"users": 500, "orders": 50, "carts": 20}
    health = StateHealth()
    evaluator = Evaluator(ruleset, source, store, health=health)
    notifier = Notifier(config, {r.name: r for r in ruleset.rules})
    receivers = {name: _Unused() for name in config.receivers}
    deliverer = Deliverer(store, receivers, clock)  # type: ignore[arg-type]
    scheduler = GroupScheduler(evaluator, clock, delay=dt.timedelta(0), on_step=_nothing)
    stats = SourceStats(clock.now)
    await evaluator.tick(ruleset.groups[0], AT)
    parts = ServerParts(
        evaluator,
        notifier,
        store,
        clock,
        health,
        T0,
        deliverer=deliverer,
        scheduler=scheduler,
        source_stats=stats,
        api_token=token,
    )
    parts.reload = parts.reload_status.tracked(_reloaded, clock.now)
    return Daemon(parts, source, clock, store, evaluator)


async def _reloaded() -> bool:
    return True


async def _nothing(*_: object) -> None:
    return None


class _Unused:
    """A receiver the API never sends through."""

    name = "unused"

    def render(self, *_: object, **__: object) -> object:
        raise AssertionError("the API sent a notification")

    async def send(self, *_: object) -> object:
        raise AssertionError("the API sent a notification")


async def client(parts: ServerParts) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(parts))
    async with httpx.AsyncClient(transport=transport, base_url="http://alertd") as http:
        yield http


def failing(message: str = "boom") -> SourceError:
    return SourceError(message, retryable=True)
