"""A `Store` in memory: what `alertd backtest` and tests use where a file adds nothing."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from collections.abc import Iterable

from alertd.errors import StoreError
from alertd.model import (
    AlertState,
    Delivery,
    GroupState,
    OutboxEntry,
    SeriesPoint,
    SilenceRecord,
    Transition,
)
from alertd.store.base import (
    Commit,
    Pruned,
    Queued,
    as_loaded,
    as_utc,
    check_limit,
    entry_in_utc,
    normalized,
    revived,
    silence_in_utc,
    supersede,
)


class MemoryStore:
    """Keeps what a `SqliteStore` keeps, with the same history bound, until it is dropped.

    `supersede=False` keeps every enqueued notification pending until it is sent: a replay
    that delivers history after the fact sends each one it made, as history happened.
    """

    def __init__(self, *, history_limit: int = 120, supersede: bool = True) -> None:
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {history_limit}")
        self._history_limit = history_limit
        self._supersedes = supersede
        self._states: dict[str, AlertState] = {}
        # Each rule's last evaluation, which its unwritten states' times move with.
        self._evaluated: dict[str, dt.datetime] = {}
        # Both lists stay sorted by time, so reads never sort and appends stay cheap.
        self._points: dict[str, list[SeriesPoint]] = {}
        self._transitions: list[Transition] = []
        self._groups: dict[str, GroupState] = {}
        # In enqueue order; `_by_creation` sorts stably, so that order breaks created_at ties.
        self._outbox: dict[str, OutboxEntry] = {}
        # Each receiver's group's entry ids in enqueue order, so superseding reads one group.
        self._queues: dict[tuple[str, str], list[str]] = {}
        self._silences: dict[str, SilenceRecord] = {}

    def __repr__(self) -> str:
        return f"MemoryStore(history_limit={self._history_limit}, supersede={self._supersedes})"

    async def load(self) -> dict[str, AlertState]:
        evaluated = self._evaluated
        return {fp: as_loaded(s, evaluated.get(s.rule)) for fp, s in self._states.items()}

    async def commit(self, commit: Commit) -> None:
        # Everything that can fail happens in `normalized`; nothing below it raises, so a
        # commit is applied whole or not at all.
        commit = normalized(commit)
        for state in commit.states:
            self._states[state.fingerprint] = state
        for fingerprint in commit.removed:
            self._states.pop(fingerprint, None)
        for rule in commit.evaluated:
            self._evaluated[rule] = commit.at
        for transition in commit.transitions:
            # insort_right puts a transition after others at the same time: commit order.
            bisect.insort_right(self._transitions, transition, key=_at)
        for point in commit.points:
            self._add_point(point)
        for group in commit.groups:
            self._groups[group.key] = group
        for key in commit.dropped_groups:
            self._groups.pop(key, None)
        for entry in commit.outbox:
            if entry.id not in self._outbox:
                self._outbox[entry.id] = entry
                self._queues.setdefault(_queue_of(entry), []).append(entry.id)
                self._supersede(_queue_of(entry))

    async def history(self, fingerprint: str, limit: int = 120) -> list[SeriesPoint]:
        check_limit(limit)
        points = self._points.get(fingerprint, [])
        return points[max(0, len(points) - limit) :]

    async def transitions(
        self, *, since: dt.datetime | None = None, limit: int = 1000
    ) -> list[Transition]:
        check_limit(limit)
        start = (
            0 if since is None else bisect.bisect_left(self._transitions, as_utc(since), key=_at)
        )
        start = max(start, len(self._transitions) - limit)
        return self._transitions[start:]

    async def load_groups(self) -> dict[str, GroupState]:
        return dict(self._groups)

    async def due(self, receiver: str, now: dt.datetime, limit: int = 100) -> list[OutboxEntry]:
        check_limit(limit)
        now = as_utc(now)
        pending = (
            e
            for e in self._outbox.values()
            if e.status is Delivery.PENDING and e.notification.receiver == receiver
        )
        heads: dict[str, OutboxEntry] = {}
        for entry in _by_creation(pending):
            heads.setdefault(entry.notification.group_key, entry)
        # `heads` keeps creation order: a group's place is that of its oldest pending entry.
        return [e for e in heads.values() if e.next_attempt_at <= now][:limit]

    async def record(self, entry: OutboxEntry) -> None:
        entry = entry_in_utc(entry)
        stored = self._outbox.get(entry.id)
        if stored is None:
            raise StoreError(f"no outbox entry has the id {entry.id!r}")
        if stored.status is Delivery.SUPERSEDED and entry.status is Delivery.PENDING:
            self._outbox[entry.id] = dataclasses.replace(stored, attempts=entry.attempts)
        else:
            self._outbox[entry.id] = dataclasses.replace(
                stored,
                status=entry.status,
                attempts=entry.attempts,
                last_error=entry.last_error,
                next_attempt_at=entry.next_attempt_at,
                finished_at=entry.finished_at,
                ref=entry.ref,
            )
        if stored.status is Delivery.SUPERSEDED:
            self._revive(stored, entry)

    async def is_pending(self, entry_id: str) -> bool:
        stored = self._outbox.get(entry_id)
        return stored is not None and stored.status is Delivery.PENDING

    async def outbox(
        self, *, status: Delivery | None = None, limit: int = 1000
    ) -> list[OutboxEntry]:
        check_limit(limit)
        chosen = (e for e in self._outbox.values() if status is None or e.status is status)
        entries = _by_creation(chosen)
        return entries[max(0, len(entries) - limit) :]

    async def last_ref(self, receiver: str, group_key: str) -> str | None:
        for entry in reversed(_by_creation(self._outbox.values())):
            n = entry.notification
            delivered = entry.status is Delivery.DELIVERED and entry.ref is not None
            if delivered and n.receiver == receiver and n.group_key == group_key:
                return entry.ref if n.firing else None
        return None

    async def add_silence(self, silence: SilenceRecord) -> None:
        silence = silence_in_utc(silence)
        self._silences[silence.id] = silence

    async def silences(self, *, active_at: dt.datetime | None = None) -> list[SilenceRecord]:
        at = None if active_at is None else as_utc(active_at)
        chosen = (s for s in self._silences.values() if at is None or s.starts_at <= at < s.ends_at)
        return sorted(chosen, key=lambda s: (s.starts_at, s.id))

    async def expire_silence(self, silence_id: str, at: dt.datetime) -> bool:
        at = as_utc(at)
        silence = self._silences.get(silence_id)
        if silence is None:
            return False
        if silence.ends_at > at:
            # One that has not started by `at` starts there too, so it never ends first.
            starts_at = min(silence.starts_at, at)
            self._silences[silence_id] = dataclasses.replace(
                silence, starts_at=starts_at, ends_at=at
            )
        return True

    async def prune(self, before: dt.datetime) -> Pruned:
        before = as_utc(before)
        newest_refs: dict[tuple[str, str], str] = {}
        # The newest entry each receiver may have of each group: kept while it is firing,
        # so the group's resolve is not superseded as having nothing to resolve.
        newest_seen: dict[tuple[str, str], OutboxEntry] = {}
        for e in _by_creation(self._outbox.values()):
            if e.status is Delivery.DELIVERED and e.ref is not None:
                newest_refs[_queue_of(e)] = e.id
            if Queued.of(e).tells:
                newest_seen[_queue_of(e)] = e
        kept = {
            *newest_refs.values(),
            *(e.id for e in newest_seen.values() if e.notification.firing),
        }
        old_entries = [
            key
            for key, e in self._outbox.items()
            if e.finished_at is not None and e.finished_at < before and key not in kept
        ]
        for key in old_entries:
            self._queues[_queue_of(self._outbox[key])].remove(key)
            del self._outbox[key]
        old_silences = [key for key, s in self._silences.items() if s.ends_at < before]
        for key in old_silences:
            del self._silences[key]
        recent_transitions = [t for t in self._transitions if t.at >= before]
        pruned_transitions = len(self._transitions) - len(recent_transitions)
        self._transitions = recent_transitions
        pruned_points = 0
        for fingerprint, points in list(self._points.items()):
            recent = [p for p in points if p.at >= before]
            pruned_points += len(points) - len(recent)
            if recent:
                self._points[fingerprint] = recent
            else:
                del self._points[fingerprint]
        return Pruned(pruned_transitions, pruned_points, len(old_entries), len(old_silences))

    async def aclose(self) -> None:
        return None

    def _group(self, queue: tuple[str, str]) -> list[OutboxEntry]:
        return _by_creation(self._outbox[i] for i in self._queues.get(queue, []))

    def _supersede(self, queue: tuple[str, str]) -> None:
        if not self._supersedes:
            return
        entries = self._group(queue)
        pending = [e for e in entries if e.status is Delivery.PENDING]
        if not pending:
            return
        newest = pending[-1]
        seen = [q for q in map(Queued.of, entries) if q.id != newest.id and q.tells]
        for entry_id, reason in supersede(
            [Queued.of(e) for e in pending], seen[-1] if seen else None
        ):
            self._outbox[entry_id] = dataclasses.replace(
                self._outbox[entry_id],
                status=Delivery.SUPERSEDED,
                last_error=reason,
                finished_at=newest.notification.created_at,
            )

    def _revive(self, stored: OutboxEntry, outcome: OutboxEntry) -> None:
        entries = self._group(_queue_of(stored))
        newest = entries[-1]
        if revived(outcome, Queued.of(newest), newer=newest.id != stored.id):
            self._outbox[newest.id] = dataclasses.replace(
                newest, status=Delivery.PENDING, last_error=None, finished_at=None
            )

    def _add_point(self, point: SeriesPoint) -> None:
        points = self._points.setdefault(point.fingerprint, [])
        i = bisect.bisect_left(points, point.at, key=_at)
        if i < len(points) and points[i].at == point.at:
            points[i] = point
        else:
            points.insert(i, point)
        del points[: max(0, len(points) - self._history_limit)]


def _at(item: Transition | SeriesPoint) -> dt.datetime:
    return item.at


def _by_creation(entries: Iterable[OutboxEntry]) -> list[OutboxEntry]:
    return sorted(entries, key=lambda e: e.notification.created_at)


def _queue_of(entry: OutboxEntry) -> tuple[str, str]:
    return entry.notification.receiver, entry.notification.group_key
