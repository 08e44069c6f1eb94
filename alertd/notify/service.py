"""Notification at run time: the notifier's own task, woken by the evaluator's commits and
by its groups' timers, and the delivery loop that drains the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping

import anyio
import structlog

from alertd.clock import Clock, wait_first
from alertd.errors import StoreError
from alertd.model import AlertState, Change, NotifyChanges, OutboxEntry, Transition
from alertd.notify.config import NotifyConfig
from alertd.notify.delivery import Deliverer
from alertd.notify.notifier import Notifier
from alertd.notify.receivers.base import Receiver
from alertd.notify.silences import Silence, from_record
from alertd.rules.ruleset import Rule
from alertd.store.base import Commit, Store
from alertd.store.commits import Commits

log = structlog.get_logger(__name__)

ONE_SECOND = dt.timedelta(seconds=1)
# A step that could not be committed is taken again this much later.
RETRY = dt.timedelta(seconds=1)
# Transitions read to find the values of resolves; a storm's resolves fit in one read.
RESOLUTIONS_READ = 10_000
# The longest a step waits for ticks in flight: a slow source delays pages no more.
TICKS_DONE_WAIT = dt.timedelta(seconds=10)


async def active_silences(store: Store, at: dt.datetime) -> list[Silence]:
    return [from_record(r) for r in await store.silences(active_at=at)]


class NotificationService:
    """Runs the notifier beside the evaluator, meeting it in the store; and delivery."""

    def __init__(
        self,
        notifier: Notifier,
        deliverer: Deliverer,
        store: Store,
        clock: Clock,
        *,
        on_enqueue: Callable[[OutboxEntry], None] = lambda _: None,
        wall_clock_silences: bool = True,
    ) -> None:
        self.notifier = notifier
        self.deliverer = deliverer
        self.store = store
        self.clock = clock
        self.on_enqueue = on_enqueue
        self.wall_clock_silences = wall_clock_silences
        self.steps = 0  # notifier steps taken, committed or not
        self._stepped_at: dt.datetime | None = None
        # Set to have the notifier step now, with no commit of alert states (a reload).
        self._poked = anyio.Event()

    def reload(
        self,
        config: NotifyConfig,
        rules: Mapping[str, Rule],
        receivers: Mapping[str, Receiver],
        rates: Mapping[str, float],
    ) -> None:
        """Take new notification settings, rules and receivers, and step at once so new
        routes take effect without waiting for a commit. The groups, their timers and the
        outbox stay as they are."""
        self.notifier.reload(config, rules)
        self.deliverer.reload(receivers, rates)
        self._poked.set()

    async def restore(self) -> None:
        self.notifier.groups = await self.store.load_groups()
        log.info("notifier.restored", groups=len(self.notifier.groups))

    async def decide(self, states: Mapping[str, AlertState], at: dt.datetime) -> NotifyChanges:
        """The notification changes the alert states call for at `at`.

        Silences are people's decisions made on the wall clock: one added or expired now
        takes effect now, not an evaluation delay later. A replay has no such people, and
        takes them at its own time.
        """
        silenced_at = self.clock.now() if self.wall_clock_silences else at
        silences = await active_silences(self.store, silenced_at)
        resolutions = await self._resolutions(states)
        return self.notifier.step(
            states, silences, at, silenced_at=silenced_at, resolutions=resolutions
        )

    async def _resolutions(self, states: Mapping[str, AlertState]) -> dict[str, Transition]:
        """The transitions that resolved the alerts the groups last showed firing: what a
        resolve says of the value comes from them. Read only when there are such alerts."""
        gone, since = self.notifier.awaiting_resolution(states)
        if not gone:
            return {}
        found: dict[str, Transition] = {}
        for transition in await self.store.transitions(since=since, limit=RESOLUTIONS_READ):
            if transition.fingerprint in gone and transition.change is Change.RESOLVED:
                found[transition.fingerprint] = transition  # oldest first: the newest wins
        return found

    def committed(self, changes: NotifyChanges) -> None:
        self.notifier.committed(changes)
        for entry in changes.outbox:
            self.on_enqueue(entry)
        self.deliverer.enqueued({entry.notification.receiver for entry in changes.outbox})

    async def flush(self, states: Mapping[str, AlertState], at: dt.datetime) -> NotifyChanges:
        """One notifier step at `at`: commits the groups and outbox entries it finds."""
        self.steps += 1
        self._stepped_at = at
        changes = await self.decide(states, at)
        if changes:
            commit = Commit(
                at=at,
                group="notify",
                groups=changes.groups,
                dropped_groups=changes.dropped_groups,
                outbox=changes.outbox,
            )
            try:
                await self.store.commit(commit)
            except StoreError as exc:
                self.deliverer.health.write_failed("commit", exc, self.clock.now())
                raise
            self.deliverer.health.wrote(self.clock.now())
            self.committed(changes)
        return changes

    async def catch_up(self, states: Mapping[str, AlertState], through: dt.datetime) -> None:
        """Step at each group timer that expires by `through`, on whole seconds (a replay,
        between two ticks, as the daemon's timers would)."""
        while self._stepped_at is not None:
            due = self.notifier.next_due(self._stepped_at)
            if due is None or (at := _whole_second(due)) > through:
                return
            await self.flush(states, at)

    async def run(
        self,
        states: Callable[[], Mapping[str, AlertState]],
        commits: Commits,
        delay: dt.timedelta,
        ticks_done: Callable[[dt.datetime], Awaitable[None]] | None = None,
    ) -> None:
        """Step the notifier after each commit of alert states and when a group's timer
        expires (evaluation time, `delay` behind the clock); nothing else makes a
        notification due, so between these it sleeps.

        Before each step it waits (a while at most) for `ticks_done(at)`: rule groups due
        at the same instant then reach one notification together, not one now and the
        rest a group_interval later.
        """
        while True:
            at = (self.clock.now() - delay).replace(microsecond=0)
            if ticks_done is not None:
                with anyio.move_on_after(TICKS_DONE_WAIT.total_seconds()):
                    await ticks_done(at)
            woken = commits.next()  # before reading: a commit made meanwhile wakes the next
            if self._poked.is_set():
                self._poked = anyio.Event()
            # Notifier time never goes back, though the wall clock may (NTP).
            at = max(at, self._stepped_at) if self._stepped_at is not None else at
            retry: dt.datetime | None = None
            try:
                await self.flush(states(), at)
            except StoreError as exc:
                # Counted, and logged at error, by the state health; retried shortly.
                log.debug("notifier.commit_failed", at=at.isoformat(), error=str(exc))
                retry = at + RETRY
            except Exception:
                log.exception("notifier.bug", at=at.isoformat())
                retry = at + RETRY
            due = self.notifier.next_due(at)
            wakes = [d for d in (due, retry) if d is not None]
            deadline = _whole_second(min(wakes)) + delay if wakes else None
            await wait_first(self.clock, deadline, woken, self._poked)


def _whole_second(instant: dt.datetime) -> dt.datetime:
    """`instant`, or the next whole second after it: steps are taken on whole seconds."""
    floor = instant.replace(microsecond=0)
    return floor if floor == instant else floor + ONE_SECOND
