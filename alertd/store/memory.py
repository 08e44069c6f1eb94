"""A `Store` in memory: what `alertd backtest` and tests use where a file adds nothing."""

from __future__ import annotations

import bisect
import datetime as dt

from alertd.model import AlertState, SeriesPoint, Transition
from alertd.store.base import Commit, as_utc, check_limit, normalized


class MemoryStore:
    """Keeps what a `SqliteStore` keeps, with the same history bound, until it is dropped."""

    def __init__(self, *, history_limit: int = 120) -> None:
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {history_limit}")
        self._history_limit = history_limit
        self._states: dict[str, AlertState] = {}
        # Both lists stay sorted by time, so reads never sort and appends stay cheap.
        self._points: dict[str, list[SeriesPoint]] = {}
        self._transitions: list[Transition] = []

    def __repr__(self) -> str:
        return f"MemoryStore(history_limit={self._history_limit})"

    async def load(self) -> dict[str, AlertState]:
        return dict(self._states)

    async def commit(self, commit: Commit) -> None:
        # Everything that can fail happens in `normalized`; nothing below it raises, so a
        # commit is applied whole or not at all.
        commit = normalized(commit)
        for state in commit.states:
            self._states[state.fingerprint] = state
        for fingerprint in commit.removed:
            self._states.pop(fingerprint, None)
        for transition in commit.transitions:
            # insort_right puts a transition after others at the same time: commit order.
            bisect.insort_right(self._transitions, transition, key=_at)
        for point in commit.points:
            self._add_point(point)

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

    async def aclose(self) -> None:
        return None

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
