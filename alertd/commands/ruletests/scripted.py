"""What a declared source answers in a rule test: the records its input series give.

A series on a source (`dataset:` naming it) holds the source's answer over time: its
`blobs` are the labels, its `values` the numbers it reports at each step. A fetch at `t`
returns each series' step in force just before `t`, as the source would report it then.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from alertd.query.records import Record
from alertd.rules.source_specs import SourceSpec, WorkersGraphqlSpec
from alertd.sources.base import RecordSource

from .spec import Series


class ScriptedSource:
    """A `RecordSource` replaying the input series of one source."""

    def __init__(
        self, name: str, spec: SourceSpec, series: list[Series], start: dt.datetime
    ) -> None:
        self.name = name
        self._spec = spec
        self._series = series
        self._start = start

    async def fetch(self, since: dt.datetime, until: dt.datetime) -> list[Record]:
        records: list[Record] = []
        for series in self._series:
            step = math.ceil((until - self._start) / series.every) - 1
            row = {name: v[step] for name, v in series.values.items() if 0 <= step < len(v)}
            if not row or all(value is None for value in row.values()):
                continue  # before the series starts, after it ends, or `_`: no record
            record: dict[str, str | float | None] = {**series.blobs, **row}
            if isinstance(self._spec, WorkersGraphqlSpec):
                script = self._spec.scripts.get(str(series.blobs.get("scriptName")))
                record["cpuLimitMs"] = script.cpu_ms if script else None
            records.extend([record] * series.rows)
        return records

    async def aclose(self) -> None:
        return None


def scripted_sources(
    specs: Mapping[str, SourceSpec], input_series: list[Series], start: dt.datetime
) -> dict[str, RecordSource]:
    return {
        name: ScriptedSource(name, spec, [s for s in input_series if s.dataset == name], start)
        for name, spec in specs.items()
    }
