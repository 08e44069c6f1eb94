"""`alertd backtest`: every transition, and optionally every notification, the rules would
have made over a time range; with `--deliver` the notifications are really sent."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx

from alertd.clock import SystemClock
from alertd.commands.arguments import UsageError, seconds_option, time_option
from alertd.daemon import build_source
from alertd.engine.backtest import After, backtest
from alertd.engine.evaluator import Evaluator
from alertd.errors import SourceAuthError
from alertd.model import Delivery, OutboxEntry, Query, Rows
from alertd.notify.build import build_receivers, notify_config
from alertd.notify.config import NotifyConfig
from alertd.notify.console import ConsoleReceiver
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import DEFAULT_MAX_AGE, Notifier
from alertd.notify.receivers.base import Receiver
from alertd.notify.service import NotificationService
from alertd.query.check import check_rules
from alertd.rules.ruleset import RuleSet
from alertd.settings import Settings
from alertd.sources.base import Source
from alertd.store.memory import MemoryStore

DELIVER_SECONDS = 120.0
OUTBOX_LIMIT = 1_000_000  # a replay's outbox is in memory; count every pending entry


def run(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    problem = settings.credentials_problem()
    if problem:
        print(problem, file=err)
        return 1
    try:
        start, end = time_option("--from", args.start), time_option("--to", args.end)
        step = seconds_option("--step", args.step) if args.step else None
    except UsageError as exc:
        print(f"alertd backtest: {exc}", file=err)
        return 2
    if end <= start:
        print("alertd backtest: --to must be after --from", file=err)
        return 2
    args.notifications = args.notifications or args.deliver  # sending needs them made
    paths: list[Path] = [args.rules] if args.rules else [settings.rules_dir]
    loaded = check_rules(paths)
    config, notify_errors = notify_config(paths) if args.notifications else (None, [])
    if loaded.errors or notify_errors:
        for error in [*loaded.errors, *notify_errors]:
            print(error, file=err)
        return 1
    replay = _Replay(settings, loaded.ruleset, start, end, step, out, args)
    try:
        count = anyio.run(replay.run, config)
    except SourceAuthError as exc:
        print(str(exc), file=err)
        return 1
    if not args.json:
        print(f"{count} transition(s) from {start.isoformat()} to {end.isoformat()}", file=err)
    if replay.outcome is not None:
        print(replay.outcome.summary(), file=err)
        return 0 if replay.outcome.all_delivered else 1
    return 0


@dataclasses.dataclass(frozen=True)
class _Outcome:
    """What became of the notifications `--deliver` sent."""

    delivered: int
    failed: int
    expired: int
    pending: int

    @property
    def all_delivered(self) -> bool:
        return not (self.failed or self.expired or self.pending)

    def summary(self) -> str:
        left = f", still pending {self.pending}" if self.pending else ""
        return f"delivered {self.delivered}, failed {self.failed}, expired {self.expired}{left}"


async def _outcome(deliverer: Deliverer, store: MemoryStore) -> _Outcome:
    """What the deliverer counted, and what is left in the outbox."""
    counted = deliverer.counters.values()
    pending = await store.outbox(status=Delivery.PENDING, limit=OUTBOX_LIMIT)
    return _Outcome(
        sum(c.delivered for c in counted),
        sum(c.failed for c in counted),
        sum(c.expired for c in counted),
        len(pending),
    )


class _StopOnRefusal:
    """A source that ends the replay when the credentials are refused: every later query
    would be refused too, and the replay would only invent source-down alerts."""

    def __init__(self, source: Source, scope: anyio.CancelScope) -> None:
        self.source = source
        self.scope = scope
        self.refused: SourceAuthError | None = None

    async def run(self, query: Query) -> Rows:
        try:
            return await self.source.run(query)
        except SourceAuthError as exc:
            self.refused = self.refused or exc
            self.scope.cancel()
            raise

    async def aclose(self) -> None:
        await self.source.aclose()


class _Replay:
    def __init__(
        self,
        settings: Settings,
        ruleset: RuleSet,
        start: dt.datetime,
        end: dt.datetime,
        step: dt.timedelta | None,
        out: TextIO,
        args: argparse.Namespace,
    ) -> None:
        self.settings = settings
        self.ruleset = ruleset
        self.start, self.end, self.step = start, end, step
        self.out = out
        self.args = args
        self.console = ConsoleReceiver(out, json_lines=args.json)
        self.outcome: _Outcome | None = None

    async def run(self, config: NotifyConfig | None) -> int:
        """The number of transitions; raises SourceAuthError if AE refuses the credentials."""
        count = 0
        with anyio.CancelScope() as scope:
            source = _StopOnRefusal(build_source(self.settings, SystemClock()), scope)
            try:
                count = await self._run(source, config)
            finally:
                await source.aclose()
        if source.refused is not None:
            raise source.refused
        return count

    async def _run(self, source: Source, config: NotifyConfig | None) -> int:
        if config is None:
            return len(await self._replay(source))
        async with httpx.AsyncClient(timeout=10) as client:
            return await self._with_notifications(source, config, client)

    async def _replay(
        self,
        source: Source,
        store: MemoryStore | None = None,
        after: After | None = None,
    ) -> list[Any]:
        emit = self.console.emit if not self.args.notifications else lambda _: None
        return await backtest(
            self.ruleset,
            source,
            self.start,
            self.end,
            step=self.step,
            emit=emit,
            source_down_after=dt.timedelta(seconds=self.settings.source_down_after_seconds),
            store=store,
            after=after,
        )

    async def _with_notifications(
        self, source: Source, config: NotifyConfig, client: httpx.AsyncClient
    ) -> int:
        # Delivered after the replay, history is sent as it happened: nothing it made is
        # superseded by what came later.
        store = MemoryStore(supersede=False)
        receivers, rates = build_receivers(config, client, self.out)
        clock = SystemClock()
        # Notifications are stamped with historical times; their age limit counts from the
        # wall clock, or --deliver would find every one already expired.
        max_age = clock.now() - self.start + DEFAULT_MAX_AGE
        service = NotificationService(
            Notifier(
                config,
                {r.name: r for r in self.ruleset.rules},
                max_age=max_age,
                status_url=self.settings.external_url,
            ),
            Deliverer(store, receivers, clock, rates=rates),
            store,
            clock,
            wall_clock_silences=False,
            on_enqueue=lambda entry: print(
                json.dumps(_printed(entry, receivers)), file=self.out, flush=True
            ),
        )

        async def after(evaluator: Evaluator, at: dt.datetime, ticked: bool) -> None:
            """The notifier's steps: at each group timer that expires before a tick, then
            at the tick; at the end, at the timers that expire by then."""
            if not ticked:
                await service.catch_up(evaluator.states, at)
                return
            await service.catch_up(evaluator.states, at - dt.timedelta(microseconds=1))
            await service.flush(evaluator.states, at)

        found = await self._replay(source, store, after)
        if self.args.deliver:
            await service.deliverer.drain(DELIVER_SECONDS)
            self.outcome = await _outcome(service.deliverer, store)
        return len(found)


def _printed(entry: OutboxEntry, receivers: dict[str, Receiver]) -> dict[str, Any]:
    n = entry.notification
    receiver = receivers.get(n.receiver)
    payload: Any = None
    if receiver is not None:
        # What would be sent, less its credentials (PagerDuty's routing_key is in the body).
        body = receiver.redact(receiver.render(n).body.decode("utf-8", "replace"))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = body
    return {
        "at": n.created_at.isoformat().replace("+00:00", "Z"),
        "receiver": n.receiver,
        "kind": "firing" if n.firing else "resolved",
        "group": n.group_key,
        "alerts": len(n.alerts),
        "payload": payload,
    }
