"""`alertd check --cost`: the planner's statements per tick, month and bill, checked
against figures worked out by hand for the shipped rules."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.engine.evaluator import Evaluator
from alertd.model import Query, Rows
from alertd.query.cost import cost_of, paid_bill
from alertd.rules.loader import load
from alertd.store.memory import MemoryStore
from tests.engine.fakes import TableSource

RULES = Path(__file__).parents[2] / "rules"

# By hand: api batches (performance, [endpoint]), (performance, []) and (error_tracking,
# []); database batches (database, [table]) and (error_tracking, [source]). One query per
# rule and dataset: api 1 + 1 + 2 + 1, database 1 + 1 + 1. Every 30 s: 86,400 ticks in 30 days.
# The workers group asks only the GraphQL API: once a minute, 5 in 5 minutes, 43,200 in 30
# days; the health endpoint is asked with the database group, every 30 s.
SHIPPED = """\
AE read queries (a month is 30 days):
  group     interval  per tick  per month  one per rule+dataset
  api            30s         3    259,200               432,000
  database       30s         2    172,800               259,200
  workers         1m         0          0                     0
  total                      5    432,000               691,200
Workers Paid (1,000,000 a month included, then $1.00 per million): $0.00 a month; \
one query per rule and dataset: $0.00
Workers Free (10,000 a day included): 14,400 a day, 4,400 over; \
one query per rule and dataset: 23,040, 13,040 over
Other sources' queries (not billed by AE):
  workers (workers_graphql): 1 per tick, 5 per 5 minutes, 43,200 per month; \
within its budget of 300 per 5m
  database_health (http_json): 1 per tick, 10 per 5 minutes, 86,400 per month
"""


def test_the_shipped_rules_cost_what_was_worked_out_by_hand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--cost", str(RULES)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "ok: 9 rules in 3 groups over 3 datasets and 2 other sources, 5 queries per tick\n"
    )
    assert out.endswith(SHIPPED)


def test_json_is_one_object_alone_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--cost", "--json", str(RULES)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(g["group"], g["per_tick"], g["per_month"]) for g in document["groups"]] == [
        ("api", 3, 259_200),
        ("database", 2, 172_800),
        ("workers", 0, 0),
    ]
    assert [(s["source"], s["per_five_minutes"], s["per_month"]) for s in document["sources"]] == [
        ("workers", 5, 43_200),
        ("database_health", 10, 86_400),
    ]
    assert document["per_tick"] == 5
    assert document["per_month"] == 432_000
    assert document["one_per_rule_per_month"] == 691_200
    assert document["paid_dollars_per_month"] == 0.0


def test_json_without_cost_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--json", str(RULES)]) == 2
    assert capsys.readouterr().err == "alertd check: --json needs --cost\n"


def test_past_the_allowance_each_million_is_billed(tmp_path: Path) -> None:
    # The api group every 5 s: 518,400 ticks of 3 statements, plus the database group's
    # 172,800: 1,728,000, of which 728,000 are billed at $1.00 per million.
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    api = rules / "api.yaml"
    api.write_text(api.read_text().replace("interval: 30s", "interval: 5s", 1))
    loaded = load([rules])
    assert not loaded.errors
    cost = cost_of(loaded.ruleset)
    assert cost.per_month() == 1_728_000
    assert paid_bill(cost.per_month()) == pytest.approx(0.728)
    # One query per rule and dataset: 5 × 518,400 + 259,200 = 2,851,200.
    assert cost.per_month(batched=False) == 2_851_200
    assert paid_bill(cost.per_month(batched=False)) == pytest.approx(1.8512)


class CountingSource(TableSource):
    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def run(self, query: Query) -> Rows:
        self.sent += 1
        return await super().run(query)


@pytest.mark.anyio
async def test_the_figure_is_what_a_tick_sends() -> None:
    ruleset = load([RULES]).ruleset
    source = CountingSource()
    evaluator = Evaluator(ruleset, source, MemoryStore())
    sent = []
    for group in ruleset.groups:
        source.sent = 0
        await evaluator.tick(group, dt.datetime(2026, 11, 28, 10, 0, 30, tzinfo=dt.UTC))
        sent.append(source.sent)
    assert [g.statements for g in cost_of(ruleset).groups] == sent == [3, 2, 0]
