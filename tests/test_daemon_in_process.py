"""The real daemon (`alertd.daemon.serve`, what `alertd run` runs once its store, source
and HTTP client are open) driven in-process on a fake clock: scheduler, evaluator,
notifier and delivery to a webhook receiver whose HTTP requests are answered in-process;
and its reload, with rules and receivers changed under it."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
import pytest
from structlog.testing import capture_logs

from alertd import daemon
from alertd.clock import FakeClock
from alertd.model import Status, fingerprint
from alertd.pipeline import Config, Pipeline, Wiring, load_config
from alertd.settings import Settings
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource
from tests.engine.timeline import DATASETS, T0

pytestmark = pytest.mark.anyio

DELAY = dt.timedelta(seconds=60)
ERRORS = """\
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
SLOW = """\
group: slow
interval: 30s
rules:
  - alert: Slow
    dataset: db
    value: count()
    window: 1m
    thresholds: {warning: "> 10"}
    no_data: ok
"""
# Line 8 holds a threshold no one can read.
BROKEN = SLOW.replace("group: slow", "group: broken").replace("Slow", "Broken")
BROKEN = BROKEN.replace('{warning: "> 10"}', '{warning: "> ten"}')


def notify(url: str) -> str:
    return f"""\
send_resolved: true
receivers:
  - name: pager
    webhook: {{url: "{url}"}}
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
"""


@dataclass
class Hooks:
    """What the webhook URLs were sent: (clock time, path, status, alert names)."""

    clock: FakeClock
    sent: list[tuple[dt.datetime, str, str, list[str]]] = field(default_factory=list)
    # Paths that answer 503 (a revoked URL behind a proxy), and what they were sent.
    down: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path in self.down:
            self.refused.append(request.url.path)
            return httpx.Response(503)
        body = json.loads(request.content)
        names = sorted(a["labels"]["alertname"] for a in body["alerts"])
        self.sent.append((self.clock.now(), request.url.path, body["status"], names))
        return httpx.Response(200)


def minutes(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


@dataclass
class Running:
    pipeline: Pipeline
    clock: FakeClock
    source: TableSource
    hooks: Hooks
    out: io.StringIO
    stop: anyio.Event


def rules_folder(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "datasets.yaml").write_text(DATASETS)
    (rules / "live.yaml").write_text(ERRORS)
    (rules / "notify.yaml").write_text(notify("http://127.0.0.1:9/one"))
    return rules


def loaded(rules: Path) -> Config:
    found = load_config([rules])
    assert not isinstance(found, list), found
    return found


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    """`serve` on a MemoryStore, a table source, a fake clock and in-process HTTP, started
    at T0; stopped through its `stop` event at the end of the test."""
    rules = rules_folder(tmp_path)
    clock = FakeClock(T0, autojump=False)
    source, hooks, out, stop = TableSource(), Hooks(clock), io.StringIO(), anyio.Event()
    settings = Settings(evaluation_delay_seconds=DELAY.total_seconds())
    pipelines: list[Pipeline] = []
    codes: list[int] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(hooks)) as client:
        wiring = Wiring(MemoryStore(), source, clock, client, out)

        async def serve() -> None:
            code = await daemon.serve(
                wiring,
                settings,
                [rules],
                loaded(rules),
                err=out,
                stop=stop,
                signals=False,
                watch=False,
                http=False,
                started=pipelines.append,
            )
            codes.append(code)

        with anyio.fail_after(30):  # real seconds: a daemon that does not stop fails here
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(serve)
                await clock.advance_to(T0)
                (pipeline,) = pipelines
                yield Running(pipeline, clock, source, hooks, out, stop)
                stop.set()
                await clock.run_for(0)
    assert codes == [0]


async def test_an_hour_of_the_daemon_runs_in_process_on_the_fake_clock(
    running: Running,
) -> None:
    clock, source, hooks = running.clock, running.source, running.hooks
    started = time.perf_counter()
    await clock.advance_to(minutes(10))
    source.series["db"] = {"": 50}  # errors from just after 10:00 ...
    await clock.advance_to(minutes(20))
    source.series["db"] = {"": 0}  # ... to just after 20:00
    await clock.advance_to(minutes(60))
    wall = time.perf_counter() - started

    scheduler = running.pipeline.scheduler
    assert scheduler.last_at == {"live": minutes(59)}
    assert scheduler.missed == 0
    # Firing at the tick of 12:30 (for 11:30, `for: 2m` after the first breach seen at
    # 10:30); the page a group_wait later, from the notifier's timer; the resolve at once
    # with the first clear tick, at 20:30.
    assert hooks.sent == [
        (minutes(13), "/one", "firing", ["Errors"]),
        (minutes(20.5), "/one", "resolved", ["Errors"]),
    ]
    # Between commits the notifier slept: a step at its start and one per commit (a tick
    # each 30 s, 121 of them); its one timer (group_wait) expired at a tick.
    assert running.pipeline.commits.count == 121
    assert running.pipeline.service.steps == 1 + 121
    assert wall < 5.0, f"an hour took {wall:.2f} s of wall time"


async def test_a_reload_swaps_rules_and_receivers_keeping_unchanged_rules_as_they_were(
    running: Running, tmp_path: Path
) -> None:
    pipeline, clock, source, hooks = running.pipeline, running.clock, running.source, running.hooks
    rules = tmp_path / "rules"
    source.series["db"] = {"": 50}
    await clock.advance_to(minutes(5))
    errors = fingerprint("Errors", ())
    firing = pipeline.evaluator.states[errors]
    assert firing.status is Status.FIRING
    assert hooks.sent == [(minutes(3), "/one", "firing", ["Errors"])]
    assert pipeline.reload_status.last_success_at is None

    # A valid change: a new rule file. The new group ticks; Errors keeps its state.
    (rules / "slow.yaml").write_text(SLOW)
    assert await pipeline.reload()
    status = pipeline.reload_status
    assert (status.successful, status.last_success_at) == (True, minutes(5))
    await clock.advance_to(minutes(7))
    assert pipeline.scheduler.last_at["slow"] == minutes(6)
    assert pipeline.scheduler.last_at["live"] == minutes(6)
    assert pipeline.evaluator.states[errors].firing_since == firing.firing_since
    assert hooks.sent[1:] == [(minutes(5.5), "/one", "firing", ["Slow"])]

    # An invalid change: the old set runs on; the error is reported at its file and line.
    (rules / "broken.yaml").write_text(BROKEN)
    with capture_logs() as logs:
        assert not await pipeline.reload()
    # The last success is still the one that counts for the metrics.
    assert (status.successful, status.last_success_at) == (False, minutes(5))
    (failed,) = [e for e in logs if e["event"] == "rules.reload_failed"]
    assert failed["log_level"] == "error"
    assert any(f"{rules / 'broken.yaml'}:8:" in error for error in failed["errors"]), failed
    await clock.advance_to(minutes(8))
    assert sorted(r.name for r in pipeline.evaluator.ruleset.rules) == ["Errors", "Slow"]
    assert pipeline.scheduler.last_at == {"live": minutes(7), "slow": minutes(7)}

    # The receiver's URL rotated, and a rule removed: its resolve goes to the new URL.
    (rules / "broken.yaml").unlink()
    (rules / "slow.yaml").unlink()
    (rules / "notify.yaml").write_text(notify("http://127.0.0.1:9/two"))
    assert await pipeline.reload()
    assert (status.successful, status.last_success_at) == (True, minutes(8))
    await clock.advance_to(minutes(9))
    # Enqueued by the reload's own commit, and sent at once: enqueuing wakes delivery.
    assert hooks.sent[2:] == [(minutes(8), "/two", "resolved", ["Slow"])]
    assert list(pipeline.scheduler.last_at) == ["live"]
    # Errors, unchanged throughout, kept firing: its repeat goes to the new URL too.
    assert pipeline.evaluator.states[errors].firing_since == firing.firing_since
    source.series["db"] = {}
    await clock.advance_to(minutes(10))
    assert hooks.sent[3:] == [(minutes(9.5), "/two", "resolved", ["Errors"])]


async def test_a_notification_waiting_for_a_retry_goes_to_the_receivers_rotated_url(
    running: Running, tmp_path: Path
) -> None:
    pipeline, clock, hooks = running.pipeline, running.clock, running.hooks
    hooks.down.add("/one")
    running.source.series["db"] = {"": 50}
    await clock.advance_to(minutes(4))
    assert hooks.sent == []
    assert len(hooks.refused) >= 2  # the page, retried with backoff
    (waiting,) = await pipeline.wiring.store.outbox()
    assert waiting.attempts == len(hooks.refused)

    (tmp_path / "rules" / "notify.yaml").write_text(notify("http://127.0.0.1:9/two"))
    assert await pipeline.reload()
    await clock.advance_to(minutes(10))
    # The same notification, at its next retry, through the rebuilt receiver.
    assert [(path, status, names) for _, path, status, names in hooks.sent] == [
        ("/two", "firing", ["Errors"])
    ]
    (delivered,) = await pipeline.wiring.store.outbox()
    assert delivered.id == waiting.id
    assert delivered.attempts == len(hooks.refused) + 1


async def test_groups_ticking_at_one_instant_reach_the_notifier_together(
    running: Running, tmp_path: Path
) -> None:
    """Two rule groups tick at the same grid point; the notifier's step at that instant
    sees both commits, so one notification carries both alerts instead of one alert now
    and the other a group_interval later."""
    pipeline, clock, hooks = running.pipeline, running.clock, running.hooks
    rules = tmp_path / "rules"
    (rules / "live.yaml").write_text(ERRORS.replace("for: 2m", "for: 0s"))
    (rules / "slow.yaml").write_text(SLOW.replace("> 10", "> 100"))
    (rules / "notify.yaml").write_text(
        notify("http://127.0.0.1:9/one").replace("group_by: [alertname]", "group_by: []")
    )
    assert await pipeline.reload()
    await clock.advance_to(minutes(2))
    running.source.series["db"] = {"": 50}  # Errors fires at the tick of 2:30 ...
    await clock.advance_to(minutes(2.5))
    running.source.series["db"] = {"": 500}  # ... and Slow at 3:00, when group_wait ends
    await clock.advance_to(minutes(5))
    assert hooks.sent[0] == (minutes(3), "/one", "firing", ["Errors", "Slow"]), hooks.sent
