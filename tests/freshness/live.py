"""The daemon on the fake clock against the emulator, whose rows land late by an ingest
delay: a half hour (or more) of steady traffic with incidents, played in seconds."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
from pydantic import SecretStr

from alertd import daemon
from alertd.clock import FakeClock
from alertd.emulator.ingest import IngestDelay
from alertd.emulator.server import running_emulator
from alertd.model import Change, Transition
from alertd.pipeline import Pipeline, Wiring, load_config
from alertd.settings import Settings
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.store.memory import MemoryStore

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
LAG = IngestDelay(45, 15)  # rows land 45 to 60 s after their timestamp
INTERVAL = dt.timedelta(seconds=30)
FOR = dt.timedelta(minutes=1)
INCIDENT = (T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=20))
END = T0 + dt.timedelta(minutes=30)
ROWS_PER_SECOND = 2

DATASETS = """\
datasets:
  api:
    blobs: [endpoint, status]
    doubles: [duration]
"""
RULES = """\
group: api
interval: 30s
rules:
  - alert: Errors
    dataset: api
    value: count(status == "error")
    window: 1m
    thresholds: {critical: "> 0"}
    for: 1m
    no_data: ok
  - alert: TrafficDrop
    dataset: api
    value: count()
    window: 1m
    thresholds: {warning: "< 100"}
    no_data: keep
"""
NOTIFY = """\
receivers:
  - name: pager
    webhook: {url: "http://127.0.0.1:9/page"}
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
"""


Incident = tuple[dt.datetime, dt.datetime]


def traffic(incidents: Sequence[Incident], end: dt.datetime) -> list[dict[str, object]]:
    """Two requests a second from ten minutes before the start; half fail in incidents."""
    rows: list[dict[str, object]] = []
    second = T0 - dt.timedelta(minutes=10)
    while second < end + dt.timedelta(minutes=5):
        failing = any(start <= second < stop for start, stop in incidents)
        for n in range(ROWS_PER_SECOND):
            status = "error" if failing and n == 0 else "ok"
            rows.append(
                {
                    "timestamp": int(second.timestamp() * 1000),
                    "blobs": [f"/api/{n}", status],
                    "doubles": [12.0],
                }
            )
        second += dt.timedelta(seconds=1)
    return rows


@dataclass
class Pages:
    clock: FakeClock
    sent: list[tuple[dt.datetime, str, list[str]]] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        names = sorted(a["labels"]["alertname"] for a in body["alerts"])
        self.sent.append((self.clock.now(), body["status"], names))
        return httpx.Response(200)


def forwarder(blocking: httpx.Client) -> httpx.MockTransport:
    """AE's HTTP API, asked without yielding to the event loop: the fake clock cannot move
    while a query is in flight."""

    def forward(request: httpx.Request) -> httpx.Response:
        answer = blocking.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        headers = {k: v for k, v in answer.headers.items() if k.lower() == "content-type"}
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)

    return httpx.MockTransport(forward)


@dataclass
class Run:
    pages: list[tuple[dt.datetime, str, list[str]]]
    transitions: list[Transition]
    pipeline: Pipeline


async def play(
    tmp_path: Path,
    delay: str,
    lag: IngestDelay = LAG,
    incidents: Sequence[Incident] = (INCIDENT,),
    end: dt.datetime = END,
) -> Run:
    """From T0 to `end`, played by the daemon with `ALERTD_EVALUATION_DELAY_SECONDS=delay`
    against rows that land `lag` late."""
    rules = tmp_path / f"rules-{delay}-{lag.seconds:g}-{lag.jitter:g}"
    rules.mkdir()
    (rules / "datasets.yaml").write_text(DATASETS)
    (rules / "api.yaml").write_text(RULES)
    (rules / "notify.yaml").write_text(NOTIFY)
    config = load_config([rules])
    assert not isinstance(config, list), config
    clock = FakeClock(T0, autojump=False)
    settings = Settings(
        evaluation_delay_seconds=delay, evaluation_delay_min=10, evaluation_delay_max=180
    )
    pages, out, stop, store = Pages(clock), io.StringIO(), anyio.Event(), MemoryStore()
    pipelines: list[Pipeline] = []
    with (
        running_emulator(clock=clock, ingest_delay=lag) as ae,
        httpx.Client(timeout=30) as blocking,
    ):
        ae.write("api", traffic(incidents, end))
        async with (
            httpx.AsyncClient(transport=forwarder(blocking)) as ae_client,
            httpx.AsyncClient(transport=httpx.MockTransport(pages)) as client,
        ):
            source = AnalyticsEngineSource(
                ae.base_url, ae.account_id, SecretStr(ae.token), sleep=clock.sleep, client=ae_client
            )
            wiring = Wiring(store, source, clock, client, out)
            with anyio.fail_after(600):  # real seconds
                async with anyio.create_task_group() as tasks:

                    async def serve() -> None:
                        await daemon.serve(
                            wiring, settings, [rules], config, err=out, stop=stop,
                            signals=False, watch=False, http=False, started=pipelines.append,
                        )  # fmt: skip

                    tasks.start_soon(serve)
                    await clock.advance_to(end)
                    stop.set()
                    await clock.run_for(0)
    (pipeline,) = pipelines
    return Run(pages.sent, await store.transitions(), pipeline)


def changes(run: Run, rule: str) -> list[tuple[dt.datetime, Change]]:
    return [(t.at, t.change) for t in run.transitions if t.rule == rule]
