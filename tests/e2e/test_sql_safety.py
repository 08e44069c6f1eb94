"""Every statement the compiler writes stays inside AE's documented dialect and means what
the rule says, whatever text a rule file holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.emulator.dialect import check_sql
from alertd.emulator.server import RunningEmulator
from alertd.errors import UnsafeLiteralError
from alertd.query import sql
from alertd.query.plan import plan
from alertd.rules.adhoc import adhoc_rule
from alertd.rules.ast import ValueExpr
from alertd.rules.binding import bind
from alertd.rules.loader import load
from alertd.rules.ruleset import Rule
from tests.query.test_plan import thirty_rules
from tests.strategies import DATASET, values

AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def select_literal(ae: RunningEmulator, literal: str) -> object:
    response = ae.query(f"SELECT {literal} AS v FORMAT JSON")
    assert response.status_code == 200, response.text
    return json.loads(response.text)["data"][0]["v"]


@SETTINGS
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=30))
def test_any_string_literal_reads_back_as_itself(ae: RunningEmulator, text: str) -> None:
    assert select_literal(ae, sql.string_literal(text)) == text


@SETTINGS
@given(st.text(max_size=30))
def test_a_string_is_escaped_or_refused_never_reinterpreted(ae: RunningEmulator, text: str) -> None:
    try:
        literal = sql.string_literal(text)
    except UnsafeLiteralError:
        assert any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    assert select_literal(ae, literal) == text


@SETTINGS
@given(
    st.one_of(
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
    )
)
def test_numbers_read_back_as_themselves(ae: RunningEmulator, number: int | float) -> None:
    got = select_literal(ae, sql.number_literal(number))
    assert float(got) == pytest.approx(float(number), rel=1e-15, abs=0)  # type: ignore[arg-type]


def test_non_finite_numbers_are_refused() -> None:
    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(UnsafeLiteralError):
            sql.number_literal(bad)


def test_the_thirty_rule_plan_stays_in_the_documented_dialect() -> None:
    loaded = load([Path(__file__).parents[2] / "rules"])
    ruleset = loaded.ruleset
    for planned in plan([*thirty_rules(ruleset), *ruleset.rules], ruleset.datasets, AT).queries:
        assert check_sql(planned.query.sql) is None, planned.query.sql


@pytest.fixture
def table_d(ae: RunningEmulator) -> None:
    point = {
        "indexes": ["x"],
        "blobs": ["a", "b", "200"],
        "doubles": [1.5, 2.0],
        "timestamp": int(AT.timestamp() * 1000) - 1000,
    }
    ae.write("d", [point])


def _rule(value: ValueExpr) -> Rule:
    rule = adhoc_rule("count()", DATASET, by=("name",), where=None, window=dt.timedelta(minutes=5))
    return dataclasses.replace(rule, value=bind(value, DATASET.name, None))


@SETTINGS
@given(values)
def test_any_rule_value_compiles_to_sql_the_emulator_accepts(
    ae: RunningEmulator, table_d: None, value: ValueExpr
) -> None:
    # A second rule over a shorter window makes the window a column of the subquery too.
    shorter = dataclasses.replace(_rule(value), name="shorter", window=dt.timedelta(minutes=1))
    for planned in plan([_rule(value), shorter], {"d": DATASET}, AT).queries:
        assert check_sql(planned.query.sql) is None, planned.query.sql
        response = ae.query(planned.query.sql)
        assert response.status_code == 200, (planned.query.sql, response.text)
