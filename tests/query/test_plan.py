import dataclasses
import datetime as dt
import itertools
import re
from pathlib import Path

import pytest

from alertd.model import Column, Rows
from alertd.query.plan import MAX_SQL_BYTES, PlanError, plan, plan_template
from alertd.query.results import read
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule, RuleSet

RULES_DIR = Path(__file__).parents[2] / "rules"
AT = dt.datetime(2026, 11, 28, 10, 0, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    result = load([RULES_DIR])
    assert result.errors == []
    return result.ruleset


_names = itertools.count()


def rule(
    ruleset: RuleSet,
    value: str,
    dataset: str,
    *,
    by: tuple[str, ...] = (),
    where: str | None = None,
    window: str = "5m",
) -> Rule:
    minutes = int(window.rstrip("m"))
    return adhoc_rule(
        value,
        ruleset.datasets[dataset],
        by=by,
        where=where,
        window=dt.timedelta(minutes=minutes),
        name=f"rule{next(_names)}",
    )


def thirty_rules(ruleset: RuleSet) -> list[Rule]:
    """30 rules over the three datasets, with varied values, filters, windows and groupings."""
    shapes = [
        (
            "pitchey_database_metrics",
            ("table",),
            [
                "p95(duration)",
                "p99(duration)",
                'ratio(status == "error")',
                "avg(rowCount)",
                "max(duration)",
            ],
        ),
        (
            "pitchey_database_metrics",
            ("queryType",),
            ["p50(duration)", "count()", 'count(status == "error")'],
        ),
        ("pitchey_database_metrics", ("queryType", "table"), ["p90(duration)", "sum(rowCount)"]),
        (
            "pitchey_performance_metrics",
            ("endpoint",),
            [
                "p95(duration)",
                "ratio(statusCode >= 500)",
                'ratio(cacheStatus == "HIT")',
                "avg(queryCount)",
                "min(duration)",
            ],
        ),
        (
            "pitchey_performance_metrics",
            (),
            [
                'ratio(cacheStatus == "HIT", cacheStatus in ["HIT", "MISS"])',
                "count()",
                "p99(duration)",
            ],
        ),
        ("pitchey_performance_metrics", ("method",), ["p95(duration)", "ratio(statusCode >= 400)"]),
        (
            "pitchey_error_tracking",
            ("type",),
            ["sum(errorCount)", "count()", 'count(source == "db")'],
        ),
        ("pitchey_error_tracking", ("endpoint",), ["sum(errorCount)", "count()"]),
        (
            "pitchey_error_tracking",
            (),
            [
                "sum(errorCount)",
                'count(type == "database_connection")',
                "max(errorCount)",
                "avg(errorCount)",
                "count()",
            ],
        ),
    ]
    windows = itertools.cycle(["5m", "1m", "15m"])
    filters = itertools.cycle([None, None, "duration >= 0"])
    rules = []
    for dataset, by, values in shapes:
        for value in values:
            where = next(filters) if dataset != "pitchey_error_tracking" else None
            rules.append(rule(ruleset, value, dataset, by=by, where=where, window=next(windows)))
    assert len(rules) == 30
    return rules


def test_thirty_rules_cost_one_query_per_dataset_and_grouping(shipped: RuleSet) -> None:
    rules = thirty_rules(shipped)
    pairs = {(r.datasets[0], tuple(sorted(r.by))) for r in rules}
    planned = plan(rules, shipped.datasets, AT)
    assert len(planned.queries) <= len(pairs)
    assert len(planned.queries) == 9
    for planned_query in planned.queries:
        assert len(planned_query.query.sql.encode()) < MAX_SQL_BYTES


def test_shipped_rules_share_queries(shipped: RuleSet) -> None:
    planned = plan(shipped.rules, shipped.datasets, AT)
    pairs = {(d, tuple(sorted(r.by))) for r in shipped.rules for d in r.datasets}
    assert len(planned.queries) == len(pairs)
    assert len(planned.queries) < len(shipped.rules)


def test_time_bounds_are_absolute_and_cover_the_longest_window(shipped: RuleSet) -> None:
    rules = [
        rule(shipped, "count()", "pitchey_database_metrics", window="15m"),
        rule(shipped, "p95(duration)", "pitchey_database_metrics", window="5m"),
    ]
    (query,) = plan(rules, shipped.datasets, AT).queries
    sql = query.query.sql
    # Sub-second parts are dropped, the window ends (exclusive) at the tick.
    assert "(timestamp >= toDateTime('2026-11-28 09:45:30')) AND " in sql
    assert "(timestamp < toDateTime('2026-11-28 10:00:30'))" in sql
    # The shorter window is a condition, counted back from the tick, that weights its own
    # aggregates: the quantile and its row count.
    since = "(toDateTime('2026-11-28 10:00:30') - INTERVAL '300' SECOND)"
    window = f"if((timestamp >= {since}), 1, 0) AS f0"
    assert window in sql
    assert "quantileExactWeighted(0.95)(v0, (_sample_interval * f0))" in sql
    assert "sum(f0) AS" in sql
    assert "now()" not in sql.lower()
    assert sql.endswith("FORMAT JSON")


def test_every_aggregate_is_weighted_by_the_sample_interval(shipped: RuleSet) -> None:
    rules = [
        rule(shipped, 'count(status == "error")', "pitchey_database_metrics", by=("table",)),
        rule(shipped, "sum(rowCount)", "pitchey_database_metrics", by=("table",)),
        rule(shipped, "avg(duration)", "pitchey_database_metrics", by=("table",)),
        rule(shipped, "p95(duration)", "pitchey_database_metrics", by=("table",)),
    ]
    (query,) = plan(rules, shipped.datasets, AT).queries
    sql = query.query.sql
    # The subquery computes each filter and argument once per row, by alias.
    column = {expr: alias for expr, alias in re.findall(r"^  (.+) AS (\w+),?$", sql, re.M)}
    errors = column["if((blob3 = 'error'), 1, 0)"]
    row_count, duration = column["double2"], column["double1"]
    assert f"sum((_sample_interval * {errors}))" in sql
    assert f"sum((_sample_interval * {row_count}))" in sql
    assert f"sum((_sample_interval * {duration}))" in sql
    assert f"quantileExactWeighted(0.95)({duration}, _sample_interval)" in sql
    assert "count() AS" in sql  # the raw row count, for min_samples


def test_identical_measures_are_computed_once(shipped: RuleSet) -> None:
    rules = [
        rule(shipped, "p95(duration)", "pitchey_database_metrics", by=("table",)) for _ in range(5)
    ]
    (query,) = plan(rules, shipped.datasets, AT).queries
    assert query.query.sql.count("quantileExactWeighted") == 1


def test_a_filter_every_rule_shares_moves_to_where(shipped: RuleSet) -> None:
    rules = [
        rule(shipped, "p95(duration)", "pitchey_database_metrics", where='status == "success"'),
        rule(
            shipped,
            "count()",
            "pitchey_database_metrics",
            where='status == "success" and table == "users"',
        ),
    ]
    (query,) = plan(rules, shipped.datasets, AT).queries
    where = query.query.sql.split("WHERE", 1)[1]
    assert "(blob3 = 'success')" in where
    assert query.query.sql.count("blob3 = 'success'") == 1


def test_a_batch_too_long_for_one_statement_is_split(shipped: RuleSet) -> None:
    endpoints = [f"/api/v1/resource/{i}/with/a/long/path" for i in range(60)]
    rules = [
        rule(
            shipped,
            f'p95(duration, endpoint == "{e}")',
            "pitchey_performance_metrics",
            by=("method",),
        )
        for e in endpoints
    ]
    planned = plan(rules, shipped.datasets, AT)
    assert len(planned.queries) > 1
    assert all(len(q.query.sql.encode()) < MAX_SQL_BYTES for q in planned.queries)
    measures = [m for q in planned.queries for m in q.measures]
    assert len(measures) == len(set(measures)) == 120  # each rule: rows + quantile


def test_one_aggregate_too_long_for_any_statement_is_refused(shipped: RuleSet) -> None:
    values = ", ".join(f'"{i:0>40}"' for i in range(400))
    huge = rule(shipped, f"count(endpoint in [{values}])", "pitchey_performance_metrics")
    with pytest.raises(PlanError, match="shorten its filter"):
        plan([huge], shipped.datasets, AT)


def test_answers_read_back_per_series_and_across_split_queries(shipped: RuleSet) -> None:
    rules = [
        rule(shipped, "p95(duration)", "pitchey_database_metrics", by=("table",)),
        rule(shipped, 'ratio(status == "error")', "pitchey_database_metrics", by=("table",)),
        rule(shipped, "avg(duration)", "pitchey_database_metrics", by=("table",)),
    ]
    planned = plan(rules, shipped.datasets, AT)
    (query,) = planned.queries
    by_kind = {(m.kind, m.cond is None): alias for m, alias in query.measures.items()}
    users = {"g0": "users"}
    users[by_kind[("rows", True)]] = 10
    users[by_kind[("quantile", True)]] = 250.0
    users[by_kind[("events", True)]] = 40
    users[by_kind[("events", False)]] = 4
    users[by_kind[("sum", True)]] = 4000.0
    empty = dict.fromkeys(users, 0)
    empty["g0"] = "ghost"
    rows = Rows(tuple(Column(k, "Float64") for k in users), (users, empty))
    results = read(planned, {query: rows})
    p95, errors, mean = (results[r.name] for r in rules)
    assert p95.series[(("table", "users"),)].value == 250.0
    assert p95.series[(("table", "users"),)].samples == 10
    assert errors.series[(("table", "users"),)].value == pytest.approx(0.1)
    assert mean.series[(("table", "users"),)].value == pytest.approx(100.0)
    # A group with no matching rows at all is no series: it only came back because other
    # rules shared the query, and must look the same as when the rule runs alone.
    assert (("table", "ghost"),) not in p95.series
    assert (("table", "ghost"),) not in errors.series
    assert (("table", "ghost"),) not in mean.series


def test_a_value_rests_on_the_rows_of_its_denominator(shipped: RuleSet) -> None:
    loaded = [r for r in shipped.rules if r.name == "ApplicationErrorRate"]
    planned = plan(loaded, shipped.datasets, AT)
    answers = {}
    for q in planned.queries:
        row: dict[str, object] = {alias: 0 for alias in q.measures.values()}
        for measure, alias in q.measures.items():
            errors_side = q.key.dataset == "pitchey_error_tracking"
            if measure.kind == "rows":
                row[alias] = 150 if errors_side else 3
            elif measure.kind in ("events", "sum"):
                row[alias] = 150.0 if errors_side else 3.0
        answers[q] = Rows(tuple(Column(a, "Float64") for a in row), (row,))
    value = read(planned, answers)["ApplicationErrorRate"].series[()]
    assert value.value == 50.0
    assert value.samples == 3  # three requests: too few to judge a 5000 % error rate


def test_a_failed_query_gives_its_rules_an_error_not_an_empty_answer(shipped: RuleSet) -> None:
    rules = [
        rule(shipped, "count()", "pitchey_database_metrics"),
        rule(shipped, "count()", "pitchey_error_tracking"),
    ]
    planned = plan(rules, shipped.datasets, AT)
    failing = next(q for q in planned.queries if q.key.dataset == "pitchey_database_metrics")
    fine = next(q for q in planned.queries if q is not failing)
    ok_rows = Rows((Column("m0", "UInt64"), Column("m1", "UInt64")), ({"m0": 3, "m1": 30},))
    results = read(planned, {failing: RuntimeError("boom"), fine: ok_rows})
    assert results[rules[0].name].error == "boom"
    assert results[rules[0].name].series == {}


def test_numeric_blob_equality_is_a_text_match_and_order_a_conversion(shipped: RuleSet) -> None:
    rules = [
        rule(shipped, "count(statusCode == 503)", "pitchey_performance_metrics"),
        rule(shipped, "count(statusCode in [500, 502])", "pitchey_performance_metrics"),
        rule(shipped, "count(statusCode >= 500)", "pitchey_performance_metrics"),
    ]
    (query,) = plan(rules, shipped.datasets, AT).queries
    sql = query.query.sql
    # Equality needs no conversion at all; an ordered comparison converts only digits,
    # since one statusCode that is not a number would make toUInt32 fail the whole query.
    assert "(blob3 = '503')" in sql
    assert "(blob3 IN ('500', '502'))" in sql
    assert "toUInt32(if(" in sql
    assert "toUInt32(blob3)" not in sql


def test_a_non_finite_value_is_no_value(shipped: RuleSet) -> None:
    mean = rule(shipped, "avg(duration)", "pitchey_database_metrics")
    planned = plan([mean], shipped.datasets, AT)
    (query,) = planned.queries
    row = {
        alias: (float("nan") if m.kind == "sum" else 10.0) for m, alias in query.measures.items()
    }
    result = read(planned, {query: Rows(tuple(Column(a, "Float64") for a in row), (row,))})
    assert result[mean.name].series[()].value is None


def test_each_number_check_and_filter_is_written_once_per_statement(shipped: RuleSet) -> None:
    values = [
        "count(statusCode >= 500)",
        "ratio(statusCode >= 500)",
        "p95(duration, statusCode >= 500)",
        "count(statusCode >= 400)",
        "avg(statusCode)",
        "p50(statusCode, statusCode < 500)",
    ]
    rules = [
        rule(shipped, value, "pitchey_performance_metrics", by=("endpoint",)) for value in values
    ]
    (query,) = plan(rules, shipped.datasets, AT).queries
    sql = query.query.sql
    # statusCode's number check reads each of its ten characters: once, for all six rules.
    assert sql.count("position(substring(blob3, 1, 1) IN '0123456789')") == 1
    assert sql.count(">= 500") == 1
    assert sql.count("< 500") == 1


def test_copies_of_the_rules_with_filters_of_their_own_share_one_statement(
    shipped: RuleSet,
) -> None:
    rules = [
        rule(
            shipped,
            value,
            "pitchey_performance_metrics",
            by=("endpoint",),
            where=f'userId != "user-{i}"',
            window=window,
        )
        for i in range(20)
        for value, window in (
            ("ratio(statusCode >= 500)", "5m"),
            ("p95(duration)", "5m"),
            ("avg(statusCode)", "1m"),
        )
    ]
    (query,) = plan(rules, shipped.datasets, AT).queries
    assert len(query.query.sql.encode()) <= MAX_SQL_BYTES
    assert query.query.sql.count("'0123456789'") == 10


def test_a_tick_fills_the_time_bounds_of_statements_compiled_once(shipped: RuleSet) -> None:
    rules = thirty_rules(shipped)
    template = plan_template(rules, shipped.datasets)
    assert plan_template(list(rules), shipped.datasets) is template
    later = AT + dt.timedelta(seconds=30)
    ticked = plan(rules, shipped.datasets, later)
    # Rules never planned before compile afresh: the same statements, the same bounds.
    fresh = plan([dataclasses.replace(r) for r in rules], shipped.datasets, later)
    assert [q.query for q in ticked.queries] == [q.query for q in fresh.queries]
    assert ticked.at == later
    assert "toDateTime('2026-11-28 10:01:00')" in ticked.queries[0].query.sql
    assert "10:00:30" not in ticked.queries[0].query.sql
