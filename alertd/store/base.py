"""The Store role: what the engine and the notification pipeline write, and read back.

One `Commit` carries a tick's alert states and transitions together with the notification
groups and outbox entries they caused, so a crash between the two loses nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from alertd.errors import StoreError
from alertd.model import (
    AlertSnapshot,
    AlertState,
    Delivery,
    GroupState,
    Notification,
    OutboxEntry,
    SeriesPoint,
    SilenceRecord,
    Transition,
)

UTC = dt.UTC


@dataclass(frozen=True)
class Commit:
    """Everything one tick of one rule group changed, written all together or not at all.

    `states` are upserted by fingerprint, then the fingerprints in `removed` (alerts that
    went inactive) are deleted, so a fingerprint in both ends up deleted. `evaluated` names
    the rules every alert of which was judged at `at`: their states need not be written
    again when only their times moved with the tick (see `unchanged` and `as_loaded`).
    `transitions` are appended; `points` join each series' bounded history, replacing a
    point at the same time.

    `groups` are upserted by key, then the keys in `dropped_groups` are deleted (a key in
    both ends up deleted). `outbox` entries are inserted; an entry whose id is already
    stored, or repeated within the commit, is ignored, so a step that is redone after a
    crash never enqueues a notification twice. Each inserted entry supersedes, in the same
    transaction, what its receiver and group still had queued (see `supersede`). A commit
    may hold only notification parts.
    """

    at: dt.datetime
    group: str
    states: tuple[AlertState, ...] = ()
    removed: tuple[str, ...] = ()
    evaluated: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()
    points: tuple[SeriesPoint, ...] = ()
    groups: tuple[GroupState, ...] = ()
    dropped_groups: tuple[str, ...] = ()
    outbox: tuple[OutboxEntry, ...] = ()


@dataclass(frozen=True)
class Pruned:
    """How many old records one `prune` deleted, by kind."""

    transitions: int = 0
    points: int = 0
    outbox: int = 0
    silences: int = 0


class AlertStates(Protocol):
    """The alert-state role: what the evaluator reads at start and commits each tick.

    Every time a store returns is timezone-aware UTC, to the microsecond. `commit` raises
    `StoreError` when it cannot write, and then has written nothing.
    """

    async def load(self) -> dict[str, AlertState]:
        """Every alert's state, by fingerprint, as `as_loaded` reads what was committed."""
        ...

    async def commit(self, commit: Commit) -> None:
        """Apply `commit` in one transaction: all of it or, on error, none of it."""
        ...

    async def history(self, fingerprint: str, limit: int = 120) -> list[SeriesPoint]:
        """The newest `limit` points of one series, oldest first."""
        ...

    async def transitions(
        self, *, since: dt.datetime | None = None, limit: int = 1000
    ) -> list[Transition]:
        """The newest `limit` transitions at or after `since`, oldest first.

        Transitions at the same time keep the order they were committed in.
        """
        ...


class Notifications(Protocol):
    """The notification role: groups and the outbox the notifier and its deliverer share.

    `commit` is the same one transaction as in `AlertStates`: a tick's states and the
    notifications they caused are written together.
    """

    async def load_groups(self) -> dict[str, GroupState]:
        """Every notification group, by key."""
        ...

    async def commit(self, commit: Commit) -> None:
        """Apply `commit` in one transaction: all of it or, on error, none of it."""
        ...

    async def due(self, receiver: str, now: dt.datetime, limit: int = 100) -> list[OutboxEntry]:
        """The pending entries of `receiver` to attempt at `now`, oldest `created_at` first.

        Only the oldest pending entry of each `group_key` is ever due, and only once its
        `next_attempt_at` has come: a group's notifications go out one at a time, in the
        order they were made, so a resolve never overtakes the trigger before it. Entries
        with the same `created_at` keep the order they were committed in. An entry whose
        row cannot be read is set aside as failed, saying why, and the rest are returned.
        """
        ...

    async def is_pending(self, entry_id: str) -> bool:
        """Whether that entry still waits to be sent (False once finished or superseded)."""
        ...

    async def record(self, entry: OutboxEntry) -> None:
        """Store the outcome of a delivery attempt for the entry with `entry.id`.

        Only status, attempts, last_error, next_attempt_at, finished_at and ref change; the
        notification and its expiry stay as enqueued. Raises `StoreError` for an unknown id.

        An entry superseded while its attempt was in flight stays superseded on a retry
        outcome (only its attempts change); any other outcome is stored as it happened. If
        the attempt may have reached the receiver, the group's newest entry, when it was
        superseded unsent for having nothing to resolve, is pending again (`revived`).
        """
        ...

    async def outbox(
        self, *, status: Delivery | None = None, limit: int = 1000
    ) -> list[OutboxEntry]:
        """The newest `limit` entries (only those in `status`, if given), newest last."""
        ...

    async def last_ref(self, receiver: str, group_key: str) -> str | None:
        """The `ref` of the newest delivered entry of that receiver and group that has one;
        None when that entry is a resolve, whose incident is over.

        This is how a resolve finds the message it should update (a Slack message ts), and
        not the message of an incident resolved before.
        """
        ...


class Silences(Protocol):
    """The silences role: what `alertd silence`, the API and the notifier share."""

    async def add_silence(self, silence: SilenceRecord) -> None:
        """Store `silence`, replacing a stored one with the same id."""
        ...

    async def silences(self, *, active_at: dt.datetime | None = None) -> list[SilenceRecord]:
        """Every silence, or those with `starts_at <= active_at < ends_at`; by start, then id."""
        ...

    async def expire_silence(self, silence_id: str, at: dt.datetime) -> bool:
        """End the silence at `at` if it ended later; False when no such silence is stored.

        A silence that has not started by `at` also starts at `at`, so it never ends
        before it starts and never mutes anything.
        """
        ...


class Store(AlertStates, Notifications, Silences, Protocol):
    """Where alert state lives between ticks and across restarts: every role, kept and
    pruned together, in one place (memory, an SQLite file, a PostgreSQL database).
    """

    async def prune(self, before: dt.datetime) -> Pruned:
        """Delete what is only history by `before`, so a store that runs for months stays small.

        Goes: transitions and series points from before `before`; outbox entries that
        finished (delivered, failed, expired) before it; silences that ended before it.
        Stays, whatever its age: every pending entry, each receiver's and group's
        newest delivered entry with a `ref`, which a later resolve still updates, and
        its newest entry that may be what the receiver shows (`Queued.tells`) when that
        one is firing, so a later resolve is still owed (see `supersede`).
        """
        ...

    async def aclose(self) -> None:
        """Release the store's resources; calling it twice is harmless."""
        ...


@dataclass(frozen=True)
class Queued:
    """What superseding needs to know of one outbox entry of a group."""

    id: str
    firing: bool
    status: Delivery
    attempts: int

    @classmethod
    def of(cls, entry: OutboxEntry) -> Queued:
        return cls(entry.id, entry.notification.firing, entry.status, entry.attempts)

    @property
    def maybe_seen(self) -> bool:
        """Whether the receiver may have this notification: delivered, or attempted and
        not refused (an attempt that timed out may still have arrived)."""
        return self.status is Delivery.DELIVERED or (
            self.attempts > 0 and self.status is not Delivery.FAILED
        )

    @property
    def tells(self) -> bool:
        """Whether it may be what the receiver shows of its group now: one delivered, or a
        trigger that may have arrived. A resolve not known to have arrived (a timeout, a
        429) may not have closed what the trigger before it opened, so it does not count."""
        return self.status is Delivery.DELIVERED or (self.maybe_seen and self.firing)


NOTHING_TO_RESOLVE = "superseded: the receiver was sent nothing of this group to resolve"


def supersede(pending: list[Queued], last_seen: Queued | None) -> list[tuple[str, str]]:
    """The entries of one receiver's group to mark superseded, each with its reason.

    `pending` is the group's queue, oldest first; `last_seen` its newest other entry that
    may be what the receiver shows (`Queued.tells`). Every notification carries the group's whole
    state, so only the newest pending one needs to go: the older ones are stale. The
    newest goes too, unless it is a resolve and the receiver last saw nothing firing
    (nothing, or a resolve): a trigger never sent needs no resolve. A resolve after a
    trigger that may have arrived always goes.
    """
    if not pending:
        return []
    newest = pending[-1]
    stale = [(q.id, f"superseded by {newest.id}") for q in pending[:-1]]
    shows_firing = last_seen is not None and last_seen.firing
    if not newest.firing and newest.attempts == 0 and not shows_firing:
        stale.append((newest.id, NOTHING_TO_RESOLVE))
    return stale


def revived(recorded: OutboxEntry, newest: Queued, newer: bool) -> bool:
    """Whether `newest`, the group's newest entry, goes again after `recorded`, an entry
    superseded while in flight, came back with this outcome.

    It does when it was superseded unsent for having nothing to resolve (`newer` says it
    was made after `recorded`) and `recorded` may have reached the receiver after all.
    """
    outcome = Queued.of(recorded)
    return (
        newer
        and outcome.maybe_seen
        and newest.status is Delivery.SUPERSEDED
        and newest.attempts == 0
        and not newest.firing
    )


def unchanged(before: AlertState | None, after: AlertState, *, evaluated: bool) -> bool:
    """Whether a store holding `before` holds `after` already, so a tick need not write it.

    For an alert of a rule the commit names `evaluated`, the store keeps the rule's last
    evaluation time, and `as_loaded` moves `last_eval` to it, with `last_breach` and
    `last_seen` when they were that evaluation's (the condition held, the series was
    seen). So such a state is unchanged when its status, severity, clocks and evidence
    are, and it breaches and is seen as it was at the tick before. Its value and samples
    stay as last written: what the alert showed when it last changed. Every other state
    is unchanged only when equal.
    """
    if before is None:
        return False
    if not evaluated:
        return before == after
    return (
        before.status is after.status
        and before.severity is after.severity
        and before.active_since == after.active_since
        and before.firing_since == after.firing_since
        and before.evidence == after.evidence
        and before.labels == after.labels
        and before.rule == after.rule
        and _moves_with(before.last_breach, before) == _moves_with(after.last_breach, after)
        and _moves_with(before.last_seen, before) == _moves_with(after.last_seen, after)
    )


def _moves_with(at: dt.datetime | None, state: AlertState) -> dt.datetime | bool:
    """True when `at` is the state's last evaluation (it moves with later ones), else `at`
    itself (it stays)."""
    if at is not None and at == state.last_eval:
        return True
    return at if at is not None else False


def as_loaded(state: AlertState, evaluated_at: dt.datetime | None) -> AlertState:
    """`state` as last written, read back after its rule was last evaluated at
    `evaluated_at` (None: unknown): `last_eval` is that evaluation, and `last_breach` and
    `last_seen` move with it when they were the written state's `last_eval`."""
    last_eval = state.last_eval
    if evaluated_at is None or last_eval is None or evaluated_at <= last_eval:
        return state
    return dataclasses.replace(
        state,
        last_eval=evaluated_at,
        last_breach=evaluated_at if state.last_breach == last_eval else state.last_breach,
        last_seen=evaluated_at if state.last_seen == last_eval else state.last_seen,
    )


def normalized(commit: Commit) -> Commit:
    """`commit` with every time in UTC; raises `StoreError` for a naive time.

    A naive datetime names no instant, so no store can keep it faithfully. Checking before
    writing lets every store refuse the same commits and stay all-or-nothing.
    """
    return dataclasses.replace(
        commit,
        at=as_utc(commit.at),
        states=tuple(_state_in_utc(s) for s in commit.states),
        transitions=tuple(_transition_in_utc(t) for t in commit.transitions),
        points=tuple(_point_in_utc(p) for p in commit.points),
        groups=tuple(group_in_utc(g) for g in commit.groups),
        outbox=tuple(entry_in_utc(e) for e in commit.outbox),
    )


def as_utc(at: dt.datetime) -> dt.datetime:
    """The same instant in UTC; raises `StoreError` when `at` is naive."""
    if at.utcoffset() is None:
        raise StoreError(f"cannot store the naive datetime {at.isoformat()}: give it a timezone")
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def check_limit(limit: int) -> None:
    """Refuse a negative read limit, which SQL would read as 'no limit'."""
    if limit < 0:
        raise ValueError(f"limit must be zero or more, not {limit}")


def group_in_utc(group: GroupState) -> GroupState:
    """`group` with every time in UTC; raises `StoreError` for a naive time."""
    first_seen, last_flush = as_utc(group.first_seen), _optional_utc(group.last_flush)
    notified = tuple(_snapshot_in_utc(a) for a in group.notified)
    return dataclasses.replace(
        group, first_seen=first_seen, last_flush=last_flush, notified=notified
    )


def entry_in_utc(entry: OutboxEntry) -> OutboxEntry:
    """`entry` with every time in UTC; raises `StoreError` for a naive time."""
    return dataclasses.replace(
        entry,
        notification=_notification_in_utc(entry.notification),
        expires_at=as_utc(entry.expires_at),
        next_attempt_at=as_utc(entry.next_attempt_at),
        finished_at=_optional_utc(entry.finished_at),
    )


def silence_in_utc(silence: SilenceRecord) -> SilenceRecord:
    """`silence` with both times in UTC; raises `StoreError` for a naive time."""
    return dataclasses.replace(
        silence, starts_at=as_utc(silence.starts_at), ends_at=as_utc(silence.ends_at)
    )


def _optional_utc(at: dt.datetime | None) -> dt.datetime | None:
    return None if at is None else as_utc(at)


def _state_in_utc(state: AlertState) -> AlertState:
    times = (
        state.active_since,
        state.firing_since,
        state.last_breach,
        state.last_seen,
        state.last_eval,
    )
    active_since, firing_since, last_breach, last_seen, last_eval = map(_optional_utc, times)
    # Most states are already in UTC; copying them on every tick would cost for nothing.
    if all(at is None or at.tzinfo is UTC for at in times):
        return state
    return dataclasses.replace(
        state,
        active_since=active_since,
        firing_since=firing_since,
        last_breach=last_breach,
        last_seen=last_seen,
        last_eval=last_eval,
    )


def _transition_in_utc(transition: Transition) -> Transition:
    at = as_utc(transition.at)
    return transition if at is transition.at else dataclasses.replace(transition, at=at)


def _point_in_utc(point: SeriesPoint) -> SeriesPoint:
    at = as_utc(point.at)
    return point if at is point.at else dataclasses.replace(point, at=at)


def _notification_in_utc(notification: Notification) -> Notification:
    return dataclasses.replace(
        notification,
        created_at=as_utc(notification.created_at),
        alerts=tuple(_snapshot_in_utc(a) for a in notification.alerts),
    )


def _snapshot_in_utc(snapshot: AlertSnapshot) -> AlertSnapshot:
    return dataclasses.replace(
        snapshot, starts_at=as_utc(snapshot.starts_at), ends_at=_optional_utc(snapshot.ends_at)
    )
