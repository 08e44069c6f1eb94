"""`alertd run` sends the reports its notification file schedules: the real daemon
(`daemon.serve`) in-process on a fake clock, a console receiver taking the report."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import anyio
import httpx
import pytest

from alertd import daemon
from alertd.clock import FakeClock
from alertd.pipeline import Pipeline, Wiring, load_config
from alertd.settings import Settings
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource

pytestmark = pytest.mark.anyio
T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
RULES = Path(__file__).parents[2] / "rules"
QUIET = """\
group: quiet
interval: 1m
rules:
  - alert: NeverFires
    dataset: pitchey_database_metrics
    value: count()
    window: 1m
    thresholds: {critical: "> 1000000000"}
    no_data: ok
"""
NOTIFY = """\
receivers:
  - name: console
    console: {}
route: {receiver: console}
reports:
  - {kind: daily, cron: "5 11 * * *", timezone: Europe/Berlin, receiver: console}
"""


async def test_the_daemon_sends_a_scheduled_report_to_its_receiver(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(RULES / "datasets.yaml", rules)
    (rules / "quiet.yaml").write_text(QUIET)
    (rules / "notify.yaml").write_text(NOTIFY)
    config = load_config([rules])
    assert not isinstance(config, list), config
    clock, out, stop = FakeClock(T0, autojump=False), io.StringIO(), anyio.Event()
    codes: list[int] = []
    started: list[Pipeline] = []
    async with httpx.AsyncClient() as client:
        wiring = Wiring(MemoryStore(), TableSource(), clock, client, out)

        async def serve() -> None:
            code = await daemon.serve(
                wiring,
                Settings(),
                [rules],
                config,
                err=out,
                stop=stop,
                signals=False,
                watch=False,
                http=False,
                started=started.append,
            )
            codes.append(code)

        with anyio.fail_after(30):  # real seconds: a daemon that does not stop fails here
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(serve)
                await clock.advance_to(T0 + dt.timedelta(minutes=4))
                assert "[REPORT]" not in out.getvalue()
                # 11:05 in Berlin is 10:05 UTC in November.
                await clock.advance_to(T0 + dt.timedelta(minutes=66))
                stop.set()
                await clock.run_for(0)
    assert codes == [0]
    reports = [line for line in out.getvalue().splitlines() if line.startswith("[REPORT]")]
    assert reports == [
        "[REPORT] Daily performance report, 2026-11-27 10:05 to 2026-11-28 10:05 UTC to console"
    ]
    assert "    Queries: no data" in out.getvalue()
