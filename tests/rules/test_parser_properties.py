"""Property tests: any expression the language can hold survives text and back."""

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.errors import ExpressionError
from alertd.rules import syntax
from alertd.rules.ast import Number, ValueArith, ValueExpr
from alertd.rules.typecheck import parse_value
from alertd.rules.unparse import value_text
from tests.strategies import DATASET, texts, values


def _reads_data(value: ValueExpr) -> bool:
    return not isinstance(value, Number) and (
        not isinstance(value, ValueArith) or _reads_data(value.left) or _reads_data(value.right)
    )


@settings(max_examples=300, deadline=None)
@given(values.filter(_reads_data))
def test_every_value_round_trips_through_text(value: ValueExpr) -> None:
    assert parse_value(value_text(value), DATASET) == value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable, max_size=40))
def test_arbitrary_text_parses_or_fails_with_an_expression_error(text: str) -> None:
    offset = 0
    try:
        parse_value(text, DATASET)
    except ExpressionError as exc:
        offset = exc.offset
    assert 0 <= offset <= len(text)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_string_literals_read_back_exactly(text: str) -> None:
    token_text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    tree = syntax.parse(token_text)
    assert syntax.unquote(tree.children[0]) == text  # type: ignore[arg-type]
