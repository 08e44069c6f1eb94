"""The real daemon with ALERTD_WATCHDOG on, on a fake clock: `AlertdWatchdog` reaches the
heartbeat's webhook at start and every repeat_interval, and no other receiver."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import anyio
import httpx
import pytest

from alertd import daemon
from alertd.clock import FakeClock
from alertd.pipeline import Wiring
from alertd.settings import Settings
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import DATASETS, T0
from tests.test_daemon_in_process import DELAY, ERRORS, Hooks, loaded

pytestmark = pytest.mark.anyio

NOTIFY = """\
receivers:
  - name: pager
    webhook: {url: "http://127.0.0.1:9/pager"}
  - name: heartbeat
    webhook: {url: "http://127.0.0.1:9/heartbeat"}
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


async def heartbeats(tmp_path: Path, settings: Settings) -> list[tuple[dt.datetime, str]]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "datasets.yaml").write_text(DATASETS)
    (rules / "live.yaml").write_text(ERRORS)
    (rules / "notify.yaml").write_text(NOTIFY)
    clock = FakeClock(T0, autojump=False)
    hooks, out, stop = Hooks(clock), io.StringIO(), anyio.Event()
    async with httpx.AsyncClient(transport=httpx.MockTransport(hooks)) as client:
        wiring = Wiring(MemoryStore(), TableSource(), clock, client, out)
        with anyio.fail_after(30):  # real seconds
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(
                    lambda: daemon.serve(
                        wiring, settings, [rules], loaded(rules), err=out, stop=stop,
                        signals=False, watch=False, http=False,
                    )
                )  # fmt: skip
                await clock.advance_to(T0 + dt.timedelta(minutes=16))
                stop.set()
                await clock.run_for(0)
    for _, _, status, names in hooks.sent:
        assert (status, names) == ("firing", ["AlertdWatchdog"])
    return [(at, path) for at, path, _, _ in hooks.sent]


async def test_with_the_setting_on_the_heartbeat_hears_every_repeat_interval(
    tmp_path: Path,
) -> None:
    settings = Settings(evaluation_delay_seconds=DELAY.total_seconds(), watchdog=True)
    sent = await heartbeats(tmp_path, settings)
    assert sent == [(T0 + dt.timedelta(minutes=m), "/heartbeat") for m in (0, 5, 10, 15)]


async def test_off_by_default_nothing_is_sent(tmp_path: Path) -> None:
    settings = Settings(evaluation_delay_seconds=DELAY.total_seconds())
    assert await heartbeats(tmp_path, settings) == []
