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
from alertd.engine.backtest import After, backtest
from alertd.engine.backtest_summary import summarize
from alertd.engine.evaluator import Evaluator
from alertd.engine.printer import TransitionPrinter, as_json, as_line
from alertd.engine.range_backtest import range_backtest
from alertd.errors import RuleErrors, SourceAuthError, SourceError
from alertd.model import Delivery, Notification, OutboxEntry, Query, Rows, Transition
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import DEFAULT_MAX_AGE
from alertd.notify.receivers.base import Receiver
from alertd.pipeline import (
    RECEIVER_TIMEOUT_SECONDS,
    Config,
    Wiring,
    build_notification,
    build_source,
    load_config,
    receivers_for,
)
from alertd.rules.ruleset import Group, RuleSet
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
    loaded = load_config(paths, notifications=args.notifications)
    if isinstance(loaded, list):
        for error in loaded:
            print(error, file=err)
        return 1
    try:
        ruleset = _selected(loaded.ruleset, args.rule_names)
        coarse = _coarse(ruleset, step, allowed=args.coarse)
    except UsageError as exc:
        print(f"alertd backtest: {exc}", file=err)
        return 2
    ruleset, unreplayable = _on_ae(ruleset)
    if unreplayable:
        # The GraphQL API and health endpoints answer about now, not about the past.
        names = ", ".join(sorted(unreplayable))
        print(f"alertd backtest: not replayed (they read sources besides AE): {names}", file=err)
    replay = _Replay(settings, ruleset, start, end, step, out, args, coarse)
    try:
        count = anyio.run(replay.run, loaded if args.notifications else None)
    except SourceAuthError as exc:
        print(str(exc), file=err)
        return 1
    except RuleErrors as exc:  # a receiver that cannot be built
        for error in exc.errors:
            print(error, file=err)
        return 1
    if not args.json:
        print(f"{count} transition(s) from {start.isoformat()} to {end.isoformat()}", file=err)
    if replay.rows == 0 and replay.failures == 0:
        print(
            f"alertd backtest: no data in any dataset from {start.isoformat()} to "
            f"{end.isoformat()}: nothing was judged",
            file=err,
        )
    _print_summary(replay, err)
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


def _selected(ruleset: RuleSet, names: list[str]) -> RuleSet:
    """The rule set with only the named rules (all when none is named)."""
    if not names:
        return ruleset
    known = {rule.name for rule in ruleset.rules}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(
            f"--rule: no rule named {', '.join(map(repr, unknown))} "
            f"(the rules are {', '.join(sorted(known))})"
        )
    kept = ruleset.without(known - set(names))
    return RuleSet(kept.datasets, tuple(g for g in kept.groups if g.rules), kept.sources)


def _on_ae(ruleset: RuleSet) -> tuple[RuleSet, set[str]]:
    """The rule set without the rules that read declared sources, and their names."""
    names = {r.name for r in ruleset.rules if set(r.datasets) & set(ruleset.sources)}
    if not names:
        return ruleset, names
    kept = ruleset.without(names)
    return RuleSet(kept.datasets, tuple(g for g in kept.groups if g.rules), kept.sources), names


def _coarse(ruleset: RuleSet, step: dt.timedelta | None, *, allowed: bool) -> dict[str, Group]:
    """The rules a `step` would judge less often than their group's interval, with their
    group; such a step skips evaluations the daemon makes, so it must be asked for."""
    if step is None:
        return {}
    coarse = {
        rule.name: group
        for group in ruleset.groups
        if group.interval < step
        for rule in group.rules
    }
    if coarse and not allowed:
        group = next(iter(coarse.values()))
        raise UsageError(
            f"--step {_seconds(step)} is coarser than group {group.name!r}'s interval "
            f"{_seconds(group.interval)}: the replay would skip evaluations the daemon makes, "
            "so its alerts could differ; add --coarse to accept that"
        )
    return coarse


def _seconds(span: dt.timedelta) -> str:
    return f"{int(span.total_seconds())}s"


def _print_summary(replay: _Replay, err: TextIO) -> None:
    summaries = summarize(
        [rule.name for rule in replay.ruleset.rules],
        replay.transitions,
        replay.end,
        replay.notifications,
    )
    if replay.args.json:
        print(json.dumps({"summary": [s.as_json() for s in summaries]}), file=err)
        return
    print("summary:", file=err)
    for summary in summaries:
        print(f"  {summary.as_line(with_pages=replay.args.notifications)}", file=err)


class _StopOnRefusal:
    """A source that ends the replay when the credentials are refused: every later query
    would be refused too, and the replay would only invent source-down alerts. It counts
    the rows answered and the queries failed, so an empty range is told apart."""

    def __init__(self, source: Source, scope: anyio.CancelScope) -> None:
        self.source = source
        self.scope = scope
        self.refused: SourceAuthError | None = None
        self.rows = 0
        self.failures = 0

    async def run(self, query: Query) -> Rows:
        try:
            rows = await self.source.run(query)
        except SourceAuthError as exc:
            self.refused = self.refused or exc
            self.scope.cancel()
            raise
        except SourceError:
            self.failures += 1
            raise
        self.rows += len(rows.data)
        return rows

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
        coarse: dict[str, Group],
    ) -> None:
        self.settings = settings
        self.ruleset = ruleset
        self.start, self.end, self.step = start, end, step
        self.out = out
        self.args = args
        self.console = TransitionPrinter(out, json_lines=args.json)
        self.coarse = coarse
        self.outcome: _Outcome | None = None
        self.transitions: list[Transition] = []
        self.notifications: list[Notification] = []
        self.rows = self.failures = 0

    async def run(self, config: Config | None) -> int:
        """The number of transitions; raises SourceAuthError if AE refuses the credentials."""
        count = 0
        with anyio.CancelScope() as scope:
            source = _StopOnRefusal(build_source(self.settings, SystemClock()), scope)
            try:
                count = await self._run(source, config)
            finally:
                await source.aclose()
        self.rows, self.failures = source.rows, source.failures
        if source.refused is not None:
            raise source.refused
        return count

    async def _run(self, source: Source, config: Config | None) -> int:
        if config is None:
            return len(await self._replay(source))
        async with httpx.AsyncClient(timeout=RECEIVER_TIMEOUT_SECONDS) as client:
            return await self._with_notifications(source, config, client)

    async def _replay(
        self,
        source: Source,
        store: MemoryStore | None = None,
        after: After | None = None,
    ) -> list[Any]:
        emit = self._emit if not self.args.notifications else lambda _: None
        down_after = dt.timedelta(seconds=self.settings.source_down_after_seconds)
        if self.args.exact:
            found = await backtest(
                self.ruleset, source, self.start, self.end, step=self.step, emit=emit,
                source_down_after=down_after, store=store, after=after,
            )  # fmt: skip
        else:
            found = await range_backtest(
                self.ruleset, source, self.start, self.end, step=self.step, emit=emit,
                source_down_after=down_after, store=store, after=after,
                chunk=dt.timedelta(seconds=self.settings.backtest_chunk_seconds),
            )  # fmt: skip
        self.transitions = found
        return found

    def _emit(self, transition: Transition) -> None:
        """Print a transition; one judged less often than its group's interval says so."""
        group = self.coarse.get(transition.rule)
        if group is None or self.step is None:
            self.console.emit(transition)
            return
        every, interval = _seconds(self.step), _seconds(group.interval)
        if self.args.json:
            shown = {**as_json(transition), "coarse": {"step": every, "interval": interval}}
            text = json.dumps(shown)
        else:
            text = f"{as_line(transition)} (coarse: judged every {every}, not every {interval})"
        print(text, file=self.out, flush=True)

    async def _with_notifications(
        self, source: Source, config: Config, client: httpx.AsyncClient
    ) -> int:
        # Delivered after the replay, history is sent as it happened: nothing it made is
        # superseded by what came later.
        store = MemoryStore(supersede=False)
        clock = SystemClock()
        wiring = Wiring(store, source, clock, client, self.out)
        receivers = receivers_for(config, client, self.out, console_json=False)
        if isinstance(receivers, list):
            raise RuleErrors(receivers)
        # Notifications are stamped with historical times; their age limit counts from the
        # wall clock, or --deliver would find every one already expired.
        max_age = clock.now() - self.start + DEFAULT_MAX_AGE
        service = build_notification(
            config,
            wiring,
            receivers,
            max_age=max_age,
            status_url=self.settings.external_url,
            receiver_alerts=False,
            wall_clock_silences=False,
            on_enqueue=lambda entry: self._enqueued(entry, receivers.by_name),
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

    def _enqueued(self, entry: OutboxEntry, receivers: dict[str, Receiver]) -> None:
        self.notifications.append(entry.notification)
        printed = _printed(entry, receivers)
        coarse = self._coarseness(entry.notification)
        if coarse is not None:
            printed["coarse"] = coarse
        print(json.dumps(printed), file=self.out, flush=True)

    def _coarseness(self, notification: Notification) -> dict[str, str] | None:
        """How coarsely the alerts of a notification were judged, if any was: the step and
        the shortest interval of their groups that the step is coarser than."""
        groups = [self.coarse[a.rule] for a in notification.alerts if a.rule in self.coarse]
        if not groups or self.step is None:
            return None
        interval = min(group.interval for group in groups)
        return {"step": _seconds(self.step), "interval": _seconds(interval)}


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
