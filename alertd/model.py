"""Values that cross package boundaries: queries going to a source and rows coming back."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass

Cell = str | int | float | dt.datetime


@dataclass(frozen=True)
class Query:
    """One SQL statement for one source, with the rules whose numbers it carries."""

    sql: str
    dataset: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Rows:
    """A query's answer: typed columns and one mapping per row, numbers already numbers."""

    columns: tuple[Column, ...]
    data: tuple[Mapping[str, Cell], ...]


class Severity(enum.Enum):
    """How bad a firing alert is; ordered, so an escalation compares greater."""

    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.WARNING: 1, Severity.CRITICAL: 2}
