"""A numeric blob holding text must not fail the statement that every rule of a batch shares."""

from __future__ import annotations

import datetime as dt

import pytest

from alertd.emulator.server import RunningEmulator
from alertd.query import sql
from alertd.query.blob_numbers import is_number, to_number
from alertd.query.plan import plan
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.ruleset import Rule, RuleSet
from tests.query.emulated import AT, evaluate, point, shipped_rules

DATASET = "pitchey_performance_metrics"
# Five whole numbers, and three blobs toUInt32 cannot read (or would read wrapped around).
STATUS_CODES = ("200", "200", "404", "500", "503", "abc", "", "99999999999")


def endpoint_rule(ruleset: RuleSet, value: str, where: str | None = None) -> Rule:
    return adhoc_rule(
        value,
        ruleset.datasets[DATASET],
        by=("endpoint",),
        where=where,
        window=dt.timedelta(minutes=5),
        name=value if where is None else f"{value} where {where}",
    )


@pytest.mark.anyio
async def test_one_non_numeric_blob_leaves_the_other_rows_counted(ae: RunningEmulator) -> None:
    ae.reset()
    points = [
        point(10 + i, ["/a", "GET", code, "HIT", "u"], [1.0, 1.0, 0.0])
        for i, code in enumerate(STATUS_CODES)
    ]
    points.append(point(5, ["/b", "GET", "502", "HIT", "u"], [1.0, 1.0, 0.0]))
    ae.write(DATASET, points)
    ruleset = shipped_rules()
    expected = {
        "count(statusCode >= 500)": 2.0,
        "count(statusCode < 500)": 3.0,
        "count(not (statusCode >= 500))": 6.0,
        "count(statusCode == 503)": 1.0,
        "count(statusCode + 0 in [404, 1.5])": 1.0,
        "ratio(statusCode >= 500)": 2 / 8,
        "sum(statusCode)": 1807.0,
        "avg(statusCode)": 1807 / 5,
        "min(statusCode)": 200.0,
        "max(statusCode)": 503.0,
        "p50(statusCode)": 404.0,
    }
    rules = [endpoint_rule(ruleset, value) for value in expected]
    filtered = endpoint_rule(ruleset, "count()", where="statusCode >= 500")
    results = await evaluate(ae, ruleset, [*rules, filtered])
    a, b = (("endpoint", "/a"),), (("endpoint", "/b"),)
    for rule, want in zip(rules, expected.values(), strict=True):
        assert results[rule.name].series[a].value == pytest.approx(want), rule.name
    assert results[rules[0].name].series[b].value == 1.0
    assert results[filtered.name].series[a].value == 2.0


def test_numeric_blob_conversion_cannot_throw(ae: RunningEmulator) -> None:
    """toUInt32 only ever sees digits: ClickHouse evaluates both branches of if() inside
    an aggregate, so guarding the conversion from outside would not be enough."""
    ruleset = shipped_rules()
    rule = endpoint_rule(ruleset, "sum(statusCode)")
    (query,) = plan([rule], ruleset.datasets, AT).queries
    assert "toUInt32(if(" in query.query.sql
    assert "toUInt32(blob3)" not in query.query.sql


READINGS = {
    "0": 0,
    "7": 7,
    "0503": 503,
    "4294967295": 4294967295,
    "4294967296": None,  # would wrap around to 0
    "00000000001": None,  # 11 characters
    "": None,
    "12a": None,
    "+5": None,
    " 5": None,
    "-1": None,
    "1.5": None,
    "é": None,
    "٣": None,  # a digit, but not one toUInt32 reads
}


def test_only_text_touint32_reads_exactly_counts_as_a_number(ae: RunningEmulator) -> None:
    ae.reset()
    ae.write("numbers", [point(1, [text], []) for text in READINGS])
    select = sql.Select(
        columns=(
            (sql.Col("blob1"), "text"),
            (sql.Call("if", (is_number("blob1"), sql.Num(1), sql.Num(0))), "ok"),
            (to_number("blob1", fallback=9), "n"),
        ),
        table="numbers",
    )
    response = ae.query(sql.render(select))
    assert response.status_code == 200, response.text
    got = {r["text"]: (int(r["n"]) if r["ok"] else None) for r in response.json()["data"]}
    assert got == READINGS
    assert all(int(r["n"]) == 9 for r in response.json()["data"] if not r["ok"])
