"""`alertd run`: the only place that builds every part and wires them together."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import anyio
import structlog

from alertd.clock import Clock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler
from alertd.engine.step import Step
from alertd.notify.console import ConsoleReceiver
from alertd.query.check import check_rules
from alertd.rules.ruleset import Group
from alertd.settings import Settings
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.store.sqlite import SqliteStore

log = structlog.get_logger(__name__)


def build_source(settings: Settings, clock: Clock) -> AnalyticsEngineSource:
    return AnalyticsEngineSource(
        settings.cloudflare_api_base,
        settings.cloudflare_account_id,
        settings.cloudflare_api_token,
        sleep=clock.sleep,
        timeout=settings.query_timeout_seconds,
        retries=settings.query_retries,
        concurrency=settings.query_concurrency,
    )


async def run(
    settings: Settings,
    paths: Sequence[Path],
    *,
    clock: Clock,
    out: TextIO,
    err: TextIO,
    json_lines: bool = False,
    stop: anyio.Event | None = None,
    speed: float = 1.0,
) -> int:
    """Run until SIGTERM/SIGINT (or `stop`), finish the tick in flight, persist, return 0."""
    loaded = check_rules(paths)
    if loaded.errors:
        for error in loaded.errors:
            print(error, file=err)
        return 1
    console = ConsoleReceiver(out, json_lines=json_lines)

    async def emit(group: Group, step: Step) -> None:
        for transition in step.transitions:
            console.emit(transition)

    store = await SqliteStore.open(
        settings.state_dir / "alertd.db", history_limit=settings.history_limit
    )
    source = build_source(settings, clock)
    try:
        evaluator = Evaluator(
            loaded.ruleset,
            source,
            store,
            source_down_after=dt.timedelta(seconds=settings.source_down_after_seconds),
        )
        await evaluator.restore()
        scheduler = GroupScheduler(
            evaluator,
            clock,
            delay=dt.timedelta(seconds=settings.evaluation_delay_seconds),
            on_step=emit,
            concurrency=settings.group_concurrency,
            speed=speed,
        )
        scheduler.start(loaded.ruleset.groups)
        log.info(
            "daemon.started", rules=len(loaded.ruleset.rules), groups=len(loaded.ruleset.groups)
        )
        await _serve_signals(scheduler, evaluator, paths, stop)
        await scheduler.shutdown()
    finally:
        await source.aclose()
        await store.aclose()
    log.info("daemon.stopped")
    return 0


async def _serve_signals(
    scheduler: GroupScheduler, evaluator: Evaluator, paths: Sequence[Path], stop: anyio.Event | None
) -> None:
    """Wait for a stop; SIGHUP reloads the rules, keeping the old ones if the new are bad."""
    async with anyio.create_task_group() as tasks:
        if stop is not None:

            async def wait_stop() -> None:
                await stop.wait()
                tasks.cancel_scope.cancel()

            tasks.start_soon(wait_stop)
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async for received in signals:
                if received == signal.SIGHUP:
                    _reload(scheduler, evaluator, paths)
                    continue
                log.info("daemon.stopping", signal=signal.Signals(received).name)
                tasks.cancel_scope.cancel()
                return


def _reload(scheduler: GroupScheduler, evaluator: Evaluator, paths: Sequence[Path]) -> None:
    loaded = check_rules(paths)
    if loaded.errors:
        log.error("rules.reload_failed", errors=[str(e) for e in loaded.errors])
        return
    evaluator.ruleset = loaded.ruleset
    scheduler.schedule(loaded.ruleset.groups)
    log.info("rules.reloaded", rules=len(loaded.ruleset.rules))
