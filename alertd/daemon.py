"""`alertd run`: opens the store, the source and the HTTP client, builds the pipeline on
them (alertd/pipeline.py) and runs it until stopped."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO

import anyio
import httpx
import structlog

from alertd.clock import Clock
from alertd.engine.printer import TransitionPrinter, as_json
from alertd.engine.step import Step
from alertd.errors import StoreError
from alertd.model import Transition
from alertd.pipeline import (
    RECEIVER_TIMEOUT_SECONDS,
    Config,
    Pipeline,
    Wiring,
    build_source,
    load,
    receivers_for,
)
from alertd.reload_status import Reload
from alertd.reports.recent import RecentReports
from alertd.reports.schedule import run_reports
from alertd.reports.send import ReportSender
from alertd.rules.ruleset import Group
from alertd.server.daemon_http import HttpSetupError, http_server
from alertd.server.parts import ServerParts
from alertd.settings import Settings
from alertd.store.opening import open_store, ownership_of
from alertd.store.retention import prune_forever
from alertd.systemd import ServiceManager
from alertd.watch import watch_rules

log = structlog.get_logger(__name__)


async def run(
    settings: Settings,
    paths: Sequence[Path],
    *,
    clock: Clock,
    out: TextIO,
    err: TextIO,
    json_lines: bool = False,
    transitions: bool = False,
    stop: anyio.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or `stop`), finish the tick in flight, persist, return 0."""
    problem = settings.credentials_problem()
    if problem:
        print(problem, file=err)
        return 1
    found = await load(paths)
    if isinstance(found, list):
        for error in found:
            print(error, file=err)
        return 1
    try:
        source = build_source(settings, clock)
    except ValueError as exc:
        print(str(exc), file=err)
        return 1
    try:
        # Exclusive: a second daemon on this state is refused, naming this one.
        store = await open_store(settings, exclusive=True)
    except StoreError as exc:
        await source.aclose()
        print(str(exc), file=err)
        return 1
    try:
        async with httpx.AsyncClient(timeout=RECEIVER_TIMEOUT_SECONDS) as client:
            wiring = Wiring(
                store,
                source,
                clock,
                client,
                out,
                console_json=json_lines,
                source_stats=source.stats,
                ownership=ownership_of(store, settings, clock),
            )
            return await serve(
                wiring,
                settings,
                paths,
                found,
                err=err,
                transitions=transitions,
                stop=stop,
                manager=ServiceManager.from_environment(),
            )
    finally:
        await source.aclose()
        await store.aclose()


async def serve(
    wiring: Wiring,
    settings: Settings,
    paths: Sequence[Path],
    config: Config,
    *,
    err: TextIO,
    transitions: bool = False,
    stop: anyio.Event | None = None,
    signals: bool = True,
    watch: bool = True,
    http: bool = True,
    manager: ServiceManager | None = None,
    started: Callable[[Pipeline], None] = lambda _: None,
) -> int:
    """The daemon on parts opened by the caller (a test hands in a MemoryStore, an
    in-process source and a FakeClock): 0 once stopped, 1 if it cannot start.

    `signals` listens for SIGTERM/SIGINT (stop) and SIGHUP (reload); `watch` reloads when
    a rules folder changes; `http` serves the HTTP API and status page; `manager` hears
    READY=1, WATCHDOG=1, RELOADING=1 and STOPPING=1 (systemd's notify protocol). `started` is
    handed the running pipeline, whose `reload()` anything else may call.
    """
    console = TransitionPrinter(wiring.out, json_lines=wiring.console_json)

    def show(changes: Sequence[Transition]) -> None:
        for transition in changes:
            log.info("alert.transition", **as_json(transition))
            if transitions:
                console.emit(transition)

    async def emit(group: Group, step: Step) -> None:
        show(step.transitions)

    for skipped in config.notify.skipped:
        log.info("receiver.skipped", receiver=skipped.name, reason=skipped.reason)
    receivers = receivers_for(config, wiring.client, wiring.out, console_json=wiring.console_json)
    if isinstance(receivers, list):
        for error in receivers:
            print(error, file=err)
        return 1
    pipeline = Pipeline(paths, config, receivers, wiring, settings, on_step=emit, show=show)
    try:
        await pipeline.restore()
    except StoreError as exc:  # a store unusable at start is refused like a bad file
        print(str(exc), file=err)
        return 1
    store, clock = wiring.store, wiring.clock
    reports = ReportSender(
        wiring.source,
        lambda: pipeline.config.ruleset.datasets,
        store,
        lambda: pipeline.receivers.by_name,
        stats=wiring.source_stats,
        public_url=settings.external_url,
    )
    # SIGHUP, the rules folder's watch and `POST /-/reload` all reload through this, so the
    # metrics say how the last one went whoever asked.
    manager = manager or ServiceManager(None)
    reload = manager.reloading(pipeline.reload, lambda: _running_status(pipeline))
    server = None
    if http:
        try:
            parts = _server_parts(pipeline, reload, reports.recent)
            server = http_server(settings, parts, wiring.source)
        except HttpSetupError as exc:
            print(str(exc), file=err)
            return 1
    wiring.ownership.want(group.name for group in config.ruleset.groups)
    async with anyio.create_task_group() as background:
        # Leases first: a replica ticks and notifies only what it holds.
        background.start_soon(wiring.ownership.run)
        background.start_soon(manager.keep_alive)
        if server is not None:
            await background.start(server.run)
        background.start_soon(
            prune_forever, store, clock, dt.timedelta(days=settings.retention_days)
        )
        background.start_soon(pipeline.run_notifier)
        background.start_soon(run_reports, lambda: pipeline.config.notify.reports, clock, reports)
        if watch:
            background.start_soon(watch_rules, paths, reload)
        async with anyio.create_task_group() as delivering:
            delivering.start_soon(pipeline.deliverer.run)
            await delivering.start(pipeline.scheduler.run, config.ruleset.groups)
            log.info(
                "daemon.started",
                rules=len(config.ruleset.rules),
                groups=len(config.ruleset.groups),
                receivers=sorted(receivers.by_name),
            )
            # Rules loaded, store open, first ticks scheduled: ready.
            manager.notify("READY=1", _running_status(pipeline))
            started(pipeline)
            await _serve_signals(reload, stop, signals)
            manager.notify("STOPPING=1", "STATUS=finishing the tick in flight")
            if server is not None:
                server.stop()
            await pipeline.scheduler.shutdown()
            # The delivery loop ends (its sends in flight finish) before the drain
            # starts, so no notification is sent by both.
            delivering.cancel_scope.cancel()
        # What was decided before the stop is sent now if it can be; the rest waits in
        # the outbox for the next start.
        await pipeline.deliverer.drain(settings.shutdown_drain_seconds)
        background.cancel_scope.cancel()
    log.info("daemon.stopped")
    return 0


def _running_status(pipeline: Pipeline) -> str:
    """The one line `systemctl status` shows while alertd runs."""
    status = f"STATUS=evaluating {len(pipeline.config.ruleset.rules)} rules"
    return status if pipeline.reload_status.successful else f"{status}; the last reload failed"


def _server_parts(pipeline: Pipeline, reload: Reload, reports: RecentReports) -> ServerParts:
    """What the HTTP API reads: the pipeline's parts, which a reload keeps (it swaps what
    they hold, not them)."""
    wiring = pipeline.wiring
    return ServerParts(
        pipeline.evaluator,
        pipeline.service.notifier,
        wiring.store,
        wiring.clock,
        wiring.health,
        wiring.clock.now(),
        deliverer=pipeline.deliverer,
        scheduler=pipeline.scheduler,
        source_stats=wiring.source_stats,
        reload=reload,
        reload_status=pipeline.reload_status,
        reports=reports,
        ownership=wiring.ownership,
    )


async def _serve_signals(
    reload: Callable[[], Awaitable[bool]], stop: anyio.Event | None, signals: bool
) -> None:
    """Wait for a stop; SIGHUP reloads, keeping the old set if the new one is bad."""
    async with anyio.create_task_group() as tasks:
        if stop is not None:

            async def wait_stop() -> None:
                await stop.wait()
                tasks.cancel_scope.cancel()

            tasks.start_soon(wait_stop)
        if not signals:
            await anyio.sleep_forever()
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as received:
            async for signum in received:
                if signum == signal.SIGHUP:
                    try:
                        await reload()
                    except Exception:
                        log.exception("rules.reload_failed")
                    continue
                log.info("daemon.stopping", signal=signal.Signals(signum).name)
                tasks.cancel_scope.cancel()
                return
