"""The SQL tree writes a subquery only where AE documents one, and time bounds per tick."""

import datetime as dt

import pytest

from alertd.emulator.dialect import check_sql
from alertd.emulator.server import RunningEmulator
from alertd.query import sql
from tests.query.emulated import AT, point

WHERE = sql.Binary(
    "AND",
    sql.Binary(">=", sql.Col("timestamp"), sql.TimeBound("start")),
    sql.Binary("<", sql.Col("timestamp"), sql.TimeBound("end")),
)
RECENT = sql.Binary(">=", sql.Col("timestamp"), sql.Binary("-", sql.TimeBound("end"), sql.Num(60)))


def nested() -> sql.Select:
    inner = sql.Subquery(
        ((sql.Col("blob1"), "blob1"), (sql.Col("timestamp"), "timestamp")),
        "numbers",
        WHERE,
    )
    middle = sql.Subquery(
        (
            (sql.Col("blob1"), "g0"),
            (sql.Call("if", (RECENT, sql.Num(1), sql.Num(0))), "f0"),
        ),
        inner,
    )
    return sql.Select(
        columns=(
            (sql.Col("g0"), "g0"),
            (sql.Call("count"), "m0"),
            (sql.Call("sum", (sql.Col("f0"),)), "m1"),
        ),
        table=middle,
        group_by=("g0",),
    )


def test_a_subquery_is_written_in_from_without_alias_or_format() -> None:
    template = sql.render_template(nested())
    assert template.bounds == ("end", "start", "end")  # in the order they are written
    text = template.fill(AT - dt.timedelta(minutes=5), AT)
    assert text.count("FORMAT JSON") == 1
    assert text.endswith("GROUP BY g0\nFORMAT JSON")
    assert "FROM (\nSELECT" in text
    assert "(timestamp >= toDateTime('2026-11-28 09:55:00'))" in text
    assert "(timestamp >= (toDateTime('2026-11-28 10:00:00') - 60))" in text
    assert check_sql(text) is None


def test_a_statement_with_time_bounds_is_only_rendered_as_a_template() -> None:
    with pytest.raises(ValueError, match="time bounds"):
        sql.render(nested())


def test_columns_of_nested_subqueries_read_back_per_group(ae: RunningEmulator) -> None:
    ae.reset()
    ae.write("numbers", [point(s, [name], []) for s, name in ((10, "a"), (100, "a"), (20, "b"))])
    text = sql.render_template(nested()).fill(AT - dt.timedelta(minutes=5), AT)
    response = ae.query(text)
    assert response.status_code == 200, response.text
    got = {r["g0"]: (int(r["m0"]), int(r["m1"])) for r in response.json()["data"]}
    assert got == {"a": (2, 1), "b": (1, 1)}
