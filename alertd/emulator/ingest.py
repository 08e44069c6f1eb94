"""Ingest delay: AE makes a written row visible to SQL only some time after its timestamp.

With `--ingest-delay D[:JITTER]` each row stays out of the tables until its timestamp plus
D seconds plus its own share of JITTER, drawn from a hash of the row so that a run is
reproducible: the same rows become visible at the same instants, whatever the order of
the writes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import heapq
import itertools
import json
import re
import threading
from collections.abc import Callable

from alertd.emulator.points import Point

_SPEC = re.compile(r"(?P<delay>\d+(?:\.\d+)?)(?::(?P<jitter>\d+(?:\.\d+)?))?")
_HASH_SPAN = float(2**64)


class IngestDelayError(ValueError):
    """An `--ingest-delay` value that is not `D` or `D:JITTER` in seconds."""


@dataclasses.dataclass(frozen=True)
class IngestDelay:
    """Every row becomes visible `seconds` after its timestamp, plus up to `jitter` more."""

    seconds: float
    jitter: float = 0.0

    @classmethod
    def parse(cls, text: str) -> IngestDelay:
        match = _SPEC.fullmatch(text.strip())
        if match is None:
            raise IngestDelayError(
                f"--ingest-delay {text!r}: expected seconds, or seconds:jitter (e.g. 45:30)"
            )
        return cls(float(match["delay"]), float(match["jitter"] or 0))

    def of(self, dataset: str, point: Point) -> dt.timedelta:
        """This row's delay: the same for the same row, spread evenly over the jitter."""
        if not self.jitter:
            return dt.timedelta(seconds=self.seconds)
        fields = (dataset, point.timestamp.isoformat(), point.index, point.blobs, point.doubles)
        digest = hashlib.blake2b(json.dumps(fields).encode(), digest_size=8).digest()
        share = int.from_bytes(digest, "big") / _HASH_SPAN
        return dt.timedelta(seconds=self.seconds + share * self.jitter)


class Pending:
    """Rows written but not yet visible, released to `write` once their time has come."""

    def __init__(
        self,
        delay: IngestDelay,
        now: Callable[[], dt.datetime],
        write: Callable[[str, list[Point]], object],
    ) -> None:
        self.delay = delay
        self._now = now
        self._write = write
        self._heap: list[tuple[dt.datetime, int, str, Point]] = []
        self._order = itertools.count()  # ties keep the order of the writes
        self._lock = threading.Lock()

    def add(self, dataset: str, points: tuple[Point, ...]) -> None:
        with self._lock:
            for point in points:
                visible = point.timestamp + self.delay.of(dataset, point)
                heapq.heappush(self._heap, (visible, next(self._order), dataset, point))
        self.release()

    def release(self) -> None:
        """Write every row whose visible time has passed, one INSERT per dataset."""
        now = self._now()
        due: dict[str, list[Point]] = {}
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                _, _, dataset, point = heapq.heappop(self._heap)
                due.setdefault(dataset, []).append(point)
        for dataset, points in due.items():
            self._write(dataset, points)

    def clear(self) -> None:
        with self._lock:
            self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
