"""`alertd run`: the only place that builds every part and wires them together."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO

import anyio
import httpx
import structlog

from alertd.clock import Clock
from alertd.engine.evaluator import Evaluator
from alertd.engine.scheduler import GroupScheduler
from alertd.engine.step import Step
from alertd.errors import RuleError, StoreError
from alertd.model import Transition
from alertd.notify.build import build_receivers, notify_config
from alertd.notify.config import NotifyConfig
from alertd.notify.console import ConsoleReceiver, as_json
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.receiver_config import ConsoleConfig
from alertd.notify.service import NotificationService
from alertd.notify.unavailable import warn_unavailable
from alertd.query.check import check_rules
from alertd.rules.ruleset import Group, RuleSet
from alertd.settings import Settings
from alertd.sources.analytics_engine import AnalyticsEngineSource
from alertd.store.commits import Commits
from alertd.store.health import StateHealth
from alertd.store.retention import prune_forever
from alertd.store.sqlite import SqliteStore

log = structlog.get_logger(__name__)

RECEIVER_TIMEOUT_SECONDS = 10.0
DRAIN_SECONDS = 10.0


def build_source(settings: Settings, clock: Clock) -> AnalyticsEngineSource:
    return AnalyticsEngineSource(
        settings.cloudflare_api_base,
        settings.cloudflare_account_id,
        settings.cloudflare_api_token,
        sleep=clock.sleep,
        timeout=settings.query_timeout_seconds,
        retries=settings.query_retries,
        concurrency=settings.query_concurrency,
        deadline=settings.query_deadline_seconds,
        max_response_bytes=settings.query_max_response_bytes,
    )


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
    found = await load(paths, json_lines)
    if isinstance(found, list):
        for error in found:
            print(error, file=err)
        return 1
    ruleset, config = found
    for skipped in config.skipped:
        log.info("receiver.skipped", receiver=skipped.name, reason=skipped.reason)
    console = ConsoleReceiver(out, json_lines=json_lines)

    def show(changes: Sequence[Transition]) -> None:
        for transition in changes:
            log.info("alert.transition", **as_json(transition))
            if transitions:
                console.emit(transition)

    async def emit(group: Group, step: Step) -> None:
        show(step.transitions)

    delay = dt.timedelta(seconds=settings.evaluation_delay_seconds)
    try:
        source = build_source(settings, clock)
    except ValueError as exc:
        print(str(exc), file=err)
        return 1
    try:
        # Exclusive: a second daemon on this state directory is refused, naming this one.
        store = await SqliteStore.open(
            settings.state_file, history_limit=settings.history_limit, exclusive=True
        )
    except StoreError as exc:
        await source.aclose()
        print(str(exc), file=err)
        return 1
    # Whether the store takes writes; what /metrics and readiness are to report.
    health = StateHealth()
    try:
        async with httpx.AsyncClient(timeout=RECEIVER_TIMEOUT_SECONDS) as client:
            receivers, rates = build_receivers(config, client, out)
            # The evaluator commits alert states and says so here; the notifier, woken,
            # reads them and commits the notifications they call for.
            commits = Commits()
            service = NotificationService(
                Notifier(
                    config,
                    {r.name: r for r in ruleset.rules},
                    max_age=dt.timedelta(seconds=settings.notification_max_age_seconds),
                    status_url=settings.external_url,
                    unavailable=config.unavailable,
                ),
                Deliverer(store, receivers, clock, rates=rates, health=health),
                store,
                clock,
            )
            evaluator = Evaluator(
                ruleset,
                source,
                store,
                source_down_after=dt.timedelta(seconds=settings.source_down_after_seconds),
                commits=commits,
                health=health,
            )
            try:
                await service.restore()
                await evaluator.restore()
                retired = await evaluator.retire(_now(clock, delay))
            except StoreError as exc:  # a store unusable at start is refused like a bad file
                print(str(exc), file=err)
                return 1
            show(retired.transitions)
            warn_unavailable(config.unavailable)  # once the start can no longer be refused
            scheduler = GroupScheduler(
                evaluator,
                clock,
                delay=delay,
                on_step=emit,
                concurrency=settings.group_concurrency,
            )
            async with anyio.create_task_group() as background:
                background.start_soon(
                    prune_forever, store, clock, dt.timedelta(days=settings.retention_days)
                )
                background.start_soon(service.run, lambda: evaluator.states, commits, delay)
                async with anyio.create_task_group() as delivering:
                    delivering.start_soon(service.deliverer.run)
                    await delivering.start(scheduler.run, ruleset.groups)
                    log.info(
                        "daemon.started",
                        rules=len(ruleset.rules),
                        groups=len(ruleset.groups),
                        receivers=sorted(receivers),
                    )
                    reload = functools.partial(
                        _reload, scheduler, evaluator, service, paths, show, json_lines
                    )
                    await _serve_signals(reload, stop)
                    await scheduler.shutdown()
                    # The delivery loop ends (its sends in flight finish) before the drain
                    # starts, so no notification is sent by both.
                    delivering.cancel_scope.cancel()
                # What was decided before the stop is sent now if it can be; the rest
                # waits in the outbox for the next start.
                await service.deliverer.drain(DRAIN_SECONDS)
                background.cancel_scope.cancel()
    finally:
        await source.aclose()
        await store.aclose()
    log.info("daemon.stopped")
    return 0


async def _serve_signals(reload: Callable[[], Awaitable[None]], stop: anyio.Event | None) -> None:
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
                    try:
                        await reload()
                    except Exception:
                        log.exception("rules.reload_failed")
                    continue
                log.info("daemon.stopping", signal=signal.Signals(received).name)
                tasks.cancel_scope.cancel()
                return


async def load(
    paths: Sequence[Path], json_lines: bool
) -> tuple[RuleSet, NotifyConfig] | list[RuleError]:
    """The rules and notification settings in `paths`, or every error found in them.

    Reading and checking files takes a while on a big rule set; in a worker thread it
    keeps ticks, deliveries and signals going meanwhile.
    """
    return await anyio.to_thread.run_sync(_load, paths, json_lines)


def _load(
    paths: Sequence[Path], json_lines: bool
) -> tuple[RuleSet, NotifyConfig] | list[RuleError]:
    loaded = check_rules(paths)
    config, notify_errors = notify_config(paths)
    errors = [*loaded.errors, *notify_errors]
    if errors or config is None:
        return errors
    return loaded.ruleset, _console_format(config, json_lines)


def _console_format(config: NotifyConfig, json_lines: bool) -> NotifyConfig:
    """With `--json`, console receivers write JSON lines whatever the file asks, so every
    line `run` prints on stdout is JSON."""
    if not json_lines:
        return config
    receivers = {
        name: dataclasses.replace(
            receiver, integration=receiver.integration.model_copy(update={"format": "json"})
        )
        if isinstance(receiver.integration, ConsoleConfig)
        else receiver
        for name, receiver in config.receivers.items()
    }
    return dataclasses.replace(config, receivers=receivers)


def _now(clock: Clock, delay: dt.timedelta) -> dt.datetime:
    """The evaluation-time "now" that notifications and retirements use."""
    return (clock.now() - delay).replace(microsecond=0)


async def _reload(
    scheduler: GroupScheduler,
    evaluator: Evaluator,
    service: NotificationService,
    paths: Sequence[Path],
    show: Callable[[Sequence[Transition]], None],
    json_lines: bool,
) -> None:
    found = await load(paths, json_lines)
    if isinstance(found, list):
        log.error("rules.reload_failed", errors=[str(e) for e in found])
        return
    ruleset, config = found
    evaluator.ruleset = ruleset
    service.notifier.rules = {r.name: r for r in ruleset.rules}
    _reload_routing(service.notifier, config)
    retired = await evaluator.retire(_now(scheduler.clock, scheduler.delay))
    scheduler.schedule(ruleset.groups)
    log.info("rules.reloaded", rules=len(ruleset.rules))
    show(retired.transitions)


def _reload_routing(notifier: Notifier, config: NotifyConfig) -> None:
    """Take new routes, inhibitions and time intervals; receivers are built at start, so
    changed receivers keep the old notification settings until a restart."""
    if config.receivers != notifier.config.receivers:
        log.warning(
            "notify.reload_needs_restart",
            reason="receivers changed; routes, inhibitions and time intervals kept as they were",
        )
        return
    notifier.config = config
    log.info("notify.reloaded")
