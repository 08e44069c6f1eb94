"""Loaded, checked rules: what the planner and the engine work from."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from alertd.errors import Location
from alertd.model import Severity
from alertd.rules.ast import BoundAggregate, ValueExpr, bound_aggregates
from alertd.rules.schema import Dataset
from alertd.rules.source_specs import SourceSpec
from alertd.rules.thresholds import Threshold

NoData = Literal["keep", "ok", "alert"]


@dataclass(frozen=True)
class Rule:
    """One alerting rule; its identity is its name plus its group-by labels."""

    name: str
    group: str
    location: Location
    value: ValueExpr
    value_text: str
    by: tuple[str, ...]
    window: dt.timedelta
    min_samples: int
    thresholds: Mapping[Severity, Threshold]
    recover: Threshold | None
    for_: dt.timedelta
    keep_firing_for: dt.timedelta
    no_data: NoData
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    # How values and thresholds are shown to people; None shows plain numbers.
    unit: str | None = None
    # Annotations shown as links besides `runbook_url` and `dashboard_url`.
    links: tuple[str, ...] = ()
    # How sure the sampled rows must make us before a breach or a recovery counts
    # (engine/significance.py); None judges the value alone.
    confidence: float | None = None

    @property
    def aggregates(self) -> list[BoundAggregate]:
        return bound_aggregates(self.value)

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.dataset for a in self.aggregates))


@dataclass(frozen=True)
class Group:
    """Rules evaluated together at one interval."""

    name: str
    interval: dt.timedelta
    rules: tuple[Rule, ...]
    location: Location


@dataclass(frozen=True)
class RuleSet:
    datasets: Mapping[str, Dataset]
    groups: tuple[Group, ...]
    # Sources besides AE, by name; each also names a dataset in `datasets`.
    sources: Mapping[str, SourceSpec] = field(default_factory=dict)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(rule for group in self.groups for rule in group.rules)

    def without(self, names: set[str]) -> RuleSet:
        """The same rule set minus the named rules."""
        groups = tuple(
            dataclasses.replace(g, rules=tuple(r for r in g.rules if r.name not in names))
            for g in self.groups
        )
        return RuleSet(self.datasets, groups, self.sources)
