"""The Store role: what the engine writes after each tick and reads back after a restart."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from alertd.errors import StoreError
from alertd.model import AlertState, SeriesPoint, Transition

UTC = dt.UTC


@dataclass(frozen=True)
class Commit:
    """Everything one tick of one rule group changed, written all together or not at all.

    `states` are upserted by fingerprint, then the fingerprints in `removed` (alerts that
    went inactive) are deleted, so a fingerprint in both ends up deleted. `transitions` are
    appended; `points` join each series' bounded history, replacing a point at the same time.
    """

    at: dt.datetime
    group: str
    states: tuple[AlertState, ...] = ()
    removed: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()
    points: tuple[SeriesPoint, ...] = ()


class Store(Protocol):
    """Where alert state lives between ticks and across restarts.

    Every time a store returns is timezone-aware UTC, to the microsecond. `commit` raises
    `StoreError` when it cannot write, and then has written nothing.
    """

    async def load(self) -> dict[str, AlertState]:
        """Every alert's state, by fingerprint."""
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

    async def aclose(self) -> None:
        """Release the store's resources; calling it twice is harmless."""
        ...


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
