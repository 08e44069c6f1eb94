"""What the rules cost in Analytics Engine read queries, and what that is billed.

Every SQL API POST is one billable read query, however much it reads. The figures come
from the planner itself, so they are exactly the statements a tick sends.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from alertd.query.plan import plan
from alertd.rules.ruleset import Group, RuleSet

# Any instant plans the same statements: only the time bounds change between ticks.
PLAN_INSTANT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MONTH = dt.timedelta(days=30)
DAY = dt.timedelta(days=1)

# developers.cloudflare.com/analytics/analytics-engine/pricing/: Workers Paid includes
# 1 million read queries a month, then $1.00 per additional million; Workers Free
# includes 10,000 a day.
PAID_INCLUDED_PER_MONTH = 1_000_000
PAID_DOLLARS_PER_MILLION = 1.00
FREE_INCLUDED_PER_DAY = 10_000


@dataclass(frozen=True)
class GroupCost:
    """One group's statements per tick, and what one query per rule and dataset (what
    other alerting daemons send) would be instead. `sources` counts the queries a tick
    sends to each declared source besides AE (one per source, for all its rules)."""

    group: str
    interval: dt.timedelta
    statements: int
    one_per_rule: int
    sources: tuple[tuple[str, int], ...] = ()

    def per(self, period: dt.timedelta, statements: int) -> int:
        """`statements` a tick over `period`: one tick every interval."""
        return statements * math.floor(period / self.interval)


@dataclass(frozen=True)
class SourceCost:
    """The queries one declared source besides AE receives, and the budget it has."""

    source: str
    kind: str
    per_tick: int
    per_five_minutes: int
    per_month: int
    budget: tuple[int, dt.timedelta] | None  # at most so many queries in so long


@dataclass(frozen=True)
class Cost:
    groups: tuple[GroupCost, ...]
    sources: tuple[SourceCost, ...] = ()

    @property
    def statements(self) -> int:
        return sum(g.statements for g in self.groups)

    @property
    def one_per_rule(self) -> int:
        return sum(g.one_per_rule for g in self.groups)

    def per_month(self, *, batched: bool = True) -> int:
        return sum(g.per(MONTH, g.statements if batched else g.one_per_rule) for g in self.groups)

    def per_day(self, *, batched: bool = True) -> int:
        return sum(g.per(DAY, g.statements if batched else g.one_per_rule) for g in self.groups)


FIVE_MINUTES = dt.timedelta(minutes=5)


def cost_of(ruleset: RuleSet) -> Cost:
    """Each group planned on its own, as the daemon ticks it."""
    groups = tuple(_group_cost(group, ruleset) for group in ruleset.groups)
    return Cost(groups, _source_costs(groups, ruleset))


def _group_cost(group: Group, ruleset: RuleSet) -> GroupCost:
    planned = plan(group.rules, ruleset.datasets, PLAN_INSTANT)
    on_ae = [q for q in planned.queries if q.key.dataset not in ruleset.sources]
    naive = sum(
        1 for rule in group.rules for dataset in rule.datasets if dataset not in ruleset.sources
    )
    # A tick fetches each source once, however many of its statements the plan holds.
    fetched = sorted({q.key.dataset for q in planned.queries} & set(ruleset.sources))
    sources = tuple((name, 1) for name in fetched)
    return GroupCost(group.name, group.interval, len(on_ae), naive, sources)


def _source_costs(groups: tuple[GroupCost, ...], ruleset: RuleSet) -> tuple[SourceCost, ...]:
    costs: list[SourceCost] = []
    for name, spec in ruleset.sources.items():
        ticking = [(g, n) for g in groups for source, n in g.sources if source == name]
        budget = (spec.max_queries, spec.per) if spec.type == "workers_graphql" else None
        costs.append(
            SourceCost(
                name,
                spec.type,
                sum(n for _, n in ticking),
                sum(g.per(FIVE_MINUTES, n) for g, n in ticking),
                sum(g.per(MONTH, n) for g, n in ticking),
                budget,
            )
        )
    return tuple(costs)


def paid_bill(queries_per_month: int) -> float:
    """Dollars a month on Workers Paid for this many read queries."""
    beyond = max(0, queries_per_month - PAID_INCLUDED_PER_MONTH)
    return beyond / 1_000_000 * PAID_DOLLARS_PER_MILLION
