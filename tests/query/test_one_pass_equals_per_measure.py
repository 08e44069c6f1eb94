"""Statements that compute each filter and number check once, in a FROM subquery, give
exactly the numbers of the former rendering, where every aggregate wrote out its own
conditions, window and number checks: checked on the emulator over random sampled rows."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest

from alertd.emulator.server import RunningEmulator
from alertd.model import Rows
from alertd.query import sql
from alertd.query.blob_numbers import all_numbers, numeric_blob_columns
from alertd.query.measures import SAMPLE_INTERVAL, TIMESTAMP, Measure
from alertd.query.plan import Plan, PlannedQuery, plan
from alertd.query.results import RuleResult, read
from alertd.query.rows import compile_row
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.ast import FieldKind, FieldRef
from alertd.rules.ruleset import Rule, RuleSet
from tests.query.emulated import AT, evaluate, point, shipped_rules
from tests.query.test_plan import thirty_rules

PERFORMANCE = "pitchey_performance_metrics"
DATABASE = "pitchey_database_metrics"
ERRORS = "pitchey_error_tracking"
STATUS_CODES = ("200", "201", "404", "500", "503", "0503", "abc", "", "99999999999")
PERFORMANCE_VALUES = (
    "count()",
    "count(statusCode >= 500)",
    "ratio(statusCode >= 500)",
    "ratio(statusCode >= 400)",
    "count(statusCode < 500)",
    'ratio(cacheStatus == "HIT", cacheStatus in ["HIT", "MISS"])',
    "p95(duration)",
    "p95(duration, statusCode >= 500)",
    "avg(queryCount)",
    "avg(statusCode)",
    "p50(statusCode)",
    "min(duration, statusCode >= 500)",
    "max(statusCode)",
    "sum(statusCode)",
    'min(statusCode, method == "GET")',
    "sum(duration, statusCode + 0 > 499)",
    "count(statusCode in [500, 503])",
)
FILTERS = (None, 'method != "DELETE"', "statusCode >= 200")
WINDOWS = (5, 1, 15)


def performance_rules(ruleset: RuleSet) -> Iterator[Rule]:
    for by in (("endpoint",), ("method",), ()):
        for i, value in enumerate(PERFORMANCE_VALUES):
            yield adhoc_rule(
                value,
                ruleset.datasets[PERFORMANCE],
                by=by,
                where=FILTERS[i % len(FILTERS)],
                window=dt.timedelta(minutes=WINDOWS[i % len(WINDOWS)]),
                name=f"{value} by {by} #{i}",
            )


def random_points(seed: int) -> dict[str, list[dict[str, object]]]:
    rng = random.Random(seed)

    def sampled(blobs: list[str], doubles: list[float]) -> dict[str, object]:
        # Some rows fall before the longest window or at the tick: both are left out.
        written = point(rng.randrange(-30, 1000), blobs, doubles)
        return {**written, "sample_interval": rng.choice((1, 1, 2, 5, 10, 100))}

    def quarter(high: int) -> float:
        # Multiples of 1/4 add up exactly in any order, so sums compare equal, not close.
        return rng.randrange(0, high * 4) / 4

    return {
        PERFORMANCE: [
            sampled(
                [
                    rng.choice(("/api/pitches", "/api/users", "/api/ndas")),
                    rng.choice(("GET", "POST", "DELETE")),
                    rng.choice(STATUS_CODES),
                    rng.choice(("HIT", "MISS", "BYPASS")),
                    f"u{rng.randrange(5)}",
                ],
                [quarter(2000), float(rng.randrange(0, 30)), 0.0],
            )
            for _ in range(1500)
        ],
        DATABASE: [
            sampled(
                [
                    rng.choice(("SELECT", "INSERT")),
                    rng.choice(("users", "pitches", "ndas")),
                    rng.choice(("success", "success", "success", "error")),
                    "",
                    "/api",
                    f"u{rng.randrange(5)}",
                ],
                [quarter(400), float(rng.randrange(0, 40)), 0.0],
            )
            for _ in range(1500)
        ],
        ERRORS: [
            sampled(
                [
                    rng.choice(("database_connection", "validation", "timeout")),
                    rng.choice(("db", "api")),
                    "failed",
                    "E1",
                    rng.choice(("/api/pitches", "/api/users")),
                    "u1",
                ],
                [0.0, float(rng.randrange(1, 4))],
            )
            for _ in range(500)
        ],
    }


def per_measure_sql(measure: Measure, longest: int) -> sql.Expr:
    """An aggregate as the former planner wrote it: conditions, window and number checks
    all spelled out inside the aggregate itself."""
    condition = compile_row(measure.cond) if measure.cond is not None else None
    if measure.window_seconds < longest:
        start = AT - dt.timedelta(seconds=measure.window_seconds)
        bound = sql.Binary(">=", TIMESTAMP, sql.datetime_literal(start))
        condition = bound if condition is None else sql.Binary("AND", bound, condition)
    if measure.kind != "sum":
        guard = all_numbers(numeric_blob_columns(measure.arg))
        if guard is not None:
            condition = guard if condition is None else sql.Binary("AND", guard, condition)
    indicator = (
        sql.Call("if", (condition, sql.Num(1), sql.Num(0))) if condition is not None else None
    )
    weight: sql.Expr = (
        SAMPLE_INTERVAL if indicator is None else sql.Binary("*", SAMPLE_INTERVAL, indicator)
    )
    if measure.kind == "events":
        return sql.Call("sum", (weight,))
    if measure.kind == "rows":
        return sql.Call("count") if indicator is None else sql.Call("sum", (indicator,))
    if measure.kind == "squares":
        return sql.Call("sum", (sql.Binary("*", weight, SAMPLE_INTERVAL),))
    assert measure.arg is not None
    value = compile_row(measure.arg)
    if measure.kind == "sum":
        return sql.Call("sum", (sql.Binary("*", weight, value),))
    if measure.kind == "quantile":
        assert measure.level is not None
        return sql.Call("quantileExactWeighted", (value, weight), params=(sql.Num(measure.level),))
    if condition is None:
        return sql.Call(measure.kind, (value,))
    arg = measure.arg
    double = isinstance(arg, FieldRef) and arg.kind is FieldKind.NUMBER and not arg.numeric_blob
    as_double = value if double else sql.Binary("*", value, sql.Num(1.0))
    neutral = sql.Num(1e308) if measure.kind == "min" else sql.Num(-1e308)
    return sql.Call(measure.kind, (sql.Call("if", (condition, as_double, neutral)),))


def per_measure_plan(new: Plan, ruleset: RuleSet) -> Iterator[tuple[PlannedQuery, str]]:
    """The same measures under the same aliases, a few per statement, written the old way."""
    longest = {
        q.key: max(m.window_seconds for p in new.queries if p.key == q.key for m in p.measures)
        for q in new.queries
    }
    for planned in new.queries:
        dataset = ruleset.datasets[planned.key.dataset]
        labels = tuple(
            (sql.Col(dataset.fields[name].column), alias) for alias, name in planned.labels.items()
        )
        where = sql.Binary(
            "AND",
            sql.Binary(
                ">=",
                TIMESTAMP,
                sql.datetime_literal(AT - dt.timedelta(seconds=longest[planned.key])),
            ),
            sql.Binary("<", TIMESTAMP, sql.datetime_literal(AT)),
        )
        measures = list(planned.measures.items())
        for start in range(0, len(measures), 4):
            chunk = dict(measures[start : start + 4])
            select = sql.Select(
                columns=(
                    *labels,
                    *((per_measure_sql(m, longest[planned.key]), a) for m, a in chunk.items()),
                ),
                table=planned.key.dataset,
                where=where,
                group_by=tuple(planned.labels),
            )
            yield (
                PlannedQuery(planned.key, planned.query, planned.labels, chunk),
                sql.render(select),
            )


@pytest.mark.anyio
@pytest.mark.parametrize("seed", [11, 12])
async def test_one_pass_statements_equal_the_per_measure_rendering(
    ae: RunningEmulator, seed: int
) -> None:
    ae.reset()
    for dataset, points in random_points(seed).items():
        assert ae.write(dataset, points).written == len(points)
    ruleset = shipped_rules()
    on_ae = [r for r in ruleset.rules if set(r.datasets).isdisjoint(ruleset.sources)]
    rules = [*performance_rules(ruleset), *thirty_rules(ruleset), *on_ae]
    results = await evaluate(ae, ruleset, rules)

    new = plan(rules, ruleset.datasets, AT)
    oracle_queries: list[PlannedQuery] = []
    answers: dict[PlannedQuery, Rows | Exception] = {}
    for planned, text in per_measure_plan(new, ruleset):
        response = ae.query(text)
        assert response.status_code == 200, (text, response.text)
        oracle_queries.append(planned)
        answers[planned] = Rows((), tuple(response.json()["data"]))
    expected: dict[str, RuleResult] = read(Plan(AT, new.rules, tuple(oracle_queries)), answers)

    valued = 0
    for rule in rules:
        got, want = results[rule.name], expected[rule.name]
        assert got.error is None
        assert want.error is None
        assert got.series == want.series, rule.name
        valued += sum(1 for v in want.series.values() if v.value is not None)
    # The comparison rests on real numbers, not on empty answers.
    assert valued > 150
