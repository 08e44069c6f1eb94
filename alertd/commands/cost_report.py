"""`alertd check --cost`: the AE read queries the rules send, as a table or JSON."""

from __future__ import annotations

import json
from typing import TextIO

from alertd.query.cost import (
    FIVE_MINUTES,
    FREE_INCLUDED_PER_DAY,
    MONTH,
    PAID_DOLLARS_PER_MILLION,
    PAID_INCLUDED_PER_MONTH,
    Cost,
    paid_bill,
)
from alertd.rules.durations import format_duration


def print_table(cost: Cost, out: TextIO) -> None:
    rows = [
        (
            g.group,
            format_duration(g.interval),
            f"{g.statements:,}",
            f"{g.per(MONTH, g.statements):,}",
            f"{g.per(MONTH, g.one_per_rule):,}",
        )
        for g in cost.groups
    ]
    rows.append(
        (
            "total",
            "",
            f"{cost.statements:,}",
            f"{cost.per_month():,}",
            f"{cost.per_month(batched=False):,}",
        )
    )
    header = ("group", "interval", "per tick", "per month", "one per rule+dataset")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("AE read queries (a month is 30 days):", file=out)
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  " + "  ".join(cells).rstrip(), file=out)
    month, naive = cost.per_month(), cost.per_month(batched=False)
    print(
        f"Workers Paid ({PAID_INCLUDED_PER_MONTH:,} a month included, then "
        f"${PAID_DOLLARS_PER_MILLION:.2f} per million): ${paid_bill(month):.2f} a month; "
        f"one query per rule and dataset: ${paid_bill(naive):.2f}",
        file=out,
    )
    day, naive_day = cost.per_day(), cost.per_day(batched=False)
    print(
        f"Workers Free ({FREE_INCLUDED_PER_DAY:,} a day included): {day:,} a day, "
        f"{_fits(day)}; one query per rule and dataset: {naive_day:,}, {_fits(naive_day)}",
        file=out,
    )


def print_sources(cost: Cost, out: TextIO) -> None:
    """The queries sent to each declared source besides AE, against its budget."""
    if not cost.sources:
        return
    print("Other sources' queries (not billed by AE):", file=out)
    for source in cost.sources:
        line = (
            f"  {source.source} ({source.kind}): {source.per_tick} per tick, "
            f"{source.per_five_minutes:,} per 5 minutes, {source.per_month:,} per month"
        )
        if source.budget is not None:
            limit, per = source.budget
            allowed = limit * (FIVE_MINUTES / per)
            fits = "within" if source.per_five_minutes <= allowed else "OVER"
            line += f"; {fits} its budget of {limit} per {format_duration(per)}"
        print(line, file=out)


def print_json(cost: Cost, out: TextIO) -> None:
    month, naive = cost.per_month(), cost.per_month(batched=False)
    document = {
        "groups": [
            {
                "group": g.group,
                "interval_seconds": g.interval.total_seconds(),
                "per_tick": g.statements,
                "per_month": g.per(MONTH, g.statements),
                "one_per_rule_per_tick": g.one_per_rule,
                "one_per_rule_per_month": g.per(MONTH, g.one_per_rule),
            }
            for g in cost.groups
        ],
        "per_tick": cost.statements,
        "per_month": month,
        "per_day": cost.per_day(),
        "one_per_rule_per_tick": cost.one_per_rule,
        "one_per_rule_per_month": naive,
        "one_per_rule_per_day": cost.per_day(batched=False),
        "paid_included_per_month": PAID_INCLUDED_PER_MONTH,
        "paid_dollars_per_million": PAID_DOLLARS_PER_MILLION,
        "paid_dollars_per_month": paid_bill(month),
        "one_per_rule_paid_dollars_per_month": paid_bill(naive),
        "free_included_per_day": FREE_INCLUDED_PER_DAY,
        "sources": [
            {
                "source": s.source,
                "type": s.kind,
                "per_tick": s.per_tick,
                "per_five_minutes": s.per_five_minutes,
                "per_month": s.per_month,
                "budget": None
                if s.budget is None
                else {"queries": s.budget[0], "per_seconds": s.budget[1].total_seconds()},
            }
            for s in cost.sources
        ],
    }
    print(json.dumps(document), file=out)


def _fits(per_day: int) -> str:
    if per_day <= FREE_INCLUDED_PER_DAY:
        return "within it"
    return f"{per_day - FREE_INCLUDED_PER_DAY:,} over"
