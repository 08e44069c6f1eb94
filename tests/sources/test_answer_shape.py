"""An answer must carry the columns its statement selects, with number types for measures."""

from __future__ import annotations

import pytest

from alertd.errors import SourceError
from alertd.model import Column, Query, Rows
from alertd.sources.answer_shape import check_shape

QUERY = Query("SELECT ...", "web", ("r",), labels=("g0",), measures=("m0", "m1"))


def rows(*columns: tuple[str, str]) -> Rows:
    """An answer with these (name, type) columns and no rows."""
    return Rows(columns=tuple(Column(n, t) for n, t in columns), data=())


def test_a_correct_answer_with_no_rows_passes() -> None:
    check_shape(rows(("g0", "String"), ("m0", "UInt64"), ("m1", "Float64")), QUERY)


def test_label_columns_of_any_type_and_extra_columns_pass() -> None:
    answer = rows(("g0", "Float64"), ("m0", "Nullable(UInt64)"), ("m1", "Float32"), ("x", "String"))
    check_shape(answer, QUERY)


def test_sql_nobody_planned_may_answer_any_columns() -> None:
    check_shape(rows(), Query("SELECT 1 FORMAT JSON", "web", ()))


def test_an_answer_without_columns_is_a_retryable_failure() -> None:
    with pytest.raises(SourceError) as caught:
        check_shape(rows(), QUERY)
    assert caught.value.retryable is True
    assert caught.value.message == (
        "AE answer lacks columns 'g0', 'm0', 'm1' that the statement selects (it has none)"
    )


def test_a_measure_typed_as_text_is_a_retryable_failure() -> None:
    answer = rows(("g0", "String"), ("m0", "UInt64"), ("m1", "String"))
    with pytest.raises(SourceError, match="measure column 'm1' typed 'String'") as caught:
        check_shape(answer, QUERY)
    assert caught.value.retryable is True
