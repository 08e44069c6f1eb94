"""An answer must carry the columns its statement selects, with number types for measures."""

from __future__ import annotations

from alertd.model import Column, Query, Rows
from alertd.sources.answer_shape import shape_problem

QUERY = Query("SELECT ...", "web", ("r",), labels=("g0",), measures=("m0", "m1"))


def rows(*columns: tuple[str, str]) -> Rows:
    """An answer with these (name, type) columns and no rows."""
    return Rows(columns=tuple(Column(n, t) for n, t in columns), data=())


def test_a_correct_answer_with_no_rows_has_no_problem() -> None:
    assert shape_problem(rows(("g0", "String"), ("m0", "UInt64"), ("m1", "Float64")), QUERY) is None


def test_label_columns_of_any_type_and_extra_columns_have_no_problem() -> None:
    answer = rows(("g0", "Float64"), ("m0", "Nullable(UInt64)"), ("m1", "Float32"), ("x", "String"))
    assert shape_problem(answer, QUERY) is None


def test_sql_nobody_planned_may_answer_any_columns() -> None:
    assert shape_problem(rows(), Query("SELECT 1 FORMAT JSON", "web", ())) is None


def test_an_answer_without_columns_lacks_them_all() -> None:
    assert shape_problem(rows(), QUERY) == (
        "lacks columns 'g0', 'm0', 'm1' that the statement selects (it has none)"
    )


def test_a_measure_typed_as_text_is_named() -> None:
    answer = rows(("g0", "String"), ("m0", "UInt64"), ("m1", "String"))
    assert shape_problem(answer, QUERY) == (
        "has measure column 'm1' typed 'String', not a number type"
    )


def test_a_flood_of_unknown_columns_is_shown_briefly() -> None:
    answer = rows(*((f"c{i}", "String") for i in range(1000)))
    problem = shape_problem(answer, QUERY)
    assert problem is not None
    assert len(problem) < 250
